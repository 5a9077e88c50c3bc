//===- Passes.td - Coil conversion passes ------------------*- tablegen -*-===//
//
// Conversions out of the coil dialect. Keep them alphabetical.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_COMPILER_CONVERSION_PASSES_TD
#define COIL_COMPILER_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertCoilToLoopsPass : Pass<"convert-coil-to-loops", "::mlir::ModuleOp"> {
  let summary = "Lower outlined coil kernels to loops and vectors on memrefs";
  let description = [{
    Rewrites every function marked `coil.kernel` (see --coil-outline-kernels)
    from tensors to buffers in destination-passing style: each tensor input
    becomes a memref argument, each result becomes a trailing memref output
    argument that the caller provides, and the function returns nothing. The
    function gets `llvm.emit_c_interface`, so it can be called through
    `_mlir_ciface_<name>` with descriptor pointers.

    Each coil op becomes a loop nest over `scf`, `memref`, `arith`, `math`
    and `vector`:

    * `linear`: a register tile of 4 rows x 1 output feature; every weight
      element loaded is used for 4 rows; the reduction over input features
      is contiguous and vectorised by LLVM (reassociation is allowed).
    * `rms_norm`/`layer_norm`: one pass for the statistics, one to scale.
    * `scan`: one sequence and channel at a time, the state of N values held
      in a vector register across the whole sequence; A, B and C rows are
      vector loads.
    * `attention`: the new keys/values are written into the cache at their
      positions, then each query runs an online (flash-style) softmax over
      cache slots `j <= position` with the running max, sum and output row
      in registers; no `T x T` buffer exists.
    * `conv1d_causal`, `rope`, `embed`, elementwise ops, `slice`/`split`,
      `reshape`: direct loops.

    State results (`state_out`, `k_cache_out`, `v_cache_out`) are written
    in place: the caller passes the same buffer as the matching state input.
    Intermediate values inside a kernel get buffers from `memref.alloc`. Only
    f32 tensors are supported; other element types are rejected with an
    error at the op.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect", "::mlir::func::FuncDialect"
  ];
}

def CoilEmitRuntimeABIPass : Pass<"coil-emit-runtime-abi", "::mlir::ModuleOp"> {
  let summary = "Add the runtime's entry symbols to an LLVM-dialect module";
  let description = [{
    Runs on the LLVM dialect, after the kernels were lowered with
    `llvm.emit_c_interface`. For every `_mlir_ciface_<name>` it adds

    ```c
    void coil_kernel_<name>(void **args);
    ```

    which loads one descriptor pointer per argument from `args` and calls
    the kernel, so the runtime can call every kernel the same way. It also
    turns the module attribute `coil.metadata` (from
    --coil-extract-schedule) into the exported constant string
    `coil_model_metadata`. See docs/abi.md.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif // COIL_COMPILER_CONVERSION_PASSES_TD
