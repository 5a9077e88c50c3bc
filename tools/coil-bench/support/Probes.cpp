//===- Probes.cpp - Roofline probes for coil-bench --------------*- C++ -*-===//
//
// Both probes run a team of pinned threads that start each repeat together
// behind a spinning barrier; a repeat lasts from the earliest start to the
// latest finish over all threads. The kernels exist once per instruction set
// (AVX-512, AVX2 + FMA, portable 128-bit vectors) and are compiled with
// per-function target attributes, so the file builds with the project's
// default flags and the best kernel is picked from the CPU at run time.
//
//===----------------------------------------------------------------------===//

#include "tools/coil-bench/support/Probes.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define COIL_BENCH_X86 1
#endif

#ifdef __linux__
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#endif

namespace coil::bench {
namespace {

using Clock = std::chrono::steady_clock;

/// Results land here so that no kernel's work is dead code.
std::atomic<float> resultSink{0};

/// A runtime value the compiler cannot see through, for kernel seeds.
volatile float opaqueSeed = 1.0f;

void sink(float value) { resultSink.store(value, std::memory_order_relaxed); }

/// A reusable barrier for a fixed number of threads. Waiters spin, yielding,
/// so that threads leave it within microseconds of the last arrival.
class SpinBarrier {
public:
  explicit SpinBarrier(int count) : count(count) {}

  void wait() {
    unsigned gen = generation.load(std::memory_order_acquire);
    if (arrived.fetch_add(1, std::memory_order_acq_rel) + 1 == count) {
      arrived.store(0, std::memory_order_relaxed);
      generation.fetch_add(1, std::memory_order_release);
      return;
    }
    while (generation.load(std::memory_order_acquire) == gen)
      std::this_thread::yield();
  }

private:
  const int count;
  std::atomic<int> arrived{0};
  std::atomic<unsigned> generation{0};
};

/// Pins the calling thread to the `index`-th CPU the process may run on
/// (wrapping around), so that threads neither migrate nor share a core while
/// another is idle. Best effort: failures leave the thread unpinned.
void pinToCpu(const std::vector<int> &cpus, int index) {
#ifdef __linux__
  if (cpus.empty())
    return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpus[static_cast<std::size_t>(index) % cpus.size()], &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
#else
  (void)cpus;
  (void)index;
#endif
}

/// The CPUs the calling thread may run on, in increasing order.
std::vector<int> allowedCpus() {
  std::vector<int> cpus;
#ifdef __linux__
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0)
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
      if (CPU_ISSET(cpu, &set))
        cpus.push_back(cpu);
#endif
  return cpus;
}

/// Runs `body(index)` on `threads` new threads, each pinned to its own CPU
/// where possible, and waits for all of them. The calling thread only waits,
/// so its own affinity is left alone.
template <typename Body> void runTeam(int threads, Body body) {
  std::vector<int> cpus = allowedCpus();
  std::vector<std::thread> team;
  team.reserve(threads);
  for (int index = 0; index < threads; ++index)
    team.emplace_back([&cpus, &body, index] {
      pinToCpu(cpus, index);
      body(index);
    });
  for (std::thread &thread : team)
    thread.join();
}

/// Per-thread timing of one repeat, padded to its own cache line.
struct alignas(64) Lap {
  Clock::time_point start, end;
  double work = 0;
};

/// Work per repeat over the wall time of the repeat: from the earliest start
/// to the latest end over all threads.
double teamRate(const std::vector<Lap> &laps) {
  Clock::time_point start = laps.front().start, end = laps.front().end;
  double work = 0;
  for (const Lap &lap : laps) {
    start = std::min(start, lap.start);
    end = std::max(end, lap.end);
    work += lap.work;
  }
  double seconds = std::chrono::duration<double>(end - start).count();
  return seconds > 0 ? work / seconds : 0;
}

//===----------------------------------------------------------------------===//
// FMA kernels
//===----------------------------------------------------------------------===//
//
// Every kernel updates independent accumulators acc = acc * m + a, which
// converges to a normal value (no denormals, no overflow), and returns their
// sum. It reports the flops it performed.

/// 128-bit vectors through the compiler's generic vector extension.
typedef float Float4 __attribute__((vector_size(16)));

/// Portable fallback: multiply plus add on 128-bit vectors (8 chains).
float fmaChunkGeneric(std::uint64_t iterations, float seed, double &flops) {
  constexpr int kAccumulators = 8;
  Float4 acc[kAccumulators];
  for (int i = 0; i < kAccumulators; ++i)
    acc[i] = Float4{} + (seed + static_cast<float>(i));
  const Float4 mul = Float4{} + 0.999999f, add = Float4{} + 1e-6f;
  for (std::uint64_t n = 0; n < iterations; ++n)
    for (int i = 0; i < kAccumulators; ++i)
      acc[i] = acc[i] * mul + add;
  Float4 sum = acc[0];
  for (int i = 1; i < kAccumulators; ++i)
    sum += acc[i];
  flops = static_cast<double>(iterations) * kAccumulators * 4 * 2;
  return sum[0] + sum[1] + sum[2] + sum[3];
}

#ifdef COIL_BENCH_X86
/// AVX2 + FMA: 12 chains of 8 lanes (16 ymm registers in all).
__attribute__((target("avx2,fma"))) float
fmaChunkAvx2(std::uint64_t iterations, float seed, double &flops) {
  constexpr int kAccumulators = 12;
  __m256 acc[kAccumulators];
  for (int i = 0; i < kAccumulators; ++i)
    acc[i] = _mm256_set1_ps(seed + static_cast<float>(i));
  const __m256 mul = _mm256_set1_ps(0.999999f), add = _mm256_set1_ps(1e-6f);
  for (std::uint64_t n = 0; n < iterations; ++n)
    for (int i = 0; i < kAccumulators; ++i)
      acc[i] = _mm256_fmadd_ps(acc[i], mul, add);
  __m256 sum = acc[0];
  for (int i = 1; i < kAccumulators; ++i)
    sum = _mm256_add_ps(sum, acc[i]);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, sum);
  flops = static_cast<double>(iterations) * kAccumulators * 8 * 2;
  float total = 0;
  for (float lane : lanes)
    total += lane;
  return total;
}

