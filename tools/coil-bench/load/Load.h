//===- Load.h - Traffic for a local coil-serve ------------------*- C++ -*-===//
//
// The load study's client side: starts a coil-serve on a loopback port,
// sends streamed completions with token-id prompts, and times each request
// from its send: the time to its first token (TTFT), the mean time between
// its later tokens (TPOT) and its end (E2E). Open loop: Poisson arrivals at
// a request rate, each request on its own connection whether or not the
// earlier ones finished. Closed loop: a fixed number of clients, each
// sending its next request when its last one ended. Traffic goes only to
// 127.0.0.1 and is bounded by a request count and a time limit.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_TOOLS_COIL_BENCH_LOAD_LOAD_H
#define COIL_TOOLS_COIL_BENCH_LOAD_LOAD_H

#include <cstdint>
#include <string>
#include <vector>

namespace coil::bench {

/// A coil-serve child process on 127.0.0.1.
class ServerProcess {
public:
  ServerProcess() = default;
  ServerProcess(const ServerProcess &) = delete;
  ServerProcess &operator=(const ServerProcess &) = delete;
  ~ServerProcess() { stop(); }

  /// Runs `binary` with `args` plus --host 127.0.0.1 --port P (a free
  /// port) and waits up to `timeoutSeconds` for /health. Returns an empty
  /// string, or what went wrong.
  std::string start(const std::string &binary,
                    const std::vector<std::string> &args,
                    double timeoutSeconds = 120);
  /// SIGTERM, then waits for the process; idempotent.
  void stop();
  int port() const { return portNumber; }

private:
  int pid = -1;
  int portNumber = 0;
};

struct LoadRequest {
  std::vector<int32_t> prompt;
  int64_t maxTokens = 0;
};

/// One request's fate; times in seconds from the start of the run.
struct RequestTiming {
  /// The HTTP status (0: no response).
  int status = 0;
  bool finished = false;
  double sent = 0, firstToken = -1, lastToken = -1, end = 0;
  int64_t tokens = 0;
};

struct LoadResult {
  std::vector<RequestTiming> requests;
  /// From the first send to the last end.
  double seconds = 0;
  int64_t completed() const;
  int64_t rejected() const;
  int64_t tokens() const;
  /// Per finished request: TTFT, TPOT (those with two tokens or more) and
  /// E2E, in seconds.
  std::vector<double> ttft() const, tpot() const, e2e() const;
};

/// Random prompts of lengths uniform in [promptTokens / 2, promptTokens *
/// 3 / 2] and budgets uniform in [outputTokens / 2, outputTokens * 3 / 2]
/// (at least 1), token ids below `vocab`.
std::vector<LoadRequest> makeRequests(size_t count, int64_t promptTokens,
                                      int64_t outputTokens, int64_t vocab,
                                      uint64_t seed);

/// Open loop: `requests` sent at Poisson arrivals of `rate` per second.
/// Stops sending after `maxSeconds` and waits for what was sent.
LoadResult runOpenLoop(int port, const std::vector<LoadRequest> &requests,
                       double rate, uint64_t seed, double maxSeconds);

/// Closed loop: `concurrency` clients share `requests`.
LoadResult runClosedLoop(int port, const std::vector<LoadRequest> &requests,
                         int concurrency, double maxSeconds);

/// The q-quantile (0..1) of `values` by linear interpolation; NaN if empty.
double quantile(std::vector<double> values, double q);

} // namespace coil::bench

#endif // COIL_TOOLS_COIL_BENCH_LOAD_LOAD_H
