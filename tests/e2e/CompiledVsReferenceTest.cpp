//===- CompiledVsReferenceTest.cpp - Native code == reference ---*- C++ -*-===//
//
// Compiles small Mamba, Mamba-2, Llama and Nemotron-H models to shared
// libraries with the full pipeline, runs them through the runtime's C API,
// and compares every logit with the reference interpreter on the same
// seeded weights: prompts of T = 1, 2, 7, 64 and 300 tokens at batch 1 and 3
// (every position's logits, and the default last position's), then 20
// decode steps; one of 4096 tokens (1000 for Mamba-2 and the hybrid) then 3
// decode steps; a prompt fed in three parts (21, 45, 1 tokens); 32
// sequences at once (prefill and decode); a sequence's state saved,
// advanced and restored; kernels run on 2 threads, and 1, 2 or 3 threads
// give bit-identical logits. Every test runs for each micro-kernel family
// the host can execute: x86-64 (SSE), x86-64-v3 (AVX2 + FMA) and x86-64-v4
// (AVX-512); the others are skipped, never passed. The shapes are awkward
// for every register tile: vocabulary 61, Mamba's 72 inner channels (whole
// blocks of 16 or 8 channels for the scan and the conv, then leftovers on
// AVX-512), x_proj's 35 outputs, dt_proj's K = 3, FFN 96, a Llama whose
// head dimension (24) is not whole vectors, Mamba-2 heads of 12 channels
// and 24 or 8 states.
//
// Tolerance. The reference computes in double and rounds each op's result to
// f32; the compiled code computes in f32 with reassociated reductions (LLVM
// vectorises them) and polynomial approximations of exp/log1p (about 1-3 ulp).
// Each op therefore differs by a few f32 ulps relative to the magnitudes it
// sums; through 2 layers, a 300-token softmax or scan, and the LM head the
// measured difference is at most 2e-6 of the row's largest logit (typically
// 1e-7). The test allows 2e-5 of the row's largest magnitude (plus 1e-7
// absolute): 10x the worst observed, yet far below what a wrong index, a
// missing term or an off-by-one in the recurrence produces (>= 1e-2).
//
//===----------------------------------------------------------------------===//

#include "compiler/Driver/Compile.h"
#include "compiler/InitAll.h"
#include "compiler/Reference/ReferenceSession.h"
#include "models/ModelBuilder.h"
#include "models/QuantizedWeights.h"
#include "models/RandomWeights.h"
#include "runtime/src/weights/Safetensors.h"

#include "coil/coil.h"
#include "tests/e2e/CoilStatus.h"
#include "tests/e2e/HostTargets.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

using namespace mlir;
using namespace mlir::coil;
namespace weights = ::coil::weights;

namespace {

constexpr const char *kMamba = R"json({
  "model_type": "mamba", "hidden_size": 36, "num_hidden_layers": 2,
  "vocab_size": 61, "state_size": 16, "expand": 2, "conv_kernel": 4,
  "time_step_rank": "auto", "tie_word_embeddings": true
})json";

constexpr const char *kLlama = R"json({
  "model_type": "llama", "hidden_size": 64, "intermediate_size": 96,
  "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 2,
  "vocab_size": 61, "max_position_embeddings": 8192, "rms_norm_eps": 1e-5,
  "tie_word_embeddings": false
})json";

/// Head dimension 24: whole and part vectors of every ISA (16 + 8 lanes on
/// AVX-512), three query heads sharing one kv head.
constexpr const char *kLlamaOddHeads = R"json({
  "model_type": "llama", "hidden_size": 72, "intermediate_size": 96,
  "num_attention_heads": 3, "num_key_value_heads": 1, "num_hidden_layers": 1,
  "vocab_size": 61, "max_position_embeddings": 512, "rms_norm_eps": 1e-5,
  "tie_word_embeddings": false
})json";

/// Mamba-2: 6 heads of 12 channels, 2 groups of 24 states (3 heads each),
/// a 168-channel conv over x, B and C, in_proj's 246 outputs; the gated
/// norm in groups of 36.
constexpr const char *kMamba2 = R"json({
  "model_type": "mamba2", "hidden_size": 36, "num_hidden_layers": 2,
  "vocab_size": 61, "num_heads": 6, "head_dim": 12, "n_groups": 2,
  "state_size": 24, "expand": 2, "conv_kernel": 4, "chunk_size": 16,
  "tie_word_embeddings": false
})json";

