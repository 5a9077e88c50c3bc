// RUN: coil-opt %s --split-input-file --coil-expose-kernel-temporaries --convert-coil-to-loops --verify-diagnostics | FileCheck %s

// A kernel becomes a destination-passing function on memrefs with the C
// interface and the tile arguments; the linear layer's intermediate result
// is an output too (exposed). Tiles split the linear's 64-feature blocks;
// inside, a 4-row x 4-feature register tile (16 accumulators), then 4 rows x
// 1 feature for the 70 % 4 remaining features. A barrier separates the
// linear from the residual add, which tiles split by elements.

// CHECK: func.func private @coil_kernel_barrier(!llvm.ptr)
// CHECK-LABEL: func.func @linear_add
// CHECK-SAME: (%[[X:.+]]: memref<?x?x8xf32>, %[[W:.+]]: memref<70x8xf32>, %[[R:.+]]: memref<?x?x70xf32>, %[[OUT:.+]]: memref<?x?x70xf32>, %[[Y:.+]]: memref<?x?x70xf32>, %[[TILE:.+]]: index, %[[TILES:.+]]: index, %[[SYNC:.+]]: !llvm.ptr)
// CHECK-SAME: attributes {{{.*}}llvm.emit_c_interface}
// CHECK-NOT: coil.
// CHECK-NOT: memref.alloc
// CHECK: arith.muli %[[TILE]], %{{.+}}
// CHECK: arith.divui %{{.+}}, %[[TILES]]
// CHECK: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %c64
// CHECK: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %c4
// CHECK: scf.for {{.*}} -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK: arith.mulf {{.*}} fastmath<reassoc,contract>
// CHECK: arith.addf {{.*}} fastmath<reassoc,contract>
// CHECK: scf.for {{.*}} -> (f32, f32, f32, f32) {
// CHECK: call @coil_kernel_barrier(%[[SYNC]])
// CHECK: %[[FLAT:.+]] = memref.collapse_shape %[[OUT]]
// CHECK: memref.store {{.*}}, %[[FLAT]]
// CHECK-NOT: memref.dealloc
// CHECK: return
func.func private @linear_add(%x: tensor<?x?x8xf32>, %w: tensor<70x8xf32>, %r: tensor<?x?x70xf32>) -> tensor<?x?x70xf32> attributes {coil.kernel} {
  %y = coil.linear %x, %w : (tensor<?x?x8xf32>, tensor<70x8xf32>) -> tensor<?x?x70xf32>
  %s = coil.add %r, %y : tensor<?x?x70xf32>
  return %s : tensor<?x?x70xf32>
}

// -----

// The scan keeps its 16-element state in a vector carried across time; the
// new state is stored once at the end.
// CHECK-LABEL: func.func @scan
// CHECK: %[[H0:.+]] = vector.load %{{.+}}[%{{.+}}, %{{.+}}, %{{.+}}] : memref<?x32x16xf32>, vector<16xf32>
// CHECK: %[[H:.+]] = scf.for {{.*}} iter_args(%{{.+}} = %[[H0]]) -> (vector<16xf32>)
// CHECK: vector.reduction <add>
// CHECK: scf.yield %{{.+}} : vector<16xf32>
// CHECK: vector.store %[[H]], %{{.+}} : memref<?x32x16xf32>, vector<16xf32>
func.func private @scan(%u: tensor<?x?x32xf32>, %dt: tensor<?x?x32xf32>, %a: tensor<32x16xf32>, %b: tensor<?x?x16xf32>,
    %c: tensor<?x?x16xf32>, %d: tensor<32xf32>, %z: tensor<?x?x32xf32>, %h: tensor<?x32x16xf32>)
    -> (tensor<?x?x32xf32>, tensor<?x32x16xf32>) attributes {coil.kernel} {
  %y, %ho = coil.scan %u, %dt, %a, %b, %c, %d gate(%z) state(%h) {delta_softplus}
      : (tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<32x16xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>,
         tensor<32xf32>, tensor<?x?x32xf32>, tensor<?x32x16xf32>) -> (tensor<?x?x32xf32>, tensor<?x32x16xf32>)
  return %y, %ho : tensor<?x?x32xf32>, tensor<?x32x16xf32>
}

