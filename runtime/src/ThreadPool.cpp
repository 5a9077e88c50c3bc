//===- ThreadPool.cpp - The threads a session runs kernels on ---*- C++ -*-===//
//
// Three kinds of wait share one shape (awaitWord): spin on an atomic 32-bit
// word, pausing the CPU and yielding now and then, until a condition on its
// value holds or kSpinMicroseconds pass; then register as a sleeper and
// sleep on the word until the condition holds. The thread that changes the
// word does so with a sequentially consistent store and then reads the
// sleeper count, while a sleeper increments that count before its last look
// at the word, so either the changer sees the sleeper and wakes it or the
// sleeper sees the change and does not sleep. The futex itself re-checks the
// word in the kernel, which closes the gap between that look and sleeping.
//
// Ordering: the caller writes the job and then advances `generation`
// (release); a worker that sees it (acquire) sees the job and everything the
// caller wrote before run(). Each worker's decrement of `pending` releases
// its writes to the caller, which reads `pending` with acquire. At the
// barrier every tile's increment of `arrived` continues one release
// sequence, so the last tile sees all tiles' writes and publishes them by
// advancing the barrier's generation.
//
//===----------------------------------------------------------------------===//

#include "runtime/src/ThreadPool.h"

#include "runtime/src/Profiler.h"

#include <chrono>
#include <climits>
#include <cstddef>
#include <string>
#include <system_error>
#include <type_traits>

#include <pthread.h>
#include <signal.h>

#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace coil::runtime {

namespace {

static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t) &&
                  std::atomic<uint32_t>::is_always_lock_free,
              "futexes operate on the atomics' 32-bit words");

/// Tells the CPU this is a spin loop.
inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

/// Sleeps while `word` holds `expected` (or until woken, or spuriously).
void sleepOn(std::atomic<uint32_t> &word, uint32_t expected) {
#ifdef __linux__
  ::syscall(SYS_futex, reinterpret_cast<uint32_t *>(&word), FUTEX_WAIT_PRIVATE,
            expected, nullptr, nullptr, 0);
#else
  (void)word;
  (void)expected;
  std::this_thread::yield();
#endif
}

/// Wakes every thread asleep on `word`.
void wakeAll(std::atomic<uint32_t> &word) {
#ifdef __linux__
  ::syscall(SYS_futex, reinterpret_cast<uint32_t *>(&word), FUTEX_WAKE_PRIVATE,
            INT_MAX, nullptr, nullptr, 0);
#else
  (void)word;
#endif
}

/// Returns once `done(word)` holds: spins first, then sleeps on `word`
/// counted in `sleepers`. Whoever makes `done` true stores to `word` with
/// seq_cst and then calls wakeSleepers with the same `sleepers`.
template <typename Done>
void awaitWord(std::atomic<uint32_t> &word, std::atomic<uint32_t> &sleepers,
               Done done) {
  using Clock = std::chrono::steady_clock;
  constexpr auto budget =
      std::chrono::microseconds(ThreadPool::kSpinMicroseconds);
  // The clock is read, and other runnable threads get a turn, once every
  // kCheckEvery pauses: a few microseconds.
  constexpr unsigned kCheckEvery = 64;
  if (done(word.load(std::memory_order_acquire)))
    return;
  Clock::time_point start = Clock::now();
  for (unsigned i = 1;; ++i) {
    if (done(word.load(std::memory_order_acquire)))
      return;
    cpuRelax();
    if (i % kCheckEvery == 0) {
      if (Clock::now() - start >= budget)
        break;
      std::this_thread::yield();
    }
  }
  sleepers.fetch_add(1, std::memory_order_seq_cst);
  for (;;) {
    uint32_t value = word.load(std::memory_order_seq_cst);
    if (done(value))
      break;
    sleepOn(word, value);
  }
  sleepers.fetch_sub(1, std::memory_order_relaxed);
}

/// Wakes the threads asleep on `word`, if `sleepers` says there are any.
/// Called after the store to `word` that they wait for.
void wakeSleepers(std::atomic<uint32_t> &word,
                  std::atomic<uint32_t> &sleepers) {
  if (sleepers.load(std::memory_order_seq_cst) != 0)
    wakeAll(word);
}

/// Blocks every signal in the calling thread while alive, so that threads
/// started meanwhile inherit an empty signal set: the host application's
/// signals go to its own threads, never to a worker.
class SignalsBlocked {
public:
  SignalsBlocked() {
    sigset_t all;
    sigfillset(&all);
    blocked = ::pthread_sigmask(SIG_SETMASK, &all, &previous) == 0;
  }
  ~SignalsBlocked() {
    if (blocked)
      ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  }
  SignalsBlocked(const SignalsBlocked &) = delete;
  SignalsBlocked &operator=(const SignalsBlocked &) = delete;

private:
  sigset_t previous;
  bool blocked;
};

} // namespace

