// RUN: coil-opt %s --coil-cpu-select-strategy=target-cpu=skylake-avx512 | FileCheck %s --check-prefix=AVX512
// RUN: coil-opt %s --coil-cpu-select-strategy=target-cpu=znver3 | FileCheck %s --check-prefix=AVX2
// RUN: coil-opt %s --coil-cpu-select-strategy=target-cpu=x86-64 | FileCheck %s --check-prefix=BASE
// RUN: not coil-opt %s --coil-cpu-select-strategy=target-cpu=pentium-9000 2>&1 | FileCheck %s --check-prefix=BAD

// The target is recorded on the module, with the cpuid features the code
// will need; every linear gets its register tile and cache block.

// AVX512: module attributes {coil.target = {cpu = "skylake-avx512", features = "", isa = "avx512", l1_bytes = 49152 : i64, l2_bytes = 1048576 : i64,
// AVX512-SAME: required_features = [{{.*}}"avx512bw", {{.*}}"avx512f", {{.*}}"fma"{{.*}}], vector_bits = 512 : i64, vector_registers = 32 : i64}}
// AVX2: module attributes {coil.target = {cpu = "znver3", features = "", isa = "avx2",
// AVX2-SAME: vector_bits = 256 : i64, vector_registers = 16 : i64}}
// AVX2-NOT: avx512f
// BASE: module attributes {coil.target = {cpu = "x86-64", features = "", isa = "x86-64",
// BASE-SAME: vector_bits = 128 : i64

// A weight only linears read, and that every call site passes as a model
// parameter, is packed in panels of the tile's width. The rms_norm only
// that linear reads is folded into it: the panels are scaled by the norm's
// weight (argument 1) and the linear's prologue is the norm.
// AVX512-LABEL: func.func private @norm_linear
// AVX512-SAME: %{{.*}}: tensor<48x64xf32> {coil.layout = {kind = "panels", n0 = 32 : i64, scale = 1 : i64}}
// AVX512: coil.linear {{.*}} {coil.lowering_config = {epilogue = [], isa = "avx512", kc = 64 : i64, mc = {{[0-9]+}} : i64, prologue = ["rms_norm"], split = "panels", tile = array<i64: 12, 32>, vector = 16 : i64, weights = "panels"}}
// AVX2-LABEL: func.func private @norm_linear
// AVX2-SAME: {coil.layout = {kind = "panels", n0 = 16 : i64, scale = 1 : i64}}
// AVX2: coil.lowering_config = {epilogue = [], isa = "avx2", kc = 64 : i64, mc = 384 : i64, prologue = ["rms_norm"], split = "panels", tile = array<i64: 6, 16>, vector = 8 : i64, weights = "panels"}
// BASE-LABEL: func.func private @norm_linear
// BASE-SAME: {coil.layout = {kind = "panels", n0 = 8 : i64, scale = 1 : i64}}
// BASE: coil.lowering_config = {epilogue = [], isa = "x86-64", {{.*}}prologue = ["rms_norm"], {{.*}}tile = array<i64: 6, 8>, vector = 4 : i64, weights = "panels"}

// The norm stays when anything but such linears reads its rows (here an
// add), when its weight is computed at a call site, or when a caller reads
// its rows.
// AVX512-LABEL: func.func private @norm_also_read
// AVX512-SAME: {coil.layout = {kind = "panels", n0 = 32 : i64}}
// AVX512: coil.linear {{.*}}prologue = []
// AVX512-LABEL: func.func private @norm_computed_weight
// AVX512-SAME: {coil.layout = {kind = "panels", n0 = 32 : i64}}
// AVX512: coil.linear {{.*}}prologue = []
// AVX512-LABEL: func.func private @norm_read_by_caller
// AVX512-SAME: {coil.layout = {kind = "panels", n0 = 32 : i64}}
// AVX512: coil.linear {{.*}}prologue = []

