//===- TokenizerFuzzer.cpp - fuzz-tokenizer ---------------------*- C++ -*-===//
//
// The first byte chooses what the rest is:
//   even: text, encoded by the test suite's Llama-3-style byte-level and
//         Llama-2-style SentencePiece tokenizers. Byte-level decoding must
//         give the text back (invalid UTF-8 as U+FFFD), and a TextStream
//         fed the ids one by one must give what decoding all of them gives.
//   odd:  a tokenizer.json. Refused with a message, or accepted and then
//         able to encode and decode a fixed text without failing.
//
//===----------------------------------------------------------------------===//

#include "runtime/src/tokenizer/Tokenizer.h"
#include "runtime/src/tokenizer/Unicode.h"
#include "tests/unit/tokenizer/TokenizerFiles.h"

#include <cstdlib>

using coil::tokenizer::TextStream;
using coil::tokenizer::Tokenizer;

namespace {

std::unique_ptr<Tokenizer> build(const nlohmann::json &file) {
  std::unique_ptr<Tokenizer> t;
  if (!Tokenizer::parse(file.dump(), "tokenizer.json", t).empty())
    std::abort();
  return t;
}

/// Checks that streaming `ids` gives what decoding them gives.
void checkStream(const Tokenizer &t, const std::vector<int32_t> &ids,
                 const std::string &whole, bool skipSpecial = false) {
  TextStream stream(t, skipSpecial);
  std::string all, piece;
  for (int32_t id : ids) {
    if (!stream.push(id, piece).empty())
      std::abort();
    all += piece;
  }
  all += stream.finish();
  if (all != whole)
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  std::string_view rest(reinterpret_cast<const char *>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    static const std::unique_ptr<Tokenizer> byteLevel =
        build(coil::testing::llama3Tokenizer());
    static const std::unique_ptr<Tokenizer> sentencePiece =
        build(coil::testing::sentencePieceTokenizer());
    for (const Tokenizer *t : {byteLevel.get(), sentencePiece.get()}) {
      // Without the template and keeping special tokens, byte-level BPE
      // loses nothing.
      std::vector<int32_t> ids;
      if (!t->encode(rest, false, ids).empty())
        std::abort();
      std::string text;
      if (!t->decode(ids.data(), ids.size(), false, text).empty())
        std::abort();
      if (t == byteLevel.get() && text != coil::tokenizer::toValidUtf8(rest))
        std::abort();
      checkStream(*t, ids, text);
      // With the template, skipping special tokens, streaming still
      // matches.
      if (!t->encode(rest, true, ids).empty() ||
          !t->decode(ids.data(), ids.size(), true, text).empty())
        std::abort();
      checkStream(*t, ids, text, true);
    }
    return 0;
  }
  std::unique_ptr<Tokenizer> t;
  std::string problem = Tokenizer::parse(rest, "tokenizer.json", t);
  if (!t) {
    if (problem.empty())
      std::abort();
    return 0;
  }
  std::vector<int32_t> ids;
  if (!t->encode("Hello world, caf\xC3\xA9 123!", true, ids).empty())
    return 0; // a pattern beyond the regex engine's limits: reported
  std::string text;
  (void)t->decode(ids.data(), ids.size(), false, text);
  return 0;
}
