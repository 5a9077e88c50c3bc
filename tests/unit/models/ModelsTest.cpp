//===- ModelsTest.cpp - Model builders on the reference interpreter -===//
//
// Builds small Mamba and Llama models from config.json text, fills them with
// seeded random weights (published initialisations), and checks properties
// the math guarantees: prefill-then-decode equals a longer prefill, a batch
// equals its sequences run one by one, and the two Mamba checkpoint layouts
// give the same logits for the same weights. Also checks config parsing.
//
//===----------------------------------------------------------------------===//

#include "compiler/InitAll.h"
#include "compiler/Pipelines/Pipelines.h"
#include "compiler/Reference/ReferenceSession.h"
#include "models/CheckpointWeights.h"
#include "models/ModelBuilder.h"
#include "models/RandomWeights.h"
#include "runtime/src/weights/Safetensors.h"

#include "dialects/Coil/IR/CoilOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringMap.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include <sys/stat.h>
#include <unistd.h>

using namespace mlir;
using namespace mlir::coil;
using namespace mlir::coil::models;
using namespace mlir::coil::reference;

namespace {

constexpr const char *kMambaHF = R"json({
  "model_type": "mamba", "hidden_size": 16, "num_hidden_layers": 2,
  "vocab_size": 37, "state_size": 4, "expand": 2, "conv_kernel": 4,
  "time_step_rank": "auto", "layer_norm_epsilon": 1e-5,
  "use_bias": false, "use_conv_bias": true, "tie_word_embeddings": true,
  "hidden_act": "silu", "initializer_range": 0.1, "residual_in_fp32": true
})json";

/// The same model in the original state-spaces layout: reference defaults
/// for every ssm_cfg entry but d_state, no vocabulary padding.
constexpr const char *kMambaStateSpaces = R"json({
  "d_model": 16, "n_layer": 2, "vocab_size": 37, "pad_vocab_size_multiple": 1,
  "ssm_cfg": {"d_state": 4}, "rms_norm": true, "residual_in_fp32": true,
  "fused_add_norm": true, "tie_embeddings": true
})json";

/// Mamba-2: 4 heads of 8 channels in 2 groups of 4 states (Hugging Face
/// keys; keys that do not change the math are ignored).
constexpr const char *kMamba2 = R"json({
  "model_type": "mamba2", "hidden_size": 16, "num_hidden_layers": 2,
  "vocab_size": 37, "num_heads": 4, "head_dim": 8, "n_groups": 2,
  "state_size": 4, "expand": 2, "conv_kernel": 4, "chunk_size": 8,
  "layer_norm_epsilon": 1e-5, "use_bias": false, "use_conv_bias": true,
  "tie_word_embeddings": true, "hidden_act": "silu", "rms_norm": true,
  "residual_in_fp32": true, "initializer_range": 0.1,
  "time_step_rank": "auto", "time_step_limit": [0.0, 1e9]
})json";

/// Nemotron-H: every block kind, the Mamba-2 keys under config.json's
/// names, an infinite dt limit as Python writes it.
constexpr const char *kNemotronH = R"json({
  "model_type": "nemotron_h", "hidden_size": 16, "num_hidden_layers": 4,
  "vocab_size": 37, "hybrid_override_pattern": "M*-M",
  "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 4,
  "max_position_embeddings": 64, "intermediate_size": 24,
  "mamba_num_heads": 4, "mamba_head_dim": 8, "n_groups": 2,
  "ssm_state_size": 4, "conv_kernel": 4, "chunk_size": 8,
  "mlp_hidden_act": "relu2", "mamba_hidden_act": "silu",
  "attention_bias": false, "mlp_bias": false, "use_bias": false,
  "use_conv_bias": true, "residual_in_fp32": false,
  "time_step_limit": [0.0, Infinity], "tie_word_embeddings": false
})json";

constexpr const char *kLlama = R"json({
  "model_type": "llama", "hidden_size": 16, "intermediate_size": 24,
  "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 2,
  "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "vocab_size": 37,
  "max_position_embeddings": 64, "tie_word_embeddings": false,
  "hidden_act": "silu", "rope_scaling": null, "attention_bias": false
})json";

ModelConfig parse(const char *json) {
  llvm::Expected<ModelConfig> config = parseModelConfig(json, "config.json");
  if (!config) {
    ADD_FAILURE() << llvm::toString(config.takeError());
    return {};
  }
  return *config;
}

std::string parseError(const std::string &json) {
  llvm::Expected<ModelConfig> config = parseModelConfig(json, "config.json");
  if (config)
    return "";
  return llvm::toString(config.takeError());
}