/// Mamba-2 with one group (the gated norm over all of d_inner, folded into
/// out_proj), dt limited to [0.004, 0.05] and biased linears.
constexpr const char *kMamba2OneGroup = R"json({
  "model_type": "mamba2", "hidden_size": 32, "num_hidden_layers": 1,
  "vocab_size": 61, "num_heads": 4, "head_dim": 16, "n_groups": 1,
  "state_size": 16, "expand": 2, "conv_kernel": 3, "use_bias": true,
  "time_step_limit": [0.004, 0.05], "tie_word_embeddings": true
})json";

/// A Nemotron-H hybrid: Mamba-2 blocks (6 heads of 12 channels, 3 groups
/// of 8 states), attention without rotary embedding (3 heads of 12 sharing
/// one kv head) and relu^2 MLPs (40 wide), each pre-norm residual.
constexpr const char *kNemotronH = R"json({
  "model_type": "nemotron_h", "hidden_size": 36, "num_hidden_layers": 5,
  "vocab_size": 61, "hybrid_override_pattern": "M*-M-",
  "num_attention_heads": 3, "num_key_value_heads": 1, "head_dim": 12,
  "max_position_embeddings": 8192, "intermediate_size": 40,
  "mamba_num_heads": 6, "mamba_head_dim": 12, "n_groups": 3,
  "ssm_state_size": 8, "conv_kernel": 4, "chunk_size": 32,
  "mlp_hidden_act": "relu2", "tie_word_embeddings": false
})json";

constexpr int64_t kMaxBatch = 3, kMaxContext = 330;

using ::coil::testing::hostRuns;

