//===- RuntimeTest.cpp - The runtime's C and C++ APIs -----------*- C++ -*-===//
//
// Runs libcoil_runtime.so against the hand-written toy model
// (fixtures/toy_model.c, math in fixtures/toy_model.h) and its variants that
// each break one rule of the ABI. Values are checked against hand-computed
// numbers and against a plain C++ model of the toy's math; every failing
// call is checked for its status code, for a message that names the
// problem, and for leaving the session untouched (no kernel ran, lengths,
// state and logits unchanged). The toy's kernels count malformed
// descriptors, which every test using them checks to be zero.
//
// Sessions run kernels on several threads (ABI version 3); the toy's "head"
// kernel exchanges data between its tiles through a temp across barriers,
// so results equal to the single-threaded ones show that every tile ran on
// its share and that the barrier held.
//
//===----------------------------------------------------------------------===//

#include "coil/coil.h"
#include "coil/coil.hpp"
#include "runtime/src/weights/Safetensors.h"
#include "tests/unit/runtime/fixtures/toy_model.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include <dlfcn.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef COIL_TOY_MODEL
#error "COIL_TOY_MODEL must name the toy model library"
#endif
#ifndef COIL_TOY_MODEL_DIR
#error "COIL_TOY_MODEL_DIR must name the folder of the toy model variants"
#endif

//===----------------------------------------------------------------------===//
// Counting allocations
//===----------------------------------------------------------------------===//

// Replacing the global allocation functions in the test executable also
// replaces them for libcoil_runtime.so, so this counts every C++ allocation
// the runtime makes. ThreadSanitizer's runtime defines them itself, so its
// build counts nothing and skips the tests that count.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define COIL_TEST_TSAN 1
#endif
#endif
static std::atomic<int64_t> allocationCount{0};
#ifdef COIL_TEST_TSAN
constexpr bool kCountsAllocations = false;
#else
constexpr bool kCountsAllocations = true;

void *operator new(std::size_t size) {
  ++allocationCount;
  if (void *memory = std::malloc(size ? size : 1))
    return memory;
  throw std::bad_alloc();
}
void *operator new(std::size_t size, const std::nothrow_t &) noexcept {
  ++allocationCount;
  return std::malloc(size ? size : 1);
}
void operator delete(void *memory) noexcept { std::free(memory); }
void operator delete(void *memory, std::size_t) noexcept { std::free(memory); }
#endif

namespace {

using coil::weights::DType;
using coil::weights::TensorToWrite;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

/// The code and message of a status, which is freed.
struct Outcome {
  coil_status_code_t code;
  std::string message;
};

Outcome take(coil_status_t *status) {
  Outcome outcome{coil_status_code(status), coil_status_message(status)};
  coil_status_free(status);
  return outcome;
}

#define EXPECT_COIL_OK(expr)                                                   \
  do {                                                                         \
    Outcome outcome_ = take(expr);                                             \
    EXPECT_EQ(outcome_.code, COIL_OK) << outcome_.message;                     \
  } while (0)

#define ASSERT_COIL_OK(expr)                                                   \
  do {                                                                         \
    Outcome outcome_ = take(expr);                                             \
    ASSERT_EQ(outcome_.code, COIL_OK) << outcome_.message;                     \
  } while (0)

/// Succeeds if `status` has `code` and a message holding every needle.
::testing::AssertionResult isError(coil_status_t *status,
                                   coil_status_code_t code,
                                   std::vector<std::string> needles = {}) {
  Outcome outcome = take(status);
  if (outcome.code != code)
    return ::testing::AssertionFailure()
           << "code " << outcome.code << " instead of " << code
           << "; message: " << outcome.message;
  for (const std::string &needle : needles)
    if (outcome.message.find(needle) == std::string::npos)
      return ::testing::AssertionFailure() << "message \"" << outcome.message
                                           << "\" lacks \"" << needle << "\"";
  return ::testing::AssertionSuccess() << outcome.message;
}

struct ModelRelease {
  void operator()(coil_model_t *model) const { coil_model_release(model); }
};
struct WeightsRelease {
  void operator()(coil_weights_t *weights) const {
    coil_weights_release(weights);
  }
};
struct SessionRelease {
  void operator()(coil_session_t *session) const {
    coil_session_release(session);
  }
};
using ModelPtr = std::unique_ptr<coil_model_t, ModelRelease>;
using WeightsPtr = std::unique_ptr<coil_weights_t, WeightsRelease>;
using SessionPtr = std::unique_ptr<coil_session_t, SessionRelease>;

/// The path of toy model variant `name`.
std::string variantPath(const std::string &name) {
  return std::string(COIL_TOY_MODEL_DIR) + "/toy_model_" + name + ".so";
}

/// Loads `path`, which must succeed.
ModelPtr loadModel(const std::string &path = COIL_TOY_MODEL) {
  coil_model_t *model = nullptr;
  EXPECT_COIL_OK(coil_model_load(path.c_str(), &model));
  return ModelPtr(model);
}

/// Opens `path`, which must succeed.
WeightsPtr openWeights(const std::string &path) {
  coil_weights_t *weights = nullptr;
  EXPECT_COIL_OK(coil_weights_open(path.c_str(), &weights));
  return WeightsPtr(weights);
}

/// Creates a session, which must succeed.
SessionPtr createSession(coil_model_t *model, int64_t maxBatch,
                         int64_t maxContext, int32_t threads = 1) {
  coil_session_options_t options;
  coil_session_options_initialize(&options);
  options.max_batch = maxBatch;
  options.max_context = maxContext;
  options.threads = threads;
  coil_session_t *session = nullptr;
  EXPECT_COIL_OK(coil_session_create(model, &options, &session));
  return SessionPtr(session);
}

/// A copy of the logits of the last call.
struct Logits {
  std::vector<float> values;
  int64_t batch = 0, tokens = 0, vocab = 0;

  const float *row(int64_t b, int64_t t) const {
    return values.data() + (b * tokens + t) * vocab;
  }
  std::vector<float> rowVector(int64_t b, int64_t t) const {
    return std::vector<float>(row(b, t), row(b, t) + vocab);
  }
};

Logits logitsOf(const coil_session_t *session) {
  Logits logits;
  const float *data = nullptr;
  EXPECT_COIL_OK(coil_session_logits(session, &data, &logits.batch,
                                     &logits.tokens, &logits.vocab));
  if (data)
    logits.values.assign(data,
                         data + logits.batch * logits.tokens * logits.vocab);
  return logits;
}

/// The saved state of `sequence`.
std::vector<uint8_t> saveSequence(const coil_session_t *session,
                                  int64_t sequence) {
  std::vector<uint8_t> blob(coil_session_saved_size(session, sequence));
  EXPECT_COIL_OK(
      coil_session_save_sequence(session, sequence, blob.data(), blob.size()));
  return blob;
}

/// The header of a saved sequence, as documented in coil.h.
constexpr size_t kBlobHeader = 40;

/// The float at `index` of the state payload of `blob`.
float blobFloat(const std::vector<uint8_t> &blob, size_t index) {
  float value;
  std::memcpy(&value, blob.data() + kBlobHeader + index * sizeof(float),
              sizeof(value));
  return value;
}

/// The address of `name` in the loaded toy model at `path`.
template <typename T>
T *toySymbol(const char *name, const std::string &path = COIL_TOY_MODEL) {
  void *handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (!handle)
    return nullptr;
  void *address = ::dlsym(handle, name);
  // The runtime's own handle keeps the library loaded.
  ::dlclose(handle);
  return static_cast<T *>(address);
}

/// The toy's math in plain C++, one sequence at a time.
struct ToyReference {
  std::vector<float> embed = TOY_EMBED;
  std::vector<float> scale = TOY_SCALE;

  struct Sequence {
    std::vector<float> acc = std::vector<float>(TOY_VOCAB, 0.0f);
    std::vector<int32_t> tokens;
  };

  /// Feeds `tokens` and returns one row of logits per token.
  std::vector<std::vector<float>> feed(Sequence &seq,
                                       const std::vector<int32_t> &tokens) {
    std::vector<std::vector<float>> rows;
    for (int32_t id : tokens) {
      auto position = static_cast<float>(seq.tokens.size());
      std::vector<float> row(TOY_VOCAB);
      for (int v = 0; v < TOY_VOCAB; ++v) {
        seq.acc[v] = TOY_DECAY * seq.acc[v] + embed[id * TOY_VOCAB + v];
        row[v] = seq.acc[v] * scale[v] + TOY_POSITION_WEIGHT * position;
      }
      seq.tokens.push_back(id);
      rows.push_back(row);
    }
    return rows;
  }
};

/// A fresh directory per test, the default toy weights written in it, and
/// the toy model loaded with them bound. On teardown the toy's kernels must
/// have seen only well-formed descriptors.
class RuntimeTest : public ::testing::Test {
protected:
  void SetUp() override {
    char pattern[] = "/tmp/coil-runtime-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir = pattern;
    weightsPath =
        writeToyWeights("toy.safetensors", reference.embed, reference.scale);
    model = loadModel();
    ASSERT_TRUE(model);
    WeightsPtr weights = openWeights(weightsPath);
    ASSERT_TRUE(weights);
    ASSERT_COIL_OK(coil_model_bind_weights(model.get(), weights.get()));
    calls = toySymbol<int64_t>("toy_kernel_calls");
    tileCalls = toySymbol<int64_t>("toy_tile_calls");
    lastTiles = toySymbol<int64_t>("toy_last_tiles");
    lastTile0Thread = toySymbol<pthread_t>("toy_last_tile0_thread");
    descriptorErrors = toySymbol<int64_t>("toy_descriptor_errors");
    ASSERT_NE(calls, nullptr);
    ASSERT_NE(tileCalls, nullptr);
    ASSERT_NE(lastTiles, nullptr);
    ASSERT_NE(lastTile0Thread, nullptr);
    ASSERT_NE(descriptorErrors, nullptr);
    *descriptorErrors = 0;
  }

  void TearDown() override {
    if (descriptorErrors) {
      EXPECT_EQ(*descriptorErrors, 0) << "the runtime passed a descriptor the "
                                         "toy kernels found malformed";
    }
    model.reset();
    std::filesystem::remove_all(dir);
  }

  /// Writes `tensors` to `name` in the test directory; returns the path.
  std::string writeWeights(const std::string &name,
                           const std::vector<TensorToWrite> &tensors) {
    std::string path = dir + "/" + name;
    coil::weights::Status status =
        coil::weights::writeSafetensors(path, tensors);
    EXPECT_TRUE(status.isOk()) << status.message();
    return path;
  }

  /// Writes the toy's two f32 tensors with the given values.
  std::string writeToyWeights(const std::string &name,
                              const std::vector<float> &embed,
                              const std::vector<float> &scale) {
    return writeWeights(name,
                        {{"embed.weight", DType::F32, {5, 5}, embed.data()},
                         {"head.scale", DType::F32, {5}, scale.data()}});
  }

  /// Loads the toy model and binds the weights at `path` to it.
  ModelPtr loadWithWeights(const std::string &path,
                           const std::string &library = COIL_TOY_MODEL) {
    ModelPtr result = loadModel(library);
    WeightsPtr weights = openWeights(path);
    if (!result || !weights)
      return nullptr;
    EXPECT_COIL_OK(coil_model_bind_weights(result.get(), weights.get()));
    return result;
  }

  /// Creates a session on `threads` threads and checks that prefill and
  /// decode then allocate nothing.
  void expectNoAllocationAfterCreation(int32_t threads);

  /// Runs sessions of `sessionThreads` threads each from several threads at
  /// once and checks each against the reference.
  void expectConcurrentSessionsAgree(int32_t sessionThreads);

