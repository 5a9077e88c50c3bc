//===- PruningTest.cpp - Structured pruning of checkpoints -----------===//
//
// Small Mamba and Llama checkpoints in which some channels are made dead
// (their output columns, and Mamba's x_proj columns, zero): pruning must
// remove exactly those, slice every tensor that carries them, and give a
// model whose logits on the reference interpreter equal the source's (the
// removed channels added only zeros). Also the checks of a request, the
// config written, and the checkpoint directory written atomically.
//
//===----------------------------------------------------------------------===//

#include "models/Pruning.h"
#include "compiler/InitAll.h"
#include "compiler/Reference/ReferenceSession.h"
#include "models/CheckpointWeights.h"
#include "models/ModelBuilder.h"
#include "models/RandomWeights.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringMap.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <unistd.h>

using namespace mlir;
using namespace mlir::coil;
using namespace mlir::coil::models;
using namespace mlir::coil::reference;
namespace weights = ::coil::weights;

namespace {

constexpr const char *kMamba = R"json({
  "model_type": "mamba", "hidden_size": 16, "num_hidden_layers": 2,
  "vocab_size": 37, "state_size": 4, "expand": 2, "conv_kernel": 4,
  "time_step_rank": "auto", "use_conv_bias": true, "tie_word_embeddings": true,
  "hidden_act": "silu", "initializer_range": 0.1, "eos_token_id": 0
})json";

constexpr const char *kMambaStateSpaces = R"json({
  "d_model": 16, "n_layer": 2, "vocab_size": 37, "pad_vocab_size_multiple": 1,
  "ssm_cfg": {"d_state": 4}, "rms_norm": true
})json";

constexpr const char *kLlama = R"json({
  "model_type": "llama", "hidden_size": 16, "intermediate_size": 24,
  "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 2,
  "vocab_size": 37, "max_position_embeddings": 64,
  "tie_word_embeddings": false, "hidden_act": "silu", "bos_token_id": 1
})json";

ModelConfig parse(const char *json) {
  llvm::Expected<ModelConfig> config = parseModelConfig(json, "config.json");
  if (!config) {
    ADD_FAILURE() << llvm::toString(config.takeError());
    return {};
  }
  return *config;
}

struct TempDir {
  std::string path;
  TempDir() {
    char pattern[] = "/tmp/coil-pruning-XXXXXX";
    path = ::mkdtemp(pattern) ? pattern : "";
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

/// A checkpoint held as f32 values by name.
struct Checkpoint {
  std::map<std::string, std::vector<int64_t>> shapes;
  std::map<std::string, std::vector<float>> values;

  std::vector<float> &operator[](const std::string &name) {
    return values[name];
  }

  void write(const std::string &file, weights::DType dtype) const {
    std::vector<std::vector<uint8_t>> bytes;
    std::vector<weights::TensorToWrite> tensors;
    for (const auto &[name, v] : values) {
      bytes.emplace_back(v.size() * weights::dtypeSize(dtype));
      weights::convertFromF32(dtype, v.data(), bytes.back().data(), v.size());
      tensors.push_back({name, dtype, shapes.at(name), bytes.back().data()});
    }
    weights::Status s = weights::writeSafetensors(file, tensors);
    ASSERT_TRUE(s) << s.message();
  }
};

Checkpoint randomCheckpoint(const ModelConfig &config) {
  Checkpoint c;
  for (const WeightSpec &spec : weightSpecs(config)) {
    c.shapes[spec.name] = spec.shape;
    c.values[spec.name] = randomWeight(spec, 5);
  }
  return c;
}

Checkpoint fromPruned(const PrunedCheckpoint &p) {
  Checkpoint c;
  for (const PrunedTensor &t : p.tensors) {
    size_t n = t.bytes.size() / weights::dtypeSize(t.dtype);
    c.shapes[t.name] = t.shape;
    c.values[t.name].resize(n);
    weights::convertToF32(t.dtype, t.bytes.data(), c.values[t.name].data(), n);
  }
  return c;
}

WeightProvider provider(const Checkpoint &c) {
  auto copy = std::make_shared<Checkpoint>(c);
  return [copy](llvm::StringRef name,
                RankedTensorType) -> llvm::Expected<Tensor> {
    auto it = copy->values.find(name.str());
    if (it == copy->values.end())
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "no weight " + name);
    return Tensor(copy->shapes.at(name.str()),
                  std::vector<double>(it->second.begin(), it->second.end()));
  };
}

std::string prefixOf(const ModelConfig &config, int layer) {
  return (config.family == ModelConfig::Family::Mamba ? "backbone.layers."
                                                      : "model.layers.") +
         std::to_string(layer) + ".";
}

/// The channels made dead in each layer, and one made weak (small but not
/// zero: the next to go).
const std::set<int64_t> kDead{1, 4, 5, 9, 13, 17};
constexpr int64_t kWeak = 20;

/// Zeroes the output column (and Mamba's x_proj column) of every dead
/// channel and shrinks the weak one's input row.
void weaken(const ModelConfig &config, Checkpoint &c) {
  bool mamba = config.family == ModelConfig::Family::Mamba;
  int64_t channels =
      mamba ? config.mamba.dInner : config.llama.intermediateSize;
  for (int layer = 0; layer < config.numLayers(); ++layer) {
    std::string p = prefixOf(config, layer);
    std::string out =
        p + (mamba ? "mixer.out_proj.weight" : "mlp.down_proj.weight");
    std::string in =
        p + (mamba ? "mixer.in_proj.weight" : "mlp.gate_proj.weight");
    int64_t rows = c.shapes[out][0];
    for (int64_t ch : kDead) {
      for (int64_t r = 0; r < rows; ++r)
        c[out][r * channels + ch] = 0;
      if (mamba) {
        std::string x = p + "mixer.x_proj.weight";
        for (int64_t r = 0; r < c.shapes[x][0]; ++r)
          c[x][r * channels + ch] = 0;
      }
    }
    int64_t width = c.shapes[in][1];
    for (int64_t k = 0; k < width; ++k)
      c[in][kWeak * width + k] *= 1e-3f;
  }
}

class PruningTest : public ::testing::Test {
public:
  PruningTest() {
    DialectRegistry registry;
    mlir::coil::registerAllDialects(registry);
    context.appendDialectRegistry(registry);
  }

