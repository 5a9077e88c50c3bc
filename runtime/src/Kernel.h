//===- Kernel.h - The calling convention of compiled kernels ----*- C++ -*-===//
//
// docs/abi.md and coil/abi.h: every kernel is called by `tiles` threads at
// once with the same arguments and its own `tile` in [0, tiles). A kernel
// splits its work by (tile, tiles) and, between phases that depend on each
// other's results, calls the wait function at the head of `sync`, a barrier
// across the `tiles` threads of the call. Every tile calls it equally often.
//
// Models compiled with `coilc --profile` also call the `enter` and `exit`
// hooks that follow `wait`, from every tile, at the start and the end of
// every kernel call, passing the kernel's index in the metadata's "kernels".
// Other models never call them. The runtime always fills both.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_RUNTIME_KERNEL_H
#define COIL_RUNTIME_KERNEL_H

#include "coil/abi.h"

namespace coil::runtime {

/// A compiled kernel: `args[i]` points to the memref descriptor of argument
/// i (inputs, then outputs); `sync` points to a KernelSync.
using KernelFn = coil_kernel_fn;

/// The head of the object a kernel receives as `sync`: `wait(sync)` returns
/// once every tile of the call has called it (as often as this tile has);
/// `enter(sync, tile, kernel)` and `exit(sync, tile, kernel)` bracket one
/// tile's run of kernel `kernel` in profiled models.
using KernelSync = coil_kernel_sync;

} // namespace coil::runtime

#endif // COIL_RUNTIME_KERNEL_H
