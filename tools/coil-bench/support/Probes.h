//===- Probes.h - Roofline probes for coil-bench ----------------*- C++ -*-===//
//
// Measures the two ceilings of a roofline model on the machine the benchmark
// runs on: the peak single-precision FMA rate and the sustained memory read
// bandwidth, each for a given number of threads. The probes pick the widest
// vector instructions the CPU supports at run time (AVX-512, then AVX2 + FMA,
// then portable 128-bit vectors), so they need no -march flag at build time.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_TOOLS_COIL_BENCH_SUPPORT_PROBES_H
#define COIL_TOOLS_COIL_BENCH_SUPPORT_PROBES_H

namespace coil::bench {

/// The measured ceilings of one machine for a given thread count.
struct MachineLimits {
  /// Peak f32 FMA rate in GFLOP/s (an FMA lane counts as two flops).
  double fmaGflops = 0;
  /// Sustained read bandwidth from memory in GB/s (1e9 bytes per second).
  double readGBps = 0;
  /// The number of threads both probes ran with.
  int threads = 0;
};

/// Peak f32 FMA rate with `threads` threads (at least one), in GFLOP/s. Each
/// thread runs independent FMA chains on enough vector accumulators to cover
/// FMA latency times throughput, for about `seconds` seconds in total split
/// over a few repeats; the best repeat is reported. An FMA lane counts as two
/// flops; on CPUs without FMA a multiply plus an add counts the same.
double measureFmaPeak(int threads, double seconds = 0.3);

/// Read bandwidth with `threads` threads (at least one), in GB/s (1e9 bytes
/// per second). The threads sum disjoint slices of a 512 MiB buffer, which is
/// allocated and touched once beforehand by the thread that reads each slice,
/// with wide vector loads into several independent accumulators. Passes repeat
/// for about `seconds` seconds (at least three passes); the best is reported.
/// Returns 0 if the buffer cannot be allocated.
double measureReadBandwidth(int threads, double seconds = 0.5);

/// Both probes with their default durations.
MachineLimits measureMachine(int threads);

} // namespace coil::bench

#endif // COIL_TOOLS_COIL_BENCH_SUPPORT_PROBES_H
