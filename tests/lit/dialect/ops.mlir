// RUN: coil-opt %s --split-input-file | coil-opt --split-input-file | FileCheck %s
// RUN: coil-opt %s --split-input-file --mlir-print-op-generic | coil-opt --split-input-file | FileCheck %s

// Round trip of every coil op through the custom and the generic form.

// CHECK-LABEL: func.func @weight_and_embed
// CHECK: %[[T:.+]] = coil.weight "model.embed_tokens.weight" : tensor<10x4xf32>
// CHECK: coil.embed %[[T]], %{{.+}} : (tensor<10x4xf32>, tensor<?x?xi32>) -> tensor<?x?x4xf32>
func.func @weight_and_embed(%ids: tensor<?x?xi32>) -> tensor<?x?x4xf32> {
  %t = coil.weight "model.embed_tokens.weight" : tensor<10x4xf32>
  %e = coil.embed %t, %ids : (tensor<10x4xf32>, tensor<?x?xi32>) -> tensor<?x?x4xf32>
  return %e : tensor<?x?x4xf32>
}

// -----

// CHECK-LABEL: func.func @int8_weights
// CHECK: %[[Q:.+]] = coil.weight "w" : tensor<6x4xi8>
// CHECK: %[[S:.+]] = coil.weight "w" scales : tensor<6xf32>
// CHECK: coil.embed %[[Q]], %{{.+}} scale(%[[S]]) : (tensor<6x4xi8>, tensor<?x?xi32>, tensor<6xf32>) -> tensor<?x?x4xf32>
// CHECK: coil.linear %{{.+}}, %[[Q]] scale(%[[S]]) : (tensor<?x?x4xf32>, tensor<6x4xi8>, tensor<6xf32>) -> tensor<?x?x6xf32>
// CHECK: coil.linear %{{.+}}, %[[Q]], %{{.+}} scale(%[[S]]) : (tensor<?x?x4xf32>, tensor<6x4xi8>, tensor<6xf32>, tensor<6xf32>) -> tensor<?x?x6xf32>
func.func @int8_weights(%ids: tensor<?x?xi32>, %b: tensor<6xf32>) -> (tensor<?x?x6xf32>, tensor<?x?x6xf32>) {
  %q = coil.weight "w" : tensor<6x4xi8>
  %s = coil.weight "w" scales : tensor<6xf32>
  %e = coil.embed %q, %ids scale(%s) : (tensor<6x4xi8>, tensor<?x?xi32>, tensor<6xf32>) -> tensor<?x?x4xf32>
  %y = coil.linear %e, %q scale(%s) : (tensor<?x?x4xf32>, tensor<6x4xi8>, tensor<6xf32>) -> tensor<?x?x6xf32>
  %z = coil.linear %e, %q, %b scale(%s) : (tensor<?x?x4xf32>, tensor<6x4xi8>, tensor<6xf32>, tensor<6xf32>) -> tensor<?x?x6xf32>
  return %y, %z : tensor<?x?x6xf32>, tensor<?x?x6xf32>
}

// -----

// CHECK-LABEL: func.func @embed_widening_table
// CHECK: coil.embed %{{.+}}, %{{.+}} : (tensor<10x4xbf16>, tensor<?x?xi32>) -> tensor<?x?x4xf32>
// CHECK: coil.embed %{{.+}}, %{{.+}} : (tensor<10x4xf16>, tensor<?x?xi32>) -> tensor<?x?x4xf32>
func.func @embed_widening_table(%ids: tensor<?x?xi32>) -> (tensor<?x?x4xf32>, tensor<?x?x4xf32>) {
  %b = coil.weight "b" : tensor<10x4xbf16>
  %h = coil.weight "h" : tensor<10x4xf16>
  %eb = coil.embed %b, %ids : (tensor<10x4xbf16>, tensor<?x?xi32>) -> tensor<?x?x4xf32>
  %eh = coil.embed %h, %ids : (tensor<10x4xf16>, tensor<?x?xi32>) -> tensor<?x?x4xf32>
  return %eb, %eh : tensor<?x?x4xf32>, tensor<?x?x4xf32>
}

