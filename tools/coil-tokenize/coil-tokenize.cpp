//===- coil-tokenize.cpp - Text to token ids and back, scriptable -*- C++ -*-===//
//
//   coil-tokenize MODEL_DIR --text "Hello"     prints 15496,... (one line)
//   coil-tokenize MODEL_DIR < lines.txt        one line of ids per line
//   coil-tokenize MODEL_DIR --decode 1,2,3     prints the text
//
// MODEL_DIR is a checkpoint directory with a tokenizer.json, or the file.
// Built on the runtime's C API (coil/coil.h) alone.
//
//===----------------------------------------------------------------------===//

#include "coil/coil.h"
#include "tools/ToolOptions.h"

#include "llvm/Support/CommandLine.h"

#include <charconv>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

namespace cl = llvm::cl;

namespace {

cl::OptionCategory category("coil-tokenize options");

cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                               cl::desc("<checkpoint dir or tokenizer.json>"),
                               cl::cat(category));
cl::opt<std::string>
    text("text", cl::desc("Encode this text (default: each line of stdin)"),
         cl::value_desc("text"), cl::cat(category));
cl::opt<std::string> decodeIds("decode",
                               cl::desc("Decode these ids (comma-separated)"),
                               cl::value_desc("ids"), cl::cat(category));
cl::opt<bool> noSpecial(
    "no-special-tokens",
    cl::desc("Encode without the post-processor's special tokens (e.g. a "
             "BOS); decode without special tokens"),
    cl::cat(category));

/// Prints `status`'s message and returns true when it is an error.
bool failed(coil_status_t *status) {
  if (!status)
    return false;
  std::fprintf(stderr, "coil-tokenize: %s\n", coil_status_message(status));
  coil_status_free(status);
  return true;
}

/// Prints the ids of `line`, comma-separated, on one line.
bool encodeLine(const coil_tokenizer_t *tokenizer, const std::string &line) {
  size_t count = 0;
  coil_status_t *status = coil_tokenizer_encode(
      tokenizer, line.data(), line.size(), !noSpecial, nullptr, 0, &count);
  if (status && coil_status_code(status) != COIL_OUT_OF_RANGE)
    return !failed(status);
  coil_status_free(status);
  std::vector<int32_t> ids(count);
  if (failed(coil_tokenizer_encode(tokenizer, line.data(), line.size(),
                                   !noSpecial, ids.data(), ids.size(), &count)))
    return false;
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i)
    out += (i ? "," : "") + std::to_string(ids[i]);
  std::cout << out << '\n';
  return true;
}

/// Parses "1,2,3"; on a bad item prints which and returns false.
bool parseIds(const std::string &list, std::vector<int32_t> &ids) {
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t end = list.find(',', pos);
    if (end == std::string::npos)
      end = list.size();
    std::string item = list.substr(pos, end - pos);
    int32_t id = 0;
    auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), id);
    if (item.empty() || ec != std::errc() || ptr != item.data() + item.size() ||
        id < 0) {
      std::fprintf(stderr,
                   "coil-tokenize: --decode: '%s' (item %zu) is not a token "
                   "id\n",
                   item.c_str(), ids.size() + 1);
      return false;
    }
    ids.push_back(id);
    pos = end + 1;
  }
  return true;
}

} // namespace

int main(int argc, char **argv) {
  coil::tools::showOnlyOwnOptions(
      category, {&modelPath, &text, &decodeIds, &noSpecial});
  cl::ParseCommandLineOptions(
      argc, argv,
      "coil-tokenize: a checkpoint's tokenizer, from the command line\n");
  if (text.getNumOccurrences() && decodeIds.getNumOccurrences()) {
    std::fprintf(stderr, "coil-tokenize: give --text or --decode, not both\n");
    return 1;
  }
  std::vector<int32_t> ids;
  if (decodeIds.getNumOccurrences() && !parseIds(decodeIds, ids))
    return 1;

  coil_tokenizer_t *tokenizer = nullptr;
  if (failed(coil_tokenizer_load(modelPath.c_str(), &tokenizer)))
    return 1;
  int status = 0;
  if (decodeIds.getNumOccurrences()) {
    // A buffer that fits most texts; asked again with the size needed.
    std::string out(4096, '\0');
    size_t length = 0;
    coil_status_t *s = coil_tokenizer_decode(tokenizer, ids.data(), ids.size(),
                                             noSpecial, out.data(), out.size(),
                                             &length);
    if (s && coil_status_code(s) == COIL_OUT_OF_RANGE && length >= out.size()) {
      coil_status_free(s);
      out.assign(length + 1, '\0');
      s = coil_tokenizer_decode(tokenizer, ids.data(), ids.size(), noSpecial,
                                out.data(), out.size(), &length);
    }
    if (failed(s))
      status = 1;
    else
      std::cout << out.substr(0, length) << '\n';
  } else if (text.getNumOccurrences()) {
    status = encodeLine(tokenizer, text) ? 0 : 1;
  } else {
    for (std::string line; std::getline(std::cin, line);)
      if (!encodeLine(tokenizer, line)) {
        status = 1;
        break;
      }
  }
  coil_tokenizer_release(tokenizer);
  return status;
}
