//===- ReferenceSession.h - Prefill and decode on the interpreter -*- C++
//-*-===//
//
// Runs a model module built by models/ModelBuilder (its @prefill,
// @prefill_all and @decode entry points) on the reference interpreter, keeping
// each sequence's state (Mamba's conv and SSM state, or the KV cache) between
// calls.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_COMPILER_REFERENCE_REFERENCESESSION_H
#define COIL_COMPILER_REFERENCE_REFERENCESESSION_H

#include "compiler/Reference/Interpreter.h"

namespace mlir::coil::reference {

/// A batch of sequences advanced together. Not thread-safe.
class ReferenceSession {
public:
  /// `batch` sequences of up to `capacity` tokens each (the KV cache length;
  /// Mamba's state does not depend on it). The module must outlive the
  /// session. `quantized` supplies pre-quantized matrices (Interpreter).
  static llvm::Expected<std::unique_ptr<ReferenceSession>>
  create(ModuleOp module, WeightProvider weights, int64_t batch,
         int64_t capacity, QuantizedWeightProvider quantized = nullptr);

  /// Feeds `tokens[b]` (every sequence the same length T >= 1) after what
  /// was fed before through @prefill; returns its logits: those of each
  /// sequence's last position, [batch, 1, vocab], for a built model.
  llvm::Expected<Tensor>
  prefill(const std::vector<std::vector<int64_t>> &tokens);
  /// The same through @prefill_all (or @prefill when the module has none):
  /// the logits of every position, [batch, T, vocab].
  llvm::Expected<Tensor>
  prefillAll(const std::vector<std::vector<int64_t>> &tokens);

  /// Feeds one token per sequence; returns the logits [batch, 1, vocab].
  llvm::Expected<Tensor> decode(const std::vector<int64_t> &tokens);

  /// Forgets every sequence: state back to zeros, length 0.
  void reset();

  int64_t length() const { return position; }
  int64_t batch() const { return batchSize; }
  int64_t vocabSize() const { return vocab; }

private:
  ReferenceSession(ModuleOp module, WeightProvider weights, int64_t batch,
                   int64_t capacity, QuantizedWeightProvider quantized);
  llvm::Expected<Tensor> step(llvm::StringRef function,
                              const std::vector<std::vector<int64_t>> &tokens);

  ModuleOp module;
  Interpreter interpreter;
  int64_t batchSize;
  int64_t capacity;
  int64_t vocab = 0;
  int64_t position = 0;
  std::vector<std::vector<int64_t>> stateShapes;
  std::vector<Tensor> states;
};

} // namespace mlir::coil::reference

#endif // COIL_COMPILER_REFERENCE_REFERENCESESSION_H
