// RUN: coil-opt %s --split-input-file --coil-fuse-kernels | FileCheck %s

// CHECK-LABEL: func.func @norm_feeds_linears
// CHECK-SAME: (%[[H:.+]]: tensor<?x?x8xf32>)
// CHECK-DAG: %[[NW:.+]] = coil.weight "norm"
// CHECK-DAG: %[[WQ:.+]] = coil.weight "q"
// CHECK-DAG: %[[WK:.+]] = coil.weight "k"
// CHECK: %[[K:.+]]:2 = coil.kernel "rms_norm_linear"(%[[H]], %[[NW]], %[[WQ]], %[[WK]])
// CHECK:   coil.rms_norm
// CHECK:   coil.linear
// CHECK:   coil.linear
// CHECK:   coil.yield
// CHECK: return %[[K]]#0, %[[K]]#1
func.func @norm_feeds_linears(%h: tensor<?x?x8xf32>) -> (tensor<?x?x4xf32>, tensor<?x?x2xf32>) {
  %nw = coil.weight "norm" : tensor<8xf32>
  %n = coil.rms_norm %h, %nw : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %wq = coil.weight "q" : tensor<4x8xf32>
  %q = coil.linear %n, %wq : (tensor<?x?x8xf32>, tensor<4x8xf32>) -> tensor<?x?x4xf32>
  %wk = coil.weight "k" : tensor<2x8xf32>
  %k = coil.linear %n, %wk : (tensor<?x?x8xf32>, tensor<2x8xf32>) -> tensor<?x?x2xf32>
  return %q, %k : tensor<?x?x4xf32>, tensor<?x?x2xf32>
}

// -----

