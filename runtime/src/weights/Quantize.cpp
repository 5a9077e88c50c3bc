//===- Quantize.cpp - Symmetric int8 quantization of matrices -------------===//

#include "runtime/src/weights/Quantize.h"

#include <cmath>

namespace coil::weights {

int64_t quantizeRowsInt8(const float *w, int64_t rows, int64_t cols,
                         int8_t *q, float *scale) {
  for (int64_t r = 0; r < rows; ++r) {
    const float *row = w + r * cols;
    float largest = 0.0f;
    for (int64_t k = 0; k < cols; ++k) {
      if (!std::isfinite(row[k]))
        return r;
      largest = std::fmax(largest, std::fabs(row[k]));
    }
    float s = largest / 127.0f;
    scale[r] = s;
    for (int64_t k = 0; k < cols; ++k) {
      // |row[k] / s| <= 127 up to rounding of s: clamped, never wrapped.
      float v = s > 0.0f ? std::nearbyint(row[k] / s) : 0.0f;
      q[r * cols + k] = static_cast<int8_t>(std::fmin(127.0f, std::fmax(-127.0f, v)));
    }
  }
  return -1;
}

} // namespace coil::weights
