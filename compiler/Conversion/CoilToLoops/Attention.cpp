//===- Attention.cpp - Lower rope and attention to loops --------*- C++ -*-===//

#include "compiler/Conversion/CoilToLoops/LoopBuilder.h"
#include "compiler/Conversion/CoilToLoops/OpLowerings.h"

#include "dialects/Coil/IR/CoilOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>

#include <tuple>

using namespace mlir;
using namespace mlir::coil;

namespace {

/// HF rotate-half rope, angles in f64; tiles split the rows.
LogicalResult lowerRope(LoopBuilder &lb, RopeOp op, ArrayRef<Value> in,
                        ArrayRef<Value> out) {
  OpBuilder &b = lb.b;
  Location loc = lb.loc;
  Value x = lb.rows(in[0]), pos = lb.flatten(in[1]), y = lb.rows(out[0]);
  int64_t width = lb.staticDim(x, 1), heads = op.getNumHeads();
  int64_t headDim = width / heads, half = headDim / 2;
  // inv_freq_i = theta^(-2i/Dh) = exp(i * (-2 ln(theta) / Dh)), in f64.
  double logStep = -2.0 * std::log(op.getTheta().convertToDouble()) /
                   static_cast<double>(headDim);
  Value lo, hi;
  std::tie(lo, hi) = lb.share(lb.dim(x, 0));
  lb.loop(lo, hi, 1, [&](Value r) {
    Value p = b.create<arith::SIToFPOp>(loc, b.getF64Type(), lb.load(pos, r));
    lb.loop(lb.idx(0), lb.idx(half), 1, [&](Value i) {
      Value fi = b.create<arith::UIToFPOp>(
          loc, b.getF64Type(),
          b.create<arith::IndexCastUIOp>(loc, b.getI64Type(), i));
      Value angle = b.create<arith::MulFOp>(
          loc, p,
          b.create<math::ExpOp>(
              loc, b.create<arith::MulFOp>(loc, fi, lb.f64(logStep))));
      Value c = b.create<arith::TruncFOp>(loc, b.getF32Type(),
                                          b.create<math::CosOp>(loc, angle));
      Value s = b.create<arith::TruncFOp>(loc, b.getF32Type(),
                                          b.create<math::SinOp>(loc, angle));
      lb.loop(lb.idx(0), lb.idx(heads), 1, [&](Value h) {
        Value first = lb.addi(lb.muli(h, lb.idx(headDim)), i);
        Value second = lb.addi(first, lb.idx(half));
        Value x1 = lb.load(x, {r, first}), x2 = lb.load(x, {r, second});
        lb.store(lb.sub(lb.mul(x1, c), lb.mul(x2, s)), y, {r, first});
        lb.store(lb.add(lb.mul(x2, c), lb.mul(x1, s)), y, {r, second});
      });
    });
  });
  return success();
}

/// Keys per block of the online softmax.
constexpr int64_t kKeyBlock = 16;

/// One step of the online softmax over `count` keys whose scores are the
/// vector `scores` (`count` lanes, scaled): the running max, denominator
/// and weighted sum of values `state` = {m, l, acc} advance by the block's,
/// with one correction of the old sums per block. `valueAt(i)` loads the
/// value of the block's key `i`.
SmallVector<Value> softmaxBlock(LoopBuilder &lb, Value scores, int64_t count,
                                ValueRange state,
                                function_ref<Value(int64_t)> valueAt) {
  OpBuilder &b = lb.b;
  Location loc = lb.loc;
  auto vt = cast<VectorType>(state[2].getType());
  Value blockMax = b.create<vector::ReductionOp>(
      loc, vector::CombiningKind::MAXIMUMF, scores);
  Value mNew = b.create<arith::MaximumFOp>(loc, state[0], blockMax);
  Value corr = lb.fexp(lb.sub(state[0], mNew));
  Value weights = lb.fexp(lb.sub(scores, lb.splat(scores.getType(), mNew)));
  Value l = lb.add(lb.mul(state[1], corr), lb.hsum(weights));
  Value acc = lb.mul(state[2], lb.splat(vt, corr));
  for (int64_t i = 0; i < count; ++i) {
    Value w = b.create<vector::ExtractElementOp>(loc, weights, lb.idx(i));
    acc = lb.add(acc, lb.mul(lb.splat(vt, w), valueAt(i)));
  }
  return {mNew, l, acc};
}

/// Writes k/v at their positions (tiles split the kv heads), then an online
/// softmax per query over cache slots j <= position (tiles split the query
/// heads): whole blocks of kKeyBlock keys first (their scores are
/// independent dot products, exponentiated as one vector, with one
/// correction per block), then the remaining keys one at a time.
LogicalResult lowerAttentionOp(LoopBuilder &lb, AttentionOp op,
                               ArrayRef<Value> in, ArrayRef<Value> out) {
  OpBuilder &b = lb.b;
  Location loc = lb.loc;
  Value q = in[0], k = in[1], v = in[2], pos = in[5];
  Value o = out[0], kc = out[1], vc = out[2];
  int64_t heads = op.getNumHeads(), kvHeads = op.getNumKvHeads();
  int64_t headDim = op.getHeadDim(), group = heads / kvHeads;
  auto vt = VectorType::get({headDim}, b.getF32Type());
  // The caches are updated in place: out[1], out[2] alias in[3], in[4].
  Value batch = lb.dim(q, 0), seq = lb.dim(q, 1);
  auto positionAt = [&](Value bb, Value t) {
    return b.create<arith::IndexCastOp>(loc, b.getIndexType(),
                                        lb.load(pos, {bb, t}));
  };
  Value gLo, gHi;
  std::tie(gLo, gHi) = lb.share(lb.idx(kvHeads));
  lb.loop(lb.idx(0), batch, 1, [&](Value bb) {
    lb.loop(lb.idx(0), seq, 1, [&](Value t) {
      Value p = positionAt(bb, t);
      lb.loop(gLo, gHi, 1, [&](Value g) {
        Value col = lb.muli(g, lb.idx(headDim));
        lb.vstore(lb.vload(vt, k, {bb, t, col}), kc, {bb, g, p, lb.idx(0)});
        lb.vstore(lb.vload(vt, v, {bb, t, col}), vc, {bb, g, p, lb.idx(0)});
      });
    });
  });
  // Every tile reads every new key and value.
  lb.barrier();
  Value scale = lb.f32(op.getScaleOrDefault());
  Value hLo, hHi;
  std::tie(hLo, hHi) = lb.share(lb.idx(heads));
  lb.loop(lb.idx(0), batch, 1, [&](Value bb) {
    lb.loop(lb.idx(0), seq, 1, [&](Value t) {
      Value p = positionAt(bb, t);
      lb.loop(hLo, hHi, 1, [&](Value h) {
        Value g = b.create<arith::DivUIOp>(loc, h, lb.idx(group));
        Value qv = lb.vload(vt, q, {bb, t, lb.muli(h, lb.idx(headDim))});
        SmallVector<Value> init{lb.f32(-3.0e38), lb.f32(0.0),
                                lb.splat(vt, lb.f32(0.0))};
        Value keys = lb.addi(p, lb.idx(1));
        Value blocked =
            lb.muli(b.create<arith::DivUIOp>(loc, keys, lb.idx(kKeyBlock)),
                    lb.idx(kKeyBlock));
        auto bt = VectorType::get({kKeyBlock}, b.getF32Type());
        SmallVector<Value> afterBlocks = lb.reduce(
            lb.idx(0), blocked, kKeyBlock, init,
            [&](Value j0, ValueRange s) -> SmallVector<Value> {
              Value scores = lb.splat(bt, lb.f32(0.0));
              for (int64_t i = 0; i < kKeyBlock; ++i) {
                Value kv = lb.vload(vt, kc,
                                    {bb, g, lb.addi(j0, lb.idx(i)), lb.idx(0)});
                Value score = lb.mul(lb.hsum(lb.mul(qv, kv)), scale);
                scores = b.create<vector::InsertElementOp>(loc, score, scores,
                                                           lb.idx(i));
              }
              return softmaxBlock(lb, scores, kKeyBlock, s, [&](int64_t i) {
                return lb.vload(vt, vc,
                                {bb, g, lb.addi(j0, lb.idx(i)), lb.idx(0)});
              });
            });
        SmallVector<Value> fin =
            lb.reduce(blocked, keys, 1, afterBlocks,
                      [&](Value j, ValueRange s) -> SmallVector<Value> {
                        Value kv = lb.vload(vt, kc, {bb, g, j, lb.idx(0)});
                        Value score = lb.mul(lb.hsum(lb.mul(qv, kv)), scale);
                        Value mNew =
                            b.create<arith::MaximumFOp>(loc, s[0], score);
                        Value corr = lb.fexp(lb.sub(s[0], mNew));
                        Value pj = lb.fexp(lb.sub(score, mNew));
                        Value l = lb.add(lb.mul(s[1], corr), pj);
                        Value vv = lb.vload(vt, vc, {bb, g, j, lb.idx(0)});
                        Value acc = lb.add(lb.mul(s[2], lb.splat(vt, corr)),
                                           lb.mul(lb.splat(vt, pj), vv));
                        return {mNew, l, acc};
                      });
        lb.vstore(lb.div(fin[2], lb.splat(vt, fin[1])), o,
                  {bb, t, lb.muli(h, lb.idx(headDim))});
      });
    });
  });
  return success();
}

} // namespace

LogicalResult mlir::coil::lowerAttention(LoopBuilder &lb, Operation *op,
                                         ArrayRef<Value> in,
                                         ArrayRef<Value> out) {
  if (auto rope = dyn_cast<RopeOp>(op))
    return lowerRope(lb, rope, in, out);
  return lowerAttentionOp(lb, cast<AttentionOp>(op), in, out);
}
