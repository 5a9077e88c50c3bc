//===- CoilOps.h - Coil dialect operations ----------------------*- C++ -*-===//
//
// Declares the ops of the `coil` dialect (generated from CoilOps.td).
//
//===----------------------------------------------------------------------===//

#ifndef COIL_DIALECTS_COIL_IR_COILOPS_H
#define COIL_DIALECTS_COIL_IR_COILOPS_H

#include "dialects/Coil/IR/CoilDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "dialects/Coil/IR/CoilOps.h.inc"

#endif // COIL_DIALECTS_COIL_IR_COILOPS_H
