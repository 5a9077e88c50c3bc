//===- Contraction.cpp - Lower linear layers to loops -----------*- C++ -*-===//

#include "compiler/Conversion/CoilToLoops/LoopBuilder.h"
#include "compiler/Conversion/CoilToLoops/OpLowerings.h"

#include "dialects/Coil/IR/CoilOps.h"

using namespace mlir;
using namespace mlir::coil;

namespace {

/// y = x W^T + b with a register tile of 4 rows, over blocks of 64
/// output features so a block of W stays in cache across all rows.
LogicalResult lowerLinear(LoopBuilder &lb, LinearOp op, ArrayRef<Value> in,
                          ArrayRef<Value> out) {
  if (lb.rank(in[0]) < 2)
    return op.emitOpError("cannot be lowered to loops: rank-1 input");
  Value x = lb.rows(in[0]), w = in[1], y = lb.rows(out[0]);
  Value bias = op.getBias() ? in[2] : Value();
  int64_t n = lb.staticDim(w, 0), k = lb.staticDim(w, 1);
  constexpr int64_t kRowTile = 4, kColTile = 4, kColBlock = 64;
  Value m = lb.dim(x, 0);
  Value mMain =
      lb.subi(m, lb.b.create<arith::RemUIOp>(lb.loc, m, lb.idx(kRowTile)));

  // A register tile of `tr` rows x `tc` output features: every weight
  // element loaded is used `tr` times, every input element `tc` times.
  auto tileKernel = [&](Value r0, int64_t tr, Value cStart, int64_t tc) {
    SmallVector<Value> acc;
    for (int64_t t = 0; t < tr; ++t)
      for (int64_t u = 0; u < tc; ++u)
        acc.push_back(bias ? lb.load(bias, lb.addi(cStart, lb.idx(u)))
                           : lb.f32(0.0));
    acc = lb.reduce(lb.idx(0), lb.idx(k), 1, acc, [&](Value i, ValueRange a) {
      SmallVector<Value> wv, xv, next;
      for (int64_t u = 0; u < tc; ++u)
        wv.push_back(lb.load(w, {lb.addi(cStart, lb.idx(u)), i}));
      for (int64_t t = 0; t < tr; ++t)
        xv.push_back(lb.load(x, {lb.addi(r0, lb.idx(t)), i}));
      for (int64_t t = 0; t < tr; ++t)
        for (int64_t u = 0; u < tc; ++u)
          next.push_back(lb.add(a[t * tc + u], lb.mul(xv[t], wv[u])));
      return next;
    });
    for (int64_t t = 0; t < tr; ++t)
      for (int64_t u = 0; u < tc; ++u)
        lb.store(acc[t * tc + u], y,
                 {lb.addi(r0, lb.idx(t)), lb.addi(cStart, lb.idx(u))});
  };
  // Tiles split the output features, in whole blocks.
  auto [blockLo, blockHi] = lb.share(lb.idx((n + kColBlock - 1) / kColBlock));
  lb.loop(lb.muli(blockLo, lb.idx(kColBlock)),
          lb.muli(blockHi, lb.idx(kColBlock)), kColBlock, [&](Value c0) {
            Value c1 = lb.minui(lb.addi(c0, lb.idx(kColBlock)), lb.idx(n));
            Value span = lb.subi(c1, c0);
            Value cMain = lb.addi(
                c0, lb.subi(span, lb.b.create<arith::RemUIOp>(
                                      lb.loc, span, lb.idx(kColTile))));
            auto rowsOf = [&](Value rLo, Value rHi, int64_t tr) {
              lb.loop(rLo, rHi, tr, [&](Value r0) {
                lb.loop(c0, cMain, kColTile,
                        [&](Value c) { tileKernel(r0, tr, c, kColTile); });
                lb.loop(cMain, c1, 1,
                        [&](Value c) { tileKernel(r0, tr, c, 1); });
              });
            };
            rowsOf(lb.idx(0), mMain, kRowTile);
            rowsOf(mMain, m, 1);
          });
  return success();
}

} // namespace

LogicalResult mlir::coil::lowerContraction(LoopBuilder &lb, Operation *op,
                                           ArrayRef<Value> in,
                                           ArrayRef<Value> out) {
  return lowerLinear(lb, cast<LinearOp>(op), in, out);
}