class CompiledVsReferenceTest : public ::testing::TestWithParam<const char *> {
protected:
  void SetUp() override {
    std::string missing;
    if (!hostRuns(GetParam(), missing))
      GTEST_SKIP() << "this CPU cannot run code for " << GetParam()
                   << " (lacks " << missing << ")";
    DialectRegistry registry;
    registerAllDialects(registry);
    context.appendDialectRegistry(registry);
    context.loadAllAvailableDialects();
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("coil-e2e", dir));
  }

  void TearDown() override {
    if (session)
      coil_session_release(session);
    if (lastSession)
      coil_session_release(lastSession);
    if (model)
      coil_model_release(model);
    if (files)
      coil_weights_release(files);
    llvm::sys::fs::remove_directories(dir);
  }

  /// Compiles `json`'s model with its matrices stored as `dtype`, writes
  /// its seeded weights as `fileDtype` (the runtime and the reference
  /// round them alike to what the model stores), opens a session whose
  /// kernels run on `threads` threads.
  void compile(const char *json, int32_t threads = 2,
               WeightDtype dtype = WeightDtype::F32,
               weights::DType fileDtype = weights::DType::F32) {
    llvm::Expected<models::ModelConfig> parsed =
        models::parseModelConfig(json, "config.json");
    ASSERT_TRUE(!!parsed) << llvm::toString(parsed.takeError());
    config = *parsed;
    reference = models::buildModel(context, config);
    OwningOpRef<ModuleOp> compiled = models::buildModel(context, config);
    for (ModuleOp m : {*reference, *compiled}) {
      llvm::Error narrowed = setWeightDtype(m, dtype);
      ASSERT_FALSE(!!narrowed) << llvm::toString(std::move(narrowed));
    }
    std::string so = (dir + "/model.so").str();
    llvm::Error e = compileModel(*compiled, Stage::SharedLibrary, so, nullptr,
                                 CompileOptions{false, GetParam()});
    ASSERT_FALSE(!!e) << llvm::toString(std::move(e));

    std::vector<std::vector<float>> values;
    std::vector<weights::TensorToWrite> tensors;
    std::vector<models::WeightSpec> specs = models::weightSpecs(config);
    values.reserve(specs.size());
    std::vector<std::vector<uint16_t>> narrow;
    narrow.reserve(specs.size());
    for (const models::WeightSpec &spec : specs) {
      values.push_back(models::randomWeight(spec, 17));
      std::vector<float> &v = values.back();
      const void *data = v.data();
      if (fileDtype != weights::DType::F32) {
        // The file holds the rounded values; the reference reads them back.
        narrow.emplace_back(v.size());
        weights::convertFromF32(fileDtype, v.data(), narrow.back().data(),
                                v.size());
        weights::convertToF32(fileDtype, narrow.back().data(), v.data(),
                              v.size());
        data = narrow.back().data();
      }
      tensors.push_back({spec.name, fileDtype, spec.shape, data});
      weightValues[spec.name] = {spec.shape, v};
    }
    std::string st = (dir + "/model.safetensors").str();
    weights::Status written = weights::writeSafetensors(st, tensors);
    ASSERT_TRUE(written.isOk()) << written.message();

    ASSERT_COIL_OK(coil_model_load(so.c_str(), &model));
    ASSERT_COIL_OK(coil_weights_open(st.c_str(), &files));
    ASSERT_COIL_OK(coil_model_bind_weights(model, files));
    coil_session_options_t options;
    coil_session_options_initialize(&options);
    options.max_batch = kMaxBatch;
    options.max_context = kMaxContext;
    options.threads = threads;
    ASSERT_COIL_OK(coil_session_create(model, &options, &lastSession));
    options.all_logits = 1;
    ASSERT_COIL_OK(coil_session_create(model, &options, &session));
  }

  /// Logits of prefill + 3 decode steps on a new session with `threads`.
  std::vector<float> runWithThreads(int32_t threads) {
    coil_session_options_t options;
    coil_session_options_initialize(&options);
    options.max_batch = kMaxBatch;
    options.max_context = kMaxContext;
    options.threads = threads;
    coil_session_t *s = nullptr;
    coil_status_t *status = coil_session_create(model, &options, &s);
    EXPECT_EQ(coil_status_code(status), COIL_OK) << coil_status_message(status);
    coil_status_free(status);
    std::vector<float> all;
    if (!s)
      return all;
    std::vector<int32_t> prompt(3 * 37);
    for (size_t i = 0; i < prompt.size(); ++i)
      prompt[i] = static_cast<int32_t>((i * 17) % config.vocabSize());
    auto append = [&] {
      const float *logits;
      int64_t b, t, v;
      coil_status_free(coil_session_logits(s, &logits, &b, &t, &v));
      all.insert(all.end(), logits, logits + b * t * v);
    };
    coil_status_free(coil_session_prefill(s, prompt.data(), 3, 37));
    append();
    for (int32_t step = 0; step < 3; ++step) {
      std::vector<int32_t> next{step, step + 1, step + 2};
      coil_status_free(coil_session_decode(s, next.data(), 3));
      append();
    }
    coil_session_release(s);
    return all;
  }

  /// Compiles `json`'s model with `dtype` matrices: bound to the f32
  /// checkpoint (quantized or rounded at bind) and to the checkpoint stored
  /// in that format, it gives the same logits.
  void checkStoredFormat(const char *json, WeightDtype dtype) {
    compile(json, 2, dtype);
    if (HasFatalFailure())
      return;
    std::vector<float> bound = runWithThreads(2), stored;
    ASSERT_FALSE(bound.empty());
    runPreQuantized(stored);
    EXPECT_EQ(stored, bound);
  }

  /// runWithThreads(2) with the model bound instead to the checkpoint
  /// writeQuantizedWeights stores in the model's weight format.
  void runPreQuantized(std::vector<float> &logits) {
    std::unique_ptr<weights::WeightFileSet> floats;
    std::string st = (dir + "/model.safetensors").str();
    weights::Status opened = weights::WeightFileSet::open(st, floats);
    ASSERT_TRUE(opened.isOk()) << opened.message();
    std::string stored = (dir + "/stored.safetensors").str();
    llvm::Expected<models::QuantizedWeightsSummary> summary =
        models::writeQuantizedWeights(*reference, *floats, dir, stored);
    ASSERT_TRUE(!!summary) << llvm::toString(summary.takeError());
    EXPECT_GT(summary->int8 + summary->int4 + summary->narrowed, 0);
    EXPECT_LT(summary->bytesAfter, summary->bytesBefore);
    coil_model_t *second = nullptr;
    coil_weights_t *secondFiles = nullptr;
    auto release = llvm::make_scope_exit([&] {
      if (second)
        coil_model_release(second);
      if (secondFiles)
        coil_weights_release(secondFiles);
    });
    std::string so = (dir + "/model.so").str();
    ASSERT_COIL_OK(coil_model_load(so.c_str(), &second));
    ASSERT_COIL_OK(coil_weights_open(stored.c_str(), &secondFiles));
    ASSERT_COIL_OK(coil_model_bind_weights(second, secondFiles));
    std::swap(model, second);
    logits = runWithThreads(2);
    std::swap(model, second);
  }

  std::unique_ptr<reference::ReferenceSession>
  referenceSession(int64_t batch, int64_t context = kMaxContext) {
    auto provider =
        [this](llvm::StringRef name,
               RankedTensorType) -> llvm::Expected<reference::Tensor> {
      auto it = weightValues.find(name);
      if (it == weightValues.end())
        return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                       "no weight " + name);
      return reference::Tensor(it->second.first,
                               std::vector<double>(it->second.second.begin(),
                                                   it->second.second.end()));
    };
    auto s = reference::ReferenceSession::create(*reference, provider, batch,
                                                 context);
    EXPECT_TRUE(!!s) << llvm::toString(s.takeError());
    return s ? std::move(*s) : nullptr;
  }

  /// Compares the last logits of `from` (default: the all-logits session)
  /// with the reference's.
  void expectLogitsMatch(const reference::Tensor &expected,
                         const std::string &what,
                         coil_session_t *from = nullptr) {
    const float *logits = nullptr;
    int64_t batch = 0, tokens = 0, vocab = 0;
    ASSERT_COIL_OK(coil_session_logits(from ? from : session, &logits, &batch,
                                       &tokens, &vocab));
    ASSERT_EQ(std::vector<int64_t>({batch, tokens, vocab}), expected.shape)
        << what;
    for (int64_t row = 0; row < batch * tokens; ++row) {
      const double *ref = expected.data.data() + row * vocab;
      double largest = 0.0;
      for (int64_t v = 0; v < vocab; ++v)
        largest = std::max(largest, std::fabs(ref[v]));
      double tol = 2e-5 * largest + 1e-7;
      for (int64_t v = 0; v < vocab; ++v)
        ASSERT_NEAR(logits[row * vocab + v], ref[v], tol)
            << what << ", row " << row << ", logit " << v;
    }
  }

  /// Prefill of T tokens per sequence at batch B, then 20 decode steps.
  void checkPrefillAndDecode(int64_t batch, int64_t seq) {
    std::string what =
        "B=" + std::to_string(batch) + " T=" + std::to_string(seq);
    coil_session_reset(session);
    auto ref = referenceSession(batch);
    ASSERT_TRUE(ref);
    int64_t vocab = config.vocabSize();
    std::vector<std::vector<int64_t>> prompts(batch);
    std::vector<int32_t> flat;
    uint64_t lcg = 1234567 + 31 * seq + batch;
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t t = 0; t < seq; ++t) {
        lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
        int32_t id = static_cast<int32_t>((lcg >> 33) % vocab);
        prompts[b].push_back(id);
        flat.push_back(id);
      }
    llvm::Expected<reference::Tensor> expected = ref->prefillAll(prompts);
    ASSERT_TRUE(!!expected) << llvm::toString(expected.takeError());
    ASSERT_COIL_OK(coil_session_prefill(session, flat.data(), batch, seq));
    expectLogitsMatch(*expected, what + " prefill");
    // The default session computes the last position's logits only.
    auto refLast = referenceSession(batch);
    ASSERT_TRUE(refLast);
    llvm::Expected<reference::Tensor> last = refLast->prefill(prompts);
    ASSERT_TRUE(!!last) << llvm::toString(last.takeError());
    ASSERT_EQ(last->shape, std::vector<int64_t>({batch, 1, vocab}));
    coil_session_reset(lastSession);
    ASSERT_COIL_OK(coil_session_prefill(lastSession, flat.data(), batch, seq));
    expectLogitsMatch(*last, what + " prefill (last position)", lastSession);
    for (int64_t step = 0; step < 20; ++step) {
      std::vector<int64_t> next;
      std::vector<int32_t> next32;
      for (int64_t b = 0; b < batch; ++b) {
        next.push_back((step * 7 + b * 13 + seq) % vocab);
        next32.push_back(static_cast<int32_t>(next.back()));
      }
      llvm::Expected<reference::Tensor> stepExpected = ref->decode(next);
      ASSERT_TRUE(!!stepExpected);
      ASSERT_COIL_OK(coil_session_decode(session, next32.data(), batch));
      expectLogitsMatch(*stepExpected,
                        what + " decode step " + std::to_string(step));
    }
  }

  /// A prompt fed in two prefills (the second starts mid-block, after
  /// cached positions), then decode steps, as the reference does.
  void checkContinuedPrompt() {
    coil_session_reset(session);
    auto ref = referenceSession(kMaxBatch);
    ASSERT_TRUE(ref);
    int64_t vocab = config.vocabSize();
    const int64_t lengths[] = {21, 45, 1};
    for (auto [part, length] : llvm::enumerate(lengths)) {
      std::vector<std::vector<int64_t>> prompts(kMaxBatch);
      std::vector<int32_t> flat;
      for (int64_t b = 0; b < kMaxBatch; ++b)
        for (int64_t t = 0; t < length; ++t) {
          prompts[b].push_back(
              (t * 11 + b * 5 + static_cast<int64_t>(part) * 3) % vocab);
          flat.push_back(static_cast<int32_t>(prompts[b].back()));
        }
      llvm::Expected<reference::Tensor> expected = ref->prefillAll(prompts);
      ASSERT_TRUE(!!expected) << llvm::toString(expected.takeError());
      ASSERT_COIL_OK(
          coil_session_prefill(session, flat.data(), kMaxBatch, length));
      expectLogitsMatch(*expected, "prefill part " + std::to_string(part) +
                                       " (T=" + std::to_string(length) + ")");
    }
  }

  /// 32 sequences: a prefill of 5 tokens each, then 3 decode steps (the
  /// batch inside the scan's, conv's and attention's loops).
  void checkBatch32() {
    constexpr int64_t kBatch = 32, kPrompt = 5;
    coil_session_options_t options;
    coil_session_options_initialize(&options);
    options.max_batch = kBatch;
    options.max_context = 16;
    options.threads = 2;
    options.all_logits = 1;
    coil_session_t *wide = nullptr;
    ASSERT_COIL_OK(coil_session_create(model, &options, &wide));
    auto ref = referenceSession(kBatch);
    ASSERT_TRUE(ref);
    int64_t vocab = config.vocabSize();
    std::vector<std::vector<int64_t>> prompts(kBatch);
    std::vector<int32_t> flat;
    for (int64_t b = 0; b < kBatch; ++b)
      for (int64_t t = 0; t < kPrompt; ++t) {
        prompts[b].push_back((b * 7 + t * 3 + 1) % vocab);
        flat.push_back(static_cast<int32_t>(prompts[b].back()));
      }
    llvm::Expected<reference::Tensor> expected = ref->prefillAll(prompts);
    ASSERT_TRUE(!!expected) << llvm::toString(expected.takeError());
    ASSERT_COIL_OK(coil_session_prefill(wide, flat.data(), kBatch, kPrompt));
    expectLogitsMatch(*expected, "B=32 prefill", wide);
    for (int64_t step = 0; step < 3 && !HasFailure(); ++step) {
      std::vector<int64_t> next;
      std::vector<int32_t> next32;
      for (int64_t b = 0; b < kBatch; ++b) {
        next.push_back((step * 5 + b * 11) % vocab);
        next32.push_back(static_cast<int32_t>(next.back()));
      }
      llvm::Expected<reference::Tensor> stepExpected = ref->decode(next);
      ASSERT_TRUE(!!stepExpected);
      ASSERT_COIL_OK(coil_session_decode(wide, next32.data(), kBatch));
      expectLogitsMatch(*stepExpected,
                        "B=32 decode step " + std::to_string(step), wide);
    }
    coil_session_release(wide);
  }

  /// One sequence of kLongPrompt tokens (flash attention's and the chunked
  /// scan's longest walk; every position's logits), then 3 decode steps.
  void checkLongPrompt(int64_t kLongPrompt = 4096) {
    coil_session_options_t options;
    coil_session_options_initialize(&options);
    options.max_batch = 1;
    options.max_context = kLongPrompt + 3;
    options.threads = 2;
    options.all_logits = 1;
    coil_session_t *lng = nullptr;
    ASSERT_COIL_OK(coil_session_create(model, &options, &lng));
    auto ref = referenceSession(1, kLongPrompt + 3);
    ASSERT_TRUE(ref);
    int64_t vocab = config.vocabSize();
    std::vector<std::vector<int64_t>> prompts(1);
    std::vector<int32_t> flat;
    for (int64_t t = 0; t < kLongPrompt; ++t) {
      prompts[0].push_back((t * 29 + t / 7) % vocab);
      flat.push_back(static_cast<int32_t>(prompts[0].back()));
    }
    llvm::Expected<reference::Tensor> expected = ref->prefillAll(prompts);
    ASSERT_TRUE(!!expected) << llvm::toString(expected.takeError());
    ASSERT_COIL_OK(coil_session_prefill(lng, flat.data(), 1, kLongPrompt));
    std::string what = "T=" + std::to_string(kLongPrompt);
    expectLogitsMatch(*expected, what + " prefill", lng);
    for (int64_t step = 0; step < 3 && !HasFailure(); ++step) {
      std::vector<int64_t> next{(step * 13 + 5) % vocab};
      std::vector<int32_t> next32{static_cast<int32_t>(next[0])};
      llvm::Expected<reference::Tensor> stepExpected = ref->decode(next);
      ASSERT_TRUE(!!stepExpected);
      ASSERT_COIL_OK(coil_session_decode(lng, next32.data(), 1));
      expectLogitsMatch(*stepExpected,
                        what + " decode step " + std::to_string(step), lng);
    }
    coil_session_release(lng);
  }

  /// 1, 2 and 3 threads give bit-identical logits.
  void checkThreadInvariance(const char *json) {
    compile(json, 1);
    if (HasFatalFailure())
      return;
    std::vector<float> one = runWithThreads(1);
    ASSERT_FALSE(one.empty());
    EXPECT_EQ(one, runWithThreads(2));
    EXPECT_EQ(one, runWithThreads(3));
  }

  /// On one compiled model: T = 1, 7, 64 and 300 at batch 1 and 3, a
  /// prompt in three parts, 1000 tokens, 32 sequences, 1 to 3 threads bit
  /// for bit, and a saved and restored sequence.
  void checkEveryPath() {
    for (auto [batch, seq] :
         {std::pair<int64_t, int64_t>{1, 1}, {3, 7}, {3, 64}, {1, 300}}) {
      checkPrefillAndDecode(batch, seq);
      if (HasFatalFailure())
        return;
    }
    checkContinuedPrompt();
    if (HasFatalFailure())
      return;
    checkLongPrompt(1000);
    if (HasFatalFailure())
      return;
    checkBatch32();
    if (HasFatalFailure())
      return;
    std::vector<float> one = runWithThreads(1);
    ASSERT_FALSE(one.empty());
    EXPECT_EQ(one, runWithThreads(2));
    EXPECT_EQ(one, runWithThreads(3));
    checkSaveRestore();
  }

  void checkAllShapes() {
    for (int64_t batch : {1, 3})
      for (int64_t seq : {1, 2, 7, 64, 300}) {
        checkPrefillAndDecode(batch, seq);
        if (HasFatalFailure())
          return;
      }
  }

  /// Saving a sequence, decoding, restoring and decoding the same tokens
  /// again gives identical logits for that sequence.
  void checkSaveRestore() {
    coil_session_reset(session);
    std::vector<int32_t> prompt{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    ASSERT_COIL_OK(coil_session_prefill(session, prompt.data(), 3, 4));
    size_t size = coil_session_sequence_state_size(session);
    std::vector<uint8_t> saved(size);
    ASSERT_COIL_OK(coil_session_save_sequence(session, 1, saved.data(), size));
    std::vector<int32_t> step{5, 6, 7};
    auto sequenceRow = [&] {
      const float *logits;
      int64_t b, t, v;
      coil_status_t *s = coil_session_logits(session, &logits, &b, &t, &v);
      coil_status_free(s);
      return std::vector<float>(logits + v, logits + 2 * v);
    };
    ASSERT_COIL_OK(coil_session_decode(session, step.data(), 3));
    std::vector<float> first = sequenceRow();
    ASSERT_COIL_OK(coil_session_decode(session, step.data(), 3));
    EXPECT_EQ(coil_session_length(session, 1), 6);
    ASSERT_COIL_OK(
        coil_session_restore_sequence(session, 1, saved.data(), size));
    EXPECT_EQ(coil_session_length(session, 1), 4);
    ASSERT_COIL_OK(coil_session_decode(session, step.data(), 3));
    EXPECT_EQ(sequenceRow(), first);
  }

  MLIRContext context;
  llvm::SmallString<128> dir;
  models::ModelConfig config;
  OwningOpRef<ModuleOp> reference;
  llvm::StringMap<std::pair<std::vector<int64_t>, std::vector<float>>>
      weightValues;
  coil_model_t *model = nullptr;
  coil_weights_t *files = nullptr;
  /// All positions' logits (all_logits), and the default: the last one's.
  coil_session_t *session = nullptr;
  coil_session_t *lastSession = nullptr;
};

