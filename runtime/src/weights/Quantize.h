//===- Quantize.h - Symmetric int8 and int4 quantization --------*- C++ -*-===//
//
// The one definition of Coil's int8 and int4 weights: the runtime quantizes
// a float checkpoint with it when it binds an int8 or int4 model, and the
// reference interpreter with it when it models one, so both read the same
// values. A checkpoint may also hold its matrices already quantized (as
// coil-quantize writes them), found and unpacked here for both.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_RUNTIME_WEIGHTS_QUANTIZE_H
#define COIL_RUNTIME_WEIGHTS_QUANTIZE_H

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

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

/// The lowest row that rows quantized in ranges (in any order, on any
/// thread) found holding a NaN or an infinity.
class FirstBadRow {
public:
  /// Records `row` (>= 0); -1 (no bad row) is ignored.
  void report(int64_t row);
  /// The lowest row reported, or -1.
  int64_t get() const;

private:
  std::atomic<int64_t> first{std::numeric_limits<int64_t>::max()};
};

/// Rows [begin, end) of the [rows, cols] matrix `w` quantized to int4 in
/// groups (`int4`) or to int8 per row, into `q` and `scale` laid out as for
/// the whole matrix; a row that cannot be quantized is reported to `bad`.
void quantizeRowRange(bool int4, const float *w, int64_t begin, int64_t end,
                      int64_t cols, int8_t *q, float *scale, FirstBadRow &bad);

/// Packs `count` (even) int4 values, one per byte in [-8, 7], two per byte:
/// element 2i in the low nibble of byte i and 2i + 1 in its high nibble,
/// two's complement.
void packInt4(const int8_t *q, size_t count, uint8_t *packed);

/// The inverse of packInt4: `count` (even) values, sign-extended.
void unpackInt4(const uint8_t *packed, size_t count, int8_t *q);

//===----------------------------------------------------------------------===//
// Pre-quantized matrices
//===----------------------------------------------------------------------===//
//
// A pre-quantized [rows, cols] matrix `name` is stored as `name`, I8
// [rows, cols] (int8) or U8 [rows, cols / 2] (int4, packed by packInt4),
// and `name` + kScalesSuffix, F32 [rows] (int8) or [rows, cols / 32] (int4):
// exactly what quantizeRowsInt8 and quantizeGroupsInt4 produce, so a model
// bound to them computes what it computes from the float matrix.

class WeightFileSet;
struct TensorInfo;
class Status;

/// The suffix of a pre-quantized matrix's scales tensor.
constexpr std::string_view kScalesSuffix = ".scales";

/// The "__metadata__" key naming the format a file's matrices were stored
/// in by coil-quantize: "int8", "int4", "bf16" or "f16" (informative: the
/// tensors' dtypes are what a reader goes by).
constexpr const char *kWeightDtypeKey = "coil.weight_dtype";

/// A matrix a file set stores pre-quantized.
struct PreQuantized {
  /// Its values (I8 or U8) and its scales (F32).
  const TensorInfo *values = nullptr, *scales = nullptr;
  /// Int4 (U8 values) or int8 (I8 values).
  bool int4 = false;
  /// The matrix's own extents: cols is twice the stored extent for int4.
  int64_t rows = 0, cols = 0;
};

/// True when `tensor` holds integers, i.e. is a pre-quantized matrix's
/// values (I8 or U8).
bool isPreQuantized(const TensorInfo &tensor);

/// True when `name` is the scales tensor of a pre-quantized matrix of
/// `files` (its name + kScalesSuffix).
bool isScalesOfPreQuantized(const WeightFileSet &files, std::string_view name);

/// Describes the pre-quantized matrix `values` of `files` in `out`: its
/// rank is 2, its scales tensor is present with the dtype and shape its
/// format implies, and every scale is finite and not negative. On failure
/// the status names the tensor and its file and says what was expected.
Status findPreQuantized(const WeightFileSet &files, const TensorInfo &values,
                        PreQuantized &out);

/// Unpacks rows [begin, end) of `matrix` into one value per byte at `q`
/// (row-major, the whole matrix's layout) and its scales at `scale`
/// (([rows] or [rows, cols / 32]), as quantizeRowsInt8 or
/// quantizeGroupsInt4 would have written them.
void unpackPreQuantized(const PreQuantized &matrix, int64_t begin, int64_t end,
                        int8_t *q, float *scale);

} // namespace coil::weights

#endif // COIL_RUNTIME_WEIGHTS_QUANTIZE_H
