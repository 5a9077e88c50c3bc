//===- Scheduler.h - Continuous batching over a session's slots -*- C++ -*-===//
//
// Runs many requests on one Session, each in a sequence slot of its own.
// Requests wait in a FIFO queue until a slot is free; every step():
//
//   1. admits queued requests into free slots: the slot is emptied, or
//      restored from the longest cached prefix of the prompt (PrefixCache);
//      a prompt that is wholly cached samples its first token at once;
//   2. decodes one token for every request that is generating, one
//      decode_at per contiguous run of such slots;
//   3. prefills prompts in chunks: at most `prefillChunk` prompt tokens per
//      step over all prefilling requests, in admission order (chunked
//      prefill), so a long prompt never stalls the others' decoding for
//      more than one chunk; a request whose prompt is done samples its
//      first token;
//   4. retires finished requests and packs the rest into the lowest slots
//      (copying the highest sequence into the hole), so generating slots
//      stay contiguous and a step needs few calls.
//
// Each request has its own Sampler (its own seed), stop tokens, stop strings
// (with a tokenizer), token budget and the context's end. Events go to one
// callback: every sampled token (with the row of logits it was drawn from
// and, with a tokenizer, the text that became final), then one final event.
// A request's tokens do not depend on what else runs: the same prompt and
// seed give the same tokens alone or among others (the logits agree to the
// last few ulps: the kernels' tiles depend on how many rows a call has).
//
// With a prefix cache, the state after each prompt, after each finished
// request (prompt and generated tokens: the next turn of a conversation
// begins with it) and after a request's `cachePrefix` tokens (a shared
// system prompt) is kept for later requests.
//
// Thread-compatible: one thread calls submit/cancel/step (a server runs the
// scheduler on one engine thread and hands requests to it).
//
//===----------------------------------------------------------------------===//

#ifndef COIL_RUNTIME_SERVE_SCHEDULER_H
#define COIL_RUNTIME_SERVE_SCHEDULER_H

#include "runtime/src/Status.h"
#include "runtime/src/generate/Generate.h"
#include "runtime/src/serve/PrefixCache.h"

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace coil::runtime {
class Session;
}

namespace coil::serve {

/// What one request asks for.
struct RequestOptions {
  /// The prompt's token ids (at least one, at most the session's context).
  std::vector<int32_t> prompt;
  /// The most tokens to generate (0: only prefill).
  int64_t maxNewTokens = 128;
  generate::SamplingParams sampling;
  /// Tokens that end the request; generated, their text not emitted.
  std::vector<int32_t> stopIds;
  /// Texts that end the request (needs a tokenizer).
  std::vector<std::string> stopStrings;
  /// Special tokens left out of the text.
  bool skipSpecialTokens = true;
  /// Also cache the state after the first `cachePrefix` prompt tokens (0:
  /// only the whole prompt); in [0, prompt size].
  int64_t cachePrefix = 0;
};

/// One token of a request, or its end.
struct Event {
  uint64_t request = 0;
  /// The sampled token; -1 in the final event.
  int32_t token = -1;
  /// The text that became final (with a tokenizer; held back while it may
  /// begin a stop string). The final event carries what was held back.
  std::string_view text;
  /// The row of logits the token was drawn from (null in the final event).
  const float *logits = nullptr;
  int64_t vocab = 0;
  bool finished = false;
  /// In the final event: why it ended, and its counts.
  generate::StopReason reason = generate::StopReason::MaxTokens;
  int64_t promptTokens = 0;
  /// Prompt tokens restored from the prefix cache rather than prefilled.
  int64_t cachedTokens = 0;
  int64_t generatedTokens = 0;
};

/// Returning false cancels the request (reason Callback).
using EventCallback = std::function<bool(const Event &)>;

struct SchedulerOptions {
  /// The most prompt tokens prefilled per step, over all requests (>= 1).
  int64_t prefillChunk = 256;
  /// The prefix cache's budget in bytes; 0 turns it off.
  size_t prefixCacheBytes = 0;
};

struct SchedulerStats {
  int64_t queued = 0, active = 0;
  int64_t submitted = 0, finished = 0;
  int64_t steps = 0;
  int64_t prefilledTokens = 0, decodedTokens = 0, sampledTokens = 0;
  /// Requests that found a cached prefix / found none (with a cache).
  int64_t cacheHits = 0, cacheMisses = 0;
  /// Prompt tokens restored instead of prefilled.
  int64_t cachedTokens = 0;
  size_t cacheBytes = 0, cacheEntries = 0;
  int64_t cacheEvictions = 0;
};

class Scheduler {
public:
  /// A scheduler over every slot of `session` (which it resets), which must
  /// outlive it, as must `tokenizer` (null: no text, no stop strings).
  /// Errors: COIL_INVALID_ARGUMENT (options).
  static runtime::Status create(runtime::Session &session,
                                const tokenizer::Tokenizer *tokenizer,
                                const SchedulerOptions &options,
                                EventCallback onEvent,
                                std::unique_ptr<Scheduler> &out);
  ~Scheduler();

  /// Queues a request; its id (from 1) goes to `id`. Checked here:
  /// COIL_INVALID_ARGUMENT (empty prompt, options out of range, stop
  /// strings without a tokenizer), COIL_OUT_OF_RANGE (a token outside the
  /// vocabulary, a prompt longer than the context).
  runtime::Status submit(RequestOptions request, uint64_t &id);

  /// Ends a queued or running request at the next step (reason Cancelled);
  /// false when no such request is waiting or running.
  bool cancel(uint64_t id);

  /// One step (see the file comment); nothing happens when idle. A failing
  /// session call ends every running request (reason Error) and returns
  /// its status; queued requests stay.
  runtime::Status step();

  /// Whether no request is queued or running.
  bool idle() const;

  SchedulerStats stats() const;

  const PrefixCache &prefixCache() const { return cache; }

private:
  struct Request;
  Scheduler(runtime::Session &session, const tokenizer::Tokenizer *tokenizer,
            const SchedulerOptions &options, EventCallback onEvent);

  runtime::Status admit();
  runtime::Status decodeRuns();
  runtime::Status prefillChunks();
  runtime::Status retire();
  /// Samples the next token of `r` from `row`, emits it, and decides
  /// whether `r` ends.
  void accept(Request &r, const float *row);
  /// Marks `r` finished for `reason`.
  void finish(Request &r, generate::StopReason reason);
  /// Keeps the state of `r`'s slot (its first `count` fed tokens) with the
  /// logits `row` in the prefix cache.
  void remember(Request &r, const int32_t *tokens, size_t count,
                const float *row);
  /// Ends every running request with reason Error.
  void failRunning();

  runtime::Session &session;
  const tokenizer::Tokenizer *tokenizer;
  SchedulerOptions options;
  EventCallback onEvent;
  int64_t vocab = 0;
  /// Ids below it may be sampled (the tokenizer's vocabulary, if any).
  int64_t choices = 0;
  uint64_t nextId = 1;
  std::deque<std::unique_ptr<Request>> queue;
  /// slots[i] runs in sequence i; the running requests fill 0..running-1.
  std::vector<std::unique_ptr<Request>> slots;
  int64_t running = 0;
  PrefixCache cache;
  SchedulerStats counters;
  /// Scratch reused between steps.
  std::vector<int32_t> tokens;
  std::vector<int64_t> order;
  std::vector<float> row;
};

} // namespace coil::serve

#endif // COIL_RUNTIME_SERVE_SCHEDULER_H
