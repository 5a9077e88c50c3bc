//===- TokenizerFiles.h - tokenizer.json files for the tests -----*- C++ -*-===//
//
// Writes the kinds of tokenizer.json the runtime reads, with merges learnt
// from a small corpus by a plain BPE trainer (so the files have hundreds of
// merges of real text, as checkpoints do): GPT-NeoX-style byte-level BPE,
// Llama-3-style (a Split pattern, ignore_merges, a BOS template) and
// Llama-2-style SentencePiece BPE with byte fallback. Written here, not by
// the code under test: the byte alphabet is GPT-2's, spelled out again.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_TESTS_UNIT_TOKENIZER_TOKENIZERFILES_H
#define COIL_TESTS_UNIT_TOKENIZER_TOKENIZERFILES_H

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace coil::testing {

/// A corpus of English with digits, punctuation, contractions and a few
/// accented words.
inline const char *kCorpus =
    "The quick brown fox jumps over the lazy dog. The dog didn't mind; it "
    "was sleeping in the sun, dreaming of 1234 bones and 56 sticks. "
    "Tokenizers split text into pieces: words, numbers, and punctuation. "
    "They're fast, they'll run anywhere, and we've tested them well. "
    "Caf\xC3\xA9 cr\xC3\xA8me br\xC3\xBBl\xC3\xA9" "e is a dessert; the na\xC3\xAFve "
    "reader reads r\xC3\xA9sum\xC3\xA9s. Hello world! Hello there, world. "
    "the the the then there these those this that thing things thinking";

/// GPT-2's byte alphabet: printable Latin-1 bytes as themselves, the rest
/// as U+0100 onwards.
inline std::string byteChar(int b) {
  static const std::vector<uint32_t> table = [] {
    std::vector<uint32_t> t(256);
    uint32_t next = 256;
    for (int i = 0; i < 256; ++i) {
      bool printable = (i >= 33 && i <= 126) || (i >= 161 && i <= 172) ||
                       (i >= 174 && i <= 255);
      t[i] = printable ? uint32_t(i) : next++;
    }
    return t;
  }();
  uint32_t cp = table[b];
  std::string s;
  if (cp < 0x80) {
    s += char(cp);
  } else {
    s += char(0xC0 | (cp >> 6));
    s += char(0x80 | (cp & 0x3F));
  }
  return s;
}

/// Splits UTF-8 `text` into characters.
inline std::vector<std::string> characters(const std::string &text) {
  std::vector<std::string> out;
  for (size_t i = 0; i < text.size();) {
    unsigned char c = text[i];
    size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    out.push_back(text.substr(i, n));
    i += n;
  }
  return out;
}

/// Learns `count` merges over `words` (each a list of symbols): the most
/// frequent adjacent pair each time, the smallest pair on ties. Adds every
/// merged symbol to `vocab` (after the ids it has) and returns the merges
/// as "a b" strings.
inline std::vector<std::string>
trainMerges(std::vector<std::vector<std::string>> words, int count,
            nlohmann::json &vocab) {
  std::vector<std::string> merges;
  for (int m = 0; m < count; ++m) {
    std::map<std::pair<std::string, std::string>, int> pairs;
    for (const auto &w : words)
      for (size_t i = 0; i + 1 < w.size(); ++i)
        ++pairs[{w[i], w[i + 1]}];
    if (pairs.empty())
      break;
    auto best = pairs.begin();
    for (auto it = pairs.begin(); it != pairs.end(); ++it)
      if (it->second > best->second)
        best = it;
    if (best->second < 2)
      break;
    auto [a, b] = best->first;
    merges.push_back(a + " " + b);
    if (!vocab.contains(a + b))
      vocab[a + b] = vocab.size();
    for (auto &w : words) {
      std::vector<std::string> next;
      for (size_t i = 0; i < w.size(); ++i) {
        if (i + 1 < w.size() && w[i] == a && w[i + 1] == b) {
          next.push_back(a + b);
          ++i;
        } else {
          next.push_back(w[i]);
        }
      }
      w = std::move(next);
    }
  }
  return merges;
}

/// The corpus's words with their leading space, as byte-level symbols.
inline std::vector<std::vector<std::string>> byteLevelWords() {
  std::vector<std::vector<std::string>> words;
  std::string text = kCorpus;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(' ', pos + 1);
    if (end == std::string::npos)
      end = text.size();
    std::vector<std::string> w;
    for (size_t i = pos; i < end; ++i)
      w.push_back(byteChar(static_cast<unsigned char>(text[i])));
    words.push_back(std::move(w));
    pos = end;
  }
  return words;
}

/// GPT-NeoX / Mamba style: NFC, byte-level with GPT-2's pattern, an
/// <|endoftext|> special token and a non-special <|pad|>.
inline nlohmann::json neoxTokenizer() {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b)
    vocab[byteChar(b)] = b;
  std::vector<std::string> merges = trainMerges(byteLevelWords(), 300, vocab);
  int64_t eos = vocab.size(), pad = eos + 1;
  nlohmann::json file = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens",
       {{{"id", eos}, {"content", "<|endoftext|>"}, {"single_word", false},
         {"lstrip", false}, {"rstrip", false}, {"normalized", false},
         {"special", true}},
        {{"id", pad}, {"content", "<|pad|>"}, {"single_word", false},
         {"lstrip", false}, {"rstrip", false}, {"normalized", true},
         {"special", false}}}},
      {"normalizer", {{"type", "NFC"}}},
      {"pre_tokenizer",
       {{"type", "ByteLevel"}, {"add_prefix_space", false},
        {"trim_offsets", true}, {"use_regex", true}}},
      {"post_processor",
       {{"type", "ByteLevel"}, {"add_prefix_space", false},
        {"trim_offsets", true}, {"use_regex", true}}},
      {"decoder",
       {{"type", "ByteLevel"}, {"add_prefix_space", false},
        {"trim_offsets", true}, {"use_regex", true}}},
      {"model",
       {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr},
        {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr}, {"fuse_unk", false},
        {"byte_fallback", false}, {"vocab", vocab}, {"merges", merges}}}};
  return file;
}

