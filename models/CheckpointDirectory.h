//===- CheckpointDirectory.h - Writing a checkpoint directory ---*- C++ -*-===//
//
// The tools that derive a model from a checkpoint (coil-prune, coil-quantize)
// write their result as a checkpoint directory every Coil tool runs: a
// config.json, a model.safetensors, and the source's tokenizer and generation
// files. The directory appears only once it is complete.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_MODELS_CHECKPOINTDIRECTORY_H
#define COIL_MODELS_CHECKPOINTDIRECTORY_H

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

namespace mlir::coil::models {

/// Refuses an output directory that exists and is not empty (or is not a
/// directory), before any work.
llvm::Error checkOutputDirectory(llvm::StringRef outDir);

/// Writes the checkpoint directory `outDir`: `configText` as config.json,
/// `writeWeights(path)` to fill model.safetensors at `path`, and the
/// tokenizer and generation files found in `sourceDir`. Everything goes into
/// a fresh sibling directory renamed to `outDir` at the end, so a failure
/// leaves nothing behind. `outDir` must not exist or be an empty directory.
llvm::Error writeCheckpointDirectory(
    llvm::StringRef sourceDir, llvm::StringRef outDir,
    llvm::StringRef configText,
    llvm::function_ref<llvm::Error(llvm::StringRef path)> writeWeights);

/// The config.json of the checkpoint directory `sourceDir`, as text.
llvm::Expected<std::string> readConfigText(llvm::StringRef sourceDir);

} // namespace mlir::coil::models

#endif // COIL_MODELS_CHECKPOINTDIRECTORY_H
