#!/usr/bin/env bash
#===- tools/run.sh - build if needed, then run Coil's main job -----------===#
#
# The main job on built-in defaults: the example Mamba and Transformer blocks
# are parsed, verified and printed through every stage of the pipeline that
# exists (fusion into kernels and outlining), with the IR after each pass.
#
#===----------------------------------------------------------------------===#
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${COIL_BUILD_DIR:-$ROOT/build}"

"$ROOT/tools/setup.sh" >&2

for model in mamba_block llama_block; do
  echo "==== models/examples/$model.mlir"
  "$BUILD/bin/coil-opt" "$ROOT/models/examples/$model.mlir" \
    --coil-kernels-pipeline --mlir-print-ir-after-all -o /dev/null 2>&1
done
