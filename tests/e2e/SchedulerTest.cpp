//===- SchedulerTest.cpp - Continuous batching == each request alone -*- C++
//-*-===//
//
// Small Mamba and Llama models compiled for the host, run through the C++
// wrapper's Scheduler on a session of 3 slots: seven requests of prompt
// lengths 1 to 150 and budgets 1 to 24 (so requests wait, prefill in chunks
// of 32 tokens among others' decode steps, finish at different steps and are
// packed into lower slots). Every logit of every request is compared with
// the reference interpreter running that request alone. Then the state
// snapshots: a prefix cache hit (a request's prompt and answer continued, a
// cached system prompt, a wholly cached prompt) gives the logits of
// recomputing without the cache; rolling back rejected draft tokens
// (truncation of the KV cache, or a restored snapshot for Mamba) gives the
// logits of never having fed them; cancellation, a callback that ends its
// request and bad requests behave as documented.
//
// Tolerance against the reference: as CompiledVsReferenceTest (2e-5 of the
// row's largest logit plus 1e-7), for the same reasons. Between compiled
// runs the logits are the same bits: a request alone or among others, a
// prompt prefilled at once or in chunks, decoded at batch 1 or 3 (the
// kernels are batch-invariant), a state restored or rolled back. The one
// exception is stated where it occurs: tokens fed by decode steps versus
// the same tokens prefilled (the two entries' kernels sum in different
// orders) agree to 1e-5 of the row's largest logit.
//
//===----------------------------------------------------------------------===//

#include "compiler/Driver/Compile.h"
#include "compiler/InitAll.h"
#include "compiler/Reference/ReferenceSession.h"
#include "models/ModelBuilder.h"
#include "models/RandomWeights.h"
#include "runtime/src/weights/Safetensors.h"

#include "coil/coil.hpp"

#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>

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
  "vocab_size": 61, "max_position_embeddings": 1024, "rms_norm_eps": 1e-5,
  "tie_word_embeddings": false
})json";

/// A Nemotron-H hybrid: Mamba-2, MLP and attention blocks (KV caches and
/// recurrent states in one session).
constexpr const char *kHybrid = R"json({
  "model_type": "nemotron_h", "hidden_size": 32, "num_hidden_layers": 4,
  "vocab_size": 61, "hybrid_override_pattern": "M-*M",
  "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8,
  "max_position_embeddings": 1024, "intermediate_size": 48,
  "mamba_num_heads": 4, "mamba_head_dim": 16, "n_groups": 2,
  "ssm_state_size": 16, "conv_kernel": 4, "mlp_hidden_act": "relu2"
})json";

constexpr int64_t kSlots = 3, kContext = 200, kVocab = 61;

/// A compiled model, its weights and the module the reference runs.
struct Compiled {
  MLIRContext context;
  OwningOpRef<ModuleOp> reference;
  llvm::StringMap<std::pair<std::vector<int64_t>, std::vector<float>>> values;
  std::unique_ptr<::coil::Model> model;
  llvm::SmallString<128> dir;
};

/// What the scheduler reported for one request.
struct Outcome {
  std::vector<int32_t> tokens;
  std::vector<std::vector<float>> logits;
  int finals = 0;
  coil_stop_reason_t reason = COIL_STOP_MAX_TOKENS;
  int64_t cached = -1;
};

/// Adds `e` to what its request reported.
void record(std::map<uint64_t, Outcome> &byId,
            const ::coil::SchedulerEvent &e) {
  Outcome &o = byId[e.request];
  if (e.finished) {
    ++o.finals;
    o.reason = e.stop_reason;
    o.cached = e.cached_tokens;
    EXPECT_EQ(e.generated_tokens, int64_t(o.tokens.size()));
    return;
  }
  EXPECT_EQ(e.vocab, kVocab);
  o.tokens.push_back(e.token);
  o.logits.emplace_back(e.logits, e.logits + e.vocab);
}

