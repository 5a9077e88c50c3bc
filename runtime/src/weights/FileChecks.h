//===- FileChecks.h - What may be read and written as a file ----*- C++ -*-===//
//
// Inputs are regular files of bounded size: a FIFO would block the reader
// and a device such as /dev/zero never ends. Outputs replace only regular
// files: a symlink, FIFO or device at the target is refused, never renamed
// over. Both checks open nothing that could block.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_RUNTIME_WEIGHTS_FILECHECKS_H
#define COIL_RUNTIME_WEIGHTS_FILECHECKS_H

#include <cstdint>
#include <string>

namespace coil::weights {

/// The largest JSON file (config.json, index) Coil reads.
inline constexpr uint64_t kMaxJsonFileBytes = uint64_t(64) << 20;

/// The largest coil IR file the tools read.
inline constexpr uint64_t kMaxIRFileBytes = uint64_t(1) << 30;

/// An empty string when `path` names a regular file of at most `maxBytes`
/// bytes (following symlinks); otherwise "PATH: not a regular file (a FIFO)"
/// or similar.
std::string checkInputFile(const std::string &path, uint64_t maxBytes);

/// The one device an output may name: the writers discard what they would
/// write there.
inline constexpr const char *kNullOutput = "/dev/null";

/// An empty string when a file may be written at `path`: the path is not
/// empty, and nothing is there or a regular file is (it will be replaced),
/// or it is kNullOutput; otherwise why not. A symlink is refused even when
/// it points to a regular file, as replacing it would not write where it
/// points.
std::string checkOutputFile(const std::string &path);

} // namespace coil::weights

#endif // COIL_RUNTIME_WEIGHTS_FILECHECKS_H