// A panel (K x nr weights) within a quarter of the L2 is one block of K,
// however long; a longer one is swept in blocks of kc (kc x nr weights in
// half the L1).
// AVX512-LABEL: func.func private @panel_in_l2
// AVX512: coil.lowering_config = {epilogue = [], isa = "avx512", kc = 1000 : i64,
// AVX2-LABEL: func.func private @panel_in_l2
// AVX2: coil.lowering_config = {epilogue = [], isa = "avx2", kc = 1000 : i64,
// AVX512-LABEL: func.func private @long_k
// AVX512: coil.lowering_config = {epilogue = [], isa = "avx512", kc = 192 : i64,
// AVX2-LABEL: func.func private @long_k
// AVX2: coil.lowering_config = {epilogue = [], isa = "avx2", kc = 256 : i64,

// A weight computed at a call site stays as stored.
// AVX512-LABEL: func.func private @computed_weight
// AVX512-NOT: coil.layout
// AVX512: coil.lowering_config = {{{.*}}weights = "rows"}

// Element-wise ops that only consume a linear's value run on its register
// tile: gate + silu, up + mul (silu's value is ready once the gate tile
// ran), down + the residual add. A value a caller reads is stored, so
// nothing is fused after it.
// AVX512-LABEL: func.func private @ffn
// AVX512: coil.linear {{.*}}coil.lowering_config = {epilogue = ["silu"]
// AVX512: coil.linear {{.*}}coil.lowering_config = {epilogue = ["mul"]
// AVX512: coil.linear {{.*}}coil.lowering_config = {epilogue = ["add"]
// AVX512-LABEL: func.func private @read_by_caller
// AVX512: coil.linear {{.*}}coil.lowering_config = {epilogue = []

// A split of the linear's columns into whole panels is stored piece by
// piece from the tile; pieces that cut a panel stay a separate copy.
// AVX512-LABEL: func.func private @split_whole_panels
// AVX512: coil.linear {{.*}}coil.lowering_config = {epilogue = ["split"]
// AVX512-LABEL: func.func private @split_inside_a_panel
// AVX512: coil.linear {{.*}}coil.lowering_config = {epilogue = []
// AVX2-LABEL: func.func private @split_inside_a_panel
// AVX2: coil.linear {{.*}}coil.lowering_config = {epilogue = ["split"]

// BAD: error: unknown target CPU 'pentium-9000' (expected 'host' or an x86-64 CPU name LLVM knows


// A scan keeps one vector register of channels per state index, over
// chunks of time whose decays (steps x 16 state vectors) take 16 KiB.
// AVX512-LABEL: func.func private @scan
// AVX512: coil.scan {{.*}} {coil.lowering_config = {channels = 16 : i64, isa = "avx512", steps = 16 : i64}, delta_softplus}
// AVX2-LABEL: func.func private @scan
// AVX2: coil.lowering_config = {channels = 8 : i64, isa = "avx2", steps = 32 : i64}
// BASE-LABEL: func.func private @scan
// BASE: coil.lowering_config = {channels = 4 : i64, isa = "x86-64", steps = 64 : i64}

// Attention: a vector of queries per block, a score tile of keys, a
// value tile of queries x head features.
// AVX512-LABEL: func.func private @attention
// AVX512: coil.attention {{.*}} {coil.lowering_config = {isa = "avx512", keys = 16 : i64, queries = 16 : i64, tile = array<i64: 8, 32>, vector = 16 : i64}
// AVX2-LABEL: func.func private @attention
// AVX2: coil.lowering_config = {isa = "avx2", keys = 12 : i64, queries = 8 : i64, tile = array<i64: 4, 16>, vector = 8 : i64}
// BASE-LABEL: func.func private @attention
// BASE: coil.lowering_config = {isa = "x86-64", keys = 12 : i64, queries = 4 : i64, tile = array<i64: 4, 8>, vector = 4 : i64}
// A conv's silu runs before the store when nothing else reads the conv's
// values.
// AVX512-LABEL: func.func private @conv_silu
// AVX512: coil.conv1d_causal {{.*}} {coil.lowering_config = {epilogue = ["silu"]}}
// AVX512-LABEL: func.func private @conv_read_by_caller
// AVX512: coil.conv1d_causal {{.*}} {coil.lowering_config = {epilogue = []}}

