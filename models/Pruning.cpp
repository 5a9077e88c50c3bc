//===- Pruning.cpp - Structured pruning of a checkpoint ---------*- C++ -*-===//
//
// The channels of a layer are scored, the lowest removed, and every tensor
// that carries them is sliced along its channel dimension; every other
// tensor is copied. The source and pruned parameter lists (weightSpecs of
// the two configs) have the same order, so tensor i of one is tensor i of
// the other; the slices' shapes are checked against the pruned list.
//
//===----------------------------------------------------------------------===//

#include "models/Pruning.h"

#include "models/CheckpointDirectory.h"
#include "models/CheckpointWeights.h"
#include "models/ModelBuilder.h"
#include "runtime/src/weights/Quantize.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>

using namespace llvm;
using namespace mlir::coil::models;
namespace weights = ::coil::weights;

namespace {

Error fail(const Twine &message) {
  return createStringError(inconvertibleErrorCode(), message);
}

/// A tensor that carries a layer's channels: along `dim`, in `blocks`
/// consecutive runs of the channel count (in_proj holds x then z).
struct ChannelDim {
  StringRef suffix;
  int dim;
  int64_t blocks;
};

const std::vector<ChannelDim> &channelDims(ModelConfig::Family family) {
  static const std::vector<ChannelDim> mamba{{"mixer.in_proj.weight", 0, 2},
                                             {"mixer.in_proj.bias", 0, 2},
                                             {"mixer.conv1d.weight", 0, 1},
                                             {"mixer.conv1d.bias", 0, 1},
                                             {"mixer.x_proj.weight", 1, 1},
                                             {"mixer.dt_proj.weight", 0, 1},
                                             {"mixer.dt_proj.bias", 0, 1},
                                             {"mixer.A_log", 0, 1},
                                             {"mixer.D", 0, 1},
                                             {"mixer.out_proj.weight", 1, 1}};
  static const std::vector<ChannelDim> llama{{"mlp.gate_proj.weight", 0, 1},
                                             {"mlp.up_proj.weight", 0, 1},
                                             {"mlp.down_proj.weight", 1, 1}};
  return family == ModelConfig::Family::Mamba ? mamba : llama;
}

/// The layer a parameter name belongs to ("<root>.layers.<i>."), or -1.
int64_t layerOf(StringRef name) {
  size_t at = name.find(".layers.");
  if (at == StringRef::npos)
    return -1;
  StringRef rest = name.drop_front(at + strlen(".layers."));
  int64_t layer;
  if (rest.consumeInteger(10, layer) || !rest.starts_with("."))
    return -1;
  return layer;
}

const ChannelDim *channelDimOf(ModelConfig::Family family, StringRef name) {
  if (layerOf(name) < 0)
    return nullptr;
  for (const ChannelDim &c : channelDims(family))
    if (name.ends_with(c.suffix))
      return &c;
  return nullptr;
}

std::vector<float> toF32(const weights::TensorInfo &t) {
  std::vector<float> v(static_cast<size_t>(t.numElements()));
  weights::convertToF32(t.dtype, t.data, v.data(), v.size());
  return v;
}

/// The L2 norm of each row of a [rows, cols] matrix.
std::vector<double> rowNorms(const std::vector<float> &m, int64_t rows,
                             int64_t cols, int64_t firstRow = 0) {
  std::vector<double> out(rows, 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    double sum = 0;
    for (int64_t c = 0; c < cols; ++c) {
      double x = m[(firstRow + r) * cols + c];
      sum += x * x;
    }
    out[r] = std::sqrt(sum);
  }
  return out;
}

/// The L2 norm of each column of a [rows, cols] matrix.
std::vector<double> columnNorms(const std::vector<float> &m, int64_t rows,
                                int64_t cols) {
  std::vector<double> sums(cols, 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      double x = m[r * cols + c];
      sums[c] += x * x;
    }
  for (double &s : sums)
    s = std::sqrt(s);
  return sums;
}

/// Each channel's magnitude in one layer (see the header).
std::vector<double> channelScores(const ModelConfig &config,
                                  const weights::WeightFileSet &files,
                                  const std::string &prefix, int64_t channels) {
  auto tensor = [&](StringRef suffix) {
    return toF32(*files.find(prefix + suffix.str()));
  };
  std::vector<double> in0, in1, out;
  if (config.family == ModelConfig::Family::Mamba) {
    int64_t d = config.mamba.dModel;
    std::vector<float> inProj = tensor("mixer.in_proj.weight");
    in0 = rowNorms(inProj, channels, d);
    in1 = rowNorms(inProj, channels, d, channels);
    out = columnNorms(tensor("mixer.out_proj.weight"), d, channels);
  } else {
    int64_t d = config.llama.hiddenSize;
    in0 = rowNorms(tensor("mlp.gate_proj.weight"), channels, d);
    in1 = rowNorms(tensor("mlp.up_proj.weight"), channels, d);
    out = columnNorms(tensor("mlp.down_proj.weight"), d, channels);
  }
  std::vector<double> scores(channels);
  for (int64_t c = 0; c < channels; ++c)
    scores[c] = in0[c] * in1[c] * out[c];
  return scores;
}

/// The `kept` channels of highest score, ascending (ties keep the later
/// channel, so the choice is deterministic).
std::vector<int64_t> keepHighest(const std::vector<double> &scores,
                                 int64_t kept) {
  std::vector<int64_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return scores[a] != scores[b] ? scores[a] < scores[b] : a < b;
  });
  std::vector<int64_t> keep(order.end() - kept, order.end());
  std::sort(keep.begin(), keep.end());
  return keep;
}

