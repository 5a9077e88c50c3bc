//===- Pipelines.cpp - Coil's named pass pipelines --------------*- C++ -*-===//
//
// Pipeline builders shared by coilc and coil-opt.
//
//===----------------------------------------------------------------------===//

#include "compiler/Pipelines/Pipelines.h"

#include "compiler/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::coil::buildKernelsPipeline(OpPassManager &pm) {
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addNestedPass<func::FuncOp>(createCoilFuseKernelsPass());
  pm.addPass(createCoilOutlineKernelsPass());
  pm.addPass(createSymbolDCEPass());
}

void mlir::coil::registerPipelines() {
  PassPipelineRegistration<>(
      "coil-kernels-pipeline",
      "Fuse coil ops into kernels and outline them into de-duplicated "
      "functions",
      [](OpPassManager &pm) { buildKernelsPipeline(pm); });
}
