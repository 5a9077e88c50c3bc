//===- CoilBase.td - Coil dialect definition and base classes -*- tablegen -*-===//
//
// The `coil` dialect: sequence models (Mamba, Transformers, hybrids) as graphs
// of tensor-valued ops. This file holds the dialect definition, the op base
// class and the type constraints shared by every op.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_DIALECTS_COIL_IR_COILBASE_TD
#define COIL_DIALECTS_COIL_IR_COILBASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def Coil_Dialect : Dialect {
  let name = "coil";
  let cppNamespace = "::mlir::coil";
  let summary = "Sequence-model graphs: selective scans, attention with a KV cache";
  let description = [{
    The `coil` dialect describes inference graphs of sequence models on
    builtin `tensor` values. Batch and sequence dimensions may be dynamic;
    model dimensions are static. Weights are named `coil.weight` ops whose
    storage the runtime binds by name (Hugging Face / safetensors names).

    Layout conventions shared by every op:

    * Activations are `[batch, seq, features]` (`[B, T, F]`). Multi-head
      tensors keep their heads flattened in the feature dimension, head-major:
      feature `h * head_dim + i` is element `i` of head `h`.
    * Linear weights are stored `[out, in]` as in PyTorch.
    * Recurrent state (convolution and SSM state) and the KV cache are explicit
      SSA values: an op that advances state takes the old state as an operand
      and returns the new state as a result, so prefill and decode are the same
      ops with a different sequence length.
    * Floating-point element types are `f32`, `f16` and `bf16`; token ids and
      positions are `i32` or `i64`.
  }];
  let hasConstantMaterializer = 0;
  let useDefaultAttributePrinterParser = 0;
  // The model-level attributes of a module (coil.family, coil.vocab_size,
  // coil.max_context) are checked where they are set.
  let hasOperationAttrVerify = 1;
}

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

def Coil_Float : AnyTypeOf<[F32, F16, BF16], "f32, f16 or bf16">;
def Coil_FloatTensor : RankedTensorOf<[F32, F16, BF16]>;
// A stored matrix: a float type, int8 with per-channel scales, or int4 with
// scales per group of 32.
def Coil_WeightTensor : RankedTensorOf<[F32, F16, BF16, I8, I<4>]>;
def Coil_IdTensor : RankedTensorOf<[I32, I64]>;

//===----------------------------------------------------------------------===//
// Base op
//===----------------------------------------------------------------------===//

class Coil_Op<string mnemonic, list<Trait> traits = []>
    : Op<Coil_Dialect, mnemonic, traits>;

#endif // COIL_DIALECTS_COIL_IR_COILBASE_TD
