//===- CpuTarget.cpp - What the code generator knows of a CPU ---*- C++ -*-===//

#include "compiler/Codegen/CPU/CpuTarget.h"

#include "runtime/include/coil/abi.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/X86TargetParser.h"

#include <algorithm>
#include <unistd.h>

using namespace mlir;
using namespace mlir::coil;

namespace {

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// The ISA class, registers and cache defaults of a CPU with `features`.
void classify(const llvm::StringSet<> &features, CpuTarget &target) {
  bool avx512 = features.contains("avx512f") && features.contains("avx512bw") &&
                features.contains("avx512dq") && features.contains("avx512vl");
  bool avx2 = features.contains("avx2") && features.contains("fma");
  if (avx512) {
    target.isa = CpuIsa::AVX512;
    target.vectorBits = 512;
    target.vectorRegisters = 32;
    target.l1Bytes = 48 * 1024;
    target.l2Bytes = 1024 * 1024;
  } else if (avx2) {
    target.isa = CpuIsa::AVX2;
    target.vectorBits = 256;
    target.vectorRegisters = 16;
    target.l1Bytes = 32 * 1024;
    target.l2Bytes = 512 * 1024;
  } else {
    target.isa = CpuIsa::X86_64;
    target.vectorBits = 128;
    target.vectorRegisters = 16;
    target.l1Bytes = 32 * 1024;
    target.l2Bytes = 256 * 1024;
  }
  for (llvm::StringRef name : checkableCpuFeatures())
    if (features.contains(name))
      target.requiredFeatures.push_back(name.str());
  std::sort(target.requiredFeatures.begin(), target.requiredFeatures.end());
}

/// The host's per-core cache sizes, where the C library reports them.
void readHostCaches(CpuTarget &target) {
#if defined(_SC_LEVEL1_DCACHE_SIZE) && defined(_SC_LEVEL2_CACHE_SIZE)
  long l1 = sysconf(_SC_LEVEL1_DCACHE_SIZE);
  long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
  if (l1 > 0)
    target.l1Bytes = l1;
  if (l2 > 0)
    target.l2Bytes = l2;
#endif
}

} // namespace

StringRef mlir::coil::cpuIsaName(CpuIsa isa) {
  switch (isa) {
  case CpuIsa::AVX512:
    return "avx512";
  case CpuIsa::AVX2:
    return "avx2";
  case CpuIsa::X86_64:
    break;
  }
  return "x86-64";
}

const std::vector<StringRef> &mlir::coil::checkableCpuFeatures() {
#define COIL_FEATURE_NAME(name) name,
  static const std::vector<StringRef> names{
      COIL_ABI_CPU_FEATURES(COIL_FEATURE_NAME)};
#undef COIL_FEATURE_NAME
  return names;
}

llvm::Expected<CpuTarget> mlir::coil::resolveCpuTarget(StringRef name) {
  CpuTarget target;
  llvm::StringSet<> features;
  if (name.empty() || name == "host") {
    target.cpu = llvm::sys::getHostCPUName().str();
    for (const auto &f : llvm::sys::getHostCPUFeatures()) {
      if (!target.features.empty())
        target.features += ",";
      target.features += (f.second ? "+" : "-") + f.first().str();
      if (f.second)
        features.insert(f.first());
    }
    classify(features, target);
    readHostCaches(target);
    return target;
  }
  if (llvm::X86::parseArchX86(name, /*Only64Bit=*/true) == llvm::X86::CK_None)
    return makeError("unknown target CPU '" + name +
                     "' (expected 'host' or an x86-64 CPU name LLVM knows, "
                     "e.g. x86-64, x86-64-v3, haswell, znver3, znver4, "
                     "skylake-avx512, sapphirerapids)");
  target.cpu = name.str();
  llvm::SmallVector<StringRef> cpuFeatures;
  llvm::X86::getFeaturesForCPU(name, cpuFeatures);
  for (StringRef f : cpuFeatures)
    features.insert(f);
  classify(features, target);
  return target;
}

DictionaryAttr CpuTarget::toAttr(MLIRContext *context) const {
  Builder b(context);
  SmallVector<Attribute> required;
  for (const std::string &f : requiredFeatures)
    required.push_back(b.getStringAttr(f));
  return b.getDictionaryAttr({
      b.getNamedAttr("cpu", b.getStringAttr(cpu)),
      b.getNamedAttr("isa", b.getStringAttr(cpuIsaName(isa))),
      b.getNamedAttr("vector_bits", b.getI64IntegerAttr(vectorBits)),
      b.getNamedAttr("vector_registers", b.getI64IntegerAttr(vectorRegisters)),
      b.getNamedAttr("l1_bytes", b.getI64IntegerAttr(l1Bytes)),
      b.getNamedAttr("l2_bytes", b.getI64IntegerAttr(l2Bytes)),
      b.getNamedAttr("features", b.getStringAttr(features)),
      b.getNamedAttr("required_features", b.getArrayAttr(required)),
  });
}
