//===- Model.h - A loaded compiled model and its weights --------*- C++ -*-===//
//
// A Model is a compiled model's shared library, its validated metadata, the
// resolved kernel functions and, once bound, a pointer to the data of every
// weight the metadata lists. Weights are used in place from the mapped files
// when the dtype matches and the data is aligned to its element size, and
// copied (widened from F16/BF16 to f32 where the model wants f32) otherwise;
// weights the metadata lays out in panels are packed into their own buffer
// at bind time. A bound model is immutable; sessions share it through
// shared_ptr.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_RUNTIME_MODEL_H
#define COIL_RUNTIME_MODEL_H

#include "runtime/src/Buffer.h"
#include "runtime/src/Kernel.h"
#include "runtime/src/Library.h"
#include "runtime/src/Metadata.h"
#include "runtime/src/weights/Safetensors.h"

#include <memory>
#include <string>
#include <vector>

namespace coil::runtime {

/// A loaded model.
class Model {
public:
  /// Loads the library at `path`, reads `coil_model_metadata`, validates it
  /// and resolves every kernel symbol. Errors name `path`.
  static Status load(const std::string &path, std::shared_ptr<Model> &out);

  Model(const Model &) = delete;
  Model &operator=(const Model &) = delete;

  /// The validated metadata.
  const Metadata &metadata() const { return meta; }

  /// The function of kernel `index` (in range by construction).
  KernelFn kernel(int64_t index) const { return kernels[index]; }

  /// Binds `weights` (see coil_model_bind_weights); allowed once.
  Status bindWeights(std::shared_ptr<const weights::WeightFileSet> weights);

  /// True once weights are bound.
  bool hasWeights() const { return weightSet != nullptr; }

  /// Identifies the model a saved state belongs to: a hash of its metadata
  /// and, once bound, of every weight's name and a sample of its bytes (the
  /// first and last 64 and two windows between), so the same compiled model
  /// with other weights differs, and an identical copy of both does not.
  uint64_t fingerprint() const { return identity; }

  /// The data of weight `index` (bound models only).
  void *weightData(int64_t index) const { return weightPointers[index]; }

  /// What binding cost (coil_model_bind_stats).
  struct BindStats {
    int64_t packedWeights = 0;
    int64_t packedBytes = 0;
    double packSeconds = 0;
    double bindSeconds = 0;
    /// Weights holding a NaN or an infinity, and the first of them by
    /// metadata order (empty when none).
    int64_t nonfiniteWeights = 0;
    std::string firstNonfinite;
  };
  const BindStats &bindStats() const { return stats; }

private:
  Model() = default;

  std::unique_ptr<Library> library;
  Metadata meta;
  std::vector<KernelFn> kernels;
  /// The bound files, kept mapped while the model lives.
  std::shared_ptr<const weights::WeightFileSet> weightSet;
  /// Copies made when a weight cannot be used in place.
  std::vector<Buffer> ownedWeights;
  /// The data of each metadata weight, in the files or in ownedWeights.
  std::vector<void *> weightPointers;
  BindStats stats;
  uint64_t identity = 0;
};

} // namespace coil::runtime

#endif // COIL_RUNTIME_MODEL_H
