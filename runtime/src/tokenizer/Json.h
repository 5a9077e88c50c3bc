//===- Json.h - Located reads of tokenizer.json ------------------*- C++ -*-===//
//
// A view of one JSON value with its path in the file ("model.merges[3]"),
// so every error names the file and the key. Reads throw FormatError, which
// the tokenizer's loader turns into its message.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_RUNTIME_TOKENIZER_JSON_H
#define COIL_RUNTIME_TOKENIZER_JSON_H

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace coil::tokenizer {

/// A tokenizer.json that cannot be used; the message names where.
class FormatError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// One value of the file and where it is.
class Node {
public:
  Node(const nlohmann::json &value, std::string path)
      : value(value), where(std::move(path)) {}

  const nlohmann::json &json() const { return value; }
  const std::string &path() const { return where; }
  bool isNull() const { return value.is_null(); }

  /// Throws FormatError "<path>: <problem>".
  [[noreturn]] void fail(const std::string &problem) const {
    throw FormatError(where + ": " + problem);
  }

  /// Member `key`, which must exist.
  Node at(const std::string &key) const {
    if (!value.is_object())
      fail("expected an object");
    auto it = value.find(key);
    if (it == value.end())
      fail("missing key '" + key + "'");
    return Node(*it, child(key));
  }

  /// Member `key`, or null when absent (or when this is not an object).
  std::optional<Node> find(const std::string &key) const {
    if (!value.is_object())
      return std::nullopt;
    auto it = value.find(key);
    if (it == value.end())
      return std::nullopt;
    return Node(*it, child(key));
  }

  /// Element `i` of an array.
  Node operator[](size_t i) const {
    return Node(value[i], where + "[" + std::to_string(i) + "]");
  }

  size_t size() const {
    if (!value.is_array())
      fail("expected an array");
    return value.size();
  }

  std::string string() const {
    if (!value.is_string())
      fail("expected a string");
    return value.get<std::string>();
  }

  bool boolean() const {
    if (!value.is_boolean())
      fail("expected true or false");
    return value.get<bool>();
  }

  int64_t integer() const {
    if (!value.is_number_integer())
      fail("expected an integer");
    return value.get<int64_t>();
  }

  /// A token id: an integer in [0, 2^31).
  int32_t id() const {
    int64_t v = integer();
    if (v < 0 || v > INT32_MAX)
      fail("token id " + std::to_string(v) + " is out of range");
    return static_cast<int32_t>(v);
  }

  /// Member `key` as a string/bool/integer, or `otherwise` when absent or
  /// null.
  std::string stringOr(const std::string &key, std::string otherwise) const {
    std::optional<Node> n = find(key);
    return n && !n->isNull() ? n->string() : otherwise;
  }
  bool boolOr(const std::string &key, bool otherwise) const {
    std::optional<Node> n = find(key);
    return n && !n->isNull() ? n->boolean() : otherwise;
  }
  int64_t integerOr(const std::string &key, int64_t otherwise) const {
    std::optional<Node> n = find(key);
    return n && !n->isNull() ? n->integer() : otherwise;
  }

  /// The "type" member of a component.
  std::string type() const { return at("type").string(); }

  /// Fails naming `key` unless it is absent, null, or `allowed`.
  void refuseUnless(const std::string &key, const nlohmann::json &allowed,
                    const std::string &why) const {
    std::optional<Node> n = find(key);
    if (n && !n->isNull() && n->json() != allowed)
      n->fail("not supported: " + why);
  }

private:
  std::string child(const std::string &key) const {
    return where.empty() ? key : where + "." + key;
  }

  const nlohmann::json &value;
  std::string where;
};

} // namespace coil::tokenizer

#endif // COIL_RUNTIME_TOKENIZER_JSON_H
