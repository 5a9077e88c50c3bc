//===- Metrics.h - coil-serve's counters in the Prometheus format -*- C++
//-*-===//
//
// What /metrics reports: requests by outcome, prompt, cached and generated
// tokens, the queue depth and running requests, and histograms of the time
// to first token, the time per output token and the end-to-end latency.
// Updated from the HTTP threads and the engine thread under one mutex.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_TOOLS_COIL_SERVE_METRICS_H
#define COIL_TOOLS_COIL_SERVE_METRICS_H

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace coil::serve_tool {

/// Cumulative buckets of seconds, as Prometheus histograms are.
class Histogram {
public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double seconds);
  /// The series of `name` in the text format.
  std::string render(const std::string &name, const std::string &help) const;

private:
  std::vector<double> bounds;
  std::vector<uint64_t> counts; // one per bound, plus +Inf
  double sum = 0;
  uint64_t count = 0;
};

class Metrics {
public:
  Metrics();

  /// A request ended with `outcome` ("ok", "cancelled", "error",
  /// "rejected", "invalid").
  void request(const std::string &outcome);
  /// A request that ran: its counts and times (seconds; tpot < 0 when it
  /// had fewer than two tokens).
  void finished(int64_t promptTokens, int64_t cachedTokens,
                int64_t generatedTokens, double ttft, double tpot, double e2e);
  void gauges(int64_t queued, int64_t running, int64_t cacheHits,
              int64_t cacheMisses, uint64_t cacheBytes);

  std::string render() const;

private:
  mutable std::mutex mutex;
  std::map<std::string, uint64_t> requests;
  uint64_t promptTokens = 0, cachedTokens = 0, generatedTokens = 0;
  int64_t queued = 0, running = 0, cacheHits = 0, cacheMisses = 0;
  uint64_t cacheBytes = 0;
  Histogram ttft, tpot, e2e;
};

} // namespace coil::serve_tool

#endif // COIL_TOOLS_COIL_SERVE_METRICS_H
