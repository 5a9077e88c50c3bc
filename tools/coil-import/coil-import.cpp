//===- coil-import.cpp - Hugging Face checkpoint -> coil IR -----*- C++ -*-===//
//
// Reads a model's config.json (or a checkpoint directory holding one) and
// writes the whole model as coil IR. With --random-weights it also writes a
// safetensors file of seeded weights drawn from the published
// initialisations, for benchmarks and tests. Outputs are written atomically:
// on any error no output file is left behind.
//
//===----------------------------------------------------------------------===//

#include "compiler/InitAll.h"
#include "models/ModelBuilder.h"
#include "models/RandomWeights.h"
#include "runtime/src/weights/Safetensors.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::coil;
namespace cl = llvm::cl;
namespace weights = ::coil::weights;

static cl::opt<std::string> inputPath(cl::Positional, cl::Required,
                                      cl::desc("<checkpoint dir | config.json>"));
static cl::opt<std::string> outputPath("o", cl::desc("Output .mlir file"),
                                       cl::value_desc("file"), cl::init("-"));
static cl::opt<std::string>
    randomWeightsPath("random-weights",
                      cl::desc("Also write seeded random weights (safetensors)"),
                      cl::value_desc("file"));
static cl::opt<uint64_t> seed("seed", cl::desc("Seed of --random-weights"),
                              cl::init(0));

static int fail(const llvm::Twine &message) {
  llvm::errs() << "coil-import: error: " << message << "\n";
  return 1;
}

/// Writes seeded weights for every parameter of `config` (f32).
static weights::Status writeRandomWeights(const models::ModelConfig &config,
                                          const std::string &path) {
  std::vector<models::WeightSpec> specs = models::weightSpecs(config);
  std::vector<std::vector<float>> values;
  std::vector<weights::TensorToWrite> tensors;
  values.reserve(specs.size());
  for (const models::WeightSpec &spec : specs) {
    values.push_back(models::randomWeight(spec, seed));
    tensors.push_back({spec.name, weights::DType::F32, spec.shape,
                       values.back().data()});
  }
  return weights::writeSafetensors(
      path, tensors,
      {{"format", "pt"},
       {"coil.seed", std::to_string(seed)},
       {"coil.init", "published initialisations (coil-import)"}});
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::ParseCommandLineOptions(
      argc, argv,
      "coil-import: Hugging Face config.json -> coil IR (+ random weights)\n");

  llvm::Expected<models::ModelConfig> config =
      models::loadModelConfig(inputPath);
  if (!config)
    return fail(llvm::toString(config.takeError()));

  DialectRegistry registry;
  registerAllDialects(registry);
  MLIRContext context(registry);
  OwningOpRef<ModuleOp> module = models::buildModel(context, *config);
  if (failed(verify(*module)))
    return fail("the built model does not verify");

  if (!randomWeightsPath.empty()) {
    weights::Status status = writeRandomWeights(*config, randomWeightsPath);
    if (!status)
      return fail(status.message());
  }
  if (llvm::Error e = llvm::writeToOutput(
          outputPath, [&](llvm::raw_ostream &os) -> llvm::Error {
            module->print(os);
            return llvm::Error::success();
          })) {
    if (!randomWeightsPath.empty())
      llvm::sys::fs::remove(randomWeightsPath); // leave nothing half-done
    return fail("cannot write " + outputPath + ": " +
                llvm::toString(std::move(e)));
  }
  return 0;
}