TEST_P(CompiledVsReferenceTest, Mamba) {
  compile(kMamba);
  if (HasFatalFailure())
    return;
  checkAllShapes();
}

TEST_P(CompiledVsReferenceTest, Llama) {
  compile(kLlama);
  if (HasFatalFailure())
    return;
  checkAllShapes();
}

TEST_P(CompiledVsReferenceTest, MambaContinuedPrompt) {
  compile(kMamba);
  if (HasFatalFailure())
    return;
  checkContinuedPrompt();
}

TEST_P(CompiledVsReferenceTest, LlamaContinuedPrompt) {
  compile(kLlama);
  if (HasFatalFailure())
    return;
  checkContinuedPrompt();
}

TEST_P(CompiledVsReferenceTest, MambaBatch32) {
  compile(kMamba);
  if (HasFatalFailure())
    return;
  checkBatch32();
}

TEST_P(CompiledVsReferenceTest, LlamaBatch32) {
  compile(kLlama);
  if (HasFatalFailure())
    return;
  checkBatch32();
}

/// Matrices stored as bf16 or f16: the compiled model reads the same
/// rounded weights as the reference, so the tolerance is f32's.
TEST_P(CompiledVsReferenceTest, MambaBf16Weights) {
  compile(kMamba, 2, WeightDtype::BF16);
  if (HasFatalFailure())
    return;
  checkAllShapes();
}

