// RUN: coil-opt %s --coil-expose-kernel-temporaries | FileCheck %s

// The linear's output inside @k becomes a second result; the call site gets
// the wider call and keeps using the first result only.

// CHECK-LABEL: func.func @entry
// CHECK: %[[C:.+]]:2 = call @k(%{{.+}}, %{{.+}}) : (tensor<?x8xf32>, tensor<4x8xf32>) -> (tensor<?x4xf32>, tensor<?x4xf32>)
// CHECK: return %[[C]]#0
// CHECK: func.func private @k({{.*}}) -> (tensor<?x4xf32>, tensor<?x4xf32>)
// CHECK: %[[L:.+]] = coil.linear
// CHECK: %[[S:.+]] = coil.silu %[[L]]
// CHECK: return %[[S]], %[[L]]
func.func @entry(%x: tensor<?x8xf32>) -> tensor<?x4xf32> {
  %w = coil.weight "w" : tensor<4x8xf32>
  %y = call @k(%x, %w) : (tensor<?x8xf32>, tensor<4x8xf32>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}
func.func private @k(%x: tensor<?x8xf32>, %w: tensor<4x8xf32>) -> tensor<?x4xf32> attributes {coil.kernel} {
  %l = coil.linear %x, %w : (tensor<?x8xf32>, tensor<4x8xf32>) -> tensor<?x4xf32>
  %s = coil.silu %l : tensor<?x4xf32>
  return %s : tensor<?x4xf32>
}
