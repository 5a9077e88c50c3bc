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

// -----

// Cost formulas, counted by hand (terms a + b*N + c*N*A + d*B + e*B*C; f32):
// COM: embed: one 32-float row per token: b = 128 bytes.
// COM: attend: slices k, v read and write 16 floats each (b += 256);
// COM: attention reads q and writes o (2 * 4 heads * 8), reads k, v and writes
// COM: them to the caches (4 * 2 kv heads * 8): b += 512; per token and
// COM: context position QK and PV: c = 4 * 4 heads * 8 = 128 FLOPs; each
// COM: sequence's cache is read once per position: e = 2 * 4 * 2 * 8 = 128.
// COM: scan (D = 6, N = 2): slices u, dt (6), B, C (2): b = 128, then y's
// COM: slice of 4: 32; the scan reads u, dt, z-less y (4 * 6) and B, C
// COM: (2 * 2) per token: 112 -> b = 272; A and D once per call:
// COM: a = 4 * (12 + 6) = 72; the state read and written once per sequence:
// COM: d = 2 * 4 * 12 = 96; 10 FLOPs per channel and state index per token:
// COM: 120. conv (4 channels, width 4): a row in and out per token, b = 32;
// COM: weights and bias a = 4 * (16 + 4) = 80; the state's 3 rows per
// COM: sequence read and written, d = 2 * 4 * 4 * 3 = 96; 2 * 4 * 4 = 32
// COM: FLOPs per token, and 4 per element for its silu, applied before the
// COM: store (its lowering config), which moves nothing more. last: one row
// COM: of 4 per sequence, read and written:
// COM: d = 32.
// CHECK-LABEL: module attributes {coil.family = "hybrid"
// CHECK-SAME: \22steps\22:[{\22args\22:[6,0,7],\22cost\22:{\22bytes\22:[0,128,0],\22flops\22:[0,0,0]}
// CHECK-SAME: {\22args\22:[7,2,3,1,8,2,3],\22cost\22:{\22bytes\22:[0,768,0,0,128],\22flops\22:[0,0,128]}
// CHECK-SAME: {\22args\22:[8,9,10,4,11,4],\22cost\22:{\22bytes\22:[72,272,0,96,0],\22flops\22:[0,120,0]}
// CHECK-SAME: {\22args\22:[11,12,13,5,14,5],\22cost\22:{\22bytes\22:[80,32,0,96,0],\22flops\22:[0,48,0]}
// CHECK-SAME: {\22args\22:[14,15],\22cost\22:{\22bytes\22:[0,0,0,32,0],\22flops\22:[0,0,0]}
module attributes {coil.family = "hybrid", coil.vocab_size = 4 : i64, coil.max_context = 16 : i64} {
  func.func @prefill(%tokens: tensor<?x?xi32>, %positions: tensor<?x?xi32>,
                     %kc: tensor<?x2x?x8xf32> {coil.state = "k.0"}, %vc: tensor<?x2x?x8xf32> {coil.state = "v.0"},
                     %h: tensor<?x6x2xf32> {coil.state = "ssm.0"}, %cs: tensor<?x4x3xf32> {coil.state = "conv.0"})
      -> (tensor<?x1x4xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x6x2xf32>, tensor<?x4x3xf32>) {
    %e = coil.weight "emb" : tensor<4x32xf32>
    %x = call @embed(%e, %tokens) : (tensor<4x32xf32>, tensor<?x?xi32>) -> tensor<?x?x32xf32>
    %o:3 = call @attend(%x, %kc, %vc, %positions) : (tensor<?x?x32xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x?xi32>) -> (tensor<?x?x32xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>)
    %a = coil.weight "A" : tensor<6x2xf32>
    %d = coil.weight "D" : tensor<6xf32>
    %s:2 = call @scan(%o#0, %a, %d, %h) : (tensor<?x?x32xf32>, tensor<6x2xf32>, tensor<6xf32>, tensor<?x6x2xf32>) -> (tensor<?x?x4xf32>, tensor<?x6x2xf32>)
    %cw = coil.weight "conv" : tensor<4x4xf32>
    %cb = coil.weight "conv_bias" : tensor<4xf32>
    %c:2 = call @conv(%s#0, %cw, %cb, %cs) : (tensor<?x?x4xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<?x4x3xf32>) -> (tensor<?x?x4xf32>, tensor<?x4x3xf32>)
    %l = call @last(%c#0) : (tensor<?x?x4xf32>) -> tensor<?x1x4xf32>
    return %l, %o#1, %o#2, %s#1, %c#1 : tensor<?x1x4xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x6x2xf32>, tensor<?x4x3xf32>
  }
  func.func private @conv(%x: tensor<?x?x4xf32>, %w: tensor<4x4xf32>, %b: tensor<4xf32>, %s: tensor<?x4x3xf32>) -> (tensor<?x?x4xf32>, tensor<?x4x3xf32>) attributes {coil.calls = 1 : i64, coil.kernel} {
    %y, %s2 = coil.conv1d_causal %x, %w bias(%b) state(%s) {coil.lowering_config = {epilogue = ["silu"]}} : (tensor<?x?x4xf32>, tensor<4x4xf32>, tensor<4xf32>, tensor<?x4x3xf32>) -> (tensor<?x?x4xf32>, tensor<?x4x3xf32>)
    %a = coil.silu %y : tensor<?x?x4xf32>
    return %a, %s2 : tensor<?x?x4xf32>, tensor<?x4x3xf32>
  }
  func.func private @embed(%t: tensor<4x32xf32>, %ids: tensor<?x?xi32>) -> tensor<?x?x32xf32> attributes {coil.calls = 1 : i64, coil.kernel} {
    %e = coil.embed %t, %ids : (tensor<4x32xf32>, tensor<?x?xi32>) -> tensor<?x?x32xf32>
    return %e : tensor<?x?x32xf32>
  }
  func.func private @attend(%x: tensor<?x?x32xf32>, %kc: tensor<?x2x?x8xf32>, %vc: tensor<?x2x?x8xf32>, %p: tensor<?x?xi32>) -> (tensor<?x?x32xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>) attributes {coil.calls = 1 : i64, coil.kernel} {
    %k = coil.slice %x {dim = 2 : i64, offset = 0 : i64, size = 16 : i64} : tensor<?x?x32xf32> -> tensor<?x?x16xf32>
    %v = coil.slice %x {dim = 2 : i64, offset = 16 : i64, size = 16 : i64} : tensor<?x?x32xf32> -> tensor<?x?x16xf32>
    %o, %kc2, %vc2 = coil.attention %x, %k, %v, %kc, %vc, %p {num_heads = 4 : i64, num_kv_heads = 2 : i64}
        : (tensor<?x?x32xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x?xi32>)
        -> (tensor<?x?x32xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>)
    return %o, %kc2, %vc2 : tensor<?x?x32xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>
  }
  func.func private @scan(%x: tensor<?x?x32xf32>, %a: tensor<6x2xf32>, %d: tensor<6xf32>, %h: tensor<?x6x2xf32>) -> (tensor<?x?x4xf32>, tensor<?x6x2xf32>) attributes {coil.calls = 1 : i64, coil.kernel} {
    %u = coil.slice %x {dim = 2 : i64, offset = 0 : i64, size = 6 : i64} : tensor<?x?x32xf32> -> tensor<?x?x6xf32>
    %dt = coil.slice %x {dim = 2 : i64, offset = 6 : i64, size = 6 : i64} : tensor<?x?x32xf32> -> tensor<?x?x6xf32>
    %b = coil.slice %x {dim = 2 : i64, offset = 12 : i64, size = 2 : i64} : tensor<?x?x32xf32> -> tensor<?x?x2xf32>
    %c = coil.slice %x {dim = 2 : i64, offset = 14 : i64, size = 2 : i64} : tensor<?x?x32xf32> -> tensor<?x?x2xf32>
    %y, %h2 = coil.scan %u, %dt, %a, %b, %c, %d state(%h) {delta_softplus} : (tensor<?x?x6xf32>, tensor<?x?x6xf32>, tensor<6x2xf32>, tensor<?x?x2xf32>, tensor<?x?x2xf32>, tensor<6xf32>, tensor<?x6x2xf32>) -> (tensor<?x?x6xf32>, tensor<?x6x2xf32>)
    %y4 = coil.slice %y {dim = 2 : i64, offset = 0 : i64, size = 4 : i64} : tensor<?x?x6xf32> -> tensor<?x?x4xf32>
    return %y4, %h2 : tensor<?x?x4xf32>, tensor<?x6x2xf32>
  }
  func.func private @last(%y: tensor<?x?x4xf32>) -> tensor<?x1x4xf32> attributes {coil.calls = 1 : i64, coil.kernel} {
    %l = coil.slice %y {dim = 1 : i64, offset = 0 : i64, size = 1 : i64, from_end} : tensor<?x?x4xf32> -> tensor<?x1x4xf32>
    return %l : tensor<?x1x4xf32>
  }
}

// -----

// A verify entry: the scan's state after every step is a history buffer of
// state 0 (not a temp), written by the kernel; the cost adds its D x N
// floats per token: b = 64 (the embedded row) + 128 (the slices, as above)
// + 112 (the scan) + 4 * 12 (the history) = 352.
// CHECK-LABEL: module attributes {coil.family = "mamba"
// CHECK-SAME: \22verify\22:{\22buffers\22:[
// CHECK-SAME: {\22index\22:0,\22kind\22:\22state\22}
// CHECK-SAME: {\22index\22:0,\22kind\22:\22history\22}
// CHECK-SAME: \22steps\22:[{\22args\22:[3,4,0,2,5,2,6],\22cost\22:{\22bytes\22:[72,352,0,96,0],\22flops\22:[0,120,0]}
module attributes {coil.family = "mamba", coil.vocab_size = 6 : i64} {
  func.func @verify(%tokens: tensor<?x?xi32>, %positions: tensor<?x?xi32>,
                    %h: tensor<?x6x2xf32> {coil.state = "ssm.0"})
      -> (tensor<?x?x6xf32>, tensor<?x6x2xf32>, tensor<?x?x6x2xf32> {coil.history = "ssm.0"}) {
    %a = coil.weight "A" : tensor<6x2xf32>
    %d = coil.weight "D" : tensor<6xf32>
    %s:3 = call @scan(%a, %d, %tokens, %h) : (tensor<6x2xf32>, tensor<6xf32>, tensor<?x?xi32>, tensor<?x6x2xf32>) -> (tensor<?x?x6xf32>, tensor<?x6x2xf32>, tensor<?x?x6x2xf32>)
    return %s#0, %s#1, %s#2 : tensor<?x?x6xf32>, tensor<?x6x2xf32>, tensor<?x?x6x2xf32>
  }
  func.func private @scan(%a: tensor<6x2xf32>, %d: tensor<6xf32>, %t: tensor<?x?xi32>, %h: tensor<?x6x2xf32>) -> (tensor<?x?x6xf32>, tensor<?x6x2xf32>, tensor<?x?x6x2xf32>) attributes {coil.calls = 1 : i64, coil.kernel} {
    %e = coil.weight "E" : tensor<6x16xf32>
    %x = coil.embed %e, %t : (tensor<6x16xf32>, tensor<?x?xi32>) -> tensor<?x?x16xf32>
    %u = coil.slice %x {dim = 2 : i64, offset = 0 : i64, size = 6 : i64} : tensor<?x?x16xf32> -> tensor<?x?x6xf32>
    %dt = coil.slice %x {dim = 2 : i64, offset = 6 : i64, size = 6 : i64} : tensor<?x?x16xf32> -> tensor<?x?x6xf32>
    %b = coil.slice %x {dim = 2 : i64, offset = 12 : i64, size = 2 : i64} : tensor<?x?x16xf32> -> tensor<?x?x2xf32>
    %c = coil.slice %x {dim = 2 : i64, offset = 14 : i64, size = 2 : i64} : tensor<?x?x16xf32> -> tensor<?x?x2xf32>
    %y, %h2, %hs = coil.scan %u, %dt, %a, %b, %c, %d state(%h) {delta_softplus} : (tensor<?x?x6xf32>, tensor<?x?x6xf32>, tensor<6x2xf32>, tensor<?x?x2xf32>, tensor<?x?x2xf32>, tensor<6xf32>, tensor<?x6x2xf32>) -> (tensor<?x?x6xf32>, tensor<?x6x2xf32>, tensor<?x?x6x2xf32>)
    return %y, %h2, %hs : tensor<?x?x6xf32>, tensor<?x6x2xf32>, tensor<?x?x6x2xf32>
  }
}

// -----

// A result after the states must name the state whose history it is.
module attributes {coil.family = "mamba", coil.vocab_size = 6 : i64} {
  // expected-error @+1 {{result 2 is not a state: it needs a coil.history naming a state argument}}
  func.func @verify(%tokens: tensor<?x?xi32>, %positions: tensor<?x?xi32>,
                    %h: tensor<?x6x2xf32> {coil.state = "ssm.0"})
      -> (tensor<?x?x6xf32>, tensor<?x6x2xf32>, tensor<?x?x6x2xf32> {coil.history = "ssm.9"}) {
    %y = tensor.empty() : tensor<1x1x6xf32>
    %c = tensor.cast %y : tensor<1x1x6xf32> to tensor<?x?x6xf32>
    %s = tensor.empty() : tensor<1x1x6x2xf32>
    %sc = tensor.cast %s : tensor<1x1x6x2xf32> to tensor<?x?x6x2xf32>
    return %c, %h, %sc : tensor<?x?x6xf32>, tensor<?x6x2xf32>, tensor<?x?x6x2xf32>
  }
}

// -----

// ... and have that state's extents after [B, T].
module attributes {coil.family = "mamba", coil.vocab_size = 6 : i64} {
  // expected-error @+1 {{result 2 (the history of state 'ssm.0') has type 'tensor<?x?x6x3xf32>', expected [B, T] followed by the state's static extents after its batch}}
  func.func @verify(%tokens: tensor<?x?xi32>, %positions: tensor<?x?xi32>,
                    %h: tensor<?x6x2xf32> {coil.state = "ssm.0"})
      -> (tensor<?x?x6xf32>, tensor<?x6x2xf32>, tensor<?x?x6x3xf32> {coil.history = "ssm.0"}) {
    %y = tensor.empty() : tensor<1x1x6xf32>
    %c = tensor.cast %y : tensor<1x1x6xf32> to tensor<?x?x6xf32>
    %s = tensor.empty() : tensor<1x1x6x3xf32>
    %sc = tensor.cast %s : tensor<1x1x6x3xf32> to tensor<?x?x6x3xf32>
    return %c, %h, %sc : tensor<?x?x6xf32>, tensor<?x6x2xf32>, tensor<?x?x6x3xf32>
  }
}

// -----

// An rms_norm folded into the linear reading it: the weight is one entry
// per norm weight that scales its panels (the same matrix after two
// norms), and the norm costs its FLOPs but moves nothing (the linear reads
// its input, the panels hold its weight).

// CHECK-LABEL: module attributes {coil.family = "test", coil.metadata =
// CHECK-SAME: \22cost\22:{\22bytes\22:[128,48,0],\22flops\22:[0,80,0]}
// CHECK-SAME: \22weights\22:[{\22dtype\22:\22f32\22,\22name\22:\22emb\22,\22shape\22:[8,4]},{\22dtype\22:\22f32\22,\22name\22:\22norm.0\22,\22shape\22:[4]},{\22dtype\22:\22f32\22,\22layout\22:{\22kind\22:\22panels\22,\22n0\22:8,\22scale\22:\22norm.0\22},\22name\22:\22w\22,\22shape\22:[8,4]},{\22dtype\22:\22f32\22,\22name\22:\22norm.1\22,\22shape\22:[4]},{\22dtype\22:\22f32\22,\22layout\22:{\22kind\22:\22panels\22,\22n0\22:8,\22scale\22:\22norm.1\22},\22name\22:\22w\22,\22shape\22:[8,4]}]
module attributes {coil.family = "test", coil.vocab_size = 8 : i64} {
  func.func @prefill(%tokens: tensor<?x?xi32>, %positions: tensor<?x?xi32>) -> tensor<?x?x8xf32> {
    %e = coil.weight "emb" : tensor<8x4xf32>
    %h = call @embed(%e, %tokens) : (tensor<8x4xf32>, tensor<?x?xi32>) -> tensor<?x?x4xf32>
    %n0 = coil.weight "norm.0" : tensor<4xf32>
    %n1 = coil.weight "norm.1" : tensor<4xf32>
    %w = coil.weight "w" : tensor<8x4xf32>
    %a:2 = call @norm_linear(%h, %n0, %w) : (tensor<?x?x4xf32>, tensor<4xf32>, tensor<8x4xf32>) -> (tensor<?x?x4xf32>, tensor<?x?x8xf32>)
    %b:2 = call @norm_linear(%h, %n1, %w) : (tensor<?x?x4xf32>, tensor<4xf32>, tensor<8x4xf32>) -> (tensor<?x?x4xf32>, tensor<?x?x8xf32>)
    return %b#1 : tensor<?x?x8xf32>
  }
  func.func private @embed(%t: tensor<8x4xf32>, %ids: tensor<?x?xi32>) -> tensor<?x?x4xf32> attributes {coil.calls = 1 : i64, coil.kernel} {
    %e = coil.embed %t, %ids : (tensor<8x4xf32>, tensor<?x?xi32>) -> tensor<?x?x4xf32>
    return %e : tensor<?x?x4xf32>
  }
  func.func private @norm_linear(%x: tensor<?x?x4xf32>, %n: tensor<4xf32>, %w: tensor<8x4xf32> {coil.layout = {kind = "panels", n0 = 8 : i64, scale = 1 : i64}}) -> (tensor<?x?x4xf32>, tensor<?x?x8xf32>) attributes {coil.calls = 2 : i64, coil.kernel} {
    %h = coil.rms_norm %x, %n {epsilon = 1.0e-5 : f32} : (tensor<?x?x4xf32>, tensor<4xf32>) -> tensor<?x?x4xf32>
    %y = coil.linear %h, %w {coil.lowering_config = {epilogue = [], isa = "avx2", kc = 0 : i64, mc = 384 : i64, prologue = ["rms_norm"], split = "panels", tile = array<i64: 6, 8>, vector = 8 : i64, weights = "panels"}} : (tensor<?x?x4xf32>, tensor<8x4xf32>) -> tensor<?x?x8xf32>
    return %h, %y : tensor<?x?x4xf32>, tensor<?x?x8xf32>
  }
}

// -----

// A scale must name a model parameter at every call site.
module attributes {coil.family = "test", coil.vocab_size = 8 : i64} {
  func.func @prefill(%tokens: tensor<?x?xi32>, %positions: tensor<?x?xi32>) -> tensor<?x?x8xf32> {
    %e = coil.weight "emb" : tensor<8x4xf32>
    %h = call @embed(%e, %tokens) : (tensor<8x4xf32>, tensor<?x?xi32>) -> tensor<?x?x4xf32>
    %n = coil.weight "norm" : tensor<4xf32>
    %m = call @exp(%n) : (tensor<4xf32>) -> tensor<4xf32>
    %w = coil.weight "w" : tensor<8x4xf32>
    // expected-error @+1 {{argument 2 of @scaled is packed in panels scaled by argument 1, which is not a model parameter here}}
    %y = call @scaled(%h, %m, %w) : (tensor<?x?x4xf32>, tensor<4xf32>, tensor<8x4xf32>) -> tensor<?x?x8xf32>
    return %y : tensor<?x?x8xf32>
  }
  func.func private @embed(%t: tensor<8x4xf32>, %ids: tensor<?x?xi32>) -> tensor<?x?x4xf32> attributes {coil.calls = 1 : i64, coil.kernel} {
    %e = coil.embed %t, %ids : (tensor<8x4xf32>, tensor<?x?xi32>) -> tensor<?x?x4xf32>
    return %e : tensor<?x?x4xf32>
  }
  func.func private @exp(%x: tensor<4xf32>) -> tensor<4xf32> attributes {coil.calls = 1 : i64, coil.kernel} {
    %e = coil.exp %x : tensor<4xf32>
    return %e : tensor<4xf32>
  }
  func.func private @scaled(%x: tensor<?x?x4xf32>, %n: tensor<4xf32>, %w: tensor<8x4xf32> {coil.layout = {kind = "panels", n0 = 8 : i64, scale = 1 : i64}}) -> tensor<?x?x8xf32> attributes {coil.calls = 1 : i64, coil.kernel} {
    %y = coil.linear %x, %w : (tensor<?x?x4xf32>, tensor<8x4xf32>) -> tensor<?x?x8xf32>
    return %y : tensor<?x?x8xf32>
  }
}

// -----

// Mamba-2's scan (H = 2 heads of P = 3 channels, one group of N = 2
// states), its x, dt, B and C sliced from an embedded row of 12: per token
// b = 48 (the row) + 4 * 2 * (6 + 2 + 2 + 2) = 96 (the slices) + 4 * (2 * 6
// + 2 + 2 * 2) = 72 (x, y, dt, B, C) = 216 bytes and 5 * 6 * 2 + 2 * 6 +
// 20 * 2 = 112 FLOPs; a = 4 * 3 * 2 = 24 bytes of A, D and dt_bias; the
// state (H x P x N) read and written once per sequence: d = 2 * 4 * 12 = 96.
// CHECK-LABEL: module attributes {coil.family = "mamba2"
// CHECK-SAME: \22steps\22:[{\22args\22:[3,4,5,0,2,6,2],\22cost\22:{\22bytes\22:[24,216,0,96,0],\22flops\22:[0,112,0]}
module attributes {coil.family = "mamba2", coil.vocab_size = 6 : i64} {
  func.func @prefill(%tokens: tensor<?x?xi32>, %positions: tensor<?x?xi32>,
                     %s: tensor<?x2x3x2xf32> {coil.state = "ssm.0"})
      -> (tensor<?x?x6xf32>, tensor<?x2x3x2xf32>) {
    %a = coil.weight "A" : tensor<2xf32>
    %d = coil.weight "D" : tensor<2xf32>
    %bias = coil.weight "dt_bias" : tensor<2xf32>
    %r:2 = call @ssd(%a, %d, %bias, %tokens, %s) : (tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<?x?xi32>, tensor<?x2x3x2xf32>) -> (tensor<?x?x6xf32>, tensor<?x2x3x2xf32>)
    return %r#0, %r#1 : tensor<?x?x6xf32>, tensor<?x2x3x2xf32>
  }
  func.func private @ssd(%a: tensor<2xf32>, %d: tensor<2xf32>, %bias: tensor<2xf32>, %t: tensor<?x?xi32>, %s: tensor<?x2x3x2xf32>) -> (tensor<?x?x6xf32>, tensor<?x2x3x2xf32>) attributes {coil.calls = 1 : i64, coil.kernel} {
    %e = coil.weight "E" : tensor<6x12xf32>
    %row = coil.embed %e, %t : (tensor<6x12xf32>, tensor<?x?xi32>) -> tensor<?x?x12xf32>
    %x = coil.slice %row {dim = 2 : i64, offset = 0 : i64, size = 6 : i64} : tensor<?x?x12xf32> -> tensor<?x?x6xf32>
    %dt = coil.slice %row {dim = 2 : i64, offset = 6 : i64, size = 2 : i64} : tensor<?x?x12xf32> -> tensor<?x?x2xf32>
    %b = coil.slice %row {dim = 2 : i64, offset = 8 : i64, size = 2 : i64} : tensor<?x?x12xf32> -> tensor<?x?x2xf32>
    %c = coil.slice %row {dim = 2 : i64, offset = 10 : i64, size = 2 : i64} : tensor<?x?x12xf32> -> tensor<?x?x2xf32>
    %y, %s2 = coil.ssd_scan %x, %dt, %a, %b, %c, %d bias(%bias) state(%s) {delta_softplus} : (tensor<?x?x6xf32>, tensor<?x?x2xf32>, tensor<2xf32>, tensor<?x?x2xf32>, tensor<?x?x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<?x2x3x2xf32>) -> (tensor<?x?x6xf32>, tensor<?x2x3x2xf32>)
    return %y, %s2 : tensor<?x?x6xf32>, tensor<?x2x3x2xf32>
  }
}
