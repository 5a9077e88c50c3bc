//===- Attention.cpp - Lower rope and attention to loops --------*- C++ -*-===//
//
// Rope, and attention with its KV cache: prefill as flash attention over
// blocks of queries and keys (coil.lowering_config, see
// --coil-cpu-select-strategy), decode query by query.
//
//===----------------------------------------------------------------------===//

#include "compiler/Codegen/CPU/LoweringConfig.h"
#include "compiler/Conversion/CoilToLoops/LoopBuilder.h"
#include "compiler/Conversion/CoilToLoops/OpLowerings.h"

#include "dialects/Coil/IR/CoilOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <algorithm>
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

/// Keys per block of the query-by-query online softmax.
constexpr int64_t kKeyBlock = 16;

/// The score of a key a query may not see: its exp is 0 next to any real
/// score, and it is the running max before the first key.
constexpr double kMaskedScore = -3.0e38;

/// positions[bb, t] as an index.
Value positionAt(LoopBuilder &lb, Value pos, Value bb, Value t) {
  return lb.b.create<arith::IndexCastOp>(lb.loc, lb.b.getIndexType(),
                                         lb.load(pos, {bb, t}));
}

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

/// The online softmax of one query per step, for calls with too few
/// queries per sequence to fill a vector (decode): over cache slots
/// j <= position, whole blocks of kKeyBlock keys first (their scores are
/// independent dot products, exponentiated as one vector, with one
/// correction per block), then the remaining keys one at a time. Tiles
/// split the query heads.
void attendQueryByQuery(LoopBuilder &lb, AttentionOp op, Value q, Value kc,
                        Value vc, Value pos, Value o) {
  OpBuilder &b = lb.b;
  Location loc = lb.loc;
  int64_t heads = op.getNumHeads(), kvHeads = op.getNumKvHeads();
  int64_t headDim = op.getHeadDim(), group = heads / kvHeads;
  auto vt = VectorType::get({headDim}, b.getF32Type());
  Value scale = lb.f32(op.getScaleOrDefault());
  Value hLo, hHi;
  std::tie(hLo, hHi) = lb.share(lb.idx(heads));
  lb.loop(lb.idx(0), lb.dim(q, 0), 1, [&](Value bb) {
    lb.loop(lb.idx(0), lb.dim(q, 1), 1, [&](Value t) {
      Value p = positionAt(lb, pos, bb, t);
      lb.loop(hLo, hHi, 1, [&](Value h) {
        Value g = b.create<arith::DivUIOp>(loc, h, lb.idx(group));
        Value qv = lb.vload(vt, q, {bb, t, lb.muli(h, lb.idx(headDim))});
        SmallVector<Value> init{lb.f32(kMaskedScore), lb.f32(0.0),
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
}

/// Flash attention for prefill: a block of Q queries of one head (Q the
/// lanes of one vector; a short last block repeats its last query) against
/// blocks of K cached keys, with the running max, denominator and output
/// rows of the block's queries carried from key block to key block.
///
/// Per key block, the scores are one register tile: K accumulators, each
/// the Q queries' scores for one key, summed over the head dimension from
/// the block's transposed queries (one vector load) and a broadcast key
/// element, so there is no horizontal sum. The softmax is then vertical: a
/// max over the K vectors, one vector exp each. The product with the
/// values is a second register tile (`rows` queries x `columns` head
/// features, broadcast weights times value vectors) that rescales the
/// output rows it loads and stores them once per key block.
///
/// Key blocks whose every key is at or before every query's position run
/// unmasked; the blocks up to the last query's position compare each key
/// with the positions (later keys get a score that exponentiates to 0, and
/// keys past the last position read that position's key and value, which
/// are written); blocks after it are skipped. Tiles split the (sequence,
/// head, query block) units, so each query's arithmetic is the same
/// whatever the number of tiles.
class FlashAttention {
public:
  FlashAttention(LoopBuilder &lb, AttentionOp op, const AttentionConfig &c,
                 Value q, Value kc, Value vc, Value pos, Value o)
      : lb(lb), b(lb.b), loc(lb.loc), c(c), q(q), kc(kc), vc(vc), pos(pos),
        o(o), heads(op.getNumHeads()),
        group(op.getNumHeads() / op.getNumKvHeads()),
        headDim(op.getHeadDim()), scale(op.getScaleOrDefault()),
        qt(VectorType::get({c.queries}, b.getF32Type())) {
    // Pieces of the head dimension: whole vectors, then what is left.
    for (int64_t f = 0; f < headDim; f += c.lanes)
      pieces.push_back({f, std::min(c.lanes, headDim - f)});
  }

  void emit() {
    auto f32 = b.getF32Type();
    // Scratch of one block on this thread's stack: the transposed
    // queries, the output rows, the block's weights and correction.
    queriesT = b.create<memref::AllocaOp>(
        loc, MemRefType::get({headDim, c.queries}, f32));
    outRows = b.create<memref::AllocaOp>(
        loc, MemRefType::get({c.queries, headDim}, f32));
    weightsT = b.create<memref::AllocaOp>(
        loc, MemRefType::get({c.keys, c.queries}, f32));
    perQuery = b.create<memref::AllocaOp>(
        loc, MemRefType::get({2, c.queries}, f32));

    Value batch = lb.dim(q, 0), seq = lb.dim(q, 1);
    Value blocks = lb.ceilDivui(seq, lb.idx(c.queries));
    Value perSequence = lb.muli(lb.idx(heads), blocks);
    auto [lo, hi] = lb.share(lb.muli(batch, perSequence));
    lb.loop(lo, hi, 1, [&](Value unit) {
      Value bb = b.create<arith::DivUIOp>(loc, unit, perSequence);
      Value rest = b.create<arith::RemUIOp>(loc, unit, perSequence);
      Value h = b.create<arith::DivUIOp>(loc, rest, blocks);
      Value t0 = lb.muli(b.create<arith::RemUIOp>(loc, rest, blocks),
                         lb.idx(c.queries));
      queryBlock(bb, h, t0, lb.minui(lb.subi(seq, t0), lb.idx(c.queries)));
    });
  }

private:
  /// Queries t0 .. t0 + count - 1 of head h of sequence bb.
  void queryBlock(Value bb, Value h, Value t0, Value count) {
    Value g = b.create<arith::DivUIOp>(loc, h, lb.idx(group));
    Value col = lb.muli(h, lb.idx(headDim));
    // Lane i holds query min(i, count - 1).
    SmallVector<Value> rows;
    Value last = lb.subi(count, lb.idx(1));
    for (int64_t i = 0; i < c.queries; ++i)
      rows.push_back(lb.addi(t0, lb.minui(lb.idx(i), last)));
    auto it = VectorType::get({c.queries}, b.getI32Type());
    Value positions = lb.splat(it, b.create<arith::ConstantOp>(
                                       loc, b.getI32IntegerAttr(0)));
    Value minPos, maxPos;
    for (int64_t i = 0; i < c.queries; ++i) {
      Value p = positionAt(lb, pos, bb, rows[i]);
      minPos = i ? lb.minui(minPos, p) : p;
      maxPos = i ? b.create<arith::MaxUIOp>(loc, maxPos, p).getResult() : p;
      positions = b.create<vector::InsertElementOp>(
          loc,
          b.create<arith::IndexCastOp>(loc, b.getI32Type(), p), positions,
          lb.idx(i));
    }
    // The block's queries, transposed: row d holds feature d of each.
    lb.loop(lb.idx(0), lb.idx(headDim), 1, [&](Value d) {
      Value v = lb.splat(qt, lb.f32(0.0));
      for (int64_t i = 0; i < c.queries; ++i)
        v = b.create<vector::InsertElementOp>(
            loc, lb.load(q, {bb, rows[i], lb.addi(col, d)}), v, lb.idx(i));
      lb.vstore(v, queriesT, {d, lb.idx(0)});
    });
    for (int64_t i = 0; i < c.queries; ++i)
      for (auto [f, width] : pieces)
        lb.vstore(lb.splat(pieceType(width), lb.f32(0.0)), outRows,
                  {lb.idx(i), lb.idx(f)});

    // Keys [0, clean) precede every query; [clean, maxPos] need the mask.
    Value keysEnd = lb.addi(maxPos, lb.idx(1));
    Value clean = lb.muli(
        b.create<arith::DivUIOp>(loc, lb.addi(minPos, lb.idx(1)),
                                 lb.idx(c.keys)),
        lb.idx(c.keys));
    SmallVector<Value> state{lb.splat(qt, lb.f32(kMaskedScore)),
                             lb.splat(qt, lb.f32(0.0))};
    state = lb.reduce(lb.idx(0), clean, c.keys, state,
                      [&](Value j0, ValueRange s) {
                        return keyBlock(bb, g, j0, s, Value(), Value());
                      });
    state = lb.reduce(clean, keysEnd, c.keys, state,
                      [&](Value j0, ValueRange s) {
                        return keyBlock(bb, g, j0, s, positions, maxPos);
                      });

    // o = out / l for the block's real queries.
    lb.vstore(state[1], perQuery, {lb.idx(1), lb.idx(0)});
    lb.loop(lb.idx(0), count, 1, [&](Value i) {
      Value l = lb.load(perQuery, {lb.idx(1), i});
      for (auto [f, width] : pieces) {
        VectorType pt = pieceType(width);
        Value row = lb.vload(pt, outRows, {i, lb.idx(f)});
        lb.vstore(lb.div(row, lb.splat(pt, l)), o,
                  {bb, lb.addi(t0, i), lb.addi(col, lb.idx(f))});
      }
    });
  }

  /// Keys j0 .. j0 + K - 1 advance the softmax state {max, sum} of the
  /// block's queries and their output rows. With `positions`, key j only
  /// counts for queries at or after it, and keys past `maxPos` read
  /// `maxPos`'s row.
  SmallVector<Value> keyBlock(Value bb, Value g, Value j0, ValueRange state,
                              Value positions, Value maxPos) {
    bool masked = static_cast<bool>(positions);
    SmallVector<Value> keyRows;
    for (int64_t k = 0; k < c.keys; ++k) {
      Value j = lb.addi(j0, lb.idx(k));
      keyRows.push_back(masked ? lb.minui(j, maxPos) : j);
    }
    // Scores: accumulator k holds key k's score for every query.
    SmallVector<Value> scores(c.keys, lb.splat(qt, lb.f32(0.0)));
    scores = lb.reduce(
        lb.idx(0), lb.idx(headDim), 1, scores,
        [&](Value d, ValueRange acc) -> SmallVector<Value> {
          Value qv = lb.vload(qt, queriesT, {d, lb.idx(0)});
          SmallVector<Value> next;
          for (int64_t k = 0; k < c.keys; ++k)
            next.push_back(lb.add(
                acc[k],
                lb.mul(lb.splat(qt, lb.load(kc, {bb, g, keyRows[k], d})), qv)));
          return next;
        });
    Value scaleV = lb.splat(qt, lb.f32(scale));
    auto it = VectorType::get({c.queries}, b.getI32Type());
    for (int64_t k = 0; k < c.keys; ++k) {
      scores[k] = lb.mul(scores[k], scaleV);
      if (!masked)
        continue;
      Value j = b.create<arith::IndexCastOp>(loc, b.getI32Type(),
                                             lb.addi(j0, lb.idx(k)));
      Value sees = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sge,
                                           positions, lb.splat(it, j));
      scores[k] = b.create<arith::SelectOp>(
          loc, sees, scores[k], lb.splat(qt, lb.f32(kMaskedScore)));
    }
    // The online softmax, one lane per query.
    Value blockMax = scores[0];
    for (int64_t k = 1; k < c.keys; ++k)
      blockMax = b.create<arith::MaximumFOp>(loc, blockMax, scores[k]);
    Value mNew = b.create<arith::MaximumFOp>(loc, state[0], blockMax);
    Value corr = lb.fexp(lb.sub(state[0], mNew));
    SmallVector<Value> weights;
    for (int64_t k = 0; k < c.keys; ++k) {
      weights.push_back(lb.fexp(lb.sub(scores[k], mNew)));
      lb.vstore(weights.back(), weightsT, {lb.idx(k), lb.idx(0)});
    }
    Value l = lb.mul(state[1], corr);
    for (Value w : weights)
      l = lb.add(l, w);
    lb.vstore(corr, perQuery, {lb.idx(0), lb.idx(0)});

    // out[i, :] = out[i, :] * corr[i] + sum_k w[k][i] * v[k, :], a register
    // tile of rows x columns at a time.
    for (int64_t r0 = 0; r0 < c.queries; r0 += c.rows)
      for (size_t p0 = 0; p0 < pieces.size();
           p0 += static_cast<size_t>(c.columns / c.lanes)) {
        ArrayRef<std::pair<int64_t, int64_t>> cols = ArrayRef(pieces).slice(
            p0, std::min<size_t>(c.columns / c.lanes, pieces.size() - p0));
        SmallVector<Value> acc;
        for (int64_t i = 0; i < c.rows; ++i) {
          Value ci = lb.load(perQuery, {lb.idx(0), lb.idx(r0 + i)});
          for (auto [f, width] : cols) {
            VectorType pt = pieceType(width);
            acc.push_back(lb.mul(
                lb.vload(pt, outRows, {lb.idx(r0 + i), lb.idx(f)}),
                lb.splat(pt, ci)));
          }
        }
        for (int64_t k = 0; k < c.keys; ++k) {
          SmallVector<Value> values;
          for (auto [f, width] : cols)
            values.push_back(lb.vload(pieceType(width), vc,
                                      {bb, g, keyRows[k], lb.idx(f)}));
          for (int64_t i = 0; i < c.rows; ++i) {
            Value w = lb.load(weightsT, {lb.idx(k), lb.idx(r0 + i)});
            for (size_t v = 0; v < cols.size(); ++v) {
              Value &a = acc[i * cols.size() + v];
              a = lb.add(a, lb.mul(lb.splat(values[v].getType(), w),
                                   values[v]));
            }
          }
        }
        for (int64_t i = 0; i < c.rows; ++i)
          for (auto [v, piece] : llvm::enumerate(cols))
            lb.vstore(acc[i * cols.size() + v], outRows,
                      {lb.idx(r0 + i), lb.idx(piece.first)});
      }
    return {mNew, l};
  }

  VectorType pieceType(int64_t width) {
    return VectorType::get({width}, b.getF32Type());
  }

  LoopBuilder &lb;
  OpBuilder &b;
  Location loc;
  const AttentionConfig &c;
  Value q, kc, vc, pos, o;
  int64_t heads, group, headDim;
  double scale;
  /// One vector of the block's queries.
  VectorType qt;
  /// (first feature, width) of each vector of a head's row.
  SmallVector<std::pair<int64_t, int64_t>> pieces;
  Value queriesT, outRows, weightsT, perQuery;
};

/// Writes k/v at their positions (tiles split the kv heads), then attends:
/// calls with at least half a block of queries per sequence as flash
/// attention (when the strategy chose its blocks), others query by query.
LogicalResult lowerAttentionOp(LoopBuilder &lb, AttentionOp op,
                               ArrayRef<Value> in, ArrayRef<Value> out) {
  OpBuilder &b = lb.b;
  Location loc = lb.loc;
  Value q = in[0], k = in[1], v = in[2], pos = in[5];
  Value o = out[0], kc = out[1], vc = out[2];
  int64_t kvHeads = op.getNumKvHeads(), headDim = op.getHeadDim();
  auto vt = VectorType::get({headDim}, b.getF32Type());
  // The caches are updated in place: out[1], out[2] alias in[3], in[4].
  Value batch = lb.dim(q, 0), seq = lb.dim(q, 1);
  Value gLo, gHi;
  std::tie(gLo, gHi) = lb.share(lb.idx(kvHeads));
  lb.loop(lb.idx(0), batch, 1, [&](Value bb) {
    lb.loop(lb.idx(0), seq, 1, [&](Value t) {
      Value p = positionAt(lb, pos, bb, t);
      lb.loop(gLo, gHi, 1, [&](Value g) {
        Value col = lb.muli(g, lb.idx(headDim));
        lb.vstore(lb.vload(vt, k, {bb, t, col}), kc, {bb, g, p, lb.idx(0)});
        lb.vstore(lb.vload(vt, v, {bb, t, col}), vc, {bb, g, p, lb.idx(0)});
      });
    });
  });
  // Every tile reads every new key and value.
  lb.barrier();
  std::optional<AttentionConfig> config = AttentionConfig::of(op);
  if (!config) {
    attendQueryByQuery(lb, op, q, kc, vc, pos, o);
    return success();
  }
  Value enough = b.create<arith::CmpIOp>(
      loc, arith::CmpIPredicate::uge, seq,
      lb.idx(std::max<int64_t>(2, config->queries / 2)));
  auto ifOp = b.create<scf::IfOp>(loc, enough, /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
    FlashAttention(lb, op, *config, q, kc, vc, pos, o).emit();
    b.setInsertionPoint(ifOp.elseBlock()->getTerminator());
    attendQueryByQuery(lb, op, q, kc, vc, pos, o);
  }
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
