//===- Hash.h - FNV-1a, the runtime's fingerprint hash ----------*- C++ -*-===//
//
// Fingerprints of state layouts and models, compared to refuse a saved state
// that belongs elsewhere. Not a defence against a forger: only against
// mixing up honest inputs.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_RUNTIME_HASH_H
#define COIL_RUNTIME_HASH_H

#include <cstddef>
#include <cstdint>

namespace coil::runtime {

/// The FNV-1a offset basis: the hash of nothing.
inline constexpr uint64_t kFnvBasis = 14695981039346656037ull;

/// FNV-1a over `size` bytes, continuing from `hash`.
inline uint64_t fnv1a(uint64_t hash, const void *data, size_t size) {
  const auto *bytes = static_cast<const unsigned char *>(data);
  for (size_t i = 0; i < size; ++i) {
    hash ^= bytes[i];
    hash *= 1099511628211ull;
  }
  return hash;
}

} // namespace coil::runtime

#endif // COIL_RUNTIME_HASH_H
