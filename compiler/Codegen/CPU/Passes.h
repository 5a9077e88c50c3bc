//===- Passes.h - Coil CPU code generation passes ---------------*- C++ -*-===//
//
// Declarations of the passes in Passes.td.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_COMPILER_CODEGEN_CPU_PASSES_H
#define COIL_COMPILER_CODEGEN_CPU_PASSES_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::coil {

#define GEN_PASS_DECL
#include "compiler/Codegen/CPU/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "compiler/Codegen/CPU/Passes.h.inc"

} // namespace mlir::coil

#endif // COIL_COMPILER_CODEGEN_CPU_PASSES_H