// -----

// With a lowering config, 8 channels share a vector per state index and time
// goes in chunks of 4 steps: the first passes of a chunk write dt, dt * u,
// the gate and the 16 decays to stack scratch (the exp expanded into FMAs
// and integer ops, no math.exp), the recurrence reads them back and carries
// the 16 state vectors. A's columns are transposed into scratch once per
// block, before the loop over sequences. The first pass prefetches u, dt
// and z and (for writing) y two chunks (8 steps) ahead.
// CHECK-LABEL: func.func @scan_chunked
// CHECK-DAG: %[[DECAY:.+]] = memref.alloca() : memref<4x16x8xf32>
// CHECK-DAG: %[[STEP:.+]] = memref.alloca() : memref<3x4x8xf32>
// CHECK-DAG: %[[ACOLS:.+]] = memref.alloca() : memref<16x8xf32>
// CHECK-NOT: math.exp
// CHECK: vector.store %{{.+}}, %[[ACOLS]]
// CHECK: scf.for
// CHECK: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %c4 iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK: %[[AHEAD:.+]] = arith.addi %{{.+}}, %c8
// CHECK: %[[CLAMPED:.+]] = arith.minui %[[AHEAD]]
// CHECK: memref.prefetch %{{.+}}[%{{.+}}, %[[CLAMPED]], %{{.+}}], read, locality<3>, data
// CHECK: memref.prefetch %{{.+}}[%{{.+}}, %[[CLAMPED]], %{{.+}}], read, locality<3>, data
// CHECK: memref.prefetch %{{.+}}[%{{.+}}, %[[CLAMPED]], %{{.+}}], read, locality<3>, data
// CHECK: memref.prefetch %{{.+}}[%{{.+}}, %[[CLAMPED]], %{{.+}}], write, locality<3>, data
// CHECK: vector.store %{{.+}}, %[[STEP]]
// CHECK: arith.shli
// CHECK: vector.store %{{.+}}, %[[DECAY]]
// CHECK: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK: vector.load %[[DECAY]]
// CHECK-NOT: math.exp
// CHECK: return
func.func private @scan_chunked(%u: tensor<?x?x32xf32>, %dt: tensor<?x?x32xf32>, %a: tensor<32x16xf32>, %b: tensor<?x?x16xf32>,
    %c: tensor<?x?x16xf32>, %d: tensor<32xf32>, %z: tensor<?x?x32xf32>, %h: tensor<?x32x16xf32>)
    -> (tensor<?x?x32xf32>, tensor<?x32x16xf32>) attributes {coil.kernel} {
  %y, %ho = coil.scan %u, %dt, %a, %b, %c, %d gate(%z) state(%h)
      {delta_softplus, coil.lowering_config = {channels = 8 : i64, isa = "avx2", steps = 4 : i64}}
      : (tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<32x16xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>,
         tensor<32xf32>, tensor<?x?x32xf32>, tensor<?x32x16xf32>) -> (tensor<?x?x32xf32>, tensor<?x32x16xf32>)
  return %y, %ho : tensor<?x?x32xf32>, tensor<?x32x16xf32>
}

// -----

