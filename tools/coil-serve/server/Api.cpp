//===- Api.cpp - The OpenAI-style completions request and response --------===//

#include "Api.h"

#include "runtime/src/weights/JsonCheck.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <set>

namespace coil::serve_tool {

using nlohmann::json;

namespace {

/// Fails `error` for `param`; returns false.
bool refuse(ApiError &error, std::string param, std::string message) {
  error.status = 400;
  error.param = std::move(param);
  error.message = std::move(message);
  return false;
}

bool readNumber(const json &j, const char *name, double low, double high,
                float &out, ApiError &error) {
  if (!j.contains(name) || j[name].is_null())
    return true;
  if (!j[name].is_number())
    return refuse(error, name, std::string("'") + name + "' must be a number");
  double v = j[name].get<double>();
  if (!std::isfinite(v) || v < low || v > high)
    return refuse(error, name,
                  std::string("'") + name + "' must be in [" +
                      json(low).dump() + ", " + json(high).dump() + "]");
  out = static_cast<float>(v);
  return true;
}

bool readInteger(const json &j, const char *name, int64_t low, int64_t high,
                 int64_t &out, ApiError &error) {
  if (!j.contains(name) || j[name].is_null())
    return true;
  if (!j[name].is_number_integer())
    return refuse(error, name,
                  std::string("'") + name + "' must be an integer");
  if (j[name].is_number_unsigned() && j[name].get<uint64_t>() > uint64_t(high))
    return refuse(error, name,
                  std::string("'") + name + "' must be at most " +
                      std::to_string(high));
  int64_t v = j[name].get<int64_t>();
  if (v < low || v > high)
    return refuse(error, name,
                  std::string("'") + name + "' must be in [" +
                      std::to_string(low) + ", " + std::to_string(high) + "]");
  out = v;
  return true;
}

bool readBool(const json &j, const char *name, bool &out, ApiError &error) {
  if (!j.contains(name) || j[name].is_null())
    return true;
  if (!j[name].is_boolean())
    return refuse(error, name, std::string("'") + name + "' must be a boolean");
  out = j[name].get<bool>();
  return true;
}

bool readIds(const json &v, const char *name, int64_t vocab,
             std::vector<int32_t> &out, ApiError &error) {
  for (const json &id : v) {
    if (!id.is_number_integer())
      return refuse(error, name,
                    std::string("'") + name + "' must hold integer token ids");
    int64_t x = id.is_number_unsigned() && id.get<uint64_t>() > uint64_t(vocab)
                    ? vocab
                    : id.get<int64_t>();
    if (x < 0 || x >= vocab)
      return refuse(error, name,
                    std::string("'") + name + "' holds token " + id.dump() +
                        ", outside the vocabulary [0, " +
                        std::to_string(vocab) + ")");
    out.push_back(static_cast<int32_t>(x));
  }
  return true;
}

} // namespace

bool parseCompletionRequest(std::string_view body, const Limits &limits,
                            const coil::Tokenizer *tokenizer,
                            const std::vector<int32_t> &endOfText,
                            CompletionRequest &out, ApiError &error) {
  // Checked before a tree is built: nesting depth, repeated keys.
  if (std::string problem = coil::weights::checkJsonStructure(body);
      !problem.empty())
    return refuse(error, "",
                  "the body is " + (problem.rfind("not valid JSON", 0) == 0
                                        ? problem
                                        : "not accepted: " + problem));
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded())
    return refuse(error, "", "the body is not valid JSON");
  if (!j.is_object())
    return refuse(error, "", "the body must be a JSON object");
  static const std::set<std::string> known = {
      "model",  "prompt",      "max_tokens",     "temperature",
      "top_p",  "top_k",       "min_p",          "repetition_penalty",
      "seed",   "stop",        "stop_token_ids", "ignore_eos",
      "stream", "n",           "echo",           "logprobs",
      "user",   "cache_prefix"};
  for (const auto &item : j.items())
    if (!known.count(item.key()))
      return refuse(error, item.key(), "unknown field '" + item.key() + "'");

  if (j.contains("model") && !j["model"].is_null()) {
    if (!j["model"].is_string())
      return refuse(error, "model", "'model' must be a string");
    out.model = j["model"].get<std::string>();
  }
  if (j.contains("user") && !j["user"].is_null() && !j["user"].is_string())
    return refuse(error, "user", "'user' must be a string");

