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

LogicalResult CoilDialect::verifyOperationAttribute(Operation *op,
                                                    NamedAttribute attribute) {
  StringRef name = attribute.getName().getValue();
  if (name == "coil.vocab_size" || name == "coil.max_context") {
    auto value = dyn_cast<IntegerAttr>(attribute.getValue());
    if (!value || !value.getType().isInteger(64) || value.getInt() < 1)
      return op->emitOpError()
             << "attribute '" << name << "' must be a positive i64, found "
             << attribute.getValue();
  } else if (name == "coil.family") {
    if (!isa<StringAttr>(attribute.getValue()))
      return op->emitOpError()
             << "attribute 'coil.family' must be a string, found "
             << attribute.getValue();
  }
  return success();
}