/// `t` with only the `keep` channels along `c.dim`.
std::vector<uint8_t> sliceChannels(const weights::TensorInfo &t,
                                   const ChannelDim &c, int64_t channels,
                                   const std::vector<int64_t> &keep) {
  size_t element = weights::dtypeSize(t.dtype);
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < c.dim; ++i)
    outer *= t.shape[i];
  for (size_t i = c.dim + 1; i < t.shape.size(); ++i)
    inner *= t.shape[i];
  size_t run = static_cast<size_t>(inner) * element;
  std::vector<uint8_t> out(static_cast<size_t>(outer) * c.blocks * keep.size() *
                           run);
  const uint8_t *src = static_cast<const uint8_t *>(t.data);
  uint8_t *dst = out.data();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t b = 0; b < c.blocks; ++b)
      for (int64_t k : keep) {
        int64_t index = (o * c.blocks + b) * channels + k;
        std::memcpy(dst, src + index * run, run);
        dst += run;
      }
  return out;
}

/// A fraction as the user would type it ("0.25", "1").
std::string formatFraction(double f) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", f);
  return text;
}

} // namespace

bool mlir::coil::models::canPrune(const ModelConfig &config) {
  return config.family == ModelConfig::Family::Mamba ||
         config.family == ModelConfig::Family::Llama;
}

Expected<PrunePlan>
mlir::coil::models::planPruning(const ModelConfig &config,
                                const PruneRequest &request) {
  if (!canPrune(config))
    return fail(formatv("structured pruning of {0} models is not supported",
                        config.familyName()));
  bool mamba = config.family == ModelConfig::Family::Mamba;
  for (auto [flag, value] :
       {std::pair<StringRef, double>{"--ffn", request.ffn},
        std::pair<StringRef, double>{"--d-inner", request.dInner}})
    if (!(value >= 0 && value < 1))
      return fail(formatv("{0} {1}: the fraction of channels to remove must "
                          "be in [0, 1)",
                          flag, formatFraction(value)));
  if (mamba && request.ffn != 0)
    return fail("--ffn prunes a Llama model's FFN channels; this is a Mamba "
                "model (use --d-inner)");
  if (!mamba && request.dInner != 0)
    return fail("--d-inner prunes a Mamba model's d_inner channels; this is a "
                "Llama model (use --ffn)");
  if (request.multipleOf < 1)
    return fail(
        formatv("--multiple-of {0}: must be at least 1", request.multipleOf));
  PrunePlan plan;
  plan.channels = mamba ? config.mamba.dInner : config.llama.intermediateSize;
  double fraction = mamba ? request.dInner : request.ffn;
  int64_t removed = std::llround(fraction * static_cast<double>(plan.channels));
  plan.kept =
      (plan.channels - removed) / request.multipleOf * request.multipleOf;
  if (plan.kept < 1)
    return fail(formatv("{0} {1} with --multiple-of {2} leaves no channel of "
                        "{3} per layer",
                        mamba ? "--d-inner" : "--ffn", formatFraction(fraction),
                        request.multipleOf, plan.channels));
  return plan;
}

