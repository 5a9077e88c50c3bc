// RUN: coil-opt %s --split-input-file --coil-emit-runtime-abi --verify-diagnostics | FileCheck %s

// CHECK: llvm.mlir.global external constant @coil_model_metadata("{\22version\22:2}\00")
// CHECK-LABEL: llvm.func internal @coil_kernel_barrier(
// CHECK-SAME: %[[SYNC:.+]]: !llvm.ptr)
// CHECK: %[[FIELD:.+]] = llvm.getelementptr %[[SYNC]][0] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[WAIT:.+]] = llvm.load %[[FIELD]] : !llvm.ptr -> !llvm.ptr
// CHECK: llvm.call %[[WAIT]](%[[SYNC]]) : !llvm.ptr, (!llvm.ptr) -> ()
// CHECK-LABEL: llvm.func @coil_kernel_k(
// CHECK-SAME: %[[ARGS:.+]]: !llvm.ptr, %[[TILE:.+]]: i64, %[[TILES:.+]]: i64, %[[S:.+]]: !llvm.ptr)
// CHECK: %[[P0:.+]] = llvm.getelementptr %[[ARGS]][0] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[D0:.+]] = llvm.load %[[P0]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[P1:.+]] = llvm.getelementptr %[[ARGS]][1] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[D1:.+]] = llvm.load %[[P1]] : !llvm.ptr -> !llvm.ptr
// CHECK: llvm.call @_mlir_ciface_k(%[[D0]], %[[D1]], %[[TILE]], %[[TILES]], %[[S]])
// CHECK: llvm.return
module attributes {coil.metadata = "{\22version\22:2}"} {
  llvm.func @coil_kernel_barrier(!llvm.ptr)
  llvm.func @_mlir_ciface_k(%a: !llvm.ptr, %b: !llvm.ptr, %t: i64, %n: i64, %s: !llvm.ptr) {
    llvm.return
  }
}

// -----

// expected-error @+1 {{no coil.metadata attribute}}
module {
  llvm.func @_mlir_ciface_k(%a: !llvm.ptr, %t: i64, %n: i64, %s: !llvm.ptr) {
    llvm.return
  }
}

// -----

module attributes {coil.metadata = "{}"} {
  // expected-error @+1 {{kernel interface does not end with (tile, tiles, sync)}}
  llvm.func @_mlir_ciface_k(%a: !llvm.ptr) {
    llvm.return
  }
}
