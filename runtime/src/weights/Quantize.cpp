//===- Quantize.cpp - Symmetric int8 and int4 quantization ----------------===//

#include "runtime/src/weights/Quantize.h"

#include "runtime/src/weights/Safetensors.h"

#include <cmath>
#include <cstring>

namespace coil::weights {

namespace {

/// Quantizes `n` values of `w` with one scale, max |w| / `top`, into q in
/// [-top, top]. False if a value is not finite.
bool quantizeRun(const float *w, int64_t n, float top, int8_t *q,
                 float &scale) {
  float largest = 0.0f;
  for (int64_t k = 0; k < n; ++k) {
    if (!std::isfinite(w[k]))
      return false;
    largest = std::fmax(largest, std::fabs(w[k]));
  }
  float s = largest / top;
  scale = s;
  for (int64_t k = 0; k < n; ++k) {
    // |w[k] / s| <= top up to rounding of s: clamped, never wrapped.
    float v = s > 0.0f ? std::nearbyint(w[k] / s) : 0.0f;
    q[k] = static_cast<int8_t>(std::fmin(top, std::fmax(-top, v)));
  }
  return true;
}

} // namespace

int64_t quantizeRowsInt8(const float *w, int64_t rows, int64_t cols,
                         int8_t *q, float *scale) {
  for (int64_t r = 0; r < rows; ++r)
    if (!quantizeRun(w + r * cols, cols, 127.0f, q + r * cols, scale[r]))
      return r;
  return -1;
}

int64_t quantizeGroupsInt4(const float *w, int64_t rows, int64_t cols,
                           int8_t *q, float *scale) {
  int64_t groups = cols / kInt4Group;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t g = 0; g < groups; ++g) {
      int64_t at = r * cols + g * kInt4Group;
      if (!quantizeRun(w + at, kInt4Group, 7.0f, q + at, scale[r * groups + g]))
        return r;
    }
  return -1;
}

void FirstBadRow::report(int64_t row) {
  int64_t seen = first.load();
  while (row >= 0 && row < seen && !first.compare_exchange_weak(seen, row)) {
  }
}

int64_t FirstBadRow::get() const {
  int64_t row = first.load();
  return row == std::numeric_limits<int64_t>::max() ? -1 : row;
}

void quantizeRowRange(bool int4, const float *w, int64_t begin, int64_t end,
                      int64_t cols, int8_t *q, float *scale, FirstBadRow &bad) {
  int64_t at = begin * cols;
  int64_t row =
      int4 ? quantizeGroupsInt4(w + at, end - begin, cols, q + at,
                                scale + begin * (cols / kInt4Group))
           : quantizeRowsInt8(w + at, end - begin, cols, q + at, scale + begin);
  if (row >= 0)
    bad.report(begin + row);
}

void packInt4(const int8_t *q, size_t count, uint8_t *packed) {
  for (size_t i = 0; i < count / 2; ++i)
    packed[i] = static_cast<uint8_t>((static_cast<uint8_t>(q[2 * i]) & 0x0f) |
                                     (static_cast<uint8_t>(q[2 * i + 1]) << 4));
}

void unpackInt4(const uint8_t *packed, size_t count, int8_t *q) {
  for (size_t i = 0; i < count / 2; ++i) {
    // (n ^ 8) - 8 sign-extends the 4-bit two's complement n.
    q[2 * i] = static_cast<int8_t>(((packed[i] & 0x0f) ^ 8) - 8);
    q[2 * i + 1] = static_cast<int8_t>(((packed[i] >> 4) ^ 8) - 8);
  }
}

bool isPreQuantized(const TensorInfo &tensor) {
  return tensor.dtype == DType::I8 || tensor.dtype == DType::U8;
}

bool isScalesOfPreQuantized(const WeightFileSet &files, std::string_view name) {
  if (name.size() <= kScalesSuffix.size() ||
      name.substr(name.size() - kScalesSuffix.size()) != kScalesSuffix)
    return false;
  const TensorInfo *values =
      files.find(name.substr(0, name.size() - kScalesSuffix.size()));
  return values && isPreQuantized(*values);
}

Status findPreQuantized(const WeightFileSet &files, const TensorInfo &values,
                        PreQuantized &out) {
  out = PreQuantized();
  std::string what = "tensor '" + values.name + "' in " + values.file;
  if (!isPreQuantized(values))
    return Status::error(what + " has dtype " + dtypeName(values.dtype) +
                         ", not a pre-quantized matrix's I8 or U8");
  bool int4 = values.dtype == DType::U8;
  if (values.shape.size() != 2)
    return Status::error(what + " is a pre-quantized " +
                         (int4 ? "int4" : "int8") + " matrix of shape " +
                         formatShape(values.shape) + ", expected rank 2");
  int64_t rows = values.shape[0];
  int64_t cols = int4 ? 2 * values.shape[1] : values.shape[1];
  std::string scalesName = values.name + std::string(kScalesSuffix);
  const TensorInfo *scales = files.find(scalesName);
  std::vector<int64_t> expected{rows};
  if (int4) {
    if (cols % kInt4Group != 0)
      return Status::error(what + " is an int4 matrix of " +
                           std::to_string(cols) +
                           " columns, not a multiple of the group of " +
                           std::to_string(kInt4Group));
    expected.push_back(cols / kInt4Group);
  }
  std::string wanted = "F32 " + formatShape(expected);
  if (!scales)
    return Status::error(what + " is a pre-quantized " +
                         (int4 ? "int4" : "int8") +
                         " matrix, but its scales '" + scalesName + "' (" +
                         wanted + ") are missing");
  if (scales->dtype != DType::F32 || scales->shape != expected)
    return Status::error("tensor '" + scalesName + "' in " + scales->file +
                         " is " + dtypeName(scales->dtype) + " " +
                         formatShape(scales->shape) + ", but the scales of '" +
                         values.name + "' must be " + wanted);
  size_t count = static_cast<size_t>(scales->numElements());
  const auto *bytes = static_cast<const unsigned char *>(scales->data);
  for (size_t i = 0; i < count; ++i) {
    float s;
    std::memcpy(&s, bytes + i * sizeof(float), sizeof(float));
    if (!std::isfinite(s) || s < 0.0f)
      return Status::error("tensor '" + scalesName + "' in " + scales->file +
                           " holds the scale " + std::to_string(s) +
                           " at element " + std::to_string(i) +
                           " (scales are finite and not negative)");
  }
  out = {&values, scales, int4, rows, cols};
  return Status::ok();
}

void unpackPreQuantized(const PreQuantized &matrix, int64_t begin, int64_t end,
                        int8_t *q, float *scale) {
  int64_t cols = matrix.cols;
  int64_t groups = matrix.int4 ? cols / kInt4Group : 1;
  const auto *src = static_cast<const uint8_t *>(matrix.values->data);
  size_t count = static_cast<size_t>((end - begin) * cols);
  if (matrix.int4)
    unpackInt4(src + begin * cols / 2, count, q + begin * cols);
  else
    std::memcpy(q + begin * cols, src + begin * cols, count);
  // The file format does not promise alignment: copied as bytes.
  std::memcpy(scale + begin * groups,
              static_cast<const unsigned char *>(matrix.scales->data) +
                  begin * groups * sizeof(float),
              static_cast<size_t>((end - begin) * groups) * sizeof(float));
}

} // namespace coil::weights