  std::string dir;
  std::string weightsPath;
  ToyReference reference;
  ModelPtr model;
  int64_t *calls = nullptr;
  int64_t *tileCalls = nullptr;
  int64_t *lastTiles = nullptr;
  pthread_t *lastTile0Thread = nullptr;
  int64_t *descriptorErrors = nullptr;
};

//===----------------------------------------------------------------------===//
// Status
//===----------------------------------------------------------------------===//

TEST(RuntimeStatusTest, NullIsSuccess) {
  EXPECT_EQ(coil_status_code(nullptr), COIL_OK);
  EXPECT_STREQ(coil_status_message(nullptr), "ok");
  coil_status_free(nullptr);
  EXPECT_EQ(COIL_API_VERSION, 10);
  EXPECT_EQ(COIL_SESSION_MAX_THREADS, 256);
}

TEST(RuntimeStatusTest, NullHandlesAreInvalidArguments) {
  coil_model_t *model = nullptr;
  EXPECT_TRUE(isError(coil_model_load(nullptr, &model), COIL_INVALID_ARGUMENT,
                      {"path"}));
  EXPECT_TRUE(isError(coil_model_load(COIL_TOY_MODEL, nullptr),
                      COIL_INVALID_ARGUMENT, {"out_model"}));
  coil_weights_t *weights = nullptr;
  EXPECT_TRUE(
      isError(coil_weights_open(nullptr, &weights), COIL_INVALID_ARGUMENT));
  EXPECT_TRUE(isError(coil_model_bind_weights(nullptr, nullptr),
                      COIL_INVALID_ARGUMENT));
  coil_session_t *session = nullptr;
  EXPECT_TRUE(isError(coil_session_create(nullptr, nullptr, &session),
                      COIL_INVALID_ARGUMENT));
  int32_t token = 0;
  EXPECT_TRUE(isError(coil_session_prefill(nullptr, &token, 1, 1),
                      COIL_INVALID_ARGUMENT));
  EXPECT_TRUE(
      isError(coil_session_decode(nullptr, &token, 1), COIL_INVALID_ARGUMENT));
  EXPECT_TRUE(
      isError(coil_session_logits(nullptr, nullptr, nullptr, nullptr, nullptr),
              COIL_INVALID_ARGUMENT));
  EXPECT_TRUE(isError(coil_session_save_sequence(nullptr, 0, nullptr, 0),
                      COIL_INVALID_ARGUMENT));
  EXPECT_TRUE(isError(coil_session_restore_sequence(nullptr, 0, nullptr, 0),
                      COIL_INVALID_ARGUMENT));
  EXPECT_EQ(coil_model_family(nullptr), nullptr);
  EXPECT_EQ(coil_model_vocab_size(nullptr), -1);
  EXPECT_EQ(coil_model_max_context(nullptr), -1);
  EXPECT_EQ(coil_model_num_kernels(nullptr), -1);
  EXPECT_EQ(coil_model_kernel_name(nullptr, 0), nullptr);
  EXPECT_EQ(coil_session_length(nullptr, 0), -1);
  EXPECT_EQ(coil_session_sequence_state_size(nullptr), 0u);
  coil_session_reset(nullptr);
  coil_session_options_initialize(nullptr);
  coil_model_release(nullptr);
  coil_weights_release(nullptr);
  coil_session_release(nullptr);
}

//===----------------------------------------------------------------------===//
// Loading models
//===----------------------------------------------------------------------===//

TEST(RuntimeLoadTest, ReadsMetadata) {
  ModelPtr model = loadModel();
  ASSERT_TRUE(model);
  EXPECT_STREQ(coil_model_family(model.get()), "toy");
  EXPECT_EQ(coil_model_vocab_size(model.get()), TOY_VOCAB);
  EXPECT_EQ(coil_model_max_context(model.get()), 0);
  ASSERT_EQ(coil_model_num_kernels(model.get()), 3);
  EXPECT_STREQ(coil_model_kernel_name(model.get(), 0), "embed_accumulate");
  EXPECT_STREQ(coil_model_kernel_name(model.get(), 1), "head");
  EXPECT_STREQ(coil_model_kernel_name(model.get(), 2), "kv_write");
  EXPECT_EQ(coil_model_kernel_name(model.get(), 3), nullptr);
  EXPECT_EQ(coil_model_kernel_name(model.get(), -1), nullptr);

  ModelPtr bounded = loadModel(variantPath("bounded"));
  ASSERT_TRUE(bounded);
  EXPECT_EQ(coil_model_max_context(bounded.get()), 8);
}

TEST(RuntimeLoadTest, MissingFileIsNotFound) {
  coil_model_t *model = nullptr;
  EXPECT_TRUE(isError(coil_model_load("/nonexistent/model.so", &model),
                      COIL_NOT_FOUND, {"/nonexistent/model.so"}));
  EXPECT_EQ(model, nullptr);
}

TEST(RuntimeLoadTest, NameWithoutSlashIsNotSearchedFor) {
  // dlopen would find the system's libm.so.6; the runtime looks only in the
  // working directory.
  char pattern[] = "/tmp/coil-runtime-cwd-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  std::string previous = std::filesystem::current_path();
  std::filesystem::current_path(pattern);
  coil_model_t *model = nullptr;
  EXPECT_TRUE(
      isError(coil_model_load("libm.so.6", &model), COIL_NOT_FOUND, {"libm"}));
  std::filesystem::current_path(previous);
  std::filesystem::remove_all(pattern);
}

/// Copies the first `size` bytes of the toy model to `path`.
void writePrefix(const std::string &path, size_t size) {
  std::ifstream in(COIL_TOY_MODEL, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  ASSERT_LT(size, bytes.size());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(size));
}

TEST(RuntimeLoadTest, TruncatedLibraryIsRejected) {
  char pattern[] = "/tmp/coil-runtime-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  std::string dir = pattern;
  auto size = static_cast<size_t>(std::filesystem::file_size(COIL_TOY_MODEL));
  for (size_t prefix : {size_t(10), size_t(200), size / 2, size - 1}) {
    std::string path = dir + "/truncated.so";
    writePrefix(path, prefix);
    coil_model_t *model = nullptr;
    EXPECT_TRUE(
        isError(coil_model_load(path.c_str(), &model), COIL_BAD_MODEL, {path}))
        << "prefix of " << prefix << " bytes";
    EXPECT_EQ(model, nullptr);
  }
  std::filesystem::remove_all(dir);
}

TEST(RuntimeLoadTest, FilesThatAreNotLibrariesAreRejected) {
  char pattern[] = "/tmp/coil-runtime-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  std::string dir = pattern;
  std::string text = dir + "/model.so";
  std::ofstream(text) << "not a shared library, just text\n";
  coil_model_t *model = nullptr;
  EXPECT_TRUE(isError(coil_model_load(text.c_str(), &model), COIL_BAD_MODEL,
                      {"no ELF magic"}));
  EXPECT_TRUE(isError(coil_model_load(dir.c_str(), &model), COIL_BAD_MODEL,
                      {"not a regular file"}));
  std::filesystem::remove_all(dir);
}

TEST(RuntimeLoadTest, DamagedLibraryIsRefusedBeforeLoading) {
  // Every byte flipped in turn over a stride of the file: the content
  // checksum refuses each copy before dlopen could run anything in it.
  char pattern[] = "/tmp/coil-runtime-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  std::string dir = pattern;
  std::ifstream in(COIL_TOY_MODEL, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 4096u);
  std::string path = dir + "/damaged.so";
  int refused = 0, tried = 0;
  for (size_t at = 64; at < bytes.size(); at += bytes.size() / 61, ++tried) {
    std::string copy = bytes;
    copy[at] = static_cast<char>(copy[at] ^ 0x20);
    std::ofstream(path, std::ios::binary | std::ios::trunc) << copy;
    coil_model_t *model = nullptr;
    Outcome outcome = take(coil_model_load(path.c_str(), &model));
    EXPECT_EQ(model, nullptr) << "byte " << at;
    if (outcome.code == COIL_BAD_MODEL &&
        outcome.message.find("content checksum") != std::string::npos)
      ++refused;
    else
      EXPECT_EQ(outcome.code, COIL_BAD_MODEL)
          << "byte " << at << ": " << outcome.message;
  }
  // A flip in the section or program headers may be caught by the ELF
  // checks first; everything else by the checksum.
  EXPECT_GE(refused, tried - 4);
  coil_model_t *model = nullptr;
  EXPECT_TRUE(
      isError(coil_model_load(variantPath("no_checksum").c_str(), &model),
              COIL_BAD_MODEL, {"no content checksum"}));
  std::filesystem::remove_all(dir);
}

TEST(RuntimeLoadTest, LibraryWithoutMetadataIsNotAModel) {
  // A sealed library without metadata; a system library is not even
  // sealed, so it is refused before dlopen.
  coil_model_t *model = nullptr;
  std::string path = variantPath("no_metadata");
  EXPECT_TRUE(isError(coil_model_load(path.c_str(), &model), COIL_BAD_MODEL,
                      {path, "coil_model_metadata"}));

  // A system library: the libm this process uses.
  Dl_info info;
  void *cosine = ::dlsym(RTLD_DEFAULT, "cos");
  ASSERT_NE(cosine, nullptr);
  ASSERT_NE(::dladdr(cosine, &info), 0);
  ASSERT_NE(info.dli_fname, nullptr);
  std::string libm = std::filesystem::canonical(info.dli_fname);
  EXPECT_TRUE(isError(coil_model_load(libm.c_str(), &model), COIL_BAD_MODEL,
                      {"no content checksum"}));
  EXPECT_EQ(model, nullptr);
}

struct BadMetadataCase {
  const char *variant;
  std::vector<std::string> needles;
};

/// Names the case in test listings by its variant.
void PrintTo(const BadMetadataCase &param, std::ostream *os) {
  *os << param.variant;
}

class RuntimeBadMetadataTest
    : public ::testing::TestWithParam<BadMetadataCase> {};

TEST_P(RuntimeBadMetadataTest, IsRejectedWithTheField) {
  const BadMetadataCase &param = GetParam();
  std::string path = variantPath(param.variant);
  std::vector<std::string> needles = param.needles;
  needles.push_back(path);
  coil_model_t *model = nullptr;
  EXPECT_TRUE(
      isError(coil_model_load(path.c_str(), &model), COIL_BAD_MODEL, needles));
  EXPECT_EQ(model, nullptr);
}

INSTANTIATE_TEST_SUITE_P(
    Variants, RuntimeBadMetadataTest,
    ::testing::Values(
        BadMetadataCase{"bad_kernel_index",
                        {"entries.prefill.steps[0].kernel",
                         "kernel index 7 is out of range",
                         "the model has 3 kernels"}},
        BadMetadataCase{"bad_buffer_index",
                        {"entries.decode.steps[2].args[4]",
                         "buffer index 9 is out of range"}},
        BadMetadataCase{"missing_symbol",
                        {"kernels[1].symbol", "toy_no_such_kernel", "head"}},
        BadMetadataCase{"unknown_dtype",
                        {".buffers[6].dtype", "unknown dtype \"f64\""}},
        BadMetadataCase{"bad_json", {"not valid JSON"}},
        BadMetadataCase{"wrong_version",
                        {"metadata: version", "version 1 is not supported",
                         "reads version 7"}},
        BadMetadataCase{"state_without_batch",
                        {"states[0].shape", "must be \"B\""}},
        BadMetadataCase{"missing_cpu_feature",
                        {"compiled for future-cpu (avx512)",
                         "this CPU lacks no-such-feature",
                         "--target-cpu=host"}},
        BadMetadataCase{
            "bad_layout",
            {"weights[0].layout.kind", "expected \"rows\" or \"panels\""}},
        BadMetadataCase{
            "packed_vector",
            {"weights[1].layout", "only a matrix can be packed in panels"}},
        BadMetadataCase{
            "empty_panel_scale",
            {"weights[0].layout.scale", "expected a non-empty string"}},
        BadMetadataCase{"bad_cost",
                        {"entries.decode.steps[2].cost.flops[1]",
                         "expected a finite number >= 0"}}),
    [](const ::testing::TestParamInfo<BadMetadataCase> &info) {
      return std::string(info.param.variant);
    });

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

TEST_F(RuntimeTest, OpeningMissingOrMalformedWeights) {
  coil_weights_t *weights = nullptr;
  std::string missing = dir + "/missing.safetensors";
  EXPECT_TRUE(isError(coil_weights_open(missing.c_str(), &weights),
                      COIL_NOT_FOUND, {missing}));
  std::string garbage = dir + "/garbage.safetensors";
  std::ofstream(garbage) << "garbage";
  EXPECT_TRUE(isError(coil_weights_open(garbage.c_str(), &weights),
                      COIL_BAD_WEIGHTS, {garbage}));
  EXPECT_EQ(weights, nullptr);
}

TEST_F(RuntimeTest, MissingWeightIsRejected) {
  std::vector<float> embed = TOY_EMBED;
  std::string path =
      writeWeights("missing.safetensors",
                   {{"embed.weight", DType::F32, {5, 5}, embed.data()}});
  ModelPtr fresh = loadModel();
  WeightsPtr weights = openWeights(path);
  EXPECT_TRUE(isError(
      coil_model_bind_weights(fresh.get(), weights.get()), COIL_BAD_WEIGHTS,
      {"\"head.scale\"", "f32 [5]", "not in the weight files"}));
  coil_session_t *session = nullptr;
  EXPECT_TRUE(isError(coil_session_create(fresh.get(), nullptr, &session),
                      COIL_FAILED_PRECONDITION, {"no weights bound"}));
}

TEST_F(RuntimeTest, MisshapenWeightIsRejected) {
  std::vector<float> embed(20, 0.0f), scale = TOY_SCALE;
  std::string path = writeWeights(
      "shape.safetensors", {{"embed.weight", DType::F32, {5, 4}, embed.data()},
                            {"head.scale", DType::F32, {5}, scale.data()}});
  ModelPtr fresh = loadModel();
  WeightsPtr weights = openWeights(path);
  EXPECT_TRUE(isError(
      coil_model_bind_weights(fresh.get(), weights.get()), COIL_BAD_WEIGHTS,
      {"\"embed.weight\"", path, "shape [5, 4]", "expects f32 [5, 5]"}));
}

TEST_F(RuntimeTest, PanelScalesAreBoundByName) {
  // A scale that is a weight of the right extent binds; one the files lack,
  // or of another extent, is refused naming both tensors.
  {
    ModelPtr scaled = loadModel(variantPath("scaled_panels"));
    WeightsPtr weights = openWeights(weightsPath);
    EXPECT_COIL_OK(coil_model_bind_weights(scaled.get(), weights.get()));
    coil_bind_stats_t stats{};
    stats.struct_size = sizeof(stats);
    coil_model_bind_stats(scaled.get(), &stats);
    EXPECT_EQ(stats.packed_weights, 1);
  }
  {
    ModelPtr missing = loadModel(variantPath("missing_panel_scale"));
    WeightsPtr weights = openWeights(weightsPath);
    EXPECT_TRUE(isError(coil_model_bind_weights(missing.get(), weights.get()),
                        COIL_BAD_WEIGHTS,
                        {"\"no.such\"", "the scale of the panels of "
                                        "\"embed.weight\"",
                         "not in the weight files"}));
  }
  std::vector<float> embed = TOY_EMBED, scale = {1, 2, 3, 4};
  std::string path = writeWeights(
      "short.safetensors", {{"embed.weight", DType::F32, {5, 5}, embed.data()},
                            {"head.scale", DType::F32, {4}, scale.data()}});
  ModelPtr scaled = loadModel(variantPath("scaled_panels"));
  WeightsPtr weights = openWeights(path);
  EXPECT_TRUE(isError(coil_model_bind_weights(scaled.get(), weights.get()),
                      COIL_BAD_WEIGHTS,
                      {"\"head.scale\"", "\"embed.weight\"", "shape [4]",
                       "the panels need [5]"}));
}

TEST_F(RuntimeTest, UnusedTensorIsRejected) {
  std::vector<float> embed = TOY_EMBED, scale = TOY_SCALE, extra = {1, 2};
  std::string path = writeWeights(
      "extra.safetensors", {{"embed.weight", DType::F32, {5, 5}, embed.data()},
                            {"head.scale", DType::F32, {5}, scale.data()},
                            {"lm_head.bias", DType::F32, {2}, extra.data()}});
  ModelPtr fresh = loadModel();
  WeightsPtr weights = openWeights(path);
  EXPECT_TRUE(isError(coil_model_bind_weights(fresh.get(), weights.get()),
                      COIL_BAD_WEIGHTS,
                      {"tensor \"lm_head.bias\"", "not a weight"}));
}

TEST_F(RuntimeTest, BindingTwiceIsRejected) {
  WeightsPtr weights = openWeights(weightsPath);
  EXPECT_TRUE(isError(coil_model_bind_weights(model.get(), weights.get()),
                      COIL_FAILED_PRECONDITION, {"already bound"}));
}

/// The F16 bits of `values`.
std::vector<uint16_t> toHalf(const std::vector<float> &values, DType dtype) {
  std::vector<uint16_t> half(values.size());
  coil::weights::convertFromF32(dtype, values.data(), half.data(),
                                values.size());
  return half;
}

TEST_F(RuntimeTest, F16AndBF16AreWidenedToF32) {
  // Values exact in both formats, so the logits are exact.
  std::vector<float> embed = TOY_EMBED;
  for (float &value : embed)
    value *= 0.75f;
  std::vector<float> scale = {1.0f, 2.0f, 0.5f, -1.5f, 4.0f};
  std::vector<uint16_t> embedBF16 = toHalf(embed, DType::BF16);
  std::vector<uint16_t> scaleF16 = toHalf(scale, DType::F16);
  std::string path =
      writeWeights("half.safetensors",
                   {{"embed.weight", DType::BF16, {5, 5}, embedBF16.data()},
                    {"head.scale", DType::F16, {5}, scaleF16.data()}});
  ModelPtr wide = loadWithWeights(path);
  ASSERT_TRUE(wide);
  SessionPtr session = createSession(wide.get(), 1, 8);
  std::vector<int32_t> tokens = {2, 4, 2};
  ASSERT_COIL_OK(coil_session_prefill(session.get(), tokens.data(), 1, 3));

  ToyReference expected;
  expected.embed = embed;
  expected.scale = scale;
  ToyReference::Sequence seq;
  auto rows = expected.feed(seq, tokens);
  Logits logits = logitsOf(session.get());
  for (int64_t t = 0; t < 3; ++t)
    EXPECT_EQ(logits.rowVector(0, t), rows[t]) << "row " << t;
}

/// A weight the model stores as f16 takes any float tensor: F16 as it is,
/// F32 and BF16 rounded to nearest even (the values the compiled code then
/// reads are checked by CompiledVsReferenceTest's bf16 and f16 models).
TEST_F(RuntimeTest, AnF16WeightTakesEveryFloatDtype) {
  std::string f16Model = variantPath("f16_scale");
  std::vector<float> embed = TOY_EMBED, scale = TOY_SCALE;
  std::vector<uint16_t> scaleF16 = toHalf(scale, DType::F16);
  std::vector<uint16_t> scaleBF16 = toHalf(scale, DType::BF16);
  struct Stored {
    DType dtype;
    const void *data;
  };
  for (Stored stored :
       {Stored{DType::F32, scale.data()}, Stored{DType::F16, scaleF16.data()},
        Stored{DType::BF16, scaleBF16.data()}}) {
    std::string path =
        writeWeights("scale.safetensors",
                     {{"embed.weight", DType::F32, {5, 5}, embed.data()},
                      {"head.scale", stored.dtype, {5}, stored.data}});
    ModelPtr fresh = loadModel(f16Model);
    WeightsPtr weights = openWeights(path);
    EXPECT_COIL_OK(coil_model_bind_weights(fresh.get(), weights.get()));
  }
}

/// The 8-byte little-endian encoding of `value`.
std::string u64LE(uint64_t value) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i)
    bytes[i] = static_cast<char>(value >> (8 * i));
  return bytes;
}