// -----

// CHECK-LABEL: func.func @linear_bias_and_mixed_precision
// CHECK: coil.linear %{{.+}}, %{{.+}}, %{{.+}} : (tensor<?x?x4xf32>, tensor<6x4xf32>, tensor<6xf32>) -> tensor<?x?x6xf32>
// CHECK: coil.linear %{{.+}}, %{{.+}} : (tensor<2x6xf32>, tensor<3x6xbf16>) -> tensor<2x3xf32>
func.func @linear_bias_and_mixed_precision(%x: tensor<?x?x4xf32>, %w: tensor<6x4xf32>,
    %b: tensor<6xf32>, %x2: tensor<2x6xf32>, %w2: tensor<3x6xbf16>) -> (tensor<?x?x6xf32>, tensor<2x3xf32>) {
  %y = coil.linear %x, %w, %b : (tensor<?x?x4xf32>, tensor<6x4xf32>, tensor<6xf32>) -> tensor<?x?x6xf32>
  %y2 = coil.linear %x2, %w2 : (tensor<2x6xf32>, tensor<3x6xbf16>) -> tensor<2x3xf32>
  return %y, %y2 : tensor<?x?x6xf32>, tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func.func @norms
// CHECK: coil.rms_norm %{{.+}}, %{{.+}} {epsilon = 9.99999997E-7 : f32} : (tensor<?x?x8xf16>, tensor<8xf16>) -> tensor<?x?x8xf16>
// CHECK: coil.layer_norm %{{.+}}, %{{.+}}, %{{.+}} : (tensor<?x?x8xf16>, tensor<8xf16>, tensor<8xf16>) -> tensor<?x?x8xf16>
// CHECK: coil.layer_norm %{{.+}}, %{{.+}} : (tensor<?x?x8xf16>, tensor<8xf16>) -> tensor<?x?x8xf16>
func.func @norms(%x: tensor<?x?x8xf16>, %w: tensor<8xf16>, %b: tensor<8xf16>) -> (tensor<?x?x8xf16>, tensor<?x?x8xf16>, tensor<?x?x8xf16>) {
  %r = coil.rms_norm %x, %w {epsilon = 1.0e-6 : f32} : (tensor<?x?x8xf16>, tensor<8xf16>) -> tensor<?x?x8xf16>
  %l = coil.layer_norm %x, %w, %b : (tensor<?x?x8xf16>, tensor<8xf16>, tensor<8xf16>) -> tensor<?x?x8xf16>
  %l2 = coil.layer_norm %x, %w : (tensor<?x?x8xf16>, tensor<8xf16>) -> tensor<?x?x8xf16>
  return %r, %l, %l2 : tensor<?x?x8xf16>, tensor<?x?x8xf16>, tensor<?x?x8xf16>
}

// -----

// CHECK-LABEL: func.func @elementwise
// CHECK: coil.silu %{{.+}} : tensor<?x8xbf16>
// CHECK: coil.gelu %{{.+}} : tensor<?x8xbf16>
// CHECK: coil.gelu %{{.+}} {tanh_approximation} : tensor<?x8xbf16>
// CHECK: coil.softplus %{{.+}} : tensor<?x8xbf16>
// CHECK: coil.exp %{{.+}} : tensor<?x8xbf16>
// CHECK: coil.neg %{{.+}} : tensor<?x8xbf16>
// CHECK: coil.add %{{.+}}, %{{.+}} : tensor<?x8xbf16>
// CHECK: coil.mul %{{.+}}, %{{.+}} : tensor<?x8xbf16>
// CHECK: coil.sub %{{.+}}, %{{.+}} : tensor<?x8xbf16>
// CHECK: coil.relu2 %{{.+}} : tensor<?x8xbf16>
func.func @elementwise(%x: tensor<?x8xbf16>) -> tensor<?x8xbf16> {
  %0 = coil.silu %x : tensor<?x8xbf16>
  %1 = coil.gelu %0 : tensor<?x8xbf16>
  %2 = coil.gelu %1 {tanh_approximation} : tensor<?x8xbf16>
  %3 = coil.softplus %2 : tensor<?x8xbf16>
  %4 = coil.exp %3 : tensor<?x8xbf16>
  %5 = coil.neg %4 : tensor<?x8xbf16>
  %6 = coil.add %5, %x : tensor<?x8xbf16>
  %7 = coil.mul %6, %x : tensor<?x8xbf16>
  %8 = coil.sub %7, %x : tensor<?x8xbf16>
  %9 = coil.relu2 %8 : tensor<?x8xbf16>
  return %9 : tensor<?x8xbf16>
}

// -----

// CHECK-LABEL: func.func @slice_split_reshape
// CHECK: coil.slice %{{.+}} {dim = 2 : i64, offset = 2 : i64, size = 3 : i64} : tensor<?x?x8xf32> -> tensor<?x?x3xf32>
// CHECK: coil.split %{{.+}} {dim = 2 : i64, sizes = array<i64: 2, 6>} : tensor<?x?x8xf32> -> tensor<?x?x2xf32>, tensor<?x?x6xf32>
// CHECK: coil.reshape %{{.+}} : tensor<4x1x3xf32> -> tensor<4x3xf32>
func.func @slice_split_reshape(%x: tensor<?x?x8xf32>, %w: tensor<4x1x3xf32>)
    -> (tensor<?x?x3xf32>, tensor<?x?x2xf32>, tensor<?x?x6xf32>, tensor<4x3xf32>) {
  %s = coil.slice %x {dim = 2 : i64, offset = 2 : i64, size = 3 : i64} : tensor<?x?x8xf32> -> tensor<?x?x3xf32>
  %a, %b = coil.split %x {dim = 2 : i64, sizes = array<i64: 2, 6>} : tensor<?x?x8xf32> -> tensor<?x?x2xf32>, tensor<?x?x6xf32>
  %r = coil.reshape %w : tensor<4x1x3xf32> -> tensor<4x3xf32>
  return %s, %a, %b, %r : tensor<?x?x3xf32>, tensor<?x?x2xf32>, tensor<?x?x6xf32>, tensor<4x3xf32>
}

// -----

// CHECK-LABEL: func.func @rope
// CHECK: coil.rope %{{.+}}, %{{.+}} {num_heads = 2 : i64, theta = 5.000000e+05 : f64} : (tensor<?x?x8xf32>, tensor<?x?xi64>) -> tensor<?x?x8xf32>
func.func @rope(%x: tensor<?x?x8xf32>, %pos: tensor<?x?xi64>) -> tensor<?x?x8xf32> {
  %r = coil.rope %x, %pos {num_heads = 2 : i64, theta = 500000.0 : f64} : (tensor<?x?x8xf32>, tensor<?x?xi64>) -> tensor<?x?x8xf32>
  return %r : tensor<?x?x8xf32>
}

// -----

// CHECK-LABEL: func.func @conv1d_causal
// CHECK: coil.conv1d_causal %{{.+}}, %{{.+}} bias(%{{.+}}) state(%{{.+}}) : (tensor<?x?x4xf32>, tensor<4x3xf32>, tensor<4xf32>, tensor<?x4x2xf32>) -> (tensor<?x?x4xf32>, tensor<?x4x2xf32>)
// CHECK: coil.conv1d_causal %{{.+}}, %{{.+}} state(%{{.+}}) : (tensor<1x1x4xf32>, tensor<4x3xf32>, tensor<1x4x2xf32>) -> (tensor<1x1x4xf32>, tensor<1x4x2xf32>)
func.func @conv1d_causal(%x: tensor<?x?x4xf32>, %w: tensor<4x3xf32>, %b: tensor<4xf32>, %s: tensor<?x4x2xf32>,
    %x1: tensor<1x1x4xf32>, %s1: tensor<1x4x2xf32>) -> (tensor<?x?x4xf32>, tensor<?x4x2xf32>, tensor<1x1x4xf32>, tensor<1x4x2xf32>) {
  %y, %so = coil.conv1d_causal %x, %w bias(%b) state(%s)
      : (tensor<?x?x4xf32>, tensor<4x3xf32>, tensor<4xf32>, tensor<?x4x2xf32>) -> (tensor<?x?x4xf32>, tensor<?x4x2xf32>)
  %y1, %so1 = coil.conv1d_causal %x1, %w state(%s1)
      : (tensor<1x1x4xf32>, tensor<4x3xf32>, tensor<1x4x2xf32>) -> (tensor<1x1x4xf32>, tensor<1x4x2xf32>)
  return %y, %so, %y1, %so1 : tensor<?x?x4xf32>, tensor<?x4x2xf32>, tensor<1x1x4xf32>, tensor<1x4x2xf32>
}

// -----

// CHECK-LABEL: func.func @scan
// CHECK: coil.scan %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} gate(%{{.+}}) state(%{{.+}}) {delta_softplus}
// CHECK-SAME: -> (tensor<?x?x4xf32>, tensor<?x4x2xf32>)
// CHECK: coil.scan %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} state(%{{.+}}) :
// CHECK-NOT: delta_softplus
func.func @scan(%u: tensor<?x?x4xf32>, %dt: tensor<?x?x4xf32>, %a: tensor<4x2xf32>, %b: tensor<?x?x2xf32>,
    %c: tensor<?x?x2xf32>, %d: tensor<4xf32>, %z: tensor<?x?x4xf32>, %h: tensor<?x4x2xf32>)
    -> (tensor<?x?x4xf32>, tensor<?x4x2xf32>, tensor<?x?x4xf32>, tensor<?x4x2xf32>) {
  %y, %ho = coil.scan %u, %dt, %a, %b, %c, %d gate(%z) state(%h) {delta_softplus}
      : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<4x2xf32>, tensor<?x?x2xf32>, tensor<?x?x2xf32>,
         tensor<4xf32>, tensor<?x?x4xf32>, tensor<?x4x2xf32>) -> (tensor<?x?x4xf32>, tensor<?x4x2xf32>)
  %y2, %ho2 = coil.scan %u, %dt, %a, %b, %c, %d state(%h)
      : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<4x2xf32>, tensor<?x?x2xf32>, tensor<?x?x2xf32>,
         tensor<4xf32>, tensor<?x4x2xf32>) -> (tensor<?x?x4xf32>, tensor<?x4x2xf32>)
  return %y, %ho, %y2, %ho2 : tensor<?x?x4xf32>, tensor<?x4x2xf32>, tensor<?x?x4xf32>, tensor<?x4x2xf32>
}

