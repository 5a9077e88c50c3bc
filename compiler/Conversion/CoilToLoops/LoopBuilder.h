//===- LoopBuilder.h - Loop and vector builders for kernels -----*- C++ -*-===//
//
// The building blocks every op lowering of --convert-coil-to-loops shares:
// constants, loads and stores, fast-math arithmetic, loops with carried
// values, this tile's share of a parallel loop, views of buffers as rows,
// and the runtime barrier. One LoopBuilder serves one kernel function.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_COMPILER_CONVERSION_COILTOLOOPS_LOOPBUILDER_H
#define COIL_COMPILER_CONVERSION_COILTOLOOPS_LOOPBUILDER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"

#include <utility>

namespace mlir::coil {

class LoopBuilder {
public:
  LoopBuilder(OpBuilder &builder, Location loc, Value tile, Value tiles,
              Value sync);

  OpBuilder &b;
  Location loc;
  /// This tile's index, the number of tiles, the runtime's sync object.
  Value tile, tiles, sync;
  /// reassoc + contract: reductions may be reordered and FMAs formed.
  arith::FastMathFlagsAttr fmf;
  /// Whether the target has AVX-512 (vscalefps scales 16 f32 lanes by
  /// powers of two in one instruction, for fexp).
  bool avx512 = false;

  /// Split points of element-wise loops, a multiple of any vector width and
  /// unroll factor LLVM picks for f32 on x86.
  static constexpr int64_t kVectorChunk = 64;

  /// The runtime's barrier, called through `sync` (see docs/abi.md).
  static constexpr llvm::StringLiteral kBarrierFunction = "coil_kernel_barrier";

  //===--------------------------------------------------------------------===//
  // Constants and shapes
  //===--------------------------------------------------------------------===//

  Value idx(int64_t v);
  Value f32(double v);
  /// `v` as an f32 scalar, or splat to a vector, of `like`'s type.
  Value f32Like(Value like, double v);
  Value f64(double v);
  /// Extent `i` of memref `m`, a constant when static.
  Value dim(Value m, int64_t i);
  int64_t staticDim(Value m, int64_t i);
  int64_t rank(Value m);

  //===--------------------------------------------------------------------===//
  // Memory
  //===--------------------------------------------------------------------===//

  Value load(Value m, ValueRange indices);
  void store(Value v, Value m, ValueRange indices);
  Value vload(VectorType t, Value m, ValueRange indices);
  /// `lanes` consecutive elements of `m` (f32, bf16, f16 or i8) as an f32
  /// vector: narrower elements are loaded as they are stored and widened
  /// in registers.
  Value vloadF32(int64_t lanes, Value m, ValueRange indices);
  /// `v`, an f32, bf16, f16 or i8 scalar or vector, converted exactly to
  /// f32.
  Value widenToF32(Value v);
  void vstore(Value v, Value m, ValueRange indices);
  Value splat(Type t, Value scalar);

  /// `m` viewed as [rows, last] (all leading dimensions collapsed).
  Value rows(Value m);
  /// `m` viewed as one dimension.
  Value flatten(Value m);

  //===--------------------------------------------------------------------===//
  // Arithmetic (fast-math flags on float ops)
  //===--------------------------------------------------------------------===//

  Value add(Value x, Value y);
  Value sub(Value x, Value y);
  Value mul(Value x, Value y);
  Value div(Value x, Value y);
  /// exp(x) on f32 scalars or vectors, as FMAs and integer ops that
  /// vectorise (1.10 ulp at most; 0 where the result is below the smallest
  /// normal f32, +inf above the largest, NaN for NaN). With
  /// `nonPositive`, the caller knows x <= 0 or NaN (a decay): the check
  /// for overflow is left out where NaN still gives NaN without it.
  Value fexp(Value x, bool nonPositive = false);
  /// The sum of a vector's elements.
  Value hsum(Value v);
  /// The W sums of `rows` (W vectors of N lanes, N a multiple of W, both
  /// powers of two) as one vector, lane j the sum of rows[j]: pairs of
  /// vectors are folded into one (the halves of each block of lanes added,
  /// the two vectors' blocks interleaved) until one vector holds W blocks of
  /// N / W lanes, which a last shuffle per lane of a block adds into channel
  /// order. 3(W - 1) + N / W shuffles and adds, where a horizontal sum per
  /// row would take W log2 N of each plus W inserts.
  Value sumRows(ArrayRef<Value> rows);
  Value addi(Value x, Value y);
  Value subi(Value x, Value y);
  Value muli(Value x, Value y);
  Value minui(Value x, Value y);
  Value maxui(Value x, Value y);
  /// ceil(x / y) of unsigned indices.
  Value ceilDivui(Value x, Value y);
  /// silu(x) = x / (1 + exp(-x)) on scalars or vectors.
  Value silu(Value x);
  /// PyTorch softplus with threshold 20.
  Value softplus(Value x);

  //===--------------------------------------------------------------------===//
  // Loops and tiles
  //===--------------------------------------------------------------------===//

  /// for iv in [lb, ub) step `step` { body(iv) }
  void loop(Value lb, Value ub, int64_t step, function_ref<void(Value)> body);
  /// The same with a step computed at run time (> 0).
  void loop(Value lb, Value ub, Value step, function_ref<void(Value)> body);

  /// A loop carrying `init` through `body(iv, acc) -> next`; returns the
  /// final values.
  SmallVector<Value>
  reduce(Value lb, Value ub, int64_t step, ValueRange init,
         function_ref<SmallVector<Value>(Value, ValueRange)> body);

  /// This tile's share [lo, hi) of `extent` iterations, in whole chunks of
  /// `align` iterations. Aligning the split points to the vectoriser's step
  /// keeps every element on the same code path (vector body or the one
  /// final remainder) whatever the number of tiles, so the result does not
  /// depend on the thread count.
  std::pair<Value, Value> share(Value extent, int64_t align = 1);

  /// Waits until every tile of this kernel call reached this point.
  void barrier();

  //===--------------------------------------------------------------------===//
  // Copies
  //===--------------------------------------------------------------------===//

  /// dst[i] = src[i] over this tile's share of the elements (any ranks of
  /// the same element count).
  void copyAll(Value src, Value dst);
  /// dst[i] = src[i] over this tile's share of the elements (rank 1).
  void copyFlat(Value src, Value dst);
  /// dst[i...] = src[i... with i[d] + offset] for every index of dst.
  void copyAlong(Value src, Value dst, int64_t d, Value offset);
  void copyAlong(Value src, Value dst, int64_t d, int64_t offset) {
    copyAlong(src, dst, d, idx(offset));
  }
};

} // namespace mlir::coil

#endif // COIL_COMPILER_CONVERSION_COILTOLOOPS_LOOPBUILDER_H
