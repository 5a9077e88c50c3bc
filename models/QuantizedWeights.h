//===- QuantizedWeights.h - A checkpoint in a model's weight format -*- C++
//-*-===//
//
// A model built with --weight-dtype reads its matrices as bf16, f16, int8 or
// int4. Storing them so once (coil-quantize, coil-bench's cache) lets every
// later start-up bind them as they are, without converting or quantizing:
// bf16 and f16 matrices rounded to nearest even, int8 and int4 ones with
// their scales in the pre-quantized layout of runtime/src/weights/Quantize.h,
// computed by the same functions the runtime would use, so a model bound to
// the file computes exactly what it computes from the float checkpoint.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_MODELS_QUANTIZEDWEIGHTS_H
#define COIL_MODELS_QUANTIZEDWEIGHTS_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <map>
#include <string>

namespace coil::weights {
class WeightFileSet;
} // namespace coil::weights

namespace mlir::coil::models {

/// What writeQuantizedWeights stored.
struct QuantizedWeightsSummary {
  /// Matrices stored as int8, as int4, and as bf16 or f16.
  int64_t int8 = 0, int4 = 0, narrowed = 0;
  /// Tensors copied as they are.
  int64_t copied = 0;
  /// Bytes of tensor data before and after.
  int64_t bytesBefore = 0, bytesAfter = 0;
};

/// Writes every tensor of `files` (the float checkpoint of `module`, whose
/// weight types --coil-weight-dtype has set) as one safetensors file at
/// `path`, atomically: each matrix `module` reads as int8 or int4
/// pre-quantized with its scales, each it reads as bf16 or f16 in that
/// dtype, every other tensor as stored. A matrix stored already quantized,
/// or one holding a NaN or an infinity where it is quantized, is an error
/// naming it (`weightsPath` names the files); nothing is written then.
/// `metadata` joins the file's "__metadata__".
llvm::Expected<QuantizedWeightsSummary>
writeQuantizedWeights(ModuleOp module,
                      const ::coil::weights::WeightFileSet &files,
                      llvm::StringRef weightsPath, llvm::StringRef path,
                      const std::map<std::string, std::string> &metadata = {});

} // namespace mlir::coil::models

#endif // COIL_MODELS_QUANTIZEDWEIGHTS_H
