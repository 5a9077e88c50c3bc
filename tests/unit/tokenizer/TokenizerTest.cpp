//===- TokenizerTest.cpp - tokenizer.json: encode, decode, stream -*- C++ -*-===//

#include "runtime/src/tokenizer/Tokenizer.h"
#include "tests/unit/tokenizer/TokenizerFiles.h"

#include "coil/coil.h"
#include "coil/coil.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

using coil::tokenizer::TextStream;
using coil::tokenizer::Tokenizer;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::unique_ptr<Tokenizer> parse(const json &file) {
  std::unique_ptr<Tokenizer> t;
  std::string problem = Tokenizer::parse(file.dump(), "tokenizer.json", t);
  EXPECT_EQ(problem, "");
  return t;
}

/// The error message of parsing `text`.
std::string parseError(const std::string &text) {
  std::unique_ptr<Tokenizer> t;
  std::string problem = Tokenizer::parse(text, "tokenizer.json", t);
  EXPECT_EQ(t, nullptr);
  return problem;
}

std::vector<int32_t> encode(const Tokenizer &t, const std::string &text,
                            bool special = false) {
  std::vector<int32_t> ids;
  EXPECT_EQ(t.encode(text, special, ids), "");
  return ids;
}

std::string decode(const Tokenizer &t, const std::vector<int32_t> &ids,
                   bool skip = false) {
  std::string text;
  EXPECT_EQ(t.decode(ids.data(), ids.size(), skip, text), "");
  return text;
}

/// The token strings of `ids`.
std::vector<std::string> tokens(const Tokenizer &t,
                                const std::vector<int32_t> &ids) {
  std::vector<std::string> out;
  for (int32_t id : ids)
    out.push_back(t.tokenText(id));
  return out;
}

/// A byte-level tokenizer with exactly `merges` over the 256 bytes.
json byteLevelWith(const std::vector<std::string> &merges) {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b)
    vocab[coil::testing::byteChar(b)] = b;
  for (const std::string &m : merges) {
    std::string joined = m;
    joined.erase(joined.find(' '), 1);
    vocab[joined] = vocab.size();
  }
  return {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}},
          {"pre_tokenizer",
           {{"type", "ByteLevel"}, {"add_prefix_space", false}}},
          {"decoder", {{"type", "ByteLevel"}}}};
}

const std::string kSpace = "\xE2\x96\x81"; // ▁
const std::string kG = "\xC4\xA0";         // Ġ, the byte-level space

} // namespace

TEST(TokenizerTest, MergesApplyLowestRankFirst) {
  auto t = parse(byteLevelWith({"a b", "b c"}));
  EXPECT_EQ(tokens(*t, encode(*t, "abc")),
            (std::vector<std::string>{"ab", "c"}));
  t = parse(byteLevelWith({"b c", "a b"}));
  EXPECT_EQ(tokens(*t, encode(*t, "abc")),
            (std::vector<std::string>{"a", "bc"}));
  // Equal pairs merge leftmost first: "aaa" -> "aa" "a".
  t = parse(byteLevelWith({"a a"}));
  EXPECT_EQ(tokens(*t, encode(*t, "aaa")),
            (std::vector<std::string>{"aa", "a"}));
  // A merge result merges again.
  t = parse(byteLevelWith({"h e", "l l", "he ll", "hell o", kG + " w"}));
  EXPECT_EQ(tokens(*t, encode(*t, "hello world")),
            (std::vector<std::string>{"hello", kG + "w", "o", "r", "l", "d"}));
}

TEST(TokenizerTest, ByteLevelSplitsWithGpt2PatternAndRoundTrips) {
  auto t = parse(byteLevelWith({}));
  // "don't", digits and punctuation runs are separate pieces; no merge
  // crosses them (here every piece is single bytes anyway, so the ids
  // are the bytes).
  std::string text = "I don't  have 42 \xE2\x82\xAC!!\n\tok";
  std::vector<int32_t> ids = encode(*t, text);
  ASSERT_EQ(ids.size(), text.size());
  EXPECT_EQ(decode(*t, ids), text);
  EXPECT_EQ(tokens(*t, {ids[0], ids[1]}),
            (std::vector<std::string>{"I", kG}));
}

