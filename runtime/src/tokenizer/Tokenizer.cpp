//===- Tokenizer.cpp - Text to token ids and back ----------------*- C++ -*-===//

#include "runtime/src/tokenizer/Tokenizer.h"

#include "runtime/src/tokenizer/Bpe.h"
#include "runtime/src/tokenizer/Components.h"
#include "runtime/src/tokenizer/Unicode.h"
#include "runtime/src/weights/FileChecks.h"
#include "runtime/src/weights/JsonCheck.h"

#include <utf8proc.h>

#include <fstream>
#include <map>
#include <sstream>
#include <sys/stat.h>
#include <unordered_map>

namespace coil::tokenizer {
namespace {

/// One entry of "added_tokens".
struct AddedToken {
  int32_t id;
  std::string content;
  bool special, singleWord, lstrip, rstrip, normalized;
};

/// The added tokens to find in text, as a byte trie (leftmost-longest
/// matches, as Hugging Face's Aho-Corasick search finds them).
class AddedTokenTrie {
public:
  void insert(const std::string &content, int32_t token) {
    int32_t node = 0;
    for (unsigned char c : content) {
      auto [it, added] = nodes[node].children.emplace(c, 0);
      if (added) {
        it->second = static_cast<int32_t>(nodes.size());
        nodes.emplace_back();
      }
      node = it->second;
    }
    nodes[node].token = token;
  }

  bool empty() const { return nodes.size() == 1; }

  /// The longest token starting at `pos`: its index in the added list and
  /// its end, or -1.
  int32_t longestAt(std::string_view text, size_t pos, size_t &end) const {
    int32_t node = 0, best = -1;
    for (size_t i = pos; i < text.size(); ++i) {
      auto it = nodes[node].children.find(static_cast<unsigned char>(text[i]));
      if (it == nodes[node].children.end())
        break;
      node = it->second;
      if (nodes[node].token >= 0) {
        best = nodes[node].token;
        end = i + 1;
      }
    }
    return best;
  }

private:
  struct TrieNode {
    std::map<unsigned char, int32_t> children;
    int32_t token = -1;
  };
  std::vector<TrieNode> nodes = std::vector<TrieNode>(1);
};

/// A stretch of the input: text for the model, or an added token.
struct Section {
  std::string text;
  int32_t added = -1; // index into the added tokens, or -1 for text
  bool atStart = false;
};

/// Letters, numbers and '_' (Rust's is_alphanumeric, as single_word
/// reads it).
bool isWordChar(uint32_t cp) {
  if (cp == '_')
    return true;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
  case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL:
  case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
  case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_ND:
  case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
    return true;
  default:
    return false;
  }
}

} // namespace

struct Tokenizer::Impl {
  std::unique_ptr<BpeModel> model;
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> preTokenizer;
  std::unique_ptr<PostProcessor> postProcessor;
  std::unique_ptr<Decoder> decoder;
  std::vector<AddedToken> added;
  std::unordered_map<int32_t, size_t> addedById;
  std::unordered_map<std::string, size_t> addedByContent;
  AddedTokenTrie rawTrie, normalizedTrie;
  int64_t vocabSize = 0;

  /// Splits the text sections of `sections` at the tokens of `trie`.
  void splitAdded(std::vector<Section> &sections,
                  const AddedTokenTrie &trie) const {
    if (trie.empty())
      return;
    std::vector<Section> out;
    for (Section &section : sections) {
      if (section.added >= 0) {
        out.push_back(std::move(section));
        continue;
      }
      std::string_view text = section.text;
      size_t textStart = 0; // where the pending text begins
      size_t pos = 0;
      while (pos < text.size()) {
        size_t end = 0;
        int32_t index = trie.longestAt(text, pos, end);
        if (index >= 0) {
          const AddedToken &token = added[index];
          bool ok = true;
          if (token.singleWord) {
            size_t s = 0, n = 0;
            bool before = pos > 0 && isWordChar(codePointBefore(text, pos, s));
            bool after =
                end < text.size() && isWordChar(codePointAt(text, end, n));
            ok = !before && !after;
          }
          if (ok) {
            size_t begin = pos;
            if (token.lstrip)
              while (begin > textStart) {
                size_t s = 0;
                if (!isWhitespace(codePointBefore(text, begin, s)))
                  break;
                begin = s;
              }
            if (token.rstrip)
              while (end < text.size()) {
                size_t n = 0;
                if (!isWhitespace(codePointAt(text, end, n)))
                  break;
                end += n;
              }
            if (begin > textStart)
              out.push_back({std::string(text.substr(textStart,
                                                     begin - textStart)),
                             -1, section.atStart && textStart == 0});
            out.push_back({std::string(), index, false});
            pos = textStart = end;
            continue;
          }
        }
        size_t n = 0;
        codePointAt(text, pos, n);
        pos += n;
      }
      if (textStart < text.size())
        out.push_back({std::string(text.substr(textStart)), -1,
                       section.atStart && textStart == 0});
    }
    sections = std::move(out);
  }

