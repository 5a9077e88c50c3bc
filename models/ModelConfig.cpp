//===- ModelConfig.cpp - Model hyper-parameters from config.json -*- C++
//-*-===//
//
// Reads Hugging Face `config.json` files with LLVM's JSON parser. Every error
// names the file and the key and says what was expected.
//
//===----------------------------------------------------------------------===//

#include "models/ModelConfig.h"

#include "runtime/src/weights/FileChecks.h"
#include "runtime/src/weights/JsonCheck.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <cmath>
#include <limits>
#include <optional>

using namespace llvm;
using namespace mlir::coil::models;

template <typename T>
T ModelConfig::byFamily(T mambaValue, T mamba2Value, T llamaValue,
                        T nemotronHValue) const {
  switch (family) {
  case Family::Mamba:
    return mambaValue;
  case Family::Mamba2:
    return mamba2Value;
  case Family::Llama:
    return llamaValue;
  case Family::NemotronH:
    return nemotronHValue;
  }
  llvm_unreachable("unknown family");
}

StringRef ModelConfig::familyName() const {
  return byFamily<StringRef>("mamba", "mamba2", "llama", "nemotron_h");
}

int64_t ModelConfig::vocabSize() const {
  return byFamily(mamba.vocabSize, mamba2.vocabSize, llama.vocabSize,
                  nemotronH.vocabSize);
}

int64_t ModelConfig::numLayers() const {
  return byFamily(mamba.numLayers, mamba2.numLayers, llama.numLayers,
                  nemotronH.numLayers);
}

int64_t ModelConfig::hiddenSize() const {
  return byFamily(mamba.dModel, mamba2.hiddenSize, llama.hiddenSize,
                  nemotronH.hiddenSize);
}

bool ModelConfig::tiedEmbeddings() const {
  return byFamily(mamba.tieEmbeddings, mamba2.tieEmbeddings,
                  llama.tieEmbeddings, nemotronH.tieEmbeddings);
}

int64_t NemotronHConfig::count(char kind) const {
  return static_cast<int64_t>(llvm::count(pattern, kind));
}

namespace {

/// The largest values a configuration may give. Real checkpoints stay far
/// below them; beyond them a config is refused at once, before its sizes
/// are multiplied or a graph of that size is built.
constexpr int64_t kMaxLayers = 1024;
constexpr int64_t kMaxWidth = int64_t(1) << 20;
constexpr int64_t kMaxVocab = int64_t(1) << 24;
constexpr int64_t kMaxPositions = int64_t(1) << 24;
constexpr int64_t kMaxStates = 1024;
constexpr int64_t kMaxConvKernel = 64;
constexpr int64_t kMaxExpand = 64;

/// Typed access to the keys of one JSON object. The first problem is kept and
/// reported by `takeError`; later reads return defaults.
class KeyReader {
public:
  KeyReader(const json::Object &object, StringRef fileName, StringRef prefix)
      : object(object), fileName(fileName), prefix(prefix) {}

  bool has(StringRef key) const {
    const json::Value *v = object.get(key);
    return v && v->kind() != json::Value::Null;
  }

  /// A required integer in [`min`, `max`].
  int64_t requiredInt(StringRef key, int64_t max, int64_t min = 1) {
    if (!has(key)) {
      fail(formatv("missing required key '{0}'", qualified(key)));
      return min;
    }
    return optionalInt(key, min, max, min);
  }

  /// An optional integer in [`min`, `max`] (`fallback` when absent or null).
  int64_t optionalInt(StringRef key, int64_t fallback, int64_t max,
                      int64_t min = 1) {
    if (!has(key))
      return fallback;
    std::optional<int64_t> v = object.get(key)->getAsInteger();
    if (!v || *v < min) {
      fail(formatv("key '{0}' must be an integer >= {1}", qualified(key), min));
      return fallback;
    }
    if (*v > max) {
      fail(formatv("key '{0}' is {1}; Coil accepts at most {2}", qualified(key),
                   *v, max));
      return fallback;
    }
    return *v;
  }