TEST_P(CompiledVsReferenceTest, LlamaBf16Weights) {
  compile(kLlama, 2, WeightDtype::BF16);
  if (HasFatalFailure())
    return;
  checkAllShapes();
}

TEST_P(CompiledVsReferenceTest, MambaF16Weights) {
  compile(kMamba, 2, WeightDtype::F16);
  if (HasFatalFailure())
    return;
  checkPrefillAndDecode(3, 37);
}

TEST_P(CompiledVsReferenceTest, LlamaF16Weights) {
  compile(kLlama, 2, WeightDtype::F16);
  if (HasFatalFailure())
    return;
  checkPrefillAndDecode(3, 37);
}

/// Int8 matrices, quantized from the f32 checkpoint at bind by the runtime
/// and alike by the reference: the f32 tolerance again.
TEST_P(CompiledVsReferenceTest, MambaInt8Weights) {
  compile(kMamba, 2, WeightDtype::Int8);
  if (HasFatalFailure())
    return;
  checkPrefillAndDecode(3, 37);
}

TEST_P(CompiledVsReferenceTest, LlamaInt8Weights) {
  compile(kLlama, 2, WeightDtype::Int8);
  if (HasFatalFailure())
    return;
  checkPrefillAndDecode(3, 37);
  if (HasFatalFailure())
    return;
  checkBatch32();
}

