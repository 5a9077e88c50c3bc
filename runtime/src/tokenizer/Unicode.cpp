//===- Unicode.cpp - UTF-8, normal forms and byte-level text ------*- C++ -*-===//

#include "runtime/src/tokenizer/Unicode.h"

#include <utf8proc.h>

#include <array>
#include <cstdlib>
#include <memory>

namespace coil::tokenizer {

size_t validSequenceLength(std::string_view text, size_t pos,
                           bool *incomplete) {
  if (incomplete)
    *incomplete = false;
  auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  uint8_t b0 = byte(pos);
  if (b0 < 0x80)
    return 1;
  size_t length;
  uint8_t lo = 0x80, hi = 0xBF; // the range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3;
    if (b0 == 0xE0)
      lo = 0xA0; // no overlong forms
    if (b0 == 0xED)
      hi = 0x9F; // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4;
    if (b0 == 0xF0)
      lo = 0x90;
    if (b0 == 0xF4)
      hi = 0x8F; // nothing above U+10FFFF
  } else {
    return 0;
  }
  for (size_t i = 1; i < length; ++i) {
    if (pos + i >= text.size()) {
      if (incomplete)
        *incomplete = true;
      return 0;
    }
    uint8_t b = byte(pos + i);
    if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF))
      return 0;
  }
  return length;
}

uint32_t decodeCodePoint(std::string_view text, size_t pos, size_t length) {
  auto byte = [&](size_t i) { return static_cast<uint8_t>(text[pos + i]); };
  switch (length) {
  case 1:
    return byte(0);
  case 2:
    return (uint32_t(byte(0) & 0x1F) << 6) | (byte(1) & 0x3F);
  case 3:
    return (uint32_t(byte(0) & 0x0F) << 12) | (uint32_t(byte(1) & 0x3F) << 6) |
           (byte(2) & 0x3F);
  default:
    return (uint32_t(byte(0) & 0x07) << 18) |
           (uint32_t(byte(1) & 0x3F) << 12) | (uint32_t(byte(2) & 0x3F) << 6) |
           (byte(3) & 0x3F);
  }
}

uint32_t codePointAt(std::string_view text, size_t pos, size_t &length) {
  length = validSequenceLength(text, pos);
  if (length == 0) {
    length = 1;
    return static_cast<unsigned char>(text[pos]);
  }
  return decodeCodePoint(text, pos, length);
}

uint32_t codePointBefore(std::string_view text, size_t end, size_t &start) {
  start = end - 1;
  while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80)
    --start;
  size_t length = 0;
  uint32_t cp = codePointAt(text, start, length);
  if (start + length != end) { // not one sequence: the last byte alone
    start = end - 1;
    return static_cast<unsigned char>(text[start]);
  }
  return cp;
}

bool isValidUtf8(std::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    size_t n = validSequenceLength(text, pos);
    if (n == 0)
      return false;
    pos += n;
  }
  return true;
}

void appendCodePoint(std::string &out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string toValidUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    if (size_t n = validSequenceLength(text, pos)) {
      out.append(text.substr(pos, n));
      pos += n;
      continue;
    }
    // A maximal invalid subpart: the lead byte and the continuation bytes
    // that could still have belonged to a valid sequence after it.
    size_t end = pos + 1;
    while (end < text.size() && end - pos < 4) {
      std::string_view prefix = text.substr(pos, end - pos + 1);
      bool incomplete = false;
      if (validSequenceLength(prefix, 0, &incomplete) != 0 || !incomplete)
        break;
      ++end;
    }
    out += kReplacement;
    pos = end;
  }
  return out;
}

namespace {

/// Runs utf8proc_map with `options` over `text` of explicit length, so
/// that NUL characters are ordinary characters.
std::string mapWith(std::string_view text, int options) {
  utf8proc_uint8_t *mapped = nullptr;
  utf8proc_ssize_t length =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t *>(text.data()),
                   static_cast<utf8proc_ssize_t>(text.size()), &mapped,
                   static_cast<utf8proc_option_t>(options));
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owner(mapped,
                                                                &std::free);
  if (length < 0)
    return std::string(text); // only for invalid UTF-8, which never arrives
  return std::string(reinterpret_cast<const char *>(mapped),
                     static_cast<size_t>(length));
}

} // namespace

std::string normalize(std::string_view text, NormalForm form) {
  int options = UTF8PROC_STABLE;
  switch (form) {
  case NormalForm::NFC:
    options |= UTF8PROC_COMPOSE;
    break;
  case NormalForm::NFD:
    options |= UTF8PROC_DECOMPOSE;
    break;
  case NormalForm::NFKC:
    options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
    break;
  case NormalForm::NFKD:
    options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
    break;
  }
  return mapWith(text, options);
}

std::string lowercase(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0, n = 0; pos < text.size(); pos += n)
    appendCodePoint(out, static_cast<uint32_t>(utf8proc_tolower(
                             codePointAt(text, pos, n))));
  return out;
}

bool isWhitespace(uint32_t cp) {
  switch (cp) {
  case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20:
  case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
  case 0x202F: case 0x205F: case 0x3000:
    return true;
  default:
    return cp >= 0x2000 && cp <= 0x200A;
  }
}

namespace {

/// GPT-2's alphabet: printable Latin-1 bytes stand for themselves, the
/// others for U+0100 onwards in byte order.
struct ByteAlphabet {
  static constexpr uint32_t kChars = 256 + 68;
  std::array<uint32_t, 256> charOf{};
  std::array<int, kChars> byteOf{};
  ByteAlphabet() {
    byteOf.fill(-1);
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) ||
                       (b >= 0xAE && b <= 0xFF);
      charOf[b] = printable ? static_cast<uint32_t>(b) : next++;
      byteOf[charOf[b]] = b;
    }
  }
};

const ByteAlphabet &alphabet() {
  static const ByteAlphabet table;
  return table;
}

} // namespace

uint32_t byteToChar(uint8_t b) { return alphabet().charOf[b]; }

int charToByte(uint32_t cp) {
  return cp < ByteAlphabet::kChars ? alphabet().byteOf[cp] : -1;
}

} // namespace coil::tokenizer