  /// An optional finite number > 0.
  double optionalPositive(StringRef key, double fallback) {
    if (!has(key))
      return fallback;
    std::optional<double> v = object.get(key)->getAsNumber();
    if (!v || !std::isfinite(*v) || *v <= 0.0) {
      fail(formatv("key '{0}' must be a positive number", qualified(key)));
      return fallback;
    }
    return *v;
  }

  bool optionalBool(StringRef key, bool fallback) {
    if (!has(key))
      return fallback;
    std::optional<bool> v = object.get(key)->getAsBoolean();
    if (!v) {
      fail(formatv("key '{0}' must be true or false", qualified(key)));
      return fallback;
    }
    return *v;
  }

  std::optional<std::string> optionalString(StringRef key) {
    if (!has(key))
      return std::nullopt;
    std::optional<StringRef> v = object.get(key)->getAsString();
    if (!v) {
      fail(formatv("key '{0}' must be a string", qualified(key)));
      return std::nullopt;
    }
    return v->str();
  }

  /// Refuses a key whose value would change the math unless it equals what
  /// Coil implements; `supported` is printed in the message.
  void requireString(StringRef key, StringRef expected) {
    std::optional<std::string> v = optionalString(key);
    if (v && *v != expected)
      fail(formatv("key '{0}' is \"{1}\"; only \"{2}\" is supported",
                   qualified(key), *v, expected));
  }

  /// Refuses a key that must be absent or null (e.g. rope_scaling).
  void requireNull(StringRef key, StringRef why) {
    if (has(key))
      fail(formatv("key '{0}' is set; {1}", qualified(key), why));
  }

  /// Refuses a boolean key that must be false.
  void requireFalse(StringRef key, StringRef why) {
    if (optionalBool(key, false))
      fail(formatv("key '{0}' is true; {1}", qualified(key), why));
  }

  void fail(const Twine &message) {
    if (!error)
      error = createStringError(inconvertibleErrorCode(),
                                fileName + ": " + message);
  }

  Error takeError() { return error ? std::move(error) : Error::success(); }

private:
  std::string qualified(StringRef key) const {
    return prefix.empty() ? key.str() : (prefix + "." + key).str();
  }

