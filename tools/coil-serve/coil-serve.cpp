//===- coil-serve.cpp - An HTTP server over the runtime ---------*- C++ -*-===//
//
// Serves a compiled model (coilc's model.so, its weights and, if it has
// one, the checkpoint's tokenizer) over HTTP with continuous batching:
//
//   POST /v1/completions  OpenAI's completions (Api.h), streamed as
//                         server-sent events with "stream": true
//   GET  /v1/models       the one model served
//   GET  /health          200 while serving, 503 while shutting down
//   GET  /metrics         the Prometheus text format (Metrics.h)
//
// The engine thread (Engine.h) owns the session; HTTP threads parse and
// check requests, queue them and stream what the engine appends. Bad input
// gets a 4xx with a JSON error body; a request beyond the slots and queue
// bound gets 503; a client that goes away cancels its request. SIGINT or
// SIGTERM stops taking requests, lets running ones finish for
// --shutdown-grace seconds, cancels the rest and exits 0.
//
//===----------------------------------------------------------------------===//

#include "Api.h"
#include "Engine.h"
#include "Metrics.h"

#include "coil/coil.hpp"

#include "tools/ToolOptions.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"

#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <thread>

using namespace coil::serve_tool;
using nlohmann::json;
namespace cl = llvm::cl;

static cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                                      cl::desc("<model.so>"));
static cl::opt<std::string>
    weightsPath("weights", cl::Required,
                cl::desc("The weights: a .safetensors file or a checkpoint "
                         "directory"));
static cl::opt<std::string> tokenizerPath(
    "tokenizer",
    cl::desc("tokenizer.json, or a directory holding one (default: the "
             "weights' directory's, if any; without one, prompts are token "
             "ids)"));
static cl::opt<std::string> modelName("model-name",
                                      cl::desc("The name /v1/models reports"),
                                      cl::init("coil"));
static cl::opt<std::string> host("host", cl::desc("Address to listen on"),
                                 cl::init("127.0.0.1"));
static cl::opt<int> port("port", cl::desc("Port (0: any free one)"),
                         cl::init(8000));
static cl::opt<int64_t> slots("slots", cl::desc("Requests that run at once"),
                              cl::init(8));
static cl::opt<int64_t> context("context",
                                cl::desc("Tokens per request (prompt and "
                                         "output)"),
                                cl::init(2048));
static cl::opt<int64_t> maxQueue("max-queue",
                                 cl::desc("Requests that may wait for a "
                                          "slot; more get 503"),
                                 cl::init(64));
static cl::opt<int64_t> maxTokens("max-tokens",
                                  cl::desc("The most tokens a request may "
                                           "ask for"),
                                  cl::init(1024));
static cl::opt<int64_t> maxBodyBytes("max-body-bytes",
                                     cl::desc("The largest request body"),
                                     cl::init(1 << 20));
static cl::opt<int64_t> prefillChunk("prefill-chunk",
                                     cl::desc("Prompt tokens prefilled per "
                                              "step, over all requests"),
                                     cl::init(256));
static cl::opt<int64_t> prefixCacheMb("prefix-cache-mb",
                                      cl::desc("The prefix cache's budget "
                                               "(0: off)"),
                                      cl::init(256));
/// --threads, registered in main (LLVM has an option of that name).
static cl::opt<int> *threadsOption = nullptr;
static cl::opt<double> shutdownGrace(
    "shutdown-grace",
    cl::desc("Seconds running requests may take to finish on SIGTERM"),
    cl::init(30.0));