TEST(TokenizerTest, LearntMergesRoundTripEveryText) {
  for (const json &file : {coil::testing::neoxTokenizer(),
                           coil::testing::llama3Tokenizer()}) {
    auto t = parse(file);
    for (std::string text :
         {std::string("The quick brown fox, they're fast."),
          std::string("  leading and trailing  "), std::string("a\n\n\nb"),
          std::string("Caf\xC3\xA9 \xF0\x9F\x98\x80 12345678 x"),
          std::string("nul\0inside", 10)}) {
      std::vector<int32_t> ids = encode(*t, text);
      EXPECT_LT(ids.size(), text.size() + 1) << text;
      EXPECT_EQ(decode(*t, ids), text);
    }
    // Merges were learnt from "the": it is one token after a space.
    std::vector<int32_t> the = encode(*t, " the");
    EXPECT_EQ(tokens(*t, the), (std::vector<std::string>{kG + "the"}));
  }
}

TEST(TokenizerTest, AddedTokensSplitTheTextFirst) {
  auto t = parse(coil::testing::neoxTokenizer());
  int32_t eos = t->tokenId("<|endoftext|>");
  ASSERT_GE(eos, 0);
  EXPECT_TRUE(t->isSpecial(eos));
  std::vector<int32_t> ids = encode(*t, "Hello<|endoftext|> world");
  auto where = std::find(ids.begin(), ids.end(), eos);
  ASSERT_NE(where, ids.end());
  std::vector<int32_t> before(ids.begin(), where), after(where + 1, ids.end());
  EXPECT_EQ(before, encode(*t, "Hello"));
  EXPECT_EQ(after, encode(*t, " world"));
  EXPECT_EQ(decode(*t, ids), "Hello<|endoftext|> world");
  EXPECT_EQ(decode(*t, ids, /*skip=*/true), "Hello world");
  // The non-special added token is found after normalization and kept on
  // decode even when special tokens are skipped.
  int32_t pad = t->tokenId("<|pad|>");
  EXPECT_FALSE(t->isSpecial(pad));
  EXPECT_EQ(encode(*t, "<|pad|>"), std::vector<int32_t>{pad});
  EXPECT_EQ(decode(*t, {pad, eos}, true), "<|pad|>");
}

TEST(TokenizerTest, AddedTokenFlags) {
  json file = byteLevelWith({});
  file["added_tokens"] = {{{"id", 300}, {"content", "<m>"}, {"lstrip", true},
                           {"rstrip", true}, {"special", true}},
                          {{"id", 301}, {"content", "cat"},
                           {"single_word", true}, {"special", false}}};
  auto t = parse(file);
  // lstrip/rstrip take the spaces around <m> with it.
  std::vector<int32_t> ids = encode(*t, "a  <m>  b");
  EXPECT_EQ(tokens(*t, ids), (std::vector<std::string>{"a", "<m>", "b"}));
  // single_word: "cat" alone, not inside "cats".
  EXPECT_EQ(tokens(*t, encode(*t, "cat")), (std::vector<std::string>{"cat"}));
  EXPECT_EQ(encode(*t, "cats").size(), 4u);
}

TEST(TokenizerTest, NfcNormalizesBeforeTheModel) {
  auto t = parse(coil::testing::neoxTokenizer());
  // e + combining acute is the same text as the composed e-acute.
  EXPECT_EQ(encode(*t, "Cafe\xCC\x81"), encode(*t, "Caf\xC3\xA9"));
}

TEST(TokenizerTest, SentencePieceByteFallbackAndTemplate) {
  auto t = parse(coil::testing::sentencePieceTokenizer());
  // A BOS first with special tokens, "▁" for spaces, bytes for characters
  // the vocabulary lacks (è is one of them).
  std::vector<int32_t> ids = encode(*t, "cr\xC3\xA8me", /*special=*/true);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids[0], 1);
  std::vector<std::string> pieces = tokens(*t, ids);
  EXPECT_NE(std::find(pieces.begin(), pieces.end(), "<0xC3>"), pieces.end());
  EXPECT_NE(std::find(pieces.begin(), pieces.end(), "<0xA8>"), pieces.end());
  EXPECT_EQ(pieces[1].rfind(kSpace, 0), 0u) << pieces[1];
  // Decoding drops the prepended space and turns the bytes back into è.
  EXPECT_EQ(decode(*t, ids, /*skip=*/true), "cr\xC3\xA8me");
  EXPECT_EQ(decode(*t, ids), "<s> cr\xC3\xA8me");
  // A character with no byte tokens either would be <unk>; all 256 exist
  // here, so every text round-trips.
  for (std::string text : {"Hello world", "x  y", "\xF0\x9F\x98\x80!"})
    EXPECT_EQ(decode(*t, encode(*t, text)), text);
}