  const json::Object &object;
  StringRef fileName;
  StringRef prefix;
  Error error = Error::success();
};

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// `time_step_rank`: an integer or "auto" (= ceil(d_model / 16)).
int64_t readDtRank(const json::Object &object, StringRef key, int64_t dModel,
                   KeyReader &reader) {
  const json::Value *v = object.get(key);
  if (!v || v->kind() == json::Value::Null)
    return ceilDiv(dModel, 16);
  if (std::optional<StringRef> s = v->getAsString()) {
    if (*s == "auto")
      return ceilDiv(dModel, 16);
    reader.fail(formatv("key '{0}' must be an integer or \"auto\"", key));
    return 1;
  }
  return reader.optionalInt(key, ceilDiv(dModel, 16), kMaxWidth);
}

Expected<ModelConfig> parseHuggingFaceMamba(const json::Object &root,
                                            StringRef fileName) {
  KeyReader r(root, fileName, "");
  ModelConfig config;
  config.family = ModelConfig::Family::Mamba;
  MambaConfig &m = config.mamba;
  m.layout = MambaConfig::Layout::HuggingFace;
  m.dModel = r.requiredInt("hidden_size", kMaxWidth);
  m.numLayers = r.requiredInt("num_hidden_layers", kMaxLayers);
  m.vocabSize = r.requiredInt("vocab_size", kMaxVocab);
  m.dState = r.optionalInt("state_size", 16, kMaxStates);
  m.expand = r.optionalInt("expand", 2, kMaxExpand);
  // Hugging Face's MambaConfig derives intermediate_size from the two when
  // the file does not give it, and keeps the file's value when it does (a
  // pruned model's d_inner is no multiple of hidden_size).
  m.dInner = r.optionalInt("intermediate_size", m.expand * m.dModel,
                           kMaxExpand * kMaxWidth);
  m.dConv = r.optionalInt("conv_kernel", 4, kMaxConvKernel, 2);
  m.dtRank = readDtRank(root, "time_step_rank", m.dModel, r);
  m.normEpsilon = r.optionalPositive("layer_norm_epsilon", 1e-5);
  m.linearBias = r.optionalBool("use_bias", false);
  m.convBias = r.optionalBool("use_conv_bias", true);
  m.tieEmbeddings = r.optionalBool("tie_word_embeddings", true);
  r.requireString("hidden_act", "silu");
  if (Error e = r.takeError())
    return std::move(e);
  return config;
}

Expected<ModelConfig> parseStateSpacesMamba(const json::Object &root,
                                            StringRef fileName) {
  KeyReader r(root, fileName, "");
  ModelConfig config;
  config.family = ModelConfig::Family::Mamba;
  MambaConfig &m = config.mamba;
  m.layout = MambaConfig::Layout::StateSpaces;
  m.dModel = r.requiredInt("d_model", kMaxWidth);
  m.numLayers = r.requiredInt("n_layer", kMaxLayers);
  int64_t vocab = r.requiredInt("vocab_size", kMaxVocab);
  int64_t multiple = r.optionalInt("pad_vocab_size_multiple", 8, kMaxVocab);
  m.vocabSize = ceilDiv(vocab, multiple) * multiple;
  m.tieEmbeddings = true;
  if (r.has("tie_embeddings") && !r.optionalBool("tie_embeddings", true))
    r.fail("key 'tie_embeddings' is false; the state-spaces layout has no "
           "separate lm_head tensor");
  if (r.has("rms_norm") && !r.optionalBool("rms_norm", true))
    r.fail("key 'rms_norm' is false; only RMSNorm Mamba models are supported");
  m.normEpsilon = r.optionalPositive("norm_epsilon", 1e-5);

  json::Object empty;
  const json::Object *ssm = root.getObject("ssm_cfg");
  if (r.has("ssm_cfg") && !ssm)
    r.fail("key 'ssm_cfg' must be an object");
  KeyReader s(ssm ? *ssm : empty, fileName, "ssm_cfg");
  if (ssm) {
    std::optional<std::string> layer = s.optionalString("layer");
    if (layer && *layer != "Mamba1")
      s.fail(formatv("key 'ssm_cfg.layer' is \"{0}\"; only Mamba1 is "
                     "supported",
                     *layer));
  }
  m.dState = s.optionalInt("d_state", 16, kMaxStates);
  m.dConv = s.optionalInt("d_conv", 4, kMaxConvKernel, 2);
  m.expand = s.optionalInt("expand", 2, kMaxExpand);
  m.dInner = m.expand * m.dModel;
  m.dtRank = readDtRank(ssm ? *ssm : empty, "dt_rank", m.dModel, s);
  m.convBias = s.optionalBool("conv_bias", true);
  m.linearBias = s.optionalBool("bias", false);
  if (Error e = s.takeError())
    return std::move(e);
  if (Error e = r.takeError())
    return std::move(e);
  return config;
}

/// `key` (a dt limit): absent, null, or [low, high] with 0 <= low <= high
/// (Hugging Face's default (0, inf) is "no limit"; an infinity, which
/// Python's json writes as `Infinity`, reads as the largest double).
void readDtLimit(const json::Object &root, StringRef key, Mamba2Config &m,
                 KeyReader &r) {
  const json::Value *v = root.get(key);
  if (!v || v->kind() == json::Value::Null)
    return;
  const json::Array *pair = v->getAsArray();
  std::optional<double> low, high;
  if (pair && pair->size() == 2) {
    low = (*pair)[0].getAsNumber();
    high = (*pair)[1].getAsNumber();
  }
  if (!low || !high || std::isnan(*low) || std::isnan(*high) || *low < 0 ||
      *low > *high) {
    r.fail(formatv("key '{0}' must be [low, high] with 0 <= low <= high", key));
    return;
  }
  m.dtLimitLow = *low;
  m.dtLimitHigh =
      *high >= std::numeric_limits<double>::max() ? HUGE_VAL : *high;
}

/// The first of `keys` the object has (a config may store a value under
/// its attribute's name or its constructor argument's), else the first.
StringRef firstPresent(const KeyReader &r,
                       std::initializer_list<StringRef> keys) {
  for (StringRef key : keys)
    if (r.has(key))
      return key;
  return *keys.begin();
}

/// The Mamba-2 mixer's keys both families store under the same names
/// (n_groups, conv_kernel, chunk_size, use_bias, use_conv_bias, time_step_*),
/// or, with `alternatives` (Nemotron-H), under the constructor's names
/// (mamba_n_groups, mamba_d_conv, ...) when the stored one is absent.
void readMixerKeys(const json::Object &root, KeyReader &r, Mamba2Config &m,
                   int64_t chunkDefault, bool alternatives) {
  auto key = [&](StringRef stored, StringRef constructor) {
    return alternatives ? firstPresent(r, {stored, constructor}) : stored;
  };
  m.numGroups = r.optionalInt(key("n_groups", "mamba_n_groups"), 8, kMaxWidth);
  m.convKernel =
      r.optionalInt(key("conv_kernel", "mamba_d_conv"), 4, kMaxConvKernel, 2);
  m.chunkSize = r.optionalInt(key("chunk_size", "mamba_chunk_size"),
                              chunkDefault, kMaxPositions);
  m.linearBias = r.optionalBool(key("use_bias", "mamba_proj_bias"), false);
  m.convBias = r.optionalBool(key("use_conv_bias", "mamba_conv_bias"), true);
  m.dtMin = r.optionalPositive(key("time_step_min", "mamba_dt_min"), 1e-3);
  m.dtMax = r.optionalPositive(key("time_step_max", "mamba_dt_max"), 0.1);
  m.dtFloor =
      r.optionalPositive(key("time_step_floor", "mamba_dt_init_floor"), 1e-4);
  readDtLimit(root, key("time_step_limit", "mamba_dt_limit"), m, r);
}

/// Hugging Face's `Mamba2Config` (defaults as there).
Expected<ModelConfig> parseMamba2(const json::Object &root,
                                  StringRef fileName) {
  KeyReader r(root, fileName, "");
  ModelConfig config;
  config.family = ModelConfig::Family::Mamba2;
  Mamba2Config &m = config.mamba2;
  m.hiddenSize = r.requiredInt("hidden_size", kMaxWidth);
  m.numLayers = r.requiredInt("num_hidden_layers", kMaxLayers);
  m.vocabSize = r.requiredInt("vocab_size", kMaxVocab);
  m.numHeads = r.optionalInt("num_heads", 128, kMaxWidth);
  m.headDim = r.optionalInt("head_dim", 64, kMaxWidth);
  m.stateSize = r.optionalInt("state_size", 128, kMaxStates);
  m.expand = r.optionalInt("expand", 2, kMaxExpand);
  m.normEpsilon = r.optionalPositive("layer_norm_epsilon", 1e-5);
  m.tieEmbeddings = r.optionalBool("tie_word_embeddings", false);
  readMixerKeys(root, r, m, /*chunkDefault=*/256, /*alternatives=*/false);
  r.requireString("hidden_act", "silu");
  if (r.has("rms_norm") && !r.optionalBool("rms_norm", true))
    r.fail("key 'rms_norm' is false; only Mamba-2 with its gated RMSNorm is "
           "supported");
  r.requireFalse("norm_before_gate",
                 "only the gate before the norm (norm(y * silu(z))) is "
                 "supported");
  if (Error e = r.takeError())
    return std::move(e);
  m.dInner = m.expand * m.hiddenSize;
  if (m.numHeads * m.headDim != m.dInner)
    r.fail(formatv("num_heads x head_dim is {0} x {1} = {2}, but expand x "
                   "hidden_size is {3} x {4} = {5}; they must be equal",
                   m.numHeads, m.headDim, m.numHeads * m.headDim, m.expand,
                   m.hiddenSize, m.dInner));
  else if (m.numHeads % m.numGroups != 0)
    r.fail(formatv("key 'n_groups' is {0}, which does not divide num_heads "
                   "{1}",
                   m.numGroups, m.numHeads));
  if (Error e = r.takeError())
    return std::move(e);
  return config;
}

/// Hugging Face's / NVIDIA's `NemotronHConfig` (defaults as there). The
/// Mamba-2 keys are read under the names config.json stores (n_groups,
/// conv_kernel, chunk_size, time_step_*, use_conv_bias, use_bias) or the
/// constructor's (mamba_n_groups, mamba_d_conv, ...).
Expected<ModelConfig> parseNemotronH(const json::Object &root,
                                     StringRef fileName) {
  KeyReader r(root, fileName, "");
  ModelConfig config;
  config.family = ModelConfig::Family::NemotronH;
  NemotronHConfig &n = config.nemotronH;
  n.hiddenSize = r.requiredInt("hidden_size", kMaxWidth);
  n.numLayers = r.requiredInt("num_hidden_layers", kMaxLayers);
  n.vocabSize = r.requiredInt("vocab_size", kMaxVocab);
  if (std::optional<std::string> p =
          r.optionalString("hybrid_override_pattern"))
    n.pattern = *p;
  else
    r.fail("missing required key 'hybrid_override_pattern'");
  n.numHeads = r.optionalInt("num_attention_heads", 32, kMaxWidth);
  n.numKvHeads = r.optionalInt("num_key_value_heads", n.numHeads, kMaxWidth);
  StringRef headDimKey = firstPresent(r, {"head_dim", "attention_head_dim"});
  bool headDimGiven = r.has(headDimKey);
  n.headDim = r.optionalInt(
      headDimKey, n.hiddenSize / std::max<int64_t>(n.numHeads, 1), kMaxWidth);
  n.maxPositions =
      r.optionalInt("max_position_embeddings", 4096, kMaxPositions);
  n.intermediateSize = r.optionalInt("intermediate_size", 21504, kMaxWidth);
  n.normEpsilon = r.optionalPositive("layer_norm_epsilon", 1e-5);
  n.tieEmbeddings = r.optionalBool("tie_word_embeddings", false);
  r.requireString("mlp_hidden_act", "relu2");
  r.requireString("mamba_hidden_act", "silu");
  r.requireFalse("attention_bias", "biased attention projections are not "
                                   "supported");
  r.requireFalse("mlp_bias", "biased MLP projections are not supported");
  r.requireNull("sliding_window", "sliding-window attention is not supported");
  r.requireNull("rope_scaling", "this family has no rotary embedding");

  Mamba2Config &m = n.mamba;
  m.hiddenSize = n.hiddenSize;
  m.numLayers = n.numLayers;
  m.vocabSize = n.vocabSize;
  m.numHeads = r.optionalInt("mamba_num_heads", 128, kMaxWidth);
  m.headDim = r.optionalInt("mamba_head_dim", 64, kMaxWidth);
  m.stateSize = r.optionalInt("ssm_state_size", 128, kMaxStates);
  readMixerKeys(root, r, m, /*chunkDefault=*/128, /*alternatives=*/true);
  m.normEpsilon = n.normEpsilon;
  m.dInner = m.numHeads * m.headDim;
  if (Error e = r.takeError())
    return std::move(e);

  // The pattern: one known block per layer.
  if (static_cast<int64_t>(n.pattern.size()) != n.numLayers)
    r.fail(formatv("key 'hybrid_override_pattern' has {0} blocks but "
                   "num_hidden_layers is {1}",
                   n.pattern.size(), n.numLayers));
  for (auto [i, c] : llvm::enumerate(n.pattern))
    if (c == 'E')
      r.fail(formatv("key 'hybrid_override_pattern' has a mixture-of-experts "
                     "block ('E') at layer {0}; those are not supported",
                     i));
    else if (c != 'M' && c != '*' && c != '-')
      r.fail(formatv("key 'hybrid_override_pattern' has '{0}' at layer {1}; "
                     "expected 'M' (Mamba-2), '*' (attention) or '-' (MLP)",
                     std::string(1, c), i));
  // Sizes of the blocks the pattern has.
  bool attention = n.count('*') > 0, mamba = n.count('M') > 0;
  if (attention && n.numHeads % n.numKvHeads != 0)
    r.fail(formatv("num_attention_heads {0} is not a multiple of "
                   "num_key_value_heads {1}",
                   n.numHeads, n.numKvHeads));
  if (attention && !headDimGiven && n.hiddenSize % n.numHeads != 0)
    r.fail(formatv("hidden_size {0} is not a multiple of "
                   "num_attention_heads {1}",
                   n.hiddenSize, n.numHeads));
  if (mamba && m.numHeads % m.numGroups != 0)
    r.fail(formatv("key '{0}' is {1}, which does not divide mamba_num_heads "
                   "{2}",
                   firstPresent(r, {"n_groups", "mamba_n_groups"}), m.numGroups,
                   m.numHeads));
  if (n.numHeads * n.headDim > kMaxWidth || m.dInner > kMaxWidth)
    r.fail(formatv("attention width {0} x {1} or Mamba width {2} x {3} is "
                   "beyond {4}",
                   n.numHeads, n.headDim, m.numHeads, m.headDim, kMaxWidth));
  if (Error e = r.takeError())
    return std::move(e);
  return config;
}

Expected<ModelConfig> parseLlama(const json::Object &root, StringRef fileName) {
  KeyReader r(root, fileName, "");
  ModelConfig config;
  config.family = ModelConfig::Family::Llama;
  LlamaConfig &l = config.llama;
  l.hiddenSize = r.requiredInt("hidden_size", kMaxWidth);
  l.intermediateSize = r.requiredInt("intermediate_size", kMaxWidth);
  l.numHeads = r.requiredInt("num_attention_heads", kMaxWidth);
  l.numKvHeads = r.optionalInt("num_key_value_heads", l.numHeads, kMaxWidth);
  l.numLayers = r.requiredInt("num_hidden_layers", kMaxLayers);
  l.vocabSize = r.requiredInt("vocab_size", kMaxVocab);
  l.maxPositions =
      r.optionalInt("max_position_embeddings", 2048, kMaxPositions);
  l.normEpsilon = r.optionalPositive("rms_norm_eps", 1e-6);
  l.ropeTheta = r.optionalPositive("rope_theta", 10000.0);
  l.tieEmbeddings = r.optionalBool("tie_word_embeddings", false);
  l.headDim = r.optionalInt("head_dim", l.hiddenSize / l.numHeads, kMaxWidth);
  if (l.numHeads * l.headDim > kMaxWidth)
    r.fail(formatv("num_attention_heads x head dimension is {0} x {1}; Coil "
                   "accepts at most {2}",
                   l.numHeads, l.headDim, kMaxWidth));
  r.requireString("hidden_act", "silu");
  r.requireNull("rope_scaling", "scaled rotary embeddings are not supported");
  r.requireFalse("attention_bias", "biased attention projections are not "
                                   "supported");
  r.requireFalse("mlp_bias", "biased MLP projections are not supported");
  if (r.has("partial_rotary_factor") &&
      r.optionalPositive("partial_rotary_factor", 1.0) != 1.0)
    r.fail("key 'partial_rotary_factor' is not 1; partial rotary embeddings "
           "are not supported");
  if (l.numHeads % l.numKvHeads != 0)
    r.fail(formatv("num_attention_heads {0} is not a multiple of "
                   "num_key_value_heads {1}",
                   l.numHeads, l.numKvHeads));
  if (!r.has("head_dim") && l.hiddenSize % l.numHeads != 0)
    r.fail(formatv("hidden_size {0} is not a multiple of "
                   "num_attention_heads {1}",
                   l.hiddenSize, l.numHeads));
  if (l.headDim % 2 != 0)
    r.fail(formatv("head dimension {0} must be even for rotary embeddings",
                   l.headDim));
  if (Error e = r.takeError())
    return std::move(e);
  return config;
}

} // namespace