namespace {

void sendError(httplib::Response &res, const ApiError &error) {
  res.status = error.status;
  res.set_content(errorBody(error), "application/json");
}

/// What the server holds.
struct Server {
  Server(coil::Model m, coil::Weights w)
      : model(std::move(m)), weights(std::move(w)) {}
  coil::Model model;
  coil::Weights weights;
  std::unique_ptr<coil::Tokenizer> tokenizer;
  std::unique_ptr<coil::Session> session;
  std::unique_ptr<Engine> engine;
  Metrics metrics;
  Limits limits;
  std::vector<int32_t> endOfText;
  std::atomic<uint64_t> nextId{1};
};

/// Records a finished request's times.
void recordFinished(Metrics &metrics, const Completion &c) {
  auto seconds = [](Clock::duration d) {
    return std::chrono::duration<double>(d).count();
  };
  int64_t n = static_cast<int64_t>(c.tokens.size());
  double ttft = n ? seconds(c.firstToken - c.arrival) : 0;
  double tpot =
      n > 1 ? seconds(c.lastToken - c.firstToken) / double(n - 1) : -1;
  metrics.finished(c.promptTokens, c.cachedTokens, n, ttft, tpot,
                   seconds(Clock::now() - c.arrival));
  metrics.request(c.reason == COIL_STOP_ERROR       ? "error"
                  : c.reason == COIL_STOP_CANCELLED ? "cancelled"
                                                    : "ok");
}

json usage(const Completion &c) {
  int64_t n = static_cast<int64_t>(c.tokens.size());
  return {{"prompt_tokens", c.promptTokens},
          {"completion_tokens", n},
          {"total_tokens", c.promptTokens + n},
          {"prompt_tokens_details", {{"cached_tokens", c.cachedTokens}}}};
}

void handleCompletion(Server &server, const httplib::Request &req,
                      httplib::Response &res) {
  CompletionRequest request;
  ApiError error;
  if (!parseCompletionRequest(req.body, server.limits, server.tokenizer.get(),
                              server.endOfText, request, error)) {
    server.metrics.request("invalid");
    return sendError(res, error);
  }
  auto completion = std::make_shared<Completion>();
  Engine::Admission admitted =
      server.engine->enqueue(completion, std::move(request.options));
  if (admitted != Engine::Admission::Accepted) {
    server.metrics.request("rejected");
    error.status = 503;
    error.type = "server_busy";
    error.message = admitted == Engine::Admission::Full
                        ? "the server is at capacity; retry later"
                        : "the server is shutting down";
    res.set_header("Retry-After", "1");
    return sendError(res, error);
  }
  std::string id = fmt::format("cmpl-{}", server.nextId++);
  int64_t created = static_cast<int64_t>(std::time(nullptr));
  std::string model = modelName;
  Engine *engine = server.engine.get();
  Metrics *metrics = &server.metrics;
  bool stream = request.stream;
  // Both modes write once the engine has output, and watch the client:
  // one that went away cancels its request.
  auto provider = [=, sentTokens = size_t(0), sentText = size_t(0)](
                      size_t, httplib::DataSink &sink) mutable {
    std::unique_lock<std::mutex> lock(completion->mutex);
    while (true) {
      completion->changed.wait_for(lock, std::chrono::milliseconds(50), [&] {
        return completion->done || completion->tokens.size() > sentTokens;
      });
      bool finished = completion->done;
      if (stream && (completion->tokens.size() > sentTokens ||
                     completion->text.size() > sentText || finished)) {
        json choice = {
            {"index", 0},
            {"text", completion->text.substr(sentText)},
            {"token_ids",
             std::vector<int32_t>(completion->tokens.begin() + sentTokens,
                                  completion->tokens.end())},
            {"logprobs", nullptr},
            {"finish_reason", finished ? json(finishReason(completion->reason))
                                       : json(nullptr)}};
        json chunk = {{"id", id},
                      {"object", "text_completion"},
                      {"created", created},
                      {"model", model},
                      {"choices", {choice}}};
        if (finished)
          chunk["usage"] = usage(*completion);
        sentTokens = completion->tokens.size();
        sentText = completion->text.size();
        std::string event = "data: " + toText(chunk) + "\n\n";
        if (finished) {
          if (!completion->error.empty())
            event = "data: " +
                    toText(json{{"error",
                                 {{"message", completion->error},
                                  {"type", "server_error"}}}}) +
                    "\n\n";
          event += "data: [DONE]\n\n";
        }
        lock.unlock();
        if (!sink.write(event.data(), event.size())) {
          engine->cancel(completion);
          return false;
        }
        lock.lock();
      }
      if (finished) {
        if (!stream) {
          json body;
          if (!completion->error.empty())
            body = {
                {"error",
                 {{"message", completion->error}, {"type", "server_error"}}}};
          else
            body = {{"id", id},
                    {"object", "text_completion"},
                    {"created", created},
                    {"model", model},
                    {"choices",
                     {{{"index", 0},
                       {"text", completion->text},
                       {"token_ids", completion->tokens},
                       {"logprobs", nullptr},
                       {"finish_reason", finishReason(completion->reason)}}}},
                    {"usage", usage(*completion)}};
          std::string text = toText(body);
          lock.unlock();
          if (!sink.write(text.data(), text.size()))
            return false;
          lock.lock();
        }
        lock.unlock();
        sink.done();
        return true;
      }
      lock.unlock();
      bool alive = sink.is_writable();
      lock.lock();
      if (!alive) {
        lock.unlock();
        engine->cancel(completion);
        return false;
      }
    }
  };
  // Called once the response ended. A client gone before the end: its
  // request is cancelled (the engine retires it on its next step).
  auto released = [engine, metrics, completion](bool success) {
    if (!success) {
      engine->cancel(completion);
      metrics->request("cancelled");
      return;
    }
    std::lock_guard<std::mutex> lock(completion->mutex);
    recordFinished(*metrics, *completion);
  };
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      stream ? "text/event-stream" : "application/json", provider, released);
}