/// Int4 matrices in groups of 32 (and int8 where K is not a multiple of
/// 32: Mamba's dt_proj).
TEST_P(CompiledVsReferenceTest, MambaInt4Weights) {
  compile(kMamba, 2, WeightDtype::Int4);
  if (HasFatalFailure())
    return;
  checkPrefillAndDecode(3, 37);
}

TEST_P(CompiledVsReferenceTest, LlamaInt4Weights) {
  compile(kLlama, 2, WeightDtype::Int4);
  if (HasFatalFailure())
    return;
  checkPrefillAndDecode(3, 37);
}

/// A checkpoint stored in the model's format (as coil-quantize writes it)
/// binds without quantizing or rounding and computes, bit for bit, what the
/// float checkpoint computes.
TEST_P(CompiledVsReferenceTest, MambaInt4PreQuantized) {
  checkStoredFormat(kMamba, WeightDtype::Int4);
}

TEST_P(CompiledVsReferenceTest, LlamaInt8PreQuantized) {
  checkStoredFormat(kLlama, WeightDtype::Int8);
}

TEST_P(CompiledVsReferenceTest, LlamaBf16Stored) {
  checkStoredFormat(kLlama, WeightDtype::BF16);
}

/// A checkpoint stored as bf16 runs in bf16 as it is (every tensor, the
/// norms' too, widened where the model keeps f32); one stored as f16 is
/// rounded once more into a bf16 model.
TEST_P(CompiledVsReferenceTest, MambaBf16Checkpoint) {
  compile(kMamba, 2, WeightDtype::BF16, weights::DType::BF16);
  if (HasFatalFailure())
    return;
  checkPrefillAndDecode(3, 37);
}