  /// Logits of every position of one prompt on the reference interpreter.
  std::vector<double> logits(const ModelConfig &config, const Checkpoint &c) {
    OwningOpRef<ModuleOp> module = buildModel(context, config);
    auto session = ReferenceSession::create(*module, provider(c), 1, 16);
    if (!session) {
      ADD_FAILURE() << llvm::toString(session.takeError());
      return {};
    }
    llvm::Expected<Tensor> out = (*session)->prefillAll({{3, 17, 0, 36, 5, 9}});
    if (!out) {
      ADD_FAILURE() << llvm::toString(out.takeError());
      return {};
    }
    return out->data;
  }

  /// Writes `c`, opens it and prunes it.
  PrunedCheckpoint prune(const ModelConfig &config, const Checkpoint &c,
                         PruneRequest request,
                         weights::DType dtype = weights::DType::F32) {
    std::string file = dir.path + "/model.safetensors";
    c.write(file, dtype);
    std::unique_ptr<weights::WeightFileSet> files;
    weights::Status s = weights::WeightFileSet::open(file, files);
    EXPECT_TRUE(s) << s.message();
    if (!s)
      return {};
    llvm::Expected<PrunedCheckpoint> p =
        pruneCheckpoint(config, *files, file, request);
    if (!p) {
      ADD_FAILURE() << llvm::toString(p.takeError());
      return {};
    }
    return std::move(*p);
  }