TEST(TokenizerTest, UnknownCharactersFuseIntoOneUnk) {
  json file = coil::testing::sentencePieceTokenizer();
  file["model"]["byte_fallback"] = false;
  auto t = parse(file);
  std::vector<int32_t> ids = encode(*t, "\xF0\x9F\x98\x80\xF0\x9F\x98\x81");
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 0), 1);
}

TEST(TokenizerTest, MetaspacePrependsOnlyAtTheStart) {
  json file = coil::testing::sentencePieceTokenizer();
  file["normalizer"] = nullptr;
  file["pre_tokenizer"] = {{"type", "Metaspace"},
                           {"replacement", kSpace},
                           {"prepend_scheme", "first"},
                           {"split", false}};
  file["decoder"] = {{"type", "Sequence"},
                     {"decoders",
                      {{{"type", "Metaspace"},
                        {"replacement", kSpace},
                        {"prepend_scheme", "first"},
                        {"split", false}},
                       {{"type", "ByteFallback"}},
                       {{"type", "Fuse"}}}}};
  auto t = parse(file);
  std::vector<int32_t> ids = encode(*t, "the</s>the");
  std::vector<std::string> pieces = tokens(*t, ids);
  ASSERT_GE(pieces.size(), 3u);
  EXPECT_EQ(pieces.front().rfind(kSpace, 0), 0u);
  EXPECT_NE(pieces.back().rfind(kSpace, 0), 0u) << pieces.back();
  EXPECT_EQ(decode(*t, ids), "the</s>the");
}

TEST(TokenizerTest, InvalidUtf8ReadsAsReplacementCharacters) {
  auto t = parse(byteLevelWith({}));
  std::vector<int32_t> ids = encode(*t, "a\xFF\xC3z");
  EXPECT_EQ(decode(*t, ids), "a\xEF\xBF\xBD\xEF\xBF\xBDz");
  // Decoding ids whose bytes are not UTF-8 replaces them too.
  EXPECT_EQ(decode(*t, {0xE2, 0x82}), "\xEF\xBF\xBD");
}

TEST(TokenizerTest, LongRunsWithoutSpacesTokenize) {
  auto t = parse(coil::testing::neoxTokenizer());
  // One piece of 1 MiB ("thethe..."): merges on a heap, not rescans.
  std::string text;
  while (text.size() < (1u << 20))
    text += "the";
  std::vector<int32_t> ids = encode(*t, text);
  EXPECT_LT(ids.size(), text.size());
  EXPECT_EQ(decode(*t, ids), text);
}

TEST(TokenizerTest, StreamHoldsBackSplitCharacters) {
  auto t = parse(coil::testing::sentencePieceTokenizer());
  // "è€" as byte tokens: nothing is emitted until a character is whole.
  std::vector<int32_t> bytes = {3 + 0xC3, 3 + 0xA8, 3 + 0xE2, 3 + 0x82,
                                3 + 0xAC};
  TextStream stream(*t, false);
  std::vector<std::string> out;
  for (int32_t id : bytes) {
    std::string text;
    ASSERT_EQ(stream.push(id, text), "");
    out.push_back(text);
  }
  EXPECT_EQ(out, (std::vector<std::string>{"", "\xC3\xA8", "", "",
                                           "\xE2\x82\xAC"}));
  // An unfinished character at the end comes out as U+FFFD.
  std::string text;
  ASSERT_EQ(stream.push(3 + 0xE2, text), "");
  EXPECT_EQ(text, "");
  EXPECT_EQ(stream.finish(), "\xEF\xBF\xBD");
}

