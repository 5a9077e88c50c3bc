//===- Scheduler.cpp - Continuous batching over a session's slots ---------===//

#include "runtime/src/serve/Scheduler.h"

#include "runtime/src/Session.h"
#include "runtime/src/tokenizer/Tokenizer.h"

#include <algorithm>
#include <optional>

namespace coil::serve {

using generate::StopReason;
using runtime::Status;

struct Scheduler::Request {
  Request(uint64_t id, RequestOptions o)
      : id(id), options(std::move(o)), sampler(options.sampling, 1),
        stops(options.stopStrings) {}

  enum class Phase { Queued, Prefilling, Decoding };

  uint64_t id;
  RequestOptions options;
  generate::Sampler sampler;
  std::optional<tokenizer::TextStream> text;
  generate::StopStringMatcher stops;
  Phase phase = Phase::Queued;
  /// The sequence it runs in (-1 while queued).
  int64_t slot = -1;
  /// Prompt tokens in the sequence (restored or prefilled).
  int64_t fed = 0;
  int64_t cached = 0;
  std::vector<int32_t> generated;
  bool cancelRequested = false;
  bool done = false;
  StopReason reason = StopReason::MaxTokens;
  /// The state's tokens: the prompt, then generated ones once fed.
  std::vector<int32_t> history() const {
    std::vector<int32_t> all = options.prompt;
    if (!generated.empty())
      all.insert(all.end(), generated.begin(), generated.end() - 1);
    return all;
  }
};

Scheduler::Scheduler(runtime::Session &session,
                     const tokenizer::Tokenizer *tokenizer,
                     const SchedulerOptions &options, EventCallback onEvent)
    : session(session), tokenizer(tokenizer), options(options),
      onEvent(std::move(onEvent)), slots(session.maxBatch()),
      cache(options.prefixCacheBytes) {}

Scheduler::~Scheduler() = default;

Status Scheduler::create(runtime::Session &session,
                         const tokenizer::Tokenizer *tokenizer,
                         const SchedulerOptions &options, EventCallback onEvent,
                         std::unique_ptr<Scheduler> &out) {
  if (options.prefillChunk < 1)
    return Status::error(COIL_INVALID_ARGUMENT,
                         "scheduler: prefill_chunk must be >= 1, not " +
                             std::to_string(options.prefillChunk));
  if (!onEvent)
    return Status::error(COIL_INVALID_ARGUMENT, "scheduler: no event callback");
  out.reset(new Scheduler(session, tokenizer, options, std::move(onEvent)));
  session.reset();
  out->vocab = session.vocabSize();
  out->choices = tokenizer
                     ? std::min<int64_t>(out->vocab, tokenizer->vocabSize())
                     : out->vocab;
  return Status::ok();
}

Status Scheduler::submit(RequestOptions request, uint64_t &id) {
  const std::vector<int32_t> &prompt = request.prompt;
  if (prompt.empty())
    return Status::error(COIL_INVALID_ARGUMENT, "request: the prompt is empty");
  if (static_cast<int64_t>(prompt.size()) > session.maxContext())
    return Status::error(COIL_OUT_OF_RANGE,
                         "request: the prompt has " +
                             std::to_string(prompt.size()) +
                             " tokens; the context holds " +
                             std::to_string(session.maxContext()));
  for (size_t i = 0; i < prompt.size(); ++i)
    if (prompt[i] < 0 || prompt[i] >= vocab)
      return Status::error(COIL_OUT_OF_RANGE,
                           "request: prompt token " + std::to_string(i) +
                               " is " + std::to_string(prompt[i]) +
                               ", outside the vocabulary [0, " +
                               std::to_string(vocab) + ")");
  if (request.maxNewTokens < 0)
    return Status::error(COIL_INVALID_ARGUMENT,
                         "request: max_new_tokens must be >= 0");
  if (std::string problem = generate::validate(request.sampling);
      !problem.empty())
    return Status::error(COIL_INVALID_ARGUMENT, "request: " + problem);
  if (!request.stopStrings.empty() && !tokenizer)
    return Status::error(COIL_INVALID_ARGUMENT,
                         "request: stop strings need a tokenizer");
  if (request.cachePrefix < 0 ||
      request.cachePrefix > static_cast<int64_t>(prompt.size()))
    return Status::error(COIL_INVALID_ARGUMENT,
                         "request: cache_prefix must be in [0, " +
                             std::to_string(prompt.size()) + "]");
  id = nextId++;
  auto r = std::make_unique<Request>(id, std::move(request));
  if (tokenizer)
    r->text.emplace(*tokenizer, r->options.skipSpecialTokens);
  queue.push_back(std::move(r));
  ++counters.submitted;
  return Status::ok();
}

bool Scheduler::cancel(uint64_t id) {
  for (auto &r : queue)
    if (r->id == id && !r->cancelRequested)
      return r->cancelRequested = true;
  for (int64_t i = 0; i < running; ++i)
    if (slots[i]->id == id && !slots[i]->done && !slots[i]->cancelRequested)
      return slots[i]->cancelRequested = true;
  return false;
}

bool Scheduler::idle() const { return queue.empty() && running == 0; }

SchedulerStats Scheduler::stats() const {
  SchedulerStats s = counters;
  s.queued = static_cast<int64_t>(queue.size());
  s.active = running;
  s.cacheBytes = cache.bytes();
  s.cacheEntries = cache.entries();
  s.cacheEvictions = cache.evictions();
  return s;
}

void Scheduler::finish(Request &r, StopReason reason) {
  r.done = true;
  r.reason = reason;
}

void Scheduler::remember(Request &r, const int32_t *ids, size_t count,
                         const float *logits) {
  if (!cache.budgetBytes() || cache.touch(ids, count))
    return;
  int64_t slot = r.slot;
  if (slot < 0 || session.length(slot) != static_cast<int64_t>(count))
    return;
  PrefixCache::Entry entry;
  entry.tokens.assign(ids, ids + count);
  entry.state.resize(session.savedSize(slot));
  if (!session.saveSequence(slot, entry.state.data(), entry.state.size())
           .isOk())
    return;
  entry.logits.assign(logits, logits + vocab);
  cache.insert(std::move(entry));
}

void Scheduler::accept(Request &r, const float *logits) {
  int32_t token = r.sampler.sample(0, logits, choices);
  r.generated.push_back(token);
  ++counters.sampledTokens;
  bool isStop = std::find(r.options.stopIds.begin(), r.options.stopIds.end(),
                          token) != r.options.stopIds.end();
  std::string emit;
  bool matched = false;
  if (r.text && !isStop) {
    std::string piece;
    // The token is below the tokenizer's vocabulary: this cannot fail.
    (void)r.text->push(token, piece);
    emit = r.stops.push(piece, matched);
  }
  Event event;
  event.request = r.id;
  event.token = token;
  event.text = emit;
  event.logits = logits;
  event.vocab = vocab;
  if (!onEvent(event))
    finish(r, StopReason::Callback);
  else if (isStop)
    finish(r, StopReason::StopToken);
  else if (matched)
    finish(r, StopReason::StopString);
  else if (static_cast<int64_t>(r.generated.size()) >= r.options.maxNewTokens)
    finish(r, StopReason::MaxTokens);
  else if (session.length(r.slot) >= session.maxContext())
    finish(r, StopReason::Context);
  if (r.done) {
    std::vector<int32_t> all = r.history();
    remember(r, all.data(), all.size(), logits);
  }
}

Status Scheduler::admit() {
  while (!queue.empty() && running < session.maxBatch()) {
    std::unique_ptr<Request> owned = std::move(queue.front());
    queue.pop_front();
    Request &r = *owned;
    int64_t slot = running++;
    r.slot = slot;
    slots[slot] = std::move(owned);
    if (r.cancelRequested) {
      finish(r, StopReason::Cancelled);
      continue;
    }
    if (Status s = session.resetSequence(slot); !s.isOk())
      return s;
    const std::vector<int32_t> &prompt = r.options.prompt;
    r.sampler.observe(0, prompt.data(), prompt.size());
    r.phase = Request::Phase::Prefilling;
    if (!cache.budgetBytes())
      continue;
    const PrefixCache::Entry *hit = cache.lookup(prompt.data(), prompt.size());
    if (!hit) {
      ++counters.cacheMisses;
      continue;
    }
    if (Status s =
            session.restoreSequence(slot, hit->state.data(), hit->state.size());
        !s.isOk())
      return s;
    ++counters.cacheHits;
    r.fed = r.cached = static_cast<int64_t>(hit->tokens.size());
    counters.cachedTokens += r.cached;
    if (r.fed < static_cast<int64_t>(prompt.size()))
      continue;
    // The whole prompt was cached: its logits too.
    r.phase = Request::Phase::Decoding;
    row = hit->logits;
    if (r.options.maxNewTokens == 0)
      finish(r, StopReason::MaxTokens);
    else
      accept(r, row.data());
  }
  return Status::ok();
}

Status Scheduler::decodeRuns() {
  auto decoding = [&](int64_t i) {
    return i < running && slots[i]->phase == Request::Phase::Decoding &&
           !slots[i]->done;
  };
  for (int64_t first = 0; first < running;) {
    if (!decoding(first)) {
      ++first;
      continue;
    }
    int64_t end = first;
    tokens.clear();
    while (decoding(end))
      tokens.push_back(slots[end++]->generated.back());
    int64_t batch = end - first;
    if (Status s = session.decode(tokens.data(), batch, first); !s.isOk())
      return s;
    counters.decodedTokens += batch;
    const float *logits = nullptr;
    int64_t b = 0, t = 0, v = 0;
    if (Status s = session.logits(logits, b, t, v); !s.isOk())
      return s;
    for (int64_t i = 0; i < batch; ++i)
      accept(*slots[first + i], logits + i * t * v + (t - 1) * v);
    first = end;
  }
  return Status::ok();
}

Status Scheduler::prefillChunks() {
  int64_t budget = options.prefillChunk;
  // In admission order (ids grow with it; packing may have moved slots).
  order.clear();
  for (int64_t slot = 0; slot < running; ++slot)
    if (slots[slot]->phase == Request::Phase::Prefilling && !slots[slot]->done)
      order.push_back(slot);
  std::sort(order.begin(), order.end(),
            [&](int64_t a, int64_t b) { return slots[a]->id < slots[b]->id; });
  for (int64_t slot : order) {
    if (budget == 0)
      break;
    Request &r = *slots[slot];
    const std::vector<int32_t> &prompt = r.options.prompt;
    int64_t size = static_cast<int64_t>(prompt.size());
    int64_t n = std::min(budget, size - r.fed);
    // A chunk ends at the prefix to cache, so its state can be saved.
    if (r.options.cachePrefix > r.fed && r.options.cachePrefix < size)
      n = std::min(n, r.options.cachePrefix - r.fed);
    if (Status s = session.prefill(prompt.data() + r.fed, 1, n, slot);
        !s.isOk())
      return s;
    r.fed += n;
    budget -= n;
    counters.prefilledTokens += n;
    const float *logits = nullptr;
    int64_t b = 0, t = 0, v = 0;
    if (Status s = session.logits(logits, b, t, v); !s.isOk())
      return s;
    const float *last = logits + (t - 1) * v;
    if (r.fed == r.options.cachePrefix || r.fed == size)
      remember(r, prompt.data(), static_cast<size_t>(r.fed), last);
    if (r.fed < size)
      continue;
    r.phase = Request::Phase::Decoding;
    if (r.options.maxNewTokens == 0)
      finish(r, StopReason::MaxTokens);
    else
      accept(r, last);
  }
  return Status::ok();
}

Status Scheduler::retire() {
  // Final events, in slot order.
  for (int64_t i = 0; i < running; ++i) {
    Request &r = *slots[i];
    if (!r.done && r.cancelRequested)
      finish(r, StopReason::Cancelled);
    if (!r.done)
      continue;
    std::string rest;
    if (r.text && r.reason != StopReason::StopString &&
        r.reason != StopReason::Callback && r.reason != StopReason::Cancelled &&
        r.reason != StopReason::Error) {
      bool matched = false;
      rest = r.stops.push(r.text->finish(), matched);
      rest += matched ? "" : r.stops.flush();
    }
    Event event;
    event.request = r.id;
    event.text = rest;
    event.finished = true;
    event.reason = r.reason;
    event.promptTokens = static_cast<int64_t>(r.options.prompt.size());
    event.cachedTokens = r.cached;
    event.generatedTokens = static_cast<int64_t>(r.generated.size());
    onEvent(event);
    ++counters.finished;
    slots[i].reset();
  }
  // Pack the running requests into the lowest slots.
  int64_t lo = 0, hi = running - 1;
  while (true) {
    while (lo < running && slots[lo])
      ++lo;
    while (hi >= 0 && !slots[hi])
      --hi;
    if (lo >= hi)
      break;
    if (Status s = session.copySequence(hi, lo); !s.isOk())
      return s;
    slots[lo] = std::move(slots[hi]);
    slots[lo]->slot = lo;
  }
  running = 0;
  while (running < static_cast<int64_t>(slots.size()) && slots[running])
    ++running;
  return Status::ok();
}

void Scheduler::failRunning() {
  for (int64_t i = 0; i < running; ++i)
    if (!slots[i]->done)
      finish(*slots[i], StopReason::Error);
}

Status Scheduler::step() {
  if (idle())
    return Status::ok();
  ++counters.steps;
  // Cancelled requests end before anything runs for them.
  for (int64_t i = 0; i < running; ++i)
    if (slots[i]->cancelRequested && !slots[i]->done)
      finish(*slots[i], StopReason::Cancelled);
  Status status = admit();
  if (status.isOk())
    status = decodeRuns();
  if (status.isOk())
    status = prefillChunks();
  if (!status.isOk())
    failRunning();
  Status retired = retire();
  return status.isOk() ? retired : status;
}

} // namespace coil::serve