  MLIRContext context;
  TempDir dir;
};

std::string planError(const char *json, PruneRequest request) {
  llvm::Expected<PrunePlan> plan = planPruning(parse(json), request);
  if (plan)
    return "";
  return llvm::toString(plan.takeError());
}

TEST_F(PruningTest, RefusesBadRequestsBeforeAnyWork) {
  EXPECT_EQ(planError(kMamba, {0, 1.0, 1}),
            "--d-inner 1: the fraction of channels to remove must be in "
            "[0, 1)");
  EXPECT_EQ(planError(kLlama, {-0.25, 0, 1}),
            "--ffn -0.25: the fraction of channels to remove must be in "
            "[0, 1)");
  EXPECT_NE(planError(kLlama, {std::nan(""), 0, 1}).find("must be in [0, 1)"),
            std::string::npos);
  EXPECT_NE(planError(kMamba, {0.5, 0, 1}).find("this is a Mamba model"),
            std::string::npos);
  EXPECT_NE(planError(kLlama, {0, 0.5, 1}).find("this is a Llama model"),
            std::string::npos);
  EXPECT_NE(planError(kLlama, {0.5, 0, 0}).find("--multiple-of 0"),
            std::string::npos);
  // 32 channels: removing 0.99 leaves 0; 0.5 leaves 16, not a multiple of 64.
  EXPECT_EQ(planError(kMamba, {0, 0.99, 1}),
            "--d-inner 0.99 with --multiple-of 1 leaves no channel of 32 per "
            "layer");
  EXPECT_NE(planError(kMamba, {0, 0.5, 64}).find("leaves no channel"),
            std::string::npos);

  llvm::Expected<PrunePlan> plan = planPruning(parse(kMamba), {0, 0.3, 8});
  ASSERT_TRUE(!!plan) << llvm::toString(plan.takeError());
  EXPECT_EQ(plan->channels, 32);
  EXPECT_EQ(plan->kept, 16); // 32 - round(9.6) = 22, down to a multiple of 8
}

/// Prunes exactly the dead channels and checks the slices and the logits.
void checkDeadChannelsGo(PruningTest &t, const char *json) {
  ModelConfig config = parse(json);
  bool mamba = config.family == ModelConfig::Family::Mamba;
  int64_t channels =
      mamba ? config.mamba.dInner : config.llama.intermediateSize;
  Checkpoint source = randomCheckpoint(config);
  weaken(config, source);
  PruneRequest request;
  (mamba ? request.dInner : request.ffn) =
      static_cast<double>(kDead.size()) / channels;
  PrunedCheckpoint p = t.prune(config, source, request);
  ASSERT_EQ(p.keptChannels.size(), 2u);

  std::vector<int64_t> expected;
  for (int64_t ch = 0; ch < channels; ++ch)
    if (!kDead.count(ch))
      expected.push_back(ch);
  for (const auto &kept : p.keptChannels)
    EXPECT_EQ(kept, expected);
  int64_t kept = expected.size();
  EXPECT_EQ(mamba ? p.config.mamba.dInner : p.config.llama.intermediateSize,
            kept);

  Checkpoint pruned = fromPruned(p);
  int64_t d = mamba ? config.mamba.dModel : config.llama.hiddenSize;
  std::string pre = prefixOf(config, 1);
  if (mamba) {
    // in_proj: x rows then z rows; x_proj and out_proj: columns; A_log: rows.
    std::string in = pre + "mixer.in_proj.weight";
    for (int64_t r = 0; r < kept; ++r)
      for (int64_t k = 0; k < d; ++k) {
        EXPECT_EQ(pruned[in][r * d + k], source[in][expected[r] * d + k]);
        EXPECT_EQ(pruned[in][(kept + r) * d + k],
                  source[in][(channels + expected[r]) * d + k]);
      }
    std::string x = pre + "mixer.x_proj.weight";
    int64_t xRows = source.shapes[x][0];
    EXPECT_EQ(pruned.shapes[x], (std::vector<int64_t>{xRows, kept}));
    for (int64_t r = 0; r < xRows; ++r)
      for (int64_t c = 0; c < kept; ++c)
        EXPECT_EQ(pruned[x][r * kept + c],
                  source[x][r * channels + expected[c]]);
    std::string a = pre + "mixer.A_log";
    int64_t n = config.mamba.dState;
    for (int64_t r = 0; r < kept; ++r)
      for (int64_t s = 0; s < n; ++s)
        EXPECT_EQ(pruned[a][r * n + s], source[a][expected[r] * n + s]);
    std::string bias = pre + "mixer.dt_proj.bias";
    for (int64_t r = 0; r < kept; ++r)
      EXPECT_EQ(pruned[bias][r], source[bias][expected[r]]);
  } else {
    std::string down = pre + "mlp.down_proj.weight";
    for (int64_t r = 0; r < d; ++r)
      for (int64_t c = 0; c < kept; ++c)
        EXPECT_EQ(pruned[down][r * kept + c],
                  source[down][r * channels + expected[c]]);
    std::string up = pre + "mlp.up_proj.weight";
    EXPECT_EQ(pruned.shapes[up], (std::vector<int64_t>{kept, d}));
  }
  EXPECT_EQ(p.parametersBefore - p.parametersAfter,
            static_cast<int64_t>(kDead.size()) * config.numLayers() *
                (mamba
                     ? 2 * d + config.mamba.dConv + 1 +
                           source.shapes[pre + "mixer.x_proj.weight"][0] +
                           config.mamba.dtRank + 1 + config.mamba.dState + 1 + d
                     : 3 * d));

  // The dead channels added zeros: the logits agree (exactly, in exact
  // arithmetic; the reference sums in double).
  std::vector<double> before = t.logits(config, source);
  std::vector<double> after = t.logits(p.config, pruned);
  ASSERT_EQ(before.size(), after.size());
  for (size_t i = 0; i < before.size(); ++i)
    EXPECT_NEAR(before[i], after[i], 1e-9) << "logit " << i;

  // One channel more: the weak one goes next.
  (mamba ? request.dInner : request.ffn) =
      static_cast<double>(kDead.size() + 1) / channels;
  PrunedCheckpoint more = t.prune(config, source, request);
  for (const auto &k : more.keptChannels) {
    EXPECT_EQ(k.size(), expected.size() - 1);
    EXPECT_EQ(std::count(k.begin(), k.end(), kWeak), 0);
  }
}

TEST_F(PruningTest, MambaLosesItsDeadChannelsAndKeepsItsLogits) {
  checkDeadChannelsGo(*this, kMamba);
}

TEST_F(PruningTest, LlamaLosesItsDeadChannelsAndKeepsItsLogits) {
  checkDeadChannelsGo(*this, kLlama);
}

TEST_F(PruningTest, KeepsTheSourceDtypeAndRenamesStateSpacesTensors) {
  ModelConfig config = parse(kMambaStateSpaces);
  PrunedCheckpoint p = prune(config, randomCheckpoint(config), {0, 0.25, 1},
                             weights::DType::BF16);
  EXPECT_EQ(p.config.mamba.layout, MambaConfig::Layout::HuggingFace);
  EXPECT_EQ(p.config.mamba.dInner, 24);
  std::set<std::string> names;
  for (const PrunedTensor &t : p.tensors) {
    EXPECT_EQ(t.dtype, weights::DType::BF16) << t.name;
    names.insert(t.name);
  }
  EXPECT_TRUE(names.count("backbone.embeddings.weight"));
  EXPECT_FALSE(names.count("backbone.embedding.weight"));

  // The config written for it is the Hugging Face layout with d_inner 24.
  llvm::Expected<std::string> text = prunedConfigJson(kMambaStateSpaces, p);
  ASSERT_TRUE(!!text) << llvm::toString(text.takeError());
  ModelConfig reread = parse(text->c_str());
  EXPECT_EQ(reread.mamba.layout, MambaConfig::Layout::HuggingFace);
  EXPECT_EQ(reread.mamba.dInner, 24);
  EXPECT_EQ(reread.mamba.vocabSize, 37);
}

TEST_F(PruningTest, ConfigKeepsEveryOtherKey) {
  ModelConfig config = parse(kLlama);
  PrunedCheckpoint p = prune(config, randomCheckpoint(config), {0.5, 0, 1});
  llvm::Expected<std::string> text = prunedConfigJson(kLlama, p);
  ASSERT_TRUE(!!text) << llvm::toString(text.takeError());
  EXPECT_NE(text->find("\"intermediate_size\": 12"), std::string::npos)
      << *text;
  EXPECT_NE(text->find("\"bos_token_id\": 1"), std::string::npos) << *text;
  EXPECT_EQ(parse(text->c_str()).llama.intermediateSize, 12);
}

TEST_F(PruningTest, WritesACheckpointAtomically) {
  ModelConfig config = parse(kMamba);
  TempDir source;
  std::ofstream(source.path + "/config.json") << kMamba;
  std::ofstream(source.path + "/tokenizer.json") << "{}";
  std::ofstream(source.path + "/README.md") << "not copied";
  PrunedCheckpoint p = prune(config, randomCheckpoint(config), {0, 0.5, 1});

  std::string out = dir.path + "/pruned";
  llvm::Error e = writePrunedCheckpoint(p, source.path, out);
  ASSERT_FALSE(!!e) << llvm::toString(std::move(e));
  EXPECT_TRUE(std::filesystem::exists(out + "/tokenizer.json"));
  EXPECT_FALSE(std::filesystem::exists(out + "/README.md"));
  llvm::Expected<ModelConfig> written = loadModelConfig(out);
  ASSERT_TRUE(!!written) << llvm::toString(written.takeError());
  EXPECT_EQ(written->mamba.dInner, 16);
  std::unique_ptr<weights::WeightFileSet> files;
  weights::Status s = weights::WeightFileSet::open(out, files);
  ASSERT_TRUE(s) << s.message();
  llvm::Error check = checkCheckpointWeights(*written, *files, out);
  EXPECT_FALSE(!!check) << llvm::toString(std::move(check));

  // A directory with something in it is refused; a source without a
  // config leaves nothing behind.
  llvm::Error full = writePrunedCheckpoint(p, source.path, out);
  ASSERT_TRUE(!!full);
  EXPECT_NE(llvm::toString(std::move(full)).find("not an empty directory"),
            std::string::npos);
  std::string other = dir.path + "/other";
  llvm::Error missing = writePrunedCheckpoint(p, dir.path + "/none", other);
  ASSERT_TRUE(!!missing);
  llvm::consumeError(std::move(missing));
  std::set<std::string> left;
  for (const auto &entry : std::filesystem::directory_iterator(dir.path))
    left.insert(entry.path().filename().string());
  EXPECT_EQ(left, (std::set<std::string>{"model.safetensors", "pruned"}));
}

} // namespace