// A linear's epilogue: bias (in the op), activation, residual add.
// CHECK-LABEL: func.func @linear_epilogue
// CHECK: %[[K:.+]] = coil.kernel "linear_gelu_add"
// CHECK-NOT: coil.kernel
// CHECK: return %[[K]]
func.func @linear_epilogue(%x: tensor<?x8xf32>, %res: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %w = coil.weight "w" : tensor<4x8xf32>
  %b = coil.weight "b" : tensor<4xf32>
  %y = coil.linear %x, %w, %b : (tensor<?x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  %a = coil.gelu %y : tensor<?x4xf32>
  %r = coil.add %res, %a : tensor<?x4xf32>
  return %r : tensor<?x4xf32>
}

// -----

// SwiGLU: norm, gate and up projections, silu and the product in one kernel;
// the down projection and the residual add in another.
// CHECK-LABEL: func.func @swiglu
// CHECK: %[[M:.+]] = coil.kernel "rms_norm_linear_silu_mul"
// CHECK: %[[D:.+]] = coil.kernel "linear_add"(%[[M]]
// CHECK: return %[[D]]
func.func @swiglu(%h: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %nw = coil.weight "norm" : tensor<8xf32>
  %wg = coil.weight "gate" : tensor<16x8xf32>
  %wu = coil.weight "up" : tensor<16x8xf32>
  %wd = coil.weight "down" : tensor<8x16xf32>
  %n = coil.rms_norm %h, %nw : (tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  %g = coil.linear %n, %wg : (tensor<?x8xf32>, tensor<16x8xf32>) -> tensor<?x16xf32>
  %u = coil.linear %n, %wu : (tensor<?x8xf32>, tensor<16x8xf32>) -> tensor<?x16xf32>
  %s = coil.silu %g : tensor<?x16xf32>
  %m = coil.mul %s, %u : tensor<?x16xf32>
  %d = coil.linear %m, %wd : (tensor<?x16xf32>, tensor<8x16xf32>) -> tensor<?x8xf32>
  %r = coil.add %h, %d : tensor<?x8xf32>
  return %r : tensor<?x8xf32>
}

// -----

// Rope on q and k fuses with the attention that reads them.
// CHECK-LABEL: func.func @rope_attention
// CHECK: %[[A:.+]]:3 = coil.kernel "rope_attention"
// CHECK:   coil.rope
// CHECK:   coil.rope
// CHECK:   coil.attention
// CHECK-NOT: coil.kernel
func.func @rope_attention(%q: tensor<?x?x8xf32>, %k: tensor<?x?x4xf32>, %v: tensor<?x?x4xf32>,
    %kc: tensor<?x1x?x4xf32>, %vc: tensor<?x1x?x4xf32>, %p: tensor<?x?xi32>)
    -> (tensor<?x?x8xf32>, tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>) {
  %qr = coil.rope %q, %p {num_heads = 2 : i64} : (tensor<?x?x8xf32>, tensor<?x?xi32>) -> tensor<?x?x8xf32>
  %kr = coil.rope %k, %p {num_heads = 1 : i64} : (tensor<?x?x4xf32>, tensor<?x?xi32>) -> tensor<?x?x4xf32>
  %o, %kc2, %vc2 = coil.attention %qr, %kr, %v, %kc, %vc, %p {num_heads = 2 : i64, num_kv_heads = 1 : i64}
      : (tensor<?x?x8xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>, tensor<?x?xi32>)
      -> (tensor<?x?x8xf32>, tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>)
  return %o, %kc2, %vc2 : tensor<?x?x8xf32>, tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>
}

// -----

// The value input is computed between the ropes and the attention: pulling
// the ropes in would read it before it exists, so they stay outside.
// CHECK-LABEL: func.func @rope_not_fused_across_a_later_value
// CHECK: coil.kernel "rope"
// CHECK: coil.kernel "rope"
// CHECK: coil.kernel "exp"
// CHECK: coil.kernel "attention"
func.func @rope_not_fused_across_a_later_value(%q: tensor<?x?x8xf32>, %k: tensor<?x?x4xf32>, %v0: tensor<?x?x4xf32>,
    %kc: tensor<?x1x?x4xf32>, %vc: tensor<?x1x?x4xf32>, %p: tensor<?x?xi32>)
    -> (tensor<?x?x8xf32>, tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>) {
  %qr = coil.rope %q, %p {num_heads = 2 : i64} : (tensor<?x?x8xf32>, tensor<?x?xi32>) -> tensor<?x?x8xf32>
  %kr = coil.rope %k, %p {num_heads = 1 : i64} : (tensor<?x?x4xf32>, tensor<?x?xi32>) -> tensor<?x?x4xf32>
  %v = coil.exp %v0 : tensor<?x?x4xf32>
  %o, %kc2, %vc2 = coil.attention %qr, %kr, %v, %kc, %vc, %p {num_heads = 2 : i64, num_kv_heads = 1 : i64}
      : (tensor<?x?x8xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>, tensor<?x?xi32>)
      -> (tensor<?x?x8xf32>, tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>)
  return %o, %kc2, %vc2 : tensor<?x?x8xf32>, tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>
}

// -----

// The conv takes its reshaped weight and its SiLU; the scan takes A = -exp(A_log).
// CHECK-LABEL: func.func @conv_and_scan
// CHECK: %[[C:.+]]:2 = coil.kernel "reshape_conv1d_causal_silu"
// CHECK:   coil.reshape
// CHECK:   coil.conv1d_causal
// CHECK:   coil.silu
// CHECK: %[[S:.+]]:2 = coil.kernel "exp_neg_scan"(%{{.+}}, %[[C]]#1
// CHECK:   coil.exp
// CHECK:   coil.neg
// CHECK:   coil.scan
func.func @conv_and_scan(%x: tensor<?x?x4xf32>, %cs: tensor<?x4x2xf32>, %dt: tensor<?x?x4xf32>,
    %b: tensor<?x?x2xf32>, %h: tensor<?x4x2xf32>) -> (tensor<?x?x4xf32>, tensor<?x4x2xf32>, tensor<?x4x2xf32>) {
  %w3 = coil.weight "conv" : tensor<4x1x3xf32>
  %w = coil.reshape %w3 : tensor<4x1x3xf32> -> tensor<4x3xf32>
  %y, %cso = coil.conv1d_causal %x, %w state(%cs) : (tensor<?x?x4xf32>, tensor<4x3xf32>, tensor<?x4x2xf32>) -> (tensor<?x?x4xf32>, tensor<?x4x2xf32>)
  %u = coil.silu %y : tensor<?x?x4xf32>
  %alog = coil.weight "A_log" : tensor<4x2xf32>
  %e = coil.exp %alog : tensor<4x2xf32>
  %a = coil.neg %e : tensor<4x2xf32>
  %d = coil.weight "D" : tensor<4xf32>
  %o, %ho = coil.scan %u, %dt, %a, %b, %b, %d state(%h) {delta_softplus}
      : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<4x2xf32>, tensor<?x?x2xf32>, tensor<?x?x2xf32>, tensor<4xf32>, tensor<?x4x2xf32>) -> (tensor<?x?x4xf32>, tensor<?x4x2xf32>)
  return %o, %cso, %ho : tensor<?x?x4xf32>, tensor<?x4x2xf32>, tensor<?x4x2xf32>
}

// -----

// A residual operand computed after the linear cannot join its kernel.
// CHECK-LABEL: func.func @epilogue_respects_order
// CHECK: coil.kernel "linear"
// CHECK: coil.kernel "exp"
// CHECK: coil.kernel "add"
func.func @epilogue_respects_order(%x: tensor<?x8xf32>, %r0: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %w = coil.weight "w" : tensor<4x8xf32>
  %y = coil.linear %x, %w : (tensor<?x8xf32>, tensor<4x8xf32>) -> tensor<?x4xf32>
  %r = coil.exp %r0 : tensor<?x4xf32>
  %s = coil.add %y, %r : tensor<?x4xf32>
  return %s : tensor<?x4xf32>
}

// -----

// Already fused functions are left alone.
// CHECK-LABEL: func.func @already_fused
// CHECK-COUNT-1: coil.kernel
// CHECK-NOT: coil.kernel
func.func @already_fused(%x: tensor<4xf32>) -> tensor<4xf32> {
  %y = coil.kernel "exp"(%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>):
    %e = coil.exp %a : tensor<4xf32>
    coil.yield %e : tensor<4xf32>
  }
  return %y : tensor<4xf32>
}

