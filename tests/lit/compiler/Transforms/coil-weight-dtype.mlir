// RUN: coil-opt %s --split-input-file --coil-weight-dtype=dtype=bf16 | FileCheck %s --check-prefixes=CHECK,BF16
// RUN: coil-opt %s --split-input-file --coil-weight-dtype=dtype=f16 | FileCheck %s --check-prefixes=CHECK,F16
// RUN: coil-opt %s --split-input-file --coil-weight-dtype=dtype=f32 | FileCheck %s --check-prefix=F32
// RUN: coil-opt %s --split-input-file --coil-weight-dtype=dtype=int8 | FileCheck %s --check-prefix=INT8
// RUN: coil-opt %s --split-input-file --coil-weight-dtype=dtype=int4 | FileCheck %s --check-prefix=INT4
// RUN: not coil-opt %s --split-input-file --coil-weight-dtype=dtype=int3 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: error: unknown weight dtype 'int3' (expected f32, bf16, f16, int8 or int4)

// The matrices of linears and embeddings are narrowed (a tied table is
// both); biases and norm weights are not.
// CHECK-LABEL: func.func @tied
// BF16: coil.weight "embed" : tensor<10x4xbf16>
// BF16: coil.weight "w" : tensor<6x4xbf16>
// F16: coil.weight "embed" : tensor<10x4xf16>
// F16: coil.weight "w" : tensor<6x4xf16>
// CHECK: coil.weight "b" : tensor<6xf32>
// CHECK: coil.weight "norm" : tensor<4xf32>
// INT8-LABEL: func.func @tied
// INT8: %[[T:.+]] = coil.weight "embed" : tensor<10x4xi8>
// INT8: %[[TS:.+]] = coil.weight "embed" scales : tensor<10xf32>
// INT8: %[[W:.+]] = coil.weight "w" : tensor<6x4xi8>
// INT8: %[[WS:.+]] = coil.weight "w" scales : tensor<6xf32>
// INT8: coil.weight "b" : tensor<6xf32>
// INT8: coil.weight "norm" : tensor<4xf32>
// INT8: coil.embed %[[T]], %{{.+}} scale(%[[TS]])
// INT8: coil.linear %{{.+}}, %[[W]], %{{.+}} scale(%[[WS]])
// INT8: coil.linear %{{.+}}, %[[T]] scale(%[[TS]])
// F32: coil.weight "embed" : tensor<10x4xf32>
// F32: coil.weight "w" : tensor<6x4xf32>
func.func @tied(%ids: tensor<?x?xi32>) -> (tensor<?x?x10xf32>, tensor<?x?x6xf32>) {
  %t = coil.weight "embed" : tensor<10x4xf32>
  %w = coil.weight "w" : tensor<6x4xf32>
  %b = coil.weight "b" : tensor<6xf32>
  %g = coil.weight "norm" : tensor<4xf32>
  %h = coil.embed %t, %ids : (tensor<10x4xf32>, tensor<?x?xi32>) -> tensor<?x?x4xf32>
  %n = coil.rms_norm %h, %g {epsilon = 1.0e-5 : f32} : (tensor<?x?x4xf32>, tensor<4xf32>) -> tensor<?x?x4xf32>
  %y = coil.linear %n, %w, %b : (tensor<?x?x4xf32>, tensor<6x4xf32>, tensor<6xf32>) -> tensor<?x?x6xf32>
  %l = coil.linear %n, %t : (tensor<?x?x4xf32>, tensor<10x4xf32>) -> tensor<?x?x10xf32>
  return %l, %y : tensor<?x?x10xf32>, tensor<?x?x6xf32>
}

// -----

// A matrix something else reads as well keeps its type, in every function
// that names it: here the conv's weight (through a reshape) and a weight a
// second function multiplies element-wise.
// INT8-LABEL: func.func @first
// INT8: coil.weight "shared" : tensor<4x4xf32>
// INT8-NOT: scales
// CHECK-LABEL: func.func @first
// CHECK: coil.weight "shared" : tensor<4x4xf32>
// CHECK: coil.weight "conv" : tensor<4x1x3xf32>
// CHECK-LABEL: func.func @second
// CHECK: coil.weight "shared" : tensor<4x4xf32>
func.func @first(%x: tensor<?x?x4xf32>) -> (tensor<?x?x4xf32>, tensor<4x3xf32>) {
  %w = coil.weight "shared" : tensor<4x4xf32>
  %c = coil.weight "conv" : tensor<4x1x3xf32>
  %r = coil.reshape %c : tensor<4x1x3xf32> -> tensor<4x3xf32>
  %y = coil.linear %x, %w : (tensor<?x?x4xf32>, tensor<4x4xf32>) -> tensor<?x?x4xf32>
  return %y, %r : tensor<?x?x4xf32>, tensor<4x3xf32>
}
func.func @second() -> tensor<4x4xf32> {
  %w = coil.weight "shared" : tensor<4x4xf32>
  %m = coil.mul %w, %w : tensor<4x4xf32>
  return %m : tensor<4x4xf32>
}

// -----

// Int4 groups of 32 along K; a matrix whose K is not a multiple of 32
// takes int8 instead.
// INT8-LABEL: func.func @groups
// INT4-LABEL: func.func @groups
// INT4: %[[W:.+]] = coil.weight "w" : tensor<8x64xi4>
// INT4: %[[WS:.+]] = coil.weight "w" scales : tensor<8x2xf32>
// INT4: %[[V:.+]] = coil.weight "v" : tensor<8x8xi8>
// INT4: %[[VS:.+]] = coil.weight "v" scales : tensor<8xf32>
// INT4: coil.linear %{{.+}}, %[[W]] scale(%[[WS]])
// INT4: coil.linear %{{.+}}, %[[V]] scale(%[[VS]])
func.func @groups(%x: tensor<?x64xf32>) -> tensor<?x8xf32> {
  %w = coil.weight "w" : tensor<8x64xf32>
  %v = coil.weight "v" : tensor<8x8xf32>
  %h = coil.linear %x, %w : (tensor<?x64xf32>, tensor<8x64xf32>) -> tensor<?x8xf32>
  %y = coil.linear %h, %v : (tensor<?x8xf32>, tensor<8x8xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}
