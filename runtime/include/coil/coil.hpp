//===- coil.hpp - Header-only C++ wrapper of the C API ----------*- C++ -*-===//
//
// RAII handles over coil/coil.h for C++17 callers: move-only Model, Weights
// and Session objects that release their handle when they die, and errors
// thrown as coil::Error carrying the C status code. The ownership and thread
// safety rules are those of the C API: a Model with weights bound and a
// Weights object may be shared between threads; a Session is used by one
// thread at a time. Sessions and bound models keep what they use alive, so
// handles may be destroyed in any order.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_COIL_HPP_
#define COIL_COIL_HPP_

#include "coil/coil.h"

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace coil {

/// A failed runtime call: the C status code and its message.
class Error : public std::runtime_error {
public:
  /// An error with `code` and `message`.
  Error(coil_status_code_t code, const std::string &message)
      : std::runtime_error(message), statusCode(code) {}

  /// What went wrong.
  coil_status_code_t code() const noexcept { return statusCode; }

private:
  coil_status_code_t statusCode;
};

namespace detail {

/// Throws Error for a non-NULL `status`, which it frees.
inline void check(coil_status_t *status) {
  if (!status)
    return;
  coil_status_code_t code = coil_status_code(status);
  std::string message = coil_status_message(status);
  coil_status_free(status);
  throw Error(code, message);
}

/// A move-only owner of a C handle released by `Release`.
template <typename T, void (*Release)(T *)> class Handle {
public:
  Handle() = default;
  explicit Handle(T *handle) : ptr(handle) {}
  Handle(Handle &&other) noexcept : ptr(std::exchange(other.ptr, nullptr)) {}
  Handle &operator=(Handle &&other) noexcept {
    if (this != &other) {
      Release(ptr);
      ptr = std::exchange(other.ptr, nullptr);
    }
    return *this;
  }
  Handle(const Handle &) = delete;
  Handle &operator=(const Handle &) = delete;
  ~Handle() { Release(ptr); }

  T *get() const noexcept { return ptr; }

private:
  T *ptr = nullptr;
};

} // namespace detail

/// Weight files opened read-only (see coil_weights_open).
class Weights {
public:
  /// Opens a `.safetensors` file, a `model.safetensors.index.json` or a
  /// directory holding either. Throws Error.
  static Weights open(const std::string &path) {
    coil_weights_t *weights = nullptr;
    detail::check(coil_weights_open(path.c_str(), &weights));
    return Weights(weights);
  }

  /// The C handle, owned by this object.
  coil_weights_t *get() const noexcept { return handle.get(); }

private:
  explicit Weights(coil_weights_t *weights) : handle(weights) {}

  detail::Handle<coil_weights_t, coil_weights_release> handle;
};

/// A compiled model (see coil_model_load).
class Model {
public:
  /// Loads the compiled model at `path`. Throws Error.
  static Model load(const std::string &path) {
    coil_model_t *model = nullptr;
    detail::check(coil_model_load(path.c_str(), &model));
    return Model(model);
  }

  /// Binds `weights`, once; the model keeps them alive. Throws Error.
  void bindWeights(const Weights &weights) {
    detail::check(coil_model_bind_weights(get(), weights.get()));
  }

  /// The model family ("mamba", "llama", ...).
  std::string family() const {
    const char *name = coil_model_family(get());
    return name ? name : "";
  }

  /// The vocabulary size.
  int64_t vocabSize() const { return coil_model_vocab_size(get()); }

  /// The longest supported sequence; 0 when unbounded.
  int64_t maxContext() const { return coil_model_max_context(get()); }

  /// The number of kernels.
  int64_t numKernels() const { return coil_model_num_kernels(get()); }

  /// The name of kernel `index`; throws Error when out of range.
  std::string kernelName(int64_t index) const {
    const char *name = coil_model_kernel_name(get(), index);
    if (!name)
      throw Error(COIL_OUT_OF_RANGE,
                  "kernel index " + std::to_string(index) + " out of range");
    return name;
  }

  /// The C handle, owned by this object.
  coil_model_t *get() const noexcept { return handle.get(); }

private:
  explicit Model(coil_model_t *model) : handle(model) {}

  detail::Handle<coil_model_t, coil_model_release> handle;
};

/// Options of a Session.
struct SessionOptions {
  /// The most sequences per call.
  int64_t maxBatch = 1;
  /// The most tokens per sequence.
  int64_t maxContext = 2048;
  /// The threads each kernel runs on: the caller plus threads - 1 workers
  /// the session owns (1 to COIL_SESSION_MAX_THREADS).
  int32_t threads = 1;
  /// Whether prefill returns every position's logits (all_logits), not
  /// only the last position's.
  bool allLogits = false;
  /// The most tokens per sequence of one verify call (verify_tokens); 0:
  /// no verify.
  int64_t verifyTokens = 0;
};

/// A view of the logits of a session's last call, valid until its next
/// call.
struct LogitsView {
  /// `[batch, tokens, vocab]`, row-major.
  const float *data = nullptr;
  int64_t batch = 0;
  int64_t tokens = 0;
  int64_t vocab = 0;

  /// The `vocab` logits of token `token` of sequence `sequence`.
  const float *row(int64_t sequence, int64_t token) const {
    return data + (sequence * tokens + token) * vocab;
  }

  /// The number of floats.
  size_t size() const { return static_cast<size_t>(batch * tokens * vocab); }
};

/// The profile of one step of an entry point (see coil_profile_entry_t).
struct ProfileEntry {
  /// The kernel's name and index in the model.
  std::string kernel;
  int64_t kernelIndex = 0;
  /// The step's index in its entry's schedule.
  int64_t step = 0;
  /// "prefill", "decode" or "verify".
  std::string entry;
  /// The model layer, or -1.
  int64_t layer = -1;
  /// The calls that ran the step, and their summed wall time.
  int64_t calls = 0;
  double totalSeconds = 0;
  /// The cost model's operations and bytes, summed over the calls.
  double flops = 0;
  double bytes = 0;
  /// The barriers the kernel waited at, summed over the calls.
  int64_t barriers = 0;
};

/// The state of up to maxBatch sequences and the worker threads its kernels
/// run on (see coil_session_create). Use from one thread at a time.
class Session {
public:
  /// Creates a session on `model`, which must have weights bound; the
  /// session keeps it alive. Throws Error.
  explicit Session(const Model &model, const SessionOptions &options = {}) {
    coil_session_options_t cOptions;
    coil_session_options_initialize(&cOptions);
    cOptions.max_batch = options.maxBatch;
    cOptions.max_context = options.maxContext;
    cOptions.threads = options.threads;
    cOptions.all_logits = options.allLogits ? 1 : 0;
    cOptions.verify_tokens = options.verifyTokens;
    coil_session_t *session = nullptr;
    detail::check(coil_session_create(model.get(), &cOptions, &session));
    handle = SessionHandle(session);
  }

  /// Prefills `batch` sequences with `numTokens` tokens each (`tokens` is
  /// batch x numTokens, row-major). Throws Error; the session is unchanged
  /// then.
  void prefill(const int32_t *tokens, int64_t batch, int64_t numTokens) {
    detail::check(coil_session_prefill(get(), tokens, batch, numTokens));
  }

  /// Prefills sequence 0 with `tokens`.
  void prefill(const std::vector<int32_t> &tokens) {
    prefill(tokens.data(), 1, static_cast<int64_t>(tokens.size()));
  }

  /// Feeds one token to each of `batch` sequences. Throws Error.
  void decode(const int32_t *tokens, int64_t batch) {
    detail::check(coil_session_decode(get(), tokens, batch));
  }

  /// Feeds `token` to sequence 0.
  void decode(int32_t token) { decode(&token, 1); }

  /// prefill on the sequences first..first+batch-1. Throws Error.
  void prefillAt(int64_t first, const int32_t *tokens, int64_t batch,
                 int64_t numTokens) {
    detail::check(
        coil_session_prefill_at(get(), first, tokens, batch, numTokens));
  }

  /// decode on the sequences first..first+batch-1. Throws Error.
  void decodeAt(int64_t first, const int32_t *tokens, int64_t batch) {
    detail::check(coil_session_decode_at(get(), first, tokens, batch));
  }

  /// Feeds `numTokens` tokens to each of the sequences first..first+batch-1,
  /// keeping every position's state (coil_session_verify_at). Throws Error.
  void verifyAt(int64_t first, const int32_t *tokens, int64_t batch,
                int64_t numTokens) {
    detail::check(
        coil_session_verify_at(get(), first, tokens, batch, numTokens));
  }

  /// Verifies `tokens` on sequence 0.
  void verify(const std::vector<int32_t> &tokens) {
    verifyAt(0, tokens.data(), 1, static_cast<int64_t>(tokens.size()));
  }

  /// Empties `sequence`. Throws Error.
  void resetSequence(int64_t sequence) {
    detail::check(coil_session_reset_sequence(get(), sequence));
  }

  /// Makes `to` a copy of `from`. Throws Error.
  void copySequence(int64_t from, int64_t to) {
    detail::check(coil_session_copy_sequence(get(), from, to));
  }

  /// Keeps the first `length` tokens of `sequence` (KV-cache models only).
  /// Throws Error.
  void truncateSequence(int64_t sequence, int64_t length) {
    detail::check(coil_session_truncate_sequence(get(), sequence, length));
  }

  /// The logits of the last call. Throws Error before any call.
  LogitsView logits() const {
    LogitsView view;
    detail::check(coil_session_logits(get(), &view.data, &view.batch,
                                      &view.tokens, &view.vocab));
    return view;
  }

  /// The tokens fed to `sequence` so far; -1 when out of range.
  int64_t length(int64_t sequence) const {
    return coil_session_length(get(), sequence);
  }

  /// Empties every sequence.
  void reset() { coil_session_reset(get()); }

  /// The most bytes a saved sequence takes.
  /// Whether sequences can be truncated (every state is a KV cache).
  bool canTruncate() const {
    return coil_session_can_truncate(handle.get()) != 0;
  }

  size_t sequenceStateSize() const {
    return coil_session_sequence_state_size(get());
  }

  /// The bytes the saved state of `sequence` takes now.
  size_t savedSize(int64_t sequence) const {
    return coil_session_saved_size(get(), sequence);
  }

  /// The saved state of `sequence`. Throws Error.
  std::vector<uint8_t> saveSequence(int64_t sequence) const {
    std::vector<uint8_t> bytes(savedSize(sequence));
    detail::check(coil_session_save_sequence(get(), sequence, bytes.data(),
                                             bytes.size()));
    return bytes;
  }

  /// Restores `sequence` from `bytes` written by saveSequence. Throws Error.
  void restoreSequence(int64_t sequence, const std::vector<uint8_t> &bytes) {
    detail::check(coil_session_restore_sequence(get(), sequence, bytes.data(),
                                                bytes.size()));
  }

  /// Turns kernel profiling on or off; throws Error (COIL_FAILED_PRECONDITION
  /// for a model not compiled with `coilc --profile`).
  void setProfiling(bool enabled) {
    detail::check(coil_session_set_profiling(get(), enabled ? 1 : 0));
  }

  /// Forgets every recorded kernel call.
  void profileReset() { coil_session_profile_reset(get()); }

  /// One entry per (entry point, step) that ran since the last reset.
  /// Throws Error.
  std::vector<ProfileEntry> profileSummary() const {
    const coil_profile_entry_t *entries = nullptr;
    int64_t count = 0;
    detail::check(coil_session_profile_summary(get(), &entries, &count));
    std::vector<ProfileEntry> result;
    result.reserve(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
      const coil_profile_entry_t &entry = entries[i];
      result.push_back({entry.kernel ? entry.kernel : "", entry.kernel_index,
                        entry.step, entry.entry ? entry.entry : "", entry.layer,
                        entry.calls, entry.total_seconds, entry.flops,
                        entry.bytes, entry.barriers});
    }
    return result;
  }

  /// The kernel calls dropped since the last reset.
  int64_t profileDropped() const { return coil_session_profile_dropped(get()); }

  /// Writes the recorded kernel calls to `path` as a Chrome trace. Throws
  /// Error.
  void writeTrace(const std::string &path) const {
    detail::check(coil_session_write_trace(get(), path.c_str()));
  }

  /// The C handle, owned by this object.
  coil_session_t *get() const noexcept { return handle.get(); }

private:
  using SessionHandle = detail::Handle<coil_session_t, coil_session_release>;
  SessionHandle handle;
};

/// A checkpoint's tokenizer (see coil_tokenizer_load). Immutable: may be
/// shared between threads.
class Tokenizer {
public:
  /// Loads a tokenizer.json, or the one in directory `path`. Throws Error.
  static Tokenizer load(const std::string &path) {
    coil_tokenizer_t *tokenizer = nullptr;
    detail::check(coil_tokenizer_load(path.c_str(), &tokenizer));
    return Tokenizer(tokenizer);
  }

  /// The ids of `text` (special tokens of the template added unless
  /// `addSpecialTokens` is false). Throws Error.
  std::vector<int32_t> encode(const std::string &text,
                              bool addSpecialTokens = true) const {
    size_t count = 0;
    coil_status_t *status =
        coil_tokenizer_encode(get(), text.data(), text.size(),
                              addSpecialTokens, nullptr, 0, &count);
    if (status && coil_status_code(status) != COIL_OUT_OF_RANGE)
      detail::check(status);
    coil_status_free(status);
    std::vector<int32_t> ids(count);
    detail::check(coil_tokenizer_encode(get(), text.data(), text.size(),
                                        addSpecialTokens, ids.data(),
                                        ids.size(), &count));
    return ids;
  }

  /// The text of `ids`. Throws Error (an id outside the vocabulary).
  std::string decode(const std::vector<int32_t> &ids,
                     bool skipSpecialTokens = false) const {
    std::string text(256 + 16 * ids.size(), '\0');
    size_t length = 0;
    coil_status_t *status =
        coil_tokenizer_decode(get(), ids.data(), ids.size(), skipSpecialTokens,
                              text.data(), text.size(), &length);
    if (status && coil_status_code(status) == COIL_OUT_OF_RANGE &&
        length >= text.size()) {
      coil_status_free(status);
      text.assign(length + 1, '\0');
      status = coil_tokenizer_decode(get(), ids.data(), ids.size(),
                                     skipSpecialTokens, text.data(),
                                     text.size(), &length);
    }
    detail::check(status);
    text.resize(length);
    return text;
  }

  /// One past the largest id.
  int64_t vocabSize() const { return coil_tokenizer_vocab_size(get()); }

  /// The id of token string `token`, or -1.
  int32_t tokenId(const std::string &token) const {
    return coil_tokenizer_token_id(get(), token.c_str());
  }

  /// Whether `id` is a special token.
  bool isSpecial(int32_t id) const {
    return coil_tokenizer_is_special(get(), id) != 0;
  }

  /// The special tokens that end a text (coil_tokenizer_end_of_text).
  std::vector<int32_t> endOfText() const {
    std::vector<int32_t> ids(8);
    ids.resize(coil_tokenizer_end_of_text(get(), ids.data(), ids.size()));
    return ids;
  }

  /// The C handle, owned by this object.
  coil_tokenizer_t *get() const noexcept { return handle.get(); }

private:
  explicit Tokenizer(coil_tokenizer_t *tokenizer) : handle(tokenizer) {}

  detail::Handle<coil_tokenizer_t, coil_tokenizer_release> handle;
};

/// Text from ids produced one at a time (see coil_text_stream_create). The
/// tokenizer must outlive it.
class TextStream {
public:
  explicit TextStream(const Tokenizer &tokenizer,
                      bool skipSpecialTokens = false) {
    coil_text_stream_t *stream = nullptr;
    detail::check(
        coil_text_stream_create(tokenizer.get(), skipSpecialTokens, &stream));
    handle = StreamHandle(stream);
  }

  /// Adds `id`; returns the text that became complete. Throws Error.
  std::string push(int32_t id) {
    const char *text = nullptr;
    size_t length = 0;
    detail::check(coil_text_stream_push(handle.get(), id, &text, &length));
    return std::string(text, length);
  }

  /// The rest of the text; the stream starts over. Throws Error.
  std::string finish() {
    const char *text = nullptr;
    size_t length = 0;
    detail::check(coil_text_stream_finish(handle.get(), &text, &length));
    return std::string(text, length);
  }

private:
  using StreamHandle =
      detail::Handle<coil_text_stream_t, coil_text_stream_release>;
  StreamHandle handle;
};

/// How tokens are chosen (see coil_sampling_options_t); greedy by default.
struct SamplingOptions {
  float temperature = 0.0f;
  int32_t topK = 0;
  float topP = 1.0f;
  float minP = 0.0f;
  float repetitionPenalty = 1.0f;
  uint64_t seed = 0;

  coil_sampling_options_t toC() const {
    coil_sampling_options_t c;
    coil_sampling_options_initialize(&c);
    c.temperature = temperature;
    c.top_k = topK;
    c.top_p = topP;
    c.min_p = minP;
    c.repetition_penalty = repetitionPenalty;
    c.seed = seed;
    return c;
  }
};

/// Samples the next token of several sequences (see coil_sampler_create).
class Sampler {
public:
  /// Throws Error for an option out of its range.
  explicit Sampler(const SamplingOptions &options, int64_t sequences = 1) {
    coil_sampling_options_t c = options.toC();
    coil_sampler_t *sampler = nullptr;
    detail::check(coil_sampler_create(&c, sequences, &sampler));
    handle = SamplerHandle(sampler);
  }

  /// Adds tokens `sequence` has seen (for the repetition penalty).
  void observe(int64_t sequence, const std::vector<int32_t> &tokens) {
    detail::check(coil_sampler_observe(handle.get(), sequence, tokens.data(),
                                       tokens.size()));
  }

  /// The next token of `sequence` from `vocab` logits.
  int32_t sample(int64_t sequence, const float *logits, int64_t vocab) {
    int32_t token = -1;
    detail::check(
        coil_sampler_sample(handle.get(), sequence, logits, vocab, &token));
    return token;
  }

private:
  using SamplerHandle = detail::Handle<coil_sampler_t, coil_sampler_release>;
  SamplerHandle handle;
};

/// A request for generate() (see coil_generate_options_t).
struct GenerateOptions {
  int64_t maxNewTokens = 128;
  SamplingOptions sampling;
  std::vector<int32_t> stopTokens;
  std::vector<std::string> stopStrings;
  bool addSpecialTokens = true;
  bool skipSpecialTokens = true;
};

/// What generate() did (see coil_generate_stats_t).
using GenerateStats = coil_generate_stats_t;

/// Called with each generated token and the text that became final (token
/// -1 at the end for text held back); return false to end the request.
using TokenCallback = std::function<bool(int32_t token, std::string_view)>;

/// Generates text on sequence 0 of `session` (see coil_generate). Throws
/// Error; an exception thrown by `onToken` ends the request and is
/// rethrown.
inline GenerateStats generate(Session &session, const Tokenizer &tokenizer,
                              const std::string &prompt,
                              const GenerateOptions &options = {},
                              const TokenCallback &onToken = nullptr) {
  coil_generate_options_t c;
  coil_generate_options_initialize(&c);
  c.max_new_tokens = options.maxNewTokens;
  c.sampling = options.sampling.toC();
  c.stop_tokens = options.stopTokens.data();
  c.num_stop_tokens = options.stopTokens.size();
  std::vector<const char *> stops;
  for (const std::string &stop : options.stopStrings)
    stops.push_back(stop.c_str());
  c.stop_strings = stops.data();
  c.num_stop_strings = stops.size();
  c.add_special_tokens = options.addSpecialTokens;
  c.skip_special_tokens = options.skipSpecialTokens;
  struct Context {
    const TokenCallback *callback;
    std::exception_ptr error;
  } context{&onToken, nullptr};
  auto trampoline = [](void *user, int32_t token, const char *text,
                       size_t length) -> int {
    auto *ctx = static_cast<Context *>(user);
    try {
      return (*ctx->callback)(token, std::string_view(text, length)) ? 1 : 0;
    } catch (...) {
      ctx->error = std::current_exception();
      return 0;
    }
  };
  GenerateStats stats{};
  detail::check(coil_generate(session.get(), tokenizer.get(), prompt.data(),
                              prompt.size(), &c,
                              onToken ? +trampoline : nullptr, &context,
                              &stats));
  if (context.error)
    std::rethrow_exception(context.error);
  return stats;
}

/// One request for a Scheduler (see coil_request_options_t).
struct RequestOptions {
  std::vector<int32_t> prompt;
  int64_t maxNewTokens = 128;
  SamplingOptions sampling;
  std::vector<int32_t> stopTokens;
  std::vector<std::string> stopStrings;
  bool skipSpecialTokens = true;
  int64_t cachePrefix = 0;
};

/// Options of a Scheduler (see coil_scheduler_options_t).
struct SchedulerOptions {
  int64_t prefillChunk = 256;
  uint64_t prefixCacheBytes = 0;
};

using SchedulerEvent = coil_scheduler_event_t;
using SchedulerStats = coil_scheduler_stats_t;

/// Continuous batching over a session's slots (see coil_scheduler_create).
/// The session and tokenizer must outlive it. An exception thrown by the
/// callback ends that request and is rethrown by step().
class Scheduler {
public:
  using Callback = std::function<bool(const SchedulerEvent &)>;

  /// `tokenizer` may be null (no text, no stop strings). Throws Error.
  Scheduler(Session &session, const Tokenizer *tokenizer, Callback onEvent,
            const SchedulerOptions &options = {})
      : context(new Context{std::move(onEvent), nullptr}) {
    coil_scheduler_options_t c;
    coil_scheduler_options_initialize(&c);
    c.prefill_chunk = options.prefillChunk;
    c.prefix_cache_bytes = options.prefixCacheBytes;
    coil_scheduler_t *scheduler = nullptr;
    detail::check(coil_scheduler_create(
        session.get(), tokenizer ? tokenizer->get() : nullptr, &c, &trampoline,
        context.get(), &scheduler));
    handle = SchedulerHandle(scheduler);
  }

  /// Queues `request`; returns its id. Throws Error.
  uint64_t submit(const RequestOptions &request) {
    coil_request_options_t c;
    coil_request_options_initialize(&c);
    c.prompt = request.prompt.data();
    c.prompt_length = request.prompt.size();
    c.max_new_tokens = request.maxNewTokens;
    c.sampling = request.sampling.toC();
    c.stop_tokens = request.stopTokens.data();
    c.num_stop_tokens = request.stopTokens.size();
    std::vector<const char *> stops;
    for (const std::string &stop : request.stopStrings)
      stops.push_back(stop.c_str());
    c.stop_strings = stops.data();
    c.num_stop_strings = stops.size();
    c.skip_special_tokens = request.skipSpecialTokens;
    c.cache_prefix = request.cachePrefix;
    uint64_t id = 0;
    detail::check(coil_scheduler_submit(handle.get(), &c, &id));
    return id;
  }

  /// Ends a request at the next step; false if it is not queued or running.
  bool cancel(uint64_t request) {
    return coil_scheduler_cancel(handle.get(), request) != 0;
  }

  /// One step. Throws Error, or what the callback threw.
  void step() {
    detail::check(coil_scheduler_step(handle.get()));
    if (context->error)
      std::rethrow_exception(std::exchange(context->error, nullptr));
  }

  /// Steps until no request is queued or running.
  void run() {
    while (!idle())
      step();
  }

  bool idle() const { return coil_scheduler_idle(handle.get()) != 0; }

  SchedulerStats stats() const {
    SchedulerStats s{};
    detail::check(coil_scheduler_stats(handle.get(), &s));
    return s;
  }

private:
  struct Context {
    Callback callback;
    std::exception_ptr error;
  };
  static int trampoline(void *user, const coil_scheduler_event_t *event) {
    auto *ctx = static_cast<Context *>(user);
    try {
      return ctx->callback(*event) ? 1 : 0;
    } catch (...) {
      ctx->error = std::current_exception();
      return 0;
    }
  }
  using SchedulerHandle =
      detail::Handle<coil_scheduler_t, coil_scheduler_release>;
  std::unique_ptr<Context> context;
  SchedulerHandle handle;
};

} // namespace coil

#endif // COIL_COIL_HPP_
