//===- FuzzFiles.h - Fuzz inputs as files ------------------------*- C++
//-*-===//
//
// The weight readers take paths, so the safetensors fuzzers hand them each
// input as a file: an anonymous in-memory file (memfd) opened through
// /proc/self/fd, rewritten in place for every input.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_TESTS_FUZZ_FUZZFILES_H
#define COIL_TESTS_FUZZ_FUZZFILES_H

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <sys/mman.h>
#include <unistd.h>

namespace coil::fuzz {

/// An in-memory regular file whose whole content is replaced by `assign`.
class MemoryFile {
public:
  explicit MemoryFile(const char *name) : fd(::memfd_create(name, 0)) {
    if (fd < 0) {
      std::perror("memfd_create");
      std::abort();
    }
    path = "/proc/self/fd/" + std::to_string(fd);
  }
  ~MemoryFile() { ::close(fd); }

  /// Makes `data[0, size)` the file's content.
  void assign(const uint8_t *data, size_t size) {
    if (::ftruncate(fd, 0) != 0 ||
        ::pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) {
      std::perror("memfd write");
      std::abort();
    }
  }

  /// A path that opens this file.
  const std::string &name() const { return path; }

private:
  int fd;
  std::string path;
};

} // namespace coil::fuzz

#endif // COIL_TESTS_FUZZ_FUZZFILES_H
