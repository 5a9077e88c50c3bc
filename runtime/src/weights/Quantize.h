//===- Quantize.h - Symmetric int8 quantization of matrices -----*- C++ -*-===//
//
// The one definition of Coil's int8 weights: the runtime quantizes a float
// checkpoint with it when it binds an int8 model, and the reference
// interpreter with it when it models one, so both read the same values.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_RUNTIME_WEIGHTS_QUANTIZE_H
#define COIL_RUNTIME_WEIGHTS_QUANTIZE_H

#include <cstdint>

namespace coil::weights {

/// Quantizes each row of the [rows, cols] matrix `w` symmetrically to int8:
/// scale[r] = max_k |w[r, k]| / 127 (in f32) and q[r, k] = w[r, k] /
/// scale[r] rounded to nearest even, in [-127, 127] (a row of zeros gets
/// scale 0 and q 0), so q * scale is within scale / 2 of w. Returns the
/// first row holding a NaN or an infinity (which cannot be quantized;
/// nothing is written for it or after it), or -1.
int64_t quantizeRowsInt8(const float *w, int64_t rows, int64_t cols,
                         int8_t *q, float *scale);

/// The group of an int4 matrix: this many consecutive elements of a row
/// share one scale.
constexpr int64_t kInt4Group = 32;

/// Quantizes the [rows, cols] matrix `w` symmetrically to int4 in groups of
/// kInt4Group along each row (cols must be a multiple of it):
/// scale[r, g] = max |w[r, g * 32 .. g * 32 + 31]| / 7 (in f32) and q[r, k]
/// = w[r, k] / scale[r, k / 32] rounded to nearest even, in [-7, 7] (one
/// value per byte here; the runtime packs two per byte). Returns the first
/// row holding a NaN or an infinity, or -1.
int64_t quantizeGroupsInt4(const float *w, int64_t rows, int64_t cols,
                           int8_t *q, float *scale);

} // namespace coil::weights

#endif // COIL_RUNTIME_WEIGHTS_QUANTIZE_H
