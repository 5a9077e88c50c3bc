//===- CpuFeatures.h - Which CPU features this machine has ------*- C++ -*-===//
//
// The loader refuses a model whose code uses CPU features the machine
// lacks (checked with cpuid), instead of letting it die of SIGILL.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_RUNTIME_CPUFEATURES_H
#define COIL_RUNTIME_CPUFEATURES_H

#include <string>
#include <vector>

namespace coil::runtime {

/// The names in `required` (abi.h's COIL_ABI_CPU_FEATURES spelling) this
/// CPU does not have; names the runtime does not know count as missing.
std::vector<std::string>
missingCpuFeatures(const std::vector<std::string> &required);

} // namespace coil::runtime

#endif // COIL_RUNTIME_CPUFEATURES_H
