//===- JsonCheck.cpp - Structural limits for untrusted JSON -----*- C++ -*-===//

#include "runtime/src/weights/JsonCheck.h"

#include <nlohmann/json.hpp>

#include <set>
#include <vector>

namespace coil::weights {

namespace {

using json = nlohmann::json;

/// A SAX consumer that tracks the open containers, the keys of each open
/// object, and stops at the first problem.
class StructureChecker {
public:
  explicit StructureChecker(int maxDepth) : maxDepth(maxDepth) {}

  /// The first problem found; empty while there is none.
  std::string problem;

  bool null() { return true; }
  bool boolean(bool) { return true; }
  bool number_integer(json::number_integer_t) { return true; }
  bool number_unsigned(json::number_unsigned_t) { return true; }
  bool number_float(json::number_float_t, const json::string_t &) {
    return true;
  }
  bool string(json::string_t &) { return true; }
  bool binary(json::binary_t &) { return true; }
  bool start_object(std::size_t) {
    keys.emplace_back();
    return enter();
  }
  bool key(json::string_t &key) {
    if (!keys.back().names.insert(key).second) {
      problem = "key '" + abbreviate(key) + "' appears twice in one object";
      return false;
    }
    return true;
  }
  bool end_object() {
    keys.pop_back();
    return true;
  }
  bool start_array(std::size_t) {
    keys.emplace_back();
    return enter();
  }
  bool end_array() {
    keys.pop_back();
    return true;
  }
  bool parse_error(std::size_t, const std::string &,
                   const nlohmann::detail::exception &ex) {
    std::string message = ex.what();
    // Drop the "[json.exception.parse_error.101] " prefix.
    size_t close = message.find("] ");
    if (message.rfind("[json.exception.", 0) == 0 && close != std::string::npos)
      message = message.substr(close + 2);
    problem = "not valid JSON (" + abbreviate(message, 240) + ")";
    return false;
  }

private:
  /// One open container; `names` holds an object's keys so far.
  struct Level {
    std::set<std::string> names;
  };

  bool enter() {
    if (static_cast<int>(keys.size()) > maxDepth) {
      problem = "nested deeper than " + std::to_string(maxDepth) + " levels";
      return false;
    }
    return true;
  }

  int maxDepth;
  std::vector<Level> keys;
};

} // namespace

std::string abbreviate(std::string_view text, size_t maxLength) {
  if (text.size() <= maxLength)
    return std::string(text);
  return std::string(text.substr(0, maxLength)) + "...";
}

std::string checkJsonStructure(std::string_view text, int maxDepth) {
  try {
    StructureChecker checker(maxDepth);
    if (json::sax_parse(text.begin(), text.end(), &checker))
      return "";
    return checker.problem.empty() ? "not valid JSON" : checker.problem;
  } catch (const std::exception &e) {
    return std::string("cannot check the JSON structure: ") + e.what();
  }
}

} // namespace coil::weights
