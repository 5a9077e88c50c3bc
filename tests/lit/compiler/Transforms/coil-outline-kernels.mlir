// RUN: coil-opt %s --split-input-file --coil-outline-kernels | FileCheck %s

// Two layers with the same kernel share one function; a kernel with another
// shape gets its own.

// CHECK-LABEL: func.func @two_layers
// CHECK-SAME: (%[[X:.+]]: tensor<?x8xf32>)
// CHECK-DAG: %[[W0:.+]] = coil.weight "layers.0.w"
// CHECK-DAG: %[[W1:.+]] = coil.weight "layers.1.w"
// CHECK-DAG: %[[W2:.+]] = coil.weight "head"
// CHECK: %[[A:.+]] = call @linear_silu(%[[X]], %[[W0]])
// CHECK: %[[B:.+]] = call @linear_silu(%[[A]], %[[W1]])
// CHECK: %[[C:.+]] = call @linear_silu_0(%[[B]], %[[W2]])
// CHECK: return %[[C]]
// CHECK: func.func private @linear_silu(%{{.+}}: tensor<?x8xf32>, %{{.+}}: tensor<8x8xf32>) -> tensor<?x8xf32>
// CHECK-SAME: attributes {coil.calls = 2 : i64, coil.kernel}
// CHECK-NEXT: coil.linear
// CHECK-NEXT: coil.silu
// CHECK-NEXT: return
// CHECK: func.func private @linear_silu_0(%{{.+}}: tensor<?x8xf32>, %{{.+}}: tensor<3x8xf32>) -> tensor<?x3xf32>
// CHECK-SAME: attributes {coil.calls = 1 : i64, coil.kernel}
func.func @two_layers(%x: tensor<?x8xf32>) -> tensor<?x3xf32> {
  %w0 = coil.weight "layers.0.w" : tensor<8x8xf32>
  %w1 = coil.weight "layers.1.w" : tensor<8x8xf32>
  %w2 = coil.weight "head" : tensor<3x8xf32>
  %a = coil.kernel "linear_silu"(%x, %w0) : (tensor<?x8xf32>, tensor<8x8xf32>) -> tensor<?x8xf32> {
  ^bb0(%i: tensor<?x8xf32>, %w: tensor<8x8xf32>):
    %l = coil.linear %i, %w : (tensor<?x8xf32>, tensor<8x8xf32>) -> tensor<?x8xf32>
    %s = coil.silu %l : tensor<?x8xf32>
    coil.yield %s : tensor<?x8xf32>
  }
  %b = coil.kernel "linear_silu"(%a, %w1) : (tensor<?x8xf32>, tensor<8x8xf32>) -> tensor<?x8xf32> {
  ^bb0(%i: tensor<?x8xf32>, %w: tensor<8x8xf32>):
    %l = coil.linear %i, %w : (tensor<?x8xf32>, tensor<8x8xf32>) -> tensor<?x8xf32>
    %s = coil.silu %l : tensor<?x8xf32>
    coil.yield %s : tensor<?x8xf32>
  }
  %c = coil.kernel "linear_silu"(%b, %w2) : (tensor<?x8xf32>, tensor<3x8xf32>) -> tensor<?x3xf32> {
  ^bb0(%i: tensor<?x8xf32>, %w: tensor<3x8xf32>):
    %l = coil.linear %i, %w : (tensor<?x8xf32>, tensor<3x8xf32>) -> tensor<?x3xf32>
    %s = coil.silu %l : tensor<?x3xf32>
    coil.yield %s : tensor<?x3xf32>
  }
  return %c : tensor<?x3xf32>
}

// -----

// Same name and types but a different body (attribute): not merged.
// CHECK-LABEL: func.func @different_bodies
// CHECK: call @norm(
// CHECK: call @norm_0(
// CHECK: func.func private @norm({{.*}}attributes {coil.calls = 1 : i64, coil.kernel}
// CHECK: epsilon = 1.000000e-01
// CHECK: func.func private @norm_0({{.*}}attributes {coil.calls = 1 : i64, coil.kernel}
// CHECK: epsilon = 2.000000e-01
func.func @different_bodies(%x: tensor<?x8xf32>, %w: tensor<8xf32>) -> (tensor<?x8xf32>, tensor<?x8xf32>) {
  %a = coil.kernel "norm"(%x, %w) : (tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xf32> {
  ^bb0(%i: tensor<?x8xf32>, %v: tensor<8xf32>):
    %n = coil.rms_norm %i, %v {epsilon = 0.1 : f32} : (tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
    coil.yield %n : tensor<?x8xf32>
  }
  %b = coil.kernel "norm"(%x, %w) : (tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xf32> {
  ^bb0(%i: tensor<?x8xf32>, %v: tensor<8xf32>):
    %n = coil.rms_norm %i, %v {epsilon = 0.2 : f32} : (tensor<?x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
    coil.yield %n : tensor<?x8xf32>
  }
  return %a, %b : tensor<?x8xf32>, tensor<?x8xf32>
}
