//===- Norm.cpp - Lower rms_norm and layer_norm to loops --------*- C++ -*-===//

#include "compiler/Conversion/CoilToLoops/LoopBuilder.h"
#include "compiler/Conversion/CoilToLoops/OpLowerings.h"

#include "dialects/Coil/IR/CoilOps.h"
#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;
using namespace mlir::coil;

Value mlir::coil::inverseRms(LoopBuilder &lb, Value sumOfSquares,
                             int64_t width, double epsilon) {
  return lb.div(lb.f32(1.0),
                lb.b.create<math::SqrtOp>(
                    lb.loc, lb.add(lb.div(sumOfSquares, lb.f32(width)),
                                   lb.f32(epsilon))));
}

namespace {

/// Features [first, first + width) of row `r`: (layer_norm: the mean,) the
/// mean square, then the scaled features.
void normaliseRange(LoopBuilder &lb, Value x, Value w, Value bias, Value y,
                    Value r, Value first, int64_t width, double epsilon,
                    bool rms) {
  Value lo = first, hi = lb.addi(first, lb.idx(width));
  Value mean = lb.f32(0.0);
  if (!rms) {
    Value sum = lb.reduce(lo, hi, 1, {lb.f32(0.0)},
                          [&](Value i, ValueRange a) -> SmallVector<Value> {
                            return {lb.add(a[0], lb.load(x, {r, i}))};
                          })[0];
    mean = lb.div(sum, lb.f32(width));
  }
  Value sq = lb.reduce(lo, hi, 1, {lb.f32(0.0)},
                       [&](Value i, ValueRange a) -> SmallVector<Value> {
                         Value c = lb.sub(lb.load(x, {r, i}), mean);
                         return {lb.add(a[0], lb.mul(c, c))};
                       })[0];
  Value inv = inverseRms(lb, sq, width, epsilon);
  lb.loop(lo, hi, 1, [&](Value i) {
    Value v =
        lb.mul(lb.mul(lb.sub(lb.load(x, {r, i}), mean), inv), lb.load(w, i));
    if (bias)
      v = lb.add(v, lb.load(bias, i));
    lb.store(v, y, {r, i});
  });
}

} // namespace

/// One row per iteration, its groups (rms_norm's group_size; else the
/// whole row) one after the other. Tiles split the rows.
LogicalResult mlir::coil::lowerNorm(LoopBuilder &lb, Operation *op,
                                    ArrayRef<Value> in, ArrayRef<Value> out) {
  bool rms = isa<RmsNormOp>(op);
  double epsilon = rms ? cast<RmsNormOp>(op).getEpsilon().convertToDouble()
                       : cast<LayerNormOp>(op).getEpsilon().convertToDouble();
  Value x = lb.rows(in[0]), w = in[1], y = lb.rows(out[0]);
  Value bias = (!rms && in.size() > 2) ? in[2] : Value();
  int64_t features = lb.staticDim(x, 1);
  std::optional<int64_t> group =
      rms ? cast<RmsNormOp>(op).getGroupSize() : std::nullopt;
  int64_t width = group.value_or(features);
  auto [lo, hi] = lb.share(lb.dim(x, 0));
  // Groups of a row one after the other (one group: the whole row).
  lb.loop(lo, hi, 1, [&](Value r) {
    if (width == features)
      return normaliseRange(lb, x, w, bias, y, r, lb.idx(0), width, epsilon,
                            rms);
    lb.loop(lb.idx(0), lb.idx(features), width, [&](Value first) {
      normaliseRange(lb, x, w, bias, y, r, first, width, epsilon, rms);
    });
  });
  return success();
}
