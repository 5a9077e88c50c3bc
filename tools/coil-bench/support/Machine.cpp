//===- Machine.cpp - Description of the benchmark machine -------*- C++ -*-===//
//
// On Linux the CPU model, the ISA flags and the memory size come from
// /proc/cpuinfo and /proc/meminfo, the distribution from /etc/os-release and
// the kernel from uname. Where those are missing, the core count and memory
// come from sysconf, x86 flags from the compiler's CPU detection, and the
// rest stays "unknown".
//
//===----------------------------------------------------------------------===//

#include "tools/coil-bench/support/Machine.h"

#include <algorithm>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <thread>

#if defined(__unix__) || defined(__APPLE__)
#include <sys/utsname.h>
#include <unistd.h>
#define COIL_BENCH_POSIX 1
#endif

namespace coil::bench {
namespace {

/// The extensions worth reporting, in report order, as /proc/cpuinfo spells
/// them: x86 first, then AArch64.
const char *const kRelevantFlags[] = {
    "sse4_2",      "avx",        "avx2",         "fma",         "f16c",
    "avx512f",     "avx512dq",   "avx512cd",     "avx512bw",    "avx512vl",
    "avx512ifma",  "avx512vbmi", "avx512_vbmi2", "avx512_vnni", "avx512_bf16",
    "avx512_fp16", "avx_vnni",   "amx_tile",     "amx_bf16",    "amx_int8",
    "asimd",       "asimdhp",    "asimddp",      "bf16",        "i8mm",
    "sve",         "sve2",       "svebf16",      "svei8mm",     "sme"};

std::string_view trim(std::string_view text) {
  const char *space = " \t\r\n";
  std::size_t begin = text.find_first_not_of(space);
  if (begin == std::string_view::npos)
    return {};
  std::size_t end = text.find_last_not_of(space);
  return text.substr(begin, end - begin + 1);
}

/// Calls `visit(key, value)` for each "key : value" line of `text` until it
/// returns true.
template <typename Visit>
void forEachField(std::string_view text, Visit visit) {
  while (!text.empty()) {
    std::size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view()
                                             : text.substr(newline + 1);
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos)
      continue;
    if (visit(trim(line.substr(0, colon)), trim(line.substr(colon + 1))))
      return;
  }
}

/// The value of the first line with one of `keys`, or empty.
std::string firstField(std::string_view text,
                       std::initializer_list<std::string_view> keys) {
  std::string found;
  forEachField(text, [&](std::string_view key, std::string_view value) {
    if (std::find(keys.begin(), keys.end(), key) == keys.end() || value.empty())
      return false;
    found = std::string(value);
    return true;
  });
  return found;
}

/// The whole of a (possibly virtual) file, or empty if it cannot be read.
std::string readFile(const char *path) {
  std::ifstream file(path, std::ios::binary);
  if (!file)
    return {};
  std::ostringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

std::string compilerDescription() {
  std::string text;
#if defined(__clang__)
  text = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  text = std::string("gcc ") + __VERSION__;
#elif defined(_MSC_VER)
  text = "MSVC " + std::to_string(_MSC_FULL_VER);
#else
  text = "unknown";
#endif
  return std::string(trim(text));
}

/// x86 extensions as the compiler's CPU detection sees them, for systems
/// without /proc/cpuinfo.
std::vector<std::string> detectedIsaFlags() {
  std::vector<std::string> flags;
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
  __builtin_cpu_init();
#define COIL_BENCH_FLAG(builtinName, cpuinfoName)                              \
  if (__builtin_cpu_supports(builtinName))                                     \
    flags.push_back(cpuinfoName);
  COIL_BENCH_FLAG("sse4.2", "sse4_2")
  COIL_BENCH_FLAG("avx", "avx")
  COIL_BENCH_FLAG("avx2", "avx2")
  COIL_BENCH_FLAG("fma", "fma")
  COIL_BENCH_FLAG("avx512f", "avx512f")
  COIL_BENCH_FLAG("avx512dq", "avx512dq")
  COIL_BENCH_FLAG("avx512cd", "avx512cd")
  COIL_BENCH_FLAG("avx512bw", "avx512bw")
  COIL_BENCH_FLAG("avx512vl", "avx512vl")
#undef COIL_BENCH_FLAG
#endif
  return flags;
}

std::string operatingSystem() {
  std::string distribution =
      detail::parseOsPrettyName(readFile("/etc/os-release"));
  std::string kernel;
#ifdef COIL_BENCH_POSIX
  struct utsname names;
  if (uname(&names) == 0)
    kernel =
        std::string(names.sysname) + " " + names.release + " " + names.machine;
#elif defined(_WIN32)
  kernel = "Windows";
#endif
  if (distribution.empty())
    return kernel.empty() ? "unknown" : kernel;
  return kernel.empty() ? distribution : distribution + ", " + kernel;
}

} // namespace

std::string detail::parseCpuModel(std::string_view cpuinfo) {
  std::string model = firstField(cpuinfo, {"model name"});
  if (model.empty())
    model = firstField(cpuinfo, {"Model", "Hardware", "cpu model", "uarch"});
  if (model.empty()) {
    // AArch64 servers name only the designer and the part number.
    std::string implementer = firstField(cpuinfo, {"CPU implementer"});
    std::string part = firstField(cpuinfo, {"CPU part"});
    if (!implementer.empty() && !part.empty())
      model = "CPU implementer " + implementer + " part " + part;
  }
  // Collapse runs of spaces ("Intel(R) Xeon(R) CPU    E5-2680").
  std::string collapsed;
  for (char c : model)
    if (c != ' ' || (!collapsed.empty() && collapsed.back() != ' '))
      collapsed += c;
  return collapsed;
}

std::vector<std::string> detail::parseIsaFlags(std::string_view cpuinfo) {
  std::string line = firstField(cpuinfo, {"flags", "Features"});
  std::vector<std::string> present;
  std::istringstream words(line);
  for (std::string word; words >> word;)
    present.push_back(word);
  std::vector<std::string> flags;
  for (const char *flag : kRelevantFlags)
    if (std::find(present.begin(), present.end(), flag) != present.end())
      flags.push_back(flag);
  return flags;
}

std::uint64_t detail::parseMemTotal(std::string_view meminfo) {
  std::string value = firstField(meminfo, {"MemTotal"});
  std::istringstream stream(value);
  std::uint64_t amount = 0;
  std::string unit;
  if (!(stream >> amount))
    return 0;
  stream >> unit;
  if (unit == "kB" || unit == "KB" || unit == "kiB")
    return amount * 1024;
  if (unit == "MB")
    return amount * 1024 * 1024;
  return unit.empty() ? amount : 0;
}

std::string detail::parseOsPrettyName(std::string_view osRelease) {
  std::string name;
  std::string_view text = osRelease;
  while (!text.empty()) {
    std::size_t newline = text.find('\n');
    std::string_view line = trim(text.substr(0, newline));
    text = newline == std::string_view::npos ? std::string_view()
                                             : text.substr(newline + 1);
    constexpr std::string_view kKey = "PRETTY_NAME=";
    if (line.substr(0, kKey.size()) != kKey)
      continue;
    std::string_view value = line.substr(kKey.size());
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front())
      value = value.substr(1, value.size() - 2);
    // Shell escapes inside double quotes: \" \\ \$ \`.
    for (std::size_t i = 0; i < value.size(); ++i) {
      if (value[i] == '\\' && i + 1 < value.size())
        ++i;
      name += value[i];
    }
    break;
  }
  return name;
}