TEST_P(CompiledVsReferenceTest, LlamaF16CheckpointAsBf16) {
  compile(kLlama, 2, WeightDtype::BF16, weights::DType::F16);
  if (HasFatalFailure())
    return;
  checkPrefillAndDecode(3, 37);
}

TEST_P(CompiledVsReferenceTest, LlamaOddHeadDim) {
  compile(kLlamaOddHeads);
  if (HasFatalFailure())
    return;
  checkPrefillAndDecode(3, 37);
  if (HasFatalFailure())
    return;
  checkPrefillAndDecode(1, 300);
  if (HasFatalFailure())
    return;
  checkContinuedPrompt();
}

TEST_P(CompiledVsReferenceTest, MambaLongPrompt) {
  compile(kMamba);
  if (HasFatalFailure())
    return;
  checkLongPrompt();
}

TEST_P(CompiledVsReferenceTest, LlamaLongPrompt) {
  compile(kLlama);
  if (HasFatalFailure())
    return;
  checkLongPrompt();
}

/// Every output element is computed by one tile with the same code, so the
/// thread count cannot change a single bit.
TEST_P(CompiledVsReferenceTest, MambaThreadCountDoesNotChangeResults) {
  checkThreadInvariance(kMamba);
}

TEST_P(CompiledVsReferenceTest, LlamaThreadCountDoesNotChangeResults) {
  checkThreadInvariance(kLlama);
}

