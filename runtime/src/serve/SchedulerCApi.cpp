//===- SchedulerCApi.cpp - The C API of continuous batching -----*- C++ -*-===//

#include "coil/coil.h"

#include "runtime/src/CApiSupport.h"
#include "runtime/src/serve/Scheduler.h"

#include <string>

using coil::capi::cStopReason;
using coil::capi::guarded;
using coil::capi::nullArgument;
using coil::runtime::Status;

/// A scheduler and the C callback its events go to.
struct coil_scheduler_t {
  std::unique_ptr<coil::serve::Scheduler> scheduler;
  coil_scheduler_callback_t callback = nullptr;
  void *userData = nullptr;
  /// The text of the event being delivered, NUL terminated.
  std::string text;
};

namespace {

Status structSizeError(const char *function, const char *what, uint32_t size,
                       const char *initializer) {
  return Status::error(COIL_INVALID_ARGUMENT,
                       std::string(function) + ": " + what +
                           "' struct_size is " + std::to_string(size) +
                           "; initialise them with " + initializer);
}

} // namespace

extern "C" {

coil_status_t *coil_scheduler_create(coil_session_t *session,
                                     const coil_tokenizer_t *tokenizer,
                                     const coil_scheduler_options_t *options,
                                     coil_scheduler_callback_t callback,
                                     void *user_data,
                                     coil_scheduler_t **out_scheduler) {
  return guarded([&] {
    const char *fn = "coil_scheduler_create";
    if (!session)
      return nullArgument(fn, "session");
    if (!callback)
      return nullArgument(fn, "callback");
    if (!out_scheduler)
      return nullArgument(fn, "out_scheduler");
    coil_scheduler_options_t defaults;
    coil_scheduler_options_initialize(&defaults);
    const coil_scheduler_options_t &o = options ? *options : defaults;
    if (o.struct_size < sizeof(coil_scheduler_options_t))
      return structSizeError(fn, "options", o.struct_size,
                             "coil_scheduler_options_initialize");
    coil::serve::SchedulerOptions config;
    config.prefillChunk = o.prefill_chunk;
    config.prefixCacheBytes = o.prefix_cache_bytes;
    auto handle = std::make_unique<coil_scheduler_t>();
    handle->callback = callback;
    handle->userData = user_data;
    coil_scheduler_t *raw = handle.get();
    auto onEvent = [raw](const coil::serve::Event &e) {
      raw->text.assign(e.text.data(), e.text.size());
      coil_scheduler_event_t event{};
      event.request = e.request;
      event.token = e.token;
      event.finished = e.finished ? 1 : 0;
      event.text = raw->text.c_str();
      event.length = raw->text.size();
      event.logits = e.logits;
      event.vocab = e.vocab;
      event.stop_reason = cStopReason(e.reason);
      event.prompt_tokens = e.promptTokens;
      event.cached_tokens = e.cachedTokens;
      event.generated_tokens = e.generatedTokens;
      return raw->callback(raw->userData, &event) != 0;
    };
    if (Status s = coil::serve::Scheduler::create(
            *session->session, tokenizer ? tokenizer->tokenizer.get() : nullptr,
            config, onEvent, handle->scheduler);
        !s.isOk())
      return s;
    *out_scheduler = handle.release();
    return Status::ok();
  });
}

void coil_scheduler_release(coil_scheduler_t *scheduler) { delete scheduler; }

coil_status_t *coil_scheduler_submit(coil_scheduler_t *scheduler,
                                     const coil_request_options_t *request,
                                     uint64_t *out_id) {
  return guarded([&] {
    const char *fn = "coil_scheduler_submit";
    if (!scheduler)
      return nullArgument(fn, "scheduler");
    if (!request)
      return nullArgument(fn, "request");
    if (!out_id)
      return nullArgument(fn, "out_id");
    const coil_request_options_t &o = *request;
    if (o.struct_size < sizeof(coil_request_options_t))
      return structSizeError(fn, "request", o.struct_size,
                             "coil_request_options_initialize");
    if ((!o.prompt && o.prompt_length) ||
        (!o.stop_tokens && o.num_stop_tokens) ||
        (!o.stop_strings && o.num_stop_strings))
      return nullArgument(fn, "prompt, stop_tokens or stop_strings");
    coil::serve::RequestOptions r;
    if (o.prompt)
      r.prompt.assign(o.prompt, o.prompt + o.prompt_length);
    r.maxNewTokens = o.max_new_tokens;
    if (Status s = coil::capi::samplingParams(fn, o.sampling, r.sampling);
        !s.isOk())
      return s;
    if (o.stop_tokens)
      r.stopIds.assign(o.stop_tokens, o.stop_tokens + o.num_stop_tokens);
    for (size_t i = 0; i < o.num_stop_strings; ++i) {
      if (!o.stop_strings[i])
        return nullArgument(fn, "a stop string");
      r.stopStrings.emplace_back(o.stop_strings[i]);
    }
    r.skipSpecialTokens = o.skip_special_tokens != 0;
    r.cachePrefix = o.cache_prefix;
    return scheduler->scheduler->submit(std::move(r), *out_id);
  });
}

int coil_scheduler_cancel(coil_scheduler_t *scheduler, uint64_t request) {
  return scheduler && scheduler->scheduler->cancel(request) ? 1 : 0;
}

coil_status_t *coil_scheduler_step(coil_scheduler_t *scheduler) {
  return guarded([&] {
    if (!scheduler)
      return nullArgument("coil_scheduler_step", "scheduler");
    return scheduler->scheduler->step();
  });
}

int coil_scheduler_idle(const coil_scheduler_t *scheduler) {
  return !scheduler || scheduler->scheduler->idle() ? 1 : 0;
}

coil_status_t *coil_scheduler_stats(const coil_scheduler_t *scheduler,
                                    coil_scheduler_stats_t *out_stats) {
  return guarded([&] {
    if (!scheduler || !out_stats)
      return nullArgument("coil_scheduler_stats", "scheduler or out_stats");
    coil::serve::SchedulerStats s = scheduler->scheduler->stats();
    coil_scheduler_stats_t &o = *out_stats;
    o.queued = s.queued;
    o.active = s.active;
    o.submitted = s.submitted;
    o.finished = s.finished;
    o.steps = s.steps;
    o.prefilled_tokens = s.prefilledTokens;
    o.decoded_tokens = s.decodedTokens;
    o.sampled_tokens = s.sampledTokens;
    o.cache_hits = s.cacheHits;
    o.cache_misses = s.cacheMisses;
    o.cached_tokens = s.cachedTokens;
    o.cache_bytes = s.cacheBytes;
    o.cache_entries = static_cast<int64_t>(s.cacheEntries);
    o.cache_evictions = s.cacheEvictions;
    return Status::ok();
  });
}

} // extern "C"
