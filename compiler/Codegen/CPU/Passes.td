//===- Passes.td - Coil CPU code generation passes ---------*- tablegen -*-===//
//
// The passes that know registers, caches and the ISA of a CPU. Keep them
// alphabetical.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_COMPILER_CODEGEN_CPU_PASSES_TD
#define COIL_COMPILER_CODEGEN_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def CoilCpuSelectStrategyPass
    : Pass<"coil-cpu-select-strategy", "::mlir::ModuleOp"> {
  let summary = "Choose and record how each kernel is lowered for a CPU";
  let description = [{
    Resolves the target CPU (`target-cpu`: "host", the machine the compiler
    runs on, or any x86-64 CPU name LLVM knows, e.g. `znver3`,
    `x86-64-v3`, `sapphirerapids`) into a target description, recorded on
    the module as `coil.target` (CPU, feature string, ISA class, vector
    width and registers, cache sizes, the cpuid features the code will
    need). Code generation (compiler/Target) and the compiled model's
    metadata read it, so a model compiled for one CPU runs only where its
    features exist.

    For every `coil.linear` of an outlined kernel function it records the
    lowering as `coil.lowering_config`, a dictionary the contraction
    lowering of --convert-coil-to-loops follows:

    * `isa`: the micro-kernel family ("avx512", "avx2", "x86-64").
    * `tile = [mr, nr]`: the register tile, `mr` input rows by `nr` output
      features (`nr` a multiple of the vector width): 12 x 32 on AVX-512
      (24 of the 32 zmm registers accumulate), 6 x 16 on AVX2 (12 of 16
      ymm), 6 x 8 on x86-64 (12 of 16 xmm). Each weight vector loaded
      feeds `mr` FMAs, each broadcast input `nr / lanes`.
    * `vector`: f32 lanes of one register.
    * `mc`: the most rows per cache block, so that `mc` rows of the input
      (mc x K floats) take at most half the L2 and stay there while every
      weight panel of the tile's share streams past them; the rows go in
      ceil(M / mc) blocks of equal size.
    * `kc`: input features per cache block: K itself while a whole panel
      (K x nr weights) takes at most a quarter of the L2 (it streams from
      there with no partial sums), else so that kc x nr weights take half
      the L1 and serve every row tile of the block.
    * `epilogue`: the element-wise ops after the linear (and a final
      `split` into pieces of whole panels) applied on the register tile
      before its one store, when nothing else reads the values in between.
    * `prologue`: `["rms_norm"]` when the linear folds the rms_norm whose
      rows it reads: the norm's weight is a model parameter at every call
      site, no caller reads the normalised rows, and every reader is a
      linear whose packed weight nobody else reads. The linear then reads
      the norm's input; its panels hold the weight times the norm's weight
      along K, and the tile scales each row's sums by the row's 1 / rms.
    * `weights`: "panels" when the weight is packed at bind time into
      panels of `nr` output features (`[ceil(N/nr), K, nr]`, see docs/abi.md),
      so the micro-kernel reads it contiguously; "rows" (the stored `[N, K]`
      layout, a 4 x 4 inner-product tile) when it cannot be packed (the
      weight is not a model parameter at every call site, or the kernel also
      reads it in another way).
    * `split = "panels"`: threads take contiguous ranges of whole panels
      (output features), so decode (one row) uses every thread and each
      output is computed by one thread with the same code whatever the
      thread count.

    A packed weight argument of the kernel function gets
    `coil.layout = {kind = "panels", n0 = nr}` (with `scale = i` when a
    folded norm's weight, kernel argument i, scales it);
    --coil-extract-schedule records the layout in the weight's metadata and
    the runtime packs it.

    Every `coil.scan` gets `{channels, isa}`: the channels whose states
    for one state index share a vector register (its f32 lanes). Every
    `coil.attention` gets `{isa, queries, keys, tile = [rows, columns],
    vector}`: prefill runs over blocks of `queries` queries of one head
    (one vector's lanes) against blocks of `keys` cached keys, the scores
    one register tile of `keys` accumulators and the product with the
    values a register tile of `rows` queries by `columns` head features:
    16 x 16 and 8 x 32 on AVX-512, 8 x 12 and 4 x 16 on AVX2, 4 x 12 and
    4 x 8 on x86-64.
  }];
  let options = [
    Option<"targetCpu", "target-cpu", "std::string", /*default=*/"\"host\"",
           "The CPU to generate code for: host, or an x86-64 CPU name LLVM "
           "knows">,
  ];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

#endif // COIL_COMPILER_CODEGEN_CPU_PASSES_TD
