// RUN: coil-opt %s --cse | FileCheck %s

// coil ops are pure: identical weights and computations are merged.

// CHECK-LABEL: func.func @duplicate_weights_are_merged
// CHECK: %[[W:.+]] = coil.weight "w"
// CHECK-NOT: coil.weight
// CHECK: %[[E:.+]] = coil.exp %[[W]]
// CHECK-NOT: coil.exp
// CHECK: return %[[E]], %[[E]]
func.func @duplicate_weights_are_merged() -> (tensor<4xf32>, tensor<4xf32>) {
  %a = coil.weight "w" : tensor<4xf32>
  %b = coil.weight "w" : tensor<4xf32>
  %ea = coil.exp %a : tensor<4xf32>
  %eb = coil.exp %b : tensor<4xf32>
  return %ea, %eb : tensor<4xf32>, tensor<4xf32>
}
