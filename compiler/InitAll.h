//===- InitAll.h - Registration of Coil dialects and passes -----*- C++ -*-===//
//
// The one place where the dialects Coil parses and the passes it runs are
// registered. Tools call these instead of MLIR's InitAll*.h, which would pull
// every upstream dialect and pass into the build.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_COMPILER_INITALL_H
#define COIL_COMPILER_INITALL_H

namespace mlir {
class DialectRegistry;
namespace coil {

/// Inserts the coil dialect and the upstream dialects Coil's pipelines use.
void registerAllDialects(DialectRegistry &registry);

/// Registers Coil's passes and pipelines and the upstream passes they use, so
/// that `coil-opt` can run each of them by flag.
void registerAllPasses();

} // namespace coil
} // namespace mlir

#endif // COIL_COMPILER_INITALL_H