/// Llama 3 style: its Split pattern, byte-level without a pattern,
/// ignore_merges, merges as pairs, and a BOS template.
inline nlohmann::json llama3Tokenizer() {
  nlohmann::json file = neoxTokenizer();
  const char *pattern =
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}|"
      " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  file["normalizer"] = nullptr;
  file["pre_tokenizer"] = {
      {"type", "Sequence"},
      {"pretokenizers",
       {{{"type", "Split"},
         {"pattern", {{"Regex", pattern}}},
         {"behavior", "Isolated"},
         {"invert", false}},
        {{"type", "ByteLevel"}, {"add_prefix_space", false},
         {"trim_offsets", true}, {"use_regex", false}}}}};
  int64_t bos = file["model"]["vocab"].size() + 2;
  file["added_tokens"].push_back({{"id", bos}, {"content", "<|begin_of_text|>"},
                                  {"single_word", false}, {"lstrip", false},
                                  {"rstrip", false}, {"normalized", false},
                                  {"special", true}});
  file["post_processor"] = {
      {"type", "Sequence"},
      {"processors",
       {{{"type", "ByteLevel"}, {"add_prefix_space", true},
         {"trim_offsets", false}, {"use_regex", true}},
        {{"type", "TemplateProcessing"},
         {"single",
          {{{"SpecialToken", {{"id", "<|begin_of_text|>"}, {"type_id", 0}}}},
           {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
         {"pair", nlohmann::json::array()},
         {"special_tokens",
          {{"<|begin_of_text|>",
            {{"id", "<|begin_of_text|>"},
             {"ids", {bos}},
             {"tokens", {"<|begin_of_text|>"}}}}}}}}}};
  nlohmann::json pairs = nlohmann::json::array();
  for (const auto &m : file["model"]["merges"]) {
    std::string s = m.get<std::string>();
    size_t space = s.find(' ');
    pairs.push_back({s.substr(0, space), s.substr(space + 1)});
  }
  file["model"]["merges"] = pairs;
  file["model"]["ignore_merges"] = true;
  return file;
}

/// Llama 2 style SentencePiece BPE: "▁" for spaces (Prepend + Replace
/// normalizers), <0xNN> byte fallback for characters outside the
/// vocabulary, <unk> fused, a <s> template, and the decoder chain that
/// undoes it all.
inline nlohmann::json sentencePieceTokenizer() {
  const std::string space = "\xE2\x96\x81";
  nlohmann::json vocab = {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}};
  char name[8];
  for (int b = 0; b < 256; ++b) {
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    vocab[name] = 3 + b;
  }
  // Characters of the corpus, except a few that must fall back to bytes.
  std::vector<std::vector<std::string>> words;
  std::string text = kCorpus;
  std::vector<std::string> word{space};
  for (const std::string &c : characters(text)) {
    if (c == " ") {
      words.push_back(word);
      word = {space};
      continue;
    }
    word.push_back(c);
  }
  words.push_back(word);
  for (const auto &w : words)
    for (const std::string &c : w)
      if (c != "\xC3\xA8" && c != "\xC3\xBB" && !vocab.contains(c))
        vocab[c] = vocab.size();
  for (auto &w : words)
    w.erase(std::remove_if(w.begin(), w.end(),
                           [&](const std::string &c) {
                             return !vocab.contains(c);
                           }),
            w.end());
  std::vector<std::string> merges = trainMerges(words, 200, vocab);
  return {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens",
       {{{"id", 0}, {"content", "<unk>"}, {"single_word", false},
         {"lstrip", false}, {"rstrip", false}, {"normalized", false},
         {"special", true}},
        {{"id", 1}, {"content", "<s>"}, {"single_word", false},
         {"lstrip", false}, {"rstrip", false}, {"normalized", false},
         {"special", true}},
        {{"id", 2}, {"content", "</s>"}, {"single_word", false},
         {"lstrip", false}, {"rstrip", false}, {"normalized", false},
         {"special", true}}}},
      {"normalizer",
       {{"type", "Sequence"},
        {"normalizers",
         {{{"type", "Prepend"}, {"prepend", space}},
          {{"type", "Replace"},
           {"pattern", {{"String", " "}}},
           {"content", space}}}}}},
      {"pre_tokenizer", nullptr},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single",
         {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
          {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
        {"pair", nlohmann::json::array()},
        {"special_tokens",
         {{"<s>", {{"id", "<s>"}, {"ids", {1}}, {"tokens", {"<s>"}}}}}}}},
      {"decoder",
       {{"type", "Sequence"},
        {"decoders",
         {{{"type", "Replace"},
           {"pattern", {{"String", space}}},
           {"content", " "}},
          {{"type", "ByteFallback"}},
          {{"type", "Fuse"}},
          {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}}},
      {"model",
       {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", "<unk>"},
        {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr}, {"fuse_unk", true},
        {"byte_fallback", true}, {"vocab", vocab}, {"merges", merges}}}};
}

} // namespace coil::testing

#endif // COIL_TESTS_UNIT_TOKENIZER_TOKENIZERFILES_H