// One step per call (decode, T = 1): each channel's 16 states are one row,
// read and written in place next to A's row (no chunk loop, no scratch of
// decays), and y's 8 sums per block come out of one shuffle-add tree.
// Sequences are the outer loop (their B and C rows loaded once), this
// tile's blocks of 8 channels the inner.
// CHECK-LABEL: func.func @scan_step_rows
// CHECK: %[[BATCH:.+]] = memref.dim %arg0, %c0
// CHECK: scf.for %{{.+}} = %c0 to %[[BATCH]] step %c1 {
// CHECK-NEXT: vector.load %arg3{{.*}} : memref<?x1x16xf32>, vector<16xf32>
// CHECK-NEXT: vector.load %arg4{{.*}} : memref<?x1x16xf32>, vector<16xf32>
// CHECK-NEXT: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %c8 {
// CHECK: vector.load %{{.+}} : memref<32x16xf32>, vector<16xf32>
// CHECK: vector.load %{{.+}} : memref<?x32x16xf32>, vector<16xf32>
// CHECK: vector.store %{{.+}} : memref<?x32x16xf32>, vector<16xf32>
// CHECK: vector.shuffle {{.*}} : vector<16xf32>, vector<16xf32>
// CHECK: vector.shuffle {{.*}} [{{.*}}] : vector<16xf32>, vector<16xf32>
// CHECK-NOT: scf.for
// CHECK: vector.store %{{.+}} : memref<?x1x32xf32>, vector<8xf32>
// CHECK: return
func.func private @scan_step_rows(%u: tensor<?x1x32xf32>, %dt: tensor<?x1x32xf32>, %a: tensor<32x16xf32>, %b: tensor<?x1x16xf32>,
    %c: tensor<?x1x16xf32>, %d: tensor<32xf32>, %z: tensor<?x1x32xf32>, %h: tensor<?x32x16xf32>)
    -> (tensor<?x1x32xf32>, tensor<?x32x16xf32>) attributes {coil.kernel} {
  %y, %ho = coil.scan %u, %dt, %a, %b, %c, %d gate(%z) state(%h)
      {delta_softplus, coil.lowering_config = {channels = 8 : i64, isa = "avx2", steps = 4 : i64}}
      : (tensor<?x1x32xf32>, tensor<?x1x32xf32>, tensor<32x16xf32>, tensor<?x1x16xf32>, tensor<?x1x16xf32>,
         tensor<32xf32>, tensor<?x1x32xf32>, tensor<?x32x16xf32>) -> (tensor<?x1x32xf32>, tensor<?x32x16xf32>)
  return %y, %ho : tensor<?x1x32xf32>, tensor<?x32x16xf32>
}

// -----

// Attention: kv heads write the cache, a barrier, then query heads run the
// online softmax with the running max, sum and output row loop-carried; no
// buffer grows with the sequence length.
// CHECK-LABEL: func.func @attention
// CHECK-NOT: memref.alloc
// CHECK: vector.store {{.*}} : memref<?x1x?x8xf32>, vector<8xf32>
// CHECK: call @coil_kernel_barrier
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (f32, f32, vector<8xf32>)
// CHECK: arith.maximumf
// CHECK: vector.store {{.*}} vector<8xf32>
func.func private @attention(%q: tensor<?x?x16xf32>, %k: tensor<?x?x8xf32>, %v: tensor<?x?x8xf32>,
    %kc: tensor<?x1x?x8xf32>, %vc: tensor<?x1x?x8xf32>, %p: tensor<?x?xi32>)
    -> (tensor<?x?x16xf32>, tensor<?x1x?x8xf32>, tensor<?x1x?x8xf32>) attributes {coil.kernel} {
  %o, %kc2, %vc2 = coil.attention %q, %k, %v, %kc, %vc, %p {num_heads = 2 : i64, num_kv_heads = 1 : i64}
      : (tensor<?x?x16xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x1x?x8xf32>, tensor<?x1x?x8xf32>, tensor<?x?xi32>)
      -> (tensor<?x?x16xf32>, tensor<?x1x?x8xf32>, tensor<?x1x?x8xf32>)
  return %o, %kc2, %vc2 : tensor<?x?x16xf32>, tensor<?x1x?x8xf32>, tensor<?x1x?x8xf32>
}

// -----