Expected<PrunedCheckpoint> mlir::coil::models::pruneCheckpoint(
    const ModelConfig &config, const weights::WeightFileSet &files,
    StringRef weightsPath, const PruneRequest &request) {
  Expected<PrunePlan> plan = planPruning(config, request);
  if (!plan)
    return plan.takeError();
  if (Error e = checkCheckpointWeights(config, files, weightsPath))
    return std::move(e);
  // Channels are ranked and sliced in float: integers without their
  // scales have no magnitude to rank by.
  for (const weights::TensorInfo &t : files.tensors())
    if (weights::isPreQuantized(t))
      return fail(formatv("{0}: tensor '{1}' is stored quantized ({2}); prune "
                          "the float checkpoint, then quantize the result",
                          weightsPath, t.name, weights::dtypeName(t.dtype)));

  PrunedCheckpoint pruned;
  pruned.plan = *plan;
  pruned.config = config;
  if (config.family == ModelConfig::Family::Mamba) {
    pruned.config.mamba.dInner = plan->kept;
    pruned.config.mamba.layout = MambaConfig::Layout::HuggingFace;
  } else {
    pruned.config.llama.intermediateSize = plan->kept;
  }

  std::vector<WeightSpec> before = weightSpecs(config);
  std::vector<WeightSpec> after = weightSpecs(pruned.config);
  if (before.size() != after.size())
    return fail("internal error: the pruned model has other parameters");
  for (int64_t layer = 0; layer < config.numLayers(); ++layer) {
    // Any tensor of the layer names its prefix.
    auto it = llvm::find_if(
        before, [&](const WeightSpec &s) { return layerOf(s.name) == layer; });
    std::string name = it->name;
    std::string prefix =
        name.substr(0, name.find(".layers.") + strlen(".layers.") +
                           std::to_string(layer).size() + 1);
    pruned.keptChannels.push_back(keepHighest(
        channelScores(config, files, prefix, plan->channels), plan->kept));
  }

  for (size_t i = 0; i < before.size(); ++i) {
    const weights::TensorInfo &t = *files.find(before[i].name);
    PrunedTensor out{after[i].name, t.dtype, after[i].shape, {}};
    pruned.parametersBefore += t.numElements();
    if (const ChannelDim *c = channelDimOf(config.family, before[i].name)) {
      out.bytes = sliceChannels(t, *c, plan->channels,
                                pruned.keptChannels[layerOf(before[i].name)]);
    } else {
      const uint8_t *data = static_cast<const uint8_t *>(t.data);
      out.bytes.assign(data, data + t.numBytes);
    }
    int64_t count = 1;
    for (int64_t e : out.shape)
      count *= e;
    if (out.bytes.size() !=
        static_cast<size_t>(count) * weights::dtypeSize(t.dtype))
      return fail("internal error: the pruned " + before[i].name +
                  " does not have shape " + weights::formatShape(out.shape));
    pruned.parametersAfter += count;
    pruned.tensors.push_back(std::move(out));
  }
  return pruned;
}

Expected<std::string>
mlir::coil::models::prunedConfigJson(StringRef sourceText,
                                     const PrunedCheckpoint &pruned) {
  Expected<json::Value> parsed = json::parse(sourceText);
  if (!parsed)
    return parsed.takeError();
  json::Object *root = parsed->getAsObject();
  if (!root || !root->get("model_type"))
    return toConfigJson(pruned.config);
  (*root)["intermediate_size"] =
      pruned.config.family == ModelConfig::Family::Mamba
          ? pruned.config.mamba.dInner
          : pruned.config.llama.intermediateSize;
  std::string text;
  raw_string_ostream os(text);
  os << formatv("{0:2}", json::Value(std::move(*root))) << "\n";
  return text;
}

Error mlir::coil::models::writePrunedWeights(const PrunedCheckpoint &pruned,
                                             StringRef path) {
  std::vector<weights::TensorToWrite> tensors;
  for (const PrunedTensor &t : pruned.tensors)
    tensors.push_back({t.name, t.dtype, t.shape, t.bytes.data()});
  weights::Status status = weights::writeSafetensors(
      path.str(), tensors,
      {{"format", "pt"},
       {"coil.pruned", formatv("{0} of {1} channels per layer kept",
                               pruned.plan.kept, pruned.plan.channels)
                           .str()}});
  if (!status)
    return fail(status.message());
  return Error::success();
}

Error mlir::coil::models::writePrunedCheckpoint(const PrunedCheckpoint &pruned,
                                                StringRef sourceDir,
                                                StringRef outDir) {
  if (Error e = checkOutputDirectory(outDir))
    return e;
  Expected<std::string> source = readConfigText(sourceDir);
  if (!source)
    return source.takeError();
  Expected<std::string> configText = prunedConfigJson(*source, pruned);
  if (!configText)
    return configText.takeError();
  return writeCheckpointDirectory(
      sourceDir, outDir, *configText,
      [&](StringRef path) { return writePrunedWeights(pruned, path); });
}
