#!/usr/bin/env bash
#===- tests/sdk/check_install.sh - the installed SDK, used from outside ---===#
#
# check_install.sh BUILD SOURCE TOY_MODEL TOY_WEIGHTS C_COMPILER
#
# Installs BUILD into a fresh prefix, then builds runtime/examples/
# coil-generate.c out of tree twice, with CMake (find_package(Coil),
# Coil::runtime) and with pkg-config (coil.pc), runs both on the toy model
# and checks their output, and runs the installed tools from the prefix.
#
#===----------------------------------------------------------------------===#
set -euo pipefail
BUILD="$1" SOURCE="$2" MODEL="$3" WEIGHTS="$4" CC="$5"
PREFIX="$(mktemp -d "${TMPDIR:-/tmp}/coil-sdk-XXXXXX")"
trap 'rm -rf "$PREFIX"' EXIT

cmake --install "$BUILD" --prefix "$PREFIX/usr" >/dev/null
EXAMPLE="$PREFIX/usr/share/coil/examples/coil-generate.c"
test -f "$PREFIX/usr/include/coil/coil.h"
test -f "$EXAMPLE"
expected="4,0,1,2,3"

# CMake.
cmake -S "$SOURCE/tests/sdk/consumer" -B "$PREFIX/cmake-build" \
  -DCMAKE_PREFIX_PATH="$PREFIX/usr" -DCOIL_EXAMPLE="$EXAMPLE" \
  -DCMAKE_C_COMPILER="$CC" \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$PREFIX/cmake-build" >/dev/null
got="$("$PREFIX/cmake-build/coil-generate" "$MODEL" "$WEIGHTS" --tokens 1,2,3 --generate 5)"
[[ "$got" == "$expected" ]] || { echo "cmake-built coil-generate printed '$got'"; exit 1; }

# pkg-config (found through the .pc file's own location).
export PKG_CONFIG_PATH="$PREFIX/usr/lib/pkgconfig"
[[ "$(pkg-config --modversion coil)" == 0.7.* ]]
# shellcheck disable=SC2046
"$CC" -std=c99 -o "$PREFIX/pc-generate" "$EXAMPLE" $(pkg-config --cflags --libs coil)
got="$(LD_LIBRARY_PATH="$PREFIX/usr/lib" "$PREFIX/pc-generate" "$MODEL" "$WEIGHTS" --tokens 1,2,3 --generate 5)"
[[ "$got" == "$expected" ]] || { echo "pkg-config-built coil-generate printed '$got'"; exit 1; }

# The installed tools run from the prefix (their RPATH finds the library).
for tool in coilc coil-run coil-import coil-opt coil-bench coil-tokenize coil-generate; do
  test -x "$PREFIX/usr/bin/$tool"
done
"$PREFIX/usr/bin/coil-tokenize" "$SOURCE/tests/lit/tools/Inputs/tiny-tokenizer" --text "hello world" |
  grep -qx "259,264,265"
"$PREFIX/usr/bin/coilc" --help >/dev/null
echo "sdk: installed, built with CMake and pkg-config, run: ok"