  // The prompt.
  if (!j.contains("prompt"))
    return refuse(error, "prompt", "'prompt' is required");
  const json &prompt = j["prompt"];
  std::vector<int32_t> &ids = out.options.prompt;
  if (prompt.is_string()) {
    if (!tokenizer)
      return refuse(error, "prompt",
                    "this server has no tokenizer: send the prompt as an "
                    "array of token ids");
    try {
      ids = tokenizer->encode(prompt.get<std::string>());
    } catch (const coil::Error &e) {
      return refuse(error, "prompt", e.what());
    }
  } else if (prompt.is_array()) {
    if (!readIds(prompt, "prompt", limits.vocab, ids, error))
      return false;
  } else {
    return refuse(error, "prompt",
                  "'prompt' must be a string or an array of token ids");
  }
  if (ids.empty())
    return refuse(error, "prompt", "the prompt has no tokens");
  if (static_cast<int64_t>(ids.size()) > limits.maxPrompt)
    return refuse(error, "prompt",
                  "the prompt has " + std::to_string(ids.size()) +
                      " tokens; this server takes at most " +
                      std::to_string(limits.maxPrompt) + " (context " +
                      std::to_string(limits.context) + ")");

  int64_t maxTokens = 16;
  if (!readInteger(j, "max_tokens", 1, limits.maxTokens, maxTokens, error))
    return false;
  out.options.maxNewTokens = maxTokens;

  coil::SamplingOptions &s = out.options.sampling;
  s.temperature = 1.0f;
  int64_t topK = 0, seed = 0, n = 1, cachePrefix = 0;
  if (!readNumber(j, "temperature", 0.0, 100.0, s.temperature, error) ||
      !readNumber(j, "top_p", 1e-9, 1.0, s.topP, error) ||
      !readNumber(j, "min_p", 0.0, 1.0, s.minP, error) ||
      !readNumber(j, "repetition_penalty", 1e-3, 100.0, s.repetitionPenalty,
                  error) ||
      !readInteger(j, "top_k", 0, limits.vocab, topK, error) ||
      !readInteger(j, "seed", INT64_MIN, INT64_MAX, seed, error) ||
      !readInteger(j, "n", 1, 1, n, error) ||
      !readInteger(j, "cache_prefix", 0, int64_t(ids.size()), cachePrefix,
                   error) ||
      !readBool(j, "stream", out.stream, error))
    return false;
  s.topK = static_cast<int32_t>(topK);
  s.seed = static_cast<uint64_t>(seed);
  out.options.cachePrefix = cachePrefix;
  bool echo = false, ignoreEos = false;
  if (!readBool(j, "echo", echo, error) ||
      !readBool(j, "ignore_eos", ignoreEos, error))
    return false;
  if (echo)
    return refuse(error, "echo", "'echo' is not supported");
  if (j.contains("logprobs") && !j["logprobs"].is_null())
    return refuse(error, "logprobs", "'logprobs' is not supported");

  // Stop conditions.
  if (j.contains("stop") && !j["stop"].is_null()) {
    const json &stop = j["stop"];
    std::vector<std::string> &stops = out.options.stopStrings;
    if (stop.is_string())
      stops.push_back(stop.get<std::string>());
    else if (stop.is_array() && stop.size() <= 4) {
      for (const json &x : stop) {
        if (!x.is_string())
          return refuse(error, "stop", "'stop' must hold strings");
        stops.push_back(x.get<std::string>());
      }
    } else {
      return refuse(error, "stop",
                    "'stop' must be a string or an array of up to 4");
    }
    for (const std::string &x : stops)
      if (x.empty())
        return refuse(error, "stop", "a stop string is empty");
    if (!stops.empty() && !tokenizer)
      return refuse(error, "stop",
                    "this server has no tokenizer: use 'stop_token_ids'");
  }
  if (j.contains("stop_token_ids") && !j["stop_token_ids"].is_null()) {
    if (!j["stop_token_ids"].is_array())
      return refuse(error, "stop_token_ids",
                    "'stop_token_ids' must be an array of token ids");
    if (!readIds(j["stop_token_ids"], "stop_token_ids", limits.vocab,
                 out.options.stopTokens, error))
      return false;
  }
  if (!ignoreEos)
    out.options.stopTokens.insert(out.options.stopTokens.end(),
                                  endOfText.begin(), endOfText.end());
  return true;
}

std::string toText(const json &value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string errorBody(const ApiError &error) {
  json e = {{"message", error.message},
            {"type", error.type},
            {"param", error.param.empty() ? json(nullptr) : json(error.param)},
            {"code", error.status}};
  return toText(json{{"error", e}});
}

const char *finishReason(coil_stop_reason_t reason) {
  switch (reason) {
  case COIL_STOP_MAX_TOKENS:
  case COIL_STOP_CONTEXT:
    return "length";
  case COIL_STOP_CANCELLED:
  case COIL_STOP_CALLBACK:
    return "cancelled";
  case COIL_STOP_ERROR:
    return "error";
  default:
    return "stop";
  }
}

} // namespace coil::serve_tool
