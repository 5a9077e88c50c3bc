//===- Profiler.h - Timing the kernels of a session -------------*- C++ -*-===//
//
// Models compiled with `coilc --profile` call the `enter` and `exit` hooks of
// `sync` (Kernel.h) from every tile around every kernel call. A session's
// Profiler records them: `enter` stores the time in its tile's slot, `exit`
// appends {start, end, call, step, kernel} to its tile's event array. Both
// take no lock and allocate nothing; each tile writes only its own slot and
// array. The arrays (kEventsPerTile events per tile) and the per-call
// records (kMaxCalls) are allocated when profiling is first enabled; once an
// array or the call records are full, further events are dropped and
// counted.
//
// The session, on its calling thread, starts a call record before the steps
// of prefill or decode run (entry, batch, tokens, mean context and mean
// positions attended per token) and sets the
// current step before each one. Workers read both after the thread pool
// publishes the step, which orders those writes before their reads.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_RUNTIME_PROFILER_H
#define COIL_RUNTIME_PROFILER_H

#include "runtime/src/Metadata.h"
#include "runtime/src/Status.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

namespace coil::runtime {

/// Kernel timings of one session.
class Profiler {
public:
  /// The events each tile can hold.
  static constexpr int64_t kEventsPerTile = int64_t(1) << 20;

  /// The calls (prefill, decode, verify) that can be recorded.
  static constexpr int64_t kMaxCalls = int64_t(1) << 20;

  /// The entries a call can run, by ProfiledEntry::id.
  static constexpr int kNumEntries = 3;

  /// One tile's run of one step: steady-clock nanoseconds.
  struct Event {
    int64_t start;
    int64_t end;
    uint32_t call;
    uint32_t step;
    int64_t kernel;
    /// The barriers the call waited at (tile 0's event; 0 for the others).
    int64_t barriers;
  };

  /// One call of an entry.
  struct Call {
    /// ProfiledEntry::id of the entry.
    int32_t entry;
    int64_t batch;
    int64_t tokens;
    /// The mean length of the call's sequences after the call.
    double context;
    /// The mean over the call's tokens of the positions each one attends:
    /// its own and every earlier one of its sequence (a causal prefill of
    /// T tokens after h attends h + (T + 1) / 2 on average).
    double attended;
  };

  /// An entry of the model as summaries and traces name it.
  struct ProfiledEntry {
    /// "prefill", "decode" or "verify", owned by the session.
    const char *name = nullptr;
    const EntrySpec *spec = nullptr;
  };

  /// A profiler for `tiles` tiles; nothing is allocated for events yet.
  explicit Profiler(int tiles);

  Profiler(const Profiler &) = delete;
  Profiler &operator=(const Profiler &) = delete;

  /// Whether calls are being recorded.
  bool enabled() const { return on.load(std::memory_order_relaxed); }

  /// Starts recording; allocates the event arrays the first time. Errors:
  /// COIL_OUT_OF_MEMORY.
  Status enable();

  /// Stops recording; what was recorded stays.
  void disable() { on.store(false, std::memory_order_relaxed); }

  /// Forgets every event, call and drop.
  void clear();

  /// Starts the record of a call of entry `entry` (a ProfiledEntry::id).
  /// When the records are full, the call's events are dropped.
  void beginCall(int entry, int64_t batch, int64_t tokens, double context,
                 double attended);

  /// Sets the step the next kernel call belongs to.
  void beginStep(int64_t step) { currentStep = static_cast<uint32_t>(step); }

  /// The `enter` hook of tile `tile`.
  void enter(int64_t tile) {
    if (!enabled() || tile < 0 || tile >= numTiles)
      return;
    tileState[tile].start = now();
    if (tile == 0)
      tileState[0].barriersAtStart =
          barriersPassed.load(std::memory_order_relaxed);
  }

  /// Called once per barrier of a kernel call (by the last tile to arrive,
  /// before it releases the others, so tile 0 sees it on its way out).
  void countBarrier() {
    if (enabled())
      barriersPassed.fetch_add(1, std::memory_order_relaxed);
  }

  /// The `exit` hook of tile `tile` for kernel `kernel`.
  void exit(int64_t tile, int64_t kernel) {
    if (!enabled() || tile < 0 || tile >= numTiles)
      return;
    int64_t end = now();
    Tile &state = tileState[tile];
    if (state.count == kEventsPerTile || currentCall == kNoCall) {
      ++state.dropped;
      return;
    }
    int64_t barriers =
        tile == 0 ? barriersPassed.load(std::memory_order_relaxed) -
                        state.barriersAtStart
                  : 0;
    state.events[state.count++] =
        Event{state.start, end, currentCall, currentStep, kernel, barriers};
  }

  /// The events dropped since the last clear().
  int64_t dropped() const;

  /// One entry per (entry, step) that ran since the last clear(), prefill
  /// steps first, each entry's in schedule order. Strings point into
  /// `meta` and `entries`.
  void summary(const Metadata &meta,
               const ProfiledEntry (&entries)[kNumEntries],
               std::vector<coil_profile_entry_t> &out) const;

  /// Writes the Chrome trace-event JSON to `path` through a temporary file
  /// renamed over it. Errors: COIL_IO_ERROR.
  Status writeTrace(const char *path, const Metadata &meta,
                    const ProfiledEntry (&entries)[kNumEntries]) const;

private:
  /// What one tile writes; a cache line of its own.
  struct alignas(64) Tile {
    /// kEventsPerTile events, of which `count` are recorded.
    std::unique_ptr<Event[]> events;
    int64_t count = 0;
    int64_t dropped = 0;
    /// The time of the last `enter`.
    int64_t start = 0;
    /// barriersPassed at the last `enter` (tile 0).
    int64_t barriersAtStart = 0;
  };

  /// The call index of events that have no call record.
  static constexpr uint32_t kNoCall = UINT32_MAX;

  /// The steady clock in nanoseconds.
  static int64_t now() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  /// `a + b * N + c * N * A + d * B + e * B * C` for `call` (StepSpec), N
  /// its batch x tokens (its batch alone for a per-sequence step), A the
  /// mean positions a token attends, B its batch, C its context.
  static double costOf(const double (&cost)[kCostTerms], bool perSequence,
                       const Call &call);

  const int numTiles;
  std::unique_ptr<Tile[]> tileState;
  std::unique_ptr<Call[]> calls;
  int64_t numCalls = 0;
  /// Written by the calling thread before a step is published.
  uint32_t currentCall = kNoCall;
  uint32_t currentStep = 0;
  /// The time of the last clear(), the origin of traces.
  int64_t origin = 0;
  std::atomic<bool> on{false};
  /// Barriers completed while recording, over all calls.
  std::atomic<int64_t> barriersPassed{0};
};

} // namespace coil::runtime

#endif // COIL_RUNTIME_PROFILER_H
