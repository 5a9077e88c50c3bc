//===- Tokenizer.h - Text to token ids and back ------------------*- C++ -*-===//
//
// A Hugging Face tokenizer read from its tokenizer.json: byte-level BPE
// (GPT-2, GPT-NeoX, Llama 3) and SentencePiece-style BPE with byte fallback
// (Llama 2), with their normalizers, pre-tokenizers, added tokens,
// post-processors and decoders, following Hugging Face's defaults.
// Immutable once loaded: safe to share between threads.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_RUNTIME_TOKENIZER_TOKENIZER_H
#define COIL_RUNTIME_TOKENIZER_TOKENIZER_H

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace coil::tokenizer {

class Tokenizer {
public:
  /// Reads `path`: a tokenizer.json, or a directory holding one. On failure
  /// returns a message naming the file and the key; `out` is then null.
  static std::string load(const std::string &path,
                          std::unique_ptr<Tokenizer> &out);

  /// The file `load` reads for `path`: path/tokenizer.json for a
  /// directory, else `path`.
  static std::string fileOf(const std::string &path);

  /// The same from the file's text; `fileName` names it in messages.
  static std::string parse(std::string_view json, const std::string &fileName,
                           std::unique_ptr<Tokenizer> &out);

  ~Tokenizer();

  /// The ids of `text`. Bytes that are not valid UTF-8 are read as U+FFFD
  /// (one per maximal invalid subpart). With `addSpecialTokens`, the
  /// post-processor's template (e.g. a BOS) is applied. Fails only when a
  /// pattern of the file exceeds the regular expression engine's limits
  /// (the message says so); `ids` is then empty.
  std::string encode(std::string_view text, bool addSpecialTokens,
                     std::vector<int32_t> &ids) const;

  /// The text of `ids`, invalid UTF-8 replaced as Hugging Face replaces it;
  /// special tokens are left out with `skipSpecialTokens`. Fails naming
  /// the first id that is not in the vocabulary.
  std::string decode(const int32_t *ids, size_t count, bool skipSpecialTokens,
                     std::string &text) const;

  /// The same, with the decoders' bytes as they are (no replacement): the
  /// bytes of a prefix of `ids` are a prefix of the bytes of all of them.
  std::string decodeBytes(const int32_t *ids, size_t count,
                          bool skipSpecialTokens, std::string &bytes) const;

  /// One past the largest id (the model's and the added tokens').
  int64_t vocabSize() const;

  /// The id of token `token` (as the vocabulary spells it), or -1.
  int32_t tokenId(std::string_view token) const;

  /// The token string of `id`, or empty when there is none.
  std::string tokenText(int32_t id) const;

  /// Whether `id` is an added token marked special.
  bool isSpecial(int32_t id) const;

private:
  Tokenizer();
  struct Impl;
  std::unique_ptr<Impl> impl;
};

/// Turns ids produced one at a time into text as soon as it is complete:
/// a character split over several tokens is held back until its last byte
/// arrives, and text a later token changes (none of the supported decoders
/// does beyond its first token) is not emitted early.
class TextStream {
public:
  TextStream(const Tokenizer &tokenizer, bool skipSpecialTokens);

  /// Adds `id` and returns the text that became complete (maybe empty).
  /// Fails as Tokenizer::decode does; the stream is then unchanged.
  std::string push(int32_t id, std::string &text);

  /// The rest, an incomplete character replaced by U+FFFD; the stream
  /// starts over.
  std::string finish();

private:
  const Tokenizer &tokenizer;
  bool skipSpecial;
  /// The last ids pushed: the context the next one is decoded in, and
  /// their bytes.
  std::vector<int32_t> window;
  std::string windowBytes;
  /// Bytes decoded but not yet emitted (an incomplete character).
  std::string pending;
};

} // namespace coil::tokenizer

#endif // COIL_RUNTIME_TOKENIZER_TOKENIZER_H