TEST_P(CompiledVsReferenceTest, MambaSaveRestore) {
  compile(kMamba);
  if (HasFatalFailure())
    return;
  checkSaveRestore();
}

TEST_P(CompiledVsReferenceTest, LlamaSaveRestore) {
  compile(kLlama);
  if (HasFatalFailure())
    return;
  checkSaveRestore();
}

/// Mamba-2 through every path (time chunks of every length, none
/// aligned).
TEST_P(CompiledVsReferenceTest, Mamba2) {
  compile(kMamba2);
  if (HasFatalFailure())
    return;
  checkEveryPath();
}

/// The hybrid through every path: its KV caches and recurrent states
/// together.
TEST_P(CompiledVsReferenceTest, NemotronH) {
  compile(kNemotronH);
  if (HasFatalFailure())
    return;
  checkEveryPath();
}

TEST_P(CompiledVsReferenceTest, Mamba2OneGroupDtLimit) {
  compile(kMamba2OneGroup);
  if (HasFatalFailure())
    return;
  checkPrefillAndDecode(3, 37);
  if (HasFatalFailure())
    return;
  checkPrefillAndDecode(1, 300);
}

INSTANTIATE_TEST_SUITE_P(
    Isa, CompiledVsReferenceTest,
    ::testing::ValuesIn(::coil::testing::kTargetCpus),
    [](const ::testing::TestParamInfo<const char *> &info) {
      std::string name = info.param;
      std::replace(name.begin(), name.end(), '-', '_');
      return name;
    });

} // namespace