TEST_F(RuntimeTest, BindStatsReportWeightsThatAreNotFinite) {
  coil_bind_stats_t stats;
  stats.struct_size = sizeof(stats);
  coil_model_bind_stats(model.get(), &stats);
  EXPECT_EQ(stats.nonfinite_weights, 0);
  EXPECT_EQ(stats.first_nonfinite_weight, nullptr);
  EXPECT_GE(stats.bind_seconds, 0.0);

  std::vector<float> scale = {1, 1, std::nanf(""), 1, 1};
  std::vector<float> embed = reference.embed;
  embed[3] = std::numeric_limits<float>::infinity();
  ModelPtr bad =
      loadWithWeights(writeToyWeights("nan.safetensors", embed, scale));
  ASSERT_TRUE(bad);
  coil_model_bind_stats(bad.get(), &stats);
  EXPECT_EQ(stats.nonfinite_weights, 2);
  ASSERT_NE(stats.first_nonfinite_weight, nullptr);
  EXPECT_STREQ(stats.first_nonfinite_weight, "embed.weight");

  // A caller compiled before the field existed: nothing past its struct.
  coil_bind_stats_t older;
  std::memset(&older, 0x5a, sizeof(older));
  older.struct_size = offsetof(coil_bind_stats_t, nonfinite_weights);
  coil_model_bind_stats(bad.get(), &older);
  EXPECT_GE(older.bind_seconds, 0.0);
  int64_t untouched;
  std::memset(&untouched, 0x5a, sizeof(untouched));
  EXPECT_EQ(older.nonfinite_weights, untouched);
}

TEST_F(RuntimeTest, UnalignedWeightsAreCopied) {
  // The header's length leaves the data section 2 bytes past an 8-byte
  // boundary, so both tensors' floats are misaligned in the mapping.
  std::vector<float> embed = TOY_EMBED, scale = {2, 2, 2, 2, 2};
  std::string header = R"({"head.scale":{"dtype":"F32","shape":[5],)"
                       R"("data_offsets":[100,120]},)"
                       R"("embed.weight":{"dtype":"F32","shape":[5,5],)"
                       R"("data_offsets":[0,100]}})";
  header.append((8 + 2 - header.size() % 8) % 8, ' ');
  std::string data(120, '\0');
  std::memcpy(&data[0], embed.data(), 100);
  std::memcpy(&data[100], scale.data(), 20);
  std::string path = dir + "/unaligned.safetensors";
  std::ofstream(path, std::ios::binary)
      << u64LE(header.size()) << header << data;
  ModelPtr copied = loadWithWeights(path);
  ASSERT_TRUE(copied);
  SessionPtr session = createSession(copied.get(), 1, 4);
  int32_t token = 3;
  ASSERT_COIL_OK(coil_session_prefill(session.get(), &token, 1, 1));
  Logits logits = logitsOf(session.get());
  EXPECT_EQ(logits.rowVector(0, 0), std::vector<float>({0, 0, 0, 0, 2}));
}

TEST_F(RuntimeTest, ModelKeepsWeightsAndSessionKeepsModelAlive) {
  // Bind, then release the weights handle and the model handle; the session
  // still runs.
  ModelPtr fresh = loadModel();
  {
    WeightsPtr weights = openWeights(weightsPath);
    ASSERT_COIL_OK(coil_model_bind_weights(fresh.get(), weights.get()));
  }
  SessionPtr session = createSession(fresh.get(), 1, 4);
  fresh.reset();
  int32_t token = 0;
  ASSERT_COIL_OK(coil_session_prefill(session.get(), &token, 1, 1));
  EXPECT_EQ(logitsOf(session.get()).rowVector(0, 0),
            std::vector<float>({0, 1, 0, 0, 0}));
}

//===----------------------------------------------------------------------===//
// Sessions
//===----------------------------------------------------------------------===//

TEST_F(RuntimeTest, SessionOptionsAreChecked) {
  coil_session_options_t options;
  coil_session_options_initialize(&options);
  EXPECT_EQ(options.struct_size, sizeof(coil_session_options_t));
  EXPECT_EQ(options.max_batch, 1);
  EXPECT_EQ(options.max_context, 2048);
  EXPECT_EQ(options.threads, 1);

  coil_session_t *session = nullptr;
  coil_session_options_t bad = options;
  bad.max_batch = 0;
  EXPECT_TRUE(isError(coil_session_create(model.get(), &bad, &session),
                      COIL_INVALID_ARGUMENT, {"max_batch"}));
  bad = options;
  bad.max_context = -3;
  EXPECT_TRUE(isError(coil_session_create(model.get(), &bad, &session),
                      COIL_INVALID_ARGUMENT, {"max_context"}));
  for (int32_t threads : {0, -1, COIL_SESSION_MAX_THREADS + 1, INT32_MAX}) {
    bad = options;
    bad.threads = threads;
    EXPECT_TRUE(isError(
        coil_session_create(model.get(), &bad, &session), COIL_INVALID_ARGUMENT,
        {"threads must be from 1 to 256", "found " + std::to_string(threads)}));
  }
  bad = options;
  bad.struct_size = 4;
  EXPECT_TRUE(isError(coil_session_create(model.get(), &bad, &session),
                      COIL_INVALID_ARGUMENT, {"struct_size"}));
  bad.struct_size = offsetof(coil_session_options_t, threads) - 1;
  EXPECT_TRUE(isError(coil_session_create(model.get(), &bad, &session),
                      COIL_INVALID_ARGUMENT, {"struct_size", "at least 24"}));
  EXPECT_TRUE(isError(coil_session_create(model.get(), &options, nullptr),
                      COIL_INVALID_ARGUMENT, {"out_session"}));
  EXPECT_EQ(session, nullptr);

  // NULL options are the defaults.
  ASSERT_COIL_OK(coil_session_create(model.get(), nullptr, &session));
  SessionPtr owned(session);
  EXPECT_EQ(coil_session_length(session, 0), 0);
  EXPECT_EQ(coil_session_length(session, 1), -1);
  // acc (5 floats) and kv (2048 floats) after the header.
  EXPECT_EQ(coil_session_sequence_state_size(session),
            kBlobHeader + 4 * (5 + 2048));
}

TEST_F(RuntimeTest, HugeSessionsAreRefusedBeforeAllocating) {
  coil_session_options_t options;
  coil_session_options_initialize(&options);
  coil_session_t *session = nullptr;
  for (int64_t batch : {int64_t(COIL_SESSION_MAX_BATCH) + 1,
                        int64_t(1000000000000), int64_t(1) << 62, INT64_MAX}) {
    coil_session_options_t huge = options;
    huge.max_batch = batch;
    EXPECT_TRUE(isError(
        coil_session_create(model.get(), &huge, &session), COIL_OUT_OF_RANGE,
        {"max_batch " + std::to_string(batch), "limit of 1048576 sequences"}));
  }
  // 2^20 sequences of 2^30 tokens: exabytes, refused by the memory check.
  coil_session_options_t huge = options;
  huge.max_batch = COIL_SESSION_MAX_BATCH;
  huge.max_context = int64_t(1) << 30;
  EXPECT_TRUE(isError(coil_session_create(model.get(), &huge, &session),
                      COIL_OUT_OF_MEMORY,
                      {"the session needs", "max_batch 1048576",
                       "bytes of memory this process may still take"}));
  EXPECT_EQ(session, nullptr);
}

TEST_F(RuntimeTest, SessionBeyondAMemoryLimitFailsCleanly) {
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
  GTEST_SKIP() << "sanitizers reserve more address space than the limit";
#endif
#endif
  // In a child limited to 512 MiB more address space than it uses, a
  // session of about 1 GiB must fail with COIL_OUT_OF_MEMORY, not be killed.
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::ifstream status("/proc/self/status");
    std::string line;
    uint64_t used = 0;
    while (std::getline(status, line))
      if (line.rfind("VmSize:", 0) == 0)
        used = std::strtoull(line.c_str() + 7, nullptr, 10) * 1024;
    struct rlimit limit = {used + (uint64_t(512) << 20),
                           used + (uint64_t(512) << 20)};
    if (used == 0 || ::setrlimit(RLIMIT_AS, &limit) != 0)
      ::_exit(2);
    coil_session_options_t options;
    coil_session_options_initialize(&options);
    options.max_batch = 1 << 14;
    options.max_context = 1 << 14;
    coil_session_t *session = nullptr;
    coil_status_t *result =
        coil_session_create(model.get(), &options, &session);
    bool clean =
        coil_status_code(result) == COIL_OUT_OF_MEMORY &&
        std::string(coil_status_message(result)).find("may still take") !=
            std::string::npos &&
        session == nullptr;
    coil_status_free(result);
    ::_exit(clean ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status))
      << "the child was killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "1: not COIL_OUT_OF_MEMORY with the message; 2: no limit set";
}

TEST_F(RuntimeTest, OptionsOfAnOlderCallerRunOnOneThread) {
  // A caller compiled before `threads` existed passes the shorter struct;
  // whatever follows it in memory is not read.
  coil_session_options_t options;
  coil_session_options_initialize(&options);
  options.struct_size = offsetof(coil_session_options_t, threads);
  options.max_batch = 2;
  options.max_context = 8;
  options.threads = -7;
  coil_session_t *session = nullptr;
  ASSERT_COIL_OK(coil_session_create(model.get(), &options, &session));
  SessionPtr owned(session);
  std::vector<int32_t> tokens = {1, 2};
  ASSERT_COIL_OK(coil_session_prefill(session, tokens.data(), 2, 1));
  EXPECT_EQ(*lastTiles, 1);
  // A caller compiled against a longer, future struct is fine too.
  options.struct_size = sizeof(coil_session_options_t) + 16;
  options.threads = 2;
  ASSERT_COIL_OK(coil_session_create(model.get(), &options, &session));
  owned.reset(session);
  ASSERT_COIL_OK(coil_session_prefill(session, tokens.data(), 2, 1));
  EXPECT_EQ(*lastTiles, 2);
}

TEST_F(RuntimeTest, AllLogitsRunsAPerTokenPrefill) {
  // The toy has no "prefill_all"; its "prefill" already returns every
  // position's logits, so all_logits runs it. An older caller's struct
  // without the field gets the default.
  coil_session_options_t options;
  coil_session_options_initialize(&options);
  EXPECT_EQ(options.all_logits, 0);
  options.max_context = 8;
  options.all_logits = 1;
  for (uint32_t size :
       {uint32_t(sizeof(coil_session_options_t)),
        uint32_t(offsetof(coil_session_options_t, all_logits))}) {
    options.struct_size = size;
    coil_session_t *session = nullptr;
    ASSERT_COIL_OK(coil_session_create(model.get(), &options, &session));
    SessionPtr owned(session);
    std::vector<int32_t> tokens = {0, 1, 2};
    ASSERT_COIL_OK(coil_session_prefill(session, tokens.data(), 1, 3));
    Logits logits = logitsOf(session);
    EXPECT_EQ(logits.batch, 1);
    EXPECT_EQ(logits.tokens, 3);
  }
}

