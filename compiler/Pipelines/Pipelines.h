//===- Pipelines.h - Coil's named pass pipelines ----------------*- C++ -*-===//
//
// The pipelines coilc runs, each also registered for coil-opt so every stage
// can be run and printed on its own:
//
//   coil IR --coil-kernels-pipeline--> fused, outlined kernels (--emit=kernels)
//           --coil-loops-pipeline----> schedule metadata + loops (--emit=loops)
//           --coil-llvm-pipeline-----> LLVM dialect + runtime ABI
//
//===----------------------------------------------------------------------===//

#ifndef COIL_COMPILER_PIPELINES_PIPELINES_H
#define COIL_COMPILER_PIPELINES_PIPELINES_H

namespace mlir {
class OpPassManager;
namespace coil {

/// coil IR -> fused kernels outlined into de-duplicated functions:
/// canonicalize, CSE, --coil-fuse-kernels, --coil-outline-kernels,
/// symbol DCE.
void buildKernelsPipeline(OpPassManager &pm);

/// Outlined kernels -> every kernel value a result
/// (--coil-expose-kernel-temporaries), schedule metadata
/// (--coil-extract-schedule) and kernels as multi-threaded loops and
/// vectors on memrefs (--convert-coil-to-loops), then canonicalize and CSE.
void buildLoopsPipeline(OpPassManager &pm);

/// Loops on memrefs -> the LLVM dialect (scf, vector, memref, math, arith,
/// cf, func to LLVM) and the runtime ABI symbols (--coil-emit-runtime-abi).
void buildLLVMPipeline(OpPassManager &pm);

/// All three in order: coil IR -> LLVM dialect ready for translation.
void buildCompilePipeline(OpPassManager &pm);

/// Registers the pipelines above with the pass registry
/// (`--coil-kernels-pipeline`, `--coil-loops-pipeline`,
/// `--coil-llvm-pipeline`, `--coil-compile-pipeline`).
void registerPipelines();

} // namespace coil
} // namespace mlir

#endif // COIL_COMPILER_PIPELINES_PIPELINES_H
