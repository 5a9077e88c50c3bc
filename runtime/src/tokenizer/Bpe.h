//===- Bpe.h - The byte-pair-encoding model of tokenizer.json ----*- C++ -*-===//

#ifndef COIL_RUNTIME_TOKENIZER_BPE_H
#define COIL_RUNTIME_TOKENIZER_BPE_H

#include "runtime/src/tokenizer/Json.h"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace coil::tokenizer {

/// Hugging Face's BPE model: a vocabulary, merges ranked by priority, and
/// what to do with characters the vocabulary lacks (SentencePiece's byte
/// fallback to "<0xNN>" tokens, or an unknown token, fused or not).
class BpeModel {
public:
  /// Reads `model`; throws FormatError naming the key it cannot use (a
  /// merge of tokens outside the vocabulary, an id given twice, ...).
  static std::unique_ptr<BpeModel> parse(const Node &model);

  /// Appends the ids of `word` (valid UTF-8). Merges apply lowest rank
  /// first, leftmost first among equal ranks: O(n log n) in the length.
  void tokenize(std::string_view word, std::vector<int32_t> &ids) const;

  /// The id of `token`, or -1.
  int32_t idOf(std::string_view token) const;

  /// The token of `id`, or null.
  const std::string *tokenOf(int32_t id) const;

  /// One past the largest id.
  int64_t size() const { return static_cast<int64_t>(tokens.size()); }

private:
  struct Merge {
    int32_t rank, result;
  };
  static uint64_t pairKey(int32_t a, int32_t b) {
    return (uint64_t(uint32_t(a)) << 32) | uint32_t(b);
  }

  std::unordered_map<std::string, int32_t> vocab;
  /// Token strings by id; ids the vocabulary skips have no entry.
  std::vector<std::string> tokens;
  std::vector<bool> present;
  std::unordered_map<uint64_t, Merge> merges;
  std::array<int32_t, 256> byteIds{};
  int32_t unkId = -1;
  bool byteFallback = false, fuseUnk = false, ignoreMerges = false;
};

} // namespace coil::tokenizer

#endif // COIL_RUNTIME_TOKENIZER_BPE_H
