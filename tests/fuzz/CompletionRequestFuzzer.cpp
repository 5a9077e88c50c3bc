//===- CompletionRequestFuzzer.cpp - fuzz-completion-request ----*- C++ -*-===//
//
// The body of a POST /v1/completions, read by coil-serve's request parser
// (tools/coil-serve/server/Api.cpp) for a server without a tokenizer. Every
// input is either refused with a 400 naming what is wrong, whose JSON error
// body parses back, or accepted as a request within the limits: a prompt
// of 1 to maxPrompt ids below the vocabulary, 1 to maxTokens tokens, valid
// sampling, stop ids below the vocabulary, a cache prefix within the prompt.
// The error body is valid JSON even when the message quotes bytes of the
// body that are not UTF-8.
//
//===----------------------------------------------------------------------===//

#include "Api.h"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <string_view>

using namespace coil::serve_tool;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Limits limits;
  limits.vocab = 50;
  limits.maxPrompt = 31;
  limits.context = 32;
  limits.maxTokens = 16;
  std::string_view body(reinterpret_cast<const char *>(data), size);
  CompletionRequest request;
  ApiError error;
  if (!parseCompletionRequest(body, limits, nullptr, {7}, request, error)) {
    if (error.status != 400 || error.message.empty())
      std::abort();
    nlohmann::json parsed =
        nlohmann::json::parse(errorBody(error), nullptr, false);
    // The message may quote bytes of the body; those that are not UTF-8
    // come back as U+FFFD, so only its presence is checked.
    if (parsed.is_discarded() || !parsed["error"]["message"].is_string() ||
        parsed["error"]["message"].get<std::string>().empty())
      std::abort();
    return 0;
  }
  const coil::RequestOptions &o = request.options;
  if (o.prompt.empty() || int64_t(o.prompt.size()) > limits.maxPrompt ||
      o.maxNewTokens < 1 || o.maxNewTokens > limits.maxTokens ||
      o.cachePrefix < 0 || o.cachePrefix > int64_t(o.prompt.size()) ||
      !o.stopStrings.empty())
    std::abort();
  for (int32_t id : o.prompt)
    if (id < 0 || id >= limits.vocab)
      std::abort();
  for (int32_t id : o.stopTokens)
    if (id < 0 || id >= limits.vocab)
      std::abort();
  const coil::SamplingOptions &s = o.sampling;
  if (!(s.temperature >= 0) || !(s.topP > 0 && s.topP <= 1) ||
      !(s.minP >= 0 && s.minP <= 1) || !(s.repetitionPenalty > 0) || s.topK < 0)
    std::abort();
  return 0;
}