// With the strategy's blocks, calls of at least half a block of queries
// per sequence run as flash attention: per (sequence, head, query block),
// the transposed queries, output rows and weights live in stack scratch;
// each key block's scores are one register tile of `keys` vectors of
// `queries` lanes carried over the head dimension, then the softmax is
// vertical (one max and one exp per key). Unmasked blocks come first,
// then blocks compared with the positions. Decode goes query by query.
// CHECK-LABEL: func.func @flash_attention
// CHECK: call @coil_kernel_barrier
// CHECK: scf.if
// CHECK-DAG: memref.alloca() : memref<8x4xf32>
// CHECK-DAG: memref.alloca() : memref<4x8xf32>
// CHECK-DAG: memref.alloca() : memref<3x4xf32>
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (vector<4xf32>, vector<4xf32>, vector<4xf32>)
// CHECK: arith.maximumf {{.*}} : vector<4xf32>
// CHECK: arith.cmpi sge, {{.*}} : vector<4xi32>
// CHECK: arith.select
// CHECK: } else {
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (f32, f32, vector<8xf32>)
func.func private @flash_attention(%q: tensor<?x?x16xf32>, %k: tensor<?x?x8xf32>, %v: tensor<?x?x8xf32>,
    %kc: tensor<?x1x?x8xf32>, %vc: tensor<?x1x?x8xf32>, %p: tensor<?x?xi32>)
    -> (tensor<?x?x16xf32>, tensor<?x1x?x8xf32>, tensor<?x1x?x8xf32>) attributes {coil.kernel} {
  %o, %kc2, %vc2 = coil.attention %q, %k, %v, %kc, %vc, %p {num_heads = 2 : i64, num_kv_heads = 1 : i64,
      coil.lowering_config = {isa = "x86-64", keys = 3 : i64, queries = 4 : i64, tile = array<i64: 2, 4>, vector = 4 : i64}}
      : (tensor<?x?x16xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x1x?x8xf32>, tensor<?x1x?x8xf32>, tensor<?x?xi32>)
      -> (tensor<?x?x16xf32>, tensor<?x1x?x8xf32>, tensor<?x1x?x8xf32>)
  return %o, %kc2, %vc2 : tensor<?x?x16xf32>, tensor<?x1x?x8xf32>, tensor<?x1x?x8xf32>
}

// -----

func.func private @bf16_kernel(%x: tensor<4xbf16>) -> tensor<4xbf16> attributes {coil.kernel} {
  // expected-error @+1 {{cannot be lowered to loops: element type 'bf16' (data is f32; only the weights of linears and embedding tables may be bf16, f16, i8 or i4)}}
  %y = coil.exp %x : tensor<4xbf16>
  return %y : tensor<4xbf16>
}

// -----

// A bf16 activation is refused even where a bf16 weight would be read.
func.func private @bf16_input(%x: tensor<2x4xbf16>, %w: tensor<3x4xbf16>) -> tensor<2x3xbf16> attributes {coil.kernel} {
  // expected-error @+1 {{cannot be lowered to loops: element type 'bf16' (data is f32; only the weights of linears and embedding tables may be bf16, f16, i8 or i4)}}
  %y = coil.linear %x, %w : (tensor<2x4xbf16>, tensor<3x4xbf16>) -> tensor<2x3xbf16>
  return %y : tensor<2x3xbf16>
}


// -----

