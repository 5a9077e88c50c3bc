// RUN: coil-import %coil_src_root/models/examples/mamba-130m | coil-opt --coil-kernels-pipeline | FileCheck %s --check-prefix=MAMBA
// RUN: coil-import %coil_src_root/models/examples/llama-130m | coil-opt --coil-kernels-pipeline | FileCheck %s --check-prefix=LLAMA
// RUN: coil-opt %coil_src_root/models/examples/mamba_block.mlir --coil-kernels-pipeline --mlir-print-ir-after-all -o /dev/null 2>&1 | FileCheck %s --check-prefix=STAGES

// The whole mamba-130m model: 24 layers share one function per kernel kind,
// and prefill, prefill_all and verify (the same layers) share them too,
// except verify's conv and scan, which keep every step's state; prefill's
// LM head runs on the last position, the shape decode's has.
// MAMBA-LABEL: func.func @prefill(
// MAMBA-COUNT-24: call @rms_norm_linear_split(
// MAMBA: call @slice(
// MAMBA: call @rms_norm_linear(
// MAMBA-LABEL: func.func @prefill_all(
// MAMBA-LABEL: func.func @decode
// MAMBA-LABEL: func.func @verify
// MAMBA-SAME: tensor<?x?x1536x3xf32> {coil.history = "conv.0"}, tensor<?x?x1536x16xf32> {coil.history = "ssm.0"}
// MAMBA-DAG: func.func private @embed({{.*}}coil.calls = 3
// MAMBA-DAG: func.func private @rms_norm_linear_split({{.*}}coil.calls = 72
// MAMBA-DAG: func.func private @reshape_conv1d_causal_silu({{.*}}coil.calls = 48
// MAMBA-DAG: func.func private @reshape_conv1d_causal_silu_{{[0-9]+}}({{.*}}-> ({{.*}}tensor<?x?x1536x3xf32>{{.*}}coil.calls = 24
// MAMBA-DAG: func.func private @linear_split({{.*}}coil.calls = 72
// MAMBA-DAG: func.func private @linear({{.*}}coil.calls = 72
// MAMBA-DAG: func.func private @exp_neg_scan({{.*}}coil.calls = 48
// MAMBA-DAG: func.func private @exp_neg_scan_{{[0-9]+}}({{.*}}-> ({{.*}}tensor<?x?x1536x16xf32>){{.*}}coil.calls = 24
// MAMBA-DAG: func.func private @linear_add({{.*}}coil.calls = 72
// MAMBA-DAG: func.func private @slice({{.*}}: tensor<?x?x768xf32>) -> tensor<?x1x768xf32> attributes {coil.calls = 1
// MAMBA-DAG: func.func private @rms_norm_linear({{.*}}: tensor<?x1x768xf32>, {{.*}}coil.calls = 2

// LLAMA-DAG: func.func private @rms_norm_linear({{.*}}coil.calls = 36
// LLAMA-DAG: func.func private @rope_attention({{.*}}coil.calls = 36
// LLAMA-DAG: func.func private @rms_norm_linear_silu_mul({{.*}}coil.calls = 36
// LLAMA-DAG: func.func private @linear_add({{.*}}coil.calls = 36

// STAGES: IR Dump After Canonicalizer
// STAGES: IR Dump After CSE
// STAGES: IR Dump After CoilFuseKernelsPass (coil-fuse-kernels)
// STAGES: coil.kernel "rms_norm_linear_split"
// STAGES: IR Dump After CoilOutlineKernelsPass (coil-outline-kernels)
// STAGES: call @rms_norm_linear_split
// STAGES: IR Dump After SymbolDCE
