//===- RandomWeights.h - Seeded weights with published inits ----*- C++ -*-===//
//
// Deterministic random parameters for benchmarks and tests: the same seed
// gives the same values on every machine, and each tensor's values depend
// only on the seed and its name (not on the order tensors are generated in).
//
//===----------------------------------------------------------------------===//

#ifndef COIL_MODELS_RANDOMWEIGHTS_H
#define COIL_MODELS_RANDOMWEIGHTS_H

#include "models/ModelBuilder.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace mlir::coil::models {

/// The values of `spec`, row-major, drawn from its initialisation.
std::vector<float> randomWeight(const WeightSpec &spec, uint64_t seed);

/// Writes every parameter of `config` drawn with `seed` as one f32
/// safetensors file, atomically (the seed is recorded in its metadata).
llvm::Error writeRandomWeights(const ModelConfig &config, uint64_t seed,
                               llvm::StringRef path);

} // namespace mlir::coil::models

#endif // COIL_MODELS_RANDOMWEIGHTS_H
