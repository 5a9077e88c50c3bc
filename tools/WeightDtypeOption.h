//===- WeightDtypeOption.h - The values of --weight-dtype -------*- C++ -*-===//
//
// coilc, coil-run and coil-bench take the same --weight-dtype option.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_TOOLS_WEIGHTDTYPEOPTION_H
#define COIL_TOOLS_WEIGHTDTYPEOPTION_H

#include "compiler/Driver/Compile.h"
#include "compiler/Transforms/WeightDtype.h"
#include "runtime/src/weights/Safetensors.h"
#include "llvm/Support/CommandLine.h"

#include <optional>

namespace coil::tools {

inline auto weightDtypeValues() {
  using mlir::coil::WeightDtype;
  return llvm::cl::values(
      clEnumValN(WeightDtype::F32, "f32", "f32 weights (as trained)"),
      clEnumValN(WeightDtype::BF16, "bf16",
                 "the linears', embedding's and LM head's matrices as bf16"),
      clEnumValN(WeightDtype::F16, "f16", "those matrices as f16"),
      clEnumValN(WeightDtype::Int8, "int8",
                 "those matrices as int8, one f32 scale per output channel"),
      clEnumValN(WeightDtype::Int4, "int4",
                 "those matrices as int4, one f32 scale per 32 inputs (int8 "
                 "where K is not a multiple of 32)"));
}

/// --weight-dtype, with the tool's own description (a string literal).
class WeightDtypeOption : public llvm::cl::opt<mlir::coil::WeightDtype> {
public:
  explicit WeightDtypeOption(const char *description)
      : llvm::cl::opt<mlir::coil::WeightDtype>(
            "weight-dtype", llvm::cl::desc(description),
            llvm::cl::init(mlir::coil::WeightDtype::F32), weightDtypeValues()) {
  }
};

/// The type `files` store `module`'s matrices in (the weights
/// --coil-weight-dtype changes): int4 when any of them is stored as packed
/// int4 and int8 when any is stored as int8 (the format coil-quantize
/// wrote them in), bf16 or f16 when every one of them is, else f32.
/// Without --weight-dtype, coil-run and coil-bench build a checkpoint's
/// model so, and a checkpoint runs in its own format (a bf16 one with the
/// same values as widened to f32, half the bytes per token).
inline mlir::coil::WeightDtype
storedMatrixDtype(mlir::ModuleOp module,
                  const ::coil::weights::WeightFileSet &files) {
  using ::coil::weights::DType;
  using mlir::coil::WeightDtype;
  std::optional<DType> common;
  bool mixed = false, int8 = false, int4 = false;
  for (const auto &name : mlir::coil::narrowableWeights(module)) {
    const ::coil::weights::TensorInfo *tensor = files.find(name.getKey().str());
    if (!tensor)
      return WeightDtype::F32;
    int4 |= tensor->dtype == DType::U8;
    int8 |= tensor->dtype == DType::I8;
    mixed |= common && *common != tensor->dtype;
    common = tensor->dtype;
  }
  if (int4)
    return WeightDtype::Int4;
  if (int8)
    return WeightDtype::Int8;
  if (!mixed && common == DType::BF16)
    return WeightDtype::BF16;
  if (!mixed && common == DType::F16)
    return WeightDtype::F16;
  return WeightDtype::F32;
}

} // namespace coil::tools

#endif // COIL_TOOLS_WEIGHTDTYPEOPTION_H
