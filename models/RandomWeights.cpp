//===- RandomWeights.cpp - Seeded weights with published inits --*- C++ -*-===//
//
// A portable generator (splitmix64 seeding, xoshiro256**, Box-Muller) so that
// values do not depend on the standard library's distributions.
//
//===----------------------------------------------------------------------===//

#include "models/RandomWeights.h"

#include "runtime/src/weights/Safetensors.h"

#include <cmath>

using namespace mlir::coil::models;

namespace {

uint64_t splitmix64(uint64_t &x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// xoshiro256** seeded from the global seed and the tensor name.
class Generator {
public:
  Generator(uint64_t seed, const std::string &name) {
    uint64_t h = 0xcbf29ce484222325ULL; // FNV-1a of the name
    for (unsigned char c : name)
      h = (h ^ c) * 0x100000001b3ULL;
    uint64_t x = seed ^ h;
    for (uint64_t &word : s)
      word = splitmix64(x);
  }

  uint64_t next() {
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }

  /// Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  /// Standard normal (Box-Muller, one value per call).
  double normal() {
    double u1 = 1.0 - uniform(); // (0, 1]
    double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }

private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s[4];
};

} // namespace

std::vector<float> mlir::coil::models::randomWeight(const WeightSpec &spec,
                                                    uint64_t seed) {
  size_t count = 1;
  for (int64_t d : spec.shape)
    count *= static_cast<size_t>(d);
  std::vector<float> values(count);
  Generator gen(seed, spec.name);
  const WeightInit &init = spec.init;
  switch (init.kind) {
  case WeightInit::Kind::Normal:
    for (float &v : values)
      v = static_cast<float>(init.a * gen.normal());
    break;
  case WeightInit::Kind::Uniform:
    for (float &v : values)
      v = static_cast<float>(init.a * (2.0 * gen.uniform() - 1.0));
    break;
  case WeightInit::Kind::Constant:
    for (float &v : values)
      v = static_cast<float>(init.a);
    break;
  case WeightInit::Kind::ALogRange: {
    size_t n = static_cast<size_t>(spec.shape.back());
    for (size_t i = 0; i < count; ++i)
      values[i] = static_cast<float>(std::log(static_cast<double>(i % n + 1)));
    break;
  }
  case WeightInit::Kind::DtBias: {
    // dt = exp(U * (log dt_max - log dt_min) + log dt_min), floored at 1e-4;
    // the bias is softplus^-1(dt) = dt + log(-expm1(-dt)).
    double lo = std::log(init.a), hi = std::log(init.b);
    for (float &v : values) {
      double dt = std::exp(gen.uniform() * (hi - lo) + lo);
      dt = std::max(dt, 1e-4);
      v = static_cast<float>(dt + std::log(-std::expm1(-dt)));
    }
    break;
  }
  }
  return values;
}

llvm::Error mlir::coil::models::writeRandomWeights(const ModelConfig &config,
                                                   uint64_t seed,
                                                   llvm::StringRef path) {
  namespace weights = ::coil::weights;
  std::vector<WeightSpec> specs = weightSpecs(config);
  std::vector<std::vector<float>> values;
  std::vector<weights::TensorToWrite> tensors;
  values.reserve(specs.size());
  for (const WeightSpec &spec : specs) {
    values.push_back(randomWeight(spec, seed));
    tensors.push_back(
        {spec.name, weights::DType::F32, spec.shape, values.back().data()});
  }
  weights::Status status =
      weights::writeSafetensors(path.str(), tensors,
                                {{"format", "pt"},
                                 {"coil.seed", std::to_string(seed)},
                                 {"coil.init", "published initialisations"}});
  if (!status)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   status.message());
  return llvm::Error::success();
}