/// Weights drawn from each tensor's published init; `rename` maps the names
/// a module asks for to the names the values were generated under.
WeightProvider randomProvider(const ModelConfig &config, uint64_t seed,
                              llvm::StringMap<std::string> rename = {}) {
  auto specs = std::make_shared<llvm::StringMap<WeightSpec>>();
  for (const WeightSpec &spec : weightSpecs(config))
    (*specs)[spec.name] = spec;
  return [specs, seed, rename](llvm::StringRef name,
                               RankedTensorType) -> llvm::Expected<Tensor> {
    std::string key = rename.count(name) ? rename.lookup(name) : name.str();
    auto it = specs->find(key);
    if (it == specs->end())
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "no weight " + key);
    std::vector<float> values = randomWeight(it->second, seed);
    return Tensor(it->second.shape,
                  std::vector<double>(values.begin(), values.end()));
  };
}

class ModelsTest : public ::testing::Test {
public:
  ModelsTest() {
    DialectRegistry registry;
    mlir::coil::registerAllDialects(registry);
    context.appendDialectRegistry(registry);
  }

  std::unique_ptr<ReferenceSession> session(ModuleOp module,
                                            WeightProvider weights,
                                            int64_t batch, int64_t capacity) {
    auto s =
        ReferenceSession::create(module, std::move(weights), batch, capacity);
    if (!s) {
      ADD_FAILURE() << llvm::toString(s.takeError());
      return nullptr;
    }
    return std::move(*s);
  }

  MLIRContext context;
};

/// Row `t` of sequence `b` of logits [B, T, V].
std::vector<double> row(const Tensor &logits, int64_t b, int64_t t) {
  int64_t seq = logits.shape[1], vocab = logits.shape[2];
  auto begin = logits.data.begin() + (b * seq + t) * vocab;
  return std::vector<double>(begin, begin + vocab);
}

void expectRowsNear(const std::vector<double> &a, const std::vector<double> &b,
                    double tol) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_NEAR(a[i], b[i], tol) << "logit " << i;
}

//===----------------------------------------------------------------------===//
// Config parsing
//===----------------------------------------------------------------------===//

TEST_F(ModelsTest, ParsesHuggingFaceMamba) {
  ModelConfig c = parse(kMambaHF);
  EXPECT_EQ(c.family, ModelConfig::Family::Mamba);
  EXPECT_EQ(c.mamba.dInner, 32);
  EXPECT_EQ(c.mamba.dtRank, 1); // ceil(16 / 16)
  EXPECT_EQ(c.mamba.dState, 4);
  EXPECT_TRUE(c.mamba.tieEmbeddings);
}

TEST_F(ModelsTest, ParsesStateSpacesMambaWithDefaults) {
  ModelConfig c = parse(R"json({"d_model": 768, "n_layer": 24,
                               "vocab_size": 50277, "ssm_cfg": {}})json");
  EXPECT_EQ(c.mamba.layout, MambaConfig::Layout::StateSpaces);
  EXPECT_EQ(c.mamba.vocabSize, 50280); // padded to a multiple of 8
  EXPECT_EQ(c.mamba.dState, 16);
  EXPECT_EQ(c.mamba.dConv, 4);
  EXPECT_EQ(c.mamba.dInner, 1536);
  EXPECT_EQ(c.mamba.dtRank, 48);
  EXPECT_TRUE(c.mamba.convBias);
  EXPECT_FALSE(c.mamba.linearBias);
}

TEST_F(ModelsTest, ParsesLlamaGroupedQuery) {
  ModelConfig c = parse(kLlama);
  EXPECT_EQ(c.family, ModelConfig::Family::Llama);
  EXPECT_EQ(c.llama.headDim, 4);
  EXPECT_EQ(c.llama.numKvHeads, 2);
}

TEST_F(ModelsTest, ParsesMamba2) {
  ModelConfig c = parse(kMamba2);
  EXPECT_EQ(c.family, ModelConfig::Family::Mamba2);
  EXPECT_EQ(c.familyName(), "mamba2");
  EXPECT_EQ(c.mamba2.dInner, 32);
  EXPECT_EQ(c.mamba2.convDim(), 32 + 2 * 2 * 4);
  EXPECT_EQ(c.mamba2.projectionSize(), 32 + 48 + 4); // z, x B C, dt
  EXPECT_TRUE(c.mamba2.hasDtLimit());
  EXPECT_EQ(c.mamba2.dtLimitHigh, 1e9);
  EXPECT_TRUE(c.mamba2.tieEmbeddings);
  // Hugging Face's defaults: 128 heads of 64, 8 groups of 128 states, no
  // dt limit, an untied head.
  ModelConfig d = parse(R"({"model_type": "mamba2", "hidden_size": 4096,
      "num_hidden_layers": 1, "vocab_size": 8})");
  EXPECT_EQ(d.mamba2.numHeads, 128);
  EXPECT_EQ(d.mamba2.headDim, 64);
  EXPECT_EQ(d.mamba2.numGroups, 8);
  EXPECT_EQ(d.mamba2.stateSize, 128);
  EXPECT_EQ(d.mamba2.chunkSize, 256);
  EXPECT_FALSE(d.mamba2.hasDtLimit());
  EXPECT_FALSE(d.mamba2.tieEmbeddings);
  // The config written for a preset reads back the same.
  ModelConfig back = parse(toConfigJson(c).c_str());
  EXPECT_EQ(back.mamba2.projectionSize(), c.mamba2.projectionSize());
  EXPECT_EQ(back.mamba2.dtLimitHigh, c.mamba2.dtLimitHigh);
  EXPECT_EQ(back.mamba2.numGroups, 2);
}