TEST_F(RuntimeTest, AllLogitsNeedsAnEntryThatComputesThem) {
  ModelPtr last = loadWithWeights(weightsPath, variantPath("last_logits"));
  ASSERT_TRUE(last);
  coil_session_options_t options;
  coil_session_options_initialize(&options);
  options.max_context = 8;
  coil_session_t *session = nullptr;
  ASSERT_COIL_OK(coil_session_create(last.get(), &options, &session));
  coil_session_release(session);
  options.all_logits = 1;
  session = nullptr;
  EXPECT_TRUE(isError(coil_session_create(last.get(), &options, &session),
                      COIL_FAILED_PRECONDITION,
                      {"all_logits", "no entry \"prefill_all\""}));
  EXPECT_EQ(session, nullptr);
}

TEST_F(RuntimeTest, VerifyNeedsItsEntryAndRoom) {
  coil_session_options_t options;
  coil_session_options_initialize(&options);
  EXPECT_EQ(options.verify_tokens, 0);
  options.max_context = 8;
  coil_session_t *session = nullptr;
  // The toy has no entry "verify".
  options.verify_tokens = 2;
  EXPECT_TRUE(isError(coil_session_create(model.get(), &options, &session),
                      COIL_FAILED_PRECONDITION, {"no entry \"verify\""}));
  options.verify_tokens = 9;
  EXPECT_TRUE(isError(coil_session_create(model.get(), &options, &session),
                      COIL_INVALID_ARGUMENT,
                      {"verify_tokens must be from 0 to max_context 8"}));
  EXPECT_EQ(session, nullptr);
  // A caller compiled before verify_tokens existed gets no verify,
  // whatever lies past its struct.
  options.struct_size = offsetof(coil_session_options_t, reserved1);
  ASSERT_COIL_OK(coil_session_create(model.get(), &options, &session));
  SessionPtr owned(session);
  std::vector<int32_t> tokens = {0, 1};
  EXPECT_TRUE(isError(coil_session_verify_at(session, 0, tokens.data(), 1, 2),
                      COIL_FAILED_PRECONDITION, {"verify_tokens 0"}));
  EXPECT_TRUE(isError(coil_session_verify_at(nullptr, 0, tokens.data(), 1, 2),
                      COIL_INVALID_ARGUMENT));
  EXPECT_EQ(coil_session_length(session, 0), 0);
}

TEST_F(RuntimeTest, ExportedOptionsInitializerFillsTheOlderStruct) {
  // Binaries compiled against C API 9 call the library's function, with
  // the 40-byte struct of that version: nothing past it is written.
  using Initialize = void (*)(void *);
  auto initialize = reinterpret_cast<Initialize>(
      dlsym(RTLD_DEFAULT, "coil_session_options_initialize"));
  ASSERT_NE(initialize, nullptr) << dlerror();
  unsigned char bytes[64];
  std::memset(bytes, 0xAB, sizeof(bytes));
  initialize(bytes);
  uint32_t size;
  std::memcpy(&size, bytes, sizeof(size));
  EXPECT_EQ(size, 40u);
  int64_t maxBatch, maxContext;
  std::memcpy(&maxBatch, bytes + 8, sizeof(maxBatch));
  std::memcpy(&maxContext, bytes + 16, sizeof(maxContext));
  EXPECT_EQ(maxBatch, 1);
  EXPECT_EQ(maxContext, 2048);
  for (size_t i = 40; i < sizeof(bytes); ++i)
    EXPECT_EQ(bytes[i], 0xAB) << "byte " << i;
}

TEST_F(RuntimeTest, MaxContextIsBoundedByTheModel) {
  ModelPtr bounded = loadWithWeights(weightsPath, variantPath("bounded"));
  ASSERT_TRUE(bounded);
  coil_session_t *session = nullptr;
  EXPECT_TRUE(isError(coil_session_create(bounded.get(), nullptr, &session),
                      COIL_OUT_OF_RANGE,
                      {"max_context 2048", "model's max_context 8"}));
  coil_session_options_t options;
  coil_session_options_initialize(&options);
  options.max_context = 9;
  EXPECT_TRUE(isError(coil_session_create(bounded.get(), &options, &session),
                      COIL_OUT_OF_RANGE));
  options.max_context = 8;
  ASSERT_COIL_OK(coil_session_create(bounded.get(), &options, &session));
  coil_session_release(session);
}

TEST_F(RuntimeTest, PrefillLogitsByHand) {
  std::vector<float> scale = {1, 2, 3, 4, 5};
  std::string path =
      writeToyWeights("scaled.safetensors", reference.embed, scale);
  ModelPtr scaled = loadWithWeights(path);
  ASSERT_TRUE(scaled);
  SessionPtr session = createSession(scaled.get(), 1, 16);
  int64_t before = *calls;
  std::vector<int32_t> tokens = {0, 1};
  ASSERT_COIL_OK(coil_session_prefill(session.get(), tokens.data(), 1, 2));
  EXPECT_EQ(*calls - before, 3) << "one call per step";
  // Token 0 adds e1: acc = (0, 1, 0, 0, 0), position 0.
  // Token 1 adds e2: acc = (0, 0.5, 1, 0, 0), position 1 adds 100.
  Logits logits = logitsOf(session.get());
  EXPECT_EQ(logits.batch, 1);
  EXPECT_EQ(logits.tokens, 2);
  EXPECT_EQ(logits.vocab, 5);
  EXPECT_EQ(logits.rowVector(0, 0), std::vector<float>({0, 2, 0, 0, 0}));
  EXPECT_EQ(logits.rowVector(0, 1),
            std::vector<float>({100, 101, 103, 100, 100}));
  EXPECT_EQ(coil_session_length(session.get(), 0), 2);

  // Decode token 4 (adds e0) at position 2: acc = (1, 0.25, 0.5, 0, 0).
  int32_t next = 4;
  ASSERT_COIL_OK(coil_session_decode(session.get(), &next, 1));
  logits = logitsOf(session.get());
  EXPECT_EQ(logits.tokens, 1);
  EXPECT_EQ(logits.rowVector(0, 0),
            std::vector<float>({201, 200.5f, 201.5f, 200, 200}));
  EXPECT_EQ(coil_session_length(session.get(), 0), 3);
}

TEST_F(RuntimeTest, DecodeAfterPrefillEqualsLongerPrefill) {
  std::vector<int32_t> prompt = {3, 1, 4, 1, 0, 2};
  SessionPtr stepwise = createSession(model.get(), 1, 16);
  SessionPtr whole = createSession(model.get(), 1, 16);
  ASSERT_COIL_OK(coil_session_prefill(stepwise.get(), prompt.data(), 1, 4));
  ASSERT_COIL_OK(coil_session_decode(stepwise.get(), &prompt[4], 1));
  ASSERT_COIL_OK(coil_session_decode(stepwise.get(), &prompt[5], 1));
  ASSERT_COIL_OK(coil_session_prefill(whole.get(), prompt.data(), 1, 6));
  EXPECT_EQ(logitsOf(stepwise.get()).rowVector(0, 0),
            logitsOf(whole.get()).rowVector(0, 5));
  EXPECT_EQ(saveSequence(stepwise.get(), 0), saveSequence(whole.get(), 0));

  ToyReference::Sequence seq;
  auto rows = reference.feed(seq, prompt);
  Logits logits = logitsOf(whole.get());
  for (int64_t t = 0; t < 6; ++t)
    EXPECT_EQ(logits.rowVector(0, t), rows[t]) << "row " << t;
}

TEST_F(RuntimeTest, PositionsFollowEachSequenceLength) {
  SessionPtr session = createSession(model.get(), 2, 8);
  std::vector<int32_t> both = {0, 1, 2, 3};
  ASSERT_COIL_OK(coil_session_prefill(session.get(), both.data(), 2, 2));
  // Only sequence 0 grows: positions 2, 3, 4.
  std::vector<int32_t> first = {4, 4, 4};
  ASSERT_COIL_OK(coil_session_prefill(session.get(), first.data(), 1, 3));
  EXPECT_EQ(coil_session_length(session.get(), 0), 5);
  EXPECT_EQ(coil_session_length(session.get(), 1), 2);
  Logits logits = logitsOf(session.get());
  ASSERT_EQ(logits.batch, 1);
  ASSERT_EQ(logits.tokens, 3);
  ToyReference::Sequence seq0, seq1;
  reference.feed(seq0, {0, 1});
  reference.feed(seq1, {2, 3});
  auto rows0 = reference.feed(seq0, first);
  for (int64_t t = 0; t < 3; ++t)
    EXPECT_EQ(logits.rowVector(0, t), rows0[t]) << "row " << t;

  // Decode both: positions 5 and 2.
  std::vector<int32_t> next = {1, 0};
  ASSERT_COIL_OK(coil_session_decode(session.get(), next.data(), 2));
  logits = logitsOf(session.get());
  EXPECT_EQ(logits.rowVector(0, 0), reference.feed(seq0, {1})[0]);
  EXPECT_EQ(logits.rowVector(1, 0), reference.feed(seq1, {0})[0]);
  EXPECT_EQ(logits.row(0, 0)[3], 500.0f) << "position 5";
  EXPECT_EQ(logits.row(1, 0)[0], 200.0f) << "position 2";

  // The "kv" state ([B, S], S = max_context 8) holds token + 1 at each
  // position written so far; a saved sequence holds those positions only.
  std::vector<uint8_t> blob0 = saveSequence(session.get(), 0);
  std::vector<uint8_t> blob1 = saveSequence(session.get(), 1);
  ASSERT_EQ(blob0.size(), kBlobHeader + 4 * (TOY_VOCAB + 6));
  ASSERT_EQ(blob1.size(), kBlobHeader + 4 * (TOY_VOCAB + 3));
  std::vector<float> kv0, kv1;
  for (size_t i = 0; i < 6; ++i)
    kv0.push_back(blobFloat(blob0, TOY_VOCAB + i));
  for (size_t i = 0; i < 3; ++i)
    kv1.push_back(blobFloat(blob1, TOY_VOCAB + i));
  EXPECT_EQ(kv0, std::vector<float>({1, 2, 5, 5, 5, 2}));
  EXPECT_EQ(kv1, std::vector<float>({3, 4, 1}));
}

TEST_F(RuntimeTest, BatchEqualsOneByOne) {
  std::vector<int32_t> tokens = {0, 1, 2, 3, 4, 0, 2, 2, 2};
  SessionPtr batched = createSession(model.get(), 3, 8);
  ASSERT_COIL_OK(coil_session_prefill(batched.get(), tokens.data(), 3, 3));
  Logits logits = logitsOf(batched.get());
  for (int64_t b = 0; b < 3; ++b) {
    SessionPtr single = createSession(model.get(), 1, 8);
    ASSERT_COIL_OK(
        coil_session_prefill(single.get(), tokens.data() + 3 * b, 1, 3));
    Logits alone = logitsOf(single.get());
    for (int64_t t = 0; t < 3; ++t)
      EXPECT_EQ(logits.rowVector(b, t), alone.rowVector(0, t))
          << "sequence " << b << " row " << t;
  }
}

/// Expects that a rejected call left `session` as it was.
class Unchanged {
public:
  Unchanged(const coil_session_t *session, int64_t *calls, int64_t batch)
      : session(session), calls(calls), callsBefore(*calls),
        logits(logitsOf(session)) {
    for (int64_t b = 0; b < batch; ++b) {
      lengths.push_back(coil_session_length(session, b));
      blobs.push_back(saveSequence(session, b));
    }
  }
  ~Unchanged() {
    EXPECT_EQ(*calls, callsBefore) << "a kernel ran";
    for (size_t b = 0; b < lengths.size(); ++b) {
      EXPECT_EQ(coil_session_length(session, b), lengths[b]);
      EXPECT_EQ(saveSequence(session, b), blobs[b]) << "state of " << b;
    }
    Logits now = logitsOf(session);
    EXPECT_EQ(now.values, logits.values);
    EXPECT_EQ(now.tokens, logits.tokens);
  }

private:
  const coil_session_t *session;
  int64_t *calls;
  int64_t callsBefore;
  Logits logits;
  std::vector<int64_t> lengths;
  std::vector<std::vector<uint8_t>> blobs;
};

TEST_F(RuntimeTest, BadCallsChangeNothing) {
  SessionPtr session = createSession(model.get(), 2, 6);
  std::vector<int32_t> tokens = {1, 2, 3, 4, 0, 1, 2, 3};
  ASSERT_COIL_OK(coil_session_prefill(session.get(), tokens.data(), 2, 2));
  coil_session_t *s = session.get();
  {
    Unchanged guard(s, calls, 2);
    EXPECT_TRUE(isError(coil_session_prefill(s, tokens.data(), 3, 1),
                        COIL_OUT_OF_RANGE, {"batch 3", "max_batch 2"}));
    EXPECT_TRUE(isError(coil_session_decode(s, tokens.data(), 3),
                        COIL_OUT_OF_RANGE, {"batch 3"}));
    EXPECT_TRUE(isError(coil_session_prefill(s, tokens.data(), 0, 1),
                        COIL_INVALID_ARGUMENT, {"batch"}));
    EXPECT_TRUE(isError(coil_session_prefill(s, tokens.data(), -1, 1),
                        COIL_INVALID_ARGUMENT, {"batch"}));
    EXPECT_TRUE(isError(coil_session_prefill(s, tokens.data(), 1, 0),
                        COIL_INVALID_ARGUMENT, {"num_tokens"}));
    EXPECT_TRUE(isError(coil_session_prefill(s, nullptr, 1, 1),
                        COIL_INVALID_ARGUMENT, {"tokens"}));
    EXPECT_TRUE(isError(coil_session_decode(s, nullptr, 1),
                        COIL_INVALID_ARGUMENT, {"tokens"}));
    // Both sequences hold 2 of 6; 5 more overflow.
    EXPECT_TRUE(isError(coil_session_prefill(s, tokens.data(), 1, 5),
                        COIL_OUT_OF_RANGE,
                        {"sequence 0 holds 2", "max_context 6"}));
    EXPECT_TRUE(isError(coil_session_prefill(s, tokens.data(), 1, INT64_MAX),
                        COIL_OUT_OF_RANGE));
    // An id out of range at the very end, after valid ones.
    std::vector<int32_t> late = {1, 2, 3, 4, 0, 5};
    EXPECT_TRUE(isError(coil_session_prefill(s, late.data(), 2, 3),
                        COIL_OUT_OF_RANGE, {"token id 5 at [1, 2]", "[0, 5)"}));
    std::vector<int32_t> negative = {1, -1};
    EXPECT_TRUE(isError(coil_session_decode(s, negative.data(), 2),
                        COIL_OUT_OF_RANGE, {"token id -1 at [1, 0]"}));
  }
  // Still usable: fill both sequences exactly to max_context.
  ASSERT_COIL_OK(coil_session_prefill(s, tokens.data(), 2, 3));
  ASSERT_COIL_OK(coil_session_decode(s, tokens.data(), 2));
  EXPECT_EQ(coil_session_length(s, 0), 6);
  {
    Unchanged guard(s, calls, 2);
    EXPECT_TRUE(isError(coil_session_decode(s, tokens.data(), 1),
                        COIL_OUT_OF_RANGE, {"sequence 0 holds 6"}));
  }
}

