//===- Engine.cpp - The thread that owns the scheduler --------------------===//

#include "Engine.h"

namespace coil::serve_tool {

Engine::Engine(coil::Session &session, int64_t slots,
               const coil::Tokenizer *tokenizer,
               const coil::SchedulerOptions &options, int64_t maxQueued,
               Metrics &metrics)
    : scheduler(
          session, tokenizer,
          [this](const coil::SchedulerEvent &e) { return onEvent(e); },
          options),
      capacity(slots + maxQueued), metrics(metrics) {
  thread = std::thread([this] { loop(); });
}

Engine::~Engine() { shutdown(std::chrono::milliseconds(0)); }

Engine::Admission Engine::enqueue(std::shared_ptr<Completion> completion,
                                  coil::RequestOptions request) {
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (closing)
      return Admission::ShuttingDown;
    if (admitted >= capacity)
      return Admission::Full;
    ++admitted;
    inbox.emplace_back(std::move(completion), std::move(request));
  }
  wake.notify_all();
  return Admission::Accepted;
}

void Engine::cancel(const std::shared_ptr<Completion> &completion) {
  {
    std::lock_guard<std::mutex> lock(completion->mutex);
    completion->cancel = true;
  }
  {
    std::lock_guard<std::mutex> lock(mutex);
    cancelPending = true;
  }
  wake.notify_all();
}

int64_t Engine::inFlight() const {
  std::lock_guard<std::mutex> lock(mutex);
  return admitted;
}

bool Engine::accepting() const {
  std::lock_guard<std::mutex> lock(mutex);
  return !closing;
}

void Engine::shutdown(std::chrono::milliseconds grace) {
  {
    std::unique_lock<std::mutex> lock(mutex);
    closing = true;
    wake.notify_all();
    wake.wait_for(lock, grace, [&] { return admitted == 0; });
    cancelAll = true;
    stopping = true;
  }
  wake.notify_all();
  if (thread.joinable())
    thread.join();
}

bool Engine::onEvent(const coil::SchedulerEvent &e) {
  auto it = running.find(e.request);
  if (it == running.end())
    return false;
  Completion &c = *it->second;
  std::lock_guard<std::mutex> lock(c.mutex);
  Clock::time_point now = Clock::now();
  if (!e.finished) {
    if (c.tokens.empty())
      c.firstToken = now;
    c.lastToken = now;
    c.tokens.push_back(e.token);
  } else {
    c.done = true;
    c.reason = e.stop_reason;
    c.promptTokens = e.prompt_tokens;
    c.cachedTokens = e.cached_tokens;
  }
  c.text.append(e.text, e.length);
  c.changed.notify_all();
  return !c.cancel;
}

void Engine::loop() {
  while (true) {
    std::vector<std::pair<std::shared_ptr<Completion>, coil::RequestOptions>>
        arrived;
    bool checkCancels = false, cancelEverything = false;
    {
      std::unique_lock<std::mutex> lock(mutex);
      wake.wait(lock, [&] {
        return stopping || !inbox.empty() || cancelPending || !scheduler.idle();
      });
      if (stopping && cancelAll && running.empty() && inbox.empty())
        return;
      while (!inbox.empty()) {
        arrived.push_back(std::move(inbox.front()));
        inbox.pop_front();
      }
      checkCancels = std::exchange(cancelPending, false);
      cancelEverything = cancelAll;
    }
    for (auto &[completion, request] : arrived) {
      try {
        uint64_t id = scheduler.submit(request);
        running[id] = completion;
      } catch (const coil::Error &e) {
        std::lock_guard<std::mutex> lock(completion->mutex);
        completion->error = e.what();
        completion->done = true;
        completion->reason = COIL_STOP_ERROR;
        completion->changed.notify_all();
        std::lock_guard<std::mutex> engineLock(mutex);
        --admitted;
      }
    }
    if (checkCancels || cancelEverything)
      for (auto &[id, completion] : running) {
        std::lock_guard<std::mutex> lock(completion->mutex);
        if (completion->cancel || cancelEverything)
          scheduler.cancel(id);
      }
    std::string failure;
    try {
      scheduler.step();
    } catch (const coil::Error &e) {
      failure = e.what();
    }
    // Retire what finished.
    int64_t retired = 0;
    for (auto it = running.begin(); it != running.end();) {
      std::lock_guard<std::mutex> lock(it->second->mutex);
      if (!it->second->done) {
        ++it;
        continue;
      }
      if (it->second->reason == COIL_STOP_ERROR && !failure.empty())
        it->second->error = failure;
      it = running.erase(it);
      ++retired;
    }
    coil::SchedulerStats s = scheduler.stats();
    metrics.gauges(s.queued, s.active, s.cache_hits, s.cache_misses,
                   s.cache_bytes);
    if (retired) {
      std::lock_guard<std::mutex> lock(mutex);
      admitted -= retired;
      wake.notify_all(); // a shutdown may be waiting for the last one
    }
  }
}

} // namespace coil::serve_tool