namespace {

/// `text` with every bare `Infinity` / `-Infinity` outside strings (what
/// Python's json module writes for a float infinity, which JSON lacks)
/// replaced by the largest double, so a config holding one parses.
std::string replaceInfinities(StringRef text) {
  std::string out;
  out.reserve(text.size());
  bool inString = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (inString) {
      out += c;
      if (c == '\\' && i + 1 < text.size())
        out += text[++i];
      else if (c == '"')
        inString = false;
      continue;
    }
    if (c == '"')
      inString = true;
    if (text.substr(i).starts_with("Infinity")) {
      out += "1.7976931348623157e308";
      i += strlen("Infinity") - 1;
      continue;
    }
    out += c;
  }
  return out;
}

} // namespace

Expected<ModelConfig> mlir::coil::models::parseModelConfig(StringRef original,
                                                           StringRef fileName) {
  std::string rewritten = replaceInfinities(original);
  StringRef text = rewritten;
  // llvm::json recurses once per nesting level and keeps the last of two
  // equal keys: both are ruled out first.
  if (std::string problem = ::coil::weights::checkJsonStructure(
          std::string_view(text.data(), text.size()));
      !problem.empty() && problem.rfind("not valid JSON", 0) != 0)
    return createStringError(inconvertibleErrorCode(),
                             fileName + ": " + problem);
  Expected<json::Value> parsed = json::parse(text);
  if (!parsed)
    return createStringError(
        inconvertibleErrorCode(),
        fileName + ": invalid JSON: " + toString(parsed.takeError()));
  const json::Object *root = parsed->getAsObject();
  if (!root)
    return createStringError(inconvertibleErrorCode(),
                             fileName + ": expected a JSON object");

  std::optional<StringRef> modelType = root->getString("model_type");
  if (modelType && *modelType == "mamba")
    return parseHuggingFaceMamba(*root, fileName);
  if (modelType && *modelType == "mamba2")
    return parseMamba2(*root, fileName);
  if (modelType && *modelType == "llama")
    return parseLlama(*root, fileName);
  if (modelType && *modelType == "nemotron_h")
    return parseNemotronH(*root, fileName);
  if (modelType)
    return createStringError(inconvertibleErrorCode(),
                             fileName + ": unsupported model_type \"" +
                                 *modelType +
                                 "\" (supported: \"mamba\", \"mamba2\", "
                                 "\"llama\", \"nemotron_h\", or a "
                                 "state-spaces Mamba config with d_model "
                                 "and n_layer)");
  if (root->get("d_model") && root->get("n_layer"))
    return parseStateSpacesMamba(*root, fileName);
  return createStringError(
      inconvertibleErrorCode(),
      fileName + ": cannot tell the model family: no 'model_type' key and "
                 "not a state-spaces Mamba config (d_model, n_layer)");
}

