//===- Normalizers.cpp - tokenizer.json's "normalizer" -----------*- C++ -*-===//

#include "runtime/src/tokenizer/Components.h"
#include "runtime/src/tokenizer/Regex.h"
#include "runtime/src/tokenizer/Unicode.h"

#include <utf8proc.h>

namespace coil::tokenizer {
namespace {

class NormalFormNormalizer : public Normalizer {
public:
  explicit NormalFormNormalizer(NormalForm form) : form(form) {}
  std::string apply(std::string text) const override {
    return normalize(text, form);
  }

private:
  NormalForm form;
};

class LowercaseNormalizer : public Normalizer {
public:
  std::string apply(std::string text) const override {
    return lowercase(text);
  }
};

/// Removes combining marks (general category Mn), as StripAccents does
/// after an NFD.
class StripAccentsNormalizer : public Normalizer {
public:
  std::string apply(std::string text) const override {
    std::string out;
    out.reserve(text.size());
    for (size_t pos = 0, n = 0; pos < text.size(); pos += n)
      if (utf8proc_category(static_cast<utf8proc_int32_t>(
              codePointAt(text, pos, n))) != UTF8PROC_CATEGORY_MN)
        out.append(text, pos, n);
    return out;
  }
};

class PrependNormalizer : public Normalizer {
public:
  explicit PrependNormalizer(std::string prefix) : prefix(std::move(prefix)) {}
  std::string apply(std::string text) const override {
    // Hugging Face prepends to non-empty text only.
    return text.empty() ? text : prefix + text;
  }

private:
  std::string prefix;
};

/// Replaces every match of a literal or a regular expression.
class ReplaceNormalizer : public Normalizer {
public:
  ReplaceNormalizer(std::string literal, std::unique_ptr<Regex> regex,
                    std::string content)
      : literal(std::move(literal)), regex(std::move(regex)),
        content(std::move(content)) {}

  std::string apply(std::string text) const override {
    return replaceAll(text, literal, regex.get(), content);
  }

  static std::string replaceAll(const std::string &text,
                                const std::string &literal,
                                const Regex *regex,
                                const std::string &content) {
    std::string out;
    if (!regex) {
      if (literal.empty())
        return text;
      size_t pos = 0;
      for (size_t hit; (hit = text.find(literal, pos)) != std::string::npos;
           pos = hit + literal.size())
        out.append(text, pos, hit - pos).append(content);
      out.append(text, pos, std::string::npos);
      return out;
    }
    std::vector<std::pair<size_t, size_t>> matches;
    std::string error;
    if (!regex->findAll(text, matches, error))
      return text;
    size_t pos = 0;
    for (auto [begin, end] : matches) {
      out.append(text, pos, begin - pos).append(content);
      pos = end;
    }
    out.append(text, pos, std::string::npos);
    return out;
  }

private:
  std::string literal;
  std::unique_ptr<Regex> regex;
  std::string content;
};

class StripNormalizer : public Normalizer {
public:
  StripNormalizer(bool left, bool right) : left(left), right(right) {}
  std::string apply(std::string text) const override {
    size_t begin = 0, end = text.size();
    size_t n = 0, start = 0;
    if (left)
      while (begin < end && isWhitespace(codePointAt(text, begin, n)))
        begin += n;
    if (right)
      while (end > begin && isWhitespace(codePointBefore(text, end, start)))
        end = start;
    return text.substr(begin, end - begin);
  }

private:
  bool left, right;
};

class SequenceNormalizer : public Normalizer {
public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps)
      : steps(std::move(steps)) {}
  std::string apply(std::string text) const override {
    for (const auto &step : steps)
      text = step->apply(std::move(text));
    return text;
  }

private:
  std::vector<std::unique_ptr<Normalizer>> steps;
};

} // namespace

/// Reads `{"String": s}` or `{"Regex": r}`.
static void readPattern(const Node &pattern, std::string &literal,
                        std::unique_ptr<Regex> &regex) {
  if (std::optional<Node> s = pattern.find("String")) {
    literal = s->string();
    return;
  }
  if (std::optional<Node> r = pattern.find("Regex")) {
    std::string error;
    regex = Regex::compile(r->string(), error);
    if (!regex)
      r->fail("invalid regular expression: " + error);
    return;
  }
  pattern.fail("expected {\"String\": ...} or {\"Regex\": ...}");
}

std::unique_ptr<Normalizer> parseNormalizer(const Node &node) {
  std::string type = node.type();
  if (type == "NFC")
    return std::make_unique<NormalFormNormalizer>(NormalForm::NFC);
  if (type == "NFD")
    return std::make_unique<NormalFormNormalizer>(NormalForm::NFD);
  if (type == "NFKC")
    return std::make_unique<NormalFormNormalizer>(NormalForm::NFKC);
  if (type == "NFKD")
    return std::make_unique<NormalFormNormalizer>(NormalForm::NFKD);
  if (type == "Lowercase")
    return std::make_unique<LowercaseNormalizer>();
  if (type == "StripAccents")
    return std::make_unique<StripAccentsNormalizer>();
  if (type == "Prepend")
    return std::make_unique<PrependNormalizer>(node.at("prepend").string());
  if (type == "Strip")
    return std::make_unique<StripNormalizer>(node.boolOr("strip_left", true),
                                             node.boolOr("strip_right", true));
  if (type == "Replace") {
    std::string literal;
    std::unique_ptr<Regex> regex;
    readPattern(node.at("pattern"), literal, regex);
    return std::make_unique<ReplaceNormalizer>(
        std::move(literal), std::move(regex), node.at("content").string());
  }
  if (type == "Sequence")
    return std::make_unique<SequenceNormalizer>(
        parseEach<Normalizer>(node, "normalizers", parseNormalizer));
  node.at("type").fail("normalizer type '" + type + "' is not supported");
}

// The decoders' Replace shares the normalizer's replacement.
std::string replaceText(const std::string &text, const std::string &literal,
                        const Regex *regex, const std::string &content) {
  return ReplaceNormalizer::replaceAll(text, literal, regex, content);
}

void readReplacePattern(const Node &pattern, std::string &literal,
                        std::unique_ptr<Regex> &regex) {
  readPattern(pattern, literal, regex);
}

} // namespace coil::tokenizer
