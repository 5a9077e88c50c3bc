//===- Pruning.h - Structured pruning of a checkpoint -----------*- C++ -*-===//
//
// Removes whole channels from a model: a fraction of each Llama layer's FFN
// channels (rows of gate_proj and up_proj, columns of down_proj) or of each
// Mamba layer's d_inner channels (their rows of in_proj's x and z halves, of
// the conv, dt_proj, A_log and D, and their columns of x_proj and out_proj),
// lowest magnitude first, and describes the smaller model that is left: a
// config that every Coil tool reads and tensors of the same dtypes as the
// source's. A channel's magnitude is the product of the L2 norms of the
// vectors that carry it into and out of the layer (Llama: its gate_proj and
// up_proj rows and its down_proj column; Mamba: its in_proj rows of x and z
// and its out_proj column), a bound on how much it can add to the residual
// stream per unit of input.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_MODELS_PRUNING_H
#define COIL_MODELS_PRUNING_H

#include "models/ModelConfig.h"
#include "runtime/src/weights/Safetensors.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mlir::coil::models {

/// What to remove, as fractions in [0, 1) of each layer's channels.
struct PruneRequest {
  /// Of a Llama layer's FFN channels (intermediate_size).
  double ffn = 0;
  /// Of a Mamba layer's d_inner channels (intermediate_size).
  double dInner = 0;
  /// The channels kept are rounded down to a multiple of this (>= 1), so the
  /// smaller matrices keep whole register tiles or int4 groups.
  int64_t multipleOf = 1;
};

/// The channel counts a request leaves: every layer keeps `kept` of its
/// `channels`.
struct PrunePlan {
  int64_t channels = 0;
  int64_t kept = 0;
};

/// Whether structured pruning applies to `config`'s family (Mamba, Llama).
bool canPrune(const ModelConfig &config);

/// Checks `request` against `config` before any weight is read: fractions
/// in [0, 1), a non-zero fraction only for the family it applies to, at
/// least one channel left after rounding. The message names the flag.
llvm::Expected<PrunePlan> planPruning(const ModelConfig &config,
                                      const PruneRequest &request);

/// One tensor of the pruned model, in its source's dtype.
struct PrunedTensor {
  std::string name;
  ::coil::weights::DType dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

/// A pruned model in memory.
struct PrunedCheckpoint {
  /// The smaller model's configuration (a state-spaces Mamba becomes the
  /// Hugging Face layout, which can state intermediate_size).
  ModelConfig config;
  PrunePlan plan;
  /// Per layer, the source channels kept, ascending.
  std::vector<std::vector<int64_t>> keptChannels;
  /// Parameters before and after.
  int64_t parametersBefore = 0, parametersAfter = 0;
  /// Every parameter of `config`, named as weightSpecs names them.
  std::vector<PrunedTensor> tensors;
};

/// Prunes the checkpoint `files` of `config` (checked against it first;
/// `weightsPath` names it in messages).
llvm::Expected<PrunedCheckpoint>
pruneCheckpoint(const ModelConfig &config,
                const ::coil::weights::WeightFileSet &files,
                llvm::StringRef weightsPath, const PruneRequest &request);

/// The pruned model's config.json: the source's text with its
/// intermediate_size replaced (every other key kept: token ids, dtypes),
/// or, for a state-spaces source, the Hugging Face layout written anew.
llvm::Expected<std::string> prunedConfigJson(llvm::StringRef sourceText,
                                             const PrunedCheckpoint &pruned);

/// Writes the tensors of `pruned` as one safetensors file, atomically.
llvm::Error writePrunedWeights(const PrunedCheckpoint &pruned,
                               llvm::StringRef path);

/// Writes `pruned` as a checkpoint directory `outDir` (config.json,
/// model.safetensors, and the tokenizer and generation files found in
/// `sourceDir`), atomically: everything goes into a fresh sibling directory
/// renamed to `outDir` at the end, so a failure leaves nothing behind.
/// `outDir` must not exist or be an empty directory.
llvm::Error writePrunedCheckpoint(const PrunedCheckpoint &pruned,
                                  llvm::StringRef sourceDir,
                                  llvm::StringRef outDir);

} // namespace mlir::coil::models

#endif // COIL_MODELS_PRUNING_H