TEST(TokenizerTest, StreamConcatenatesToTheWholeDecode) {
  for (const json &file : {coil::testing::neoxTokenizer(),
                           coil::testing::sentencePieceTokenizer()}) {
    auto t = parse(file);
    std::vector<int32_t> ids =
        encode(*t, "The dog didn't mind; caf\xC3\xA8 \xF0\x9F\x98\x80 ok.",
               true);
    for (bool skip : {false, true}) {
      TextStream stream(*t, skip);
      std::string all;
      for (int32_t id : ids) {
        std::string text;
        ASSERT_EQ(stream.push(id, text), "");
        all += text;
      }
      all += stream.finish();
      EXPECT_EQ(all, decode(*t, ids, skip));
    }
  }
}

TEST(TokenizerTest, DecodeRefusesIdsOutsideTheVocabulary) {
  auto t = parse(byteLevelWith({}));
  std::string text;
  int32_t ids[] = {65, 999};
  std::string problem = t->decode(ids, 2, false, text);
  EXPECT_NE(problem.find("999"), std::string::npos) << problem;
  EXPECT_NE(problem.find("at 1"), std::string::npos) << problem;
}

TEST(TokenizerTest, BadFilesNameTheKey) {
  auto contains = [](const std::string &message, const std::string &what) {
    return message.find(what) != std::string::npos;
  };
  EXPECT_TRUE(contains(parseError("{\"model\": {"), "tokenizer.json"));
  EXPECT_TRUE(contains(parseError("[]"), "expected an object"));
  EXPECT_TRUE(contains(parseError("{}"), "missing key 'model'"));
  json file = byteLevelWith({"a b"});
  file["model"]["merges"] = {"a q9"};
  std::string m = parseError(file.dump());
  EXPECT_TRUE(contains(m, "model.merges[0]") && contains(m, "q9")) << m;
  file = byteLevelWith({});
  file["model"]["type"] = "Unigram";
  m = parseError(file.dump());
  EXPECT_TRUE(contains(m, "model.type") && contains(m, "Unigram")) << m;
  file = byteLevelWith({});
  file["normalizer"] = {{"type", "Sequence"},
                        {"normalizers", {{{"type", "NFC"}},
                                         {{"type", "BertNormalizer"}}}}};
  m = parseError(file.dump());
  EXPECT_TRUE(contains(m, "normalizer.normalizers[1].type") &&
              contains(m, "BertNormalizer"))
      << m;
  file = byteLevelWith({});
  file["model"]["vocab"]["a"] = "one";
  m = parseError(file.dump());
  EXPECT_TRUE(contains(m, "model.vocab.a") && contains(m, "integer")) << m;
  file = byteLevelWith({});
  file["model"]["dropout"] = 0.1;
  m = parseError(file.dump());
  EXPECT_TRUE(contains(m, "model.dropout")) << m;
  file = byteLevelWith({});
  file["pre_tokenizer"] = {{"type", "Split"},
                           {"pattern", {{"Regex", "(unclosed"}}},
                           {"behavior", "Isolated"}};
  m = parseError(file.dump());
  EXPECT_TRUE(contains(m, "pre_tokenizer.pattern.Regex")) << m;
  // Duplicate keys are refused before any tree is built.
  m = parseError("{\"model\": {}, \"model\": {}}");
  EXPECT_TRUE(contains(m, "model")) << m;
}

//===----------------------------------------------------------------------===//
// Through the C API
//===----------------------------------------------------------------------===//

namespace {

/// A temporary directory holding `file` as tokenizer.json.
struct TokenizerDir {
  explicit TokenizerDir(const json &file) {
    path = fs::temp_directory_path() /
           ("coil-tokenizer-test-" + std::to_string(::getpid()) + "-" +
            std::to_string(counter++));
    fs::create_directories(path);
    std::ofstream(path / "tokenizer.json") << file.dump();
  }
  ~TokenizerDir() { fs::remove_all(path); }
  fs::path path;
  static inline int counter = 0;
};

coil_status_code_t codeOf(coil_status_t *status) {
  coil_status_code_t code = coil_status_code(status);
  coil_status_free(status);
  return code;
}

} // namespace

