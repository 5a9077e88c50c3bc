//===- OpLowerings.h - One lowering per coil op family ----------*- C++ -*-===//
//
// The op lowerings of --convert-coil-to-loops, one file per op family. Each
// lowers one op reading the buffers `in` (one memref per operand) and
// writing `out` (one per result), and computes this tile's share of the
// op's outermost parallel loop (see Passes.td).
//
//===----------------------------------------------------------------------===//

#ifndef COIL_COMPILER_CONVERSION_COILTOLOOPS_OPLOWERINGS_H
#define COIL_COMPILER_CONVERSION_COILTOLOOPS_OPLOWERINGS_H

#include "mlir/IR/Operation.h"
#include "mlir/IR/Value.h"
#include "mlir/Support/LogicalResult.h"

#include <optional>

namespace mlir::coil {

class LoopBuilder;

/// Dispatches `op` to its family's lowering; an error at the op for ops no
/// family lowers.
LogicalResult lowerOp(LoopBuilder &lb, Operation *op, ArrayRef<Value> in,
                      ArrayRef<Value> out);

/// One element-wise op applied on a contraction's register tile: `op`
/// with the chained value as operand `chained` and, for a binary op, the
/// buffer of its other operand.
struct EpilogueStep {
  Operation *op = nullptr;
  unsigned chained = 0;
  Value other;
};

/// Contraction.cpp: `linear`; with an epilogue (its coil.lowering_config),
/// `out` is the buffer(s) of the epilogue's last op and `result` the
/// linear's own (it holds partial sums between K blocks). With
/// `normEpsilon`, the linear folds the rms_norm producing its input (its
/// prologue): in[0] is the norm's input and the panels already hold the
/// norm's weight.
LogicalResult lowerContraction(LoopBuilder &lb, Operation *op,
                               ArrayRef<Value> in, ArrayRef<Value> out,
                               ArrayRef<EpilogueStep> epilogue = {},
                               Value result = {},
                               std::optional<double> normEpsilon = {});
/// Norm.cpp: `rms_norm`, `layer_norm`.
LogicalResult lowerNorm(LoopBuilder &lb, Operation *op, ArrayRef<Value> in,
                        ArrayRef<Value> out);
/// 1 / sqrt(sumOfSquares / width + epsilon): the scale of a row of
/// `width` elements in rms_norm (and layer_norm, of the centred row); the
/// norm's lowering and the linears folding an rms_norm share it.
Value inverseRms(LoopBuilder &lb, Value sumOfSquares, int64_t width,
                 double epsilon);
/// Elementwise.cpp: the unary and binary element-wise ops.
LogicalResult lowerElementwise(LoopBuilder &lb, Operation *op,
                               ArrayRef<Value> in, ArrayRef<Value> out);
/// The value of element-wise `op` on `operands` (scalars or vectors, in
/// the op's operand order).
Value applyElementwise(LoopBuilder &lb, Operation *op, ValueRange operands);
/// DataMovement.cpp: `embed`, `slice`, `split`, `reshape`.
LogicalResult lowerDataMovement(LoopBuilder &lb, Operation *op,
                                ArrayRef<Value> in, ArrayRef<Value> out);
/// Conv.cpp: `conv1d_causal`.
LogicalResult lowerConv(LoopBuilder &lb, Operation *op, ArrayRef<Value> in,
                        ArrayRef<Value> out);
/// Scan.cpp: `scan`.
LogicalResult lowerScan(LoopBuilder &lb, Operation *op, ArrayRef<Value> in,
                        ArrayRef<Value> out);
/// SsdScan.cpp: `ssd_scan`.
LogicalResult lowerSsdScan(LoopBuilder &lb, Operation *op, ArrayRef<Value> in,
                           ArrayRef<Value> out);
/// Attention.cpp: `rope`, `attention`.
LogicalResult lowerAttention(LoopBuilder &lb, Operation *op, ArrayRef<Value> in,
                             ArrayRef<Value> out);

} // namespace mlir::coil

#endif // COIL_COMPILER_CONVERSION_COILTOLOOPS_OPLOWERINGS_H
