//===- PreTokenizers.cpp - tokenizer.json's "pre_tokenizer" ------*- C++ -*-===//

#include "runtime/src/tokenizer/Components.h"
#include "runtime/src/tokenizer/Regex.h"
#include "runtime/src/tokenizer/Unicode.h"

#include <optional>

namespace coil::tokenizer {

//===----------------------------------------------------------------------===//
// Splitter
//===----------------------------------------------------------------------===//

struct Splitter::Impl {
  std::string literal;
  std::unique_ptr<Regex> regex;
  Behavior behavior = Behavior::Isolated;
  bool invert = false;
};

Splitter::Splitter() : impl(std::make_unique<Impl>()) {}
Splitter::Splitter(Splitter &&) noexcept = default;
Splitter &Splitter::operator=(Splitter &&) noexcept = default;
Splitter::~Splitter() = default;

Splitter Splitter::parse(const Node &pattern, Behavior behavior, bool invert) {
  Splitter s;
  readReplacePattern(pattern, s.impl->literal, s.impl->regex);
  s.impl->behavior = behavior;
  s.impl->invert = invert;
  return s;
}

Splitter Splitter::regex(const std::string &pattern, Behavior behavior,
                         bool invert) {
  Splitter s;
  std::string error;
  s.impl->regex = Regex::compile(pattern, error);
  if (!s.impl->regex)
    throw FormatError("built-in pattern: " + error);
  s.impl->behavior = behavior;
  s.impl->invert = invert;
  return s;
}

Splitter Splitter::literal(std::string text, Behavior behavior) {
  Splitter s;
  s.impl->literal = std::move(text);
  s.impl->behavior = behavior;
  return s;
}

Splitter::Behavior Splitter::parseBehavior(const Node &node) {
  std::string name = node.string();
  if (name == "Removed")
    return Behavior::Removed;
  if (name == "Isolated")
    return Behavior::Isolated;
  if (name == "MergedWithPrevious")
    return Behavior::MergedWithPrevious;
  if (name == "MergedWithNext")
    return Behavior::MergedWithNext;
  if (name == "Contiguous")
    return Behavior::Contiguous;
  node.fail("unknown split behavior '" + name + "'");
}

void Splitter::split(std::vector<Piece> &pieces) const {
  std::vector<Piece> out;
  std::vector<std::pair<size_t, size_t>> matches;
  for (Piece &piece : pieces) {
    const std::string &text = piece.text;
    matches.clear();
    if (impl->regex) {
      std::string error;
      if (!impl->regex->findAll(text, matches, error))
        throw FormatError("pre_tokenizer pattern: " + error);
    } else if (!impl->literal.empty()) {
      for (size_t pos = 0, hit;
           (hit = text.find(impl->literal, pos)) != std::string::npos;
           pos = hit + impl->literal.size())
        matches.emplace_back(hit, hit + impl->literal.size());
    }
    // The whole text as ranges, each a match or not.
    struct Range {
      size_t begin, end;
      bool match;
    };
    std::vector<Range> ranges;
    size_t pos = 0;
    for (auto [begin, end] : matches) {
      if (begin > pos)
        ranges.push_back({pos, begin, impl->invert});
      ranges.push_back({begin, end, !impl->invert});
      pos = end;
    }
    if (pos < text.size())
      ranges.push_back({pos, text.size(), impl->invert});

    std::vector<std::pair<size_t, size_t>> kept;
    for (size_t i = 0; i < ranges.size(); ++i) {
      const Range &r = ranges[i];
      switch (impl->behavior) {
      case Behavior::Removed:
        if (!r.match)
          kept.emplace_back(r.begin, r.end);
        break;
      case Behavior::Isolated:
        kept.emplace_back(r.begin, r.end);
        break;
      case Behavior::MergedWithPrevious:
        if (r.match && !kept.empty() && kept.back().second == r.begin &&
            !ranges[i - 1].match)
          kept.back().second = r.end;
        else
          kept.emplace_back(r.begin, r.end);
        break;
      case Behavior::MergedWithNext:
        if (!r.match && i > 0 && ranges[i - 1].match)
          kept.back().second = r.end;
        else
          kept.emplace_back(r.begin, r.end);
        break;
      case Behavior::Contiguous:
        if (r.match && i > 0 && ranges[i - 1].match)
          kept.back().second = r.end;
        else
          kept.emplace_back(r.begin, r.end);
        break;
      }
    }
    for (auto [begin, end] : kept)
      if (end > begin)
        out.push_back({text.substr(begin, end - begin),
                       piece.atStart && begin == 0});
  }
  pieces = std::move(out);
}

namespace {

//===----------------------------------------------------------------------===//
// Pre-tokenizers
//===----------------------------------------------------------------------===//

/// GPT-2's pattern, which ByteLevel splits with when use_regex is set.
constexpr const char *kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class SplitPreTokenizer : public PreTokenizer {
public:
  explicit SplitPreTokenizer(Splitter splitter)
      : splitter(std::move(splitter)) {}
  void apply(std::vector<Piece> &pieces) const override {
    splitter.split(pieces);
  }

private:
  Splitter splitter;
};

/// Every byte as a character of GPT-2's byte-level alphabet.
class ByteLevelPreTokenizer : public PreTokenizer {
public:
  ByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex)
      : addPrefixSpace(addPrefixSpace) {
    if (useRegex)
      splitter.emplace(Splitter::regex(kGpt2Pattern,
                                       Splitter::Behavior::Isolated));
  }
  void apply(std::vector<Piece> &pieces) const override {
    if (addPrefixSpace)
      for (Piece &piece : pieces)
        if (piece.text.empty() || piece.text[0] != ' ')
          piece.text.insert(0, 1, ' ');
    if (splitter)
      splitter->split(pieces);
    for (Piece &piece : pieces) {
      std::string mapped;
      mapped.reserve(piece.text.size() * 2);
      for (unsigned char b : piece.text)
        appendCodePoint(mapped, byteToChar(b));
      piece.text = std::move(mapped);
    }
  }

private:
  bool addPrefixSpace;
  std::optional<Splitter> splitter;
};

/// Spaces as `replacement` (SentencePiece's "▁"), one prepended as
/// `scheme` says, and a split before each.
class MetaspacePreTokenizer : public PreTokenizer {
public:
  enum class Scheme { Always, First, Never };
  MetaspacePreTokenizer(std::string replacement, Scheme scheme, bool split)
      : replacement(std::move(replacement)), scheme(scheme) {
    if (split)
      splitter.emplace(Splitter::literal(this->replacement,
                                         Splitter::Behavior::MergedWithNext));
  }
  void apply(std::vector<Piece> &pieces) const override {
    for (Piece &piece : pieces) {
      piece.text = replaceText(piece.text, " ", nullptr, replacement);
      bool prepend = scheme == Scheme::Always ||
                     (scheme == Scheme::First && piece.atStart);
      if (prepend && piece.text.compare(0, replacement.size(), replacement))
        piece.text.insert(0, replacement);
    }
    if (splitter)
      splitter->split(pieces);
  }

