//===- Metrics.cpp - coil-serve's counters in the Prometheus format -------===//

#include "Metrics.h"

#include <fmt/format.h>

namespace coil::serve_tool {

Histogram::Histogram(std::vector<double> b)
    : bounds(std::move(b)), counts(bounds.size() + 1, 0) {}

void Histogram::observe(double seconds) {
  size_t i = 0;
  while (i < bounds.size() && seconds > bounds[i])
    ++i;
  ++counts[i];
  sum += seconds;
  ++count;
}

std::string Histogram::render(const std::string &name,
                              const std::string &help) const {
  std::string out =
      fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds.size(); ++i) {
    cumulative += counts[i];
    out +=
        fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, bounds[i], cumulative);
  }
  cumulative += counts.back();
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n",
                     name, cumulative, name, sum, name, count);
  return out;
}

Metrics::Metrics()
    : ttft({0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}),
      tpot({0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28}),
      e2e({0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}) {
  for (const char *outcome :
       {"ok", "cancelled", "error", "rejected", "invalid"})
    requests[outcome] = 0;
}

void Metrics::request(const std::string &outcome) {
  std::lock_guard<std::mutex> lock(mutex);
  ++requests[outcome];
}

void Metrics::finished(int64_t prompt, int64_t cached, int64_t generated,
                       double firstToken, double perToken, double total) {
  std::lock_guard<std::mutex> lock(mutex);
  promptTokens += prompt;
  cachedTokens += cached;
  generatedTokens += generated;
  if (generated > 0)
    ttft.observe(firstToken);
  if (perToken >= 0)
    tpot.observe(perToken);
  e2e.observe(total);
}

void Metrics::gauges(int64_t q, int64_t r, int64_t hits, int64_t misses,
                     uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mutex);
  queued = q;
  running = r;
  cacheHits = hits;
  cacheMisses = misses;
  cacheBytes = bytes;
}

std::string Metrics::render() const {
  std::lock_guard<std::mutex> lock(mutex);
  std::string out = "# HELP coil_requests_total Completion requests by "
                    "outcome.\n# TYPE coil_requests_total counter\n";
  for (const auto &[outcome, n] : requests)
    out +=
        fmt::format("coil_requests_total{{outcome=\"{}\"}} {}\n", outcome, n);
  auto counter = [&](const char *name, const char *help, uint64_t value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n{} {}\n", name, help,
                       name, name, value);
  };
  auto gauge = [&](const char *name, const char *help, int64_t value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n{} {}\n", name, help,
                       name, name, value);
  };
  counter("coil_prompt_tokens_total", "Prompt tokens of finished requests.",
          promptTokens);
  counter("coil_cached_prompt_tokens_total",
          "Prompt tokens restored from the prefix cache.", cachedTokens);
  counter("coil_generated_tokens_total", "Tokens generated.", generatedTokens);
  counter("coil_prefix_cache_hits_total",
          "Requests that found a cached prefix.", uint64_t(cacheHits));
  counter("coil_prefix_cache_misses_total",
          "Requests that found no cached prefix.", uint64_t(cacheMisses));
  gauge("coil_queue_depth", "Requests waiting for a slot.", queued);
  gauge("coil_running_requests", "Requests in a slot.", running);
  gauge("coil_prefix_cache_bytes", "Bytes the prefix cache holds.",
        int64_t(cacheBytes));
  out += ttft.render("coil_time_to_first_token_seconds",
                     "From arrival to the first token.");
  out += tpot.render("coil_time_per_output_token_seconds",
                     "Mean time between a request's later tokens.");
  out += e2e.render("coil_request_duration_seconds",
                    "From arrival to the last token.");
  return out;
}

} // namespace coil::serve_tool
