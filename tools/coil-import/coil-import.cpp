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
#include "runtime/src/weights/FileChecks.h"
#include "runtime/src/weights/Safetensors.h"
#include "tools/ToolOptions.h"

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

static cl::opt<std::string>
    inputPath(cl::Positional, cl::Required,
              cl::desc("<checkpoint dir | config.json>"));
static cl::opt<std::string> outputPath("o", cl::desc("Output .mlir file"),
                                       cl::value_desc("file"), cl::init("-"));
static cl::opt<std::string> randomWeightsPath(
    "random-weights",
    cl::desc("Also write seeded random weights (safetensors)"),
    cl::value_desc("file"));
static cl::opt<uint64_t> seed("seed", cl::desc("Seed of --random-weights"),
                              cl::init(0));

static int fail(const llvm::Twine &message) {
  llvm::errs() << "coil-import: error: " << message << "\n";
  return 1;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  static cl::OptionCategory coilImportOptions("coil-import options");
  ::coil::tools::showOnlyOwnOptions(
      coilImportOptions, {&inputPath, &outputPath, &randomWeightsPath, &seed});
  cl::ParseCommandLineOptions(
      argc, argv,
      "coil-import: Hugging Face config.json -> coil IR (+ random weights)\n");

  if (outputPath != "-")
    if (std::string problem = weights::checkOutputFile(outputPath);
        !problem.empty())
      return fail("-o: " + problem);
  if (randomWeightsPath.getNumOccurrences() > 0)
    if (std::string problem = weights::checkOutputFile(randomWeightsPath);
        !problem.empty())
      return fail("--random-weights: " + problem);
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
    if (llvm::Error e =
            models::writeRandomWeights(*config, seed, randomWeightsPath))
      return fail(llvm::toString(std::move(e)));
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
