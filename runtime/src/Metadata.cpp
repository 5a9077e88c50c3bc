//===- Metadata.cpp - The compiled model's JSON description -----*- C++ -*-===//
//
// Validation of `coil_model_metadata` against docs/abi.md. Each check names
// the field by its JSON path and says what was found and what was expected.
// JSON is read with nlohmann/json's non-throwing parser, and every value's
// type is checked before it is read, so no input throws.
//
//===----------------------------------------------------------------------===//

#include "runtime/src/Metadata.h"

#include "runtime/src/weights/JsonCheck.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <limits>
#include <set>

using json = nlohmann::json;

namespace coil::runtime {

const char *elementTypeName(ElementType type) {
  switch (type) {
  case ElementType::F32:
    return "f32";
  case ElementType::F16:
    return "f16";
  case ElementType::BF16:
    return "bf16";
  case ElementType::I32:
    return "i32";
  case ElementType::I8:
    return "i8";
  case ElementType::I4:
    return "i4";
  }
  return "?";
}

size_t elementSize(ElementType type) {
  switch (type) {
  case ElementType::F32:
  case ElementType::I32:
    return 4;
  case ElementType::F16:
  case ElementType::BF16:
    return 2;
  case ElementType::I8:
  case ElementType::I4: // stored two per byte, see storageShape
    return 1;
  }
  return 0;
}

std::string formatShape(const Shape &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      text += ", ";
    switch (shape[i].kind) {
    case Dim::Batch:
      text += "\"B\"";
      break;
    case Dim::Tokens:
      text += "\"T\"";
      break;
    case Dim::Context:
      text += "\"S\"";
      break;
    case Dim::Literal:
      text += std::to_string(shape[i].value);
      break;
    }
  }
  return text + "]";
}

namespace {

/// A JSON value as short text for a message.
std::string describe(const json &value) {
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  constexpr size_t maxLength = 60;
  if (text.size() > maxLength)
    text = text.substr(0, maxLength) + "...";
  return text;
}

/// Reads and checks fields, building messages that name the JSON path.
class Reader {
public:
  /// The error for the field at `path`.
  static Status fail(const std::string &path, const std::string &problem) {
    return Status::error(COIL_BAD_MODEL, "metadata: " + path + ": " + problem);
  }

  /// `object[key]`, which must be present; `found` is set to it.
  static Status member(const json &object, const std::string &path,
                       const char *key, const json *&found) {
    auto it = object.find(key);
    if (it == object.end())
      return fail(path.empty() ? key : path + "." + key, "missing");
    found = &*it;
    return Status::ok();
  }

