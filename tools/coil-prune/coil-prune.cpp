//===- coil-prune.cpp - Structured pruning of a checkpoint ------*- C++ -*-===//
//
// Removes a fraction of every Llama layer's FFN channels (--ffn) or of every
// Mamba layer's d_inner channels (--d-inner), lowest magnitude first, and
// writes the smaller model as a checkpoint directory (config.json,
// model.safetensors in the source's dtype, the source's tokenizer files) that
// every Coil tool runs. The request is checked against the config before any
// weight is read; the output directory appears only once it is complete.
//
//===----------------------------------------------------------------------===//

#include "models/ModelConfig.h"
#include "models/Pruning.h"
#include "runtime/src/weights/Safetensors.h"
#include "tools/ToolOptions.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir::coil;
namespace cl = llvm::cl;
namespace weights = ::coil::weights;

static cl::opt<std::string> inputDir(cl::Positional, cl::Required,
                                     cl::desc("<checkpoint dir>"));
static cl::opt<std::string>
    outputDir("o", cl::Required,
              cl::desc("The pruned checkpoint directory (must not exist, or "
                       "be empty)"),
              cl::value_desc("dir"));
static cl::opt<double>
    ffnFraction("ffn",
                cl::desc("Fraction of each Llama layer's FFN channels to "
                         "remove, in [0, 1)"),
                cl::value_desc("fraction"), cl::init(0));
static cl::opt<double>
    dInnerFraction("d-inner",
                   cl::desc("Fraction of each Mamba layer's d_inner channels "
                            "to remove, in [0, 1)"),
                   cl::value_desc("fraction"), cl::init(0));
static cl::opt<int64_t> multipleOf(
    "multiple-of",
    cl::desc("Round the channels kept down to a multiple of N (default 1)"),
    cl::value_desc("N"), cl::init(1));

static int fail(const llvm::Twine &message) {
  llvm::errs() << "coil-prune: error: " << message << "\n";
  return 1;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  static cl::OptionCategory coilPruneOptions("coil-prune options");
  ::coil::tools::showOnlyOwnOptions(
      coilPruneOptions,
      {&inputDir, &outputDir, &ffnFraction, &dInnerFraction, &multipleOf});
  cl::ParseCommandLineOptions(
      argc, argv,
      "coil-prune: remove the lowest-magnitude FFN (Llama) or d_inner "
      "(Mamba) channels of a checkpoint\n");

  if (!llvm::sys::fs::is_directory(inputDir))
    return fail(inputDir + ": not a checkpoint directory (config.json and "
                           "safetensors)");
  if (ffnFraction.getNumOccurrences() == 0 &&
      dInnerFraction.getNumOccurrences() == 0)
    return fail("nothing to prune: give --ffn (Llama) or --d-inner (Mamba)");
  llvm::Expected<models::ModelConfig> config =
      models::loadModelConfig(inputDir);
  if (!config)
    return fail(llvm::toString(config.takeError()));
  models::PruneRequest request{ffnFraction, dInnerFraction, multipleOf};
  llvm::Expected<models::PrunePlan> plan =
      models::planPruning(*config, request);
  if (!plan)
    return fail(llvm::toString(plan.takeError()));

  std::unique_ptr<weights::WeightFileSet> files;
  if (weights::Status s = weights::WeightFileSet::open(inputDir, files); !s)
    return fail(s.message());
  llvm::Expected<models::PrunedCheckpoint> pruned =
      models::pruneCheckpoint(*config, *files, inputDir, request);
  if (!pruned)
    return fail(llvm::toString(pruned.takeError()));
  if (llvm::Error e =
          models::writePrunedCheckpoint(*pruned, inputDir, outputDir))
    return fail(llvm::toString(std::move(e)));

  bool mamba = config->family == models::ModelConfig::Family::Mamba;
  int64_t removed = pruned->parametersBefore - pruned->parametersAfter;
  llvm::outs() << llvm::formatv(
      "{0}: {1} layers, {2} of {3} {4} channels kept per layer\n"
      "parameters: {5} -> {6} ({7} removed, {8:f1}%)\n"
      "wrote {9}\n",
      mamba ? "Mamba" : "Llama", config->numLayers(), plan->kept,
      plan->channels, mamba ? "d_inner" : "FFN", pruned->parametersBefore,
      pruned->parametersAfter, removed,
      100.0 * static_cast<double>(removed) /
          static_cast<double>(pruned->parametersBefore),
      outputDir);
  return 0;
}