int serve() {
  if (slots < 1 || slots > COIL_SESSION_MAX_BATCH)
    throw coil::Error(
        COIL_INVALID_ARGUMENT,
        fmt::format("--slots must be in [1, {}]", COIL_SESSION_MAX_BATCH));
  if (context < 2 || maxQueue < 0 || maxTokens < 1 || maxBodyBytes < 1 ||
      prefillChunk < 1 || prefixCacheMb < 0 || *threadsOption < 0 ||
      shutdownGrace < 0 || port < 0 || port > 65535)
    throw coil::Error(COIL_INVALID_ARGUMENT,
                      "--context must be >= 2; --max-queue, --prefix-cache-mb, "
                      "--threads and --shutdown-grace >= 0; --max-tokens, "
                      "--max-body-bytes and --prefill-chunk >= 1; --port in "
                      "[0, 65535]");
  Server server(coil::Model::load(modelPath), coil::Weights::open(weightsPath));
  server.model.bindWeights(server.weights);
  std::string tokenizerAt = tokenizerPath;
  if (tokenizerAt.empty()) {
    std::filesystem::path dir =
        std::filesystem::is_directory(std::string(weightsPath))
            ? std::filesystem::path(std::string(weightsPath))
            : std::filesystem::path(std::string(weightsPath)).parent_path();
    if (std::filesystem::exists(dir / "tokenizer.json"))
      tokenizerAt = dir.string();
  }
  if (!tokenizerAt.empty()) {
    server.tokenizer =
        std::make_unique<coil::Tokenizer>(coil::Tokenizer::load(tokenizerAt));
    server.endOfText = server.tokenizer->endOfText();
  }
  coil::SessionOptions options;
  options.maxBatch = slots;
  options.maxContext = context;
  int threads = *threadsOption;
  options.threads =
      threads > 0 ? threads
                  : int(std::max(1u, std::thread::hardware_concurrency()));
  server.session = std::make_unique<coil::Session>(server.model, options);
  server.limits.context = context;
  server.limits.maxPrompt = context - 1;
  server.limits.maxTokens = maxTokens;
  server.limits.vocab = server.model.vocabSize();
  if (server.tokenizer)
    server.limits.vocab =
        std::min<int64_t>(server.limits.vocab, server.tokenizer->vocabSize());
  coil::SchedulerOptions scheduling;
  scheduling.prefillChunk = prefillChunk;
  scheduling.prefixCacheBytes = uint64_t(prefixCacheMb) << 20;
  server.engine =
      std::make_unique<Engine>(*server.session, slots, server.tokenizer.get(),
                               scheduling, maxQueue, server.metrics);

  httplib::Server http;
  // Every request waiting for a slot holds an HTTP thread; a few more
  // answer /health and /metrics meanwhile.
  size_t workers = size_t(slots + maxQueue + 4);
  http.new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
  http.set_payload_max_length(size_t(maxBodyBytes));
  http.set_read_timeout(10, 0);
  http.set_write_timeout(10, 0);
  http.set_keep_alive_timeout(5);
  http.set_error_handler([](const httplib::Request &, httplib::Response &res) {
    if (!res.body.empty())
      return;
    ApiError error;
    error.status = res.status;
    error.message = res.status == 413   ? "the body is too large"
                    : res.status == 404 ? "no such endpoint"
                    : res.status == 405 ? "method not allowed"
                                        : "bad request";
    res.set_content(errorBody(error), "application/json");
  });
  http.set_exception_handler([&](const httplib::Request &,
                                 httplib::Response &res, std::exception_ptr) {
    ApiError error;
    error.status = 500;
    error.type = "server_error";
    error.message = "internal error";
    sendError(res, error);
  });
  http.Post("/v1/completions",
            [&](const httplib::Request &req, httplib::Response &res) {
              handleCompletion(server, req, res);
            });
  http.Get("/v1/models", [&](const httplib::Request &, httplib::Response &res) {
    json model = {{"id", std::string(modelName)},
                  {"object", "model"},
                  {"owned_by", "coil"},
                  {"max_model_len", int64_t(context)}};
    res.set_content(toText(json{{"object", "list"}, {"data", {model}}}),
                    "application/json");
  });
  http.Get("/health", [&](const httplib::Request &, httplib::Response &res) {
    bool up = server.engine->accepting();
    res.status = up ? 200 : 503;
    res.set_content(toText(json{{"status", up ? "ok" : "shutting down"},
                                {"in_flight", server.engine->inFlight()}}),
                    "application/json");
  });
  http.Get("/metrics", [&](const httplib::Request &, httplib::Response &res) {
    res.set_content(server.metrics.render(), "text/plain; version=0.0.4");
  });

  int bound = port == 0 ? http.bind_to_any_port(host)
                        : (http.bind_to_port(host, port) ? int(port) : -1);
  if (bound < 0)
    throw coil::Error(COIL_IO_ERROR, fmt::format("cannot listen on {}:{}",
                                                 std::string(host), int(port)));
  // SIGINT and SIGTERM go to one thread, which drains and stops.
  std::thread signals([&] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int signal = 0;
    sigwait(&set, &signal);
    std::fprintf(stderr, "coil-serve: %s: finishing %lld requests\n",
                 signal == SIGINT ? "SIGINT" : "SIGTERM",
                 static_cast<long long>(server.engine->inFlight()));
    server.engine->shutdown(
        std::chrono::milliseconds(static_cast<int64_t>(shutdownGrace * 1000)));
    http.stop();
  });
  std::printf("coil-serve: listening on http://%s:%d (%lld slots, context "
              "%lld, %s)\n",
              std::string(host).c_str(), bound, static_cast<long long>(slots),
              static_cast<long long>(context),
              server.tokenizer ? "text and token prompts"
                               : "token prompts only");
  std::fflush(stdout);
  bool listened = http.listen_after_bind();
  if (signals.joinable()) {
    if (!listened)
      pthread_kill(signals.native_handle(), SIGTERM);
    signals.join();
  }
  return listened ? 0 : 1;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // Every thread started from here on leaves SIGINT and SIGTERM to sigwait.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  if (cl::Option *existing = cl::getRegisteredOptions().lookup("threads"))
    existing->removeArgument();
  cl::opt<int> threads(
      "threads", cl::desc("Threads every kernel runs on (default: all cores)"),
      cl::init(0));
  threadsOption = &threads;
  static cl::OptionCategory category("coil-serve options");
  ::coil::tools::showOnlyOwnOptions(
      category, {&modelPath, &weightsPath, &tokenizerPath, &modelName, &host,
                 &port, &slots, &context, &maxQueue, &maxTokens, &maxBodyBytes,
                 &prefillChunk, &prefixCacheMb, &threads, &shutdownGrace});
  cl::ParseCommandLineOptions(
      argc, argv,
      "coil-serve: serve a compiled model over HTTP (OpenAI-style "
      "/v1/completions, /health, /metrics) with continuous batching\n");
  try {
    return serve();
  } catch (const coil::Error &e) {
    std::fprintf(stderr, "coil-serve: error: %s\n", e.what());
    return 1;
  }
}
