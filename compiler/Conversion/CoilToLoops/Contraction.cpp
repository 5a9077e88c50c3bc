//===- Contraction.cpp - Lower linear layers to loops -----------*- C++ -*-===//
//
// `linear` as the strategy recorded it (coil.lowering_config, see
// --coil-cpu-select-strategy): over packed weight panels, a register-tiled
// broadcast-FMA micro-kernel inside cache blocks of rows, optionally folding
// the rms_norm of its input (the norm's weight is in the panels, each row's
// 1 / rms scales its sums); over unpacked weights, a 4 x 4 inner-product
// tile. Weights stored as bf16, f16 or int8 are widened in registers; int8
// sums are scaled per output feature before the bias.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/CoilToLoops/LoopBuilder.h"
#include "compiler/Conversion/CoilToLoops/OpLowerings.h"

#include "compiler/Codegen/CPU/LoweringConfig.h"
#include "dialects/Coil/IR/CoilOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <algorithm>
#include <tuple>

using namespace mlir;
using namespace mlir::coil;

namespace {

/// The buffer of `operand` among `in` (the buffers of `op`'s operands, in
/// order), or null when the op has no such operand.
Value bufferOf(Operation *op, Value operand, ArrayRef<Value> in) {
  if (!operand)
    return Value();
  for (OpOperand &o : op->getOpOperands())
    if (o.get() == operand)
      return in[o.getOperandNumber()];
  return Value();
}

/// y = x W^T + b over W as stored ([N, K]): a register tile of 4 rows x 4
/// features, over blocks of 64 output features so a block of W stays in
/// cache across all rows.
LogicalResult lowerLinearRows(LoopBuilder &lb, LinearOp op, ArrayRef<Value> in,
                              ArrayRef<Value> out) {
  Value x = lb.rows(in[0]), w = in[1], y = lb.rows(out[0]);
  Value bias = bufferOf(op, op.getBias(), in);
  Value scale = bufferOf(op, op.getScale(), in);
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
        acc.push_back(bias && !scale ? lb.load(bias, lb.addi(cStart, lb.idx(u)))
                                     : lb.f32(0.0));
    acc = lb.reduce(lb.idx(0), lb.idx(k), 1, acc, [&](Value i, ValueRange a) {
      SmallVector<Value> wv, xv, next;
      for (int64_t u = 0; u < tc; ++u)
        wv.push_back(
            lb.widenToF32(lb.load(w, {lb.addi(cStart, lb.idx(u)), i})));
      for (int64_t t = 0; t < tr; ++t)
        xv.push_back(lb.load(x, {lb.addi(r0, lb.idx(t)), i}));
      for (int64_t t = 0; t < tr; ++t)
        for (int64_t u = 0; u < tc; ++u)
          next.push_back(lb.add(a[t * tc + u], lb.mul(xv[t], wv[u])));
      return next;
    });
    for (int64_t t = 0; t < tr; ++t)
      for (int64_t u = 0; u < tc; ++u) {
        Value v = acc[t * tc + u];
        // An int8 weight's sums are scaled per output feature, then biased.
        if (scale) {
          Value col = lb.addi(cStart, lb.idx(u));
          v = lb.mul(v, lb.load(scale, col));
          if (bias)
            v = lb.add(v, lb.load(bias, col));
        }
        lb.store(v, y, {lb.addi(r0, lb.idx(t)), lb.addi(cStart, lb.idx(u))});
      }
  };
  // Tiles split the output features, in whole blocks.
  auto [blockLo, blockHi] = lb.share(lb.idx((n + kColBlock - 1) / kColBlock));
  lb.loop(lb.muli(blockLo, lb.idx(kColBlock)),
          lb.muli(blockHi, lb.idx(kColBlock)), kColBlock, [&](Value c0) {
            Value c1 = lb.minui(lb.addi(c0, lb.idx(kColBlock)), lb.idx(n));
            Value span = lb.subi(c1, c0);
            Value cMain =
                lb.addi(c0, lb.subi(span, lb.b.create<arith::RemUIOp>(
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

/// y = x W^T + b over W packed in panels of nr features ([P, K, nr]).
///
/// Tiles split the panels. For each block of `mc` rows (kept in L2), each
/// panel of this tile's share is swept by register tiles of `mr` rows x
/// `nr` features: per k, nr / lanes weight vectors are loaded once and
/// each feeds `mr` FMAs with a broadcast input element; the accumulators
/// stay in registers over the whole K and are stored once. Rows left over
/// (fewer than mr) take tiles of 8, 4, 2 and 1 rows, which sum in the same
/// order as whole tiles.
class PanelLowering {
public:
  /// `out` is the linear's (or its epilogue's) result, or the pieces of a
  /// split that ends the epilogue, each a whole number of panels;
  /// `partialSums` is the linear's own result buffer, which holds the sums
  /// between K blocks.
  /// With `normEpsilon`, `in[0]` is the input of an rms_norm whose weight
  /// the panels hold.
  /// `bias` and `scale` are the buffers of the linear's bias and (int8
  /// weights) per-feature scale, or null; `groupScale` those of an int4
  /// weight's scales, in panels ([P, K / 32, nr]), whose `w` holds two
  /// features per byte.
  PanelLowering(LoopBuilder &lb, const ContractionConfig &config,
                ArrayRef<Value> in, ArrayRef<Value> out, Value partialSums,
                int64_t n, Value bias, Value scale, Value groupScale,
                ArrayRef<EpilogueStep> epilogue,
                std::optional<double> normEpsilon)
      : lb(lb), c(config), x(lb.rows(in[0])), w(in[1]), bias(bias),
        scale(scale), groupScale(groupScale), partial(lb.rows(partialSums)),
        n(n), k(lb.staticDim(w, 1)),
        vt(VectorType::get({config.lanes}, lb.b.getF32Type())),
        epilogue(epilogue), normEpsilon(normEpsilon) {
    for (const EpilogueStep &step : epilogue)
      if (!isa<SplitOp>(step.op))
        others.push_back(step.other ? lb.rows(step.other) : Value());
    int64_t first = 0;
    for (Value piece : out) {
      Value rows = lb.rows(piece);
      int64_t width = lb.staticDim(rows, 1);
      pieces.push_back({rows, first});
      first += width;
    }
  }

  void emit() {
    int64_t panels = lb.staticDim(w, 0);
    int64_t fullPanels = n / c.nr;
    Value pLo, pHi;
    std::tie(pLo, pHi) = lb.share(lb.idx(panels));
    Value m = lb.dim(x, 0);
    if (normEpsilon)
      rowScale = lb.b.create<memref::AllocaOp>(
          lb.loc, MemRefType::get({c.mc}, lb.b.getF32Type()));
    // ceil(m / mc) blocks of equal size (in whole register tiles, at most
    // mc rows): every block streams all of this tile's panels, so a last
    // block of a few rows would pay that for little work.
    Value blocks = lb.maxui(lb.ceilDivui(m, lb.idx(c.mc)), lb.idx(1));
    Value perBlock = lb.muli(
        lb.ceilDivui(lb.ceilDivui(m, blocks), lb.idx(c.mr)), lb.idx(c.mr));
    // At least one tile, so a call of no rows still has a positive step.
    Value step = lb.maxui(perBlock, lb.idx(c.mr));
    lb.loop(lb.idx(0), m, step, [&](Value m0) {
      Value mEnd = lb.minui(lb.addi(m0, step), m);
      blockStart = m0;
      if (normEpsilon)
        scaleRows(m0, mEnd);
      // The whole panels of each piece this tile owns.
      for (size_t i = 0; i < pieces.size(); ++i) {
        int64_t begin = pieces[i].first / c.nr;
        int64_t end =
            i + 1 < pieces.size() ? pieces[i + 1].first / c.nr : fullPanels;
        // In groups of panelGroup() panels (the small row tiles sweep a
        // whole group together); the last group may be short.
        Value lo = lb.maxui(pLo, lb.idx(begin));
        Value hi = lb.maxui(lb.minui(pHi, lb.idx(end)), lo);
        int64_t group = panelGroup();
        lb.loop(lo, hi, group, [&](Value p) {
          Value count = lb.minui(lb.subi(hi, p), lb.idx(group));
          panel(p, count, group, m0, mEnd, c.nr, pieces[i]);
        });
      }
      if (fullPanels == panels)
        return;
      // The last panel is partial; its owner computes it.
      Value last = lb.idx(panels - 1);
      Value owns = lb.b.create<arith::AndIOp>(
          lb.loc,
          lb.b.create<arith::CmpIOp>(lb.loc, arith::CmpIPredicate::ule, pLo,
                                     last),
          lb.b.create<arith::CmpIOp>(lb.loc, arith::CmpIPredicate::ugt, pHi,
                                     last));
      auto ifOp = lb.b.create<scf::IfOp>(lb.loc, owns, /*withElse=*/false);
      OpBuilder::InsertionGuard guard(lb.b);
      lb.b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
      panel(last, lb.idx(1), 1, m0, mEnd, n - fullPanels * c.nr, pieces.back());
    });
  }

private:
  /// rowScale[r - m0] = 1 / rms(x[r]) for the rows [m0, mEnd) of a block,
  /// as the rms_norm computes it: 1 / sqrt(mean(x^2) + epsilon). Every tile
  /// computes the whole block, in the same order, so the scale of a row
  /// does not depend on the thread count or on the other rows.
  void scaleRows(Value m0, Value mEnd) {
    int64_t whole = k / c.lanes * c.lanes;
    lb.loop(m0, mEnd, 1, [&](Value r) {
      Value sq = lb.reduce(lb.idx(0), lb.idx(whole), c.lanes,
                           {lb.splat(vt, lb.f32(0.0))},
                           [&](Value i, ValueRange a) -> SmallVector<Value> {
                             Value v = lb.vload(vt, x, {r, i});
                             return {lb.add(a[0], lb.mul(v, v))};
                           })[0];
      Value sum = lb.reduce(lb.idx(whole), lb.idx(k), 1, {lb.hsum(sq)},
                            [&](Value i, ValueRange a) -> SmallVector<Value> {
                              Value v = lb.load(x, {r, i});
                              return {lb.add(a[0], lb.mul(v, v))};
                            })[0];
      lb.store(inverseRms(lb, sum, k, *normEpsilon), rowScale,
               {lb.subi(r, m0)});
    });
  }

  /// An output buffer (as rows) holding the linear's columns from `first`.
  struct Piece {
    Value rows;
    int64_t first;
  };

  /// Which part of K a sweep of the row tiles covers, and where its sums
  /// start and go: the first block starts from zero, the others from the
  /// partial sums the previous block stored; only the last block applies
  /// the bias and the epilogue and stores into the outputs.
  struct KBlock {
    Value start;
    int64_t length;
    bool fromPartial, last;
  };

  /// Independent FMA chains a register tile should run to hide the FMA
  /// latency (two FMA ports of four cycles each).
  static constexpr int64_t kChains = 8;

  /// Panels swept together by the tiles of few rows: a tile of one row over
  /// one panel runs only nr / lanes chains, so over a group of panels it
  /// runs kChains (the sums of each output are the same, in the same order).
  int64_t panelGroup() const {
    return std::max<int64_t>(1, kChains / (c.nr / c.lanes));
  }

  /// Rows [m0, mEnd) of panels p0 .. p0 + count - 1 (count <= panels),
  /// whose first `valid` features exist (all of them unless it is one,
  /// partial, panel), stored into `piece`. Tiles of mr rows take one panel
  /// at a time; the tiles of the rows left over take as many panels of a
  /// whole group of `panels` as keep kChains chains in registers, and one
  /// at a time in a short group. With K blocking, the rows are swept once
  /// per block of kc, so the block's kc x nr weights stay in L1 for every
  /// tile.
  void panel(Value p0, Value count, int64_t panels, Value m0, Value mEnd,
             int64_t valid, const Piece &piece) {
    auto sweep = [&](const KBlock &kb) {
      Value span = lb.subi(mEnd, m0);
      Value cur = lb.addi(m0, lb.subi(span, lb.b.create<arith::RemUIOp>(
                                                lb.loc, span, lb.idx(c.mr))));
      // The first full tile of the sweep, and the few tiles of leftover
      // rows, also prefetch the weights the next sweep reads; the other
      // full tiles find them in cache already.
      Value firstEnd = lb.minui(lb.addi(m0, lb.idx(c.mr)), cur);
      lb.loop(lb.idx(0), count, 1, [&](Value g) {
        Value p = lb.addi(p0, g);
        lb.loop(m0, firstEnd, c.mr, [&](Value r) {
          tile(r, c.mr, p, 1, valid, piece, kb, /*prefetch=*/true);
        });
        lb.loop(firstEnd, cur, c.mr,
                [&](Value r) { tile(r, c.mr, p, 1, valid, piece, kb); });
      });
      for (int64_t rowsInTile : {8, 4, 2, 1}) {
        if (rowsInTile >= c.mr)
          continue;
        Value left = lb.subi(mEnd, cur);
        Value next =
            lb.addi(cur, lb.subi(left, lb.b.create<arith::RemUIOp>(
                                           lb.loc, left, lb.idx(rowsInTile))));
        int64_t together = std::clamp<int64_t>(
            kChains / (rowsInTile * (c.nr / c.lanes)), 1, panels);
        lb.loop(cur, next, rowsInTile, [&](Value r) {
          auto oneByOne = [&] {
            lb.loop(lb.idx(0), count, 1, [&](Value g) {
              tile(r, rowsInTile, lb.addi(p0, g), 1, valid, piece, kb,
                   /*prefetch=*/true);
            });
          };
          if (together == 1) {
            oneByOne();
            return;
          }
          Value whole = lb.b.create<arith::CmpIOp>(
              lb.loc, arith::CmpIPredicate::eq, count, lb.idx(panels));
          auto ifOp = lb.b.create<scf::IfOp>(lb.loc, whole, /*withElse=*/true);
          OpBuilder::InsertionGuard guard(lb.b);
          lb.b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
          for (int64_t g = 0; g < panels; g += together)
            tile(r, rowsInTile, lb.addi(p0, lb.idx(g)),
                 std::min(together, panels - g), valid, piece, kb,
                 /*prefetch=*/true);
          lb.b.setInsertionPoint(ifOp.elseBlock()->getTerminator());
          oneByOne();
        });
        cur = next;
      }
    };
    int64_t kc = c.kc > 0 && c.kc < k ? c.kc : k;
    if (kc == k) {
      sweep({lb.idx(0), k, false, true});
      return;
    }
    int64_t blocks = (k + kc - 1) / kc;
    int64_t lastStart = (blocks - 1) * kc;
    sweep({lb.idx(0), kc, false, false});
    if (blocks > 2)
      lb.loop(lb.idx(kc), lb.idx(lastStart), kc, [&](Value k0) {
        sweep({k0, kc, true, false});
      });
    sweep({lb.idx(lastStart), k - lastStart, true, true});
  }

  /// One register tile: rows r0 .. r0 + tr - 1 of panels p0 .. p0 +
  /// panels - 1 over K block kb; with `prefetch`, it also asks for the
  /// weights of the next block.
  void tile(Value r0, int64_t tr, Value p0, int64_t panels, int64_t valid,
            const Piece &piece, const KBlock &kb, bool prefetch = false) {
    int64_t nv = (valid + c.lanes - 1) / c.lanes;
    // acc[at(g, t, v)]: panel g, row t, vector v.
    int64_t per = panels * tr * nv;
    auto at = [&](int64_t g, int64_t t, int64_t v) {
      return (g * tr + t) * nv + v;
    };
    SmallVector<Value> rowIdx;
    for (int64_t t = 0; t < tr; ++t)
      rowIdx.push_back(lb.addi(r0, lb.idx(t)));
    SmallVector<Value> panelIdx;
    for (int64_t g = 0; g < panels; ++g)
      panelIdx.push_back(g ? lb.addi(p0, lb.idx(g)) : p0);
    // Vector v of panel g: its column and, when the panel is partial, the
    // mask of the lanes that exist.
    auto columnOf = [&](int64_t g, int64_t v) {
      return lb.addi(lb.muli(panelIdx[g], lb.idx(c.nr)), lb.idx(v * c.lanes));
    };
    auto maskOf = [&](int64_t v) -> Value {
      int64_t lanes = std::min(c.lanes, valid - v * c.lanes);
      if (lanes == c.lanes)
        return Value();
      return lb.b.create<vector::CreateMaskOp>(
          lb.loc, VectorType::get({c.lanes}, lb.b.getI1Type()),
          ValueRange{lb.idx(lanes)});
    };
    auto loadAt = [&](Value buffer, Value row, int64_t g, int64_t v) -> Value {
      Value mask = maskOf(v);
      if (mask)
        return lb.b.create<vector::MaskedLoadOp>(
            lb.loc, vt, buffer, ValueRange{row, columnOf(g, v)}, mask,
            lb.splat(vt, lb.f32(0.0)));
      return lb.vload(vt, buffer, {row, columnOf(g, v)});
    };
    SmallVector<Value> init(per, lb.splat(vt, lb.f32(0.0)));
    if (kb.fromPartial)
      for (int64_t g = 0; g < panels; ++g)
        for (int64_t t = 0; t < tr; ++t)
          for (int64_t v = 0; v < nv; ++v)
            init[at(g, t, v)] = loadAt(partial, rowIdx[t], g, v);
    // acc[at(g, t, v)] += x[r0 + t, kk] * w[p0 + g, kk, v * lanes...].
    // The weights `kPrefetch` steps ahead (the next K block, or the rest
    // of the panel), one cache line per vector, clamped into the panel.
    int64_t kPrefetch = c.kc > 0 && c.kc < k ? c.kc : 64;
    int64_t weightBytes =
        cast<MemRefType>(w.getType()).getElementTypeBitWidth() / 8;
    int64_t vectorsPerLine = std::max<int64_t>(1, 64 / (weightBytes * c.lanes));
    auto step = [&](Value kk, SmallVector<Value> &acc) {
      SmallVector<Value> wv;
      for (int64_t g = 0; g < panels; ++g)
        for (int64_t v = 0; v < nv; ++v)
          wv.push_back(
              groupScale ? int4Weights(panelIdx[g], kk, v)
                         : lb.vloadF32(c.lanes, w,
                                       {panelIdx[g], kk, lb.idx(v * c.lanes)}));
      if (prefetch) {
        Value ahead = lb.minui(lb.addi(kk, lb.idx(kPrefetch)), lb.idx(k - 1));
        for (int64_t g = 0; g < panels; ++g)
          for (int64_t v = 0; v < nv; v += vectorsPerLine)
            lb.b.create<memref::PrefetchOp>(
                lb.loc, w, ValueRange{panelIdx[g], ahead, lb.idx(v * c.lanes)},
                /*isWrite=*/false, /*localityHint=*/3, /*isDataCache=*/true);
      }
      for (int64_t t = 0; t < tr; ++t) {
        Value xb = lb.splat(vt, lb.load(x, {rowIdx[t], kk}));
        for (int64_t g = 0; g < panels; ++g)
          for (int64_t v = 0; v < nv; ++v) {
            Value &a = acc[at(g, t, v)];
            a = lb.add(a, lb.mul(xb, wv[g * nv + v]));
          }
      }
    };
    // Every output is one chain of FMAs over k in order, whatever the
    // tile: a row's sums do not depend on how many rows the call has, on
    // where its tile starts or on how many panels it sweeps (batch
    // invariance), so a sequence's logits are the same alone, in a batch,
    // prefilled in one call or in chunks. Tiles of few rows hide the FMA
    // latency by sweeping several panels (kChains chains in all), which
    // matters in decode, where a row's weights are read once: bf16, int8
    // and int4 weights are so few bytes per FMA that one row's chains, not
    // the memory, would bound it.
    Value kEnd = lb.addi(kb.start, lb.idx(kb.length));
    auto steps = [&](Value from, Value to, ValueRange start) {
      return lb.reduce(from, to, 1, start,
                       [&](Value kk, ValueRange a) -> SmallVector<Value> {
                         SmallVector<Value> next(a.begin(), a.end());
                         step(kk, next);
                         return next;
                       });
    };
    SmallVector<Value> acc;
    if (!groupScale) {
      acc = steps(kb.start, kEnd, init);
    } else {
      // Int4: a group of 32 inputs sums x times its integer weights, then
      // adds that sum times the group's scales: one multiply per group
      // and vector instead of one per weight vector and step (K blocks
      // are whole groups).
      SmallVector<Value> zero(per, lb.splat(vt, lb.f32(0.0)));
      acc = lb.reduce(
          kb.start, kEnd, kInt4Group, init,
          [&](Value g0, ValueRange a) -> SmallVector<Value> {
            SmallVector<Value> sums =
                steps(g0, lb.addi(g0, lb.idx(kInt4Group)), zero);
            Value group =
                lb.b.create<arith::DivUIOp>(lb.loc, g0, lb.idx(kInt4Group));
            SmallVector<Value> next(a.begin(), a.end());
            for (int64_t g = 0; g < panels; ++g)
              for (int64_t v = 0; v < nv; ++v) {
                Value scales = lb.vload(
                    vt, groupScale, {panelIdx[g], group, lb.idx(v * c.lanes)});
                for (int64_t t = 0; t < tr; ++t)
                  next[at(g, t, v)] = lb.add(next[at(g, t, v)],
                                             lb.mul(sums[at(g, t, v)], scales));
              }
            return next;
          });
    }

    if (!kb.last) {
      // Partial sums, for the next block.
      for (int64_t g = 0; g < panels; ++g)
        for (int64_t v = 0; v < nv; ++v) {
          Value mask = maskOf(v);
          for (int64_t t = 0; t < tr; ++t) {
            SmallVector<Value, 2> where{rowIdx[t], columnOf(g, v)};
            if (mask)
              lb.b.create<vector::MaskedStoreOp>(lb.loc, partial, where, mask,
                                                 acc[at(g, t, v)]);
            else
              lb.vstore(acc[at(g, t, v)], partial, where);
          }
        }
      return;
    }
    for (int64_t g = 0; g < panels; ++g)
      for (int64_t v = 0; v < nv; ++v) {
        Value col = columnOf(g, v);
        Value outCol = lb.subi(col, lb.idx(piece.first));
        Value mask = maskOf(v);
        auto perFeature = [&](Value buffer) -> Value {
          if (!buffer)
            return Value();
          return mask ? lb.b.create<vector::MaskedLoadOp>(
                            lb.loc, vt, buffer, ValueRange{col}, mask,
                            lb.splat(vt, lb.f32(0.0)))
                      : lb.vload(vt, buffer, {col});
        };
        Value b = perFeature(bias), s = perFeature(scale);
        for (int64_t t = 0; t < tr; ++t) {
          Value r = acc[at(g, t, v)];
          if (rowScale)
            r = lb.mul(r,
                       lb.splat(vt, lb.load(rowScale,
                                            {lb.subi(rowIdx[t], blockStart)})));
          if (s)
            r = lb.mul(r, s);
          if (b)
            r = lb.add(r, b);
          // The epilogue, on the registers: each op's other operand is
          // read at the same position.
          for (auto [step, other] : llvm::zip(elementwise(), others)) {
            SmallVector<Value> operands(step.op->getNumOperands(), r);
            if (other)
              operands[1 - step.chained] =
                  mask ? lb.b.create<vector::MaskedLoadOp>(
                             lb.loc, vt, other, ValueRange{rowIdx[t], col},
                             mask, lb.splat(vt, lb.f32(0.0)))
                       : lb.vload(vt, other, {rowIdx[t], col});
            r = applyElementwise(lb, step.op, operands);
          }
          if (mask)
            lb.b.create<vector::MaskedStoreOp>(
                lb.loc, piece.rows, ValueRange{rowIdx[t], outCol}, mask, r);
          else
            lb.vstore(r, piece.rows, {rowIdx[t], outCol});
        }
      }
  }

  /// Vector v of the int4 panel p at input kk as f32 integers (-8 .. 7,
  /// not yet scaled): features [0, nr / 2) are the low nibbles of the
  /// k step's nr / 2 bytes, the others their high nibbles (see the
  /// runtime's packing). With 16 lanes (AVX-512) a nibble indexes a table
  /// of the 16 values (vpermps reads only an index's low 4 bits, so the
  /// high nibble needs one shift and the low one none); otherwise it is
  /// sign-extended by shifts and converted.
  Value int4Weights(Value p, Value kk, int64_t v) {
    int64_t half = c.nr / 2, first = v * c.lanes;
    bool high = first >= half;
    auto bytesType = VectorType::get({c.lanes}, lb.b.getI8Type());
    auto wideType = VectorType::get({c.lanes}, lb.b.getI32Type());
    Value bytes =
        lb.vload(bytesType, w, {p, kk, lb.idx(high ? first - half : first)});
    Value wide = lb.b.create<arith::ExtSIOp>(lb.loc, wideType, bytes);
    auto shift = [&](int64_t bits) {
      return lb.splat(wideType, lb.b.create<arith::ConstantOp>(
                                    lb.loc, lb.b.getI32IntegerAttr(bits)));
    };
    if (c.isa == "avx512" && c.lanes == 16) {
      // table[u] = the two's-complement value of nibble u.
      SmallVector<float> values;
      for (int u = 0; u < 16; ++u)
        values.push_back(static_cast<float>(u < 8 ? u : u - 16));
      Value table = lb.b.create<arith::ConstantOp>(
          lb.loc, DenseElementsAttr::get(vt, ArrayRef<float>(values)));
      Value index =
          high ? lb.b.create<arith::ShRUIOp>(lb.loc, wide, shift(4)) : wide;
      return lb.b
          .create<LLVM::CallIntrinsicOp>(
              lb.loc, TypeRange{vt},
              lb.b.getStringAttr("llvm.x86.avx512.permvar.sf.512"),
              ValueRange{table, index}, LLVM::FastmathFlagsAttr())
          .getResult(0);
    }
    if (!high)
      wide = lb.b.create<arith::ShLIOp>(lb.loc, wide, shift(28));
    Value nibble =
        lb.b.create<arith::ShRSIOp>(lb.loc, wide, shift(high ? 4 : 28));
    return lb.b.create<arith::SIToFPOp>(lb.loc, vt, nibble);
  }

  /// The element-wise steps of the epilogue (all but a final split).
  ArrayRef<EpilogueStep> elementwise() const {
    if (!epilogue.empty() && isa<SplitOp>(epilogue.back().op))
      return epilogue.drop_back();
    return epilogue;
  }

  LoopBuilder &lb;
  const ContractionConfig &c;
  Value x, w, bias, scale, groupScale, partial;
  static constexpr int64_t kInt4Group = 32;
  int64_t n, k;
  VectorType vt;
  ArrayRef<EpilogueStep> epilogue;
  std::optional<double> normEpsilon;
  /// With a folded norm: each row's 1 / rms within the current block of
  /// rows, which starts at `blockStart`.
  Value rowScale, blockStart;
  /// The other operand of each element-wise step as rows, or null.
  SmallVector<Value> others;
  /// Where the columns go: one piece, or a split's pieces in order.
  SmallVector<Piece> pieces;
};

} // namespace

LogicalResult mlir::coil::lowerContraction(LoopBuilder &lb, Operation *op,
                                           ArrayRef<Value> in,
                                           ArrayRef<Value> out,
                                           ArrayRef<EpilogueStep> epilogue,
                                           Value result,
                                           std::optional<double> normEpsilon) {
  auto linear = cast<LinearOp>(op);
  if (lb.rank(in[0]) < 2)
    return linear.emitOpError("cannot be lowered to loops: rank-1 input");
  std::optional<ContractionConfig> config = ContractionConfig::of(op);
  bool packedWeight = lb.rank(in[1]) == 3;
  bool int4 = cast<RankedTensorType>(linear.getWeight().getType())
                  .getElementType()
                  .isInteger(4);
  if (!packedWeight) {
    if (!epilogue.empty() || normEpsilon)
      return linear.emitOpError("cannot be lowered to loops: an epilogue "
                                "or a folded norm needs packed weights");
    if (int4)
      return linear.emitOpError("cannot be lowered to loops: an int4 "
                                "weight must be packed in panels");
    return lowerLinearRows(lb, linear, in, out);
  }
  if (int4 && (!config || config->nr % (2 * config->lanes) != 0 ||
               (config->kc > 0 && config->kc % 32 != 0) ||
               lb.rank(bufferOf(op, linear.getScale(), in)) != 3))
    return linear.emitOpError(
        "cannot be lowered to loops: an int4 weight needs panels of whole "
        "vector pairs, K blocks of whole groups of 32 and its scales in "
        "panels too");
  if (!config || !config->packed ||
      lb.staticDim(in[1], 2) != (int4 ? config->nr / 2 : config->nr))
    return linear.emitOpError(
        "cannot be lowered to loops: its weight is packed but its "
        "coil.lowering_config does not describe those panels");
  int64_t n =
      cast<RankedTensorType>(linear.getResult().getType()).getShape().back();
  if (!epilogue.empty())
    if (auto split = dyn_cast<SplitOp>(epilogue.back().op))
      for (int64_t size : split.getSizes())
        if (size % config->nr != 0)
          return linear.emitOpError("cannot be lowered to loops: a split "
                                    "piece of ")
                 << size << " columns is not whole panels of " << config->nr;
  Value scale = bufferOf(op, linear.getScale(), in);
  PanelLowering(lb, *config, in, out, result ? result : out[0], n,
                bufferOf(op, linear.getBias(), in), int4 ? Value() : scale,
                int4 ? scale : Value(), epilogue, normEpsilon)
      .emit();
  return success();
}
