//===- Load.cpp - Traffic for a local coil-serve --------------------------===//

#include "Load.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>
#include <random>
#include <thread>

#include <arpa/inet.h>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace coil::bench {

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// A port the kernel says is free on 127.0.0.1 now.
int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

/// Sends one streamed completion and times its events.
RequestTiming send(int port, const LoadRequest &request,
                   Clock::time_point start) {
  RequestTiming t;
  t.sent = since(start);
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(600, 0);
  client.set_connection_timeout(10, 0);
  nlohmann::json body = {{"prompt", request.prompt},
                         {"max_tokens", request.maxTokens},
                         {"temperature", 0},
                         {"ignore_eos", true},
                         {"stream", true}};
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/completions";
  req.body = body.dump();
  req.set_header("Content-Type", "application/json");
  std::string pending;
  req.content_receiver = [&](const char *data, size_t length, uint64_t,
                             uint64_t) {
    pending.append(data, length);
    size_t end;
    while ((end = pending.find("\n\n")) != std::string::npos) {
      std::string event = pending.substr(0, end);
      pending.erase(0, end + 2);
      if (event.rfind("data: ", 0) != 0)
        continue;
      std::string payload = event.substr(6);
      if (payload == "[DONE]") {
        t.finished = true;
        continue;
      }
      nlohmann::json j = nlohmann::json::parse(payload, nullptr, false);
      if (j.is_discarded() || !j.contains("choices"))
        continue;
      size_t n = j["choices"][0]["token_ids"].size();
      if (n) {
        double now = since(start);
        if (t.firstToken < 0)
          t.firstToken = now;
        t.lastToken = now;
        t.tokens += static_cast<int64_t>(n);
      }
    }
    return true;
  };
  httplib::Response res;
  httplib::Error error = httplib::Error::Success;
  if (client.send(req, res, error))
    t.status = res.status;
  if (t.status != 200)
    t.finished = false;
  t.end = since(start);
  return t;
}

} // namespace

std::string ServerProcess::start(const std::string &binary,
                                 const std::vector<std::string> &args,
                                 double timeoutSeconds) {
  portNumber = freePort();
  if (!portNumber)
    return "no free port on 127.0.0.1";
  std::vector<std::string> all = {binary};
  all.insert(all.end(), args.begin(), args.end());
  for (const char *a : {"--host", "127.0.0.1", "--port"})
    all.push_back(a);
  all.push_back(std::to_string(portNumber));
  std::vector<char *> argv;
  for (std::string &a : all)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // Its banner is not needed: /health says when it is up.
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  pid_t child = 0;
  int rc = posix_spawn(&child, binary.c_str(), &actions, nullptr, argv.data(),
                       environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0)
    return "cannot run " + binary + ": " + std::strerror(rc);
  pid = child;
  Clock::time_point start = Clock::now();
  httplib::Client client("127.0.0.1", portNumber);
  client.set_connection_timeout(1, 0);
  while (since(start) < timeoutSeconds) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      pid = -1;
      return binary + " exited before serving (status " +
             std::to_string(WEXITSTATUS(status)) + ")";
    }
    if (auto res = client.Get("/health"); res && res->status == 200)
      return "";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  stop();
  return binary + " did not answer /health in time";
}

void ServerProcess::stop() {
  if (pid <= 0)
    return;
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  pid = -1;
}

int64_t LoadResult::completed() const {
  return std::count_if(requests.begin(), requests.end(),
                       [](const RequestTiming &t) { return t.finished; });
}

int64_t LoadResult::rejected() const {
  return std::count_if(requests.begin(), requests.end(),
                       [](const RequestTiming &t) { return t.status == 503; });
}

int64_t LoadResult::tokens() const {
  int64_t n = 0;
  for (const RequestTiming &t : requests)
    n += t.tokens;
  return n;
}

std::vector<double> LoadResult::ttft() const {
  std::vector<double> out;
  for (const RequestTiming &t : requests)
    if (t.finished && t.firstToken >= 0)
      out.push_back(t.firstToken - t.sent);
  return out;
}

std::vector<double> LoadResult::tpot() const {
  std::vector<double> out;
  for (const RequestTiming &t : requests)
    if (t.finished && t.tokens > 1)
      out.push_back((t.lastToken - t.firstToken) / double(t.tokens - 1));
  return out;
}

std::vector<double> LoadResult::e2e() const {
  std::vector<double> out;
  for (const RequestTiming &t : requests)
    if (t.finished)
      out.push_back(t.end - t.sent);
  return out;
}

std::vector<LoadRequest> makeRequests(size_t count, int64_t promptTokens,
                                      int64_t outputTokens, int64_t vocab,
                                      uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto around = [&](int64_t mean) {
    int64_t lo = std::max<int64_t>(1, mean / 2),
            hi = std::max(lo, mean * 3 / 2);
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  std::vector<LoadRequest> out(count);
  for (LoadRequest &r : out) {
    r.prompt.resize(static_cast<size_t>(around(promptTokens)));
    for (int32_t &id : r.prompt)
      id = static_cast<int32_t>(
          std::uniform_int_distribution<int64_t>(0, vocab - 1)(rng));
    r.maxTokens = around(outputTokens);
  }
  return out;
}

LoadResult runOpenLoop(int port, const std::vector<LoadRequest> &requests,
                       double rate, uint64_t seed, double maxSeconds) {
  LoadResult result;
  result.requests.resize(requests.size());
  std::mt19937_64 rng(seed);
  std::exponential_distribution<double> gap(rate);
  Clock::time_point start = Clock::now();
  std::vector<std::thread> clients;
  double at = 0;
  size_t sent = 0;
  for (; sent < requests.size(); ++sent) {
    if (sent > 0)
      at += gap(rng);
    if (at > maxSeconds)
      break;
    std::this_thread::sleep_until(start +
                                  std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(at)));
    clients.emplace_back([&, sent] {
      result.requests[sent] = send(port, requests[sent], start);
    });
  }
  for (std::thread &c : clients)
    c.join();
  result.requests.resize(sent);
  result.seconds = since(start);
  return result;
}

LoadResult runClosedLoop(int port, const std::vector<LoadRequest> &requests,
                         int concurrency, double maxSeconds) {
  LoadResult result;
  result.requests.resize(requests.size());
  std::atomic<size_t> next{0};
  Clock::time_point start = Clock::now();
  std::vector<std::thread> clients;
  for (int c = 0; c < concurrency; ++c)
    clients.emplace_back([&] {
      while (since(start) < maxSeconds) {
        size_t i = next++;
        if (i >= requests.size())
          return;
        result.requests[i] = send(port, requests[i], start);
      }
    });
  for (std::thread &c : clients)
    c.join();
  result.requests.resize(std::min(next.load(), requests.size()));
  result.seconds = since(start);
  return result;
}

double quantile(std::vector<double> values, double q) {
  if (values.empty())
    return std::nan("");
  std::sort(values.begin(), values.end());
  double pos = q * double(values.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(pos));
  size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (values[hi] - values[lo]) * (pos - double(lo));
}

} // namespace coil::bench
