// RUN: coil-opt %s --split-input-file --canonicalize | FileCheck %s

// Folders of the coil ops.

// CHECK-LABEL: func.func @slice_full_range_folds
// CHECK-SAME: (%[[X:.+]]: tensor<?x8xf32>)
// CHECK-NOT: coil.slice
// CHECK: return %[[X]]
func.func @slice_full_range_folds(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %y = coil.slice %x {dim = 1 : i64, offset = 0 : i64, size = 8 : i64} : tensor<?x8xf32> -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// CHECK-LABEL: func.func @slice_partial_range_kept
// CHECK: coil.slice
func.func @slice_partial_range_kept(%x: tensor<?x8xf32>) -> tensor<?x7xf32> {
  %y = coil.slice %x {dim = 1 : i64, offset = 1 : i64, size = 7 : i64} : tensor<?x8xf32> -> tensor<?x7xf32>
  return %y : tensor<?x7xf32>
}

// -----

// A slice counted from the end that covers the whole dimension folds too;
// the last position of a dynamic dimension stays.
// CHECK-LABEL: func.func @slice_from_end
// CHECK-SAME: (%[[X:.+]]: tensor<?x8xf32>, %[[H:.+]]: tensor<?x?x4xf32>)
// CHECK: %[[L:.+]] = coil.slice %[[H]] {dim = 1 : i64, from_end, offset = 0 : i64, size = 1 : i64}
// CHECK: return %[[X]], %[[L]]
func.func @slice_from_end(%x: tensor<?x8xf32>, %h: tensor<?x?x4xf32>) -> (tensor<?x8xf32>, tensor<?x1x4xf32>) {
  %y = coil.slice %x {dim = 1 : i64, offset = 0 : i64, size = 8 : i64, from_end} : tensor<?x8xf32> -> tensor<?x8xf32>
  %l = coil.slice %h {dim = 1 : i64, offset = 0 : i64, size = 1 : i64, from_end} : tensor<?x?x4xf32> -> tensor<?x1x4xf32>
  return %y, %l : tensor<?x8xf32>, tensor<?x1x4xf32>
}

// -----

// CHECK-LABEL: func.func @reshape_chain_folds
// CHECK-SAME: (%[[X:.+]]: tensor<4x1x3xf32>)
// CHECK: %[[R:.+]] = coil.reshape %[[X]] : tensor<4x1x3xf32> -> tensor<12xf32>
// CHECK-NOT: coil.reshape
// CHECK: return %[[R]]
func.func @reshape_chain_folds(%x: tensor<4x1x3xf32>) -> tensor<12xf32> {
  %a = coil.reshape %x : tensor<4x1x3xf32> -> tensor<4x3xf32>
  %b = coil.reshape %a : tensor<4x3xf32> -> tensor<12xf32>
  return %b : tensor<12xf32>
}

// -----

// CHECK-LABEL: func.func @reshape_round_trip_folds
// CHECK-SAME: (%[[X:.+]]: tensor<4x3xf32>)
// CHECK-NOT: coil.reshape
// CHECK: return %[[X]]
func.func @reshape_round_trip_folds(%x: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %a = coil.reshape %x : tensor<4x3xf32> -> tensor<12xf32>
  %b = coil.reshape %a : tensor<12xf32> -> tensor<4x3xf32>
  return %b : tensor<4x3xf32>
}

// -----

// CHECK-LABEL: func.func @double_negation_folds
// CHECK-SAME: (%[[X:.+]]: tensor<4xf32>)
// CHECK-NOT: coil.neg
// CHECK: return %[[X]]
func.func @double_negation_folds(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = coil.neg %x : tensor<4xf32>
  %b = coil.neg %a : tensor<4xf32>
  return %b : tensor<4xf32>
}

// -----

// CHECK-LABEL: func.func @unused_weights_are_dead
// CHECK-NOT: coil.weight
// CHECK-NOT: coil.exp
func.func @unused_weights_are_dead() {
  %w = coil.weight "w" : tensor<4xf32>
  %e = coil.exp %w : tensor<4xf32>
  return
}

// -----

// An explicit softplus of delta folds into the scan.
// CHECK-LABEL: func.func @softplus_folds_into_scan
// CHECK-SAME: (%[[U:[^:]+]]: tensor<?x?x4xf32>, %[[DT:[^:]+]]: tensor<?x?x4xf32>
// CHECK-NOT: coil.softplus
// CHECK: coil.scan %[[U]], %[[DT]], {{.*}} {delta_softplus}
func.func @softplus_folds_into_scan(%u: tensor<?x?x4xf32>, %dt: tensor<?x?x4xf32>, %a: tensor<4x2xf32>,
    %b: tensor<?x?x2xf32>, %d: tensor<4xf32>, %h: tensor<?x4x2xf32>) -> (tensor<?x?x4xf32>, tensor<?x4x2xf32>) {
  %sp = coil.softplus %dt : tensor<?x?x4xf32>
  %y, %ho = coil.scan %u, %sp, %a, %b, %b, %d state(%h)
      : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<4x2xf32>, tensor<?x?x2xf32>, tensor<?x?x2xf32>, tensor<4xf32>, tensor<?x4x2xf32>) -> (tensor<?x?x4xf32>, tensor<?x4x2xf32>)
  return %y, %ho : tensor<?x?x4xf32>, tensor<?x4x2xf32>
}

// -----

// y * silu(z) after the scan folds into its gate.
// CHECK-LABEL: func.func @gate_folds_into_scan
// CHECK-SAME: %[[Z:[^:]+]]: tensor<?x?x4xf32>) ->
// CHECK-NOT: coil.mul
// CHECK: %[[Y:.+]], %[[S:.+]] = coil.scan {{.*}} gate(%[[Z]])
// CHECK-NOT: coil.mul
// CHECK: return %[[Y]], %[[S]]
func.func @gate_folds_into_scan(%u: tensor<?x?x4xf32>, %a: tensor<4x2xf32>, %b: tensor<?x?x2xf32>,
    %d: tensor<4xf32>, %h: tensor<?x4x2xf32>, %z: tensor<?x?x4xf32>) -> (tensor<?x?x4xf32>, tensor<?x4x2xf32>) {
  %y, %ho = coil.scan %u, %u, %a, %b, %b, %d state(%h)
      : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<4x2xf32>, tensor<?x?x2xf32>, tensor<?x?x2xf32>, tensor<4xf32>, tensor<?x4x2xf32>) -> (tensor<?x?x4xf32>, tensor<?x4x2xf32>)
  %g = coil.silu %z : tensor<?x?x4xf32>
  %m = coil.mul %y, %g : tensor<?x?x4xf32>
  return %m, %ho : tensor<?x?x4xf32>, tensor<?x4x2xf32>
}