// -----

// CHECK-LABEL: func.func @ssd_scan
// CHECK: coil.ssd_scan %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} bias(%{{.+}}) state(%{{.+}}) {delta_softplus, dt_limit = array<f64: 1.000000e-03, 1.000000e+01>}
// CHECK-SAME: -> (tensor<?x?x8xf32>, tensor<?x4x2x3xf32>, tensor<?x?x4x2x3xf32>)
// CHECK: coil.ssd_scan %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} state(%{{.+}}) :
// CHECK-NOT: delta_softplus
func.func @ssd_scan(%x: tensor<?x?x8xf32>, %dt: tensor<?x?x4xf32>, %a: tensor<4xf32>, %b: tensor<?x?x6xf32>,
    %d: tensor<4xf32>, %s: tensor<?x4x2x3xf32>)
    -> (tensor<?x?x8xf32>, tensor<?x4x2x3xf32>, tensor<?x?x4x2x3xf32>, tensor<?x?x8xf32>, tensor<?x4x2x3xf32>) {
  %y, %so, %all = coil.ssd_scan %x, %dt, %a, %b, %b, %d bias(%d) state(%s) {delta_softplus, dt_limit = array<f64: 0.001, 10.0>}
      : (tensor<?x?x8xf32>, tensor<?x?x4xf32>, tensor<4xf32>, tensor<?x?x6xf32>, tensor<?x?x6xf32>,
         tensor<4xf32>, tensor<4xf32>, tensor<?x4x2x3xf32>) -> (tensor<?x?x8xf32>, tensor<?x4x2x3xf32>, tensor<?x?x4x2x3xf32>)
  %y2, %so2 = coil.ssd_scan %x, %dt, %a, %b, %b, %d state(%s)
      : (tensor<?x?x8xf32>, tensor<?x?x4xf32>, tensor<4xf32>, tensor<?x?x6xf32>, tensor<?x?x6xf32>,
         tensor<4xf32>, tensor<?x4x2x3xf32>) -> (tensor<?x?x8xf32>, tensor<?x4x2x3xf32>)
  return %y, %so, %all, %y2, %so2 : tensor<?x?x8xf32>, tensor<?x4x2x3xf32>, tensor<?x?x4x2x3xf32>, tensor<?x?x8xf32>, tensor<?x4x2x3xf32>
}

