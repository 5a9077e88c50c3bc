//===- CpuTarget.h - What the code generator knows of a CPU -----*- C++ -*-===//
//
// The target description the CPU strategy chooses from: the LLVM CPU name
// and feature string code is generated for, the vector ISA class that picks
// the micro-kernels (x86-64 baseline, AVX2 + FMA, AVX-512), its registers,
// and the cache sizes that size the blocks. Resolved from "host" (the
// machine coilc runs on) or from any x86-64 CPU name LLVM knows
// (`coilc --target-cpu=znver3`), for tests and cross-compiling.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_COMPILER_CODEGEN_CPU_CPUTARGET_H
#define COIL_COMPILER_CODEGEN_CPU_CPUTARGET_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mlir {
class DictionaryAttr;
class MLIRContext;
namespace coil {

/// The vector instruction sets the micro-kernels are written for.
enum class CpuIsa { X86_64, AVX2, AVX512 };

/// "x86-64", "avx2" or "avx512".
llvm::StringRef cpuIsaName(CpuIsa isa);

struct CpuTarget {
  /// The LLVM CPU name ("znver3", "sapphirerapids", "x86-64-v3").
  std::string cpu;
  /// The LLVM feature string ("+avx2,+fma,..."); empty: the CPU's own.
  std::string features;
  CpuIsa isa = CpuIsa::X86_64;
  /// Bits of one vector register and how many there are.
  int64_t vectorBits = 128;
  int64_t vectorRegisters = 16;
  /// Per-core data cache sizes in bytes.
  int64_t l1Bytes = 32 * 1024;
  int64_t l2Bytes = 512 * 1024;
  /// The CPU features the generated code may use that a loader can check
  /// (cpuid names: "avx2", "fma", "avx512f", ...), sorted.
  std::vector<std::string> requiredFeatures;

  /// f32 lanes of one vector register.
  int64_t f32Lanes() const { return vectorBits / 32; }

  /// The description as the `coil.target` module attribute (read back by
  /// compiler/Target for code generation and by --coil-extract-schedule).
  DictionaryAttr toAttr(MLIRContext *context) const;
};

/// The target for `name`: "host", or an x86-64 CPU LLVM knows. An unknown
/// name is an error that lists how to find the known ones.
llvm::Expected<CpuTarget> resolveCpuTarget(llvm::StringRef name);

/// The features a loader can check with cpuid, as `requiredFeatures` uses.
const std::vector<llvm::StringRef> &checkableCpuFeatures();

} // namespace coil
} // namespace mlir

#endif // COIL_COMPILER_CODEGEN_CPU_CPUTARGET_H
