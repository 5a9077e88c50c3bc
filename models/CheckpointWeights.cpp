//===- CheckpointWeights.cpp - A config checked against its weights -------===//

#include "models/CheckpointWeights.h"

#include "models/ModelBuilder.h"
#include "runtime/src/weights/JsonCheck.h"
#include "runtime/src/weights/Quantize.h"
#include "runtime/src/weights/Safetensors.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir::coil::models;
namespace weights = ::coil::weights;

namespace {

/// The config keys that size the model, for messages: "num_hidden_layers =
/// 2, hidden_size = 16, ...".
std::string describeSizes(const ModelConfig &config) {
  if (config.family == ModelConfig::Family::Llama) {
    const LlamaConfig &l = config.llama;
    return llvm::formatv("num_hidden_layers = {0}, hidden_size = {1}, "
                         "intermediate_size = {2}, num_attention_heads = {3}, "
                         "num_key_value_heads = {4}, head_dim = {5}, "
                         "vocab_size = {6}",
                         l.numLayers, l.hiddenSize, l.intermediateSize,
                         l.numHeads, l.numKvHeads, l.headDim, l.vocabSize);
  }
  if (config.family == ModelConfig::Family::NemotronH) {
    const NemotronHConfig &n = config.nemotronH;
    return llvm::formatv(
        "num_hidden_layers = {0}, hybrid_override_pattern = {1}, hidden_size "
        "= {2}, num_attention_heads = {3}, num_key_value_heads = {4}, "
        "head_dim = {5}, intermediate_size = {6}, mamba_num_heads = {7}, "
        "mamba_head_dim = {8}, n_groups = {9}, ssm_state_size = {10}, "
        "vocab_size = {11}",
        n.numLayers, n.pattern, n.hiddenSize, n.numHeads, n.numKvHeads,
        n.headDim, n.intermediateSize, n.mamba.numHeads, n.mamba.headDim,
        n.mamba.numGroups, n.mamba.stateSize, n.vocabSize);
  }
  if (config.family == ModelConfig::Family::Mamba2) {
    const Mamba2Config &m = config.mamba2;
    return llvm::formatv("num_hidden_layers = {0}, hidden_size = {1}, "
                         "num_heads = {2}, head_dim = {3}, n_groups = {4}, "
                         "state_size = {5}, conv_kernel = {6}, vocab_size = "
                         "{7}",
                         m.numLayers, m.hiddenSize, m.numHeads, m.headDim,
                         m.numGroups, m.stateSize, m.convKernel, m.vocabSize);
  }
  const MambaConfig &m = config.mamba;
  if (m.layout == MambaConfig::Layout::StateSpaces)
    return llvm::formatv("n_layer = {0}, d_model = {1}, expand = {2}, "
                         "d_state = {3}, d_conv = {4}, dt_rank = {5}, padded "
                         "vocab_size = {6}",
                         m.numLayers, m.dModel, m.expand, m.dState, m.dConv,
                         m.dtRank, m.vocabSize);
  return llvm::formatv("num_hidden_layers = {0}, hidden_size = {1}, "
                       "intermediate_size = {2}, state_size = {3}, "
                       "conv_kernel = {4}, time_step_rank = {5}, "
                       "vocab_size = {6}",
                       m.numLayers, m.dModel, m.dInner, m.dState, m.dConv,
                       m.dtRank, m.vocabSize);
}

llvm::Error fail(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

} // namespace

llvm::Error
mlir::coil::models::checkCheckpointWeights(const ModelConfig &config,
                                           const weights::WeightFileSet &files,
                                           llvm::StringRef weightsPath) {
  llvm::StringSet<> implied;
  for (const WeightSpec &spec : weightSpecs(config)) {
    implied.insert(spec.name);
    const weights::TensorInfo *info = files.find(spec.name);
    if (!info)
      return fail(llvm::formatv(
          "{0}: tensor '{1}' is missing, but the config implies it ({2})",
          weightsPath, spec.name, describeSizes(config)));
    // A pre-quantized matrix has its own extents and brings its scales.
    std::vector<int64_t> shape = info->shape;
    if (weights::isPreQuantized(*info)) {
      weights::PreQuantized pre;
      if (weights::Status s = weights::findPreQuantized(files, *info, pre); !s)
        return fail(weightsPath + ": " + s.message());
      shape = {pre.rows, pre.cols};
    }
    if (shape != spec.shape)
      return fail(llvm::formatv(
          "{0}: tensor '{1}' is {2} in {3}, but the config implies {4} ({5})",
          weightsPath, spec.name, weights::formatShape(shape), info->file,
          weights::formatShape(spec.shape), describeSizes(config)));
  }
  for (const weights::TensorInfo &info : files.tensors())
    if (!implied.contains(info.name) &&
        !weights::isScalesOfPreQuantized(files, info.name))
      return fail(llvm::formatv(
          "{0}: tensor '{1}' is not a parameter of the model the config "
          "describes ({2})",
          weightsPath, weights::abbreviate(info.name), describeSizes(config)));
  return llvm::Error::success();
}
