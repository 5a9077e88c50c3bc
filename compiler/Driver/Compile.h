//===- Compile.h - coil IR -> compiled artifact ------------------*- C++
//-*-===//
//
// The whole compiler behind one call, shared by coilc and coil-run: run the
// pass pipelines to a chosen stage and, for the back-end stages, translate
// and write the artifact.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_COMPILER_DRIVER_COMPILE_H
#define COIL_COMPILER_DRIVER_COMPILE_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <functional>
#include <string>

namespace mlir {
class ModuleOp;
class PassManager;
namespace coil {

/// Where compilation stops (coilc --emit=...).
enum class Stage {
  Coil,
  Kernels,
  Loops,
  LLVM,
  Assembly,
  Object,
  SharedLibrary
};

/// Compiles `module` (in place) up to `stage` and writes the result to
/// `outputPath` ("-" for stdout; only for textual stages), for the CPU
/// `options.targetCpu`. With `options.profile`,
/// every kernel calls the runtime's profiler hooks
/// (--coil-instrument-kernels); without it nothing is inserted. `configure` may
/// adjust the pass manager first (IR printing, timing). Output files are
/// written atomically.
/// The element type of the matrices a model stores (--coil-weight-dtype).
enum class WeightDtype { F32, BF16, F16, Int8, Int4 };

/// "f32", "bf16", "f16", "int8" or "int4".
llvm::StringRef weightDtypeName(WeightDtype dtype);

/// Runs --coil-weight-dtype on `module`: the weights only linears and
/// embeddings read (the matrices decode streams) take `dtype`; every other
/// parameter, activation and state keeps its type. F32 changes nothing.
llvm::Error setWeightDtype(ModuleOp module, WeightDtype dtype);

struct CompileOptions {
  /// Instrument every kernel with the profiler hooks.
  bool profile = false;
  /// The CPU to generate code for: "host" or an x86-64 CPU name LLVM knows.
  std::string targetCpu = "host";
};

llvm::Error
compileModel(ModuleOp module, Stage stage, llvm::StringRef outputPath,
             const std::function<void(PassManager &)> &configure = nullptr,
             const CompileOptions &options = {});

/// Identifies the compiler build, for caches keyed on it.
std::string compilerVersion();

/// Where compiled models are cached: $COIL_CACHE_DIR, else
/// $XDG_CACHE_HOME/coil, else ~/.cache/coil.
std::string cacheDirectory();

/// Compiles a copy of `module` to a shared library in the cache unless it is
/// there already; returns its path. The key covers the IR, the compiler (the
/// running executable, which links it) and the host CPU. An entry is used
/// only when its content hash (`<entry>.xxh3`) matches; a damaged one is
/// reported and rebuilt. Entries are written under unique names and renamed
/// into place, so processes compiling the same model at once all succeed.
/// A cache folder that cannot be written falls back, with a warning, to
/// coil-cache-<uid> in the temporary folder.
llvm::Expected<std::string> compileCached(ModuleOp module,
                                          bool profile = false);

} // namespace coil
} // namespace mlir

#endif // COIL_COMPILER_DRIVER_COMPILE_H
