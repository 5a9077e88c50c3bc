//===- Engine.h - The thread that owns the scheduler ------------*- C++ -*-===//
//
// The HTTP threads hand requests to the engine thread, which alone touches
// the session: it submits them to the Scheduler, steps it while anything is
// queued or running, and appends each request's tokens and text to its
// Completion, where the HTTP thread that serves it waits. A request whose
// client went away is cancelled through its Completion. Requests beyond
// the slots plus the queue bound are refused at once (the caller answers
// 503), as are all new ones once shutdown began.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_TOOLS_COIL_SERVE_ENGINE_H
#define COIL_TOOLS_COIL_SERVE_ENGINE_H

#include "Metrics.h"

#include "coil/coil.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace coil::serve_tool {

using Clock = std::chrono::steady_clock;

/// One request's progress, shared by its HTTP thread and the engine.
struct Completion {
  std::mutex mutex;
  std::condition_variable changed;
  /// Appended by the engine.
  std::vector<int32_t> tokens;
  std::string text;
  bool done = false;
  coil_stop_reason_t reason = COIL_STOP_MAX_TOKENS;
  int64_t promptTokens = 0, cachedTokens = 0;
  std::string error;
  /// Set by the HTTP thread when its client is gone.
  bool cancel = false;
  Clock::time_point arrival = Clock::now();
  Clock::time_point firstToken, lastToken;
};

class Engine {
public:
  /// `session` (of `slots` sequences) and `tokenizer` (may be null)
  /// outlive the engine; up to `maxQueued` requests wait for a slot.
  Engine(coil::Session &session, int64_t slots,
         const coil::Tokenizer *tokenizer,
         const coil::SchedulerOptions &options, int64_t maxQueued,
         Metrics &metrics);
  ~Engine();

  enum class Admission { Accepted, Full, ShuttingDown };
  /// Hands `request` to the engine; `completion` then receives its output.
  Admission enqueue(std::shared_ptr<Completion> completion,
                    coil::RequestOptions request);
  /// Asks the engine to cancel `completion`'s request.
  void cancel(const std::shared_ptr<Completion> &completion);

  /// Refuses new requests from now on; lets running ones finish for up to
  /// `grace`, then cancels what is left, and stops the engine thread.
  void shutdown(std::chrono::milliseconds grace);

  /// Requests queued or running.
  int64_t inFlight() const;
  bool accepting() const;

private:
  void loop();
  bool onEvent(const coil::SchedulerEvent &event);

  coil::Scheduler scheduler;
  int64_t capacity;
  Metrics &metrics;

  mutable std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::pair<std::shared_ptr<Completion>, coil::RequestOptions>>
      inbox;
  int64_t admitted = 0;
  bool closing = false, stopping = false, cancelAll = false;
  bool cancelPending = false;

  /// Engine thread only: the requests the scheduler runs, by id.
  std::map<uint64_t, std::shared_ptr<Completion>> running;
  std::thread thread;
};

} // namespace coil::serve_tool

#endif // COIL_TOOLS_COIL_SERVE_ENGINE_H