std::vector<int32_t> randomTokens(size_t n, uint64_t seed) {
  std::vector<int32_t> out(n);
  for (int32_t &id : out) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    id = static_cast<int32_t>((seed >> 33) % kVocab);
  }
  return out;
}

double largest(const float *row) {
  double m = 0;
  for (int64_t v = 0; v < kVocab; ++v)
    m = std::max(m, std::fabs(double(row[v])));
  return m;
}

class SchedulerTest : public ::testing::TestWithParam<const char *> {
protected:
  static Compiled &compiled(const char *json) {
    static std::map<std::string, std::unique_ptr<Compiled>> cache;
    std::unique_ptr<Compiled> &c = cache[json];
    if (c)
      return *c;
    c = std::make_unique<Compiled>();
    DialectRegistry registry;
    registerAllDialects(registry);
    c->context.appendDialectRegistry(registry);
    c->context.loadAllAvailableDialects();
    EXPECT_FALSE(
        llvm::sys::fs::createUniqueDirectory("coil-scheduler", c->dir));
    llvm::Expected<models::ModelConfig> config =
        models::parseModelConfig(json, "config.json");
    EXPECT_TRUE(!!config) << llvm::toString(config.takeError());
    if (!config)
      return *c;
    c->reference = models::buildModel(c->context, *config);
    OwningOpRef<ModuleOp> module = models::buildModel(c->context, *config);
    std::string so = (c->dir + "/model.so").str();
    llvm::Error e = compileModel(*module, Stage::SharedLibrary, so, nullptr,
                                 CompileOptions{false, "host"});
    EXPECT_FALSE(!!e) << llvm::toString(std::move(e));
    std::vector<weights::TensorToWrite> tensors;
    std::vector<models::WeightSpec> specs = models::weightSpecs(*config);
    for (const models::WeightSpec &spec : specs)
      c->values[spec.name] = {spec.shape, models::randomWeight(spec, 23)};
    for (const models::WeightSpec &spec : specs)
      tensors.push_back({spec.name, weights::DType::F32, spec.shape,
                         c->values[spec.name].second.data()});
    std::string st = (c->dir + "/model.safetensors").str();
    EXPECT_TRUE(weights::writeSafetensors(st, tensors).isOk());
    c->model = std::make_unique<::coil::Model>(::coil::Model::load(so));
    c->model->bindWeights(::coil::Weights::open(st));
    return *c;
  }

  void SetUp() override {
    model = &compiled(GetParam());
    ASSERT_TRUE(model->model) << "the model did not build";
  }

  ::coil::Session newSession(int64_t slots = kSlots, bool allLogits = false,
                             int64_t verifyTokens = 0) {
    ::coil::SessionOptions options;
    options.maxBatch = slots;
    options.maxContext = kContext;
    options.threads = 2;
    options.allLogits = allLogits;
    options.verifyTokens = verifyTokens;
    return ::coil::Session(*model->model, options);
  }

  /// Runs `requests` through one scheduler; returns what each reported.
  std::vector<Outcome>
  schedule(::coil::Session &session,
           const std::vector<::coil::RequestOptions> &requests,
           const ::coil::SchedulerOptions &options) {
    std::map<uint64_t, Outcome> byId;
    ::coil::Scheduler scheduler(
        session, nullptr,
        [&](const ::coil::SchedulerEvent &e) {
          record(byId, e);
          return true;
        },
        options);
    std::vector<uint64_t> ids;
    for (const ::coil::RequestOptions &r : requests)
      ids.push_back(scheduler.submit(r));
    scheduler.run();
    std::vector<Outcome> out;
    for (uint64_t id : ids) {
      out.push_back(byId[id]);
      EXPECT_EQ(out.back().finals, 1) << "request " << id;
    }
    return out;
  }

