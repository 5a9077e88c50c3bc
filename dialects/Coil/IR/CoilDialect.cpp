//===- CoilDialect.cpp - Coil dialect registration --------------*- C++ -*-===//
//
// Registers the ops of the `coil` dialect with the context.
//
//===----------------------------------------------------------------------===//

#include "dialects/Coil/IR/CoilDialect.h"
#include "dialects/Coil/IR/CoilOps.h"

using namespace mlir;
using namespace mlir::coil;

#include "dialects/Coil/IR/CoilDialect.cpp.inc"

void CoilDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/Coil/IR/CoilOps.cpp.inc"
      >();
}