TEST_F(RuntimeTest, LogitsNeedACall) {
  SessionPtr session = createSession(model.get(), 1, 4);
  const float *data = nullptr;
  int64_t batch, tokens, vocab;
  EXPECT_TRUE(isError(
      coil_session_logits(session.get(), &data, &batch, &tokens, &vocab),
      COIL_FAILED_PRECONDITION, {"prefill or decode"}));
  EXPECT_TRUE(isError(
      coil_session_logits(session.get(), &data, nullptr, &tokens, &vocab),
      COIL_INVALID_ARGUMENT));
  // A rejected first call leaves no logits either.
  int32_t bad = 9;
  EXPECT_TRUE(isError(coil_session_prefill(session.get(), &bad, 1, 1),
                      COIL_OUT_OF_RANGE));
  EXPECT_TRUE(isError(
      coil_session_logits(session.get(), &data, &batch, &tokens, &vocab),
      COIL_FAILED_PRECONDITION));
  EXPECT_EQ(data, nullptr);
}

TEST_F(RuntimeTest, ResetEmptiesEverySequence) {
  SessionPtr session = createSession(model.get(), 2, 8);
  std::vector<int32_t> tokens = {1, 2, 3, 4};
  ASSERT_COIL_OK(coil_session_prefill(session.get(), tokens.data(), 2, 2));
  Logits first = logitsOf(session.get());
  std::vector<uint8_t> empty;
  {
    SessionPtr fresh = createSession(model.get(), 2, 8);
    empty = saveSequence(fresh.get(), 1);
  }
  coil_session_reset(session.get());
  EXPECT_EQ(coil_session_length(session.get(), 0), 0);
  EXPECT_EQ(coil_session_length(session.get(), 1), 0);
  EXPECT_EQ(saveSequence(session.get(), 1), empty);
  const float *data;
  int64_t batch, count, vocab;
  EXPECT_TRUE(
      isError(coil_session_logits(session.get(), &data, &batch, &count, &vocab),
              COIL_FAILED_PRECONDITION));
  ASSERT_COIL_OK(coil_session_prefill(session.get(), tokens.data(), 2, 2));
  EXPECT_EQ(logitsOf(session.get()).values, first.values);
}

TEST_F(RuntimeTest, GreedyGenerationCounts) {
  SessionPtr session = createSession(model.get(), 1, 16);
  std::vector<int32_t> prompt = {1, 2, 3};
  ASSERT_COIL_OK(coil_session_prefill(session.get(), prompt.data(), 1, 3));
  std::vector<int32_t> generated;
  for (int i = 0; i < 7; ++i) {
    Logits logits = logitsOf(session.get());
    const float *row = logits.row(0, logits.tokens - 1);
    int32_t best = 0;
    for (int32_t v = 1; v < TOY_VOCAB; ++v)
      if (row[v] > row[best])
        best = v;
    generated.push_back(best);
    ASSERT_COIL_OK(coil_session_decode(session.get(), &best, 1));
  }
  EXPECT_EQ(generated, std::vector<int32_t>({4, 0, 1, 2, 3, 4, 0}));
}

TEST_F(RuntimeTest, PrefillAndDecodeDoNotAllocate) {
  for (int32_t threads : {1, 2, 4}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    expectNoAllocationAfterCreation(threads);
  }
}

void RuntimeTest::expectNoAllocationAfterCreation(int32_t threads) {
  if (!kCountsAllocations)
    GTEST_SKIP() << "allocations are not counted under ThreadSanitizer";
  int64_t beforeCreate = allocationCount.load();
  SessionPtr session = createSession(model.get(), 2, 64, threads);
  EXPECT_GT(allocationCount.load(), beforeCreate)
      << "the counter does not see the runtime's allocations";
  std::vector<int32_t> tokens(2 * 16, 3);
  std::vector<int32_t> next = {1, 2};
  int64_t before = allocationCount.load();
  coil_status_t *prefill =
      coil_session_prefill(session.get(), tokens.data(), 2, 16);
  coil_status_t *shorter =
      coil_session_prefill(session.get(), tokens.data(), 1, 5);
  coil_status_t *decode = coil_session_decode(session.get(), next.data(), 2);
  coil_status_t *again = coil_session_decode(session.get(), next.data(), 1);
  const float *data;
  int64_t batch, count, vocab;
  coil_status_t *logits =
      coil_session_logits(session.get(), &data, &batch, &count, &vocab);
  int64_t allocations = allocationCount.load() - before;
  EXPECT_COIL_OK(prefill);
  EXPECT_COIL_OK(shorter);
  EXPECT_COIL_OK(decode);
  EXPECT_COIL_OK(again);
  EXPECT_COIL_OK(logits);
  EXPECT_EQ(allocations, 0);
  EXPECT_EQ(*lastTiles, threads);
}

TEST_F(RuntimeTest, SessionsRunConcurrentlyOnOneModel) {
  expectConcurrentSessionsAgree(/*sessionThreads=*/1);
}

TEST_F(RuntimeTest, ThreadedSessionsRunConcurrentlyOnOneModel) {
  expectConcurrentSessionsAgree(/*sessionThreads=*/3);
}

void RuntimeTest::expectConcurrentSessionsAgree(int32_t sessionThreads) {
  constexpr int kThreads = 4;
  std::vector<std::vector<float>> results(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      coil_session_options_t options;
      coil_session_options_initialize(&options);
      options.max_context = 256;
      options.threads = sessionThreads;
      coil_session_t *session = nullptr;
      coil_status_t *status =
          coil_session_create(model.get(), &options, &session);
      if (status) {
        coil_status_free(status);
        return;
      }
      int32_t token = i % TOY_VOCAB;
      for (int step = 0; step < 200 && !status; ++step) {
        status = coil_session_decode(session, &token, 1);
        token = (token + 2) % TOY_VOCAB;
      }
      coil_status_free(status);
      const float *data;
      int64_t batch, count, vocab;
      status = coil_session_logits(session, &data, &batch, &count, &vocab);
      if (!status)
        results[i].assign(data, data + vocab);
      coil_status_free(status);
      coil_session_release(session);
    });
  }
  for (std::thread &thread : threads)
    thread.join();
  for (int i = 0; i < kThreads; ++i) {
    ToyReference::Sequence seq;
    std::vector<int32_t> tokens;
    int32_t token = i % TOY_VOCAB;
    for (int step = 0; step < 200; ++step) {
      tokens.push_back(token);
      token = (token + 2) % TOY_VOCAB;
    }
    EXPECT_EQ(results[i], reference.feed(seq, tokens).back()) << "thread " << i;
  }
}

//===----------------------------------------------------------------------===//
// Stress: many sessions, one shared model
//===----------------------------------------------------------------------===//

/// A small deterministic generator for the stress scripts.
struct ScriptRandom {
  uint64_t state;
  explicit ScriptRandom(uint64_t seed)
      : state(seed * 0x9e3779b97f4a7c15ull + 1) {}
  uint32_t next(uint32_t bound) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<uint32_t>(state >> 33) % bound;
  }
};

/// Runs script `seed` on `session` (max_batch 2, max_context kStressContext)
/// from an empty state: prefills, decodes, saves and restores of one
/// sequence into the other, and resets, chosen by the seed. Returns every
/// call's logits in order, then the saved state of both sequences; an empty
/// trace when a call failed (reported through gtest).
constexpr int64_t kStressContext = 48;

std::vector<float> runStressScript(coil_session_t *session, uint64_t seed) {
  coil_session_reset(session);
  ScriptRandom random(seed);
  std::vector<float> trace;
  auto record = [&](coil_status_t *status) {
    Outcome outcome = take(status);
    if (outcome.code != COIL_OK) {
      ADD_FAILURE() << "script " << seed << ": " << outcome.message;
      return false;
    }
    const float *data = nullptr;
    int64_t batch = 0, tokens = 0, vocab = 0;
    Outcome logits =
        take(coil_session_logits(session, &data, &batch, &tokens, &vocab));
    if (logits.code != COIL_OK) {
      ADD_FAILURE() << logits.message;
      return false;
    }
    trace.insert(trace.end(), data, data + batch * tokens * vocab);
    return true;
  };
  for (int op = 0; op < 24; ++op) {
    int64_t length = std::max(coil_session_length(session, 0),
                              coil_session_length(session, 1));
    uint32_t choice = random.next(8);
    if (length + 4 > kStressContext || choice == 7) {
      coil_session_reset(session);
      continue;
    }
    if (choice < 3) {
      int64_t count = 1 + random.next(3);
      std::vector<int32_t> tokens(2 * count);
      for (int32_t &token : tokens)
        token = static_cast<int32_t>(random.next(TOY_VOCAB));
      if (!record(coil_session_prefill(session, tokens.data(), 2, count)))
        return {};
    } else if (choice < 6) {
      int32_t tokens[2] = {static_cast<int32_t>(random.next(TOY_VOCAB)),
                           static_cast<int32_t>(random.next(TOY_VOCAB))};
      if (!record(coil_session_decode(session, tokens, 2)))
        return {};
    } else {
      std::vector<uint8_t> blob = saveSequence(session, random.next(2));
      Outcome restored = take(coil_session_restore_sequence(
          session, random.next(2), blob.data(), blob.size()));
      if (restored.code != COIL_OK) {
        ADD_FAILURE() << restored.message;
        return {};
      }
    }
  }
  for (int64_t sequence = 0; sequence < 2; ++sequence) {
    std::vector<uint8_t> blob = saveSequence(session, sequence);
    for (size_t i = kBlobHeader; i + sizeof(float) <= blob.size();
         i += sizeof(float))
      trace.push_back(blobFloat(blob, (i - kBlobHeader) / sizeof(float)));
  }
  return trace;
}

/// How long the stress test runs: COIL_STRESS_SECONDS, 2 by default.
double stressSeconds() {
  const char *text = std::getenv("COIL_STRESS_SECONDS");
  double seconds = text ? std::atof(text) : 2.0;
  return seconds > 0 ? seconds : 2.0;
}

TEST_F(RuntimeTest, StressManySessionsOnOneSharedModel) {
  // Four workers share one model, each running seeded scripts for a bounded
  // time on sessions of 1 to 3 threads that it creates and releases as it
  // goes. Half-way, every worker holds one last session and the model's own
  // reference is released: those sessions must keep it alive. Every script's
  // trace must equal, bit for bit, the same script run alone on one thread.
  ModelPtr shared = loadWithWeights(weightsPath);
  ASSERT_TRUE(shared);
  constexpr int kWorkers = 4;
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration<double>(stressSeconds() / 2);
  std::vector<std::vector<uint64_t>> seeds(kWorkers);
  std::vector<std::vector<std::vector<float>>> traces(kWorkers);
  std::vector<SessionPtr> last(kWorkers);
  std::atomic<int> arrived{0};
  std::atomic<bool> released{false};
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      uint64_t seed = 1000 * (w + 1);
      auto runOne = [&](coil_session_t *session) {
        seeds[w].push_back(seed);
        traces[w].push_back(runStressScript(session, seed));
        ++seed;
      };
      // Phase 1: sessions created, used and released while the model is
      // shared.
      do {
        SessionPtr session = createSession(shared.get(), 2, kStressContext,
                                           1 + static_cast<int32_t>(seed % 3));
        if (!session)
          break;
        for (int round = 0; round < 3; ++round)
          runOne(session.get());
      } while (std::chrono::steady_clock::now() < deadline);
      last[w] = createSession(shared.get(), 2, kStressContext, 1 + w % 3);
      ++arrived;
      while (!released.load())
        std::this_thread::yield();
      // Phase 2: the model lives on through this session alone.
      if (!last[w])
        return;
      const auto end = std::chrono::steady_clock::now() +
                       std::chrono::duration<double>(stressSeconds() / 2);
      do
        runOne(last[w].get());
      while (std::chrono::steady_clock::now() < end);
      last[w].reset();
    });
  }
  while (arrived.load() < kWorkers)
    std::this_thread::yield();
  shared.reset();
  released = true;
  for (std::thread &worker : workers)
    worker.join();

  ModelPtr alone = loadWithWeights(weightsPath);
  ASSERT_TRUE(alone);
  SessionPtr single = createSession(alone.get(), 2, kStressContext, 1);
  ASSERT_TRUE(single);
  size_t scripts = 0;
  for (int w = 0; w < kWorkers; ++w) {
    ASSERT_EQ(seeds[w].size(), traces[w].size());
    for (size_t i = 0; i < seeds[w].size(); ++i, ++scripts) {
      std::vector<float> expected = runStressScript(single.get(), seeds[w][i]);
      ASSERT_FALSE(expected.empty());
      ASSERT_EQ(traces[w][i], expected)
          << "worker " << w << ", script " << seeds[w][i];
    }
  }
  EXPECT_GE(scripts, size_t(2 * kWorkers));
  RecordProperty("scripts", static_cast<int>(scripts));
}

//===----------------------------------------------------------------------===//
// Threads
//===----------------------------------------------------------------------===//

/// Everything a session's calls produced: every call's logits and, at the
/// end, every sequence's saved state.
struct Trace {
  std::vector<std::vector<float>> logits;
  std::vector<std::vector<uint8_t>> states;
};

/// Runs a fixed mix of prefills and decodes of up to 3 sequences, with
/// batches of every size, on a session of `threads` threads.
Trace runMix(coil_model_t *model, int32_t threads) {
  Trace trace;
  SessionPtr session = createSession(model, 3, 64, threads);
  if (!session)
    return trace;
  coil_session_t *s = session.get();
  auto record = [&] { trace.logits.push_back(logitsOf(s).values); };
  std::vector<int32_t> prompt = {0, 1, 2, 3, 4, 4, 3, 2, 1, 0, 2, 2, 2, 1, 3};
  EXPECT_COIL_OK(coil_session_prefill(s, prompt.data(), 3, 5));
  record();
  EXPECT_COIL_OK(coil_session_prefill(s, prompt.data(), 2, 7));
  record();
  for (int step = 0; step < 40; ++step) {
    int32_t tokens[3] = {step % 5, (step * 3 + 1) % 5, (step * 2 + 4) % 5};
    EXPECT_COIL_OK(coil_session_decode(s, tokens, 1 + step % 3));
    record();
  }
  EXPECT_COIL_OK(coil_session_prefill(s, prompt.data(), 1, 11));
  record();
  for (int64_t b = 0; b < 3; ++b)
    trace.states.push_back(saveSequence(s, b));
  return trace;
}