TEST_F(ModelsTest, RefusesBadMamba2Configs) {
  std::string base = R"("model_type": "mamba2", "hidden_size": 16,
      "num_hidden_layers": 1, "vocab_size": 8, "num_heads": 4,
      "head_dim": 8, "state_size": 4)";
  auto error = [&](const std::string &extra) {
    return parseError("{" + base + ", " + extra + "}");
  };
  EXPECT_NE(error(R"("n_groups": 3)")
                .find("key 'n_groups' is 3, which does not divide num_heads 4"),
            std::string::npos);
  EXPECT_NE(error(R"("n_groups": 1, "chunk_size": 0)")
                .find("config.json: key 'chunk_size' must be an integer >= 1"),
            std::string::npos);
  EXPECT_NE(error(R"("n_groups": 1, "expand": 3)")
                .find("num_heads x head_dim is 4 x 8 = 32, but expand x "
                      "hidden_size is 3 x 16 = 48"),
            std::string::npos);
  EXPECT_NE(error(R"("n_groups": 1, "rms_norm": false)")
                .find("key 'rms_norm' is false"),
            std::string::npos);
  EXPECT_NE(error(R"("n_groups": 1, "norm_before_gate": true)")
                .find("key 'norm_before_gate' is true"),
            std::string::npos);
  EXPECT_NE(error(R"("n_groups": 1, "hidden_act": "gelu")")
                .find("key 'hidden_act' is \"gelu\""),
            std::string::npos);
  EXPECT_NE(error(R"("n_groups": 1, "time_step_limit": [0.5, 0.1])")
                .find("key 'time_step_limit' must be [low, high]"),
            std::string::npos);
  EXPECT_NE(parseError(R"({"model_type": "mamba2", "hidden_size": 16,
      "num_hidden_layers": 1, "vocab_size": 8, "num_heads": 0})")
                .find("key 'num_heads' must be an integer >= 1"),
            std::string::npos);
}

TEST_F(ModelsTest, ParsesNemotronH) {
  ModelConfig c = parse(kNemotronH);
  EXPECT_EQ(c.family, ModelConfig::Family::NemotronH);
  EXPECT_EQ(c.familyName(), "nemotron_h");
  const NemotronHConfig &n = c.nemotronH;
  EXPECT_EQ(n.pattern, "M*-M");
  EXPECT_EQ(n.count('M'), 2);
  EXPECT_EQ(n.mamba.dInner, 32); // mamba_num_heads x mamba_head_dim
  EXPECT_EQ(n.mamba.numGroups, 2);
  EXPECT_EQ(n.mamba.hiddenSize, 16);
  EXPECT_FALSE(n.mamba.hasDtLimit()); // [0, Infinity]: no limit
  EXPECT_EQ(n.headDim, 4);
  // The constructor's names are read too, and the config written for a
  // preset reads back the same.
  ModelConfig k = parse(R"({"model_type": "nemotron_h", "hidden_size": 16,
      "num_hidden_layers": 2, "vocab_size": 8, "hybrid_override_pattern": "M-",
      "mamba_num_heads": 4, "mamba_head_dim": 8, "mamba_n_groups": 4,
      "ssm_state_size": 4, "mamba_d_conv": 3, "mamba_dt_limit": [0.0, 0.5]})");
  EXPECT_EQ(k.nemotronH.mamba.numGroups, 4);
  EXPECT_EQ(k.nemotronH.mamba.convKernel, 3);
  EXPECT_EQ(k.nemotronH.mamba.dtLimitHigh, 0.5);
  ModelConfig back = parse(toConfigJson(c).c_str());
  EXPECT_EQ(back.nemotronH.pattern, n.pattern);
  EXPECT_EQ(back.nemotronH.mamba.projectionSize(), n.mamba.projectionSize());
  EXPECT_EQ(back.nemotronH.numKvHeads, 2);
}