  /// The reference's logits for `prompt` then each of `generated` but the
  /// last, alone: one row per generated token.
  std::vector<std::vector<double>>
  referenceLogits(const std::vector<int32_t> &prompt,
                  const std::vector<int32_t> &generated) {
    auto provider =
        [this](llvm::StringRef name,
               RankedTensorType) -> llvm::Expected<reference::Tensor> {
      auto it = model->values.find(name);
      if (it == model->values.end())
        return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                       "no weight " + name);
      return reference::Tensor(it->second.first,
                               std::vector<double>(it->second.second.begin(),
                                                   it->second.second.end()));
    };
    auto ref = reference::ReferenceSession::create(*model->reference, provider,
                                                   1, kContext);
    EXPECT_TRUE(!!ref) << llvm::toString(ref.takeError());
    std::vector<std::vector<double>> rows;
    if (!ref)
      return rows;
    llvm::Expected<reference::Tensor> t =
        (*ref)->prefill({std::vector<int64_t>(prompt.begin(), prompt.end())});
    for (size_t i = 0; t && i < generated.size(); ++i) {
      rows.push_back(t->data);
      if (i + 1 < generated.size())
        t = (*ref)->decode({generated[i]});
    }
    EXPECT_TRUE(!!t) << llvm::toString(t.takeError());
    return rows;
  }

  Compiled *model = nullptr;
};

::coil::RequestOptions request(std::vector<int32_t> prompt, int64_t maxNew) {
  ::coil::RequestOptions r;
  r.prompt = std::move(prompt);
  r.maxNewTokens = maxNew;
  return r;
}

/// `relative` 0 asks for the same bits.
void expectNear(const std::vector<float> &got, const std::vector<float> &want,
                double relative, const std::string &what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  if (relative == 0.0) {
    EXPECT_EQ(got, want) << what;
    return;
  }
  double tol = relative * largest(want.data()) + 1e-7;
  for (size_t v = 0; v < got.size(); ++v)
    ASSERT_NEAR(got[v], want[v], tol) << what << ", logit " << v;
}

TEST_P(SchedulerTest, MixedRequestsMatchEachAloneInTheReference) {
  const std::vector<std::pair<size_t, int64_t>> shapes = {
      {1, 12}, {150, 5}, {7, 24}, {40, 1}, {3, 9}, {90, 14}, {33, 6}};
  std::vector<::coil::RequestOptions> requests;
  for (size_t i = 0; i < shapes.size(); ++i)
    requests.push_back(
        request(randomTokens(shapes[i].first, 100 + i), shapes[i].second));
  // Sampled with a seed for one of them: its own stream, whatever runs.
  requests[2].sampling.temperature = 0.8f;
  requests[2].sampling.seed = 7;
  ::coil::Session session = newSession();
  ::coil::SchedulerOptions options;
  options.prefillChunk = 32;
  std::vector<Outcome> got = schedule(session, requests, options);
  for (size_t i = 0; i < requests.size(); ++i) {
    std::string what = "request " + std::to_string(i);
    ASSERT_EQ(int64_t(got[i].tokens.size()), shapes[i].second) << what;
    EXPECT_EQ(got[i].reason, COIL_STOP_MAX_TOKENS) << what;
    std::vector<std::vector<double>> ref =
        referenceLogits(requests[i].prompt, got[i].tokens);
    ASSERT_EQ(ref.size(), got[i].tokens.size()) << what;
    for (size_t t = 0; t < ref.size(); ++t) {
      std::vector<float> want(ref[t].begin(), ref[t].end());
      expectNear(got[i].logits[t], want, 2e-5,
                 what + ", token " + std::to_string(t));
      if (requests[i].sampling.temperature == 0.0f)
        EXPECT_EQ(got[i].tokens[t],
                  std::max_element(ref[t].begin(), ref[t].end()) -
                      ref[t].begin())
            << what << ", token " << t;
    }
  }
  // Each request alone, in a scheduler of its own: the same logits to the
  // bit (the kernels are batch-invariant), so the same tokens, the sampled
  // one's included.
  for (size_t i = 0; i < requests.size(); ++i) {
    ::coil::Session alone = newSession(1);
    std::vector<Outcome> single = schedule(alone, {requests[i]}, options);
    EXPECT_EQ(single[0].tokens, got[i].tokens) << "request " << i;
    EXPECT_EQ(single[0].logits, got[i].logits) << "request " << i;
  }
}