TEST_F(RuntimeTest, ResultsDoNotDependOnTheThreads) {
  Trace single = runMix(model.get(), 1);
  ASSERT_EQ(single.logits.size(), 43u);
  // Spot-check the single-threaded run against the reference: the first
  // prefill of sequence 1.
  ToyReference::Sequence seq;
  auto rows = reference.feed(seq, {4, 3, 2, 1, 0});
  for (int64_t t = 0; t < 5; ++t)
    EXPECT_EQ(std::vector<float>(single.logits[0].begin() + (5 + t) * 5,
                                 single.logits[0].begin() + (6 + t) * 5),
              rows[t])
        << "row " << t;
  // 3 threads split 5 columns and 2 rows unevenly; 8 leave some idle.
  for (int32_t threads : {2, 3, 4, 8}) {
    Trace trace = runMix(model.get(), threads);
    ASSERT_EQ(trace.logits.size(), single.logits.size());
    for (size_t i = 0; i < single.logits.size(); ++i)
      EXPECT_EQ(trace.logits[i], single.logits[i])
          << "call " << i << " with " << threads << " threads";
    EXPECT_EQ(trace.states, single.states) << threads << " threads";
  }
}

TEST_F(RuntimeTest, KernelsRunOnEveryThreadWithTheCallerAsTileZero) {
  for (int32_t threads : {1, 2, 4}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    SessionPtr session = createSession(model.get(), 2, 16, threads);
    std::vector<int32_t> tokens = {1, 2, 3, 4};
    int64_t callsBefore = *calls, tilesBefore = *tileCalls;
    ASSERT_COIL_OK(coil_session_prefill(session.get(), tokens.data(), 2, 2));
    EXPECT_EQ(*calls - callsBefore, 3) << "one call per step";
    EXPECT_EQ(*tileCalls - tilesBefore, 3 * threads) << "every tile ran";
    EXPECT_EQ(*lastTiles, threads);
    EXPECT_TRUE(::pthread_equal(*lastTile0Thread, ::pthread_self()));

    // The session may move between threads; tile 0 follows the caller.
    pthread_t other{};
    std::thread([&] {
      EXPECT_COIL_OK(coil_session_decode(session.get(), tokens.data(), 2));
      other = ::pthread_self();
    }).join();
    EXPECT_TRUE(::pthread_equal(*lastTile0Thread, other));
    EXPECT_EQ(*tileCalls - tilesBefore, 6 * threads);
  }
}

TEST_F(RuntimeTest, ManyThreadsOnFewCores) {
  // More threads than this machine has cores: every barrier of every step
  // still completes, spinning threads yield and sleep.
  SessionPtr session =
      createSession(model.get(), 2, 64, COIL_SESSION_MAX_THREADS);
  ASSERT_TRUE(session);
  std::vector<int32_t> tokens = {1, 2, 3, 4, 0, 1};
  ASSERT_COIL_OK(coil_session_prefill(session.get(), tokens.data(), 2, 3));
  ASSERT_COIL_OK(coil_session_decode(session.get(), tokens.data(), 2));
  EXPECT_EQ(*lastTiles, COIL_SESSION_MAX_THREADS);
  ToyReference::Sequence seq;
  reference.feed(seq, {4, 0, 1});
  EXPECT_EQ(logitsOf(session.get()).rowVector(1, 0),
            reference.feed(seq, {2})[0]);
}

