//===- coil-opt.cpp - Coil's optimizer driver -------------------*- C++ -*-===//
//
// MlirOptMain over the coil dialect and the upstream dialects and passes Coil
// uses: parse, verify, run any registered pass or pipeline, print the IR. All
// the standard flags work (--mlir-print-ir-after-all, --mlir-timing, ...).
//
//===----------------------------------------------------------------------===//

#include "compiler/InitAll.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::coil::registerAllPasses();
  mlir::DialectRegistry registry;
  mlir::coil::registerAllDialects(registry);
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "Coil optimizer driver\n", registry));
}
