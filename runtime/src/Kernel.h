//===- Kernel.h - The calling convention of compiled kernels ----*- C++ -*-===//
//
// docs/abi.md, version 2: every kernel is called by `tiles` threads at once
// with the same arguments and its own `tile` in [0, tiles). A kernel splits
// its work by (tile, tiles) and, between phases that depend on each other's
// results, calls the wait function at the head of `sync`, a barrier across
// the `tiles` threads of the call. Every tile calls it equally often.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_RUNTIME_KERNEL_H
#define COIL_RUNTIME_KERNEL_H

#include <cstdint>

namespace coil::runtime {

/// A compiled kernel: `args[i]` points to the memref descriptor of argument
/// i (inputs, then outputs); `sync` points to a KernelSync.
using KernelFn = void (*)(void **args, int64_t tile, int64_t tiles, void *sync);

/// The head of the object a kernel receives as `sync`. `wait(sync)` returns
/// once every tile of the call has called it (as often as this tile has).
struct KernelSync {
  void (*wait)(void *sync);
};

} // namespace coil::runtime

#endif // COIL_RUNTIME_KERNEL_H
