//===- Machine.h - Description of the benchmark machine ---------*- C++ -*-===//
//
// What a benchmark report records about where it ran: the CPU model, its core
// count and the vector extensions that matter for the generated kernels, the
// memory size, the operating system, the compiler that built the tool and the
// source revision. Linux details come from /proc; elsewhere the fields fall
// back to what the C++ runtime and the compiler can tell.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_TOOLS_COIL_BENCH_SUPPORT_MACHINE_H
#define COIL_TOOLS_COIL_BENCH_SUPPORT_MACHINE_H

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace coil::bench {

/// The machine and build a benchmark ran on.
struct MachineInfo {
  /// The CPU model name, e.g. "AMD EPYC 9R45"; "unknown" if not found.
  std::string cpuModel;
  /// Logical CPUs online (at least 1).
  int logicalCores = 1;
  /// The vector and matrix extensions relevant to Coil's kernels that the CPU
  /// reports (for example avx2, fma, avx512f, avx512_bf16, amx_tile on x86;
  /// asimd, sve, bf16 on AArch64), in a fixed order.
  std::vector<std::string> isaFlags;
  /// The operating system, e.g. "Debian GNU/Linux 12 (bookworm), Linux
  /// 6.1.0 x86_64".
  std::string os;
  /// The compiler that built this tool, e.g. "clang 19.1.7".
  std::string compiler;
  /// The source revision, as given to describeMachine.
  std::string gitRevision;
  /// Physical memory in bytes (0 if unknown).
  std::uint64_t memoryBytes = 0;
};

/// Describes the machine this process runs on and the build of this tool.
MachineInfo describeMachine(std::string gitRevision);

/// Parsers for the /proc files describeMachine reads, exposed for testing.
namespace detail {
/// The CPU model from /proc/cpuinfo text ("model name" on x86, else
/// "Model"/"Hardware"/"cpu model"/"uarch"); empty if absent.
std::string parseCpuModel(std::string_view cpuinfo);
/// The relevant ISA extensions named in the first "flags" (x86) or
/// "Features" (AArch64) line of /proc/cpuinfo text, in a fixed order.
std::vector<std::string> parseIsaFlags(std::string_view cpuinfo);
/// MemTotal from /proc/meminfo text, in bytes; 0 if absent.
std::uint64_t parseMemTotal(std::string_view meminfo);
/// PRETTY_NAME from /etc/os-release text, unquoted; empty if absent.
std::string parseOsPrettyName(std::string_view osRelease);
} // namespace detail

} // namespace coil::bench

#endif // COIL_TOOLS_COIL_BENCH_SUPPORT_MACHINE_H