  std::string tokensOf(const int32_t *ids, size_t count, bool skipSpecial,
                       std::vector<std::string> &tokens) const {
    tokens.clear();
    tokens.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      int32_t id = ids[i];
      if (auto it = addedById.find(id); it != addedById.end()) {
        const AddedToken &token = added[it->second];
        if (!(skipSpecial && token.special))
          tokens.push_back(token.content);
        continue;
      }
      const std::string *token = model->tokenOf(id);
      if (!token)
        return "token id " + std::to_string(id) + " (at " +
               std::to_string(i) + ") is not in the vocabulary of " +
               std::to_string(vocabSize);
      tokens.push_back(*token);
    }
    return "";
  }

  std::string decode(const int32_t *ids, size_t count, bool skipSpecial,
                     bool raw, std::string &text) const {
    text.clear();
    std::vector<std::string> tokens;
    if (std::string problem = tokensOf(ids, count, skipSpecial, tokens);
        !problem.empty())
      return problem;
    if (decoder)
      decoder->apply(tokens, raw);
    for (const std::string &token : tokens)
      text += token;
    return "";
  }
};

Tokenizer::Tokenizer() : impl(std::make_unique<Impl>()) {}
Tokenizer::~Tokenizer() = default;

std::string Tokenizer::fileOf(const std::string &path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    return path + (path.back() == '/' ? "" : "/") + "tokenizer.json";
  return path;
}

std::string Tokenizer::load(const std::string &path,
                            std::unique_ptr<Tokenizer> &out) {
  out.reset();
  std::string file = fileOf(path);
  if (std::string problem =
          weights::checkInputFile(file, weights::kMaxJsonFileBytes);
      !problem.empty())
    return problem;
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in && !in.eof())
    return "cannot read " + file;
  return parse(text.str(), file, out);
}

std::string Tokenizer::parse(std::string_view json, const std::string &fileName,
                             std::unique_ptr<Tokenizer> &out) {
  out.reset();
  if (std::string problem = weights::checkJsonStructure(json); !problem.empty())
    return fileName + ": " + problem;
  nlohmann::json root = nlohmann::json::parse(json, nullptr, false);
  if (root.is_discarded())
    return fileName + ": not valid JSON";
  std::unique_ptr<Tokenizer> tokenizer(new Tokenizer());
  Impl &t = *tokenizer->impl;
  try {
    Node top(root, "");
    if (!root.is_object())
      top.fail("expected an object");
    t.model = BpeModel::parse(top.at("model"));
    t.vocabSize = t.model->size();
    if (std::optional<Node> list = top.find("added_tokens")) {
      for (size_t i = 0; i < list->size(); ++i) {
        Node entry = (*list)[i];
        AddedToken token;
        token.id = entry.at("id").id();
        token.content = entry.at("content").string();
        if (token.content.empty())
          entry.at("content").fail("an added token must not be empty");
        token.special = entry.boolOr("special", false);
        token.singleWord = entry.boolOr("single_word", false);
        token.lstrip = entry.boolOr("lstrip", false);
        token.rstrip = entry.boolOr("rstrip", false);
        token.normalized = entry.boolOr("normalized", !token.special);
        if (t.addedById.count(token.id))
          entry.at("id").fail("id " + std::to_string(token.id) +
                              " is added twice");
        if (const std::string *modelToken = t.model->tokenOf(token.id);
            modelToken && *modelToken != token.content)
          entry.at("id").fail("id " + std::to_string(token.id) +
                              " is model token '" + *modelToken + "'");
        size_t index = t.added.size();
        t.addedById[token.id] = index;
        t.addedByContent.emplace(token.content, index);
        (token.normalized ? t.normalizedTrie : t.rawTrie)
            .insert(token.content, static_cast<int32_t>(index));
        t.vocabSize = std::max<int64_t>(t.vocabSize, int64_t(token.id) + 1);
        t.added.push_back(std::move(token));
      }
    }
    auto component = [&](const char *key) -> std::optional<Node> {
      std::optional<Node> n = top.find(key);
      if (!n || n->isNull())
        return std::nullopt;
      return n;
    };
    if (auto n = component("normalizer"))
      t.normalizer = parseNormalizer(*n);
    if (auto n = component("pre_tokenizer"))
      t.preTokenizer = parsePreTokenizer(*n);
    if (auto n = component("post_processor"))
      t.postProcessor = parsePostProcessor(*n);
    if (auto n = component("decoder"))
      t.decoder = parseDecoder(*n);
    top.refuseUnless("truncation", nullptr, "truncation on encode");
    top.refuseUnless("padding", nullptr, "padding on encode");
  } catch (const FormatError &e) {
    return fileName + ": " + e.what();
  } catch (const nlohmann::json::exception &e) {
    return fileName + ": " + e.what();
  }
  out = std::move(tokenizer);
  return "";
}

