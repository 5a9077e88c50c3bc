//===- SharedLibrary.h - LLVM dialect -> object -> shared library -*- C++
//-*-===//
//
// The back end: translates an LLVM-dialect module (the output of
// buildCompilePipeline) to LLVM IR, optimises it for the host CPU (all of its
// features, AVX-512 where present), and emits assembly, an object file, or a
// shared library linked with the system's clang.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_COMPILER_TARGET_SHAREDLIBRARY_H
#define COIL_COMPILER_TARGET_SHAREDLIBRARY_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>

namespace llvm {
class LLVMContext;
class Module;
} // namespace llvm

namespace mlir {
class ModuleOp;
namespace coil {

/// What the back end produces.
enum class ArtifactKind { LLVMIR, Assembly, Object, SharedLibrary };

/// Translates `module` (LLVM dialect) to LLVM IR targeting the host CPU and
/// optimises it at O3.
llvm::Expected<std::unique_ptr<llvm::Module>>
translateAndOptimize(ModuleOp module, llvm::LLVMContext &context);

/// Writes `module` as `kind` to `path`, atomically (a temporary file renamed
/// into place), so no partial artifact is ever left behind.
llvm::Error writeArtifact(llvm::Module &module, ArtifactKind kind,
                          llvm::StringRef path);

/// The host triple, CPU name and feature string code is generated for by
/// default (part of the compile cache key).
std::string hostTargetDescription();

} // namespace coil
} // namespace mlir

#endif // COIL_COMPILER_TARGET_SHAREDLIBRARY_H
