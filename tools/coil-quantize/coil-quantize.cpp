//===- coil-quantize.cpp - A checkpoint stored in a weight format -*- C++
//-*-===//
//
// Stores a checkpoint's matrices the way a model built with --weight-dtype
// reads them (int8 or int4 with their scales, or bf16 or f16), so binding it
// later converts and quantizes nothing. Writes a checkpoint directory
// (config.json, model.safetensors, the source's tokenizer files) that every
// Coil tool runs; coil-run and coil-bench pick its format from its dtypes.
// The request is checked against the config and weights before any is
// converted; the output directory appears only once it is complete.
//
//===----------------------------------------------------------------------===//

#include "compiler/Driver/Compile.h"
#include "compiler/InitAll.h"
#include "models/CheckpointDirectory.h"
#include "models/CheckpointWeights.h"
#include "models/ModelBuilder.h"
#include "models/ModelConfig.h"
#include "models/QuantizedWeights.h"
#include "runtime/src/weights/Safetensors.h"
#include "tools/ToolOptions.h"
#include "tools/WeightDtypeOption.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>

using namespace mlir;
using namespace mlir::coil;
namespace cl = llvm::cl;
namespace weights = ::coil::weights;

static cl::opt<std::string> inputDir(cl::Positional, cl::Required,
                                     cl::desc("<checkpoint dir>"));
static cl::opt<std::string>
    outputDir("o", cl::Required,
              cl::desc("The checkpoint directory to write (must not exist, "
                       "or be empty)"),
              cl::value_desc("dir"));
static ::coil::tools::WeightDtypeOption
    weightDtype("The format to store the linears', embedding's and LM head's "
                "matrices in (int8, int4, bf16 or f16)");

static int fail(const llvm::Twine &message) {
  llvm::errs() << "coil-quantize: error: " << message << "\n";
  return 1;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  static cl::OptionCategory coilQuantizeOptions("coil-quantize options");
  ::coil::tools::showOnlyOwnOptions(coilQuantizeOptions,
                                    {&inputDir, &outputDir, &weightDtype});
  cl::ParseCommandLineOptions(
      argc, argv,
      "coil-quantize: store a checkpoint's matrices as int8, int4, bf16 or "
      "f16, as --weight-dtype reads them\n");

  if (weightDtype.getNumOccurrences() == 0)
    return fail("give the format: --weight-dtype=int8, int4, bf16 or f16");
  if (weightDtype == WeightDtype::F32)
    return fail("--weight-dtype=f32 stores nothing differently; give int8, "
                "int4, bf16 or f16");
  if (!llvm::sys::fs::is_directory(inputDir))
    return fail(inputDir + ": not a checkpoint directory (config.json and "
                           "safetensors)");
  if (llvm::Error e = models::checkOutputDirectory(outputDir))
    return fail(llvm::toString(std::move(e)));
  llvm::Expected<models::ModelConfig> config =
      models::loadModelConfig(inputDir);
  if (!config)
    return fail(llvm::toString(config.takeError()));
  llvm::Expected<std::string> configText = models::readConfigText(inputDir);
  if (!configText)
    return fail(llvm::toString(configText.takeError()));
  std::unique_ptr<weights::WeightFileSet> files;
  if (weights::Status s = weights::WeightFileSet::open(inputDir, files); !s)
    return fail(s.message());
  if (llvm::Error e = models::checkCheckpointWeights(*config, *files, inputDir))
    return fail(llvm::toString(std::move(e)));

  DialectRegistry registry;
  registerAllDialects(registry);
  MLIRContext context(registry);
  OwningOpRef<ModuleOp> module = models::buildModel(context, *config);
  if (llvm::Error e = setWeightDtype(*module, weightDtype))
    return fail(llvm::toString(std::move(e)));

  auto start = std::chrono::steady_clock::now();
  models::QuantizedWeightsSummary summary;
  if (llvm::Error e = models::writeCheckpointDirectory(
          inputDir, outputDir, *configText,
          [&](llvm::StringRef path) -> llvm::Error {
            llvm::Expected<models::QuantizedWeightsSummary> written =
                models::writeQuantizedWeights(*module, *files, inputDir, path);
            if (!written)
              return written.takeError();
            summary = *written;
            return llvm::Error::success();
          }))
    return fail(llvm::toString(std::move(e)));
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();

  llvm::outs() << llvm::formatv(
      "matrices: {0} int8, {1} int4, {2} bf16/f16; {3} tensors as stored\n"
      "bytes: {4} -> {5} ({6:f1}%) in {7:f2} s\n"
      "wrote {8}\n",
      summary.int8, summary.int4, summary.narrowed, summary.copied,
      summary.bytesBefore, summary.bytesAfter,
      summary.bytesBefore ? 100.0 * static_cast<double>(summary.bytesAfter) /
                                static_cast<double>(summary.bytesBefore)
                          : 0.0,
      seconds, outputDir);
  return 0;
}
