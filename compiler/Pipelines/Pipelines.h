//===- Pipelines.h - Coil's named pass pipelines ----------------*- C++ -*-===//
//
// The pipelines coilc runs, each also registered for coil-opt so every stage
// can be run and printed on its own.
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

/// Registers the pipelines above with the pass registry
/// (`--coil-kernels-pipeline`).
void registerPipelines();

} // namespace coil
} // namespace mlir

#endif // COIL_COMPILER_PIPELINES_PIPELINES_H
