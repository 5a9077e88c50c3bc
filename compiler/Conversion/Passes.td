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
    becomes a memref argument, each result a trailing memref output argument
    the caller provides, followed by the tile index, the tile count and the
    runtime's synchronisation object (`index, index, !llvm.ptr`); the
    function returns nothing and gets `llvm.emit_c_interface`. Every value a
    kernel computes must be one of its results
    (--coil-expose-kernel-temporaries), so kernels never allocate.

    The runtime runs a kernel on all its threads at once (docs/abi.md). Each
    op computes this tile's share of its outermost parallel loop, and the
    tiles meet at a barrier (`coil_kernel_barrier`) before the next op reads
    what they wrote:

    * `linear`, as its `coil.lowering_config` says
      (--coil-cpu-select-strategy): over a weight packed in panels
      (`[panels, K, nr]`), tiles take contiguous ranges of panels; each
      panel is swept by broadcast-FMA register tiles of `mr` rows x `nr`
      features per block of `mc` rows and `kc` input features, with the
      bias and the epilogue (element-wise ops, a split into whole panels)
      applied on the registers before the one store; a folded rms_norm
      (the config's prologue) is not lowered, its rows' 1 / rms scale the
      sums instead. Over a weight as
      stored, tiles split the output features in blocks of 64 with a
      4 x 4 inner-product tile. Decode (one row) uses every thread.
    * `rms_norm`/`layer_norm`, `embed`, `rope`: rows.
    * `scan` and `conv1d_causal`: channels. The scan holds one channel's
      N-element state in a vector register for the whole sequence.
    * `attention`: kv heads write the new keys/values at their positions,
      barrier, then query heads run an online (flash-style) softmax over
      cache slots `j <= position` with the running max, sum and output row in
      registers; no `T x T` buffer exists.
    * elementwise ops, `slice`/`split`/`reshape`: elements or outer rows.

    State results (`state_out`, `k_cache_out`, `v_cache_out`) are written
    in place: the caller passes the same buffer as the matching state input.
    Only f32 tensors are supported; other element types are rejected with an
    error at the op.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect", "::mlir::func::FuncDialect",
    "::mlir::LLVM::LLVMDialect"
  ];
}

def CoilEmitRuntimeABIPass : Pass<"coil-emit-runtime-abi", "::mlir::ModuleOp"> {
  let summary = "Add the runtime's entry symbols to an LLVM-dialect module";
  let description = [{
    Runs on the LLVM dialect, after the kernels were lowered with
    `llvm.emit_c_interface`. For every `_mlir_ciface_<name>` it adds

    ```c
    void coil_kernel_<name>(void **args, int64_t tile, int64_t tiles,
                            void *sync);
    ```

    which loads one descriptor pointer per memref argument from `args` and
    calls the kernel with them and the tile index, tile count and `sync`
    object, so the runtime can call every kernel the same way. It defines
    `coil_kernel_barrier(sync)`, which calls the barrier function the
    runtime stores first in `sync`, and, when declared (--profile),
    `coil_kernel_enter/exit(sync, tile, kernel)`, which call the second and
    third. It also turns the module attribute
    `coil.metadata` (from --coil-extract-schedule) into the exported
    constant string `coil_model_metadata`. See docs/abi.md.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def CoilInstrumentKernelsPass
    : Pass<"coil-instrument-kernels", "::mlir::ModuleOp"> {
  let summary = "Time every kernel call through the runtime's profiler hooks";
  let description = [{
    For `coilc --profile`. Runs on kernels lowered by --convert-coil-to-loops:
    every kernel function calls `coil_kernel_enter(sync, tile, kernel)` first
    and `coil_kernel_exit(sync, tile, kernel)` before it returns, with its
    index in the metadata's kernel table, so the runtime can time each call
    on each thread. The metadata records `"profiled": true`. Without this
    pass nothing at all is inserted. --coil-emit-runtime-abi implements the
    two functions by calling the hooks the runtime stores in `sync`.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::LLVM::LLVMDialect"];
}

#endif // COIL_COMPILER_CONVERSION_PASSES_TD
