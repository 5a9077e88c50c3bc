//===- QuantizedWeights.cpp - A checkpoint in a model's weight format -----===//
//
// The matrices are converted one after another, each on every core (its
// rows in ranges), and kept in memory until the file is written.
//
//===----------------------------------------------------------------------===//

#include "models/QuantizedWeights.h"

#include "dialects/Coil/IR/CoilOps.h"
#include "runtime/src/weights/Quantize.h"
#include "runtime/src/weights/Safetensors.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Parallel.h"

#include <algorithm>
#include <cstring>
#include <map>

using namespace mlir;
using namespace mlir::coil;
using llvm::Error;
using llvm::Expected;
using llvm::formatv;
using llvm::StringRef;
namespace weights = ::coil::weights;

namespace {

Error fail(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// How the model reads a matrix.
enum class Format { Int8, Int4, BF16, F16 };

/// Runs `work(begin, end)` over [0, rows) in ranges on every core.
template <typename Fn> void forRows(int64_t rows, Fn work) {
  constexpr int64_t kChunk = 64;
  int64_t chunks = (rows + kChunk - 1) / kChunk;
  llvm::parallelFor(0, static_cast<size_t>(chunks), [&](size_t c) {
    int64_t begin = static_cast<int64_t>(c) * kChunk;
    work(begin, std::min(rows, begin + kChunk));
  });
}

/// One tensor of the output and the bytes that hold it.
struct Output {
  weights::TensorToWrite tensor;
  std::vector<uint8_t> bytes;
};

} // namespace

Expected<models::QuantizedWeightsSummary> models::writeQuantizedWeights(
    ModuleOp module, const weights::WeightFileSet &files, StringRef weightsPath,
    StringRef path, const std::map<std::string, std::string> &extra) {
  // The format of every matrix the model reads in another type.
  llvm::StringMap<Format> formats;
  module.walk([&](WeightOp op) {
    if (op.getScales())
      return;
    Type element = op.getType().getElementType();
    if (element.isInteger(4))
      formats[op.getName()] = Format::Int4;
    else if (element.isInteger(8))
      formats[op.getName()] = Format::Int8;
    else if (element.isBF16())
      formats[op.getName()] = Format::BF16;
    else if (element.isF16())
      formats[op.getName()] = Format::F16;
  });

  QuantizedWeightsSummary summary;
  // std::map keeps the addresses of the outputs' bytes stable.
  std::map<std::string, Output> outputs;
  for (const weights::TensorInfo &t : files.tensors()) {
    summary.bytesBefore += static_cast<int64_t>(t.numBytes);
    if (weights::isPreQuantized(t))
      return fail(formatv("{0}: tensor '{1}' is stored quantized already ({2})",
                          weightsPath, t.name, weights::dtypeName(t.dtype)));
    auto found = formats.find(t.name);
    if (found == formats.end()) {
      outputs[t.name].tensor = {t.name, t.dtype, t.shape, t.data};
      summary.copied += 1;
      summary.bytesAfter += static_cast<int64_t>(t.numBytes);
      continue;
    }
    Format format = found->second;
    int64_t count = t.numElements();
    std::vector<float> values(static_cast<size_t>(count));
    weights::convertToF32(t.dtype, t.data, values.data(), values.size());
    if (format == Format::BF16 || format == Format::F16) {
      weights::DType dtype =
          format == Format::BF16 ? weights::DType::BF16 : weights::DType::F16;
      Output &out = outputs[t.name];
      out.bytes.resize(static_cast<size_t>(count) * 2);
      weights::convertFromF32(dtype, values.data(), out.bytes.data(),
                              values.size());
      out.tensor = {t.name, dtype, t.shape, out.bytes.data()};
      summary.narrowed += 1;
      summary.bytesAfter += static_cast<int64_t>(out.bytes.size());
      continue;
    }
    bool int4 = format == Format::Int4;
    if (t.shape.size() != 2 || (int4 && t.shape[1] % weights::kInt4Group != 0))
      return fail(formatv("{0}: tensor '{1}' is {2}, not a matrix the model "
                          "can read as int{3}",
                          weightsPath, t.name, weights::formatShape(t.shape),
                          int4 ? 4 : 8));
    int64_t rows = t.shape[0], cols = t.shape[1];
    int64_t groups = int4 ? cols / weights::kInt4Group : 1;
    std::vector<int8_t> q(static_cast<size_t>(count));
    std::vector<float> scale(static_cast<size_t>(rows * groups));
    weights::FirstBadRow bad;
    forRows(rows, [&](int64_t begin, int64_t end) {
      weights::quantizeRowRange(int4, values.data(), begin, end, cols, q.data(),
                                scale.data(), bad);
    });
    if (bad.get() >= 0)
      return fail(formatv("{0}: tensor '{1}' in {2} holds a NaN or an "
                          "infinity in row {3}, which int{4} cannot represent",
                          weightsPath, t.name, t.file, bad.get(),
                          int4 ? 4 : 8));
    Output &out = outputs[t.name];
    if (int4) {
      out.bytes.resize(static_cast<size_t>(count / 2));
      weights::packInt4(q.data(), q.size(), out.bytes.data());
      out.tensor = {
          t.name, weights::DType::U8, {rows, cols / 2}, out.bytes.data()};
      summary.int4 += 1;
    } else {
      out.bytes.assign(q.begin(), q.end());
      out.tensor = {t.name, weights::DType::I8, t.shape, out.bytes.data()};
      summary.int8 += 1;
    }
    std::string scalesName = t.name + std::string(weights::kScalesSuffix);
    if (files.find(scalesName))
      return fail(formatv("{0}: tensor '{1}' is named as the scales of '{2}' "
                          "would be",
                          weightsPath, scalesName, t.name));
    Output &scales = outputs[scalesName];
    scales.bytes.resize(scale.size() * sizeof(float));
    std::memcpy(scales.bytes.data(), scale.data(), scales.bytes.size());
    std::vector<int64_t> scaleShape{rows};
    if (int4)
      scaleShape.push_back(groups);
    scales.tensor = {scalesName, weights::DType::F32, scaleShape,
                     scales.bytes.data()};
    summary.bytesAfter +=
        static_cast<int64_t>(out.bytes.size() + scales.bytes.size());
  }

  std::vector<weights::TensorToWrite> tensors;
  for (auto &[name, out] : outputs)
    tensors.push_back(out.tensor);
  // The format named as --weight-dtype names it (int4 models keep int8
  // matrices where K is not a multiple of the group).
  std::string format = "f32";
  for (auto &[name, f] : formats)
    if (format == "f32" || f == Format::Int4)
      format = f == Format::Int4   ? "int4"
               : f == Format::Int8 ? "int8"
               : f == Format::BF16 ? "bf16"
                                   : "f16";
  std::map<std::string, std::string> metadata = extra;
  metadata["format"] = "pt";
  metadata[weights::kWeightDtypeKey] = format;
  if (weights::Status s =
          weights::writeSafetensors(path.str(), tensors, metadata);
      !s)
    return fail(s.message());
  return summary;
}
