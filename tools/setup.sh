#!/usr/bin/env bash
#===- tools/setup.sh - install dependencies, configure and build ---------===#
#
# Installs whatever Debian packages are missing (apt), configures a Ninja
# Release build in build/ against the system LLVM/MLIR 19 (linked to the shared
# libMLIR.so), and builds everything. When all is present and up to date it
# costs a second or two. Extra arguments are passed to the build (targets).
# COIL_BUILD_DIR names another build folder and COIL_CMAKE_ARGS adds options
# to its first configuration (tools/test.sh's sanitized builds use both).
# Where npm is present, it installs the JavaScript package the tokenizer
# cross-check reads into the build folder.
#
#===----------------------------------------------------------------------===#
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${COIL_BUILD_DIR:-$ROOT/build}"

PACKAGES=(
  llvm-19-dev libmlir-19-dev mlir-19-tools clang-19 lld
  libclang-rt-19-dev libgtest-dev libfmt-dev nlohmann-json3-dev libpcre2-dev
  libutf8proc-dev libcpp-httplib-dev haproxy pkg-config ninja-build cmake
  ccache python3 curl
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ ! -f "$BUILD/build.ninja" ]]; then
  echo "setup: configuring $BUILD"
  mkdir -p "$BUILD"
  cmake -S "$ROOT" -B "$BUILD" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
    -DLLVM_USE_LINKER=lld \
    -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
    ${COIL_CMAKE_ARGS:-} \
    >"$BUILD/configure.log" 2>&1 || { cat "$BUILD/configure.log"; exit 1; }
fi

# Hugging Face's tokenizers.js, which the tokenizer tests cross-check
# against, where npm is there (the tests skip that check without it).
JS="$BUILD/npm/node_modules/@huggingface/tokenizers"
if [[ ! -f "$JS/dist/tokenizers.mjs" ]] && command -v npm >/dev/null 2>&1; then
  npm install --prefix "$BUILD/npm" --no-audit --no-fund --silent \
    @huggingface/tokenizers@0.2.0 >/dev/null 2>&1 ||
    echo "setup: npm could not install @huggingface/tokenizers; its cross-check will skip"
fi

cmake --build "$BUILD" -- "$@"
