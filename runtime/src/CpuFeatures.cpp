//===- CpuFeatures.cpp - Which CPU features this machine has ----*- C++ -*-===//

#include "runtime/src/CpuFeatures.h"

#include "coil/abi.h"

#include <string_view>

namespace coil::runtime {

namespace {

struct Feature {
  std::string_view name;
  bool present;
};

const std::vector<Feature> &hostFeatures() {
  static const std::vector<Feature> features = [] {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
#define COIL_HOST_FEATURE(name)                                                \
  Feature{name, __builtin_cpu_supports(name) != 0},
    return std::vector<Feature>{COIL_ABI_CPU_FEATURES(COIL_HOST_FEATURE)};
#undef COIL_HOST_FEATURE
#else
    return std::vector<Feature>{};
#endif
  }();
  return features;
}

} // namespace

std::vector<std::string>
missingCpuFeatures(const std::vector<std::string> &required) {
  std::vector<std::string> missing;
  for (const std::string &name : required) {
    bool present = false;
    for (const Feature &f : hostFeatures())
      if (f.name == name)
        present = f.present;
    if (!present)
      missing.push_back(name);
  }
  return missing;
}

} // namespace coil::runtime