TEST_P(SchedulerTest, PrefixCacheGivesTheLogitsOfRecomputing) {
  ::coil::SchedulerOptions cached;
  cached.prefillChunk = 64;
  cached.prefixCacheBytes = 64 << 20;
  ::coil::SchedulerOptions plain = cached;
  plain.prefixCacheBytes = 0;
  ::coil::Session session = newSession();
  std::map<uint64_t, Outcome> byId;
  ::coil::Scheduler scheduler(
      session, nullptr,
      [&](const ::coil::SchedulerEvent &e) {
        record(byId, e);
        return true;
      },
      cached);
  auto runOne = [&](const ::coil::RequestOptions &r) {
    uint64_t id = scheduler.submit(r);
    scheduler.run();
    return byId[id];
  };

  // A first turn, then the conversation continued: the second prompt
  // begins with the first prompt and answer, whose state was kept.
  std::vector<int32_t> first = randomTokens(50, 1);
  Outcome turn1 = runOne(request(first, 8));
  EXPECT_EQ(turn1.cached, 0);
  std::vector<int32_t> second = first;
  second.insert(second.end(), turn1.tokens.begin(), turn1.tokens.end());
  std::vector<int32_t> more = randomTokens(9, 2);
  second.insert(second.end(), more.begin(), more.end());
  Outcome turn2 = runOne(request(second, 6));
  EXPECT_EQ(turn2.cached, int64_t(first.size() + turn1.tokens.size() - 1));

  // The same prompt again: wholly cached, its first logits stored.
  Outcome again = runOne(request(first, 8));
  EXPECT_EQ(again.cached, int64_t(first.size()));
  EXPECT_EQ(again.tokens, turn1.tokens);
  for (size_t t = 0; t < again.logits.size(); ++t)
    EXPECT_EQ(again.logits[t], turn1.logits[t]) << "token " << t;

  // A system prompt cached at its end, shared by a different question.
  std::vector<int32_t> system = randomTokens(30, 3);
  ::coil::RequestOptions withSystem = request(
      [&] {
        std::vector<int32_t> p = system, q = randomTokens(12, 4);
        p.insert(p.end(), q.begin(), q.end());
        return p;
      }(),
      4);
  withSystem.cachePrefix = int64_t(system.size());
  runOne(withSystem);
  std::vector<int32_t> other = system, q2 = randomTokens(20, 5);
  other.insert(other.end(), q2.begin(), q2.end());
  Outcome shared = runOne(request(other, 5));
  EXPECT_EQ(shared.cached, int64_t(system.size()));

  ::coil::SchedulerStats stats = scheduler.stats();
  EXPECT_EQ(stats.cache_hits, 3);
  EXPECT_GT(stats.cache_entries, 0);
  EXPECT_LE(stats.cache_bytes, cached.prefixCacheBytes);

  // Recomputed without the cache: a prefix that was prefilled gives the
  // same bits (restoring a snapshot is exact, and the kernels are
  // batch-invariant); the conversation's prefix holds the answer, which
  // was fed by decode steps, whose kernels sum in another order than
  // prefill's: within 1e-5 of the row's largest logit there.
  ::coil::Session fresh = newSession();
  std::vector<Outcome> recomputed =
      schedule(fresh, {request(second, 6), request(other, 5)}, plain);
  for (auto [got, want, relative, what] :
       {std::tuple{&turn2, &recomputed[0], 1e-5, "continued conversation"},
        std::tuple{&shared, &recomputed[1], 0.0, "shared system prompt"}}) {
    ASSERT_EQ(got->tokens, want->tokens) << what;
    for (size_t t = 0; t < got->logits.size(); ++t)
      expectNear(got->logits[t], want->logits[t], relative,
                 std::string(what) + ", token " + std::to_string(t));
  }
}