Status ThreadPool::create(int threads, std::unique_ptr<ThreadPool> &out) {
  out.reset();
  if (threads < 1 || threads > kMaxThreads)
    return Status::error(COIL_INVALID_ARGUMENT,
                         "threads must be from 1 to " +
                             std::to_string(kMaxThreads) + ", found " +
                             std::to_string(threads));
  std::unique_ptr<ThreadPool> pool(new ThreadPool(threads));
  pool->workers.reserve(static_cast<size_t>(threads - 1));
  SignalsBlocked blocked;
  for (int tile = 1; tile < threads; ++tile) {
    try {
      pool->workers.emplace_back(&ThreadPool::work, pool.get(), tile);
    } catch (const std::system_error &error) {
      // The destructor stops and joins the workers started so far.
      return Status::error(
          COIL_OUT_OF_MEMORY,
          "cannot start worker thread " + std::to_string(tile) + " of " +
              std::to_string(threads - 1) + ": " + error.what());
    }
#ifdef __linux__
    ::pthread_setname_np(pool->workers.back().native_handle(), "coil-worker");
#endif
  }
  out = std::move(pool);
  return Status::ok();
}

ThreadPool::ThreadPool(int threads) : numThreads(threads) {
  static_assert(std::is_standard_layout_v<Barrier> &&
                    offsetof(Barrier, head) == 0,
                "kernels see the barrier through its head");
  barrier.count = static_cast<uint32_t>(threads);
  barrier.head.wait =
      threads > 1 ? &ThreadPool::barrierWait : &ThreadPool::noWait;
  barrier.head.enter = &ThreadPool::profileEnter;
  barrier.head.exit = &ThreadPool::profileExit;
}

ThreadPool::~ThreadPool() {
  if (workers.empty())
    return;
  jobKernel = nullptr;
  jobArgs = nullptr;
  generation.fetch_add(1, std::memory_order_seq_cst);
  wakeSleepers(generation, workerSleepers);
  for (std::thread &worker : workers)
    worker.join();
}

void ThreadPool::run(KernelFn kernel, void **args) {
  if (numThreads == 1) {
    kernel(args, 0, 1, &barrier.head);
    return;
  }
  jobKernel = kernel;
  jobArgs = args;
  pending.store(static_cast<uint32_t>(numThreads - 1),
                std::memory_order_relaxed);
  generation.fetch_add(1, std::memory_order_seq_cst);
  wakeSleepers(generation, workerSleepers);

  kernel(args, 0, numThreads, &barrier.head);

  if (pending.load(std::memory_order_acquire) == 0)
    return;
  awaitWord(pending, callerSleeping, [](uint32_t left) { return left == 0; });
}

void ThreadPool::work(int tile) {
  // Steps are numbered from 1; a worker starts having seen none, even if
  // the first is published before it first runs.
  uint32_t seen = 0;
  for (;;) {
    awaitWord(generation, workerSleepers,
              [seen](uint32_t current) { return current != seen; });
    // The caller publishes the next step only after every worker finished
    // this one, so exactly one step is new.
    seen = generation.load(std::memory_order_acquire);
    KernelFn kernel = jobKernel;
    if (!kernel)
      return;
    kernel(jobArgs, tile, numThreads, &barrier.head);
    if (pending.fetch_sub(1, std::memory_order_seq_cst) == 1)
      wakeSleepers(pending, callerSleeping);
  }
}

void ThreadPool::barrierWait(void *sync) {
  auto *self = reinterpret_cast<Barrier *>(static_cast<KernelSync *>(sync));
  // The generation cannot advance before this tile arrives.
  uint32_t current = self->generation.load(std::memory_order_acquire);
  if (self->arrived.fetch_add(1, std::memory_order_acq_rel) + 1 ==
      self->count) {
    // Nobody arrives for the next generation before seeing this one end.
    self->arrived.store(0, std::memory_order_relaxed);
    if (self->profiler)
      self->profiler->countBarrier();
    self->generation.store(current + 1, std::memory_order_seq_cst);
    wakeSleepers(self->generation, self->sleepers);
    return;
  }
  awaitWord(self->generation, self->sleepers,
            [current](uint32_t now) { return now != current; });
}

void ThreadPool::noWait(void *) {}

void ThreadPool::profileEnter(void *sync, int64_t tile, int64_t) {
  auto *self = reinterpret_cast<Barrier *>(static_cast<KernelSync *>(sync));
  if (self->profiler)
    self->profiler->enter(tile);
}

void ThreadPool::profileExit(void *sync, int64_t tile, int64_t kernel) {
  auto *self = reinterpret_cast<Barrier *>(static_cast<KernelSync *>(sync));
  if (self->profiler)
    self->profiler->exit(tile, kernel);
}

} // namespace coil::runtime
