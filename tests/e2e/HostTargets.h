//===- HostTargets.h - The micro-kernel families a test can run -*- C++ -*-===//
//
// The end-to-end tests compile for every micro-kernel family: x86-64 (SSE),
// x86-64-v3 (AVX2 + FMA) and x86-64-v4 (AVX-512), and run the ones this
// machine can execute; the others are skipped, never passed.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_TESTS_E2E_HOSTTARGETS_H
#define COIL_TESTS_E2E_HOSTTARGETS_H

#include "compiler/Codegen/CPU/CpuTarget.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/TargetParser/Host.h"

#include <string>

namespace coil::testing {

/// One CPU name per micro-kernel family.
inline constexpr const char *kTargetCpus[] = {"x86-64", "x86-64-v3",
                                              "x86-64-v4"};

/// Whether this machine has every feature code for `cpu` may use; if not,
/// `missing` lists what it lacks.
inline bool hostRuns(llvm::StringRef cpu, std::string &missing) {
  llvm::Expected<mlir::coil::CpuTarget> target =
      mlir::coil::resolveCpuTarget(cpu);
  if (!target) {
    missing = llvm::toString(target.takeError());
    return false;
  }
  llvm::StringMap<bool> host = llvm::sys::getHostCPUFeatures();
  for (const std::string &f : target->requiredFeatures)
    if (!host.lookup(f))
      missing += (missing.empty() ? "" : ", ") + f;
  return missing.empty();
}

} // namespace coil::testing

#endif // COIL_TESTS_E2E_HOSTTARGETS_H
