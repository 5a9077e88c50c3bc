// RUN: coil-opt %coil_src_root/models/examples/mamba_block.mlir | FileCheck %s --check-prefix=MAMBA
// RUN: coil-opt %coil_src_root/models/examples/llama_block.mlir | FileCheck %s --check-prefix=LLAMA
// RUN: coil-opt %coil_src_root/models/examples/mamba_block.mlir | coil-opt | FileCheck %s --check-prefix=MAMBA
// RUN: coil-opt %coil_src_root/models/examples/llama_block.mlir | coil-opt | FileCheck %s --check-prefix=LLAMA

// The hand-written example blocks parse, verify and round-trip.

// MAMBA-LABEL: func.func @mamba_block
// MAMBA-COUNT-10: coil.weight "backbone.layers.0.
// MAMBA: coil.rms_norm
// MAMBA: coil.split
// MAMBA: coil.conv1d_causal
// MAMBA: coil.silu
// MAMBA: coil.split
// MAMBA: coil.scan {{.*}} gate({{.*}}) state({{.*}}) {delta_softplus}
// MAMBA: coil.add

// LLAMA-LABEL: func.func @llama_block
// LLAMA-COUNT-9: coil.weight "model.layers.0.
// LLAMA: coil.rope {{.*}} {num_heads = 12 : i64}
// LLAMA: coil.rope {{.*}} {num_heads = 4 : i64}
// LLAMA: coil.attention {{.*}} {num_heads = 12 : i64, num_kv_heads = 4 : i64}
// LLAMA: coil.silu
// LLAMA: coil.mul
// LLAMA: coil.add
