// RUN: coil-opt %s --canonicalize --cse --mlir-print-ir-after-all -o /dev/null 2>&1 | FileCheck %s

// The standard IR-printing flags work on coil IR.

// CHECK: IR Dump After Canonicalizer (canonicalize)
// CHECK: coil.scan
// CHECK: IR Dump After CSE (cse)
// CHECK: coil.scan
func.func @scan(%u: tensor<?x?x4xf32>, %a: tensor<4x2xf32>, %b: tensor<?x?x2xf32>, %d: tensor<4xf32>, %h: tensor<?x4x2xf32>)
    -> (tensor<?x?x4xf32>, tensor<?x4x2xf32>) {
  %y, %ho = coil.scan %u, %u, %a, %b, %b, %d state(%h)
      : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<4x2xf32>, tensor<?x?x2xf32>, tensor<?x?x2xf32>, tensor<4xf32>, tensor<?x4x2xf32>) -> (tensor<?x?x4xf32>, tensor<?x4x2xf32>)
  return %y, %ho : tensor<?x?x4xf32>, tensor<?x4x2xf32>
}
