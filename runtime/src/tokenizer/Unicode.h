//===- Unicode.h - UTF-8, normal forms and byte-level text --------*- C++ -*-===//
//
// What the tokenizer needs of Unicode: walking UTF-8 (any bytes in, valid
// UTF-8 out), the normal forms (utf8proc), and GPT-2's reversible mapping
// of the 256 byte values onto printable characters.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_RUNTIME_TOKENIZER_UNICODE_H
#define COIL_RUNTIME_TOKENIZER_UNICODE_H

#include <cstdint>
#include <string>
#include <string_view>

namespace coil::tokenizer {

/// The replacement character U+FFFD in UTF-8.
inline constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

/// The length of the valid UTF-8 sequence starting at `text[pos]`, or 0
/// when the bytes there are not one (an overlong form, a surrogate, a code
/// point above U+10FFFF, a stray continuation byte, or a sequence cut
/// short; `incomplete` is set in the last case when the text ends inside
/// an otherwise valid prefix).
size_t validSequenceLength(std::string_view text, size_t pos,
                           bool *incomplete = nullptr);

/// The code point of the valid sequence at `text[pos]` of `length` bytes.
uint32_t decodeCodePoint(std::string_view text, size_t pos, size_t length);

/// The code point at `text[pos]`, its length in bytes in `length`; a byte
/// that starts no valid sequence stands for itself (length 1).
uint32_t codePointAt(std::string_view text, size_t pos, size_t &length);

/// The same for the code point that ends at `end` (> 0); `start` is set to
/// where it begins.
uint32_t codePointBefore(std::string_view text, size_t end, size_t &start);

/// Whether all of `text` is valid UTF-8.
bool isValidUtf8(std::string_view text);

/// Appends the UTF-8 form of `cp` to `out`.
void appendCodePoint(std::string &out, uint32_t cp);

/// `text` with every invalid sequence replaced by U+FFFD, one per maximal
/// invalid subpart (as Rust's String::from_utf8_lossy and Python's
/// errors="replace" do).
std::string toValidUtf8(std::string_view text);

/// The normal forms of Unicode (UAX #15).
enum class NormalForm { NFC, NFD, NFKC, NFKD };

/// `text` (valid UTF-8) in normal form `form`. NUL characters are kept.
std::string normalize(std::string_view text, NormalForm form);

/// `text` (valid UTF-8) with every character lowercased.
std::string lowercase(std::string_view text);

/// Whether `cp` has the White_Space property.
bool isWhitespace(uint32_t cp);

/// The character GPT-2's byte-level alphabet uses for byte `b`.
uint32_t byteToChar(uint8_t b);

/// The byte a byte-level character stands for, or -1 when `cp` is not one.
int charToByte(uint32_t cp);

} // namespace coil::tokenizer

#endif // COIL_RUNTIME_TOKENIZER_UNICODE_H
