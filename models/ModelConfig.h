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

/// One model's configuration.
struct ModelConfig {
  enum class Family { Mamba, Llama };
  Family family = Family::Mamba;
  MambaConfig mamba;
  LlamaConfig llama;

  /// "mamba" or "llama".
  llvm::StringRef familyName() const;
  /// Vocabulary size of either family.
  int64_t vocabSize() const;
  /// Number of layers of either family.
  int64_t numLayers() const;
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