Expected<ModelConfig> mlir::coil::models::loadModelConfig(StringRef path) {
  SmallString<256> file(path);
  if (sys::fs::is_directory(path))
    sys::path::append(file, "config.json");
  if (std::string problem = ::coil::weights::checkInputFile(
          file.str().str(), ::coil::weights::kMaxJsonFileBytes);
      !problem.empty())
    return createStringError(inconvertibleErrorCode(), problem);
  ErrorOr<std::unique_ptr<MemoryBuffer>> buffer =
      MemoryBuffer::getFile(file, /*IsText=*/true);
  if (!buffer)
    return createStringError(buffer.getError(),
                             Twine("cannot read ") + file + ": " +
                                 buffer.getError().message());
  return parseModelConfig((*buffer)->getBuffer(), file);
}

namespace {

/// The mixer keys `readMixerKeys` reads, under their stored names.
void writeMixerKeys(json::Object &o, const Mamba2Config &m) {
  o["n_groups"] = m.numGroups;
  o["conv_kernel"] = m.convKernel;
  o["chunk_size"] = m.chunkSize;
  o["use_bias"] = m.linearBias;
  o["use_conv_bias"] = m.convBias;
  o["time_step_min"] = m.dtMin;
  o["time_step_max"] = m.dtMax;
  o["time_step_floor"] = m.dtFloor;
  // JSON has no infinity: an unbounded limit is written as the largest
  // double, which clamps nothing.
  if (m.hasDtLimit())
    o["time_step_limit"] =
        json::Array{m.dtLimitLow, std::isfinite(m.dtLimitHigh)
                                      ? m.dtLimitHigh
                                      : std::numeric_limits<double>::max()};
}

} // namespace