TEST_F(RuntimeTest, WorkersThatSleptWakeUp) {
  // Between calls the workers spin briefly and then sleep; calls after a
  // pause long enough for that must wake them and agree with the reference.
  SessionPtr session = createSession(model.get(), 1, 64, 4);
  ToyReference::Sequence seq;
  std::vector<float> expected;
  for (int i = 0; i < 12; ++i) {
    int32_t token = (i * 7) % TOY_VOCAB;
    ASSERT_COIL_OK(coil_session_decode(session.get(), &token, 1));
    expected = reference.feed(seq, {token})[0];
    EXPECT_EQ(logitsOf(session.get()).rowVector(0, 0), expected)
        << "call " << i;
    if (i % 3 == 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

TEST_F(RuntimeTest, ReleaseJoinsIdleAndBusyWorkers) {
  int32_t token = 2;
  for (int round = 0; round < 20; ++round) {
    // Workers that may not have started running yet.
    createSession(model.get(), 1, 8, 4).reset();
    // Workers still spinning after a call.
    SessionPtr busy = createSession(model.get(), 1, 8, 4);
    ASSERT_COIL_OK(coil_session_decode(busy.get(), &token, 1));
    busy.reset();
  }
  // Workers asleep.
  SessionPtr idle = createSession(model.get(), 1, 8, 4);
  ASSERT_COIL_OK(coil_session_decode(idle.get(), &token, 1));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  idle.reset();
}

TEST_F(RuntimeTest, LongDecodeOnThreadsMatchesTheReference) {
  SessionPtr session = createSession(model.get(), 2, 1024, 4);
  ToyReference::Sequence seq0, seq1;
  for (int step = 0; step < 1000; ++step) {
    int32_t tokens[2] = {step % 5, (step * 3 + 2) % 5};
    ASSERT_COIL_OK(coil_session_decode(session.get(), tokens, 2));
    std::vector<float> row0 = reference.feed(seq0, {tokens[0]})[0];
    std::vector<float> row1 = reference.feed(seq1, {tokens[1]})[0];
    if (step % 97 == 0 || step == 999) {
      Logits logits = logitsOf(session.get());
      ASSERT_EQ(logits.rowVector(0, 0), row0) << "step " << step;
      ASSERT_EQ(logits.rowVector(1, 0), row1) << "step " << step;
    }
  }
}

//===----------------------------------------------------------------------===//
// Saving and restoring sequences
//===----------------------------------------------------------------------===//

TEST_F(RuntimeTest, SavedSequenceLayout) {
  SessionPtr session = createSession(model.get(), 1, 4);
  std::vector<int32_t> tokens = {2, 0};
  ASSERT_COIL_OK(coil_session_prefill(session.get(), tokens.data(), 1, 2));
  std::vector<uint8_t> blob = saveSequence(session.get(), 0);
  // acc whole, kv up to the length.
  ASSERT_EQ(blob.size(), kBlobHeader + 4 * (5 + 2));
  EXPECT_EQ(std::string(reinterpret_cast<const char *>(blob.data())),
            "COILSEQ");
  uint32_t version;
  int64_t length;
  uint64_t total;
  std::memcpy(&version, blob.data() + 8, 4);
  std::memcpy(&length, blob.data() + 16, 8);
  std::memcpy(&total, blob.data() + 24, 8);
  EXPECT_EQ(version, 2u);
  EXPECT_EQ(length, 2);
  EXPECT_EQ(total, blob.size());
  // acc = 0.5 * e3 + e1, then kv = (3, 1).
  std::vector<float> payload;
  for (size_t i = 0; i < 7; ++i)
    payload.push_back(blobFloat(blob, i));
  EXPECT_EQ(payload, std::vector<float>({0, 1, 0, 0.5f, 0, 3, 1}));
}

TEST_F(RuntimeTest, RestoredSequenceContinuesIdentically) {
  SessionPtr source = createSession(model.get(), 1, 8);
  std::vector<int32_t> prompt = {4, 3, 2};
  ASSERT_COIL_OK(coil_session_prefill(source.get(), prompt.data(), 1, 3));
  std::vector<uint8_t> blob = saveSequence(source.get(), 0);

  // Into sequence 1 of a two-sequence session; sequence 0 holds other text.
  SessionPtr target = createSession(model.get(), 2, 8);
  std::vector<int32_t> other = {1, 1};
  ASSERT_COIL_OK(coil_session_prefill(target.get(), other.data(), 1, 2));
  ASSERT_COIL_OK(
      coil_session_restore_sequence(target.get(), 1, blob.data(), blob.size()));
  EXPECT_EQ(coil_session_length(target.get(), 0), 2);
  EXPECT_EQ(coil_session_length(target.get(), 1), 3);
  EXPECT_EQ(saveSequence(target.get(), 1), blob);

  int32_t next = 0;
  ASSERT_COIL_OK(coil_session_decode(source.get(), &next, 1));
  std::vector<int32_t> both = {3, 0};
  ASSERT_COIL_OK(coil_session_decode(target.get(), both.data(), 2));
  EXPECT_EQ(logitsOf(target.get()).rowVector(1, 0),
            logitsOf(source.get()).rowVector(0, 0));
  EXPECT_EQ(saveSequence(target.get(), 1), saveSequence(source.get(), 0));
}

TEST_F(RuntimeTest, CorruptBlobsAreRejected) {
  SessionPtr session = createSession(model.get(), 2, 8);
  std::vector<int32_t> tokens = {1, 2, 3};
  ASSERT_COIL_OK(coil_session_prefill(session.get(), tokens.data(), 1, 3));
  std::vector<uint8_t> blob = saveSequence(session.get(), 0);
  coil_session_t *s = session.get();

  Unchanged guard(s, calls, 2);
  auto restore = [&](const std::vector<uint8_t> &bytes) {
    return coil_session_restore_sequence(s, 1, bytes.data(), bytes.size());
  };
  std::vector<uint8_t> bad = blob;
  bad[0] = 'X';
  EXPECT_TRUE(isError(restore(bad), COIL_INVALID_ARGUMENT, {"magic"}));
  bad = blob;
  bad[8] = 3;
  EXPECT_TRUE(isError(restore(bad), COIL_INVALID_ARGUMENT, {"version 3"}));
  bad = blob;
  bad.pop_back();
  EXPECT_TRUE(isError(restore(bad), COIL_INVALID_ARGUMENT, {"header says"}));
  // A total size that does not match the length.
  bad = blob;
  bad.push_back(0);
  uint64_t total = bad.size();
  std::memcpy(&bad[24], &total, sizeof(total));
  EXPECT_TRUE(isError(restore(bad), COIL_INVALID_ARGUMENT,
                      {"sequence of 3 tokens of this session takes " +
                       std::to_string(blob.size())}));
  bad.assign(blob.begin(), blob.begin() + 10);
  EXPECT_TRUE(isError(restore(bad), COIL_INVALID_ARGUMENT, {"40-byte header"}));
  bad = blob;
  int64_t tooLong = 9;
  std::memcpy(&bad[16], &tooLong, sizeof(tooLong));
  EXPECT_TRUE(isError(restore(bad), COIL_INVALID_ARGUMENT, {"length 9"}));
  bad = blob;
  bad[32] ^= 1;
  EXPECT_TRUE(
      isError(restore(bad), COIL_INVALID_ARGUMENT, {"different state layout"}));
  EXPECT_TRUE(
      isError(coil_session_restore_sequence(s, 2, blob.data(), blob.size()),
              COIL_OUT_OF_RANGE, {"sequence 2"}));
  EXPECT_TRUE(isError(coil_session_restore_sequence(s, 1, nullptr, 0),
                      COIL_INVALID_ARGUMENT));

  // A session whose "kv" is sized for another max_context.
  SessionPtr longer = createSession(model.get(), 1, 16);
  std::vector<uint8_t> foreign = saveSequence(longer.get(), 0);
  EXPECT_TRUE(isError(restore(foreign), COIL_INVALID_ARGUMENT,
                      {"different state layout", "max_context"}));
}

TEST_F(RuntimeTest, StatesRestoreOnlyIntoTheModelThatSavedThem) {
  SessionPtr session = createSession(model.get(), 1, 8);
  std::vector<int32_t> tokens = {1, 2, 3};
  ASSERT_COIL_OK(coil_session_prefill(session.get(), tokens.data(), 1, 3));
  std::vector<uint8_t> blob = saveSequence(session.get(), 0);

  // The same library and weights loaded again: the same model.
  ModelPtr copy = loadWithWeights(weightsPath);
  SessionPtr same = createSession(copy.get(), 1, 8);
  EXPECT_COIL_OK(
      coil_session_restore_sequence(same.get(), 0, blob.data(), blob.size()));

  // The same library with other weights: the states mean something else.
  std::vector<float> otherScale = {3, 3, 3, 3, 3};
  ModelPtr reweighted = loadWithWeights(
      writeToyWeights("other.safetensors", reference.embed, otherScale));
  SessionPtr other = createSession(reweighted.get(), 1, 8);
  EXPECT_TRUE(isError(
      coil_session_restore_sequence(other.get(), 0, blob.data(), blob.size()),
      COIL_INVALID_ARGUMENT, {"different state layout", "other weights"}));

  // Another compiled model whose states have the same shapes.
  ModelPtr variant = loadWithWeights(weightsPath, variantPath("profiled"));
  SessionPtr foreign = createSession(variant.get(), 1, 8);
  EXPECT_TRUE(isError(
      coil_session_restore_sequence(foreign.get(), 0, blob.data(), blob.size()),
      COIL_INVALID_ARGUMENT, {"another compiled model"}));
}

TEST_F(RuntimeTest, SaveChecksItsArguments) {
  SessionPtr session = createSession(model.get(), 1, 8);
  std::vector<int32_t> tokens = {1, 2};
  ASSERT_COIL_OK(coil_session_prefill(session.get(), tokens.data(), 1, 2));
  size_t size = coil_session_saved_size(session.get(), 0);
  EXPECT_EQ(size, kBlobHeader + 4 * (5 + 2));
  EXPECT_EQ(coil_session_sequence_state_size(session.get()),
            kBlobHeader + 4 * (5 + 8));
  EXPECT_EQ(coil_session_saved_size(session.get(), 1), 0u);
  EXPECT_EQ(coil_session_saved_size(nullptr, 0), 0u);
  std::vector<uint8_t> buffer(size + 3);
  EXPECT_TRUE(isError(
      coil_session_save_sequence(session.get(), 0, buffer.data(), size - 1),
      COIL_INVALID_ARGUMENT, {"needs " + std::to_string(size)}));
  EXPECT_TRUE(
      isError(coil_session_save_sequence(session.get(), 1, buffer.data(), size),
              COIL_OUT_OF_RANGE));
  EXPECT_TRUE(
      isError(coil_session_save_sequence(session.get(), 0, nullptr, size),
              COIL_INVALID_ARGUMENT));
  // A larger buffer is fine; the blob is still `size` bytes.
  EXPECT_COIL_OK(coil_session_save_sequence(session.get(), 0, buffer.data(),
                                            buffer.size()));
  EXPECT_COIL_OK(
      coil_session_restore_sequence(session.get(), 0, buffer.data(), size));
}

//===----------------------------------------------------------------------===//
// Groups of sequences, copies and truncation
//===----------------------------------------------------------------------===//

TEST_F(RuntimeTest, GroupsOfSequencesRunOnTheirOwn) {
  // Sequence 1 and 2 of a three-sequence session against each alone.
  SessionPtr session = createSession(model.get(), 3, 8);
  SessionPtr alone1 = createSession(model.get(), 1, 8);
  SessionPtr alone2 = createSession(model.get(), 1, 8);
  std::vector<int32_t> first = {1, 2, 3}, second = {4};
  ASSERT_COIL_OK(
      coil_session_prefill_at(session.get(), 1, first.data(), 1, 3));
  EXPECT_EQ(logitsOf(session.get()).batch, 1);
  ASSERT_COIL_OK(
      coil_session_prefill_at(session.get(), 2, second.data(), 1, 1));
  ASSERT_COIL_OK(coil_session_prefill(alone1.get(), first.data(), 1, 3));
  ASSERT_COIL_OK(coil_session_prefill(alone2.get(), second.data(), 1, 1));
  EXPECT_EQ(coil_session_length(session.get(), 0), 0);
  EXPECT_EQ(coil_session_length(session.get(), 1), 3);
  EXPECT_EQ(coil_session_length(session.get(), 2), 1);

  // One decode over both, whose lengths differ.
  std::vector<int32_t> next = {0, 2};
  ASSERT_COIL_OK(coil_session_decode_at(session.get(), 1, next.data(), 2));
  ASSERT_COIL_OK(coil_session_decode(alone1.get(), &next[0], 1));
  ASSERT_COIL_OK(coil_session_decode(alone2.get(), &next[1], 1));
  Logits both = logitsOf(session.get());
  ASSERT_EQ(both.batch, 2);
  EXPECT_EQ(both.rowVector(0, 0), logitsOf(alone1.get()).rowVector(0, 0));
  EXPECT_EQ(both.rowVector(1, 0), logitsOf(alone2.get()).rowVector(0, 0));
  EXPECT_EQ(saveSequence(session.get(), 1), saveSequence(alone1.get(), 0));
  EXPECT_EQ(saveSequence(session.get(), 2), saveSequence(alone2.get(), 0));
  EXPECT_EQ(coil_session_length(session.get(), 0), 0);

  Unchanged guard(session.get(), calls, 3);
  EXPECT_TRUE(isError(
      coil_session_decode_at(session.get(), 2, next.data(), 2),
      COIL_OUT_OF_RANGE, {"batch 2 from sequence 2", "max_batch 3"}));
  EXPECT_TRUE(isError(coil_session_decode_at(session.get(), 3, next.data(), 1),
                      COIL_OUT_OF_RANGE, {"first sequence 3"}));
  EXPECT_TRUE(
      isError(coil_session_prefill_at(session.get(), -1, next.data(), 1, 1),
              COIL_OUT_OF_RANGE, {"first sequence -1"}));
}

TEST_F(RuntimeTest, CopiedSequencesContinueIdentically) {
  SessionPtr session = createSession(model.get(), 2, 8);
  std::vector<int32_t> prompt = {3, 1, 4};
  ASSERT_COIL_OK(coil_session_prefill(session.get(), prompt.data(), 1, 3));
  ASSERT_COIL_OK(coil_session_copy_sequence(session.get(), 0, 1));
  EXPECT_EQ(coil_session_length(session.get(), 1), 3);
  EXPECT_EQ(saveSequence(session.get(), 1), saveSequence(session.get(), 0));
  std::vector<int32_t> next = {2, 2};
  ASSERT_COIL_OK(coil_session_decode(session.get(), next.data(), 2));
  Logits logits = logitsOf(session.get());
  EXPECT_EQ(logits.rowVector(0, 0), logits.rowVector(1, 0));

  // Reset empties one sequence only: its recurrent state is zero again.
  ASSERT_COIL_OK(coil_session_reset_sequence(session.get(), 1));
  EXPECT_EQ(coil_session_length(session.get(), 1), 0);
  EXPECT_EQ(coil_session_length(session.get(), 0), 4);
  SessionPtr fresh = createSession(model.get(), 2, 8);
  EXPECT_EQ(saveSequence(session.get(), 1), saveSequence(fresh.get(), 1));

  EXPECT_TRUE(isError(coil_session_copy_sequence(session.get(), 0, 2),
                      COIL_OUT_OF_RANGE, {"copy: sequence 2"}));
  EXPECT_TRUE(isError(coil_session_reset_sequence(session.get(), -1),
                      COIL_OUT_OF_RANGE, {"reset: sequence -1"}));
  EXPECT_TRUE(isError(coil_session_copy_sequence(nullptr, 0, 1),
                      COIL_INVALID_ARGUMENT));
}

TEST_F(RuntimeTest, RecurrentStateCannotBeTruncated) {
  // The toy's "acc" is recurrent: without a verify, only restoring goes
  // back.
  SessionPtr session = createSession(model.get(), 1, 8);
  std::vector<int32_t> prompt = {3, 1, 4};
  ASSERT_COIL_OK(coil_session_prefill(session.get(), prompt.data(), 1, 3));
  EXPECT_TRUE(isError(coil_session_truncate_sequence(session.get(), 0, 2),
                      COIL_FAILED_PRECONDITION,
                      {"recurrent state", "last call was not one"}));
  // Truncating to the length it has changes nothing.
  ASSERT_COIL_OK(coil_session_truncate_sequence(session.get(), 0, 3));
  EXPECT_TRUE(isError(coil_session_truncate_sequence(session.get(), 0, 4),
                      COIL_OUT_OF_RANGE, {"length 4 is outside [0, 3]"}));
  EXPECT_EQ(coil_session_length(session.get(), 0), 3);
}

//===----------------------------------------------------------------------===//
// Profiling
//===----------------------------------------------------------------------===//

/// The step costs of the profiled toy (fixtures/toy_model.c, TOY_PROFILED):
/// per step of either entry, {a, b, c, d, e} of a + b * N + c * N * A +
/// d * B + e * B * C.
struct ToyStepCost {
  const char *kernel;
  int64_t kernelIndex;
  int64_t layer;
  double flops[5];
  double bytes[5];
};
const ToyStepCost kToySteps[3] = {
    {"embed_accumulate", 0, 0, {10, 2, 0}, {100, 20, 0}},
    {"kv_write", 2, 0, {0, 0, 0}, {4, 8, 0}},
    {"head", 1, -1, {5, 3, 1}, {40, 12, 0.5, 3, 0.25}},
};

/// The cost {a, b, c, d, e} of a call over `batch` sequences processing
/// `processed` tokens in all, each attending `attended` positions on
/// average, whose sequences hold `context` tokens on average afterwards.
double toyCost(const double (&cost)[5], double processed, double attended,
               double batch, double context) {
  return cost[0] + cost[1] * processed + cost[2] * processed * attended +
         cost[3] * batch + cost[4] * batch * context;
}

/// The profile summary of `session`, which must succeed.
std::vector<coil_profile_entry_t> summaryOf(const coil_session_t *session) {
  const coil_profile_entry_t *entries = nullptr;
  int64_t count = -1;
  EXPECT_COIL_OK(coil_session_profile_summary(session, &entries, &count));
  if (count <= 0)
    return {};
  return std::vector<coil_profile_entry_t>(entries, entries + count);
}

/// Reads the JSON file at `path`; discarded if it is not valid JSON.
nlohmann::json readJson(const std::string &path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
}

class RuntimeProfileTest : public RuntimeTest {
protected:
  void SetUp() override {
    RuntimeTest::SetUp();
    profiledPath = variantPath("profiled");
    profiled = loadWithWeights(weightsPath, profiledPath);
    ASSERT_TRUE(profiled);
    profiledErrors = toySymbol<int64_t>("toy_descriptor_errors", profiledPath);
    ASSERT_NE(profiledErrors, nullptr);
    *profiledErrors = 0;
  }

  void TearDown() override {
    if (profiledErrors)
      EXPECT_EQ(*profiledErrors, 0);
    profiled.reset();
    RuntimeTest::TearDown();
  }

  /// Prefill of 2 x 3 tokens, decode of 2, decode of 1.
  void runKnownCalls(coil_session_t *session) {
    std::vector<int32_t> tokens = {1, 2, 3, 3, 2, 1};
    std::vector<int32_t> next = {4, 0};
    EXPECT_COIL_OK(coil_session_prefill(session, tokens.data(), 2, 3));
    EXPECT_COIL_OK(coil_session_decode(session, next.data(), 2));
    EXPECT_COIL_OK(coil_session_decode(session, next.data(), 1));
  }

  std::string profiledPath;
  ModelPtr profiled;
  int64_t *profiledErrors = nullptr;
};

TEST_F(RuntimeProfileTest, MetadataIsRead) {
  EXPECT_EQ(coil_model_num_kernels(profiled.get()), 3);
  SessionPtr session = createSession(profiled.get(), 1, 8);
  EXPECT_COIL_OK(coil_session_set_profiling(session.get(), 1));
  // Enabling twice, and disabling, are fine.
  EXPECT_COIL_OK(coil_session_set_profiling(session.get(), 1));
  EXPECT_COIL_OK(coil_session_set_profiling(session.get(), 0));
}

TEST_F(RuntimeProfileTest, UnprofiledModelCannotBeProfiled) {
  SessionPtr session = createSession(model.get(), 1, 8);
  EXPECT_TRUE(isError(coil_session_set_profiling(session.get(), 1),
                      COIL_FAILED_PRECONDITION, {"--profile"}));
  EXPECT_COIL_OK(coil_session_set_profiling(session.get(), 0));
  std::vector<int32_t> tokens = {1, 2};
  ASSERT_COIL_OK(coil_session_prefill(session.get(), tokens.data(), 1, 2));
  EXPECT_TRUE(summaryOf(session.get()).empty());
  EXPECT_EQ(coil_session_profile_dropped(session.get()), 0);

  const coil_profile_entry_t *entries;
  int64_t count;
  EXPECT_TRUE(
      isError(coil_session_set_profiling(nullptr, 1), COIL_INVALID_ARGUMENT));
  EXPECT_TRUE(isError(coil_session_profile_summary(nullptr, &entries, &count),
                      COIL_INVALID_ARGUMENT));
  EXPECT_TRUE(
      isError(coil_session_profile_summary(session.get(), nullptr, &count),
              COIL_INVALID_ARGUMENT));
  EXPECT_TRUE(isError(coil_session_write_trace(nullptr, "x.json"),
                      COIL_INVALID_ARGUMENT));
  EXPECT_TRUE(isError(coil_session_write_trace(session.get(), nullptr),
                      COIL_INVALID_ARGUMENT));
  EXPECT_EQ(coil_session_profile_dropped(nullptr), -1);
  coil_session_profile_reset(nullptr);
}

TEST_F(RuntimeProfileTest, SummaryCountsCallsTimesAndCosts) {
  for (int32_t threads : {1, 2, 3}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    SessionPtr session = createSession(profiled.get(), 2, 16, threads);
    ASSERT_COIL_OK(coil_session_set_profiling(session.get(), 1));
    runKnownCalls(session.get());
    std::vector<coil_profile_entry_t> summary = summaryOf(session.get());
    ASSERT_EQ(summary.size(), 6u);
    for (size_t i = 0; i < summary.size(); ++i) {
      SCOPED_TRACE("entry " + std::to_string(i));
      const coil_profile_entry_t &entry = summary[i];
      bool prefill = i < 3;
      const ToyStepCost &step = kToySteps[i % 3];
      EXPECT_STREQ(entry.entry, prefill ? "prefill" : "decode");
      EXPECT_EQ(entry.step, static_cast<int64_t>(i % 3));
      EXPECT_STREQ(entry.kernel, step.kernel);
      EXPECT_EQ(entry.kernel_index, step.kernelIndex);
      EXPECT_EQ(entry.layer, step.layer);
      EXPECT_EQ(entry.calls, prefill ? 1 : 2);
      EXPECT_GT(entry.total_seconds, 0.0);
      EXPECT_LT(entry.total_seconds, 10.0);
      // Prefill: N = 2 * 3, C = 3, and positions 1, 2 and 3 attend 1, 2
      // and 3 positions: A = 2. Decodes: N = 2, A = C = 4, then N = 1,
      // A = C = 5.
      double flops = prefill ? toyCost(step.flops, 6, 2, 2, 3)
                             : toyCost(step.flops, 2, 4, 2, 4) +
                                   toyCost(step.flops, 1, 5, 1, 5);
      double bytes = prefill ? toyCost(step.bytes, 6, 2, 2, 3)
                             : toyCost(step.bytes, 2, 4, 2, 4) +
                                   toyCost(step.bytes, 1, 5, 1, 5);
      EXPECT_DOUBLE_EQ(entry.flops, flops);
      EXPECT_DOUBLE_EQ(entry.bytes, bytes);
      // head waits at two barriers per call; on one thread there are none.
      int64_t barriersPerCall = step.kernelIndex == 1 && threads > 1 ? 2 : 0;
      EXPECT_EQ(entry.barriers, barriersPerCall * entry.calls);
    }
    // By hand: prefill head 5 + 3 * 6 + 6 * 2 (each of the 6 tokens
    // attends 2 positions on average), decode head 19 + 13; prefill head
    // bytes 40 + 72 + 0.5 * 6 * 2 + 3 * 2 + 0.25 * 2 * 3; decode head bytes
    // (40 + 24 + 4 + 6 + 2) + (40 + 12 + 2.5 + 3 + 1.25), the per-sequence
    // terms 3 * B and 0.25 * B * C included.
    EXPECT_DOUBLE_EQ(summary[2].flops, 35);
    EXPECT_DOUBLE_EQ(summary[2].bytes, 125.5);
    EXPECT_DOUBLE_EQ(summary[5].flops, 32);
    EXPECT_DOUBLE_EQ(summary[5].bytes, 134.75);
    EXPECT_EQ(coil_session_profile_dropped(session.get()), 0);

    // Profiling does not change the results.
    ToyReference::Sequence seq;
    std::vector<float> expected = reference.feed(seq, {1, 2, 3, 4, 4}).back();
    EXPECT_EQ(logitsOf(session.get()).rowVector(0, 0), expected);
  }
}

TEST_F(RuntimeProfileTest, NothingIsRecordedWithProfilingOff) {
  SessionPtr session = createSession(profiled.get(), 2, 16, 2);
  runKnownCalls(session.get());
  EXPECT_TRUE(summaryOf(session.get()).empty());

  ASSERT_COIL_OK(coil_session_set_profiling(session.get(), 1));
  std::vector<int32_t> next = {1, 1};
  ASSERT_COIL_OK(coil_session_decode(session.get(), next.data(), 2));
  ASSERT_COIL_OK(coil_session_set_profiling(session.get(), 0));
  ASSERT_COIL_OK(coil_session_decode(session.get(), next.data(), 2));
  std::vector<coil_profile_entry_t> summary = summaryOf(session.get());
  ASSERT_EQ(summary.size(), 3u);
  for (const coil_profile_entry_t &entry : summary) {
    EXPECT_STREQ(entry.entry, "decode");
    EXPECT_EQ(entry.calls, 1);
  }
}

TEST_F(RuntimeProfileTest, ResetClearsTheProfile) {
  SessionPtr session = createSession(profiled.get(), 2, 16, 2);
  ASSERT_COIL_OK(coil_session_set_profiling(session.get(), 1));
  runKnownCalls(session.get());
  EXPECT_EQ(summaryOf(session.get()).size(), 6u);
  coil_session_profile_reset(session.get());
  EXPECT_TRUE(summaryOf(session.get()).empty());
  std::string path = dir + "/empty.json";
  ASSERT_COIL_OK(coil_session_write_trace(session.get(), path.c_str()));
  nlohmann::json trace = readJson(path);
  ASSERT_FALSE(trace.is_discarded());
  for (const nlohmann::json &event : trace["traceEvents"])
    EXPECT_NE(event["ph"], "X");

  // Still enabled after a reset.
  std::vector<int32_t> next = {1};
  ASSERT_COIL_OK(coil_session_decode(session.get(), next.data(), 1));
  std::vector<coil_profile_entry_t> summary = summaryOf(session.get());
  ASSERT_EQ(summary.size(), 3u);
  EXPECT_EQ(summary[0].calls, 1);
}

TEST_F(RuntimeProfileTest, TraceHasOneEventPerCallStepAndTile) {
  for (int32_t threads : {1, 2}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    SessionPtr session = createSession(profiled.get(), 2, 16, threads);
    ASSERT_COIL_OK(coil_session_set_profiling(session.get(), 1));
    runKnownCalls(session.get());
    std::string path = dir + "/trace.json";
    ASSERT_COIL_OK(coil_session_write_trace(session.get(), path.c_str()));
    // Written through a temporary file that is gone.
    int files = 0;
    for (const auto &file : std::filesystem::directory_iterator(dir))
      files += file.path().filename().string().rfind("trace.json", 0) == 0;
    EXPECT_EQ(files, 1);

    nlohmann::json trace = readJson(path);
    ASSERT_FALSE(trace.is_discarded()) << "not valid JSON: " << path;
    EXPECT_EQ(trace["displayTimeUnit"], "ms");
    ASSERT_TRUE(trace["traceEvents"].is_array());
    std::map<int64_t, int64_t> perTile;
    int64_t complete = 0, threadNames = 0;
    for (const nlohmann::json &event : trace["traceEvents"]) {
      if (event["ph"] == "M") {
        EXPECT_EQ(event["name"], "thread_name");
        ++threadNames;
        continue;
      }
      ASSERT_EQ(event["ph"], "X");
      ++complete;
      EXPECT_EQ(event["pid"], 1);
      int64_t tid = event["tid"].get<int64_t>();
      EXPECT_GE(tid, 0);
      EXPECT_LT(tid, threads);
      ++perTile[tid];
      EXPECT_GE(event["ts"].get<double>(), 0.0);
      EXPECT_GE(event["dur"].get<double>(), 0.0);
      const nlohmann::json &args = event["args"];
      int64_t step = args["step"].get<int64_t>();
      ASSERT_GE(step, 0);
      ASSERT_LT(step, 3);
      const ToyStepCost &cost = kToySteps[step];
      EXPECT_EQ(event["name"], cost.kernel);
      EXPECT_EQ(args["layer"], cost.layer);
      int64_t batch = args["batch"].get<int64_t>();
      int64_t tokens = args["tokens"].get<int64_t>();
      if (args["entry"] == "prefill") {
        EXPECT_EQ(batch, 2);
        EXPECT_EQ(tokens, 3);
        EXPECT_DOUBLE_EQ(args["flops"].get<double>(),
                         toyCost(cost.flops, 6, 2, 2, 3));
        EXPECT_DOUBLE_EQ(args["bytes"].get<double>(),
                         toyCost(cost.bytes, 6, 2, 2, 3));
      } else {
        EXPECT_EQ(args["entry"], "decode");
        EXPECT_EQ(tokens, 1);
        double context = batch == 2 ? 4 : 5;
        EXPECT_DOUBLE_EQ(args["flops"].get<double>(),
                         toyCost(cost.flops, batch, context, batch, context));
        EXPECT_DOUBLE_EQ(args["bytes"].get<double>(),
                         toyCost(cost.bytes, batch, context, batch, context));
      }
    }
    // 3 steps x 3 calls x threads tiles.
    EXPECT_EQ(complete, 3 * 3 * threads);
    EXPECT_EQ(threadNames, threads);
    for (int64_t tile = 0; tile < threads; ++tile)
      EXPECT_EQ(perTile[tile], 9);
    EXPECT_EQ(trace["otherData"]["dropped"], 0);
  }
}

TEST_F(RuntimeProfileTest, TraceToAMissingDirectoryIsAnIOError) {
  SessionPtr session = createSession(profiled.get(), 1, 8);
  std::string path = dir + "/no/such/dir/trace.json";
  EXPECT_TRUE(isError(coil_session_write_trace(session.get(), path.c_str()),
                      COIL_IO_ERROR, {path}));
}

TEST_F(RuntimeProfileTest, ProfiledCallsDoNotAllocate) {
  for (int32_t threads : {1, 2, 4}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    SessionPtr session = createSession(profiled.get(), 2, 64, threads);
    ASSERT_COIL_OK(coil_session_set_profiling(session.get(), 1));
    std::vector<int32_t> tokens(2 * 16, 3);
    std::vector<int32_t> next = {1, 2};
    int64_t before = allocationCount.load();
    coil_status_t *prefill =
        coil_session_prefill(session.get(), tokens.data(), 2, 16);
    coil_status_t *shorter =
        coil_session_prefill(session.get(), tokens.data(), 1, 5);
    coil_status_t *decode = coil_session_decode(session.get(), next.data(), 2);
    coil_status_t *again = coil_session_decode(session.get(), next.data(), 1);
    int64_t allocations = allocationCount.load() - before;
    EXPECT_COIL_OK(prefill);
    EXPECT_COIL_OK(shorter);
    EXPECT_COIL_OK(decode);
    EXPECT_COIL_OK(again);
    EXPECT_EQ(allocations, 0);
    std::vector<coil_profile_entry_t> summary = summaryOf(session.get());
    ASSERT_EQ(summary.size(), 6u);
    EXPECT_EQ(summary[0].calls, 2);
    EXPECT_EQ(summary[3].calls, 2);
  }
}

TEST_F(RuntimeProfileTest, CppWrapperProfiles) {
  coil::Model cppModel = coil::Model::load(profiledPath);
  cppModel.bindWeights(coil::Weights::open(weightsPath));
  coil::Session session(cppModel, {/*maxBatch=*/1, /*maxContext=*/16,
                                   /*threads=*/2});
  session.setProfiling(true);
  session.prefill({1, 2, 3});
  session.decode(4);
  std::vector<coil::ProfileEntry> summary = session.profileSummary();
  ASSERT_EQ(summary.size(), 6u);
  EXPECT_EQ(summary[2].kernel, "head");
  EXPECT_EQ(summary[2].kernelIndex, 1);
  EXPECT_EQ(summary[2].entry, "prefill");
  EXPECT_EQ(summary[2].layer, -1);
  EXPECT_EQ(summary[5].entry, "decode");
  EXPECT_EQ(summary[5].calls, 1);
  EXPECT_GT(summary[5].totalSeconds, 0.0);
  // Decode: N = 1, C = 4.
  EXPECT_DOUBLE_EQ(summary[5].flops, 5 + 3 + 4);
  EXPECT_EQ(summary[5].barriers, 2);
  EXPECT_EQ(session.profileDropped(), 0);
  std::string path = dir + "/cpp.json";
  session.writeTrace(path);
  EXPECT_FALSE(readJson(path).is_discarded());
  session.profileReset();
  EXPECT_TRUE(session.profileSummary().empty());
  session.setProfiling(false);

  coil::Model plain = coil::Model::load(COIL_TOY_MODEL);
  plain.bindWeights(coil::Weights::open(weightsPath));
  coil::Session unprofiled(plain);
  try {
    unprofiled.setProfiling(true);
    ADD_FAILURE() << "profiling a model built without it";
  } catch (const coil::Error &error) {
    EXPECT_EQ(error.code(), COIL_FAILED_PRECONDITION);
  }
}

//===----------------------------------------------------------------------===//
// The C++ wrapper
//===----------------------------------------------------------------------===//

TEST_F(RuntimeTest, CppWrapperRunsTheModel) {
  coil::Model cppModel = coil::Model::load(COIL_TOY_MODEL);
  EXPECT_EQ(cppModel.family(), "toy");
  EXPECT_EQ(cppModel.vocabSize(), TOY_VOCAB);
  EXPECT_EQ(cppModel.maxContext(), 0);
  EXPECT_EQ(cppModel.numKernels(), 3);
  EXPECT_EQ(cppModel.kernelName(2), "kv_write");
  {
    coil::Weights weights = coil::Weights::open(weightsPath);
    cppModel.bindWeights(weights);
  }
  coil::Session session(cppModel,
                        {/*maxBatch=*/2, /*maxContext=*/16, /*threads=*/3});
  EXPECT_EQ(coil::SessionOptions().threads, 1);
  EXPECT_FALSE(coil::SessionOptions().allLogits);
  coil::Session every(cppModel, {/*maxBatch=*/1, /*maxContext=*/16,
                                 /*threads=*/1, /*allLogits=*/true});
  every.prefill({1, 2, 3});
  EXPECT_EQ(every.logits().tokens, 3);
  session.prefill({1, 2, 3});
  session.decode(4);
  coil::LogitsView logits = session.logits();
  ASSERT_EQ(logits.batch, 1);
  ASSERT_EQ(logits.tokens, 1);
  ASSERT_EQ(logits.vocab, TOY_VOCAB);
  EXPECT_EQ(logits.size(), size_t(TOY_VOCAB));
  EXPECT_EQ(*lastTiles, 3);
  ToyReference::Sequence seq;
  std::vector<float> expected = reference.feed(seq, {1, 2, 3, 4}).back();
  EXPECT_EQ(std::vector<float>(logits.row(0, 0), logits.row(0, 0) + 5),
            expected);
  EXPECT_EQ(session.length(0), 4);

  std::vector<uint8_t> saved = session.saveSequence(0);
  EXPECT_EQ(saved.size(), session.savedSize(0));
  EXPECT_LT(saved.size(), session.sequenceStateSize());
  session.restoreSequence(1, saved);
  EXPECT_EQ(session.length(1), 4);
  session.reset();
  EXPECT_EQ(session.length(1), 0);

  // Handles move; the moved-from ones are empty.
  coil::Session moved = std::move(session);
  EXPECT_EQ(session.get(), nullptr);
  moved.prefill({0});
  EXPECT_EQ(moved.length(0), 1);
  coil::Model movedModel = std::move(cppModel);
  EXPECT_EQ(cppModel.get(), nullptr);
  EXPECT_EQ(cppModel.family(), "");
  EXPECT_EQ(movedModel.family(), "toy");
}

TEST_F(RuntimeTest, CppWrapperThrowsErrorsWithTheirCode) {
  auto codeOf = [](auto &&body) {
    try {
      body();
    } catch (const coil::Error &error) {
      EXPECT_NE(std::string(error.what()), "");
      return error.code();
    }
    return COIL_OK;
  };
  EXPECT_EQ(codeOf([] { coil::Model::load("/nonexistent.so"); }),
            COIL_NOT_FOUND);
  EXPECT_EQ(codeOf([&] { coil::Weights::open(dir + "/none"); }),
            COIL_NOT_FOUND);
  coil::Model unbound = coil::Model::load(COIL_TOY_MODEL);
  EXPECT_EQ(codeOf([&] { coil::Session session(unbound); }),
            COIL_FAILED_PRECONDITION);
  EXPECT_EQ(codeOf([&] { unbound.kernelName(3); }), COIL_OUT_OF_RANGE);
  coil::Weights weights = coil::Weights::open(weightsPath);
  unbound.bindWeights(weights);
  EXPECT_EQ(codeOf([&] { unbound.bindWeights(weights); }),
            COIL_FAILED_PRECONDITION);
  EXPECT_EQ(codeOf([&] {
              coil::Session session(unbound, {1, 4, 0});
            }),
            COIL_INVALID_ARGUMENT);
  coil::Session session(unbound, {1, 4});
  EXPECT_EQ(codeOf([&] { session.logits(); }), COIL_FAILED_PRECONDITION);
  EXPECT_EQ(codeOf([&] {
              session.prefill({1, 2, 3, 4, 0});
            }),
            COIL_OUT_OF_RANGE);
  EXPECT_EQ(codeOf([&] { session.decode(7); }), COIL_OUT_OF_RANGE);
  EXPECT_EQ(codeOf([&] {
              session.restoreSequence(0, {1, 2, 3});
            }),
            COIL_INVALID_ARGUMENT);
  EXPECT_EQ(session.length(0), 0);
}

} // namespace
