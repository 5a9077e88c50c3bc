//===- GenerateTest.cpp - coil_generate on a compiled model -----*- C++ -*-===//
//
// A small Llama (vocabulary 320, random weights) compiled for the host and
// a byte-level tokenizer whose ids fit in it: coil_generate's greedy tokens
// are those of a prefill/argmax/decode loop written here with the session
// API; its streamed text is the decode of its tokens; stop tokens, stop
// strings, the callback and the context end a request as documented; a
// second request continues the sequence; sampled requests repeat exactly
// for a seed on 1 and 3 threads; bad options are refused before anything
// runs; coil_tokenizer_end_of_text finds the special <|endoftext|>.
//
//===----------------------------------------------------------------------===//

#include "compiler/Driver/Compile.h"
#include "compiler/InitAll.h"
#include "models/ModelBuilder.h"
#include "models/RandomWeights.h"
#include "runtime/src/weights/Safetensors.h"
#include "tests/unit/tokenizer/TokenizerFiles.h"

#include "coil/coil.h"
#include "tests/e2e/CoilStatus.h"
#include "coil/coil.hpp"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/FileSystem.h"

#include <gtest/gtest.h>

#include <fstream>

using namespace mlir;
using namespace mlir::coil;
namespace weights = ::coil::weights;

namespace {

constexpr const char *kLlama = R"({
  "model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
  "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 2,
  "vocab_size": 320, "max_position_embeddings": 512, "rms_norm_eps": 1e-5,
  "rope_theta": 10000.0, "tie_word_embeddings": false
})";

constexpr int64_t kContext = 96;

coil_status_code_t codeOf(coil_status_t *status) {
  coil_status_code_t code = coil_status_code(status);
  coil_status_free(status);
  return code;
}

/// What a request streamed.
struct Streamed {
  std::vector<int32_t> tokens;
  std::string text;
  int finalCalls = 0;
  /// End the request after this many tokens (0: never).
  size_t stopAfter = 0;
};

int collect(void *user, int32_t token, const char *text, size_t length) {
  auto *s = static_cast<Streamed *>(user);
  if (token < 0)
    ++s->finalCalls;
  else
    s->tokens.push_back(token);
  s->text.append(text, length);
  return s->stopAfter == 0 || s->tokens.size() < s->stopAfter;
}

class GenerateTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    DialectRegistry registry;
    registerAllDialects(registry);
    MLIRContext context(registry);
    context.loadAllAvailableDialects();
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("coil-generate", dir));
    llvm::Expected<models::ModelConfig> config =
        models::parseModelConfig(kLlama, "config.json");
    ASSERT_TRUE(!!config) << llvm::toString(config.takeError());
    OwningOpRef<ModuleOp> module = models::buildModel(context, *config);
    std::string so = (dir + "/model.so").str();
    llvm::Error e = compileModel(*module, Stage::SharedLibrary, so, nullptr,
                                 CompileOptions{false, "host"});
    ASSERT_FALSE(!!e) << llvm::toString(std::move(e));
    std::vector<std::vector<float>> values;
    std::vector<weights::TensorToWrite> tensors;
    std::vector<models::WeightSpec> specs = models::weightSpecs(*config);
    values.reserve(specs.size());
    for (const models::WeightSpec &spec : specs) {
      values.push_back(models::randomWeight(spec, 5));
      tensors.push_back(
          {spec.name, weights::DType::F32, spec.shape, values.back().data()});
    }
    std::string st = (dir + "/model.safetensors").str();
    ASSERT_TRUE(weights::writeSafetensors(st, tensors).isOk());
    ASSERT_COIL_OK(coil_model_load(so.c_str(), &model));
    ASSERT_COIL_OK(coil_weights_open(st.c_str(), &files));
    ASSERT_COIL_OK(coil_model_bind_weights(model, files));

    // Byte-level BPE with the corpus's merges, and <|endoftext|> after its
    // last id: fewer ids than the model's 320 (as checkpoints often pad
    // their vocabulary), so generation must never sample beyond them.
    nlohmann::json file = ::coil::testing::neoxTokenizer();
    int64_t eos = file["model"]["vocab"].size();
    ASSERT_LT(eos, 319);
    file["added_tokens"] = {{{"id", eos}, {"content", "<|endoftext|>"},
                             {"special", true}, {"normalized", false}}};
    std::string tj = (dir + "/tokenizer.json").str();
    std::ofstream(tj) << file.dump();
    ASSERT_COIL_OK(coil_tokenizer_load(dir.c_str(), &tokenizer));
  }

  static void TearDownTestSuite() {
    coil_tokenizer_release(tokenizer);
    coil_model_release(model);
    coil_weights_release(files);
    llvm::sys::fs::remove_directories(dir);
  }

  void SetUp() override {
    if (!model || !tokenizer)
      GTEST_SKIP() << "the model did not build";
  }

  static coil_session_t *newSession(int32_t threads = 2) {
    coil_session_options_t options;
    coil_session_options_initialize(&options);
    options.max_batch = 1;
    options.max_context = kContext;
    options.threads = threads;
    coil_session_t *session = nullptr;
    coil_status_t *status = coil_session_create(model, &options, &session);
    EXPECT_EQ(coil_status_code(status), COIL_OK) << coil_status_message(status);
    coil_status_free(status);
    return session;
  }

  /// Greedy tokens after `prompt`, by hand: prefill, argmax over the
  /// tokenizer's ids, decode.
  static std::vector<int32_t> greedyByHand(const std::vector<int32_t> &prompt,
                                           int n) {
    coil_session_t *s = newSession();
    std::vector<int32_t> out;
    EXPECT_EQ(codeOf(coil_session_prefill(s, prompt.data(), 1,
                                          int64_t(prompt.size()))),
              COIL_OK);
    for (int i = 0; i < n; ++i) {
      const float *logits = nullptr;
      int64_t batch = 0, tokens = 0, vocab = 0;
      EXPECT_EQ(codeOf(coil_session_logits(s, &logits, &batch, &tokens,
                                           &vocab)),
                COIL_OK);
      const float *row = logits + (tokens - 1) * vocab;
      // Only the ids the tokenizer has.
      int64_t choices = std::min(vocab, coil_tokenizer_vocab_size(tokenizer));
      int32_t best = int32_t(std::max_element(row, row + choices) - row);
      out.push_back(best);
      EXPECT_EQ(codeOf(coil_session_decode(s, &best, 1)), COIL_OK);
    }
    coil_session_release(s);
    return out;
  }

  static std::vector<int32_t> encode(const std::string &text) {
    size_t count = 0;
    coil_status_free(coil_tokenizer_encode(tokenizer, text.data(), text.size(),
                                           1, nullptr, 0, &count));
    std::vector<int32_t> ids(count);
    EXPECT_EQ(codeOf(coil_tokenizer_encode(tokenizer, text.data(), text.size(),
                                           1, ids.data(), ids.size(), &count)),
              COIL_OK);
    return ids;
  }

  static std::string decode(const std::vector<int32_t> &ids) {
    std::string text(4096, '\0');
    size_t length = 0;
    EXPECT_EQ(codeOf(coil_tokenizer_decode(tokenizer, ids.data(), ids.size(),
                                           1, text.data(), text.size(),
                                           &length)),
              COIL_OK);
    text.resize(length);
    return text;
  }

  static inline llvm::SmallString<128> dir;
  static inline coil_model_t *model = nullptr;
  static inline coil_weights_t *files = nullptr;
  static inline coil_tokenizer_t *tokenizer = nullptr;
  const std::string prompt = "The quick brown fox";
};

TEST_F(GenerateTest, GreedyMatchesTheSessionLoopAndStreamsItsText) {
  coil_session_t *s = newSession();
  coil_generate_options_t options;
  coil_generate_options_initialize(&options);
  options.max_new_tokens = 12;
  Streamed out;
  coil_generate_stats_t stats;
  ASSERT_COIL_OK(coil_generate(s, tokenizer, prompt.data(), prompt.size(),
                               &options, collect, &out, &stats));
  std::vector<int32_t> ids = encode(prompt);
  EXPECT_EQ(out.tokens, greedyByHand(ids, 12));
  EXPECT_EQ(out.text, decode(out.tokens));
  EXPECT_EQ(stats.prompt_tokens, int64_t(ids.size()));
  EXPECT_EQ(stats.generated_tokens, 12);
  EXPECT_EQ(stats.stop_reason, COIL_STOP_MAX_TOKENS);
  EXPECT_GT(stats.time_to_first_token, 0.0);
  EXPECT_GT(stats.time_per_output_token, 0.0);
  EXPECT_GE(stats.total_seconds, stats.time_to_first_token);
  // The sequence holds the prompt and all 12 generated tokens.
  EXPECT_EQ(coil_session_length(s, 0), int64_t(ids.size()) + 12);
  coil_session_release(s);
}

