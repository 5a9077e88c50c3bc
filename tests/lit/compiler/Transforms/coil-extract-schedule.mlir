// RUN: coil-opt %s --split-input-file --coil-extract-schedule --verify-diagnostics | FileCheck %s

// The entry point becomes metadata: tokens, positions, the state (updated in
// place by the kernel that reads it), weights, a reused temporary, logits.

// CHECK: module attributes {coil.family = "mamba", coil.metadata = "{
// CHECK-SAME: \22buffers\22:[{\22dtype\22:\22i32\22,\22kind\22:\22tokens\22,\22shape\22:[\22B\22,\22T\22]}
// CHECK-SAME: {\22index\22:0,\22kind\22:\22state\22}
// CHECK-SAME: {\22index\22:0,\22kind\22:\22weight\22}
// CHECK-SAME: {\22dtype\22:\22f32\22,\22kind\22:\22temp\22,\22shape\22:[\22B\22,\22T\22,4]}
// CHECK-SAME: {\22dtype\22:\22f32\22,\22kind\22:\22logits\22,\22shape\22:[\22B\22,\22T\22,4]}
// COM: step 1 writes the state in place (buffer 2 is input and output);
// COM: step 2 reuses temp 4 for its output once step 1 has read it.
// COM: the embedding moves 4 floats per token; exp reads and writes 4 floats
// COM: per token (32 bytes) at 1 FLOP each.
// CHECK-SAME: \22steps\22:[{\22args\22:[3,0,4],\22cost\22:{\22bytes\22:[0,16,0],\22flops\22:[0,0,0]},\22kernel\22:0,\22layer\22:-1},{\22args\22:[4,2,5,2],\22cost\22:{\22bytes\22:[0,0,0],\22flops\22:[0,0,0]},\22kernel\22:1,\22layer\22:-1},{\22args\22:[5,4],\22cost\22:{\22bytes\22:[0,32,0],\22flops\22:[0,4,0]},\22kernel\22:2,\22layer\22:-1},{\22args\22:[4,6],\22cost\22:{\22bytes\22:[0,32,0],\22flops\22:[0,4,0]},\22kernel\22:2,\22layer\22:-1}]
// CHECK-SAME: \22kernels\22:[{\22calls\22:1,\22name\22:\22embed\22,\22ops\22:[\22embed\22],\22symbol\22:\22coil_kernel_embed\22}
// CHECK-SAME: \22max_context\22:null
// CHECK-SAME: \22profiled\22:false
// CHECK-SAME: \22states\22:[{\22dtype\22:\22f32\22,\22name\22:\22conv.0\22,\22shape\22:[\22B\22,4,2]}]
// CHECK-SAME: \22vocab_size\22:4
// CHECK-SAME: \22weights\22:[{\22dtype\22:\22f32\22,\22name\22:\22emb\22,\22shape\22:[4,4]}]
// CHECK-NOT: func.func @prefill
// CHECK: func.func private @embed
module attributes {coil.family = "mamba", coil.vocab_size = 4 : i64} {
  func.func @prefill(%tokens: tensor<?x?xi32>, %positions: tensor<?x?xi32>, %s: tensor<?x4x2xf32> {coil.state = "conv.0"})
      -> (tensor<?x?x4xf32>, tensor<?x4x2xf32>) {
    %w = coil.weight "emb" : tensor<4x4xf32>
    %h = call @embed(%w, %tokens) : (tensor<4x4xf32>, tensor<?x?xi32>) -> tensor<?x?x4xf32>
    %y:2 = call @step(%h, %s) : (tensor<?x?x4xf32>, tensor<?x4x2xf32>) -> (tensor<?x?x4xf32>, tensor<?x4x2xf32>)
    %z = call @exp(%y#0) : (tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
    %l = call @exp(%z) : (tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
    return %l, %y#1 : tensor<?x?x4xf32>, tensor<?x4x2xf32>
  }
  func.func private @embed(%t: tensor<4x4xf32>, %ids: tensor<?x?xi32>) -> tensor<?x?x4xf32> attributes {coil.calls = 1 : i64, coil.kernel} {
    %e = coil.embed %t, %ids : (tensor<4x4xf32>, tensor<?x?xi32>) -> tensor<?x?x4xf32>
    return %e : tensor<?x?x4xf32>
  }
  func.func private @step(%x: tensor<?x?x4xf32>, %s: tensor<?x4x2xf32>) -> (tensor<?x?x4xf32>, tensor<?x4x2xf32>) attributes {coil.calls = 1 : i64, coil.kernel} {
    %w = coil.weight "unused" : tensor<4x3xf32>
    return %x, %s : tensor<?x?x4xf32>, tensor<?x4x2xf32>
  }
  func.func private @exp(%x: tensor<?x?x4xf32>) -> tensor<?x?x4xf32> attributes {coil.calls = 2 : i64, coil.kernel} {
    %e = coil.exp %x : tensor<?x?x4xf32>
    return %e : tensor<?x?x4xf32>
  }
}

// -----

module {
  func.func @prefill(%tokens: tensor<?x?xi32>, %positions: tensor<?x?xi32>) -> tensor<?x?x4xf32> {
    %w = coil.weight "emb" : tensor<4x4xf32>
    // expected-error @+1 {{entry points may only read weights and call kernels here; run --coil-kernels-pipeline first}}
    %e = coil.embed %w, %tokens : (tensor<4x4xf32>, tensor<?x?xi32>) -> tensor<?x?x4xf32>
    return %e : tensor<?x?x4xf32>
  }
}
