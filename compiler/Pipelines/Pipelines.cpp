//===- Pipelines.cpp - Coil's named pass pipelines --------------*- C++ -*-===//
//
// Pipeline builders shared by coilc and coil-opt.
//
//===----------------------------------------------------------------------===//

#include "compiler/Pipelines/Pipelines.h"

#include "compiler/Codegen/CPU/Passes.h"
#include "compiler/Conversion/Passes.h"
#include "compiler/Transforms/Passes.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
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

void mlir::coil::buildLoopsPipeline(OpPassManager &pm,
                                    const PipelineOptions &options) {
  pm.addPass(createCoilExposeKernelTemporariesPass());
  pm.addPass(createCoilCpuSelectStrategyPass(
      CoilCpuSelectStrategyPassOptions{options.targetCpu}));
  pm.addPass(createCoilExtractSchedulePass());
  pm.addPass(createConvertCoilToLoopsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void mlir::coil::buildLLVMPipeline(OpPassManager &pm) {
  pm.addPass(createConvertSCFToCFPass());
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  // Intrinsics first (floor, fma, sqrt, exp... become instructions); what
  // LLVM has no intrinsic for (erf, tanh) goes to libm.
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCoilEmitRuntimeABIPass());
}

void mlir::coil::buildCompilePipeline(OpPassManager &pm,
                                      const PipelineOptions &options) {
  buildKernelsPipeline(pm);
  buildLoopsPipeline(pm, options);
  buildLLVMPipeline(pm);
}

namespace {

struct RegisteredPipelineOptions
    : public PassPipelineOptions<RegisteredPipelineOptions> {
  Option<std::string> targetCpu{
      *this, "target-cpu",
      llvm::cl::desc("The CPU to generate code for: host, or an x86-64 CPU "
                     "name LLVM knows"),
      llvm::cl::init("host")};

  coil::PipelineOptions get() const { return coil::PipelineOptions{targetCpu}; }
};

} // namespace

void mlir::coil::registerPipelines() {
  PassPipelineRegistration<>(
      "coil-kernels-pipeline",
      "Fuse coil ops into kernels and outline them into de-duplicated "
      "functions",
      [](OpPassManager &pm) { buildKernelsPipeline(pm); });
  PassPipelineRegistration<RegisteredPipelineOptions>(
      "coil-loops-pipeline",
      "Choose each kernel's lowering, extract the runtime schedule and lower "
      "kernels to loops on memrefs",
      [](OpPassManager &pm, const RegisteredPipelineOptions &options) {
        buildLoopsPipeline(pm, options.get());
      });
  PassPipelineRegistration<>(
      "coil-llvm-pipeline",
      "Lower loops on memrefs to the LLVM dialect with the runtime ABI",
      [](OpPassManager &pm) { buildLLVMPipeline(pm); });
  PassPipelineRegistration<RegisteredPipelineOptions>(
      "coil-compile-pipeline", "coil IR to the LLVM dialect, all stages",
      [](OpPassManager &pm, const RegisteredPipelineOptions &options) {
        buildCompilePipeline(pm, options.get());
      });
}