std::string mlir::coil::models::toConfigJson(const ModelConfig &config) {
  json::Object o;
  if (config.family == ModelConfig::Family::Llama) {
    const LlamaConfig &l = config.llama;
    o["model_type"] = "llama";
    o["architectures"] = json::Array{"LlamaForCausalLM"};
    o["hidden_size"] = l.hiddenSize;
    o["intermediate_size"] = l.intermediateSize;
    o["num_attention_heads"] = l.numHeads;
    o["num_key_value_heads"] = l.numKvHeads;
    o["head_dim"] = l.headDim;
    o["num_hidden_layers"] = l.numLayers;
    o["vocab_size"] = l.vocabSize;
    o["max_position_embeddings"] = l.maxPositions;
    o["rms_norm_eps"] = l.normEpsilon;
    o["rope_theta"] = l.ropeTheta;
    o["tie_word_embeddings"] = l.tieEmbeddings;
    o["hidden_act"] = "silu";
  } else if (config.family == ModelConfig::Family::NemotronH) {
    const NemotronHConfig &n = config.nemotronH;
    const Mamba2Config &m = n.mamba;
    o["model_type"] = "nemotron_h";
    o["architectures"] = json::Array{"NemotronHForCausalLM"};
    o["hidden_size"] = n.hiddenSize;
    o["num_hidden_layers"] = n.numLayers;
    o["vocab_size"] = n.vocabSize;
    o["hybrid_override_pattern"] = n.pattern;
    o["num_attention_heads"] = n.numHeads;
    o["num_key_value_heads"] = n.numKvHeads;
    o["head_dim"] = n.headDim;
    o["max_position_embeddings"] = n.maxPositions;
    o["intermediate_size"] = n.intermediateSize;
    o["mlp_hidden_act"] = "relu2";
    o["layer_norm_epsilon"] = n.normEpsilon;
    o["tie_word_embeddings"] = n.tieEmbeddings;
    o["mamba_num_heads"] = m.numHeads;
    o["mamba_head_dim"] = m.headDim;
    o["ssm_state_size"] = m.stateSize;
    writeMixerKeys(o, m);
    o["mamba_hidden_act"] = "silu";
  } else if (config.family == ModelConfig::Family::Mamba2) {
    const Mamba2Config &m = config.mamba2;
    o["model_type"] = "mamba2";
    o["architectures"] = json::Array{"Mamba2ForCausalLM"};
    o["hidden_size"] = m.hiddenSize;
    o["num_hidden_layers"] = m.numLayers;
    o["vocab_size"] = m.vocabSize;
    o["num_heads"] = m.numHeads;
    o["head_dim"] = m.headDim;
    o["state_size"] = m.stateSize;
    o["expand"] = m.expand;
    o["layer_norm_epsilon"] = m.normEpsilon;
    o["tie_word_embeddings"] = m.tieEmbeddings;
    writeMixerKeys(o, m);
    o["rms_norm"] = true;
    o["hidden_act"] = "silu";
  } else if (config.mamba.layout == MambaConfig::Layout::StateSpaces) {
    const MambaConfig &m = config.mamba;
    o["d_model"] = m.dModel;
    o["n_layer"] = m.numLayers;
    o["vocab_size"] = m.vocabSize;
    o["pad_vocab_size_multiple"] = 1;
    o["norm_epsilon"] = m.normEpsilon;
    o["ssm_cfg"] =
        json::Object{{"d_state", m.dState},     {"d_conv", m.dConv},
                     {"expand", m.expand},      {"dt_rank", m.dtRank},
                     {"conv_bias", m.convBias}, {"bias", m.linearBias}};
    o["tie_embeddings"] = true;
  } else {
    const MambaConfig &m = config.mamba;
    o["model_type"] = "mamba";
    o["architectures"] = json::Array{"MambaForCausalLM"};
    o["hidden_size"] = m.dModel;
    o["num_hidden_layers"] = m.numLayers;
    o["vocab_size"] = m.vocabSize;
    o["state_size"] = m.dState;
    o["expand"] = m.expand;
    o["intermediate_size"] = m.dInner;
    o["conv_kernel"] = m.dConv;
    o["time_step_rank"] = m.dtRank;
    o["layer_norm_epsilon"] = m.normEpsilon;
    o["use_bias"] = m.linearBias;
    o["use_conv_bias"] = m.convBias;
    o["tie_word_embeddings"] = m.tieEmbeddings;
    o["hidden_act"] = "silu";
  }
  std::string text;
  raw_string_ostream os(text);
  os << formatv("{0:2}", json::Value(std::move(o))) << "\n";
  return text;
}
