//===- Generate.h - Text in, text out on a session ---------------*- C++ -*-===//
//
// One request on sequence 0 of a session: the prompt tokenized and
// prefilled after whatever the sequence holds (so a conversation goes on
// without prefilling earlier turns again), then sample, stream the text,
// decode, until a stop condition. When it returns, the sequence holds the
// prompt and every generated token (the last one is fed too), so the next
// request continues from there.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_RUNTIME_GENERATE_GENERATE_H
#define COIL_RUNTIME_GENERATE_GENERATE_H

#include "runtime/src/Status.h"
#include "runtime/src/generate/Sampler.h"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace coil::tokenizer {
class Tokenizer;
}

namespace coil::runtime {
class Session;
}

namespace coil::generate {

struct GenerateOptions {
  /// The most tokens to generate (0: only prefill the prompt).
  int64_t maxNewTokens = 128;
  SamplingParams sampling;
  /// Tokens that end the request (e.g. EOS); they are generated (and fed)
  /// but their text is not emitted.
  std::vector<int32_t> stopIds;
  /// Texts that end the request; the text stops before them.
  std::vector<std::string> stopStrings;
  /// The tokenizer's template (e.g. a BOS) on the prompt.
  bool addSpecialTokens = true;
  /// Special tokens left out of the emitted text.
  bool skipSpecialTokens = true;
};

enum class StopReason {
  MaxTokens,
  StopToken,
  StopString,
  /// The callback returned false.
  Callback,
  Context,
  /// Cancelled by its caller (a scheduler's request).
  Cancelled,
  /// A session call failed (a scheduler's request).
  Error
};

struct GenerateStats {
  int64_t promptTokens = 0, generatedTokens = 0;
  /// From the call to the first sampled token (tokenizing and prefill
  /// included), and the mean time between later tokens.
  double timeToFirstToken = 0, timePerOutputToken = 0, totalSeconds = 0;
  StopReason reason = StopReason::MaxTokens;
};

/// Called for each generated token with the text that became final (maybe
/// empty: part of a character, or text that may start a stop string), and
/// once more at the end with token -1 and the text held back until then,
/// if any. Returning false ends the request.
using TokenCallback = std::function<bool(int32_t token, std::string_view text)>;

/// Splits streamed text so a stop string is never emitted: text that
/// could still begin one is held back.
class StopStringMatcher {
public:
  explicit StopStringMatcher(std::vector<std::string> stops)
      : stops(std::move(stops)) {}
  /// Adds `text`; returns what may be emitted. Sets `matched` when a stop
  /// string completed (the text before it is returned; the rest dropped).
  std::string push(std::string_view text, bool &matched);
  /// What is held back.
  std::string flush();

private:
  std::vector<std::string> stops;
  std::string held;
};

/// Runs one request; see the file comment. Errors (before anything runs):
/// invalid options, a prompt with no tokens, a prompt that does not fit in
/// the sequence's remaining context; afterwards only the session's own.
runtime::Status generate(runtime::Session &session,
                         const tokenizer::Tokenizer &tokenizer,
                         std::string_view prompt,
                         const GenerateOptions &options,
                         const TokenCallback &onToken, GenerateStats &stats);

} // namespace coil::generate

#endif // COIL_RUNTIME_GENERATE_GENERATE_H