// -----

// CHECK-LABEL: func.func @rms_norm_grouped
// CHECK: coil.rms_norm %{{.+}}, %{{.+}} {group_size = 4 : i64}
func.func @rms_norm_grouped(%x: tensor<?x?x8xf32>, %w: tensor<8xf32>) -> tensor<?x?x8xf32> {
  %y = coil.rms_norm %x, %w {group_size = 4 : i64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  return %y : tensor<?x?x8xf32>
}

// -----

// CHECK-LABEL: func.func @attention_grouped_query
// CHECK: coil.attention %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} {num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 1.250000e-01 : f64}
// CHECK-SAME: -> (tensor<?x?x16xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>)
func.func @attention_grouped_query(%q: tensor<?x?x16xf32>, %k: tensor<?x?x8xf32>, %v: tensor<?x?x8xf32>,
    %kc: tensor<?x2x?x4xf32>, %vc: tensor<?x2x?x4xf32>, %pos: tensor<?x?xi32>)
    -> (tensor<?x?x16xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>) {
  %o, %kc2, %vc2 = coil.attention %q, %k, %v, %kc, %vc, %pos {num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 0.125 : f64}
      : (tensor<?x?x16xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x?xi32>)
      -> (tensor<?x?x16xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>)
  return %o, %kc2, %vc2 : tensor<?x?x16xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>
}

// -----

// CHECK-LABEL: func.func @kernel
// CHECK: %[[K:.+]] = coil.kernel "rms_norm_linear"(%{{.+}}, %{{.+}}, %{{.+}}) : (tensor<?x?x4xf32>, tensor<4xf32>, tensor<6x4xf32>) -> tensor<?x?x6xf32> {
// CHECK: ^bb0(%[[A:.+]]: tensor<?x?x4xf32>, %[[B:.+]]: tensor<4xf32>, %[[C:.+]]: tensor<6x4xf32>):
// CHECK:   %[[N:.+]] = coil.rms_norm %[[A]], %[[B]]
// CHECK:   %[[L:.+]] = coil.linear %[[N]], %[[C]]
// CHECK:   coil.yield %[[L]] : tensor<?x?x6xf32>
// CHECK: return %[[K]]
func.func @kernel(%x: tensor<?x?x4xf32>, %nw: tensor<4xf32>, %w: tensor<6x4xf32>) -> tensor<?x?x6xf32> {
  %y = coil.kernel "rms_norm_linear" (%x, %nw, %w) : (tensor<?x?x4xf32>, tensor<4xf32>, tensor<6x4xf32>) -> tensor<?x?x6xf32> {
  ^bb0(%a: tensor<?x?x4xf32>, %b: tensor<4xf32>, %c: tensor<6x4xf32>):
    %n = coil.rms_norm %a, %b : (tensor<?x?x4xf32>, tensor<4xf32>) -> tensor<?x?x4xf32>
    %l = coil.linear %n, %c : (tensor<?x?x4xf32>, tensor<6x4xf32>) -> tensor<?x?x6xf32>
    coil.yield %l : tensor<?x?x6xf32>
  }
  return %y : tensor<?x?x6xf32>
}
