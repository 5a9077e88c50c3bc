//===- FileChecks.cpp - What may be read and written as a file ------------===//

#include "runtime/src/weights/FileChecks.h"

#include <cerrno>
#include <cstring>

#include <sys/stat.h>

namespace coil::weights {

namespace {

/// "a directory", "a FIFO", ... for a file that is not a regular one.
const char *describeKind(mode_t mode) {
  if (S_ISDIR(mode))
    return "a directory";
  if (S_ISFIFO(mode))
    return "a FIFO";
  if (S_ISCHR(mode))
    return "a character device";
  if (S_ISBLK(mode))
    return "a block device";
  if (S_ISSOCK(mode))
    return "a socket";
  if (S_ISLNK(mode))
    return "a symbolic link";
  return "not a regular file";
}

} // namespace

std::string checkInputFile(const std::string &path, uint64_t maxBytes) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return path + ": cannot open: " + std::strerror(errno);
  if (!S_ISREG(st.st_mode))
    return path + ": not a regular file (" + describeKind(st.st_mode) + ")";
  if (static_cast<uint64_t>(st.st_size) > maxBytes)
    return path + ": " + std::to_string(st.st_size) +
           " bytes, larger than the " + std::to_string(maxBytes) +
           " bytes this file may have";
  return "";
}

std::string checkOutputFile(const std::string &path) {
  if (path.empty())
    return "the output path is empty";
  // Every writer treats /dev/null as "write nothing" and never replaces it.
  if (path == kNullOutput)
    return "";
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT)
      return "";
    return path + ": " + std::strerror(errno);
  }
  if (!S_ISREG(st.st_mode))
    return path + " is " + describeKind(st.st_mode) +
           "; refusing to replace it (write to a regular file)";
  return "";
}

} // namespace coil::weights