TEST_P(SchedulerTest, RolledBackDraftsLeaveNoTrace) {
  // Speculative decoding: k = 5 draft tokens verified in one call, j
  // accepted, then the next token decoded. The state must be that of
  // having fed the prompt and the j accepted tokens only: the KV cache
  // shortened, Mamba's states those the verify kept after draft j.
  // Sequence 1 verifies other drafts in the same call, so its positions
  // sit next to sequence 0's.
  std::vector<int32_t> prompt = randomTokens(40, 9);
  std::vector<int32_t> drafts = randomTokens(5, 10);
  std::vector<int32_t> both = drafts, others = randomTokens(5, 11);
  both.insert(both.end(), others.begin(), others.end());
  const int32_t next = 17;
  ::coil::Session session = newSession(2, /*allLogits=*/true, 5);
  ::coil::Session scratch = newSession(1, /*allLogits=*/true);
  for (int64_t accepted : {2, 5, 1}) {
    session.reset();
    session.prefillAt(0, prompt.data(), 1, int64_t(prompt.size()));
    session.prefillAt(1, prompt.data(), 1, int64_t(prompt.size()));
    session.verifyAt(0, both.data(), 2, 5);
    std::vector<float> verified(session.logits().row(0, 0),
                                session.logits().row(0, 0) + 5 * kVocab);
    session.truncateSequence(0, int64_t(prompt.size()) + accepted);
    ASSERT_EQ(session.length(0), int64_t(prompt.size()) + accepted);
    session.decodeAt(0, &next, 1);
    std::vector<float> rolledBack(session.logits().row(0, 0),
                                  session.logits().row(0, 0) + kVocab);

    scratch.reset();
    scratch.prefill(prompt);
    scratch.prefill(drafts);
    std::vector<float> prefilled(scratch.logits().row(0, 0),
                                 scratch.logits().row(0, 0) + 5 * kVocab);
    scratch.reset();
    scratch.prefill(prompt);
    scratch.prefill(
        std::vector<int32_t>(drafts.begin(), drafts.begin() + accepted));
    scratch.decode(&next, 1);
    std::vector<float> recomputed(scratch.logits().row(0, 0),
                                  scratch.logits().row(0, 0) + kVocab);
    // The same bits: verify's logits are prefill's, and the kept state
    // that of prefilling the j drafts alone (batch invariance).
    std::string what = std::to_string(accepted) + " of 5 accepted";
    expectNear(verified, prefilled, 0.0, "verify, " + what);
    expectNear(rolledBack, recomputed, 0.0, "after rollback, " + what);
  }

  EXPECT_THROW(session.verifyAt(0, both.data(), 1, 6), ::coil::Error);
  // A recurrent state goes back only within the last verify.
  if (!session.canTruncate()) {
    session.decodeAt(0, &next, 1);
    EXPECT_THROW(session.truncateSequence(0, session.length(0) - 1),
                 ::coil::Error);
  }
}