// A grouped norm is never folded: each group of a row has its own scale,
// which the linear's sums over the whole row cannot apply.
// AVX512-LABEL: func.func private @norm_grouped
// AVX512-SAME: {coil.layout = {kind = "panels", n0 = 32 : i64}}
// AVX512: coil.linear {{.*}}prologue = []

// Mamba-2's scan: chunks of time whose B and C rows (2 x 24 floats a
// step) take 16 KiB, 85 steps, rounded down to whole groups of a
// register's lanes (whose y sums are added together).
// AVX512-LABEL: func.func private @ssd_scan
// AVX512: coil.ssd_scan {{.*}} {coil.lowering_config = {isa = "avx512", lanes = 16 : i64, steps = 80 : i64}, delta_softplus}
// AVX2-LABEL: func.func private @ssd_scan
// AVX2: coil.lowering_config = {isa = "avx2", lanes = 8 : i64, steps = 80 : i64}
// BASE-LABEL: func.func private @ssd_scan
// BASE: coil.lowering_config = {isa = "x86-64", lanes = 4 : i64, steps = 84 : i64}
module {
  func.func @prefill(%x: tensor<?x?x64xf32>) -> (tensor<?x?x48xf32>, tensor<?x?x48xf32>) {
    %n = coil.weight "norm" : tensor<64xf32>
    %w = coil.weight "proj" : tensor<48x64xf32>
    %y = call @norm_linear(%x, %n, %w) : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<48x64xf32>) -> tensor<?x?x48xf32>
    %sq = coil.weight "also_read" : tensor<64x64xf32>
    %na = call @norm_also_read(%x, %n, %sq) : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
    %ne = coil.exp %n : tensor<64xf32>
    %nc = call @norm_computed_weight(%x, %ne, %sq) : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
    %nr:2 = call @norm_read_by_caller(%x, %n, %sq) : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<64x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>)
    %nn = coil.add %nr#0, %nr#1 : tensor<?x?x64xf32>
    %e = coil.exp %w : tensor<48x64xf32>
    %z = call @computed_weight(%x, %e) : (tensor<?x?x64xf32>, tensor<48x64xf32>) -> tensor<?x?x48xf32>
    %g = coil.weight "gate" : tensor<96x64xf32>
    %u = coil.weight "up" : tensor<96x64xf32>
    %d = coil.weight "down" : tensor<64x96xf32>
    %f = call @ffn(%x, %g, %u, %d) : (tensor<?x?x64xf32>, tensor<96x64xf32>, tensor<96x64xf32>, tensor<64x96xf32>) -> tensor<?x?x64xf32>
    %q = coil.weight "square" : tensor<64x64xf32>
    %r:2 = call @read_by_caller(%x, %q) : (tensor<?x?x64xf32>, tensor<64x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>)
    %s = coil.add %r#0, %f : tensor<?x?x64xf32>
    %lw = coil.weight "long" : tensor<16x1000xf32>
    %lx = coil.weight "long_input" : tensor<4x1000xf32>
    %pk = call @panel_in_l2(%lx, %lw) : (tensor<4x1000xf32>, tensor<16x1000xf32>) -> tensor<4x16xf32>
    %vw = coil.weight "very_long" : tensor<16x4096xf32>
    %vx = coil.weight "very_long_input" : tensor<4x4096xf32>
    %lk = call @long_k(%vx, %vw) : (tensor<4x4096xf32>, tensor<16x4096xf32>) -> tensor<4x16xf32>
    %p = coil.weight "pieces" : tensor<96x64xf32>
    %w1:2 = call @split_whole_panels(%x, %p) : (tensor<?x?x64xf32>, tensor<96x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x32xf32>)
    %w2:2 = call @split_inside_a_panel(%x, %p) : (tensor<?x?x64xf32>, tensor<96x64xf32>) -> (tensor<?x?x48xf32>, tensor<?x?x48xf32>)
    %cw = coil.weight "conv" : tensor<64x4xf32>
    %cs = coil.weight "conv_state" : tensor<1x64x3xf32>
    %c1:3 = call @conv_silu(%x, %cw, %cs) : (tensor<?x?x64xf32>, tensor<64x4xf32>, tensor<1x64x3xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<1x64x3xf32>)
    %c2:3 = call @conv_read_by_caller(%x, %cw, %cs) : (tensor<?x?x64xf32>, tensor<64x4xf32>, tensor<1x64x3xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<1x64x3xf32>)
    %c3 = coil.add %c1#1, %c2#0 : tensor<?x?x64xf32>
    %ng = call @norm_grouped(%x, %n, %sq) : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
    return %y, %z : tensor<?x?x48xf32>, tensor<?x?x48xf32>
  }
  func.func private @norm_linear(%x: tensor<?x?x64xf32>, %n: tensor<64xf32>, %w: tensor<48x64xf32>) -> tensor<?x?x48xf32> attributes {coil.calls = 1 : i64, coil.kernel} {
    %h = coil.rms_norm %x, %n {epsilon = 1.0e-5 : f32} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
    %y = coil.linear %h, %w : (tensor<?x?x64xf32>, tensor<48x64xf32>) -> tensor<?x?x48xf32>
    return %y : tensor<?x?x48xf32>
  }
  func.func private @norm_also_read(%x: tensor<?x?x64xf32>, %n: tensor<64xf32>, %w: tensor<64x64xf32>) -> tensor<?x?x64xf32> attributes {coil.calls = 1 : i64, coil.kernel} {
    %h = coil.rms_norm %x, %n {epsilon = 1.0e-5 : f32} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
    %y = coil.linear %h, %w : (tensor<?x?x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
    %z = coil.add %y, %h : tensor<?x?x64xf32>
    return %z : tensor<?x?x64xf32>
  }
  func.func private @norm_computed_weight(%x: tensor<?x?x64xf32>, %n: tensor<64xf32>, %w: tensor<64x64xf32>) -> tensor<?x?x64xf32> attributes {coil.calls = 1 : i64, coil.kernel} {
    %h = coil.rms_norm %x, %n {epsilon = 1.0e-5 : f32} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
    %y = coil.linear %h, %w : (tensor<?x?x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
    return %y : tensor<?x?x64xf32>
  }
  func.func private @norm_read_by_caller(%x: tensor<?x?x64xf32>, %n: tensor<64xf32>, %w: tensor<64x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>) attributes {coil.calls = 1 : i64, coil.kernel} {
    %h = coil.rms_norm %x, %n {epsilon = 1.0e-5 : f32} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
    %y = coil.linear %h, %w : (tensor<?x?x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
    return %h, %y : tensor<?x?x64xf32>, tensor<?x?x64xf32>
  }
  func.func private @panel_in_l2(%x: tensor<4x1000xf32>, %w: tensor<16x1000xf32>) -> tensor<4x16xf32> attributes {coil.calls = 1 : i64, coil.kernel} {
    %y = coil.linear %x, %w : (tensor<4x1000xf32>, tensor<16x1000xf32>) -> tensor<4x16xf32>
    return %y : tensor<4x16xf32>
  }
  func.func private @long_k(%x: tensor<4x4096xf32>, %w: tensor<16x4096xf32>) -> tensor<4x16xf32> attributes {coil.calls = 1 : i64, coil.kernel} {
    %y = coil.linear %x, %w : (tensor<4x4096xf32>, tensor<16x4096xf32>) -> tensor<4x16xf32>
    return %y : tensor<4x16xf32>
  }
  func.func private @computed_weight(%x: tensor<?x?x64xf32>, %w: tensor<48x64xf32>) -> tensor<?x?x48xf32> attributes {coil.calls = 1 : i64, coil.kernel} {
    %y = coil.linear %x, %w : (tensor<?x?x64xf32>, tensor<48x64xf32>) -> tensor<?x?x48xf32>
    return %y : tensor<?x?x48xf32>
  }
  func.func private @ffn(%x: tensor<?x?x64xf32>, %g: tensor<96x64xf32>, %u: tensor<96x64xf32>, %d: tensor<64x96xf32>) -> tensor<?x?x64xf32> attributes {coil.calls = 1 : i64, coil.kernel} {
    %a = coil.linear %x, %g : (tensor<?x?x64xf32>, tensor<96x64xf32>) -> tensor<?x?x96xf32>
    %b = coil.linear %x, %u : (tensor<?x?x64xf32>, tensor<96x64xf32>) -> tensor<?x?x96xf32>
    %s = coil.silu %a : tensor<?x?x96xf32>
    %m = coil.mul %s, %b : tensor<?x?x96xf32>
    %o = coil.linear %m, %d : (tensor<?x?x96xf32>, tensor<64x96xf32>) -> tensor<?x?x64xf32>
    %h = coil.add %x, %o : tensor<?x?x64xf32>
    return %h : tensor<?x?x64xf32>
  }
  func.func private @read_by_caller(%x: tensor<?x?x64xf32>, %q: tensor<64x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>) attributes {coil.calls = 1 : i64, coil.kernel} {
    %o = coil.linear %x, %q : (tensor<?x?x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
    %h = coil.silu %o : tensor<?x?x64xf32>
    return %o, %h : tensor<?x?x64xf32>, tensor<?x?x64xf32>
  }
  func.func private @split_whole_panels(%x: tensor<?x?x64xf32>, %w: tensor<96x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x32xf32>) attributes {coil.calls = 1 : i64, coil.kernel} {
    %l = coil.linear %x, %w : (tensor<?x?x64xf32>, tensor<96x64xf32>) -> tensor<?x?x96xf32>
    %a, %b = coil.split %l {dim = 2 : i64, sizes = array<i64: 64, 32>} : tensor<?x?x96xf32> -> tensor<?x?x64xf32>, tensor<?x?x32xf32>
    return %a, %b : tensor<?x?x64xf32>, tensor<?x?x32xf32>
  }
  func.func private @split_inside_a_panel(%x: tensor<?x?x64xf32>, %w: tensor<96x64xf32>) -> (tensor<?x?x48xf32>, tensor<?x?x48xf32>) attributes {coil.calls = 1 : i64, coil.kernel} {
    %l = coil.linear %x, %w : (tensor<?x?x64xf32>, tensor<96x64xf32>) -> tensor<?x?x96xf32>
    %a, %b = coil.split %l {dim = 2 : i64, sizes = array<i64: 48, 48>} : tensor<?x?x96xf32> -> tensor<?x?x48xf32>, tensor<?x?x48xf32>
    return %a, %b : tensor<?x?x48xf32>, tensor<?x?x48xf32>
  }
  func.func private @scan(%u: tensor<?x?x32xf32>, %dt: tensor<?x?x32xf32>, %a: tensor<32x16xf32>, %b: tensor<?x?x16xf32>, %c: tensor<?x?x16xf32>, %d: tensor<32xf32>, %h: tensor<?x32x16xf32>) -> (tensor<?x?x32xf32>, tensor<?x32x16xf32>) attributes {coil.calls = 1 : i64, coil.kernel} {
    %y, %s = coil.scan %u, %dt, %a, %b, %c, %d state(%h) {delta_softplus} : (tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<32x16xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<32xf32>, tensor<?x32x16xf32>) -> (tensor<?x?x32xf32>, tensor<?x32x16xf32>)
    return %y, %s : tensor<?x?x32xf32>, tensor<?x32x16xf32>
  }
  func.func private @attention(%q: tensor<?x?x16xf32>, %k: tensor<?x?x8xf32>, %v: tensor<?x?x8xf32>,
      %kc: tensor<?x1x?x8xf32>, %vc: tensor<?x1x?x8xf32>, %p: tensor<?x?xi32>)
      -> (tensor<?x?x16xf32>, tensor<?x1x?x8xf32>, tensor<?x1x?x8xf32>) attributes {coil.calls = 1 : i64, coil.kernel} {
    %o, %kc2, %vc2 = coil.attention %q, %k, %v, %kc, %vc, %p {num_heads = 2 : i64, num_kv_heads = 1 : i64}
        : (tensor<?x?x16xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x1x?x8xf32>, tensor<?x1x?x8xf32>, tensor<?x?xi32>)
        -> (tensor<?x?x16xf32>, tensor<?x1x?x8xf32>, tensor<?x1x?x8xf32>)
    return %o, %kc2, %vc2 : tensor<?x?x16xf32>, tensor<?x1x?x8xf32>, tensor<?x1x?x8xf32>
  }
  func.func private @conv_silu(%x: tensor<?x?x64xf32>, %w: tensor<64x4xf32>, %s: tensor<1x64x3xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<1x64x3xf32>) attributes {coil.calls = 1 : i64, coil.kernel} {
    %y, %s2 = coil.conv1d_causal %x, %w state(%s) : (tensor<?x?x64xf32>, tensor<64x4xf32>, tensor<1x64x3xf32>) -> (tensor<?x?x64xf32>, tensor<1x64x3xf32>)
    %a = coil.silu %y : tensor<?x?x64xf32>
    return %y, %a, %s2 : tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<1x64x3xf32>
  }
  func.func private @conv_read_by_caller(%x: tensor<?x?x64xf32>, %w: tensor<64x4xf32>, %s: tensor<1x64x3xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<1x64x3xf32>) attributes {coil.calls = 1 : i64, coil.kernel} {
    %y, %s2 = coil.conv1d_causal %x, %w state(%s) : (tensor<?x?x64xf32>, tensor<64x4xf32>, tensor<1x64x3xf32>) -> (tensor<?x?x64xf32>, tensor<1x64x3xf32>)
    %a = coil.silu %y : tensor<?x?x64xf32>
    return %y, %a, %s2 : tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<1x64x3xf32>
  }
  func.func private @norm_grouped(%x: tensor<?x?x64xf32>, %n: tensor<64xf32>, %w: tensor<64x64xf32>) -> tensor<?x?x64xf32> attributes {coil.calls = 1 : i64, coil.kernel} {
    %h = coil.rms_norm %x, %n {epsilon = 1.0e-5 : f32, group_size = 32 : i64} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
    %y = coil.linear %h, %w : (tensor<?x?x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
    return %y : tensor<?x?x64xf32>
  }
  func.func private @ssd_scan(%x: tensor<?x?x32xf32>, %dt: tensor<?x?x4xf32>, %a: tensor<4xf32>, %b: tensor<?x?x24xf32>, %d: tensor<4xf32>, %s: tensor<?x4x8x24xf32>) -> (tensor<?x?x32xf32>, tensor<?x4x8x24xf32>) attributes {coil.calls = 1 : i64, coil.kernel} {
    %y, %s2 = coil.ssd_scan %x, %dt, %a, %b, %b, %d state(%s) {delta_softplus} : (tensor<?x?x32xf32>, tensor<?x?x4xf32>, tensor<4xf32>, tensor<?x?x24xf32>, tensor<?x?x24xf32>, tensor<4xf32>, tensor<?x4x8x24xf32>) -> (tensor<?x?x32xf32>, tensor<?x4x8x24xf32>)
    return %y, %s2 : tensor<?x?x32xf32>, tensor<?x4x8x24xf32>
  }
}
