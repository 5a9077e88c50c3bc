//===- Components.h - The stages of a Hugging Face tokenizer -----*- C++ -*-===//
//
// tokenizer.json describes a pipeline; each stage here is one of its kinds:
//
//   text -> added tokens split out -> normalizer (per section) ->
//   pre-tokenizer (sections into pieces) -> model (pieces into ids) ->
//   post-processor (e.g. a BOS)                          = encode
//   ids -> tokens (special ones skipped on request) -> decoder -> text
//                                                        = decode
//
// Each parse* function reads one component of the file and throws
// FormatError naming the key it cannot use.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_RUNTIME_TOKENIZER_COMPONENTS_H
#define COIL_RUNTIME_TOKENIZER_COMPONENTS_H

#include "runtime/src/tokenizer/Json.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace coil::tokenizer {

/// Rewrites the text of one section (normalizers).
class Normalizer {
public:
  virtual ~Normalizer() = default;
  virtual std::string apply(std::string text) const = 0;
};

/// A piece of text on its way to the model, and whether it starts the
/// input (what Metaspace's prepend_scheme "first" asks).
struct Piece {
  std::string text;
  bool atStart = false;
};

/// Splits and rewrites pieces (pre-tokenizers).
class PreTokenizer {
public:
  virtual ~PreTokenizer() = default;
  virtual void apply(std::vector<Piece> &pieces) const = 0;
};

/// Adds tokens around the model's ids (post-processors).
class PostProcessor {
public:
  virtual ~PostProcessor() = default;
  virtual void apply(std::vector<int32_t> &ids) const = 0;
};

/// Rewrites the list of token strings into text (decoders). With `raw`,
/// bytes are passed on as they are, never replaced by U+FFFD, so that the
/// output of a prefix of the ids is a prefix of the output of all of them
/// (what streaming needs); without it, invalid UTF-8 is replaced as
/// Hugging Face's decoders replace it.
class Decoder {
public:
  virtual ~Decoder() = default;
  virtual void apply(std::vector<std::string> &tokens, bool raw) const = 0;
};

std::unique_ptr<Normalizer> parseNormalizer(const Node &node);
std::unique_ptr<PreTokenizer> parsePreTokenizer(const Node &node);
std::unique_ptr<PostProcessor> parsePostProcessor(const Node &node);
std::unique_ptr<Decoder> parseDecoder(const Node &node);

/// Splits `text` at the matches of `pattern` (a literal string or a
/// regular expression) with one of Hugging Face's delimiter behaviours.
class Splitter {
public:
  enum class Behavior {
    Removed,
    Isolated,
    MergedWithPrevious,
    MergedWithNext,
    Contiguous
  };
  /// Reads `{"String": s}` or `{"Regex": r}` from `pattern`.
  static Splitter parse(const Node &pattern, Behavior behavior, bool invert);
  /// The same for a regular expression given as text.
  static Splitter regex(const std::string &pattern, Behavior behavior,
                        bool invert = false);
  /// The same for a literal string.
  static Splitter literal(std::string text, Behavior behavior);
  static Behavior parseBehavior(const Node &node);

  void split(std::vector<Piece> &pieces) const;

  Splitter(Splitter &&) noexcept;
  Splitter &operator=(Splitter &&) noexcept;
  ~Splitter();

private:
  Splitter();
  struct Impl;
  std::unique_ptr<Impl> impl;
};

class Regex;

/// The steps of a Sequence component: `parse` over each element of the
/// array at `key`.
template <typename T, typename Parse>
std::vector<std::unique_ptr<T>> parseEach(const Node &node, const char *key,
                                          Parse parse) {
  Node list = node.at(key);
  std::vector<std::unique_ptr<T>> steps;
  for (size_t i = 0; i < list.size(); ++i)
    steps.push_back(parse(list[i]));
  return steps;
}

/// `text` with every match of `literal` (or of `regex`, when not null)
/// replaced by `content`: Replace, as a normalizer and as a decoder.
std::string replaceText(const std::string &text, const std::string &literal,
                        const Regex *regex, const std::string &content);

/// Reads Replace's `{"String": s}` or `{"Regex": r}`.
void readReplacePattern(const Node &pattern, std::string &literal,
                        std::unique_ptr<Regex> &regex);

} // namespace coil::tokenizer

#endif // COIL_RUNTIME_TOKENIZER_COMPONENTS_H
