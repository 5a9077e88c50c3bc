//===- Regex.cpp - The patterns of tokenizer.json, with PCRE2 ----*- C++ -*-===//

#include "runtime/src/tokenizer/Regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace coil::tokenizer {

struct Regex::Compiled {
  pcre2_code *code = nullptr;
  ~Compiled() { pcre2_code_free(code); }
};

namespace {

std::string pcreMessage(int code) {
  PCRE2_UCHAR buffer[256];
  if (pcre2_get_error_message(code, buffer, sizeof(buffer)) < 0)
    return "error " + std::to_string(code);
  return reinterpret_cast<const char *>(buffer);
}

/// Releases a match data block.
struct MatchData {
  explicit MatchData(const pcre2_code *code)
      : data(pcre2_match_data_create_from_pattern(code, nullptr)) {}
  ~MatchData() { pcre2_match_data_free(data); }
  pcre2_match_data *data;
};

} // namespace

std::unique_ptr<Regex> Regex::compile(std::string_view pattern,
                                      std::string &error) {
  int code = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code *compiled = pcre2_compile(
      reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
      PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &code, &offset, nullptr);
  if (!compiled) {
    error = pcreMessage(code) + " at offset " + std::to_string(offset);
    return nullptr;
  }
  // Where the JIT is unavailable the interpreter runs the same pattern.
  (void)pcre2_jit_compile(compiled, PCRE2_JIT_COMPLETE);
  std::unique_ptr<Regex> regex(new Regex());
  regex->compiled = std::make_unique<Compiled>();
  regex->compiled->code = compiled;
  return regex;
}

Regex::~Regex() = default;

bool Regex::findAll(std::string_view text,
                    std::vector<std::pair<size_t, size_t>> &matches,
                    std::string &error) const {
  matches.clear();
  MatchData match(compiled->code);
  if (!match.data) {
    error = "out of memory";
    return false;
  }
  auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t pos = 0;
  while (pos <= text.size()) {
    int rc = pcre2_match(compiled->code, subject, text.size(), pos,
                         PCRE2_NO_UTF_CHECK, match.data, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH)
      return true;
    if (rc < 0) {
      error = pcreMessage(rc);
      return false;
    }
    PCRE2_SIZE *ovector = pcre2_get_ovector_pointer(match.data);
    size_t begin = ovector[0], end = ovector[1];
    if (end > begin) {
      matches.emplace_back(begin, end);
      pos = end;
      continue;
    }
    // An empty match: go on after the next character.
    if (begin >= text.size())
      return true;
    pos = begin + 1;
    while (pos < text.size() &&
           (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80)
      ++pos;
  }
  return true;
}

} // namespace coil::tokenizer
