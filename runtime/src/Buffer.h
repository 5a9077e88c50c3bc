//===- Buffer.h - Owned, aligned, pre-faulted memory ------------*- C++ -*-===//
//
// The memory the runtime hands to kernels: 64-byte aligned (a cache line and
// the widest vector), zero-filled at allocation so every page is faulted in
// then and not on the first token, and freed when the buffer dies.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_RUNTIME_BUFFER_H
#define COIL_RUNTIME_BUFFER_H

#include "runtime/src/Status.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

namespace coil::runtime {

/// A zero-initialised, 64-byte aligned block of memory.
class Buffer {
public:
  /// The alignment of every buffer.
  static constexpr size_t kAlignment = 64;

  Buffer() = default;
  Buffer(Buffer &&other) noexcept
      : ptr(std::exchange(other.ptr, nullptr)),
        bytes(std::exchange(other.bytes, 0)) {}
  Buffer &operator=(Buffer &&other) noexcept {
    std::swap(ptr, other.ptr);
    std::swap(bytes, other.bytes);
    return *this;
  }
  Buffer(const Buffer &) = delete;
  Buffer &operator=(const Buffer &) = delete;
  ~Buffer() { std::free(ptr); }

  /// Allocates `size` zeroed bytes (at least one cache line, so the pointer
  /// is never null). On failure returns COIL_OUT_OF_MEMORY naming `what`.
  static Status allocate(size_t size, const std::string &what, Buffer &out) {
    if (Status s = allocateForOverwrite(size, what, out); !s.isOk())
      return s;
    std::memset(out.ptr, 0, (std::max<size_t>(size, 1) + kAlignment - 1) /
                                kAlignment * kAlignment);
    return Status::ok();
  }

  /// The same, not zeroed nor touched: for a caller that writes every byte
  /// (and so faults the pages in where it writes them).
  static Status allocateForOverwrite(size_t size, const std::string &what,
                                     Buffer &out) {
    size_t rounded = size == 0 ? kAlignment : size;
    if (rounded > SIZE_MAX - (kAlignment - 1))
      return tooLarge(size, what);
    rounded = (rounded + kAlignment - 1) / kAlignment * kAlignment;
    void *memory = std::aligned_alloc(kAlignment, rounded);
    if (!memory)
      return tooLarge(size, what);
    out = Buffer();
    out.ptr = memory;
    out.bytes = size;
    return Status::ok();
  }

  /// The first byte.
  void *data() const { return ptr; }

  /// The size asked for.
  size_t size() const { return bytes; }

  /// Sets every byte to zero.
  void clear() {
    if (ptr)
      std::memset(ptr, 0, bytes);
  }

private:
  static Status tooLarge(size_t size, const std::string &what) {
    return Status::error(COIL_OUT_OF_MEMORY, "cannot allocate " +
                                                 std::to_string(size) +
                                                 " bytes for " + what);
  }

  void *ptr = nullptr;
  size_t bytes = 0;
};

} // namespace coil::runtime

#endif // COIL_RUNTIME_BUFFER_H
