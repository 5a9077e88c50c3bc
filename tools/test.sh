#!/usr/bin/env bash
#===- tools/test.sh - build if needed, then run every test ---------------===#
#
# Runs the whole suite through ctest (the lit/FileCheck suite and every
# GoogleTest case) in three builds, and ends with one line: `N passed, N
# failed`. Exits non-zero when anything failed.
#
#   build/       the Release build: every test.
#   build-asan/  ASan + UBSan, with libFuzzer coverage: every test again, each
#                fuzz target over its corpus (seeds and past crashes), then
#                COIL_FUZZ_SECONDS (default 30) of fuzzing per target.
#   build-tsan/  ThreadSanitizer: the runtime and the tests labelled
#                "threads" (its API tests, the many-sessions stress test).
#
# `tools/test.sh --quick` runs the Release build alone. A sanitized build is
# configured on first use; later runs rebuild only what changed.
#
#===----------------------------------------------------------------------===#
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${COIL_BUILD_DIR:-$ROOT/build}"
FUZZ_SECONDS="${COIL_FUZZ_SECONDS:-30}"

quick=0
if [[ "${1:-}" == "--quick" ]]; then quick=1; fi

# run_suite BUILD [ctest options...]: the build's tests, results in
# BUILD/test-results.
run_suite() {
  local build="$1"
  shift
  rm -rf "$build/test-results"
  mkdir -p "$build/test-results"
  ctest --test-dir "$build" --output-on-failure -j2 \
    --output-junit "$build/test-results/ctest.xml" "$@" || true
}

"$ROOT/tools/setup.sh"
run_suite "$BUILD"
suites=("$BUILD/test-results")

if ((!quick)); then
  # Sanitizer reports end the process with an error; leaks are reported at
  # exit. Container-overflow checks need every library instrumented, which
  # Debian's libMLIR.so is not.
  export ASAN_OPTIONS="detect_leaks=1:detect_container_overflow=0:abort_on_error=0"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"

  ASAN="$ROOT/build-asan"
  COIL_BUILD_DIR="$ASAN" COIL_CMAKE_ARGS="-DCOIL_SANITIZER=Address;Undefined \
-DCOIL_BUILD_FUZZERS=ON" "$ROOT/tools/setup.sh"
  cmake "$ASAN" -DCOIL_FUZZ_SECONDS="$FUZZ_SECONDS" >/dev/null
  run_suite "$ASAN"
  suites+=("asan=$ASAN/test-results")

  TSAN="$ROOT/build-tsan"
  COIL_BUILD_DIR="$TSAN" COIL_CMAKE_ARGS="-DCOIL_SANITIZER=Thread" \
    "$ROOT/tools/setup.sh" coil-runtime-api-tests
  run_suite "$TSAN" -L threads
  suites+=("tsan=$TSAN/test-results")
fi

python3 "$ROOT/tests/summarize_results.py" "${suites[@]}"
