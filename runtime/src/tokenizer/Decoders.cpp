//===- Decoders.cpp - tokenizer.json's "decoder" -----------------*- C++ -*-===//

#include "runtime/src/tokenizer/Components.h"
#include "runtime/src/tokenizer/Regex.h"
#include "runtime/src/tokenizer/Unicode.h"

namespace coil::tokenizer {
namespace {

/// The code points of valid UTF-8 `text` (a stray byte stands for itself).
std::vector<std::pair<uint32_t, std::string_view>>
characters(std::string_view text) {
  std::vector<std::pair<uint32_t, std::string_view>> out;
  for (size_t pos = 0, n = 0; pos < text.size(); pos += n) {
    uint32_t cp = codePointAt(text, pos, n);
    out.emplace_back(cp, text.substr(pos, n));
  }
  return out;
}

/// Byte-level characters back to the bytes they stand for; a token with a
/// character outside the alphabet is kept as it is.
class ByteLevelDecoder : public Decoder {
public:
  void apply(std::vector<std::string> &tokens, bool raw) const override {
    std::string bytes;
    for (const std::string &token : tokens) {
      std::string mapped;
      bool all = true;
      for (auto [cp, text] : characters(token)) {
        int b = charToByte(cp);
        if (b < 0) {
          all = false;
          break;
        }
        mapped += static_cast<char>(b);
      }
      bytes += all ? mapped : token;
    }
    tokens.assign(1, raw ? std::move(bytes) : toValidUtf8(bytes));
  }
};

class ReplaceDecoder : public Decoder {
public:
  ReplaceDecoder(std::string literal, std::unique_ptr<Regex> regex,
                 std::string content)
      : literal(std::move(literal)), regex(std::move(regex)),
        content(std::move(content)) {}
  void apply(std::vector<std::string> &tokens, bool) const override {
    for (std::string &token : tokens)
      token = replaceText(token, literal, regex.get(), content);
  }

private:
  std::string literal;
  std::unique_ptr<Regex> regex;
  std::string content;
};

/// Runs of "<0xNN>" tokens as the bytes they name: valid UTF-8 as text,
/// otherwise one U+FFFD per byte token (as Hugging Face does).
class ByteFallbackDecoder : public Decoder {
public:
  void apply(std::vector<std::string> &tokens, bool raw) const override {
    std::vector<std::string> out;
    std::string run;
    size_t count = 0;
    auto flush = [&] {
      if (count == 0)
        return;
      if (raw || isValidUtf8(run)) {
        out.push_back(run);
      } else {
        for (size_t i = 0; i < count; ++i)
          out.emplace_back(kReplacement);
      }
      run.clear();
      count = 0;
    };
    for (std::string &token : tokens) {
      int byte = byteOf(token);
      if (byte < 0) {
        flush();
        out.push_back(std::move(token));
        continue;
      }
      run += static_cast<char>(byte);
      ++count;
    }
    flush();
    tokens = std::move(out);
  }

  /// The byte a "<0xNN>" token names, or -1.
  static int byteOf(const std::string &token) {
    if (token.size() != 6 || token.compare(0, 3, "<0x") || token[5] != '>')
      return -1;
    int value = 0;
    for (int i = 3; i < 5; ++i) {
      char c = token[i];
      int digit = c >= '0' && c <= '9'   ? c - '0'
                  : c >= 'A' && c <= 'F' ? c - 'A' + 10
                  : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                         : -1;
      if (digit < 0)
        return -1;
      value = value * 16 + digit;
    }
    return value;
  }
};

class FuseDecoder : public Decoder {
public:
  void apply(std::vector<std::string> &tokens, bool) const override {
    std::string all;
    for (const std::string &token : tokens)
      all += token;
    tokens.assign(1, std::move(all));
  }
};

/// Up to `start` leading and `stop` trailing `content` characters off
/// every token.
class StripDecoder : public Decoder {
public:
  StripDecoder(uint32_t content, size_t start, size_t stop)
      : content(content), start(start), stop(stop) {}
  void apply(std::vector<std::string> &tokens, bool) const override {
    for (std::string &token : tokens) {
      auto chars = characters(token);
      size_t begin = 0, end = chars.size();
      while (begin < end && begin < start && chars[begin].first == content)
        ++begin;
      while (end > begin && chars.size() - end < stop &&
             chars[end - 1].first == content)
        --end;
      std::string kept;
      for (size_t i = begin; i < end; ++i)
        kept += chars[i].second;
      token = std::move(kept);
    }
  }

private:
  uint32_t content;
  size_t start, stop;
};

/// `replacement` back to spaces; in the first token it is dropped when a
/// prefix was prepended on encode.
class MetaspaceDecoder : public Decoder {
public:
  MetaspaceDecoder(std::string replacement, bool prepended)
      : replacement(std::move(replacement)), prepended(prepended) {}
  void apply(std::vector<std::string> &tokens, bool) const override {
    for (size_t i = 0; i < tokens.size(); ++i)
      tokens[i] = replaceText(tokens[i], replacement, nullptr,
                              i == 0 && prepended ? "" : " ");
  }

private:
  std::string replacement;
  bool prepended;
};

class SequenceDecoder : public Decoder {
public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> steps)
      : steps(std::move(steps)) {}
  void apply(std::vector<std::string> &tokens, bool raw) const override {
    for (const auto &step : steps)
      step->apply(tokens, raw);
  }

private:
  std::vector<std::unique_ptr<Decoder>> steps;
};

} // namespace

std::unique_ptr<Decoder> parseDecoder(const Node &node) {
  std::string type = node.type();
  if (type == "ByteLevel")
    return std::make_unique<ByteLevelDecoder>();
  if (type == "ByteFallback")
    return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse")
    return std::make_unique<FuseDecoder>();
  if (type == "Replace") {
    std::string literal;
    std::unique_ptr<Regex> regex;
    readReplacePattern(node.at("pattern"), literal, regex);
    return std::make_unique<ReplaceDecoder>(
        std::move(literal), std::move(regex), node.at("content").string());
  }
  if (type == "Strip") {
    Node content = node.at("content");
    auto chars = characters(content.string());
    if (chars.size() != 1)
      content.fail("expected one character");
    int64_t start = node.integerOr("start", 0), stop = node.integerOr("stop", 0);
    if (start < 0 || stop < 0)
      node.fail("start and stop must not be negative");
    return std::make_unique<StripDecoder>(chars[0].first, size_t(start),
                                          size_t(stop));
  }
  if (type == "Metaspace") {
    std::string scheme = node.stringOr(
        "prepend_scheme", node.boolOr("add_prefix_space", true) ? "always"
                                                                : "never");
    return std::make_unique<MetaspaceDecoder>(
        node.stringOr("replacement", "\xE2\x96\x81"), scheme != "never");
  }
  if (type == "Sequence")
    return std::make_unique<SequenceDecoder>(
        parseEach<Decoder>(node, "decoders", parseDecoder));
  node.at("type").fail("decoder type '" + type + "' is not supported");
}

} // namespace coil::tokenizer
