//===- CoilOps.td - Coil dialect operations ----------------*- tablegen -*-===//
//
// Every op of the `coil` dialect: weights, embedding, linear layers, norms,
// elementwise math, slicing, rotary embedding, the causal depthwise conv, the
// selective scan, attention with a KV cache, and the `coil.kernel` region that
// fusion forms. Each op's description states its exact math and shapes; the
// verifiers (CoilOps.cpp) reject every mismatch visible in the types.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_DIALECTS_COIL_IR_COILOPS_TD
#define COIL_DIALECTS_COIL_IR_COILOPS_TD

include "dialects/Coil/IR/CoilBase.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

//===----------------------------------------------------------------------===//
// Weights and embedding
//===----------------------------------------------------------------------===//

def Coil_WeightOp : Coil_Op<"weight", [Pure]> {
  let summary = "A named model parameter bound by the runtime";
  let description = [{
    Produces the parameter tensor called `name` in the model's weight files
    (safetensors names, Hugging Face conventions). The result type must be
    fully static: it is the shape and element type the runtime checks the
    bound tensor against; a float tensor of the files converts to any float
    type (widened exactly, or rounded to nearest even).

    An `i8` matrix `[N, K]` is the symmetric int8 quantization of the
    file's float tensor, one scale per row (output channel):
    `scale[n] = max_k |W[n, k]| / 127` (in f32) and
    `q[n, k] = W[n, k] / scale[n]` rounded to nearest even; with `scales`,
    the op produces those scales, `[N]` f32, instead. Linears and
    embeddings read the pair (`q[n, k] * scale[n]` is within `scale[n] / 2`
    of `W[n, k]`). An `i4` matrix (K a multiple of 32) is quantized in
    groups of 32 along K: `scale[n, g] = max |W[n, 32g .. 32g + 31]| / 7`,
    `q[n, k] = W[n, k] / scale[n, k / 32]` rounded to nearest even, in
    [-7, 7]; its `scales` are `[N, K / 32]`.

    ```mlir
    %w = coil.weight "backbone.layers.0.mixer.in_proj.weight" : tensor<3072x768xf32>
    %q = coil.weight "model.layers.0.mlp.up_proj.weight" : tensor<2048x768xi8>
    %s = coil.weight "model.layers.0.mlp.up_proj.weight" scales : tensor<2048xf32>
    ```
  }];
  let arguments = (ins StrAttr:$name, UnitAttr:$scales);
  let results = (outs Coil_WeightTensor:$result);
  let assemblyFormat = "$name (`scales` $scales^)? attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Coil_EmbedOp : Coil_Op<"embed", [Pure]> {
  let summary = "Embedding table lookup";
  let description = [{
    `result[i..., :] = table[ids[i...], :]` for a table `[V, D]` and ids of
    any rank; the result has shape `ids.shape + [D]` and the table's element
    type, or `f32` for a `bf16` or `f16` table (the rows are widened
    exactly, as a model whose matrices are stored narrower reads them). An
    `i8` table needs its per-row `scale` (`[V]`, f32) and gives f32 rows
    `table[id, :] * scale[id]`; an `i4` table its group scales (`[V, D /
    32]`): `table[id, d] * scale[id, d / 32]`. Ids outside `[0, V)` are an error at run
    time (the runtime checks them before any lookup).

    ```mlir
    %h = coil.embed %table, %ids : (tensor<50280x768xf32>, tensor<?x?xi32>) -> tensor<?x?x768xf32>
    %g = coil.embed %q, %ids scale(%s) : (tensor<50280x768xi8>, tensor<?x?xi32>, tensor<50280xf32>) -> tensor<?x?x768xf32>
    ```
  }];
  let arguments = (ins Coil_WeightTensor:$table, Coil_IdTensor:$ids,
                       Optional<Coil_FloatTensor>:$scale);
  let results = (outs Coil_FloatTensor:$result);
  let assemblyFormat =
      "$table `,` $ids (`scale` `(` $scale^ `)`)? attr-dict `:` "
      "functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Linear layers and norms
//===----------------------------------------------------------------------===//

def Coil_LinearOp : Coil_Op<"linear", [Pure, AttrSizedOperandSegments]> {
  let summary = "Affine map of the last dimension: y = x W^T + b";
  let description = [{
    For `x : [..., in]`, `weight : [out, in]` (PyTorch layout) and an optional
    `bias : [out]`:

    `y[..., o] = sum_i x[..., i] * weight[o, i] + bias[o]`

    The result has shape `x.shape[:-1] + [out]` and the element type of `x`.
    Weight and bias may have a different float type than `x` (e.g. `bf16`
    weights with `f32` activations); accumulation is at least `f32`. An
    `i8` weight (see `coil.weight`) needs its per-channel `scale : [out]`:

    `y[..., o] = scale[o] * sum_i x[..., i] * weight[o, i] + bias[o]`

    and an `i4` weight its group scales `scale : [out, in / 32]`:

    `y[..., o] = sum_i x[..., i] * weight[o, i] * scale[o, i / 32] + bias[o]`

    ```mlir
    %y = coil.linear %x, %w, %b : (tensor<?x?x768xf32>, tensor<48x768xf32>, tensor<48xf32>) -> tensor<?x?x48xf32>
    %z = coil.linear %x, %q scale(%s) : (tensor<?x?x768xf32>, tensor<48x768xi8>, tensor<48xf32>) -> tensor<?x?x48xf32>
    ```
  }];
  let arguments = (ins Coil_FloatTensor:$input, Coil_WeightTensor:$weight,
                       Optional<Coil_FloatTensor>:$bias,
                       Optional<Coil_FloatTensor>:$scale);
  let results = (outs Coil_FloatTensor:$result);
  let assemblyFormat = "$input `,` $weight (`,` $bias^)? "
                       "(`scale` `(` $scale^ `)`)? attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

def Coil_RmsNormOp : Coil_Op<"rms_norm", [Pure]> {
  let summary = "Root-mean-square normalisation of the last dimension";
  let description = [{
    For `x : [..., D]` and `weight : [D]`:

    `y[..., i] = x[..., i] / sqrt(mean_j(x[..., j]^2) + epsilon) * weight[i]`

    The mean is over the last dimension and computed in at least `f32`. The
    result has the type of `x`. This is Llama's `LlamaRMSNorm` and Mamba's
    `MambaRMSNorm`.

    With `group_size = S` (a divisor of `D`), each group of `S` consecutive
    features is normalised on its own: the mean for feature `i` runs over
    `j` in `[S * (i / S), S * (i / S) + S)`. This is the grouped norm of
    Mamba-2's gated RMSNorm (`mamba_ssm`'s `RMSNormGated` with
    `group_size = d_inner / n_groups`; the gate is a `coil.mul` by
    `coil.silu(z)` before the norm).

    ```mlir
    %y = coil.rms_norm %x, %w {epsilon = 1.0e-05 : f32} : (tensor<?x?x768xf32>, tensor<768xf32>) -> tensor<?x?x768xf32>
    %g = coil.rms_norm %x, %w {epsilon = 1.0e-05 : f32, group_size = 384 : i64} : (tensor<?x?x768xf32>, tensor<768xf32>) -> tensor<?x?x768xf32>
    ```
  }];
  let arguments = (ins Coil_FloatTensor:$input, Coil_FloatTensor:$weight,
                       DefaultValuedAttr<F32Attr, "1.0e-5">:$epsilon,
                       OptionalAttr<I64Attr>:$group_size);
  let results = (outs Coil_FloatTensor:$result);
  let assemblyFormat =
      "$input `,` $weight attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Coil_LayerNormOp : Coil_Op<"layer_norm", [Pure]> {
  let summary = "Layer normalisation of the last dimension";
  let description = [{
    For `x : [..., D]`, `weight : [D]` and an optional `bias : [D]`:

    `mu = mean_j x[..., j]`, `var = mean_j (x[..., j] - mu)^2` (biased),
    `y[..., i] = (x[..., i] - mu) / sqrt(var + epsilon) * weight[i] + bias[i]`

    The result has the type of `x`.

    ```mlir
    %y = coil.layer_norm %x, %w, %b {epsilon = 1.0e-05 : f32} : (tensor<?x?x768xf32>, tensor<768xf32>, tensor<768xf32>) -> tensor<?x?x768xf32>
    ```
  }];
  let arguments = (ins Coil_FloatTensor:$input, Coil_FloatTensor:$weight,
                       Optional<Coil_FloatTensor>:$bias,
                       DefaultValuedAttr<F32Attr, "1.0e-5">:$epsilon);
  let results = (outs Coil_FloatTensor:$result);
  let assemblyFormat = "$input `,` $weight (`,` $bias^)? attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

class Coil_UnaryOp<string mnemonic, list<Trait> traits = []>
    : Coil_Op<mnemonic, !listconcat(traits, [Pure, Elementwise,
                                              SameOperandsAndResultType])> {
  let arguments = (ins Coil_FloatTensor:$input);
  let results = (outs Coil_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

class Coil_BinaryOp<string mnemonic, list<Trait> traits = []>
    : Coil_Op<mnemonic, !listconcat(traits, [Pure, Elementwise,
                                              SameOperandsAndResultType])> {
  let arguments = (ins Coil_FloatTensor:$lhs, Coil_FloatTensor:$rhs);
  let results = (outs Coil_FloatTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
}

def Coil_SiluOp : Coil_UnaryOp<"silu"> {
  let summary = "SiLU (swish): y = x * sigmoid(x)";
  let description = [{
    `y = x / (1 + exp(-x))`, elementwise.

    ```mlir
    %y = coil.silu %x : tensor<?x?x1536xf32>
    ```
  }];
}

def Coil_Relu2Op : Coil_UnaryOp<"relu2"> {
  let summary = "Squared ReLU: y = max(x, 0)^2";
  let description = [{
    `y = max(x, 0) * max(x, 0)`, elementwise (Hugging Face's `relu2`, the
    MLP activation of Nemotron-H).

    ```mlir
    %y = coil.relu2 %x : tensor<?x?x2688xf32>
    ```
  }];
}

def Coil_GeluOp : Coil_UnaryOp<"gelu"> {
  let summary = "GELU: y = x * Phi(x)";
  let description = [{
    Exact form `y = 0.5 * x * (1 + erf(x / sqrt(2)))`; with the unit attribute
    `tanh_approximation`, the tanh form
    `y = 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))`
    (PyTorch `approximate="tanh"`).

    ```mlir
    %y = coil.gelu %x {tanh_approximation} : tensor<?x?x3072xf32>
    ```
  }];
  let arguments = (ins Coil_FloatTensor:$input, UnitAttr:$tanh_approximation);
}

def Coil_SoftplusOp : Coil_UnaryOp<"softplus"> {
  let summary = "Softplus: y = log(1 + exp(x))";
  let description = [{
    `y = log(1 + exp(x))` for `x <= 20` and `y = x` above, as PyTorch's
    `softplus(x, beta=1, threshold=20)` (the form Mamba applies to its step
    size Δ).

    ```mlir
    %y = coil.softplus %x : tensor<?x?x1536xf32>
    ```
  }];
}

def Coil_ExpOp : Coil_UnaryOp<"exp"> {
  let summary = "Exponential: y = exp(x)";
  let description = [{
    `y = exp(x)`, elementwise.

    ```mlir
    %y = coil.exp %x : tensor<1536x16xf32>
    ```
  }];
}

def Coil_NegOp : Coil_UnaryOp<"neg"> {
  let summary = "Negation: y = -x";
  let description = [{
    `y = -x`, elementwise. Mamba's `A = -exp(A_log)` is `coil.neg(coil.exp)`.

    ```mlir
    %y = coil.neg %x : tensor<1536x16xf32>
    ```
  }];
  let hasFolder = 1;
}

def Coil_AddOp : Coil_BinaryOp<"add", [Commutative]> {
  let summary = "Elementwise sum: y = lhs + rhs";
  let description = [{
    `y = lhs + rhs` on operands of identical type (residual connections).

    ```mlir
    %y = coil.add %a, %b : tensor<?x?x768xf32>
    ```
  }];
}

def Coil_MulOp : Coil_BinaryOp<"mul", [Commutative]> {
  let summary = "Elementwise product: y = lhs * rhs";
  let description = [{
    `y = lhs * rhs` on operands of identical type (gating, e.g. SwiGLU's
    `silu(gate) * up`).

    ```mlir
    %y = coil.mul %a, %b : tensor<?x?x2048xf32>
    ```
  }];
}

def Coil_SubOp : Coil_BinaryOp<"sub"> {
  let summary = "Elementwise difference: y = lhs - rhs";
  let description = [{
    `y = lhs - rhs` on operands of identical type.

    ```mlir
    %y = coil.sub %a, %b : tensor<?x?x768xf32>
    ```
  }];
}

//===----------------------------------------------------------------------===//
// Shape manipulation
//===----------------------------------------------------------------------===//

def Coil_SliceOp : Coil_Op<"slice", [Pure]> {
  let summary = "Contiguous range of one dimension";
  let description = [{
    `result = input[..., offset : offset + size, ...]` along dimension `dim`;
    every other dimension is unchanged. With `from_end`, `offset` counts
    from the end of the dimension instead:
    `result = input[..., E - offset - size : E - offset, ...]` for the
    dimension's extent `E`, which may be dynamic (the last position of every
    sequence of a prompt is `{dim = 1, offset = 0, size = 1, from_end}`).
    `offset + size` must not exceed the extent. A slice that covers the whole
    dimension folds away.

    ```mlir
    %dt = coil.slice %xdbl {dim = 2 : i64, offset = 0 : i64, size = 48 : i64} : tensor<?x?x80xf32> -> tensor<?x?x48xf32>
    %last = coil.slice %h {dim = 1 : i64, offset = 0 : i64, size = 1 : i64, from_end} : tensor<?x?x768xf32> -> tensor<?x1x768xf32>
    ```
  }];
  let arguments = (ins Coil_FloatTensor:$input, I64Attr:$dim,
                       I64Attr:$offset, I64Attr:$size, UnitAttr:$from_end);
  let results = (outs Coil_FloatTensor:$result);
  let assemblyFormat =
      "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Coil_SplitOp : Coil_Op<"split", [Pure]> {
  let summary = "Split one dimension into consecutive pieces";
  let description = [{
    Splits dimension `dim` of `input` into `sizes.size()` consecutive pieces;
    result `k` covers `[sum(sizes[:k]), sum(sizes[:k+1]))`. The sizes must sum
    to the dimension's extent (Mamba's `in_proj` output into `x` and `z`).

    ```mlir
    %x, %z = coil.split %xz {dim = 2 : i64, sizes = array<i64: 1536, 1536>} : tensor<?x?x3072xf32> -> tensor<?x?x1536xf32>, tensor<?x?x1536xf32>
    ```
  }];
  let arguments = (ins Coil_FloatTensor:$input, I64Attr:$dim,
                       DenseI64ArrayAttr:$sizes);
  let results = (outs Variadic<Coil_FloatTensor>:$results);
  let assemblyFormat =
      "$input attr-dict `:` type($input) `->` type($results)";
  let hasVerifier = 1;
}

def Coil_ReshapeOp : Coil_Op<"reshape", [Pure]> {
  let summary = "Reinterpret a static tensor with another static shape";
  let description = [{
    Row-major reshape between two fully static shapes with the same number of
    elements and the same element type (e.g. Hugging Face's conv weight
    `[C, 1, K]` to `[C, K]`). Reshapes of reshapes and identity reshapes fold.

    ```mlir
    %w2 = coil.reshape %w : tensor<1536x1x4xf32> -> tensor<1536x4xf32>
    ```
  }];
  let arguments = (ins Coil_FloatTensor:$input);
  let results = (outs Coil_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Sequence mixing: rotary embedding, causal conv, selective scan, attention
//===----------------------------------------------------------------------===//

def Coil_RopeOp : Coil_Op<"rope", [Pure]> {
  let summary = "Rotary position embedding (Hugging Face rotate-half)";
  let description = [{
    For `x : [B, T, H * Dh]` (`H = num_heads`, `Dh` even) and integer
    `positions : [B, T]`, each head is rotated independently. With
    `half = Dh / 2`, for `i < half`:

    `inv_freq_i = theta^(-2 i / Dh)`, `a = positions[b, t] * inv_freq_i`,
    `y[i]        = x[i] * cos(a) - x[i + half] * sin(a)`,
    `y[i + half] = x[i + half] * cos(a) + x[i] * sin(a)`.

    This is the `rotate_half` convention of Hugging Face's Llama (dimension
    `i` pairs with `i + Dh/2`, not with `i + 1`). The result has the type of
    `x`.

    ```mlir
    %q2 = coil.rope %q, %pos {num_heads = 12 : i64, theta = 1.0e+04 : f64} : (tensor<?x?x768xf32>, tensor<?x?xi32>) -> tensor<?x?x768xf32>
    ```
  }];
  let arguments = (ins Coil_FloatTensor:$input, Coil_IdTensor:$positions,
                       I64Attr:$num_heads,
                       DefaultValuedAttr<F64Attr, "10000.0">:$theta);
  let results = (outs Coil_FloatTensor:$result);
  let assemblyFormat =
      "$input `,` $positions attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Coil_Conv1dCausalOp : Coil_Op<"conv1d_causal", [Pure]> {
  let summary = "Depthwise causal 1-D convolution with carried state";
  let description = [{
    For `x : [B, T, C]`, `weight : [C, K]`, an optional `bias : [C]` and
    `state_in : [B, C, K - 1]` (the last `K - 1` inputs of the sequence so far,
    oldest first, zeros for a new sequence), let `s` be the time series
    `state_in[b, c, :]` followed by `x[b, :, c]` (length `K - 1 + T`). Then

    `y[b, t, c] = bias[c] + sum_{k < K} weight[c, k] * s[t + k]`
    `state_out[b, c, :] = s[T : T + K - 1]` (the last `K - 1` entries of `s`)

    This equals PyTorch's `conv1d(x, weight[:, None, :], bias, groups=C,
    padding=K-1)[..., :T]` for a fresh sequence, and Mamba's
    `causal_conv1d_update` for `T = 1`. No activation is applied.

    The optional third result `states : [B, T, C, K - 1]` holds the state
    after every step, `states[b, t, c, :] = s[t + 1 : t + K]`, so a sequence
    can go back to any of the call's positions (rolling back rejected draft
    tokens); `states[:, T - 1]` is `state_out`.

    ```mlir
    %y, %s = coil.conv1d_causal %x, %w bias(%b) state(%s0) : (tensor<?x?x1536xf32>, tensor<1536x4xf32>, tensor<1536xf32>, tensor<?x1536x3xf32>) -> (tensor<?x?x1536xf32>, tensor<?x1536x3xf32>)
    ```
  }];
  let arguments = (ins Coil_FloatTensor:$input, Coil_FloatTensor:$weight,
                       Optional<Coil_FloatTensor>:$bias,
                       Coil_FloatTensor:$state_in);
  let results = (outs Coil_FloatTensor:$result, Coil_FloatTensor:$state_out,
                      Optional<Coil_FloatTensor>:$states);
  let assemblyFormat = [{
    $input `,` $weight (`bias` `(` $bias^ `)`)? `state` `(` $state_in `)`
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Coil_ScanOp : Coil_Op<"scan", [Pure]> {
  let summary = "Selective state-space scan (Mamba S6)";
  let description = [{
    Operands, per sequence `b` (`Din` channels, state size `N`):
    `u, delta : [B, T, Din]`, `A : [Din, N]`, `B, C : [B, T, N]`,
    `D : [Din]`, optional gate `z : [B, T, Din]`, and
    `state_in : [B, Din, N]` (zeros for a new sequence).

    With `dt = softplus(delta)` if `delta_softplus` is set (PyTorch softplus,
    threshold 20) and `dt = delta` otherwise, and `h = state_in[b]`, for
    `t = 0 .. T-1`, every channel `d` and state index `n`:

    `h[d, n] = exp(dt[t, d] * A[d, n]) * h[d, n] + dt[t, d] * B[t, n] * u[t, d]`
    `y[t, d] = sum_n C[t, n] * h[d, n] + D[d] * u[t, d]`
    `y[t, d] = y[t, d] * silu(z[t, d])` when `z` is present.

    `state_out[b] = h` after the last step. This is `selective_scan_ref` of
    the reference Mamba implementation (zero-order hold for `A`, Euler for
    `B`). `T = 1` is a decode step.

    The optional third result `states : [B, T, Din, N]` holds `h` after
    every step `t`, so a sequence can go back to any of the call's positions
    (rolling back rejected draft tokens); `states[:, T - 1]` is `state_out`.

    Canonicalization folds an explicit `coil.softplus` producing `delta` into
    `delta_softplus`, and a single `coil.mul` of the result by `silu(z)` into
    the gate, so the fused form is reached from either spelling.

    ```mlir
    %y, %h = coil.scan %u, %dt, %A, %B, %C, %D gate(%z) state(%h0) {delta_softplus}
        : (tensor<?x?x1536xf32>, tensor<?x?x1536xf32>, tensor<1536x16xf32>,
           tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<1536xf32>,
           tensor<?x?x1536xf32>, tensor<?x1536x16xf32>)
        -> (tensor<?x?x1536xf32>, tensor<?x1536x16xf32>)
    ```
  }];
  let arguments = (ins Coil_FloatTensor:$u, Coil_FloatTensor:$delta,
                       Coil_FloatTensor:$A, Coil_FloatTensor:$B,
                       Coil_FloatTensor:$C, Coil_FloatTensor:$D,
                       Optional<Coil_FloatTensor>:$z,
                       Coil_FloatTensor:$state_in,
                       UnitAttr:$delta_softplus);
  let results = (outs Coil_FloatTensor:$result, Coil_FloatTensor:$state_out,
                      Optional<Coil_FloatTensor>:$states);
  let assemblyFormat = [{
    $u `,` $delta `,` $A `,` $B `,` $C `,` $D (`gate` `(` $z^ `)`)?
    `state` `(` $state_in `)` attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

def Coil_SsdScanOp : Coil_Op<"ssd_scan", [Pure]> {
  let summary = "Multi-head selective state-space scan (Mamba-2 SSD)";
  let description = [{
    Operands, per sequence `b` (`H` heads of `P` channels, `G` groups of
    `N` states, `H` a multiple of `G`): `x : [B, T, H * P]` (heads
    head-major), `dt : [B, T, H]`, `A : [H]` (one decay rate per head),
    `B, C : [B, T, G * N]` (groups group-major), `D : [H]`, optional
    `dt_bias : [H]`, and `state_in : [B, H, P, N]` (zeros for a new
    sequence).

    With `d = dt[t, h] + dt_bias[h]` (`dt_bias` 0 when absent),
    `d = softplus(d)` if `delta_softplus` is set (PyTorch softplus,
    threshold 20), then `d = min(max(d, dt_limit[0]), dt_limit[1])` when
    `dt_limit` is given, head `h` reading group `g = h / (H / G)` and
    `s = state_in[b]`, for `t = 0 .. T-1`, every head `h`, channel `p` and
    state index `n`:

    `s[h, p, n] = exp(d * A[h]) * s[h, p, n] + d * x[t, h * P + p] * B[t, g * N + n]`
    `y[t, h * P + p] = sum_n C[t, g * N + n] * s[h, p, n] + D[h] * x[t, h * P + p]`

    `state_out[b] = s` after the last step. This is Mamba-2's recurrence
    (`mamba_ssm`'s `ssd_selective_scan` / Hugging Face's `Mamba2Mixer`):
    the chunked SSD algorithm computes the same values. `T = 1` is a
    decode step. The optional third result `states : [B, T, H, P, N]`
    holds `s` after every step, as for `coil.scan`.

    ```mlir
    %y, %s = coil.ssd_scan %x, %dt, %A, %B, %C, %D bias(%dtb) state(%s0) {delta_softplus}
        : (tensor<?x?x1536xf32>, tensor<?x?x24xf32>, tensor<24xf32>,
           tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<24xf32>,
           tensor<24xf32>, tensor<?x24x64x128xf32>)
        -> (tensor<?x?x1536xf32>, tensor<?x24x64x128xf32>)
    ```
  }];
  let arguments = (ins Coil_FloatTensor:$x, Coil_FloatTensor:$dt,
                       Coil_FloatTensor:$A, Coil_FloatTensor:$B,
                       Coil_FloatTensor:$C, Coil_FloatTensor:$D,
                       Optional<Coil_FloatTensor>:$dt_bias,
                       Coil_FloatTensor:$state_in,
                       UnitAttr:$delta_softplus,
                       OptionalAttr<DenseF64ArrayAttr>:$dt_limit);
  let results = (outs Coil_FloatTensor:$result, Coil_FloatTensor:$state_out,
                      Optional<Coil_FloatTensor>:$states);
  let assemblyFormat = [{
    $x `,` $dt `,` $A `,` $B `,` $C `,` $D (`bias` `(` $dt_bias^ `)`)?
    `state` `(` $state_in `)` attr-dict `:` functional-type(operands, results)
  }];
  let extraClassDeclaration = [{
    /// Heads H, channels per head P, groups G and states per group N.
    int64_t getNumHeads();
    int64_t getHeadDim();
    int64_t getNumGroups();
    int64_t getStateSize();
  }];
  let hasVerifier = 1;
}

def Coil_AttentionOp : Coil_Op<"attention", [Pure]> {
  let summary = "Causal grouped-query attention with a KV cache";
  let description = [{
    Operands: `q : [B, T, Hq * Dh]`, `k, v : [B, T, Hkv * Dh]` (heads
    flattened head-major, `Hq = num_heads`, `Hkv = num_kv_heads`, `Hq` a
    multiple of `Hkv`), caches `k_cache, v_cache : [B, Hkv, S, Dh]` (`S` the
    capacity in tokens), and integer `positions : [B, T]`, the absolute
    position of each new token in its sequence.

    First the new keys and values are written into the caches:
    `cache[b, g, positions[b, t], :] = k[b, t, g * Dh : (g + 1) * Dh]` (same
    for `v`); the updated caches are the results `k_cache_out, v_cache_out`.
    Then, for query head `h` reading kv head `g = h / (Hq / Hkv)` and
    `p = positions[b, t]`:

    `s_j = scale * sum_i q[b, t, h * Dh + i] * k_cache[b, g, j, i]` for
    `j <= p` (the causal mask: a token sees itself and every earlier cache
    slot, never a later one),
    `o[b, t, h * Dh : (h + 1) * Dh] = sum_{j <= p} softmax_j(s) * v_cache[b, g, j, :]`.

    `scale` defaults to `1 / sqrt(Dh)`. Positions must lie in `[0, S)`;
    prefill passes `0 .. T-1` (or an offset for a continued prompt) and decode
    passes the current length. Rotary embedding is applied to `q` and `k`
    before this op.

    ```mlir
    %o, %kc, %vc = coil.attention %q, %k, %v, %kc0, %vc0, %pos {num_heads = 12 : i64, num_kv_heads = 4 : i64}
        : (tensor<?x?x768xf32>, tensor<?x?x256xf32>, tensor<?x?x256xf32>,
           tensor<?x4x?x64xf32>, tensor<?x4x?x64xf32>, tensor<?x?xi32>)
        -> (tensor<?x?x768xf32>, tensor<?x4x?x64xf32>, tensor<?x4x?x64xf32>)
    ```
  }];
  let arguments = (ins Coil_FloatTensor:$q, Coil_FloatTensor:$k,
                       Coil_FloatTensor:$v, Coil_FloatTensor:$k_cache,
                       Coil_FloatTensor:$v_cache, Coil_IdTensor:$positions,
                       I64Attr:$num_heads, I64Attr:$num_kv_heads,
                       OptionalAttr<F64Attr>:$scale);
  let results = (outs Coil_FloatTensor:$result, Coil_FloatTensor:$k_cache_out,
                      Coil_FloatTensor:$v_cache_out);
  let assemblyFormat = [{
    operands attr-dict `:` functional-type(operands, results)
  }];
  let extraClassDeclaration = [{
    /// Head dimension Dh (the static last dimension of the caches).
    int64_t getHeadDim();
    /// The softmax scale: the `scale` attribute, or 1 / sqrt(Dh).
    double getScaleOrDefault();
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Fused kernels
//===----------------------------------------------------------------------===//

def Coil_KernelOp : Coil_Op<"kernel", [IsolatedFromAbove, SingleBlock,
    RecursiveMemoryEffects]> {
  let summary = "A fused group of coil ops compiled as one native function";
  let description = [{
    The unit of fusion, code generation and profiling. The body is a single
    block whose arguments are bound to `inputs` in order; it computes with coil
    ops only on its arguments (the region is isolated from above) and returns
    the kernel's results with `coil.yield`. `name` says what was fused (e.g.
    `rms_norm_linear`); kernels with the same name, body and static shapes are
    interchangeable, which is what outlining de-duplicates on.

    ```mlir
    %y = coil.kernel "rms_norm_linear" (%x, %nw, %w) : (tensor<?x?x768xf32>, tensor<768xf32>, tensor<3072x768xf32>) -> tensor<?x?x3072xf32> {
    ^bb0(%a: tensor<?x?x768xf32>, %b: tensor<768xf32>, %c: tensor<3072x768xf32>):
      %n = coil.rms_norm %a, %b : (tensor<?x?x768xf32>, tensor<768xf32>) -> tensor<?x?x768xf32>
      %l = coil.linear %n, %c : (tensor<?x?x768xf32>, tensor<3072x768xf32>) -> tensor<?x?x3072xf32>
      coil.yield %l : tensor<?x?x3072xf32>
    }
    ```
  }];
  let arguments = (ins StrAttr:$name, Variadic<AnyRankedTensor>:$inputs);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $name `(` $inputs `)` attr-dict `:` functional-type($inputs, results)
    $body
  }];
  let hasRegionVerifier = 1;
  let skipDefaultBuilders = 1;
  let builders = [
    OpBuilder<(ins "::llvm::StringRef":$name, "::mlir::TypeRange":$resultTypes,
                   "::mlir::ValueRange":$inputs)>
  ];
}

def Coil_YieldOp : Coil_Op<"yield", [Pure, Terminator, ReturnLike,
                                     HasParent<"KernelOp">]> {
  let summary = "Returns the results of a coil.kernel";
  let description = [{
    Terminates a `coil.kernel` body; its operands become the kernel's results
    and must match their types.

    ```mlir
    coil.yield %y : tensor<?x?x768xf32>
    ```
  }];
  let arguments = (ins Variadic<AnyRankedTensor>:$values);
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
}

#endif // COIL_DIALECTS_COIL_IR_COILOPS_TD
