//===- MemoryBudget.h - How much memory a session may take ------*- C++ -*-===//
//
// A session allocates and touches every buffer when it is created. On Linux
// an allocation larger than the memory left usually succeeds and the touch
// then wakes the kernel's OOM killer, so sessions compare what they need
// with availableMemoryBytes() first and fail with COIL_OUT_OF_MEMORY.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_RUNTIME_MEMORYBUDGET_H
#define COIL_RUNTIME_MEMORYBUDGET_H

#include <cstdint>

namespace coil::runtime {

/// The bytes this process may still allocate and touch: the least of the
/// memory the kernel reports available (MemAvailable), the room left under
/// the process's cgroup limit (memory.max - memory.current), and its
/// address-space and data-segment limits (RLIMIT_AS, RLIMIT_DATA); UINT64_MAX
/// when none of them can be read.
uint64_t availableMemoryBytes();

} // namespace coil::runtime

#endif // COIL_RUNTIME_MEMORYBUDGET_H
