#!/usr/bin/env bash
#===- tools/test.sh - build if needed, then run every test ---------------===#
#
# Runs the whole suite through ctest (the lit/FileCheck suite and every
# GoogleTest case) and ends with one line: `N passed, N failed`. Exits non-zero
# when anything failed.
#
#===----------------------------------------------------------------------===#
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${COIL_BUILD_DIR:-$ROOT/build}"

"$ROOT/tools/setup.sh"

RESULTS="$BUILD/test-results"
rm -rf "$RESULTS"
mkdir -p "$RESULTS"
ctest --test-dir "$BUILD" --output-on-failure -j2 \
  --output-junit "$RESULTS/ctest.xml" || true
python3 "$ROOT/tests/summarize_results.py" "$RESULTS"