TEST_F(ModelsTest, RefusesBadNemotronHConfigs) {
  auto error = [&](const std::string &pattern, const std::string &extra) {
    return parseError(R"({"model_type": "nemotron_h", "hidden_size": 16,
        "num_hidden_layers": 3, "vocab_size": 8, "num_attention_heads": 4,
        "num_key_value_heads": 2, "mamba_num_heads": 4, "mamba_head_dim": 8,
        "n_groups": 2, "ssm_state_size": 4, "hybrid_override_pattern": ")" +
                      pattern + "\"" + extra + "}");
  };
  EXPECT_EQ(error("M*-", ""), "");
  EXPECT_NE(error("M*", "").find("key 'hybrid_override_pattern' has 2 blocks "
                                 "but num_hidden_layers is 3"),
            std::string::npos);
  EXPECT_NE(error("MX-", "").find("has 'X' at layer 1; expected 'M' "
                                  "(Mamba-2), '*' (attention) or '-' (MLP)"),
            std::string::npos);
  EXPECT_NE(error("ME-", "").find("mixture-of-experts block ('E') at layer 1"),
            std::string::npos);
  EXPECT_NE(error("M*-", R"(, "mlp_hidden_act": "silu")")
                .find("key 'mlp_hidden_act' is \"silu\"; only \"relu2\""),
            std::string::npos);
  EXPECT_NE(error("M*-", R"(, "attention_bias": true)")
                .find("key 'attention_bias' is true"),
            std::string::npos);
  EXPECT_NE(parseError(R"({"model_type": "nemotron_h", "hidden_size": 16,
      "num_hidden_layers": 1, "vocab_size": 8, "num_attention_heads": 4,
      "num_key_value_heads": 3, "hybrid_override_pattern": "*"})")
                .find("num_attention_heads 4 is not a multiple of "
                      "num_key_value_heads 3"),
            std::string::npos);
  EXPECT_NE(parseError(R"({"model_type": "nemotron_h", "hidden_size": 16,
      "num_hidden_layers": 1, "vocab_size": 8, "mamba_num_heads": 4,
      "n_groups": 3, "hybrid_override_pattern": "M"})")
                .find("key 'n_groups' is 3, which does not divide "
                      "mamba_num_heads 4"),
            std::string::npos);
  EXPECT_NE(parseError(R"({"model_type": "nemotron_h", "hidden_size": 16,
      "num_hidden_layers": 1, "vocab_size": 8, "hybrid_override_pattern": "M",
      "chunk_size": 0})")
                .find("key 'chunk_size' must be an integer >= 1"),
            std::string::npos);
}

TEST_F(ModelsTest, RefusesBadConfigs) {
  EXPECT_NE(parseError(R"({"model_type": "gpt2"})")
                .find("unsupported model_type \"gpt2\""),
            std::string::npos);
  EXPECT_NE(parseError(R"({"model_type": "mamba", "hidden_size": 16})")
                .find("missing required key 'num_hidden_layers'"),
            std::string::npos);
  EXPECT_NE(parseError(R"({"model_type": "llama", "hidden_size": 16,
      "intermediate_size": 8, "num_attention_heads": 2, "num_hidden_layers": 1,
      "vocab_size": 8, "rope_scaling": {"type": "linear", "factor": 2.0}})")
                .find("key 'rope_scaling' is set"),
            std::string::npos);
  EXPECT_NE(parseError(R"({"model_type": "llama", "hidden_size": 16,
      "intermediate_size": 8, "num_attention_heads": 4,
      "num_key_value_heads": 3, "num_hidden_layers": 1, "vocab_size": 8})")
                .find("not a multiple of num_key_value_heads 3"),
            std::string::npos);
  EXPECT_NE(parseError(R"({"model_type": "mamba", "hidden_size": -4,
      "num_hidden_layers": 1, "vocab_size": 8})")
                .find("key 'hidden_size' must be an integer >= 1"),
            std::string::npos);
  EXPECT_NE(parseError("{not json").find("config.json: invalid JSON"),
            std::string::npos);
  EXPECT_NE(parseError(R"({"d_model": 8, "n_layer": 1, "vocab_size": 8,
      "ssm_cfg": {"layer": "Mamba2"}})")
                .find("only Mamba1 is supported"),
            std::string::npos);
}

