//===- Quantize.cpp - Symmetric int8 quantization of matrices -------------===//

#include "runtime/src/weights/Quantize.h"

#include <cmath>

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

} // namespace coil::weights