func.func private @k(%x: tensor<4xf32>) -> tensor<4xf32> attributes {coil.kernel} {
  %y = coil.exp %x : tensor<4xf32>
  return %y : tensor<4xf32>
}
func.func @entry(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{calls kernel @k, whose signature convert-coil-to-loops changes}}
  %y = call @k(%x) : (tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// An rms_norm folded into the linear reading it (the prologue): the norm
// is not lowered and no barrier separates it from the linear; each block
// of rows first gets its 1 / rms (a vector sum of squares, a square root)
// into stack scratch of mc floats, and the last K block scales the sums by
// it before the bias. The panels hold the norm's weight, which the kernel
// no longer reads.
// CHECK-LABEL: func.func @norm_linear
// CHECK-SAME: (%[[X:.+]]: memref<?x?x8xf32>, %[[G:.+]]: memref<8xf32>, %[[W:.+]]: memref<2x8x8xf32>, %[[B:.+]]: memref<16xf32>, %[[Y:.+]]: memref<?x?x16xf32>, %[[H:.+]]: memref<?x?x8xf32>,
// CHECK-NOT: call @coil_kernel_barrier
// CHECK-NOT: %[[G]]
// CHECK: %[[SCALE:.+]] = memref.alloca() : memref<12xf32>
// CHECK: vector.load {{.*}} : memref<?x8xf32>, vector<8xf32>
// CHECK: math.sqrt
// CHECK: memref.store %{{.+}}, %[[SCALE]]
// CHECK: memref.load %[[SCALE]]
// CHECK: vector.load %[[B]]
// CHECK-NOT: call @coil_kernel_barrier
// CHECK: return
func.func private @norm_linear(%x: tensor<?x?x8xf32>, %g: tensor<8xf32>,
    %w: tensor<16x8xf32> {coil.layout = {kind = "panels", n0 = 8 : i64, scale = 1 : i64}},
    %b: tensor<16xf32>) -> tensor<?x?x16xf32> attributes {coil.kernel} {
  %h = coil.rms_norm %x, %g {epsilon = 1.0e-5 : f32} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %y = coil.linear %h, %w, %b {coil.lowering_config = {epilogue = [], isa = "avx2", kc = 0 : i64, mc = 12 : i64, prologue = ["rms_norm"], split = "panels", tile = array<i64: 6, 8>, vector = 8 : i64, weights = "panels"}} : (tensor<?x?x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
  return %y : tensor<?x?x16xf32>
}

// -----

// A prologue needs the rms_norm it folds as the linear's input.
func.func private @no_norm(%x: tensor<?x?x8xf32>,
    %w: tensor<16x8xf32> {coil.layout = {kind = "panels", n0 = 8 : i64}}) -> tensor<?x?x16xf32> attributes {coil.kernel} {
  // expected-error @+1 {{cannot be lowered to loops: its prologue folds an rms_norm, but its input is not an rms_norm that only such linears read}}
  %y = coil.linear %x, %w {coil.lowering_config = {epilogue = [], isa = "avx2", kc = 0 : i64, mc = 12 : i64, prologue = ["rms_norm"], split = "panels", tile = array<i64: 6, 8>, vector = 8 : i64, weights = "panels"}} : (tensor<?x?x8xf32>, tensor<16x8xf32>) -> tensor<?x?x16xf32>
  return %y : tensor<?x?x16xf32>
}

// -----

// Panels stored as bf16 are loaded as they are stored and widened in
// registers: a bf16 is the upper half of an f32 (zero-extend, shift by 16,
// reinterpret); the FMAs are f32.
// CHECK-LABEL: func.func @linear_bf16_panels
// CHECK-SAME: memref<2x8x8xbf16>
// CHECK: %[[V:.+]] = vector.load %{{.+}} : memref<2x8x8xbf16>, vector<8xbf16>
// CHECK: %[[BITS:.+]] = arith.bitcast %[[V]] : vector<8xbf16> to vector<8xi16>
// CHECK: %[[WIDE:.+]] = arith.extui %[[BITS]] : vector<8xi16> to vector<8xi32>
// CHECK: %[[SHIFTED:.+]] = arith.shli %[[WIDE]], %{{.+}} : vector<8xi32>
// CHECK: arith.bitcast %[[SHIFTED]] : vector<8xi32> to vector<8xf32>
// CHECK: arith.mulf {{.*}} : vector<8xf32>
func.func private @linear_bf16_panels(%x: tensor<?x?x8xf32>,
    %w: tensor<16x8xbf16> {coil.layout = {kind = "panels", n0 = 8 : i64}}) -> tensor<?x?x16xf32> attributes {coil.kernel} {
  %y = coil.linear %x, %w {coil.lowering_config = {epilogue = [], isa = "avx2", kc = 0 : i64, mc = 12 : i64, prologue = [], split = "panels", tile = array<i64: 6, 8>, vector = 8 : i64, weights = "panels"}} : (tensor<?x?x8xf32>, tensor<16x8xbf16>) -> tensor<?x?x16xf32>
  return %y : tensor<?x?x16xf32>
}

// -----

// f16 panels widen with one extension (vcvtph2ps with F16C).
// CHECK-LABEL: func.func @linear_f16_panels
// CHECK: %[[V:.+]] = vector.load %{{.+}} : memref<2x8x8xf16>, vector<8xf16>
// CHECK: arith.extf %[[V]] : vector<8xf16> to vector<8xf32>
func.func private @linear_f16_panels(%x: tensor<?x?x8xf32>,
    %w: tensor<16x8xf16> {coil.layout = {kind = "panels", n0 = 8 : i64}}) -> tensor<?x?x16xf32> attributes {coil.kernel} {
  %y = coil.linear %x, %w {coil.lowering_config = {epilogue = [], isa = "avx2", kc = 0 : i64, mc = 12 : i64, prologue = [], split = "panels", tile = array<i64: 6, 8>, vector = 8 : i64, weights = "panels"}} : (tensor<?x?x8xf32>, tensor<16x8xf16>) -> tensor<?x?x16xf32>
  return %y : tensor<?x?x16xf32>
}

// -----

// An embedding table stored as bf16 gives f32 rows.
// CHECK-LABEL: func.func @embed_bf16
// CHECK: %[[E:.+]] = memref.load %{{.+}} : memref<10x4xbf16>
// CHECK: arith.bitcast %[[E]] : bf16 to i16
// CHECK: memref.store %{{.+}} : memref<?x4xf32>
func.func private @embed_bf16(%t: tensor<10x4xbf16>, %ids: tensor<?x?xi32>) -> tensor<?x?x4xf32> attributes {coil.kernel} {
  %e = coil.embed %t, %ids : (tensor<10x4xbf16>, tensor<?x?xi32>) -> tensor<?x?x4xf32>
  return %e : tensor<?x?x4xf32>
}

// -----

// Int8 panels: each vector converted to f32 in registers (sign-extended,
// converted), the sums scaled per output feature before the bias.
// CHECK-LABEL: func.func @linear_int8_panels
// CHECK: %[[V:.+]] = vector.load %{{.+}} : memref<2x8x8xi8>, vector<8xi8>
// CHECK: arith.sitofp %[[V]] : vector<8xi8> to vector<8xf32>
// CHECK: %[[S:.+]] = vector.load %{{.+}} : memref<16xf32>, vector<8xf32>
// CHECK: arith.mulf %{{.+}}, %[[S]]
// CHECK: vector.store
func.func private @linear_int8_panels(%x: tensor<?x?x8xf32>,
    %w: tensor<16x8xi8> {coil.layout = {kind = "panels", n0 = 8 : i64}}, %s: tensor<16xf32>) -> tensor<?x?x16xf32> attributes {coil.kernel} {
  %y = coil.linear %x, %w scale(%s) {coil.lowering_config = {epilogue = [], isa = "avx2", kc = 0 : i64, mc = 12 : i64, prologue = [], split = "panels", tile = array<i64: 6, 8>, vector = 8 : i64, weights = "panels"}} : (tensor<?x?x8xf32>, tensor<16x8xi8>, tensor<16xf32>) -> tensor<?x?x16xf32>
  return %y : tensor<?x?x16xf32>
}

// -----

// Int4 panels: two features per byte (the first half of the panel in the
// low nibbles), sign-extended by shifts and converted; a group of 32 inputs
// sums x times these integers, then adds the sums times the group's
// scales, loaded from their own panels.
// CHECK-LABEL: func.func @linear_int4_panels
// CHECK-SAME: memref<2x64x4xi8>, %{{.+}}: memref<2x2x8xf32>
// CHECK: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %c32
// CHECK: scf.for
// CHECK: vector.load %{{.+}} : memref<2x64x4xi8>, vector<4xi8>
// CHECK: arith.extsi %{{.+}} : vector<4xi8> to vector<4xi32>
// CHECK: arith.shli
// CHECK: arith.shrsi
// CHECK: arith.sitofp
// CHECK: scf.yield
// CHECK: vector.load %{{.+}} : memref<2x2x8xf32>, vector<4xf32>
// CHECK: arith.mulf
func.func private @linear_int4_panels(%x: tensor<?x?x64xf32>,
    %w: tensor<16x64xi4> {coil.layout = {kind = "panels", n0 = 8 : i64}},
    %s: tensor<16x2xf32> {coil.layout = {kind = "panels", n0 = 8 : i64}}) -> tensor<?x?x16xf32> attributes {coil.kernel} {
  %y = coil.linear %x, %w scale(%s) {coil.lowering_config = {epilogue = [], isa = "x86-64", kc = 0 : i64, mc = 12 : i64, prologue = [], split = "panels", tile = array<i64: 6, 8>, vector = 4 : i64, weights = "panels"}} : (tensor<?x?x64xf32>, tensor<16x64xi4>, tensor<16x2xf32>) -> tensor<?x?x16xf32>
  return %y : tensor<?x?x16xf32>
}

// -----

// On AVX-512 (16 lanes) a nibble indexes a table of the 16 int4 values
// (vpermps reads the index's low 4 bits): the high nibble takes one shift,
// the low one none, and nothing is converted.
// CHECK-LABEL: func.func @linear_int4_panels_avx512
// CHECK-SAME: memref<1x64x16xi8>
// CHECK: %[[TABLE:.+]] = arith.constant dense<[0.000000e+00, 1.000000e+00, {{.*}}, 7.000000e+00, -8.000000e+00, {{.*}}, -1.000000e+00]> : vector<16xf32>
// CHECK: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %c32
// CHECK: vector.load %{{.+}} : memref<1x64x16xi8>, vector<16xi8>
// CHECK: llvm.call_intrinsic "llvm.x86.avx512.permvar.sf.512"(%[[TABLE]], %{{.+}}) : (vector<16xf32>, vector<16xi32>) -> vector<16xf32>
// CHECK: arith.shrui
// CHECK: llvm.call_intrinsic "llvm.x86.avx512.permvar.sf.512"
// CHECK-NOT: arith.sitofp
// CHECK: return
func.func private @linear_int4_panels_avx512(%x: tensor<?x?x64xf32>,
    %w: tensor<32x64xi4> {coil.layout = {kind = "panels", n0 = 32 : i64}},
    %s: tensor<32x2xf32> {coil.layout = {kind = "panels", n0 = 32 : i64}}) -> tensor<?x?x32xf32> attributes {coil.kernel} {
  %y = coil.linear %x, %w scale(%s) {coil.lowering_config = {epilogue = [], isa = "avx512", kc = 0 : i64, mc = 12 : i64, prologue = [], split = "panels", tile = array<i64: 6, 32>, vector = 16 : i64, weights = "panels"}} : (tensor<?x?x64xf32>, tensor<32x64xi4>, tensor<32x2xf32>) -> tensor<?x?x32xf32>
  return %y : tensor<?x?x32xf32>
}

// -----

// Barriers only where an op reads what was written since the last one: the
// exp of a parameter and the silu of the input are independent (no barrier
// between them), the neg reads the exp (a barrier), and the mul after it
// reads only what was written before that barrier (none).
// CHECK-LABEL: func.func @independent_ops
// CHECK-NOT: call @coil_kernel_barrier
// CHECK: arith.divf
// CHECK: call @coil_kernel_barrier
// CHECK: arith.negf
// CHECK-NOT: call @coil_kernel_barrier
// CHECK: arith.mulf
// CHECK-NOT: call @coil_kernel_barrier
// CHECK: return
func.func private @independent_ops(%p: tensor<8xf32>, %x: tensor<4xf32>) -> tensor<4xf32> attributes {coil.kernel} {
  %e = coil.exp %p : tensor<8xf32>
  %s = coil.silu %x : tensor<4xf32>
  %a = coil.neg %e : tensor<8xf32>
  %m = coil.mul %s, %x : tensor<4xf32>
  return %m : tensor<4xf32>
}

// -----

// An op that writes a buffer of the type of an argument read since the last
// barrier waits first: that argument may be a state its result updates in
// place. The neg writes a type no argument read so far has; the silu after
// it writes the type of %x, which the neg read.
// CHECK-LABEL: func.func @may_alias
// CHECK-NOT: call @coil_kernel_barrier
// CHECK: arith.negf
// CHECK: call @coil_kernel_barrier
// CHECK: arith.divf
// CHECK-NOT: call @coil_kernel_barrier
// CHECK: return
func.func private @may_alias(%h: tensor<4xf32>, %x: tensor<8xf32>) -> (tensor<4xf32>, tensor<8xf32>) attributes {coil.kernel} {
  %e = coil.exp %h : tensor<4xf32>
  %n = coil.neg %x : tensor<8xf32>
  %s = coil.silu %x : tensor<8xf32>
  return %e, %s : tensor<4xf32>, tensor<8xf32>
}