TEST(TokenizerCApiTest, EncodeDecodeAndStream) {
  TokenizerDir dir(coil::testing::sentencePieceTokenizer());
  coil_tokenizer_t *t = nullptr;
  ASSERT_EQ(codeOf(coil_tokenizer_load(dir.path.c_str(), &t)), COIL_OK);
  EXPECT_EQ(coil_tokenizer_token_id(t, "</s>"), 2);
  EXPECT_EQ(coil_tokenizer_is_special(t, 2), 1);
  EXPECT_GT(coil_tokenizer_vocab_size(t), 259);
  std::string text = "Hello world";
  size_t count = 0;
  // Capacity 0 reports the count.
  EXPECT_EQ(codeOf(coil_tokenizer_encode(t, text.data(), text.size(), 1,
                                         nullptr, 0, &count)),
            COIL_OUT_OF_RANGE);
  ASSERT_GT(count, 1u);
  std::vector<int32_t> ids(count);
  ASSERT_EQ(codeOf(coil_tokenizer_encode(t, text.data(), text.size(), 1,
                                         ids.data(), ids.size(), &count)),
            COIL_OK);
  EXPECT_EQ(ids[0], 1);
  char out[64];
  size_t length = 0;
  ASSERT_EQ(codeOf(coil_tokenizer_decode(t, ids.data(), ids.size(), 1, out,
                                         sizeof(out), &length)),
            COIL_OK);
  EXPECT_EQ(std::string(out, length), text);
  EXPECT_EQ(codeOf(coil_tokenizer_decode(t, ids.data(), ids.size(), 1, out, 3,
                                         &length)),
            COIL_OUT_OF_RANGE);
  int32_t bad = 1 << 30;
  EXPECT_EQ(codeOf(coil_tokenizer_decode(t, &bad, 1, 1, out, sizeof(out),
                                         &length)),
            COIL_OUT_OF_RANGE);

  coil_text_stream_t *stream = nullptr;
  ASSERT_EQ(codeOf(coil_text_stream_create(t, 1, &stream)), COIL_OK);
  std::string streamed;
  for (int32_t id : ids) {
    const char *piece = nullptr;
    size_t n = 0;
    ASSERT_EQ(codeOf(coil_text_stream_push(stream, id, &piece, &n)), COIL_OK);
    streamed.append(piece, n);
  }
  const char *rest = nullptr;
  size_t n = 0;
  ASSERT_EQ(codeOf(coil_text_stream_finish(stream, &rest, &n)), COIL_OK);
  streamed.append(rest, n);
  EXPECT_EQ(streamed, text);
  coil_text_stream_release(stream);
  coil_tokenizer_release(t);
}

TEST(TokenizerCApiTest, CppWrapper) {
  TokenizerDir dir(coil::testing::neoxTokenizer());
  coil::Tokenizer t = coil::Tokenizer::load(dir.path.string());
  std::string text = "Hello world<|endoftext|>";
  std::vector<int32_t> ids = t.encode(text);
  EXPECT_EQ(ids.back(), t.tokenId("<|endoftext|>"));
  EXPECT_TRUE(t.isSpecial(ids.back()));
  EXPECT_EQ(t.decode(ids), text);
  EXPECT_EQ(t.decode(ids, /*skipSpecialTokens=*/true), "Hello world");
  // Longer than the first buffer the wrapper tries.
  std::string longText(5000, 'x');
  EXPECT_EQ(t.decode(t.encode(longText)), longText);
  coil::TextStream stream(t, /*skipSpecialTokens=*/true);
  std::string streamed;
  for (int32_t id : ids)
    streamed += stream.push(id);
  streamed += stream.finish();
  EXPECT_EQ(streamed, "Hello world");
  try {
    t.decode({1 << 30});
    ADD_FAILURE() << "an id outside the vocabulary was decoded";
  } catch (const coil::Error &e) {
    EXPECT_EQ(e.code(), COIL_OUT_OF_RANGE);
  }
  EXPECT_THROW(coil::Tokenizer::load("/nonexistent"), coil::Error);
}

