//===- Api.h - The OpenAI-style completions request and response -*- C++
//-*-===//
//
// /v1/completions as OpenAI defines it, for one choice: `prompt` (a string,
// or an array of token ids), `max_tokens` (default 16), `temperature`
// (default 1), `top_p`, `seed`, `stop` (a string or up to 4), `stream`,
// `n` (1 only), `echo` (false only), `logprobs` (null only), `model` and
// `user` (accepted, not used); and the extensions other servers have:
// `top_k`, `min_p`, `repetition_penalty`, `stop_token_ids`, `ignore_eos`,
// `cache_prefix` (prompt tokens to keep in the prefix cache). Anything else
// is refused by name, as is a field of the wrong type or out of range.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_TOOLS_COIL_SERVE_API_H
#define COIL_TOOLS_COIL_SERVE_API_H

#include "coil/coil.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace coil::serve_tool {

/// What the server allows.
struct Limits {
  /// The model's vocabulary (ids below it).
  int64_t vocab = 0;
  /// A prompt's most tokens (at most the context less one).
  int64_t maxPrompt = 0;
  /// The most tokens one request may ask for.
  int64_t maxTokens = 0;
  /// The session's context.
  int64_t context = 0;
};

/// A request that was read and checked.
struct CompletionRequest {
  coil::RequestOptions options;
  bool stream = false;
  std::string model;
};

/// Why a request was refused: an HTTP status, a message and the field.
struct ApiError {
  int status = 400;
  std::string message;
  std::string param;
  std::string type = "invalid_request_error";
};

/// Reads `body`; fills `out`, or returns false with `error` set.
/// `tokenizer` may be null (then only token-id prompts, no stop strings);
/// `endOfText` are the stop tokens added unless `ignore_eos`.
bool parseCompletionRequest(std::string_view body, const Limits &limits,
                            const coil::Tokenizer *tokenizer,
                            const std::vector<int32_t> &endOfText,
                            CompletionRequest &out, ApiError &error);

/// The JSON body of an error.
std::string errorBody(const ApiError &error);

/// `value` as JSON text; bytes that are not UTF-8 (a quoted piece of a bad
/// body) become U+FFFD instead of failing.
std::string toText(const nlohmann::json &value);

/// OpenAI's finish_reason of a stop reason ("stop" or "length").
const char *finishReason(coil_stop_reason_t reason);

} // namespace coil::serve_tool

#endif // COIL_TOOLS_COIL_SERVE_API_H