/// AVX-512: 24 chains of 16 lanes (32 zmm registers in all).
__attribute__((target("avx512f"))) float
fmaChunkAvx512(std::uint64_t iterations, float seed, double &flops) {
  constexpr int kAccumulators = 24;
  __m512 acc[kAccumulators];
  for (int i = 0; i < kAccumulators; ++i)
    acc[i] = _mm512_set1_ps(seed + static_cast<float>(i));
  const __m512 mul = _mm512_set1_ps(0.999999f), add = _mm512_set1_ps(1e-6f);
  for (std::uint64_t n = 0; n < iterations; ++n)
    for (int i = 0; i < kAccumulators; ++i)
      acc[i] = _mm512_fmadd_ps(acc[i], mul, add);
  __m512 sum = acc[0];
  for (int i = 1; i < kAccumulators; ++i)
    sum = _mm512_add_ps(sum, acc[i]);
  flops = static_cast<double>(iterations) * kAccumulators * 16 * 2;
  return _mm512_reduce_add_ps(sum);
}
#endif

//===----------------------------------------------------------------------===//
// Read kernels
//===----------------------------------------------------------------------===//
//
// Every kernel sums `count` floats from 64-byte aligned `data`; `count` is a
// multiple of 128 (512 bytes: one unrolled iteration of the widest kernel).

float sumGeneric(const float *data, std::size_t count) {
  constexpr int kAccumulators = 8;
  Float4 acc[kAccumulators] = {};
  const Float4 *vectors = reinterpret_cast<const Float4 *>(data);
  for (std::size_t i = 0; i < count / 4; i += kAccumulators)
    for (int j = 0; j < kAccumulators; ++j)
      acc[j] += vectors[i + j];
  Float4 sum = acc[0];
  for (int i = 1; i < kAccumulators; ++i)
    sum += acc[i];
  return sum[0] + sum[1] + sum[2] + sum[3];
}

#ifdef COIL_BENCH_X86
__attribute__((target("avx2"))) float sumAvx2(const float *data,
                                              std::size_t count) {
  constexpr int kAccumulators = 8;
  __m256 acc[kAccumulators];
  for (__m256 &a : acc)
    a = _mm256_setzero_ps();
  for (std::size_t i = 0; i < count; i += 8 * kAccumulators)
    for (int j = 0; j < kAccumulators; ++j)
      acc[j] = _mm256_add_ps(acc[j], _mm256_load_ps(data + i + 8 * j));
  __m256 sum = acc[0];
  for (int i = 1; i < kAccumulators; ++i)
    sum = _mm256_add_ps(sum, acc[i]);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, sum);
  float total = 0;
  for (float lane : lanes)
    total += lane;
  return total;
}

__attribute__((target("avx512f"))) float sumAvx512(const float *data,
                                                   std::size_t count) {
  constexpr int kAccumulators = 8;
  __m512 acc[kAccumulators];
  for (__m512 &a : acc)
    a = _mm512_setzero_ps();
  for (std::size_t i = 0; i < count; i += 16 * kAccumulators)
    for (int j = 0; j < kAccumulators; ++j)
      acc[j] = _mm512_add_ps(acc[j], _mm512_load_ps(data + i + 16 * j));
  __m512 sum = acc[0];
  for (int i = 1; i < kAccumulators; ++i)
    sum = _mm512_add_ps(sum, acc[i]);
  return _mm512_reduce_add_ps(sum);
}
#endif

using FmaKernel = float (*)(std::uint64_t, float, double &);
using SumKernel = float (*)(const float *, std::size_t);

