//===- Library.h - Loading a compiled model's shared library ----*- C++ -*-===//
//
// A shared library opened with dlopen(RTLD_NOW | RTLD_LOCAL) and closed when
// the object dies. Before dlopen sees a file, its ELF headers are checked
// against the file's size: the dynamic loader maps segments without checking
// that the file holds them, so a truncated library would otherwise crash the
// process on first access instead of failing to load.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_RUNTIME_LIBRARY_H
#define COIL_RUNTIME_LIBRARY_H

#include "runtime/src/Status.h"

#include <memory>
#include <string>

namespace coil::runtime {

/// An open shared library.
class Library {
public:
  /// Checks and opens `path` (a path without a slash is taken relative to
  /// the working directory, never searched for). Errors: COIL_NOT_FOUND,
  /// COIL_IO_ERROR, COIL_BAD_MODEL (not a complete shared library for this
  /// host, or dlopen failed), each naming `path`.
  static Status open(const std::string &path, std::unique_ptr<Library> &out);

  Library(const Library &) = delete;
  Library &operator=(const Library &) = delete;

  /// Closes the library.
  ~Library();

  /// The address of `name` in the library (or one of its dependencies), or
  /// nullptr when there is none.
  void *symbol(const std::string &name) const;

  /// The path the library was opened from.
  const std::string &path() const { return libraryPath; }

private:
  Library(void *handle, std::string path)
      : handle(handle), libraryPath(std::move(path)) {}

  void *handle;
  std::string libraryPath;
};

} // namespace coil::runtime

#endif // COIL_RUNTIME_LIBRARY_H