  static Scheme parseScheme(const Node &node) {
    if (std::optional<Node> s = node.find("prepend_scheme")) {
      std::string name = s->string();
      if (name == "always")
        return Scheme::Always;
      if (name == "first")
        return Scheme::First;
      if (name == "never")
        return Scheme::Never;
      s->fail("unknown prepend_scheme '" + name + "'");
    }
    return node.boolOr("add_prefix_space", true) ? Scheme::Always
                                                 : Scheme::Never;
  }

private:
  std::string replacement;
  Scheme scheme;
  std::optional<Splitter> splitter;
};

class SequencePreTokenizer : public PreTokenizer {
public:
  explicit SequencePreTokenizer(
      std::vector<std::unique_ptr<PreTokenizer>> steps)
      : steps(std::move(steps)) {}
  void apply(std::vector<Piece> &pieces) const override {
    for (const auto &step : steps)
      step->apply(pieces);
  }

private:
  std::vector<std::unique_ptr<PreTokenizer>> steps;
};

} // namespace

std::unique_ptr<PreTokenizer> parsePreTokenizer(const Node &node) {
  std::string type = node.type();
  using Behavior = Splitter::Behavior;
  auto fromRegex = [](const char *pattern, Behavior behavior) {
    return std::make_unique<SplitPreTokenizer>(
        Splitter::regex(pattern, behavior));
  };
  if (type == "ByteLevel")
    return std::make_unique<ByteLevelPreTokenizer>(
        node.boolOr("add_prefix_space", true), node.boolOr("use_regex", true));
  if (type == "Split")
    return std::make_unique<SplitPreTokenizer>(Splitter::parse(
        node.at("pattern"), Splitter::parseBehavior(node.at("behavior")),
        node.boolOr("invert", false)));
  if (type == "Metaspace")
    return std::make_unique<MetaspacePreTokenizer>(
        node.stringOr("replacement", "\xE2\x96\x81"),
        MetaspacePreTokenizer::parseScheme(node), node.boolOr("split", true));
  if (type == "Whitespace") // keeps \w+ and [^\w\s]+, drops the rest
    return std::make_unique<SplitPreTokenizer>(Splitter::regex(
        R"(\w+|[^\w\s]+)", Behavior::Removed, /*invert=*/true));
  if (type == "WhitespaceSplit")
    return fromRegex(R"(\s+)", Behavior::Removed);
  if (type == "Digits")
    return fromRegex(R"(\p{N})", node.boolOr("individual_digits", false)
                                     ? Behavior::Isolated
                                     : Behavior::Contiguous);
  if (type == "Punctuation")
    return fromRegex(R"(\p{P})",
                     node.find("behavior")
                         ? Splitter::parseBehavior(node.at("behavior"))
                         : Behavior::Isolated);
  if (type == "Sequence")
    return std::make_unique<SequencePreTokenizer>(
        parseEach<PreTokenizer>(node, "pretokenizers", parsePreTokenizer));
  node.at("type").fail("pre_tokenizer type '" + type + "' is not supported");
}

} // namespace coil::tokenizer
