//===- Passes.td - Coil graph-level passes -----------------*- tablegen -*-===//
//
// Passes on coil IR: forming fused kernels and outlining them into
// de-duplicated functions. Keep them alphabetical.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_COMPILER_TRANSFORMS_PASSES_TD
#define COIL_COMPILER_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def CoilExposeKernelTemporariesPass
    : Pass<"coil-expose-kernel-temporaries", "::mlir::ModuleOp"> {
  let summary = "Make every value a kernel computes one of its results";
  let description = [{
    Appends every value computed inside an outlined kernel function that is
    not already returned to the function's results, and updates every call
    site (the new results are unused there). The runtime then owns every
    buffer a kernel writes: intermediate values live in the session's scratch
    (reused by --coil-extract-schedule as soon as they are dead), kernels
    never allocate, and all the threads running one kernel share them, which
    is what lets each op of a kernel be split across threads with a barrier
    in between.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def CoilExtractSchedulePass
    : Pass<"coil-extract-schedule", "::mlir::ModuleOp"> {
  let summary = "Turn the entry points into the runtime's schedule metadata";
  let description = [{
    After --coil-outline-kernels, the entry points (`@prefill`, `@decode`)
    only read weights and call kernels. This pass records them as the JSON
    metadata of the compiled-model ABI (docs/abi.md): the weights, the state
    buffers, the kernel table, and per entry point its buffers and the
    ordered kernel calls. It stores the text in the module attribute
    `coil.metadata` and erases the entry points; the runtime executes the
    schedule and the kernels are compiled on their own.

    Buffers: `tokens` and `positions`, one per state (updated in place: a
    kernel returning a state must also read it), one per weight, `logits`,
    and temporaries. Temporaries are reused once their last reader has run
    (same shape and type only), so scratch memory is about one layer's worth,
    not the whole model's. Dynamic extents are named by position: dimension
    0 is the batch `B`, dimension 1 of activations the sequence `T`, any
    other dynamic dimension the context capacity `S`.
  }];
}

def CoilFuseKernelsPass : Pass<"coil-fuse-kernels", "::mlir::func::FuncOp"> {
  let summary = "Group coil ops into coil.kernel regions";
  let description = [{
    Partitions every coil op of a function (except `coil.weight`, which
    becomes a kernel input) into `coil.kernel` regions, the unit of code
    generation and profiling. Groups are formed around anchor ops:

    * a norm together with the linear layers that read it (rms_norm + q, k, v
      projections; rms_norm + gate/up projections);
    * a linear layer with its epilogue: activation, elementwise product with
      a value already computed (SwiGLU), residual add, and a split of its
      result;
    * rope on q and k together with the attention that reads them (the
      softmax is inside `coil.attention`);
    * the causal conv with its SiLU;
    * the selective scan (softplus of Δ, D skip and silu(z) gating are part
      of `coil.scan`; canonicalization folds explicit ones into it);
    * weight-only producers (reshape, exp, neg of parameters) go into the
      kernel that consumes them.

    Every other op forms a kernel of its own. In a function where every
    linear reads one row per sequence (`[B, 1, K]`: decode), where a call
    costs as much as the work of a small kernel, the groups then merge in
    block order: a group joins the one before it unless either begins with
    a norm. A Mamba layer decodes in two kernels (norm + in_proj | conv,
    x_proj, dt_proj, scan, out_proj + residual), a Llama layer in four
    (norm + q, k, v | rope, attention, o_proj + residual | norm + gate, up |
    down + residual); each op is lowered as before, a barrier apart.

    A group only takes an operand
    from outside if it is defined before the group's first op, so groups are
    always convex and the kernel is placed at the group's first op. Kernels
    are named after the ops they fused, e.g. `rms_norm_linear`.

    ```mlir
    %n = coil.rms_norm %h, %w : ...
    %q = coil.linear %n, %wq : ...
    ```
    becomes
    ```mlir
    %q = coil.kernel "rms_norm_linear"(%h, %w, %wq) : ... {
    ^bb0(%a: ..., %b: ..., %c: ...):
      %n = coil.rms_norm %a, %b : ...
      %q = coil.linear %n, %c : ...
      coil.yield %q : ...
    }
    ```
  }];
  let dependentDialects = ["::mlir::coil::CoilDialect"];
}

def CoilOutlineKernelsPass : Pass<"coil-outline-kernels", "::mlir::ModuleOp"> {
  let summary = "Outline coil.kernel regions into de-duplicated functions";
  let description = [{
    Moves the body of every `coil.kernel` into a private function and
    replaces the kernel with a `func.call`. Kernels with the same name,
    input and result types and an equivalent body (the same op chain on the
    same static shapes) share one function, called with each layer's own
    weights, so code size and compile time do not grow with depth: the 24
    layers of mamba-130m produce the functions of one layer.

    Outlined functions carry the unit attribute `coil.kernel` and the number
    of call sites in `coil.calls`.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def CoilWeightDtypePass : Pass<"coil-weight-dtype", "::mlir::ModuleOp"> {
  let summary = "Store the model's matrices in a narrower element type";
  let description = [{
    Changes the element type of every `coil.weight` whose every use, in
    every function of the module, is the weight of a `coil.linear` or the
    table of a `coil.embed`: the linear layers, the embedding and the LM
    head (a tied embedding is both). Everything else stays as it is: norm
    weights, biases (dt_proj's too), A_log, D, the conv's weights, and every
    activation and recurrent state, so only the matrices that decode reads
    per token get narrower. The runtime converts the checkpoint's tensors to
    the new type when it binds them (round to nearest even), the reference
    interpreter rounds them the same way, and the lowering widens each
    weight vector in registers, so the arithmetic stays f32.

    `dtype=int8` stores each such matrix as its symmetric int8
    quantization (`coil.weight ... : tensor<NxKxi8>`, one scale per row:
    see `coil.weight`) and adds its scales (`coil.weight ... scales`) to
    every linear and embedding reading it; the runtime and the interpreter
    quantize the stored float tensor the same way, and the lowering
    converts each int8 vector to f32 in registers and scales the sums.
    `dtype=int4` quantizes in groups of 32 along K (`tensor<NxKxi4>`,
    scales `[N, K / 32]`), packed two per byte by the runtime; a matrix
    whose K is not a multiple of 32 takes int8 instead.

    `dtype=f32` leaves the module unchanged.
  }];
  let options = [
    Option<"dtype", "dtype", "std::string", /*default=*/"\"f32\"",
           "The weights' element type: f32, bf16, f16, int8 or int4">,
  ];
}

#endif // COIL_COMPILER_TRANSFORMS_PASSES_TD
