//===- ThreadPool.h - The threads a session runs kernels on -----*- C++ -*-===//
//
// A ThreadPool of N threads is the calling thread plus N - 1 workers started
// at creation and joined at destruction. run() calls one kernel on all N at
// once (docs/abi.md: the caller is tile 0) and returns when every tile has
// returned, so consecutive steps never overlap. The `sync` object kernels
// receive is the pool's barrier.
//
// Decode runs a few hundred steps per token, each tens to hundreds of
// microseconds long, so handing out a step and waiting at a barrier must
// cost far less than a microsecond when the threads are awake. Every wait
// (a worker for the next step, the caller for the workers, a tile at the
// barrier) therefore spins on an atomic word for a short while
// (kSpinMicroseconds) and only then sleeps on it (a futex on Linux); whoever
// changes the word wakes sleepers only when there are any. Nothing is
// allocated after creation.
//
// The `enter` and `exit` hooks of `sync` forward to the pool's Profiler, if
// one is set, and otherwise return at once.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_RUNTIME_THREADPOOL_H
#define COIL_RUNTIME_THREADPOOL_H

#include "runtime/src/Kernel.h"
#include "runtime/src/Status.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace coil::runtime {

class Profiler;

/// The calling thread and the workers that run kernels with it.
class ThreadPool {
public:
  /// The most threads a pool may have (COIL_SESSION_MAX_THREADS).
  static constexpr int kMaxThreads = 256;

  /// How long a waiting thread spins before it sleeps.
  static constexpr int64_t kSpinMicroseconds = 100;

  /// Starts `threads - 1` workers (`threads` in [1, kMaxThreads]). Errors:
  /// COIL_INVALID_ARGUMENT (threads out of range), COIL_OUT_OF_MEMORY (a
  /// worker could not be started; the others are joined).
  static Status create(int threads, std::unique_ptr<ThreadPool> &out);

  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  /// Stops and joins the workers. No run() may be in progress.
  ~ThreadPool();

  /// The number of threads, the caller included.
  int threads() const { return numThreads; }

  /// Calls `kernel(args, tile, threads(), sync)` for every tile at once,
  /// tile 0 on the calling thread, and returns when all have returned.
  /// Everything the caller wrote before is visible to every tile, and
  /// everything any tile wrote is visible to the caller afterwards. Not
  /// reentrant: one run at a time.
  void run(KernelFn kernel, void **args);

  /// Sends the kernels' profiling hooks to `profiler` (which must outlive
  /// the pool, or be unset first); null ignores them. Not during run().
  void setProfiler(Profiler *profiler) { barrier.profiler = profiler; }

private:
  /// The barrier kernels wait at. Standard layout with `head` first, so
  /// `&head` (what kernels receive) and the barrier share an address.
  struct Barrier {
    KernelSync head;
    /// The number of tiles.
    uint32_t count = 1;
    /// The tiles that have arrived in the current generation.
    alignas(64) std::atomic<uint32_t> arrived{0};
    /// Advanced by the last tile to arrive, which releases the others.
    alignas(64) std::atomic<uint32_t> generation{0};
    /// Tiles asleep on `generation`.
    std::atomic<uint32_t> sleepers{0};
    /// Where `head.enter` and `head.exit` record; null ignores them.
    Profiler *profiler = nullptr;
  };

  explicit ThreadPool(int threads);

  /// The body of worker `tile`.
  void work(int tile);

  /// `head.wait` of a barrier of more than one tile.
  static void barrierWait(void *sync);

  /// `head.wait` of a barrier of one tile: returns at once.
  static void noWait(void *sync);

  /// `head.enter`: forwards to the barrier's profiler.
  static void profileEnter(void *sync, int64_t tile, int64_t kernel);

  /// `head.exit`: forwards to the barrier's profiler.
  static void profileExit(void *sync, int64_t tile, int64_t kernel);

  const int numThreads;
  std::vector<std::thread> workers;

  /// The step being run; written by the caller before `generation` is
  /// advanced and read by workers after they see it advance. A null kernel
  /// tells the workers to exit.
  KernelFn jobKernel = nullptr;
  void **jobArgs = nullptr;

  /// Advanced once per step (and once to stop); workers wait for it.
  alignas(64) std::atomic<uint32_t> generation{0};
  /// Workers asleep on `generation`.
  std::atomic<uint32_t> workerSleepers{0};
  /// Workers that have not finished the current step; the caller waits for
  /// zero.
  alignas(64) std::atomic<uint32_t> pending{0};
  /// 1 while the caller is asleep on `pending`.
  std::atomic<uint32_t> callerSleeping{0};

  Barrier barrier;
};

} // namespace coil::runtime

#endif // COIL_RUNTIME_THREADPOOL_H