MachineInfo describeMachine(std::string gitRevision) {
  MachineInfo info;
  info.gitRevision = std::move(gitRevision);
  info.compiler = compilerDescription();
  info.os = operatingSystem();

  std::string cpuinfo = readFile("/proc/cpuinfo");
  info.cpuModel = detail::parseCpuModel(cpuinfo);
  if (info.cpuModel.empty())
    info.cpuModel = "unknown";
  info.isaFlags =
      cpuinfo.empty() ? detectedIsaFlags() : detail::parseIsaFlags(cpuinfo);

  long cores = 0;
#ifdef COIL_BENCH_POSIX
  cores = sysconf(_SC_NPROCESSORS_ONLN);
#endif
  if (cores <= 0)
    cores = static_cast<long>(std::thread::hardware_concurrency());
  info.logicalCores = static_cast<int>(std::max(cores, 1L));

  info.memoryBytes = detail::parseMemTotal(readFile("/proc/meminfo"));
#if defined(COIL_BENCH_POSIX) && defined(_SC_PHYS_PAGES)
  if (info.memoryBytes == 0) {
    long pages = sysconf(_SC_PHYS_PAGES), pageSize = sysconf(_SC_PAGE_SIZE);
    if (pages > 0 && pageSize > 0)
      info.memoryBytes = static_cast<std::uint64_t>(pages) *
                         static_cast<std::uint64_t>(pageSize);
  }
#endif
  return info;
}

} // namespace coil::bench