TEST_P(SchedulerTest, CancelledAndCallbackEndedRequestsFreeTheirSlots) {
  ::coil::Session session = newSession();
  std::map<uint64_t, Outcome> byId;
  uint64_t stopAtThree = 0;
  ::coil::Scheduler scheduler(
      session, nullptr, [&](const ::coil::SchedulerEvent &e) {
        record(byId, e);
        return e.finished || !(e.request == stopAtThree &&
                               byId[e.request].tokens.size() == 3);
      });
  uint64_t a = scheduler.submit(request(randomTokens(20, 11), 50));
  uint64_t b = scheduler.submit(request(randomTokens(10, 12), 50));
  stopAtThree = b;
  uint64_t c = scheduler.submit(request(randomTokens(5, 13), 7));
  uint64_t d = scheduler.submit(request(randomTokens(5, 14), 7)); // queued
  for (int i = 0; i < 4; ++i)
    scheduler.step();
  EXPECT_TRUE(scheduler.cancel(a));
  EXPECT_TRUE(scheduler.cancel(d) || byId[d].finals == 1);
  EXPECT_FALSE(scheduler.cancel(12345));
  scheduler.run();
  EXPECT_EQ(byId[a].reason, COIL_STOP_CANCELLED);
  EXPECT_LT(byId[a].tokens.size(), 50u);
  EXPECT_EQ(byId[b].reason, COIL_STOP_CALLBACK);
  EXPECT_EQ(byId[b].tokens.size(), 3u);
  EXPECT_EQ(byId[c].reason, COIL_STOP_MAX_TOKENS);
  EXPECT_EQ(byId[c].tokens.size(), 7u);
  for (uint64_t id : {a, b, c, d})
    EXPECT_EQ(byId[id].finals, 1) << "request " << id;
  EXPECT_FALSE(scheduler.cancel(a));
  EXPECT_TRUE(scheduler.idle());
  ::coil::SchedulerStats stats = scheduler.stats();
  EXPECT_EQ(stats.submitted, 4);
  EXPECT_EQ(stats.finished, 4);
  EXPECT_EQ(stats.active, 0);
  // c's tokens do not depend on the others: alone, the same.
  ::coil::Session alone = newSession(1);
  std::vector<Outcome> single =
      schedule(alone, {request(randomTokens(5, 13), 7)}, {});
  EXPECT_EQ(single[0].tokens, byId[c].tokens);
}

TEST_P(SchedulerTest, BadRequestsAreRefusedWithAReason) {
  ::coil::Session session = newSession();
  ::coil::Scheduler scheduler(
      session, nullptr, [](const ::coil::SchedulerEvent &) { return true; });
  auto code = [&](const ::coil::RequestOptions &r) {
    try {
      scheduler.submit(r);
      return COIL_OK;
    } catch (const ::coil::Error &e) {
      EXPECT_GT(std::string(e.what()).size(), 20u) << e.what();
      return e.code();
    }
  };
  EXPECT_EQ(code(request({}, 4)), COIL_INVALID_ARGUMENT);
  EXPECT_EQ(code(request({1, kVocab}, 4)), COIL_OUT_OF_RANGE);
  EXPECT_EQ(code(request({1, -1}, 4)), COIL_OUT_OF_RANGE);
  EXPECT_EQ(code(request(randomTokens(kContext + 1, 1), 4)), COIL_OUT_OF_RANGE);
  EXPECT_EQ(code(request({1}, -1)), COIL_INVALID_ARGUMENT);
  ::coil::RequestOptions stops = request({1}, 4);
  stops.stopStrings = {"\n"};
  EXPECT_EQ(code(stops), COIL_INVALID_ARGUMENT); // no tokenizer
  ::coil::RequestOptions prefix = request({1, 2}, 4);
  prefix.cachePrefix = 3;
  EXPECT_EQ(code(prefix), COIL_INVALID_ARGUMENT);
  ::coil::RequestOptions sampling = request({1}, 4);
  sampling.sampling.topP = 0.0f;
  EXPECT_EQ(code(sampling), COIL_INVALID_ARGUMENT);
  EXPECT_TRUE(scheduler.idle());
  // A prompt filling the whole context still yields one token.
  EXPECT_EQ(code(request(randomTokens(kContext, 2), 4)), COIL_OK);
  scheduler.run();
  EXPECT_EQ(scheduler.stats().sampled_tokens, 1);
}

INSTANTIATE_TEST_SUITE_P(Families, SchedulerTest,
                         ::testing::Values(kMamba, kLlama, kHybrid),
                         [](const auto &info) {
                           return std::string(info.param == kMamba ? "Mamba"
                                              : info.param == kLlama
                                                  ? "Llama"
                                                  : "NemotronH");
                         });

} // namespace
