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

#include <string>

namespace mlir {
class OpPassManager;
namespace coil {

/// What the pipelines need to know of the target.
struct PipelineOptions {
  /// The CPU to generate code for (--coil-cpu-select-strategy's
  /// target-cpu): "host" or an x86-64 CPU name LLVM knows.
  std::string targetCpu = "host";
};

/// coil IR -> fused kernels outlined into de-duplicated functions:
/// canonicalize, CSE, --coil-fuse-kernels, --coil-outline-kernels,
/// symbol DCE.
void buildKernelsPipeline(OpPassManager &pm);

/// Outlined kernels -> every kernel value a result
/// (--coil-expose-kernel-temporaries), the target and each kernel's
/// lowering choices (--coil-cpu-select-strategy), schedule metadata
/// (--coil-extract-schedule) and kernels as multi-threaded loops and
/// vectors on memrefs (--convert-coil-to-loops), then canonicalize and CSE.
void buildLoopsPipeline(OpPassManager &pm, const PipelineOptions &options = {});

/// Loops on memrefs -> the LLVM dialect (scf, vector, memref, math, arith,
/// cf, func to LLVM) and the runtime ABI symbols (--coil-emit-runtime-abi).
void buildLLVMPipeline(OpPassManager &pm);

/// All three in order: coil IR -> LLVM dialect ready for translation.
void buildCompilePipeline(OpPassManager &pm,
                          const PipelineOptions &options = {});

/// Registers the pipelines above with the pass registry
/// (`--coil-kernels-pipeline`, `--coil-loops-pipeline`,
/// `--coil-llvm-pipeline`, `--coil-compile-pipeline`; the loops and compile
/// pipelines take `target-cpu=NAME`).
void registerPipelines();

} // namespace coil
} // namespace mlir

#endif // COIL_COMPILER_PIPELINES_PIPELINES_H
