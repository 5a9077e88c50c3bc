//===- Safetensors.h - Reading and writing safetensors files ----*- C++ -*-===//
//
// The runtime's access to model weights. Safetensors files (single or sharded
// through a `model.safetensors.index.json`) are mapped read-only and every
// header is validated before any tensor is handed out, so a malformed file is
// reported as an error naming the file and the tensor instead of crashing.
// Writing produces standard files that other safetensors readers accept.
// Nothing here depends on MLIR or LLVM.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_RUNTIME_WEIGHTS_SAFETENSORS_H
#define COIL_RUNTIME_WEIGHTS_SAFETENSORS_H

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace coil::weights {

/// The element types the runtime reads and writes: floats, and the integers
/// of pre-quantized matrices (I8 values, or U8 bytes holding two int4
/// values each; Quantize.h has the layout).
enum class DType { F32, F16, BF16, I8, U8 };

/// True for F32, F16 and BF16.
bool isFloat(DType dtype);

/// The safetensors spelling of `dtype`: "F32", "F16", "BF16", "I8" or "U8".
const char *dtypeName(DType dtype);

/// The size in bytes of one element of `dtype`.
size_t dtypeSize(DType dtype);

/// `[10, 4]`: a shape as the error messages print it.
std::string formatShape(const std::vector<int64_t> &shape);

/// The outcome of an operation: success, or an error with a message meant for
/// people. An empty message means success.
class [[nodiscard]] Status {
public:
  /// A successful outcome.
  static Status ok() { return Status(); }

  /// A failure described by `message` (an empty message becomes
  /// "unknown error" so that an error can never read as success).
  static Status error(std::string message);

  /// True on success.
  bool isOk() const { return msg.empty(); }

  /// The error message; empty on success.
  const std::string &message() const { return msg; }

  /// True on success.
  explicit operator bool() const { return isOk(); }

private:
  Status() = default;
  explicit Status(std::string message) : msg(std::move(message)) {}

  std::string msg;
};

/// One tensor of an opened file set.
struct TensorInfo {
  /// The tensor's name in the file (the `coil.weight` name).
  std::string name;
  /// Its element type.
  DType dtype;
  /// Its extents, outermost first; empty for a scalar.
  std::vector<int64_t> shape;
  /// The first byte of its data inside the mapped file. The file format only
  /// guarantees byte alignment; files written by writeSafetensors align every
  /// tensor to its element size.
  const void *data;
  /// The size of its data: numElements() * dtypeSize(dtype).
  size_t numBytes;
  /// The path of the file holding it.
  std::string file;

  /// The product of the extents (1 for a scalar, 0 when an extent is 0).
  int64_t numElements() const;
};

/// A set of safetensors files opened read-only with mmap (MAP_POPULATE, so the
/// pages are faulted in at open, not on first use). Immutable after open;
/// safe to read from several threads.
class WeightFileSet {
public:
  /// Opens and validates `path`: a `.safetensors` file, a
  /// `model.safetensors.index.json` (sharded: its "weight_map" maps tensor
  /// name -> shard file relative to the index's folder), or a directory
  /// holding `model.safetensors` or `model.safetensors.index.json`. On
  /// success `out` holds the set; on failure `out` is reset and the status
  /// names the file, the tensor where there is one, and what was expected.
  static Status open(const std::string &path,
                     std::unique_ptr<WeightFileSet> &out);

  WeightFileSet(const WeightFileSet &) = delete;
  WeightFileSet &operator=(const WeightFileSet &) = delete;

  /// Unmaps the files; every TensorInfo::data pointer becomes invalid.
  ~WeightFileSet();

  /// The tensor called `name`, or nullptr if there is none.
  const TensorInfo *find(std::string_view name) const;

  /// Every tensor of every file, sorted by name.
  const std::vector<TensorInfo> &tensors() const { return tensorList; }

  /// The "__metadata__" of the file, or of the first shard in name order.
  const std::map<std::string, std::string> &metadata() const {
    return metadataMap;
  }

private:
  WeightFileSet() = default;

  /// Opens files into a set under construction (defined in Safetensors.cpp).
  class Loader;

  /// One mapped file: the address and length passed to munmap.
  struct Mapping {
    void *addr;
    size_t size;
  };

  std::vector<Mapping> mappings;
  std::vector<TensorInfo> tensorList;
  std::map<std::string, std::string> metadataMap;
};

/// Converts `count` elements of `dtype` at `src` to f32. Exact for F16 and
/// BF16, including subnormals, infinities and NaNs; I8 and U8 give their
/// integer values (one per byte: a U8 byte is not unpacked).
void convertToF32(DType dtype, const void *src, float *dst, size_t count);

/// The number of NaN and infinite values among `count` elements of `dtype`
/// at `data` (which need not be aligned); 0 for the integer dtypes.
size_t countNonFinite(DType dtype, const void *data, size_t count);

/// Converts `count` f32 values at `src` to `dtype` at `dst`: to F16 rounding
/// to nearest even, with overflow to infinity and underflow through the
/// subnormals to zero; to BF16 rounding to nearest even, with NaN kept NaN.
/// `dtype` must be a float dtype.
void convertFromF32(DType dtype, const float *src, void *dst, size_t count);

/// One tensor to write.
struct TensorToWrite {
  /// Its name; unique within a file, valid UTF-8, not "__metadata__".
  std::string name;
  /// The element type of `data` and of the file.
  DType dtype;
  /// Its extents, outermost first; empty for a scalar.
  std::vector<int64_t> shape;
  /// numElements * dtypeSize(dtype) bytes already in `dtype`; may be null
  /// when that is 0.
  const void *data;
};

/// Writes one safetensors file atomically: to a fresh `path + ".tmp.XXXXXX"`
/// (unique to this writer), then renamed over `path`, so no partial file is
/// ever left at `path` (the temporary file is removed on failure). A target
/// that is not a regular file is refused (checkOutputFile); "/dev/null"
/// writes nothing. The tensors are checked (unique names, non-negative
/// extents, data present) before anything is created. The JSON header lists
/// the tensors sorted by name, with `metadata` as "__metadata__" when it is
/// not empty, and is padded with spaces so the data starts 8-byte aligned.
/// The data is contiguous, widest element type first, so every tensor is
/// aligned to its element size.
Status
writeSafetensors(const std::string &path,
                 const std::vector<TensorToWrite> &tensors,
                 const std::map<std::string, std::string> &metadata = {});

} // namespace coil::weights

#endif // COIL_RUNTIME_WEIGHTS_SAFETENSORS_H