TEST(TokenizerCApiTest, LoadErrors) {
  coil_tokenizer_t *t = nullptr;
  EXPECT_EQ(codeOf(coil_tokenizer_load("/nonexistent/dir", &t)),
            COIL_NOT_FOUND);
  EXPECT_EQ(codeOf(coil_tokenizer_load(nullptr, &t)), COIL_INVALID_ARGUMENT);
  json file = coil::testing::neoxTokenizer();
  file["decoder"] = {{"type", "WordPiece"}};
  TokenizerDir dir(file);
  coil_status_t *status = coil_tokenizer_load(dir.path.c_str(), &t);
  EXPECT_EQ(coil_status_code(status), COIL_BAD_TOKENIZER);
  std::string message = coil_status_message(status);
  EXPECT_NE(message.find("tokenizer.json: decoder.type"), std::string::npos)
      << message;
  coil_status_free(status);
  EXPECT_EQ(t, nullptr);
}

//===----------------------------------------------------------------------===//
// Against Hugging Face's own implementation
//===----------------------------------------------------------------------===//

namespace {

/// Where tokenizers.js lies, if the build found it (tools/test.sh installs
/// it with npm when npm is there).
std::string tokenizersJs() {
  const char *dir = std::getenv("COIL_TOKENIZERS_JS");
  std::string path = dir ? dir : COIL_TOKENIZERS_JS_DEFAULT;
  if (path.empty() || !fs::exists(fs::path(path) / "dist" / "tokenizers.mjs"))
    return "";
  if (std::system("node --version > /dev/null 2>&1") != 0)
    return "";
  return path;
}

std::string readAll(FILE *f) {
  std::string out;
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof(buffer), f)) > 0;)
    out.append(buffer, n);
  return out;
}

} // namespace

TEST(TokenizerCrossCheckTest, MatchesHuggingFaceTokenizersJs) {
  std::string module = tokenizersJs();
  if (module.empty())
    GTEST_SKIP() << "node or @huggingface/tokenizers not found (set "
                    "COIL_TOKENIZERS_JS to its folder)";
  std::vector<std::string> texts = {
      "The quick brown fox jumps over the lazy dog.",
      "They're fast; they'll run anywhere, and we've tested them well!",
      "Hello world<|endoftext|>Hello there",
      "numbers 1 12 123 1234 12345 3.14159 and    four   spaces",
      "Caf\xC3\xA9 cr\xC3\xA8me br\xC3\xBBl\xC3\xA9" "e, na\xC3\xAFve r\xC3\xA9sum\xC3\xA9",
      "Cafe\xCC\x81 (decomposed)",
      "emoji \xF0\x9F\x98\x80\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD and CJK \xE4\xBD\xA0\xE5\xA5\xBD",
      "tabs\tand\nnew\n\nlines \r\n end ",
      "  leading spaces",
      "<s>the</s> the <|pad|> thing",
      "thethethethethethethe",
  };
  for (const auto &[name, file] :
       std::vector<std::pair<std::string, json>>{
           {"neox", coil::testing::neoxTokenizer()},
           {"llama3", coil::testing::llama3Tokenizer()},
           {"sentencepiece", coil::testing::sentencePieceTokenizer()}}) {
    SCOPED_TRACE(name);
    TokenizerDir dir(file);
    std::ofstream(dir.path / "texts.json") << json(texts).dump();
    std::string command = "node " COIL_SOURCE_DIR
                          "/tests/unit/tokenizer/hf_crosscheck.mjs '" +
                          module + "' '" +
                          (dir.path / "tokenizer.json").string() + "' '" +
                          (dir.path / "texts.json").string() + "'";
    FILE *pipe = popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string output = readAll(pipe);
    ASSERT_EQ(pclose(pipe), 0) << output;
    json expected = json::parse(output);
    auto t = parse(file);
    ASSERT_EQ(expected.size(), texts.size());
    for (size_t i = 0; i < texts.size(); ++i) {
      SCOPED_TRACE(texts[i]);
      std::vector<int32_t> ids = encode(*t, texts[i], true);
      EXPECT_EQ(ids, expected[i]["ids"].get<std::vector<int32_t>>());
      EXPECT_EQ(encode(*t, texts[i], false),
                expected[i]["plain"].get<std::vector<int32_t>>());
      EXPECT_EQ(decode(*t, ids, false), expected[i]["text"].get<std::string>());
      EXPECT_EQ(decode(*t, ids, true),
                expected[i]["skipped"].get<std::string>());
    }
  }
}
