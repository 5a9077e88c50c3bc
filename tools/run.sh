#!/usr/bin/env bash
#===- tools/run.sh - build if needed, then run Coil's main job -----------===#
#
# The main job on built-in defaults: coil-bench, the Mamba-versus-Transformer
# inference-speed study on this machine (the 130m pair, every experiment).
# Arguments are passed to coil-bench (e.g. --quick, --preset 370m,
# --model DIR, --out DIR).
#
#===----------------------------------------------------------------------===#
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${COIL_BUILD_DIR:-$ROOT/build}"

"$ROOT/tools/setup.sh" >&2
cd "$ROOT"
exec "$BUILD/bin/coil-bench" "$@"
