//===- JsonCheck.h - Structural limits for untrusted JSON -------*- C++ -*-===//
//
// Checkpoint files (config.json, model.safetensors.index.json, safetensors
// headers) and compiled-model metadata come from strangers. Before a JSON
// text reaches a parser that builds a tree (some recurse once per nesting
// level), checkJsonStructure reads it with nlohmann/json's iterative SAX
// parser and refuses what no honest file holds: nesting deeper than a bound,
// and an object that repeats a key (every tree parser keeps one of the two
// silently). A repeated key is named; syntax errors give line and column.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_RUNTIME_WEIGHTS_JSONCHECK_H
#define COIL_RUNTIME_WEIGHTS_JSONCHECK_H

#include <string>
#include <string_view>

namespace coil::weights {

/// The deepest nesting of arrays and objects checkJsonStructure accepts.
inline constexpr int kMaxJsonDepth = 64;

/// An empty string when `text` is valid JSON nested at most `maxDepth` deep
/// with no repeated key in any object; otherwise what is wrong ("nested
/// deeper than 64 levels", "key 'x' appears twice in one object", "not valid
/// JSON (syntax error while parsing ... at line 1, column 5 ...)"). Never
/// throws.
std::string checkJsonStructure(std::string_view text,
                               int maxDepth = kMaxJsonDepth);

/// `text` cut to at most `maxLength` bytes (plus "..." when cut), for error
/// messages that quote a name or key taken from a file.
std::string abbreviate(std::string_view text, size_t maxLength = 80);

} // namespace coil::weights

#endif // COIL_RUNTIME_WEIGHTS_JSONCHECK_H