TEST_F(ModelsTest, RefusesStructurallyBadJson) {
  // llvm::json would recurse once per level; the check before it does not.
  std::string deep = std::string(50000, '[') + std::string(50000, ']');
  EXPECT_NE(parseError(deep).find("config.json: nested deeper than 64 levels"),
            std::string::npos);
  EXPECT_NE(parseError(R"({"model_type": "mamba", "hidden_size": 16,
      "hidden_size": 8, "num_hidden_layers": 1, "vocab_size": 8})")
                .find("key 'hidden_size' appears twice in one object"),
            std::string::npos);
}

TEST_F(ModelsTest, RefusesAbsurdAndInconsistentSizes) {
  EXPECT_NE(parseError(R"({"model_type": "mamba", "hidden_size": 16,
      "num_hidden_layers": 100000, "vocab_size": 8})")
                .find("key 'num_hidden_layers' is 100000; Coil accepts at "
                      "most 1024"),
            std::string::npos);
  EXPECT_NE(parseError(R"({"model_type": "llama", "hidden_size": 16,
      "intermediate_size": 8, "num_attention_heads": 2, "num_hidden_layers": 1,
      "vocab_size": 1099511627776})")
                .find("key 'vocab_size' is 1099511627776"),
            std::string::npos);
  EXPECT_NE(parseError(R"({"d_model": 9223372036854775807, "n_layer": 1,
      "vocab_size": 8})")
                .find("key 'd_model' is 9223372036854775807"),
            std::string::npos);
}

TEST_F(ModelsTest, MambaIntermediateSizeWinsOverExpand) {
  // As in Hugging Face's MambaConfig: a pruned model states its d_inner.
  ModelConfig c = parse(R"({"model_type": "mamba", "hidden_size": 16,
      "num_hidden_layers": 2, "vocab_size": 8, "expand": 2,
      "intermediate_size": 24})");
  EXPECT_EQ(c.mamba.dInner, 24);
  EXPECT_EQ(parse(R"({"model_type": "mamba", "hidden_size": 16,
      "num_hidden_layers": 2, "vocab_size": 8, "expand": 3})")
                .mamba.dInner,
            48);
}

