//===- MemoryBudget.cpp - How much memory a session may take --------------===//

#include "runtime/src/MemoryBudget.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <string>

#include <sys/resource.h>

namespace coil::runtime {

namespace {

constexpr uint64_t kUnknown = std::numeric_limits<uint64_t>::max();

/// MemAvailable from /proc/meminfo, in bytes.
uint64_t memAvailable() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kib;
  std::string unit;
  while (in >> key >> kib >> unit)
    if (key == "MemAvailable:")
      return kib * 1024;
  return kUnknown;
}

/// The first number in the file at `path`; kUnknown for "max" or no file.
uint64_t readNumber(const char *path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text) || text == "max")
    return kUnknown;
  char *end = nullptr;
  unsigned long long value = std::strtoull(text.c_str(), &end, 10);
  return end && *end == '\0' ? value : kUnknown;
}

/// The room left under this process's cgroup v2 memory limit.
uint64_t cgroupRoom() {
  // /proc/self/cgroup holds "0::/path" under cgroup v2.
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("0::", 0) != 0)
      continue;
    std::string dir = "/sys/fs/cgroup" + line.substr(3);
    uint64_t max = readNumber((dir + "/memory.max").c_str());
    uint64_t current = readNumber((dir + "/memory.current").c_str());
    if (max == kUnknown || current == kUnknown)
      return kUnknown;
    return max > current ? max - current : 0;
  }
  return kUnknown;
}

/// The field `key` ("VmSize:") of /proc/self/status, in bytes.
uint64_t selfStatus(const std::string &key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0)
      return std::strtoull(line.c_str() + key.size(), nullptr, 10) * 1024;
  return 0;
}

/// The room left under the soft limit of `resource`, given what the process
/// already uses of it (`usedKey` of /proc/self/status); kUnknown when
/// unlimited.
uint64_t rlimitRoom(int resource, const char *usedKey) {
  struct rlimit limit;
  if (::getrlimit(resource, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
    return kUnknown;
  uint64_t used = selfStatus(usedKey);
  uint64_t max = static_cast<uint64_t>(limit.rlim_cur);
  return max > used ? max - used : 0;
}

} // namespace

uint64_t availableMemoryBytes() {
  return std::min({memAvailable(), cgroupRoom(),
                   rlimitRoom(RLIMIT_AS, "VmSize:"),
                   rlimitRoom(RLIMIT_DATA, "VmData:")});
}

} // namespace coil::runtime