// -----

// When every linear reads one row per sequence ([B, 1, K]: decode), the
// groups merge into fewer kernels: each group joins the one before it,
// except that a norm and its linears stay a kernel of their own.
// CHECK-LABEL: func.func @one_row_per_sequence
// CHECK: %[[A:.+]] = coil.kernel "rms_norm_linear"
// CHECK: %[[B:.+]] = coil.kernel "exp_linear_add"(%[[A]]
// CHECK-NOT: coil.kernel
// CHECK: return %[[B]]
func.func @one_row_per_sequence(%h: tensor<?x1x8xf32>) -> tensor<?x1x8xf32> {
  %nw = coil.weight "norm" : tensor<8xf32>
  %w1 = coil.weight "up" : tensor<16x8xf32>
  %w2 = coil.weight "down" : tensor<8x16xf32>
  %n = coil.rms_norm %h, %nw : (tensor<?x1x8xf32>, tensor<8xf32>) -> tensor<?x1x8xf32>
  %a = coil.linear %n, %w1 : (tensor<?x1x8xf32>, tensor<16x8xf32>) -> tensor<?x1x16xf32>
  %e = coil.exp %a : tensor<?x1x16xf32>
  %b = coil.linear %e, %w2 : (tensor<?x1x16xf32>, tensor<8x16xf32>) -> tensor<?x1x8xf32>
  %r = coil.add %h, %b : tensor<?x1x8xf32>
  return %r : tensor<?x1x8xf32>
}

// -----

// The same ops over any number of rows keep one kernel per group.
// CHECK-LABEL: func.func @many_rows_per_sequence
// CHECK: coil.kernel "rms_norm_linear"
// CHECK: coil.kernel "exp"
// CHECK: coil.kernel "linear_add"
func.func @many_rows_per_sequence(%h: tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
  %nw = coil.weight "norm" : tensor<8xf32>
  %w1 = coil.weight "up" : tensor<16x8xf32>
  %w2 = coil.weight "down" : tensor<8x16xf32>
  %n = coil.rms_norm %h, %nw : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %a = coil.linear %n, %w1 : (tensor<?x?x8xf32>, tensor<16x8xf32>) -> tensor<?x?x16xf32>
  %e = coil.exp %a : tensor<?x?x16xf32>
  %b = coil.linear %e, %w2 : (tensor<?x?x16xf32>, tensor<8x16xf32>) -> tensor<?x?x8xf32>
  %r = coil.add %h, %b : tensor<?x?x8xf32>
  return %r : tensor<?x?x8xf32>
}

// -----

// A weight transform two kernels read forms a kernel of its own at the
// entry, before both; merging never moves it after one of its readers.
// CHECK-LABEL: func.func @shared_weight_transform_one_row
// CHECK: %[[E:.+]] = coil.kernel "exp"
// CHECK: coil.kernel "rms_norm_linear"({{.*}}%[[E]]
// CHECK: coil.kernel "linear_add"({{.*}}%[[E]]
func.func @shared_weight_transform_one_row(%h: tensor<?x1x8xf32>) -> tensor<?x1x8xf32> {
  %nw = coil.weight "norm" : tensor<8xf32>
  %wl = coil.weight "w_log" : tensor<8x8xf32>
  %w = coil.exp %wl : tensor<8x8xf32>
  %n = coil.rms_norm %h, %nw : (tensor<?x1x8xf32>, tensor<8xf32>) -> tensor<?x1x8xf32>
  %a = coil.linear %n, %w : (tensor<?x1x8xf32>, tensor<8x8xf32>) -> tensor<?x1x8xf32>
  %b = coil.linear %a, %w : (tensor<?x1x8xf32>, tensor<8x8xf32>) -> tensor<?x1x8xf32>
  %r = coil.add %h, %b : tensor<?x1x8xf32>
  return %r : tensor<?x1x8xf32>
}
