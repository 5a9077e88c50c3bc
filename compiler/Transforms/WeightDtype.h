//===- WeightDtype.h - The weights --coil-weight-dtype changes --*- C++ -*-===//

#ifndef COIL_COMPILER_TRANSFORMS_WEIGHTDTYPE_H
#define COIL_COMPILER_TRANSFORMS_WEIGHTDTYPE_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringSet.h"

namespace mlir::coil {

/// The names of the float matrices every use of which, in every function
/// of `module`, is a linear's weight or an embedding's table: what
/// --coil-weight-dtype stores in another type.
llvm::StringSet<> narrowableWeights(ModuleOp module);

} // namespace mlir::coil

#endif // COIL_COMPILER_TRANSFORMS_WEIGHTDTYPE_H