TEST_F(GenerateTest, EndOfTextIsTheSpecialEndToken) {
  int32_t eos = coil_tokenizer_token_id(tokenizer, "<|endoftext|>");
  ASSERT_GE(eos, 0);
  int32_t ids[4] = {-1, -1, -1, -1};
  EXPECT_EQ(coil_tokenizer_end_of_text(tokenizer, ids, 4), 1u);
  EXPECT_EQ(ids[0], eos);
  EXPECT_EQ(ids[1], -1);
  // Counted without room to write.
  EXPECT_EQ(coil_tokenizer_end_of_text(tokenizer, nullptr, 0), 1u);
  EXPECT_EQ(coil_tokenizer_end_of_text(nullptr, ids, 4), 0u);
}

TEST_F(GenerateTest, StopTokensStringsAndTheCallbackEndARequest) {
  std::vector<int32_t> ids = encode(prompt);
  std::vector<int32_t> greedy = greedyByHand(ids, 12);
  coil_generate_options_t options;
  coil_generate_options_initialize(&options);
  options.max_new_tokens = 12;

  // A stop token: generated and counted, its text not emitted.
  int32_t stop = greedy[4];
  size_t at = std::find(greedy.begin(), greedy.end(), stop) - greedy.begin();
  options.stop_tokens = &stop;
  options.num_stop_tokens = 1;
  coil_session_t *s = newSession();
  Streamed out;
  coil_generate_stats_t stats;
  ASSERT_COIL_OK(coil_generate(s, tokenizer, prompt.data(), prompt.size(),
                               &options, collect, &out, &stats));
  EXPECT_EQ(stats.stop_reason, COIL_STOP_TOKEN);
  EXPECT_EQ(out.tokens, std::vector<int32_t>(greedy.begin(),
                                             greedy.begin() + at + 1));
  EXPECT_EQ(out.text, decode(std::vector<int32_t>(greedy.begin(),
                                                  greedy.begin() + at)));
  coil_session_release(s);

  // A stop string: the text ends right before it.
  std::string text = decode(greedy);
  ASSERT_GE(text.size(), 6u);
  // One whole character from the middle.
  size_t mid = text.size() / 2;
  while (mid > 0 && (static_cast<unsigned char>(text[mid]) & 0xC0) == 0x80)
    --mid;
  size_t end = mid + 1;
  while (end < text.size() &&
         (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80)
    ++end;
  std::string stopText = text.substr(mid, end - mid);
  const char *stops[] = {stopText.c_str()};
  options.num_stop_tokens = 0;
  options.stop_strings = stops;
  options.num_stop_strings = 1;
  s = newSession();
  out = Streamed();
  ASSERT_COIL_OK(coil_generate(s, tokenizer, prompt.data(), prompt.size(),
                               &options, collect, &out, &stats));
  EXPECT_EQ(stats.stop_reason, COIL_STOP_STRING);
  EXPECT_EQ(out.text, text.substr(0, text.find(stopText)));
  coil_session_release(s);

  // The callback.
  options.num_stop_strings = 0;
  s = newSession();
  out = Streamed();
  out.stopAfter = 3;
  ASSERT_COIL_OK(coil_generate(s, tokenizer, prompt.data(), prompt.size(),
                               &options, collect, &out, &stats));
  EXPECT_EQ(stats.stop_reason, COIL_STOP_CALLBACK);
  EXPECT_EQ(out.tokens.size(), 3u);
  coil_session_release(s);

  // The end of the context: no room to feed the last token.
  options.max_new_tokens = 1000;
  s = newSession();
  out = Streamed();
  ASSERT_COIL_OK(coil_generate(s, tokenizer, prompt.data(), prompt.size(),
                               &options, collect, &out, &stats));
  EXPECT_EQ(stats.stop_reason, COIL_STOP_CONTEXT);
  EXPECT_EQ(coil_session_length(s, 0), kContext);
  EXPECT_EQ(stats.generated_tokens, kContext - int64_t(ids.size()) + 1);
  coil_session_release(s);
}

TEST_F(GenerateTest, ASecondRequestContinuesTheSequence) {
  coil_generate_options_t options;
  coil_generate_options_initialize(&options);
  options.max_new_tokens = 5;
  options.add_special_tokens = 0;
  coil_session_t *s = newSession();
  Streamed first, second;
  ASSERT_COIL_OK(coil_generate(s, tokenizer, prompt.data(), prompt.size(),
                               &options, collect, &first, nullptr));
  std::string next = " jumps over";
  ASSERT_COIL_OK(coil_generate(s, tokenizer, next.data(), next.size(),
                               &options, collect, &second, nullptr));
  coil_session_release(s);
  // The same as prefilling everything at once.
  std::vector<int32_t> all = encode(prompt);
  all.insert(all.end(), first.tokens.begin(), first.tokens.end());
  std::vector<int32_t> more = encode(next);
  all.insert(all.end(), more.begin(), more.end());
  EXPECT_EQ(second.tokens, greedyByHand(all, 5));
}

TEST_F(GenerateTest, SampledRequestsRepeatForASeedOnEveryThreadCount) {
  coil_generate_options_t options;
  coil_generate_options_initialize(&options);
  options.max_new_tokens = 16;
  options.sampling.temperature = 1.5f;
  options.sampling.top_k = 40;
  options.sampling.top_p = 0.95f;
  options.sampling.min_p = 0.01f;
  options.sampling.repetition_penalty = 1.1f;
  options.sampling.seed = 1234;
  std::vector<std::vector<int32_t>> runs;
  for (int32_t threads : {1, 3, 1}) {
    coil_session_t *s = newSession(threads);
    Streamed out;
    ASSERT_COIL_OK(coil_generate(s, tokenizer, prompt.data(), prompt.size(),
                                 &options, collect, &out, nullptr));
    runs.push_back(out.tokens);
    coil_session_release(s);
  }
  EXPECT_EQ(runs[0], runs[1]);
  EXPECT_EQ(runs[0], runs[2]);
  // Hot sampling leaves the greedy path (the weights make it near-flat
  // enough that 16 draws agreeing with the argmax would be a bug).
  EXPECT_NE(runs[0], greedyByHand(encode(prompt), 16));
}

TEST_F(GenerateTest, TheCppWrapperStreamsTheSameText) {
  coil_session_t *c = newSession();
  Streamed out;
  coil_generate_options_t options;
  coil_generate_options_initialize(&options);
  options.max_new_tokens = 8;
  ASSERT_COIL_OK(coil_generate(c, tokenizer, prompt.data(), prompt.size(),
                               &options, collect, &out, nullptr));
  coil_session_release(c);

  // The wrapper's handles over the same C objects: a Model and Tokenizer
  // loaded again, a Session of the same shape.
  ::coil::Model cppModel = ::coil::Model::load((dir + "/model.so").str());
  cppModel.bindWeights(::coil::Weights::open((dir + "/model.safetensors").str()));
  ::coil::Tokenizer t = ::coil::Tokenizer::load(dir.str().str());
  ::coil::SessionOptions sessionOptions;
  sessionOptions.maxContext = kContext;
  sessionOptions.threads = 2;
  ::coil::Session session(cppModel, sessionOptions);
  ::coil::GenerateOptions request;
  request.maxNewTokens = 8;
  std::string text;
  std::vector<int32_t> tokens;
  ::coil::GenerateStats stats = ::coil::generate(
      session, t, prompt, request, [&](int32_t token, std::string_view piece) {
        if (token >= 0)
          tokens.push_back(token);
        text += piece;
        return true;
      });
  EXPECT_EQ(tokens, out.tokens);
  EXPECT_EQ(text, out.text);
  EXPECT_EQ(stats.generated_tokens, 8);
  // An exception in the callback ends the request and reaches the caller.
  EXPECT_THROW(::coil::generate(session, t, " more", request,
                              [](int32_t, std::string_view) -> bool {
                                throw std::runtime_error("enough");
                              }),
               std::runtime_error);
  // Bad options throw ::coil::Error.
  request.sampling.topP = 2.0f;
  EXPECT_THROW(::coil::generate(session, t, prompt, request), ::coil::Error);
}

TEST_F(GenerateTest, BadRequestsAreRefusedBeforeAnythingRuns) {
  coil_session_t *s = newSession();
  coil_generate_options_t options;
  coil_generate_options_initialize(&options);
  auto refused = [&](coil_status_code_t code, const std::string &text) {
    coil_status_t *status = coil_generate(s, tokenizer, text.data(),
                                          text.size(), &options, nullptr,
                                          nullptr, nullptr);
    EXPECT_EQ(coil_status_code(status), code) << coil_status_message(status);
    coil_status_free(status);
    EXPECT_EQ(coil_session_length(s, 0), 0);
  };
  options.sampling.temperature = -1;
  refused(COIL_INVALID_ARGUMENT, prompt);
  coil_generate_options_initialize(&options);
  options.sampling.top_p = 0;
  refused(COIL_INVALID_ARGUMENT, prompt);
  coil_generate_options_initialize(&options);
  options.sampling.top_k = -2;
  refused(COIL_INVALID_ARGUMENT, prompt);
  coil_generate_options_initialize(&options);
  options.struct_size = 8;
  refused(COIL_INVALID_ARGUMENT, prompt);
  coil_generate_options_initialize(&options);
  options.add_special_tokens = 0;
  refused(COIL_INVALID_ARGUMENT, "");
  refused(COIL_OUT_OF_RANGE, std::string(kContext + 1, 'z'));
  coil_session_release(s);
}

} // namespace
