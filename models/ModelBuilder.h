//===- ModelBuilder.h - coil IR and weight lists from a config --*- C++ -*-===//
//
// Builds a whole model (embedding -> layers -> final norm -> LM head) as coil
// IR from a ModelConfig, and lists the parameters it reads with their shapes
// and published initialisations.
//
// The module holds four entry points with one calling convention:
//
//   func.func @prefill_all(%tokens: tensor<?x?xi32>,
//                          %positions: tensor<?x?xi32>, %state_0, ...)
//       -> (tensor<?x?xVxf32> logits, %state_0', ..., %state_n')
//   func.func @prefill  -- logits of each sequence's last position only,
//                          tensor<?x1xVxf32> (the final norm and the LM head
//                          run on those rows alone)
//   func.func @decode   -- sequence length 1
//   func.func @verify   -- @prefill_all that also returns, after the
//                          states, the state after every position of each
//                          recurrent state, tensor<?x?x...> marked
//                          `coil.history = "<state>"` (Mamba's conv and
//                          ssm; a KV cache needs none): what rolling back
//                          to any verified position needs
//
// `positions[b, t]` is the absolute position of token `t` of sequence `b`.
// State arguments carry `coil.state = "<kind>.<layer>"` (conv / ssm for Mamba,
// k_cache / v_cache for Llama); result `i + 1` is the updated argument `i + 2`.
// State dimension 0 is the batch; any other dynamic dimension is the context
// capacity (the KV cache length), chosen by whoever allocates the state.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_MODELS_MODELBUILDER_H
#define COIL_MODELS_MODELBUILDER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "models/ModelConfig.h"
#include "runtime/include/coil/abi.h"

#include <string>
#include <vector>

namespace mlir::coil::models {

/// How the published reference code initialises a parameter.
struct WeightInit {
  enum class Kind {
    Normal,    ///< N(0, a^2)
    Uniform,   ///< U(-a, a)
    Constant,  ///< every element a
    ALogRange, ///< row r of [C, N]: log(1), log(2), ..., log(N) (Mamba A_log)
    DtBias,    ///< inverse softplus of dt, log-uniform in [a, b] (Mamba)
  };
  Kind kind = Kind::Constant;
  double a = 0.0;
  double b = 0.0;
};

/// One parameter of a model: its safetensors name, shape and initialisation.
struct WeightSpec {
  std::string name;
  std::vector<int64_t> shape;
  WeightInit init;
};

/// The parameters `buildModel` reads, in a stable order.
std::vector<WeightSpec> weightSpecs(const ModelConfig &config);

/// Builds the model's module (see the file comment for its conventions).
OwningOpRef<ModuleOp> buildModel(MLIRContext &context,
                                 const ModelConfig &config);

/// Names of the entry points: prefill returns the logits of each
/// sequence's last position [B, 1, V], prefill_all those of every position
/// [B, T, V], decode those of the one new token [B, 1, V].
inline constexpr const char *kPrefillFunction = COIL_ENTRY_PREFILL;
inline constexpr const char *kPrefillAllFunction = COIL_ENTRY_PREFILL_ALL;
inline constexpr const char *kDecodeFunction = COIL_ENTRY_DECODE;
/// prefill_all that also returns every position's recurrent states.
inline constexpr const char *kVerifyFunction = COIL_ENTRY_VERIFY;
/// Attribute naming a state argument.
inline constexpr const char *kStateAttr = "coil.state";
/// Attribute naming the state whose every position a result holds.
inline constexpr const char *kHistoryAttr = "coil.history";

} // namespace mlir::coil::models

#endif // COIL_MODELS_MODELBUILDER_H