  /// A non-negative integer that fits int64_t.
  static Status integer(const json &value, const std::string &path,
                        int64_t &out) {
    if (value.is_number_unsigned()) {
      auto raw = value.get<uint64_t>();
      if (raw > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return fail(path, "integer " + describe(value) + " is too large");
      out = static_cast<int64_t>(raw);
      return Status::ok();
    }
    if (value.is_number_integer()) {
      out = value.get<int64_t>();
      if (out < 0)
        return fail(path, "expected a non-negative integer, found " +
                              describe(value));
      return Status::ok();
    }
    return fail(path, "expected an integer, found " + describe(value));
  }

  /// A string, non-empty unless `allowEmpty`.
  static Status string(const json &value, const std::string &path,
                       std::string &out, bool allowEmpty = false) {
    if (!value.is_string())
      return fail(path, "expected a string, found " + describe(value));
    out = value.get<std::string>();
    if (out.empty() && !allowEmpty)
      return fail(path, "expected a non-empty string");
    return Status::ok();
  }

  /// One of "f32", "f16", "bf16", "i32", "i8", "i4".
  static Status elementType(const json &value, const std::string &path,
                            ElementType &out) {
    std::string name;
    if (Status status = string(value, path, name); !status.isOk())
      return status;
    for (ElementType type :
         {ElementType::F32, ElementType::F16, ElementType::BF16,
          ElementType::I32, ElementType::I8, ElementType::I4}) {
      if (name == elementTypeName(type)) {
        out = type;
        return Status::ok();
      }
    }
    return fail(path, "unknown dtype \"" + name +
                          "\" (expected f32, f16, bf16, i32, i8 or i4)");
  }

  /// An array of literals and the symbols "B", "T" and "S".
  static Status shape(const json &value, const std::string &path, Shape &out) {
    if (!value.is_array())
      return fail(path, "expected an array, found " + describe(value));
    out.clear();
    for (size_t i = 0; i < value.size(); ++i) {
      std::string where = path + "[" + std::to_string(i) + "]";
      const json &entry = value[i];
      Dim dim;
      if (entry.is_string()) {
        const auto &symbol = entry.get_ref<const std::string &>();
        if (symbol == "B")
          dim.kind = Dim::Batch;
        else if (symbol == "T")
          dim.kind = Dim::Tokens;
        else if (symbol == "S")
          dim.kind = Dim::Context;
        else
          return fail(where, "unknown symbol " + describe(entry) +
                                 " (expected \"B\", \"T\", \"S\" or an "
                                 "integer)");
      } else if (Status status = integer(entry, where, dim.value);
                 !status.isOk()) {
        return status;
      }
      out.push_back(dim);
    }
    return Status::ok();
  }
};

Status parseTarget(const json &root, Metadata &out) {
  auto it = root.find(COIL_KEY_TARGET);
  if (it == root.end())
    return Status::ok();
  if (!it->is_object())
    return Reader::fail("target", "expected an object, found " + describe(*it));
  const json *field;
  if (Status s = Reader::member(*it, "target", COIL_KEY_CPU, field); !s.isOk())
    return s;
  if (Status s = Reader::string(*field, "target.cpu", out.target.cpu);
      !s.isOk())
    return s;
  if (Status s = Reader::member(*it, "target", COIL_KEY_ISA, field); !s.isOk())
    return s;
  if (Status s = Reader::string(*field, "target.isa", out.target.isa);
      !s.isOk())
    return s;
  if (Status s = Reader::member(*it, "target", COIL_KEY_FEATURES, field);
      !s.isOk())
    return s;
  if (!field->is_array())
    return Reader::fail("target.features",
                        "expected an array, found " + describe(*field));
  for (size_t i = 0; i < field->size(); ++i) {
    std::string name;
    if (Status s = Reader::string(
            (*field)[i], "target.features[" + std::to_string(i) + "]", name);
        !s.isOk())
      return s;
    out.target.features.push_back(std::move(name));
  }
  return Status::ok();
}

Status parseWeights(const json &root, Metadata &out) {
  auto it = root.find(COIL_KEY_WEIGHTS);
  if (it == root.end())
    return Status::ok();
  if (!it->is_array())
    return Reader::fail("weights", "expected an array, found " + describe(*it));
  std::set<std::string> names;
  for (size_t i = 0; i < it->size(); ++i) {
    std::string path = "weights[" + std::to_string(i) + "]";
    const json &entry = (*it)[i];
    if (!entry.is_object())
      return Reader::fail(path, "expected an object, found " + describe(entry));
    WeightSpec weight;
    const json *field;
    if (Status s = Reader::member(entry, path, COIL_KEY_NAME, field); !s.isOk())
      return s;
    if (Status s = Reader::string(*field, path + ".name", weight.name);
        !s.isOk())
      return s;

    if (Status s = Reader::member(entry, path, COIL_KEY_DTYPE, field);
        !s.isOk())
      return s;
    if (Status s = Reader::elementType(*field, path + ".dtype", weight.type);
        !s.isOk())
      return s;
    if (Status s = Reader::member(entry, path, COIL_KEY_SHAPE, field);
        !s.isOk())
      return s;
    Shape shape;
    if (Status s = Reader::shape(*field, path + ".shape", shape); !s.isOk())
      return s;
    uint64_t bytes = elementSize(weight.type);
    for (const Dim &dim : shape) {
      if (dim.kind != Dim::Literal)
        return Reader::fail(path + ".shape",
                            "weight shapes are static, found " +
                                formatShape(shape));
      if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(dim.value),
                                 &bytes) ||
          bytes > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return Reader::fail(path + ".shape",
                            formatShape(shape) + " is too large to address");
      weight.shape.push_back(dim.value);
    }
    if (auto layout = entry.find(COIL_KEY_LAYOUT); layout != entry.end()) {
      std::string lpath = path + ".layout";
      if (!layout->is_object())
        return Reader::fail(lpath,
                            "expected an object, found " + describe(*layout));
      std::string kind;
      if (Status s = Reader::member(*layout, lpath, COIL_KEY_KIND, field);
          !s.isOk())
        return s;
      if (Status s = Reader::string(*field, lpath + ".kind", kind); !s.isOk())
        return s;
      if (kind == COIL_LAYOUT_PANELS) {
        if (Status s = Reader::member(*layout, lpath, COIL_KEY_N0, field);
            !s.isOk())
          return s;
        if (Status s =
                Reader::integer(*field, lpath + ".n0", weight.panelWidth);
            !s.isOk())
          return s;
        if (weight.panelWidth < 1 || weight.panelWidth > 1024)
          return Reader::fail(lpath + ".n0",
                              "expected 1 to 1024, found " + describe(*field));
        if (weight.shape.size() != 2)
          return Reader::fail(lpath, "only a matrix can be packed in panels, "
                                     "found shape " +
                                         formatShape(shape));
        if (auto scale = layout->find(COIL_KEY_SCALE); scale != layout->end()) {
          if (Status s = Reader::string(*scale, lpath + ".scale",
                                        weight.panelScale);
              !s.isOk())
            return s;
        }
        // The padded panels must stay addressable too.
        uint64_t padded = elementSize(weight.type);
        for (int64_t extent : weight.storageShape())
          if (__builtin_mul_overflow(padded, static_cast<uint64_t>(extent),
                                     &padded) ||
              padded >
                  static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
            return Reader::fail(lpath, "the panels of " + formatShape(shape) +
                                           " are too large to address");
      } else if (kind != COIL_LAYOUT_ROWS) {
        return Reader::fail(lpath + ".kind",
                            "expected \"rows\" or \"panels\", found " +
                                describe(*field));
      }
    }
    if (auto part = entry.find(COIL_KEY_PART); part != entry.end()) {
      std::string name;
      if (Status s = Reader::string(*part, path + ".part", name); !s.isOk())
        return s;
      if (name != COIL_PART_SCALES)
        return Reader::fail(path + ".part",
                            "expected \"scales\", found " + describe(*part));
      weight.scalesPart = true;
      if (weight.type != ElementType::F32 || weight.shape.empty() ||
          weight.shape.size() > 2)
        return Reader::fail(path, "the scales of a quantized weight are f32, "
                                  "[N] (int8) or [N, K / 32] (int4)");
    }
    if ((weight.type == ElementType::I8 || weight.type == ElementType::I4) &&
        weight.shape.size() != 2)
      return Reader::fail(path, "a quantized weight is a matrix, found shape " +
                                    formatShape(shape));
    if (weight.type == ElementType::I4 && weight.shape[1] % 32 != 0)
      return Reader::fail(path, "an int4 weight has groups of 32 along K, "
                                "found shape " +
                                    formatShape(shape));
    std::string key = weight.name + "#" + std::to_string(weight.panelWidth) +
                      "#" + weight.panelScale +
                      (weight.scalesPart ? "#scales" : "");
    if (!names.insert(key).second)
      return Reader::fail(
          path + ".name",
          "weight \"" + weight.name + "\" is listed twice" +
              (weight.panelWidth ? " with the same layout" : ""));
    out.weights.push_back(std::move(weight));
  }
  return Status::ok();
}

Status parseStates(const json &root, Metadata &out) {
  auto it = root.find(COIL_KEY_STATES);
  if (it == root.end())
    return Status::ok();
  if (!it->is_array())
    return Reader::fail("states", "expected an array, found " + describe(*it));
  std::set<std::string> names;
  for (size_t i = 0; i < it->size(); ++i) {
    std::string path = "states[" + std::to_string(i) + "]";
    const json &entry = (*it)[i];
    if (!entry.is_object())
      return Reader::fail(path, "expected an object, found " + describe(entry));
    StateSpec state;
    const json *field;
    if (Status s = Reader::member(entry, path, COIL_KEY_NAME, field); !s.isOk())
      return s;
    if (Status s = Reader::string(*field, path + ".name", state.name);
        !s.isOk())
      return s;
    if (!names.insert(state.name).second)
      return Reader::fail(path + ".name",
                          "state \"" + state.name + "\" is listed twice");
    if (Status s = Reader::member(entry, path, COIL_KEY_DTYPE, field);
        !s.isOk())
      return s;
    if (Status s = Reader::elementType(*field, path + ".dtype", state.type);
        !s.isOk())
      return s;
    if (Status s = Reader::member(entry, path, COIL_KEY_SHAPE, field);
        !s.isOk())
      return s;
    if (Status s = Reader::shape(*field, path + ".shape", state.shape);
        !s.isOk())
      return s;
    if (state.shape.empty() || state.shape[0].kind != Dim::Batch)
      return Reader::fail(path + ".shape",
                          "dimension 0 of a state must be \"B\", found " +
                              formatShape(state.shape));
    for (size_t d = 1; d < state.shape.size(); ++d)
      if (state.shape[d].kind == Dim::Batch ||
          state.shape[d].kind == Dim::Tokens)
        return Reader::fail(path + ".shape",
                            "only dimension 0 of a state may be \"B\" and "
                            "none may be \"T\", found " +
                                formatShape(state.shape));
    out.states.push_back(std::move(state));
  }
  return Status::ok();
}

Status parseKernels(const json &root, Metadata &out) {
  const json *kernels;
  if (Status s = Reader::member(root, "", COIL_KEY_KERNELS, kernels); !s.isOk())
    return s;
  if (!kernels->is_array())
    return Reader::fail("kernels",
                        "expected an array, found " + describe(*kernels));
  for (size_t i = 0; i < kernels->size(); ++i) {
    std::string path = "kernels[" + std::to_string(i) + "]";
    const json &entry = (*kernels)[i];
    if (!entry.is_object())
      return Reader::fail(path, "expected an object, found " + describe(entry));
    KernelSpec kernel;
    const json *field;
    if (Status s = Reader::member(entry, path, COIL_KEY_NAME, field); !s.isOk())
      return s;
    if (Status s = Reader::string(*field, path + ".name", kernel.name);
        !s.isOk())
      return s;
    if (Status s = Reader::member(entry, path, COIL_KEY_SYMBOL, field);
        !s.isOk())
      return s;
    if (Status s = Reader::string(*field, path + ".symbol", kernel.symbol);
        !s.isOk())
      return s;
    if (auto calls = entry.find(COIL_KEY_CALLS); calls != entry.end())
      if (Status s = Reader::integer(*calls, path + ".calls", kernel.calls);
          !s.isOk())
        return s;
    out.kernels.push_back(std::move(kernel));
  }
  return Status::ok();
}

/// Checks the tokens or positions buffer at `path`: i32 [B, T] (or [B, 1]
/// outside "prefill").
Status checkTokenShape(const std::string &entryName, const std::string &path,
                       const BufferSpec &buffer) {
  const char *kind = buffer.kind == BufferKind::Tokens ? "tokens" : "positions";
  if (buffer.type != ElementType::I32)
    return Reader::fail(path + ".dtype", std::string(kind) +
                                             " must be i32, found " +
                                             elementTypeName(buffer.type));
  const Shape &shape = buffer.shape;
  // The prefill entries and verify take any number of tokens.
  bool prefill = entryName == COIL_ENTRY_PREFILL ||
                 entryName == COIL_ENTRY_PREFILL_ALL ||
                 entryName == COIL_ENTRY_VERIFY;
  bool ok =
      shape.size() == 2 && shape[0].kind == Dim::Batch &&
      (shape[1].kind == Dim::Tokens ||
       (!prefill && shape[1].kind == Dim::Literal && shape[1].value == 1));
  if (!ok)
    return Reader::fail(path + ".shape", std::string(kind) +
                                             " must have shape [\"B\", \"T\"]" +
                                             (prefill ? "" : " or [\"B\", 1]") +
                                             ", found " + formatShape(shape));
  return Status::ok();
}

Status parseBuffer(const json &entry, const std::string &entryName,
                   const std::string &path, const Metadata &meta,
                   BufferSpec &buffer) {
  if (!entry.is_object())
    return Reader::fail(path, "expected an object, found " + describe(entry));
  const json *field;
  if (Status s = Reader::member(entry, path, COIL_KEY_KIND, field); !s.isOk())
    return s;
  std::string kind;
  if (Status s = Reader::string(*field, path + ".kind", kind); !s.isOk())
    return s;

  if (kind == COIL_BUFFER_STATE || kind == COIL_BUFFER_WEIGHT ||
      kind == COIL_BUFFER_HISTORY) {
    bool isHistory = kind == COIL_BUFFER_HISTORY;
    bool isState = kind == COIL_BUFFER_STATE || isHistory;
    buffer.kind = isHistory ? BufferKind::History
                  : isState ? BufferKind::State
                            : BufferKind::Weight;
    if (isHistory && entryName != COIL_ENTRY_VERIFY)
      return Reader::fail(path + ".kind",
                          "a history buffer belongs to the entry \"verify\" "
                          "only");
    if (Status s = Reader::member(entry, path, COIL_KEY_INDEX, field);
        !s.isOk())
      return s;
    if (Status s = Reader::integer(*field, path + ".index", buffer.index);
        !s.isOk())
      return s;
    size_t count = isState ? meta.states.size() : meta.weights.size();
    if (static_cast<uint64_t>(buffer.index) >= count)
      return Reader::fail(path + ".index",
                          kind + " index " + std::to_string(buffer.index) +
                              " is out of range (the model has " +
                              std::to_string(count) + " " + kind + "s)");
    if (isHistory) {
      // [B, T] and the state's extents after the batch, which must be
      // literals: a KV cache is rolled back by its length instead.
      const StateSpec &state = meta.states[buffer.index];
      buffer.type = state.type;
      buffer.shape = {Dim{Dim::Batch, 0}, Dim{Dim::Tokens, 0}};
      for (size_t d = 1; d < state.shape.size(); ++d) {
        if (state.shape[d].kind != Dim::Literal)
          return Reader::fail(path + ".index",
                              "the history of state \"" + state.name +
                                  "\", whose shape " +
                                  formatShape(state.shape) +
                                  " is not static after the batch");
        buffer.shape.push_back(state.shape[d]);
      }
    } else if (isState) {
      const StateSpec &state = meta.states[buffer.index];
      buffer.type = state.type;
      buffer.shape = state.shape;
    } else {
      const WeightSpec &weight = meta.weights[buffer.index];
      buffer.type = weight.type;
      for (int64_t extent : weight.storageShape())
        buffer.shape.push_back(Dim{Dim::Literal, extent});
    }
    return Status::ok();
  }

  if (kind == COIL_BUFFER_TOKENS)
    buffer.kind = BufferKind::Tokens;
  else if (kind == COIL_BUFFER_POSITIONS)
    buffer.kind = BufferKind::Positions;
  else if (kind == COIL_BUFFER_TEMP)
    buffer.kind = BufferKind::Temp;
  else if (kind == COIL_BUFFER_LOGITS)
    buffer.kind = BufferKind::Logits;
  else
    return Reader::fail(path + ".kind",
                        "unknown buffer kind \"" + kind +
                            "\" (expected tokens, positions, state, weight, "
                            "temp, logits or history)");
  if (Status s = Reader::member(entry, path, COIL_KEY_DTYPE, field); !s.isOk())
    return s;
  if (Status s = Reader::elementType(*field, path + ".dtype", buffer.type);
      !s.isOk())
    return s;
  if (Status s = Reader::member(entry, path, COIL_KEY_SHAPE, field); !s.isOk())
    return s;
  if (Status s = Reader::shape(*field, path + ".shape", buffer.shape);
      !s.isOk())
    return s;

  switch (buffer.kind) {
  case BufferKind::Tokens:
  case BufferKind::Positions:
    return checkTokenShape(entryName, path, buffer);
  case BufferKind::Logits: {
    if (buffer.type != ElementType::F32)
      return Reader::fail(path + ".dtype",
                          std::string("logits must be f32, found ") +
                              elementTypeName(buffer.type));
    const Shape &shape = buffer.shape;
    bool ok = shape.size() == 3 && shape[0].kind == Dim::Batch &&
              shape[2].kind == Dim::Literal && shape[2].value == meta.vocabSize;
    if (!ok)
      return Reader::fail(path + ".shape",
                          "logits must have shape [\"B\", \"T\", " +
                              std::to_string(meta.vocabSize) + "], found " +
                              formatShape(shape));
    return Status::ok();
  }
  default:
    return Status::ok();
  }
}

/// Reads the coefficients [a, b, c] at `path` (finite, non-negative).
Status parseCost(const json &value, const std::string &path,
                 double (&out)[kCostTerms]) {
  if (!value.is_array() || (value.size() != 3 && value.size() != kCostTerms))
    return Reader::fail(path, "expected an array of 3 or 5 numbers, found " +
                                  describe(value));
  for (size_t i = 0; i < value.size(); ++i) {
    const json &item = value[i];
    std::string where = path + "[" + std::to_string(i) + "]";
    if (!item.is_number())
      return Reader::fail(where, "expected a number, found " + describe(item));
    double number = item.get<double>();
    if (!(number >= 0) || number > std::numeric_limits<double>::max())
      return Reader::fail(where, "expected a finite number >= 0, found " +
                                     describe(item));
    out[i] = number;
  }
  return Status::ok();
}

/// Reads the optional "layer" and "cost" of the step `item` at `path`.
Status parseStepProfile(const json &item, const std::string &path,
                        StepSpec &step) {
  if (auto it = item.find(COIL_KEY_LAYER); it != item.end() && !it->is_null()) {
    // -1 says the step belongs to no layer.
    if (it->is_number_integer() && !it->is_number_unsigned() &&
        it->get<int64_t>() == -1)
      step.layer = -1;
    else if (Status s = Reader::integer(*it, path + ".layer", step.layer);
             !s.isOk())
      return s;
  }
  if (auto it = item.find(COIL_KEY_ROWS); it != item.end()) {
    std::string rows;
    if (Status s = Reader::string(*it, path + ".rows", rows); !s.isOk())
      return s;
    if (rows != COIL_ROWS_TOKEN && rows != COIL_ROWS_SEQUENCE)
      return Reader::fail(path + ".rows",
                          "expected \"token\" or \"sequence\", found " +
                              describe(*it));
    step.perSequence = rows == COIL_ROWS_SEQUENCE;
  }
  auto cost = item.find(COIL_KEY_COST);
  if (cost == item.end() || cost->is_null())
    return Status::ok();
  if (!cost->is_object())
    return Reader::fail(path + ".cost",
                        "expected an object, found " + describe(*cost));
  if (auto it = cost->find(COIL_KEY_FLOPS); it != cost->end())
    if (Status s = parseCost(*it, path + ".cost.flops", step.flops); !s.isOk())
      return s;
  if (auto it = cost->find(COIL_KEY_BYTES); it != cost->end())
    if (Status s = parseCost(*it, path + ".cost.bytes", step.bytes); !s.isOk())
      return s;
  return Status::ok();
}

Status parseEntry(const json &value, const std::string &name,
                  const Metadata &meta, EntrySpec &entry) {
  std::string path = "entries." + name;
  if (!value.is_object())
    return Reader::fail(path, "expected an object, found " + describe(value));
  const json *buffers;
  if (Status s = Reader::member(value, path, COIL_KEY_BUFFERS, buffers);
      !s.isOk())
    return s;
  if (!buffers->is_array())
    return Reader::fail(path + ".buffers",
                        "expected an array, found " + describe(*buffers));
  for (size_t i = 0; i < buffers->size(); ++i) {
    std::string where = path + ".buffers[" + std::to_string(i) + "]";
    BufferSpec buffer;
    if (Status s = parseBuffer((*buffers)[i], name, where, meta, buffer);
        !s.isOk())
      return s;
    int64_t *unique = nullptr;
    if (buffer.kind == BufferKind::Tokens)
      unique = &entry.tokensBuffer;
    else if (buffer.kind == BufferKind::Positions)
      unique = &entry.positionsBuffer;
    else if (buffer.kind == BufferKind::Logits)
      unique = &entry.logitsBuffer;
    if (unique) {
      if (*unique >= 0)
        return Reader::fail(where, "a second buffer of this kind (the first "
                                   "is buffers[" +
                                       std::to_string(*unique) + "])");
      *unique = static_cast<int64_t>(i);
    }
    if (buffer.kind == BufferKind::History) {
      for (size_t j = 0; j < entry.buffers.size(); ++j)
        if (entry.buffers[j].kind == BufferKind::History &&
            entry.buffers[j].index == buffer.index)
          return Reader::fail(where, "a second history of state " +
                                         std::to_string(buffer.index) +
                                         " (the first is buffers[" +
                                         std::to_string(j) + "])");
    }
    entry.buffers.push_back(std::move(buffer));
  }
  // Verify keeps every position of every recurrent state (a state without
  // a context dimension), so a sequence can go back to any of them.
  if (name == COIL_ENTRY_VERIFY)
    for (size_t i = 0; i < meta.states.size(); ++i) {
      const Shape &shape = meta.states[i].shape;
      bool recurrent = std::none_of(shape.begin() + 1, shape.end(),
                                    [](const Dim &d) {
                                      return d.kind == Dim::Context;
                                    });
      bool kept = std::any_of(
          entry.buffers.begin(), entry.buffers.end(), [&](const BufferSpec &b) {
            return b.kind == BufferKind::History &&
                   b.index == static_cast<int64_t>(i);
          });
      if (recurrent && !kept)
        return Reader::fail(path + ".buffers",
                            "no history of the recurrent state \"" +
                                meta.states[i].name + "\"");
    }
  if (entry.tokensBuffer < 0)
    return Reader::fail(path + ".buffers", "no tokens buffer");
  if (entry.logitsBuffer < 0)
    return Reader::fail(path + ".buffers", "no logits buffer");
  const Dim &tokensDim = entry.buffers[entry.tokensBuffer].shape[1];
  auto sameTokens = [&](const Dim &dim) {
    return dim.kind == tokensDim.kind && dim.value == tokensDim.value;
  };
  // Logits are per token, or (last position only) one row per sequence;
  // prefill_all's are per token.
  const Dim &logitsDim = entry.buffers[entry.logitsBuffer].shape[1];
  bool lastOnly = logitsDim.kind == Dim::Literal && logitsDim.value == 1 &&
                  name != COIL_ENTRY_PREFILL_ALL && name != COIL_ENTRY_VERIFY;
  if (!sameTokens(logitsDim) && !lastOnly)
    return Reader::fail(
        path + ".buffers[" + std::to_string(entry.logitsBuffer) + "].shape",
        "dimension 1 of logits must match the tokens " +
            formatShape(entry.buffers[entry.tokensBuffer].shape) +
            " or be 1 (the last position)");
  if (entry.positionsBuffer >= 0 &&
      !sameTokens(entry.buffers[entry.positionsBuffer].shape[1]))
    return Reader::fail(
        path + ".buffers[" + std::to_string(entry.positionsBuffer) + "].shape",
        "positions must have the shape of the tokens " +
            formatShape(entry.buffers[entry.tokensBuffer].shape));

  const json *steps;
  if (Status s = Reader::member(value, path, COIL_KEY_STEPS, steps); !s.isOk())
    return s;
  if (!steps->is_array())
    return Reader::fail(path + ".steps",
                        "expected an array, found " + describe(*steps));
  for (size_t i = 0; i < steps->size(); ++i) {
    std::string where = path + ".steps[" + std::to_string(i) + "]";
    const json &item = (*steps)[i];
    if (!item.is_object())
      return Reader::fail(where, "expected an object, found " + describe(item));
    StepSpec step;
    const json *field;
    if (Status s = Reader::member(item, where, COIL_KEY_KERNEL, field);
        !s.isOk())
      return s;
    if (Status s = Reader::integer(*field, where + ".kernel", step.kernel);
        !s.isOk())
      return s;
    if (static_cast<uint64_t>(step.kernel) >= meta.kernels.size())
      return Reader::fail(where + ".kernel",
                          "kernel index " + std::to_string(step.kernel) +
                              " is out of range (the model has " +
                              std::to_string(meta.kernels.size()) +
                              " kernels)");
    if (Status s = Reader::member(item, where, COIL_KEY_ARGS, field); !s.isOk())
      return s;
    if (!field->is_array())
      return Reader::fail(where + ".args",
                          "expected an array, found " + describe(*field));
    for (size_t a = 0; a < field->size(); ++a) {
      std::string argPath = where + ".args[" + std::to_string(a) + "]";
      int64_t arg;
      if (Status s = Reader::integer((*field)[a], argPath, arg); !s.isOk())
        return s;
      if (static_cast<uint64_t>(arg) >= entry.buffers.size())
        return Reader::fail(argPath, "buffer index " + std::to_string(arg) +
                                         " is out of range (the entry has " +
                                         std::to_string(entry.buffers.size()) +
                                         " buffers)");
      step.args.push_back(arg);
    }
    if (Status s = parseStepProfile(item, where, step); !s.isOk())
      return s;
    entry.steps.push_back(std::move(step));
  }
  return Status::ok();
}

} // namespace

Status parseMetadata(std::string_view text, Metadata &out) {
  out = Metadata();
  if (std::string problem = weights::checkJsonStructure(text); !problem.empty())
    return Status::error(COIL_BAD_MODEL, "metadata: " + problem);
  json root = json::parse(text.begin(), text.end(), nullptr,
                          /*allow_exceptions=*/false);
  if (root.is_discarded())
    return Status::error(COIL_BAD_MODEL, "metadata: not valid JSON");
  if (!root.is_object())
    return Reader::fail("(root)",
                        "expected an object, found " + describe(root));

  const json *field;
  std::string format;
  if (Status s = Reader::member(root, "", COIL_KEY_FORMAT, field); !s.isOk())
    return s;
  if (Status s = Reader::string(*field, "format", format); !s.isOk())
    return s;
  if (format != COIL_FORMAT_NAME)
    return Reader::fail("format",
                        "expected \"coil-model\", found " + describe(*field));
  int64_t version;
  if (Status s = Reader::member(root, "", COIL_KEY_VERSION, field); !s.isOk())
    return s;
  if (Status s = Reader::integer(*field, "version", version); !s.isOk())
    return s;
  if (version != kMetadataVersion)
    return Reader::fail("version",
                        "version " + std::to_string(version) +
                            " is not supported (this runtime reads version " +
                            std::to_string(kMetadataVersion) + ")");
  if (auto it = root.find(COIL_KEY_COMPILER); it != root.end())
    if (Status s = Reader::string(*it, "compiler", out.compiler, true);
        !s.isOk())
      return s;
  if (auto it = root.find(COIL_KEY_PROFILED); it != root.end()) {
    if (!it->is_boolean())
      return Reader::fail("profiled",
                          "expected true or false, found " + describe(*it));
    out.profiled = it->get<bool>();
  }
  if (Status s = Reader::member(root, "", COIL_KEY_FAMILY, field); !s.isOk())
    return s;
  if (Status s = Reader::string(*field, "family", out.family); !s.isOk())
    return s;
  if (Status s = Reader::member(root, "", COIL_KEY_VOCAB_SIZE, field);
      !s.isOk())
    return s;
  if (Status s = Reader::integer(*field, "vocab_size", out.vocabSize);
      !s.isOk())
    return s;
  // Token ids are i32, so every id of a larger vocabulary could not be fed.
  constexpr int64_t maxVocab = int64_t(std::numeric_limits<int32_t>::max()) + 1;
  if (out.vocabSize < 1 || out.vocabSize > maxVocab)
    return Reader::fail("vocab_size", "expected 1 to " +
                                          std::to_string(maxVocab) +
                                          ", found " + describe(*field));
  if (auto it = root.find(COIL_KEY_MAX_CONTEXT);
      it != root.end() && !it->is_null()) {
    if (Status s = Reader::integer(*it, "max_context", out.maxContext);
        !s.isOk())
      return s;
    if (out.maxContext < 1)
      return Reader::fail("max_context",
                          "expected null or a positive integer, found 0");
  }

  if (Status s = parseTarget(root, out); !s.isOk())
    return s;
  if (Status s = parseWeights(root, out); !s.isOk())
    return s;
  if (Status s = parseStates(root, out); !s.isOk())
    return s;
  if (Status s = parseKernels(root, out); !s.isOk())
    return s;

  const json *entries;
  if (Status s = Reader::member(root, "", COIL_KEY_ENTRIES, entries); !s.isOk())
    return s;
  if (!entries->is_object())
    return Reader::fail("entries",
                        "expected an object, found " + describe(*entries));
  for (const char *required : {COIL_ENTRY_PREFILL, COIL_ENTRY_DECODE})
    if (!entries->contains(required))
      return Reader::fail(std::string("entries.") + required, "missing");
  for (auto it = entries->begin(); it != entries->end(); ++it) {
    EntrySpec entry;
    if (Status s = parseEntry(it.value(), it.key(), out, entry); !s.isOk())
      return s;
    out.entries.emplace(it.key(), std::move(entry));
  }
  return Status::ok();
}

} // namespace coil::runtime
