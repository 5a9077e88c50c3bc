//===- Generate.cpp - Text in, text out on a session -------------*- C++ -*-===//

#include "runtime/src/generate/Generate.h"

#include "runtime/src/Session.h"
#include "runtime/src/tokenizer/Tokenizer.h"

#include <algorithm>
#include <chrono>

namespace coil::generate {

using runtime::Status;

std::string StopStringMatcher::push(std::string_view text, bool &matched) {
  matched = false;
  held.append(text);
  size_t first = std::string::npos;
  for (const std::string &stop : stops)
    if (!stop.empty())
      first = std::min(first, held.find(stop));
  if (first != std::string::npos) {
    matched = true;
    std::string out = held.substr(0, first);
    held.clear();
    return out;
  }
  // Hold back the longest end of the text that begins a stop string.
  size_t keep = 0;
  for (const std::string &stop : stops)
    for (size_t n = std::min(stop.size() - 1, held.size()); n > keep; --n)
      if (held.compare(held.size() - n, n, stop, 0, n) == 0) {
        keep = n;
        break;
      }
  std::string out = held.substr(0, held.size() - keep);
  held.erase(0, held.size() - keep);
  return out;
}

std::string StopStringMatcher::flush() {
  std::string out = std::move(held);
  held.clear();
  return out;
}

Status generate(runtime::Session &session,
                const tokenizer::Tokenizer &tokenizer, std::string_view prompt,
                const GenerateOptions &options, const TokenCallback &onToken,
                GenerateStats &stats) {
  using Clock = std::chrono::steady_clock;
  auto seconds = [](Clock::duration d) {
    return std::chrono::duration<double>(d).count();
  };
  Clock::time_point start = Clock::now();
  stats = GenerateStats();
  if (std::string problem = validate(options.sampling); !problem.empty())
    return Status::error(COIL_INVALID_ARGUMENT, "generate: " + problem);
  if (options.maxNewTokens < 0)
    return Status::error(COIL_INVALID_ARGUMENT,
                         "generate: max_new_tokens must be >= 0");
  std::vector<int32_t> ids;
  if (std::string problem =
          tokenizer.encode(prompt, options.addSpecialTokens, ids);
      !problem.empty())
    return Status::error(COIL_BAD_TOKENIZER, "generate: " + problem);
  if (ids.empty())
    return Status::error(COIL_INVALID_ARGUMENT,
                         "generate: the prompt has no tokens");
  int64_t held = session.length(0);
  int64_t room = session.maxContext() - held;
  if (static_cast<int64_t>(ids.size()) > room)
    return Status::error(
        COIL_OUT_OF_RANGE,
        "generate: the prompt has " + std::to_string(ids.size()) +
            " tokens, but the sequence holds " + std::to_string(held) +
            " of its context of " + std::to_string(session.maxContext()) +
            " (room for " + std::to_string(room) + ")");
  stats.promptTokens = static_cast<int64_t>(ids.size());

  Sampler sampler(options.sampling, 1);
  sampler.observe(0, ids.data(), ids.size());
  tokenizer::TextStream text(tokenizer, options.skipSpecialTokens);
  StopStringMatcher stops(options.stopStrings);
  if (Status s = session.prefill(ids.data(), 1, int64_t(ids.size()));
      !s.isOk())
    return s;

  int32_t unfed = -1; // a generated token the sequence has not seen yet
  Clock::time_point first;
  std::string piece;
  for (int64_t i = 0; i < options.maxNewTokens; ++i) {
    const float *logits = nullptr;
    int64_t batch = 0, tokens = 0, vocab = 0;
    if (Status s = session.logits(logits, batch, tokens, vocab); !s.isOk())
      return s;
    // Models often pad their vocabulary beyond the tokenizer's: ids with
    // no text are never sampled.
    int64_t choices = std::min<int64_t>(vocab, tokenizer.vocabSize());
    int32_t token =
        sampler.sample(0, logits + (tokens - 1) * vocab, choices);
    if (i == 0) {
      first = Clock::now();
      stats.timeToFirstToken = seconds(first - start);
    }
    ++stats.generatedTokens;
    unfed = token;
    bool isStop = std::find(options.stopIds.begin(), options.stopIds.end(),
                            token) != options.stopIds.end();
    std::string emit;
    bool matched = false;
    if (!isStop) {
      if (std::string problem = text.push(token, piece); !problem.empty())
        return Status::error(COIL_OUT_OF_RANGE, "generate: " + problem);
      emit = stops.push(piece, matched);
    }
    if (!onToken(token, emit)) {
      stats.reason = StopReason::Callback;
      break;
    }
    if (isStop || matched) {
      stats.reason = isStop ? StopReason::StopToken : StopReason::StopString;
      break;
    }
    if (session.length(0) >= session.maxContext()) {
      stats.reason = StopReason::Context;
      unfed = -1; // no room to feed it
      break;
    }
    if (i + 1 == options.maxNewTokens)
      break;
    if (Status s = session.decode(&token, 1); !s.isOk())
      return s;
    unfed = -1;
  }
  // What was held back ends the text, unless a stop string or the caller
  // ended it.
  if (stats.reason != StopReason::StopString &&
      stats.reason != StopReason::Callback) {
    bool matched = false;
    std::string rest = stops.push(text.finish(), matched);
    rest += matched ? "" : stops.flush();
    if (!rest.empty())
      onToken(-1, rest);
  }
  Clock::time_point last = Clock::now();
  if (stats.generatedTokens > 1)
    stats.timePerOutputToken =
        seconds(last - first) / double(stats.generatedTokens - 1);
  // The sequence keeps everything generated, for the next request.
  if (unfed >= 0 && session.length(0) < session.maxContext())
    if (Status s = session.decode(&unfed, 1); !s.isOk())
      return s;
  stats.totalSeconds = seconds(Clock::now() - start);
  return Status::ok();
}

} // namespace coil::generate
