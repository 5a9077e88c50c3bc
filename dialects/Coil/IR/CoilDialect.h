//===- CoilDialect.h - Coil dialect declaration -----------------*- C++ -*-===//
//
// Declares the `coil` dialect class. Include CoilOps.h for the ops.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_DIALECTS_COIL_IR_COILDIALECT_H
#define COIL_DIALECTS_COIL_IR_COILDIALECT_H

#include "mlir/IR/Dialect.h"

#include "dialects/Coil/IR/CoilDialect.h.inc"

#endif // COIL_DIALECTS_COIL_IR_COILDIALECT_H