std::string Tokenizer::encode(std::string_view input, bool addSpecialTokens,
                              std::vector<int32_t> &ids) const {
  ids.clear();
  const Impl &t = *impl;
  std::vector<Section> sections{{toValidUtf8(input), -1, true}};
  try {
    t.splitAdded(sections, t.rawTrie);
    if (t.normalizer)
      for (Section &section : sections)
        if (section.added < 0)
          section.text = t.normalizer->apply(std::move(section.text));
    t.splitAdded(sections, t.normalizedTrie);
    std::vector<Piece> pieces;
    for (Section &section : sections) {
      if (section.added >= 0) {
        ids.push_back(t.added[section.added].id);
        continue;
      }
      if (section.text.empty())
        continue;
      pieces.assign(1, Piece{std::move(section.text), section.atStart});
      if (t.preTokenizer)
        t.preTokenizer->apply(pieces);
      for (const Piece &piece : pieces) {
        // A piece that is an added token the pre-tokenizer made (e.g. a
        // byte-level form) is not looked for again: Hugging Face does not.
        t.model->tokenize(piece.text, ids);
      }
    }
  } catch (const FormatError &e) {
    ids.clear();
    return e.what();
  }
  if (addSpecialTokens && t.postProcessor)
    t.postProcessor->apply(ids);
  return "";
}

std::string Tokenizer::decode(const int32_t *ids, size_t count,
                              bool skipSpecialTokens, std::string &text) const {
  return impl->decode(ids, count, skipSpecialTokens, /*raw=*/false, text);
}

std::string Tokenizer::decodeBytes(const int32_t *ids, size_t count,
                                   bool skipSpecialTokens,
                                   std::string &bytes) const {
  return impl->decode(ids, count, skipSpecialTokens, /*raw=*/true, bytes);
}

int64_t Tokenizer::vocabSize() const { return impl->vocabSize; }

int32_t Tokenizer::tokenId(std::string_view token) const {
  if (auto it = impl->addedByContent.find(std::string(token));
      it != impl->addedByContent.end())
    return impl->added[it->second].id;
  return impl->model->idOf(token);
}

std::string Tokenizer::tokenText(int32_t id) const {
  if (auto it = impl->addedById.find(id); it != impl->addedById.end())
    return impl->added[it->second].content;
  const std::string *token = impl->model->tokenOf(id);
  return token ? *token : std::string();
}

bool Tokenizer::isSpecial(int32_t id) const {
  auto it = impl->addedById.find(id);
  return it != impl->addedById.end() && impl->added[it->second].special;
}

//===----------------------------------------------------------------------===//
// TextStream
//===----------------------------------------------------------------------===//

namespace {
/// Ids of context a new id is decoded after: enough for every decoder's
/// look-behind (only the first token is treated differently). The window
/// grows to twice this and is then cut back, so its own bytes are decoded
/// again only every kStreamWindow ids.
constexpr size_t kStreamWindow = 4;
} // namespace

TextStream::TextStream(const Tokenizer &tokenizer, bool skipSpecialTokens)
    : tokenizer(tokenizer), skipSpecial(skipSpecialTokens) {}

std::string TextStream::push(int32_t id, std::string &text) {
  text.clear();
  std::string after;
  window.push_back(id);
  if (std::string problem = tokenizer.decodeBytes(window.data(), window.size(),
                                                  skipSpecial, after);
      !problem.empty()) {
    window.pop_back();
    return problem;
  }
  size_t common = 0;
  while (common < windowBytes.size() && common < after.size() &&
         windowBytes[common] == after[common])
    ++common;
  pending.append(after, common, std::string::npos);
  windowBytes = std::move(after);
  if (window.size() >= 2 * kStreamWindow) {
    window.erase(window.begin(), window.begin() + kStreamWindow);
    // The ids kept decoded alone (they all decoded before, so this cannot
    // fail).
    (void)tokenizer.decodeBytes(window.data(), window.size(), skipSpecial,
                                windowBytes);
  }

  // Emit every complete character; keep an unfinished one at the end.
  size_t end = 0;
  while (end < pending.size()) {
    bool incomplete = false;
    size_t n = validSequenceLength(pending, end, &incomplete);
    if (n == 0 && incomplete)
      break;
    end += n ? n : 1;
  }
  text = toValidUtf8(std::string_view(pending).substr(0, end));
  pending.erase(0, end);
  return "";
}

std::string TextStream::finish() {
  std::string rest = toValidUtf8(pending);
  pending.clear();
  window.clear();
  windowBytes.clear();
  return rest;
}

} // namespace coil::tokenizer