FmaKernel selectFmaKernel() {
#ifdef COIL_BENCH_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f"))
    return fmaChunkAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return fmaChunkAvx2;
#endif
  return fmaChunkGeneric;
}

SumKernel selectSumKernel() {
#ifdef COIL_BENCH_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f"))
    return sumAvx512;
  if (__builtin_cpu_supports("avx2"))
    return sumAvx2;
#endif
  return sumGeneric;
}

/// A buffer aligned to 2 MiB (transparent huge pages where available).
struct AlignedBuffer {
  explicit AlignedBuffer(std::size_t bytes)
      : data(static_cast<float *>(std::aligned_alloc(kAlignment, bytes))) {
#ifdef __linux__
    if (data)
      madvise(data, bytes, MADV_HUGEPAGE);
#endif
  }
  ~AlignedBuffer() { std::free(data); }
  AlignedBuffer(const AlignedBuffer &) = delete;
  AlignedBuffer &operator=(const AlignedBuffer &) = delete;

  static constexpr std::size_t kAlignment = std::size_t(2) << 20;
  float *data;
};

} // namespace

double measureFmaPeak(int threads, double seconds) {
  threads = std::max(threads, 1);
  if (!(seconds > 0))
    seconds = 0.001;
  constexpr int kRepeats = 5;
  // About 50-100 us per chunk on current cores: fine-grained enough to stop
  // close to the deadline, coarse enough that reading the clock is free.
  constexpr std::uint64_t kChunkIterations = 1 << 13;
  const auto perRepeat = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(seconds / kRepeats));
  const FmaKernel kernel = selectFmaKernel();
  const float seed = opaqueSeed;

  std::vector<Lap> laps(threads);
  SpinBarrier barrier(threads);
  double best = 0;
  runTeam(threads, [&](int index) {
    Lap &lap = laps[index];
    for (int repeat = 0; repeat < kRepeats; ++repeat) {
      barrier.wait();
      lap.work = 0;
      lap.start = Clock::now();
      Clock::time_point deadline = lap.start + perRepeat;
      float total = 0;
      do {
        double flops = 0;
        total += kernel(kChunkIterations, seed, flops);
        lap.work += flops;
        lap.end = Clock::now();
      } while (lap.end < deadline);
      sink(total);
      barrier.wait();
      if (index == 0)
        best = std::max(best, teamRate(laps));
    }
  });
  return best / 1e9;
}

double measureReadBandwidth(int threads, double seconds) {
  threads = std::max(threads, 1);
  constexpr int kMinPasses = 3;
  constexpr std::size_t kTotalBytes = std::size_t(512) << 20;
  // Every slice is a whole number of 4 KiB pages (and of kernel iterations).
  constexpr std::size_t kSliceQuantum = 4096;
  const std::size_t sliceBytes =
      kTotalBytes / threads / kSliceQuantum * kSliceQuantum;
  const std::size_t sliceFloats = sliceBytes / sizeof(float);
  if (sliceFloats == 0)
    return 0;
  AlignedBuffer buffer(kTotalBytes);
  if (!buffer.data)
    return 0;
  const SumKernel kernel = selectSumKernel();
  const auto budget = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(seconds > 0 ? seconds : 0.0));

  std::vector<Lap> laps(threads);
  SpinBarrier barrier(threads);
  std::atomic<bool> stop{false};
  double best = 0;
  runTeam(threads, [&](int index) {
    float *slice = buffer.data + static_cast<std::size_t>(index) * sliceFloats;
    // First touch by the reading thread places the pages near its core. No
    // two pages hold the same bytes, so none can be merged behind our back.
    for (std::size_t i = 0; i < sliceFloats; ++i)
      slice[i] =
          static_cast<float>(
              (i + static_cast<std::size_t>(index) * sliceFloats) % 4099) *
          (1.0f / 4096);
    Clock::time_point first;
    for (int pass = 0;; ++pass) {
      barrier.wait();
      if (stop.load(std::memory_order_acquire))
        break;
      Lap &lap = laps[index];
      lap.start = Clock::now();
      float total = kernel(slice, sliceFloats);
      lap.end = Clock::now();
      lap.work = static_cast<double>(sliceBytes);
      sink(total);
      barrier.wait();
      if (index != 0)
        continue;
      best = std::max(best, teamRate(laps));
      if (pass == 0)
        first = lap.start;
      if (pass + 1 >= kMinPasses && Clock::now() - first >= budget)
        stop.store(true, std::memory_order_release);
    }
  });
  return best / 1e9;
}

MachineLimits measureMachine(int threads) {
  MachineLimits limits;
  limits.threads = std::max(threads, 1);
  limits.fmaGflops = measureFmaPeak(limits.threads);
  limits.readGBps = measureReadBandwidth(limits.threads);
  return limits;
}

} // namespace coil::bench
