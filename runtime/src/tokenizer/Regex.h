//===- Regex.h - The patterns of tokenizer.json, with PCRE2 ------*- C++ -*-===//
//
// Hugging Face tokenizers compile their patterns with Oniguruma; PCRE2 in
// UTF and UCP mode reads the same syntax for everything tokenizer.json
// files use (\p{L}, \p{N}, look-ahead, (?i:...), possessive and lazy
// quantifiers), and its JIT keeps matching linear for those patterns.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_RUNTIME_TOKENIZER_REGEX_H
#define COIL_RUNTIME_TOKENIZER_REGEX_H

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace coil::tokenizer {

/// A compiled pattern. Immutable once built; matching is thread-safe.
class Regex {
public:
  /// Compiles `pattern`; on failure returns null and sets `error`.
  static std::unique_ptr<Regex> compile(std::string_view pattern,
                                        std::string &error);
  ~Regex();

  /// The [begin, end) byte ranges of the successive non-overlapping,
  /// non-empty matches in `text` (valid UTF-8), left to right. Returns
  /// false (and sets `error`) when matching fails, e.g. when a pattern
  /// exceeds PCRE2's backtracking limit.
  bool findAll(std::string_view text,
               std::vector<std::pair<size_t, size_t>> &matches,
               std::string &error) const;

private:
  Regex() = default;
  struct Compiled;
  std::unique_ptr<Compiled> compiled;
};

} // namespace coil::tokenizer

#endif // COIL_RUNTIME_TOKENIZER_REGEX_H
