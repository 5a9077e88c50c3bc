//===- ModelConfig.h - Model hyper-parameters from config.json --*- C++ -*-===//
//
// The hyper-parameters of the model families Coil builds, read from Hugging
// Face `config.json` files (and the original state-spaces Mamba layout). Keys
// that change the math but are not supported are refused with an error naming
// the file and the key; keys that do not change the math are ignored.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_MODELS_MODELCONFIG_H
#define COIL_MODELS_MODELCONFIG_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cmath>
#include <cstdint>
#include <string>

namespace mlir::coil::models {

/// Mamba (v1), as `MambaForCausalLM` or the state-spaces `MambaLMHeadModel`.
struct MambaConfig {
  /// Which tensor names the checkpoint uses.
  enum class Layout {
    HuggingFace, ///< backbone.embeddings.weight, lm_head.weight unless tied
    StateSpaces, ///< backbone.embedding.weight, always tied
  };
  Layout layout = Layout::HuggingFace;
  int64_t dModel = 0;
  int64_t numLayers = 0;
  int64_t vocabSize = 0; ///< after padding (state-spaces layout)
  int64_t dState = 16;
  int64_t dConv = 4;
  int64_t expand = 2;
  int64_t dInner = 0;
  int64_t dtRank = 0;
  double normEpsilon = 1e-5;
  bool convBias = true;
  bool linearBias = false;
  bool tieEmbeddings = true;
};

/// Mamba-2 (`Mamba2ForCausalLM`, Hugging Face layout): multi-head SSD scan
/// with one decay per head, B and C shared by groups of heads, a gated
/// RMSNorm normalised per group of `dInner / numGroups` features.
struct Mamba2Config {
  int64_t hiddenSize = 0;
  int64_t numLayers = 0;
  int64_t vocabSize = 0;
  int64_t numHeads = 128;
  int64_t headDim = 64;
  int64_t numGroups = 8;
  int64_t stateSize = 128;
  int64_t expand = 2;
  int64_t dInner = 0; ///< expand * hiddenSize == numHeads * headDim
  int64_t convKernel = 4;
  int64_t chunkSize = 256;
  double normEpsilon = 1e-5;
  /// dt is clamped to [dtLimitLow, dtLimitHigh] after its softplus.
  double dtLimitLow = 0.0;
  double dtLimitHigh = HUGE_VAL;
  /// The initial dt range (random weights): log-uniform, floored.
  double dtMin = 1e-3;
  double dtMax = 0.1;
  double dtFloor = 1e-4;
  bool linearBias = false;
  bool convBias = true;
  bool tieEmbeddings = false;

  /// Channels of the causal conv: x, B and C (dInner + 2 * G * N).
  int64_t convDim() const { return dInner + 2 * numGroups * stateSize; }
  /// in_proj's outputs: z, then x B C, then dt.
  int64_t projectionSize() const { return dInner + convDim() + numHeads; }
  /// Elements of one block's state per sequence: the SSM state (H x P x N)
  /// and the conv window (convDim x (K - 1)).
  int64_t stateElements() const {
    return dInner * stateSize + convDim() * (convKernel - 1);
  }
  bool hasDtLimit() const {
    return dtLimitLow != 0.0 || dtLimitHigh != HUGE_VAL;
  }
};

/// A Llama-style decoder (`LlamaForCausalLM`).
struct LlamaConfig {
  int64_t hiddenSize = 0;
  int64_t intermediateSize = 0;
  int64_t numHeads = 0;
  int64_t numKvHeads = 0;
  int64_t headDim = 0;
  int64_t numLayers = 0;
  int64_t vocabSize = 0;
  int64_t maxPositions = 2048;
  double normEpsilon = 1e-6;
  double ropeTheta = 10000.0;
  bool tieEmbeddings = false;
};

/// A Nemotron-H hybrid (`NemotronHForCausalLM`): pre-norm residual blocks
/// chosen per layer by `pattern` ('M' Mamba-2, '*' attention, '-' MLP).
struct NemotronHConfig {
  int64_t hiddenSize = 0;
  int64_t numLayers = 0;
  int64_t vocabSize = 0;
  /// One character per layer: 'M' Mamba-2, '*' attention, '-' MLP.
  std::string pattern;
  /// Attention blocks: grouped-query heads, no rotary embedding.
  int64_t numHeads = 32;
  int64_t numKvHeads = 8;
  int64_t headDim = 128;
  int64_t maxPositions = 4096;
  /// MLP blocks: up -> relu^2 -> down.
  int64_t intermediateSize = 21504;
  /// Mamba-2 blocks (hiddenSize, numLayers and the mixer's sizes; its
  /// vocabSize is unused).
  Mamba2Config mamba;
  double normEpsilon = 1e-5;
  bool tieEmbeddings = false;

  int64_t count(char kind) const;
};

/// One model's configuration.
struct ModelConfig {
  enum class Family { Mamba, Mamba2, Llama, NemotronH };
  Family family = Family::Mamba;
  MambaConfig mamba;
  Mamba2Config mamba2;
  LlamaConfig llama;
  NemotronHConfig nemotronH;

  /// "mamba", "mamba2", "llama" or "nemotron_h".
  llvm::StringRef familyName() const;
  /// Vocabulary size of any family.
  int64_t vocabSize() const;
  /// Number of layers of any family.
  int64_t numLayers() const;
  /// Width of the residual stream (d_model) of any family.
  int64_t hiddenSize() const;
  /// Whether the LM head reads the embedding's table.
  bool tiedEmbeddings() const;

private:
  /// The one of a value per family that is this config's.
  template <typename T>
  T byFamily(T mambaValue, T mamba2Value, T llamaValue, T nemotronHValue) const;
};

/// Parses a config.json text; `fileName` is used in error messages.
llvm::Expected<ModelConfig> parseModelConfig(llvm::StringRef json,
                                             llvm::StringRef fileName);

/// Reads `path`: a config.json file or a checkpoint directory holding one.
llvm::Expected<ModelConfig> loadModelConfig(llvm::StringRef path);

/// Serialises `config` as a Hugging Face config.json (state-spaces layout when
/// the Mamba config has it), so that built-in presets can be written out.
std::string toConfigJson(const ModelConfig &config);

} // namespace mlir::coil::models

#endif // COIL_MODELS_MODELCONFIG_H