/// A temporary folder, removed at the end of the test.
struct TempDir {
  std::string path;
  TempDir() {
    char pattern[] = "/tmp/coil-models-XXXXXX";
    path = ::mkdtemp(pattern) ? pattern : "";
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

TEST_F(ModelsTest, LoadRefusesFilesThatAreNotRegular) {
  TempDir dir;
  ASSERT_FALSE(dir.path.empty());
  std::string fifo = dir.path + "/config.json";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string &input : {dir.path, fifo, std::string("/dev/zero")}) {
    llvm::Expected<ModelConfig> config = loadModelConfig(input);
    ASSERT_FALSE(!!config) << input;
    std::string message = llvm::toString(config.takeError());
    EXPECT_NE(message.find("not a regular file"), std::string::npos) << message;
  }
}

/// Opens the random weights of `writer` and checks them against `config`.
std::string checkpointError(const ModelConfig &writer,
                            const ModelConfig &config) {
  TempDir dir;
  std::string file = dir.path + "/model.safetensors";
  if (llvm::Error e = writeRandomWeights(writer, 1, file))
    return "cannot write: " + llvm::toString(std::move(e));
  std::unique_ptr<::coil::weights::WeightFileSet> files;
  if (auto s = ::coil::weights::WeightFileSet::open(file, files); !s)
    return "cannot open: " + s.message();
  if (llvm::Error e = checkCheckpointWeights(config, *files, dir.path))
    return llvm::toString(std::move(e));
  return "";
}

TEST_F(ModelsTest, CheckpointWeightsMustMatchTheConfig) {
  for (const char *json : {kMambaHF, kMambaStateSpaces, kLlama}) {
    ModelConfig config = parse(json);
    EXPECT_EQ(checkpointError(config, config), "");

    ModelConfig deeper = config;
    ModelConfig wider = config;
    if (config.family == ModelConfig::Family::Llama) {
      deeper.llama.numLayers = 3;
      wider.llama.intermediateSize = 32;
    } else {
      deeper.mamba.numLayers = 3;
      wider.mamba.dState = 8;
    }
    std::string missing = checkpointError(config, deeper);
    EXPECT_NE(missing.find("layers.2."), std::string::npos) << missing;
    EXPECT_NE(missing.find("is missing, but the config implies it"),
              std::string::npos)
        << missing;
    std::string extra = checkpointError(deeper, config);
    EXPECT_NE(extra.find("layers.2."), std::string::npos) << extra;
    EXPECT_NE(extra.find("is not a parameter of the model"), std::string::npos)
        << extra;
    std::string shape = checkpointError(config, wider);
    EXPECT_NE(shape.find("but the config implies"), std::string::npos) << shape;
    EXPECT_NE(shape.find(config.family == ModelConfig::Family::Llama
                             ? "intermediate_size = 32"
                             : "= 8"),
              std::string::npos)
        << shape;
  }
}

//===----------------------------------------------------------------------===//
// Built modules
//===----------------------------------------------------------------------===//

TEST_F(ModelsTest, BuiltModulesVerifyAndReadExactlyTheListedWeights) {
  for (const char *json :
       {kMambaHF, kMambaStateSpaces, kMamba2, kLlama, kNemotronH}) {
    ModelConfig config = parse(json);
    OwningOpRef<ModuleOp> module = buildModel(context, config);
    ASSERT_TRUE(succeeded(verify(*module)));
    std::set<std::string> read, listed;
    module->walk([&](WeightOp op) {
      read.insert(op.getName().str());
      for (const WeightSpec &spec : weightSpecs(config))
        if (spec.name == op.getName())
          EXPECT_EQ(llvm::ArrayRef<int64_t>(spec.shape),
                    op.getType().getShape())
              << spec.name;
    });
    for (const WeightSpec &spec : weightSpecs(config))
      listed.insert(spec.name);
    EXPECT_EQ(read, listed);
  }
}

/// Prefill of T tokens then one decode step gives the same logits for the
/// last token as a prefill of T + 1 tokens.
void checkPrefillThenDecode(const char *json, ModelsTest *self) {
  ModelConfig config = parse(json);
  OwningOpRef<ModuleOp> module = buildModel(self->context, config);
  std::vector<int64_t> prompt{3, 17, 0, 36, 5, 9, 11};
  auto longer = self->session(*module, randomProvider(config, 7), 1, 16);
  auto split = self->session(*module, randomProvider(config, 7), 1, 16);
  ASSERT_TRUE(longer && split);
  llvm::Expected<Tensor> full = longer->prefillAll({prompt});
  ASSERT_TRUE(!!full) << llvm::toString(full.takeError());
  std::vector<int64_t> head(prompt.begin(), prompt.end() - 1);
  llvm::Expected<Tensor> first = split->prefillAll({head});
  ASSERT_TRUE(!!first) << llvm::toString(first.takeError());
  llvm::Expected<Tensor> step = split->decode({prompt.back()});
  ASSERT_TRUE(!!step) << llvm::toString(step.takeError());
  // Each position goes through the same ops in the same order either way,
  // so the logits agree to f32 rounding (|logits| < 1 here).
  for (int64_t t = 0; t + 1 < static_cast<int64_t>(prompt.size()); ++t)
    expectRowsNear(row(*first, 0, t), row(*full, 0, t), 1e-6);
  expectRowsNear(row(*step, 0, 0), row(*full, 0, prompt.size() - 1), 1e-6);
  EXPECT_EQ(split->length(), longer->length());
}

TEST_F(ModelsTest, MambaPrefillThenDecodeEqualsLongerPrefill) {
  checkPrefillThenDecode(kMambaHF, this);
}

TEST_F(ModelsTest, Mamba2PrefillThenDecodeEqualsLongerPrefill) {
  checkPrefillThenDecode(kMamba2, this);
}

TEST_F(ModelsTest, NemotronHPrefillThenDecodeEqualsLongerPrefill) {
  checkPrefillThenDecode(kNemotronH, this);
}

TEST_F(ModelsTest, LlamaPrefillThenDecodeEqualsLongerPrefill) {
  checkPrefillThenDecode(kLlama, this);
}

/// A batch of different prompts gives, row for row, the logits of running
/// each prompt alone, through prefill and three decode steps.
void checkBatchEqualsSingles(const char *json, ModelsTest *self) {
  ModelConfig config = parse(json);
  OwningOpRef<ModuleOp> module = buildModel(self->context, config);
  std::vector<std::vector<int64_t>> prompts{
      {1, 2, 3, 4}, {30, 20, 10, 0}, {7, 7, 7, 7}};
  auto batched = self->session(*module, randomProvider(config, 3), 3, 8);
  ASSERT_TRUE(batched);
  llvm::Expected<Tensor> all = batched->prefillAll(prompts);
  ASSERT_TRUE(!!all) << llvm::toString(all.takeError());
  std::vector<Tensor> steps;
  for (int64_t s = 0; s < 3; ++s) {
    llvm::Expected<Tensor> step = batched->decode({int64_t(s), 5, 36});
    ASSERT_TRUE(!!step) << llvm::toString(step.takeError());
    steps.push_back(*step);
  }
  for (int64_t b = 0; b < 3; ++b) {
    SCOPED_TRACE("sequence " + std::to_string(b));
    auto single = self->session(*module, randomProvider(config, 3), 1, 8);
    ASSERT_TRUE(single);
    llvm::Expected<Tensor> one = single->prefillAll({prompts[b]});
    ASSERT_TRUE(!!one);
    for (int64_t t = 0; t < 4; ++t)
      expectRowsNear(row(*one, 0, t), row(*all, b, t), 1e-6);
    const int64_t next[3][3] = {{0, 1, 2}, {5, 5, 5}, {36, 36, 36}};
    for (int64_t s = 0; s < 3; ++s) {
      llvm::Expected<Tensor> step = single->decode({next[b][s]});
      ASSERT_TRUE(!!step);
      expectRowsNear(row(*step, 0, 0), row(steps[s], b, 0), 1e-6);
    }
  }
}

TEST_F(ModelsTest, MambaBatchEqualsSequencesOneByOne) {
  checkBatchEqualsSingles(kMambaHF, this);
}

TEST_F(ModelsTest, Mamba2BatchEqualsSequencesOneByOne) {
  checkBatchEqualsSingles(kMamba2, this);
}

TEST_F(ModelsTest, NemotronHBatchEqualsSequencesOneByOne) {
  checkBatchEqualsSingles(kNemotronH, this);
}

TEST_F(ModelsTest, LlamaBatchEqualsSequencesOneByOne) {
  checkBatchEqualsSingles(kLlama, this);
}

/// @prefill's logits are exactly the last row of @prefill_all's: the final
/// norm and the LM head compute each row alone.
void checkPrefillIsLastPosition(const char *json, ModelsTest *self) {
  ModelConfig config = parse(json);
  OwningOpRef<ModuleOp> module = buildModel(self->context, config);
  std::vector<std::vector<int64_t>> prompts{{1, 2, 3, 4, 5}, {9, 8, 7, 6, 5}};
  auto all = self->session(*module, randomProvider(config, 5), 2, 8);
  auto last = self->session(*module, randomProvider(config, 5), 2, 8);
  ASSERT_TRUE(all && last);
  llvm::Expected<Tensor> every = all->prefillAll(prompts);
  llvm::Expected<Tensor> one = last->prefill(prompts);
  ASSERT_TRUE(!!every && !!one);
  EXPECT_EQ(one->shape, std::vector<int64_t>({2, 1, config.vocabSize()}));
  for (int64_t b = 0; b < 2; ++b)
    expectRowsNear(row(*one, b, 0), row(*every, b, 4), 0.0);
  EXPECT_EQ(last->length(), all->length());
}

TEST_F(ModelsTest, MambaPrefillComputesTheLastPosition) {
  checkPrefillIsLastPosition(kMambaHF, this);
}

TEST_F(ModelsTest, Mamba2PrefillComputesTheLastPosition) {
  checkPrefillIsLastPosition(kMamba2, this);
}

TEST_F(ModelsTest, NemotronHPrefillComputesTheLastPosition) {
  checkPrefillIsLastPosition(kNemotronH, this);
}

TEST_F(ModelsTest, LlamaPrefillComputesTheLastPosition) {
  checkPrefillIsLastPosition(kLlama, this);
}

TEST_F(ModelsTest, MambaLayoutsGiveTheSameLogits) {
  ModelConfig hf = parse(kMambaHF), ss = parse(kMambaStateSpaces);
  OwningOpRef<ModuleOp> hfModule = buildModel(context, hf);
  OwningOpRef<ModuleOp> ssModule = buildModel(context, ss);
  llvm::StringMap<std::string> rename;
  rename["backbone.embedding.weight"] = "backbone.embeddings.weight";
  auto a = session(*hfModule, randomProvider(hf, 11), 1, 8);
  auto b = session(*ssModule, randomProvider(hf, 11, rename), 1, 8);
  ASSERT_TRUE(a && b);
  llvm::Expected<Tensor> la = a->prefill({{4, 8, 15, 16, 23}});
  llvm::Expected<Tensor> lb = b->prefill({{4, 8, 15, 16, 23}});
  ASSERT_TRUE(la && lb);
  EXPECT_EQ(la->data, lb->data);
}

/// Fusion and outlining do not change the numbers: the interpreter runs the
/// kernel functions through func.call and gets bit-identical logits.
void checkKernelsPipelinePreservesLogits(const char *json, ModelsTest *self) {
  ModelConfig config = parse(json);
  OwningOpRef<ModuleOp> plain = buildModel(self->context, config);
  OwningOpRef<ModuleOp> fused = buildModel(self->context, config);
  PassManager pm(&self->context);
  buildKernelsPipeline(pm);
  ASSERT_TRUE(succeeded(pm.run(*fused)));
  int kernels = 0;
  fused->walk([&](func::FuncOp fn) { kernels += fn->hasAttr("coil.kernel"); });
  EXPECT_GT(kernels, 4);
  auto a = self->session(*plain, randomProvider(config, 5), 2, 8);
  auto b = self->session(*fused, randomProvider(config, 5), 2, 8);
  ASSERT_TRUE(a && b);
  std::vector<std::vector<int64_t>> prompts{{1, 2, 3}, {4, 5, 6}};
  llvm::Expected<Tensor> la = a->prefill(prompts), lb = b->prefill(prompts);
  ASSERT_TRUE(la && lb);
  EXPECT_EQ(la->data, lb->data);
  llvm::Expected<Tensor> da = a->decode({7, 8}), db = b->decode({7, 8});
  ASSERT_TRUE(da && db);
  EXPECT_EQ(da->data, db->data);
}

TEST_F(ModelsTest, MambaKernelsPipelinePreservesLogits) {
  checkKernelsPipelinePreservesLogits(kMambaHF, this);
}

TEST_F(ModelsTest, Mamba2KernelsPipelinePreservesLogits) {
  checkKernelsPipelinePreservesLogits(kMamba2, this);
}

TEST_F(ModelsTest, NemotronHKernelsPipelinePreservesLogits) {
  checkKernelsPipelinePreservesLogits(kNemotronH, this);
}

TEST_F(ModelsTest, LlamaKernelsPipelinePreservesLogits) {
  checkKernelsPipelinePreservesLogits(kLlama, this);
}

TEST_F(ModelsTest, SessionRejectsBadTokensAndOverflow) {
  ModelConfig config = parse(kLlama);
  OwningOpRef<ModuleOp> module = buildModel(context, config);
  auto s = session(*module, randomProvider(config, 1), 1, 4);
  ASSERT_TRUE(s);
  llvm::Expected<Tensor> bad = s->prefill({{1, 37}});
  ASSERT_FALSE(bad);
  EXPECT_NE(llvm::toString(bad.takeError()).find("token id 37 is out of range"),
            std::string::npos);
  llvm::Expected<Tensor> empty = s->prefill({{}});
  ASSERT_FALSE(empty);
  EXPECT_NE(llvm::toString(empty.takeError()).find("empty prompt"),
            std::string::npos);
  llvm::Expected<Tensor> tooLong = s->prefill({{1, 2, 3, 4, 5}});
  ASSERT_FALSE(tooLong);
  EXPECT_NE(
      llvm::toString(tooLong.takeError()).find("context capacity exceeded"),
      std::string::npos);
}

TEST_F(ModelsTest, Mamba2RandomWeightsFollowPublishedInits) {
  ModelConfig config = parse(kMamba2);
  for (const WeightSpec &spec : weightSpecs(config)) {
    std::vector<float> v = randomWeight(spec, 42);
    if (spec.name.find("A_log") != std::string::npos) {
      ASSERT_EQ(v.size(), 4u); // one per head: log 1 .. log H
      for (int h = 0; h < 4; ++h)
        EXPECT_FLOAT_EQ(v[h], std::log(static_cast<float>(h + 1)));
    } else if (spec.name.find("dt_bias") != std::string::npos) {
      for (float b : v) {
        double dt = std::log1p(std::exp(static_cast<double>(b)));
        EXPECT_GE(dt, 1e-3 * 0.999);
        EXPECT_LE(dt, 0.1 * 1.001);
      }
    } else if (spec.name.find("norm.weight") != std::string::npos ||
               spec.name.find(".D") != std::string::npos) {
      for (float d : v)
        EXPECT_EQ(d, 1.0f) << spec.name;
    }
  }
}

TEST_F(ModelsTest, RandomWeightsFollowPublishedInits) {
  ModelConfig config = parse(kMambaHF);
  for (const WeightSpec &spec : weightSpecs(config)) {
    std::vector<float> v = randomWeight(spec, 42);
    EXPECT_EQ(v, randomWeight(spec, 42)) << "not deterministic: " << spec.name;
    if (spec.name.find("A_log") != std::string::npos) {
      EXPECT_FLOAT_EQ(v[0], 0.0f);           // log 1
      EXPECT_FLOAT_EQ(v[3], std::log(4.0f)); // log N, N = 4
      EXPECT_FLOAT_EQ(v[4], 0.0f);           // next channel
    } else if (spec.name.find("dt_proj.bias") != std::string::npos) {
      for (float b : v) {
        double dt = std::log1p(std::exp(static_cast<double>(b)));
        EXPECT_GE(dt, 1e-3 * 0.999);
        EXPECT_LE(dt, 0.1 * 1.001);
      }
    } else if (spec.name.find(".D") != std::string::npos) {
      for (float d : v)
        EXPECT_EQ(d, 1.0f);
    }
  }
}

} // namespace
