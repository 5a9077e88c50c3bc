//===- Scan.cpp - Lower the selective scan to loops -------------*- C++ -*-===//
//
// The scan walks time in order, so its parallelism is across channels (and
// sequences). Channels are taken `W` at a time (the `channels` of the scan's
// lowering config, one vector register of f32): each of the N state indices
// keeps the states of those W channels in one vector, carried in registers
// from step to step, and every per-channel quantity (dt, softplus, u, the D
// skip, the silu gate) is a vector too. A step is then N vector exps and
// 3N FMAs with no horizontal sum. Time goes in chunks (the config's
// `steps`) so the exps of a chunk run ahead of its recurrence (scanBlocks);
// a call of one step (decode) works on the state's rows instead
// (scanStepRows).
// Channels left over when Din is not a multiple of W run one at a time with
// the state vector along N. A scan with `states` also stores the state
// after every step there, as the state itself is stored.
//
//===----------------------------------------------------------------------===//

#include "compiler/Codegen/CPU/LoweringConfig.h"
#include "compiler/Conversion/CoilToLoops/LoopBuilder.h"
#include "compiler/Conversion/CoilToLoops/OpLowerings.h"

#include "dialects/Coil/IR/CoilOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <tuple>

using namespace mlir;
using namespace mlir::coil;

namespace {

/// The W values m[prefix..., d + j, n], j in [0, W), as one vector: a read
/// across the channel dimension, which is not the contiguous one.
Value loadAcross(LoopBuilder &lb, VectorType vt, Value m,
                 ArrayRef<Value> prefix, Value d, Value n) {
  Value v = lb.splat(vt, lb.f32(0.0));
  for (int64_t j = 0; j < vt.getNumElements(); ++j) {
    SmallVector<Value> indices(prefix.begin(), prefix.end());
    indices.push_back(lb.addi(d, lb.idx(j)));
    indices.push_back(n);
    v = lb.b.create<vector::InsertElementOp>(lb.loc, lb.load(m, indices), v,
                                             lb.idx(j));
  }
  return v;
}

/// Stores vector `v` to m[prefix..., d + j, n], j in [0, W).
void storeAcross(LoopBuilder &lb, Value v, Value m, ArrayRef<Value> prefix,
                 Value d, Value n) {
  auto vt = cast<VectorType>(v.getType());
  for (int64_t j = 0; j < vt.getNumElements(); ++j) {
    SmallVector<Value> indices(prefix.begin(), prefix.end());
    indices.push_back(lb.addi(d, lb.idx(j)));
    indices.push_back(n);
    lb.store(lb.b.create<vector::ExtractElementOp>(lb.loc, v, lb.idx(j)), m,
             indices);
  }
}

/// `rows` (W vectors of W lanes, W a power of two) transposed: vector j of
/// the result holds lane j of every row. log2 W stages of two shuffles per
/// pair of vectors.
SmallVector<Value> transposeSquare(LoopBuilder &lb, ArrayRef<Value> rows) {
  int64_t width = static_cast<int64_t>(rows.size());
  SmallVector<Value> v(rows.begin(), rows.end());
  for (int64_t c = width / 2; c >= 1; c /= 2) {
    SmallVector<int64_t> firsts, seconds;
    for (int64_t group = 0; group < width; group += 2 * c) {
      for (int64_t lane = 0; lane < c; ++lane)
        firsts.push_back(group + lane);
      for (int64_t lane = 0; lane < c; ++lane)
        firsts.push_back(width + group + lane);
      for (int64_t lane = 0; lane < c; ++lane)
        seconds.push_back(group + c + lane);
      for (int64_t lane = 0; lane < c; ++lane)
        seconds.push_back(width + group + c + lane);
    }
    SmallVector<Value> next(v);
    for (int64_t i = 0; i < width; ++i) {
      if (i & c)
        continue;
      next[i] = lb.b.create<vector::ShuffleOp>(lb.loc, v[i], v[i + c], firsts);
      next[i + c] =
          lb.b.create<vector::ShuffleOp>(lb.loc, v[i], v[i + c], seconds);
    }
    v = std::move(next);
  }
  return v;
}

/// The N vectors m[prefix..., d + j, k], j in [0, W), for k in [0, N): the
/// W x N tile of rows d.. read as columns. Whole W x W squares are loaded
/// as rows and transposed in registers; without them (N not a multiple of
/// W, or W not a power of two), element by element.
SmallVector<Value> loadColumns(LoopBuilder &lb, VectorType vt, Value m,
                               ArrayRef<Value> prefix, Value d, int64_t n) {
  int64_t width = vt.getNumElements();
  SmallVector<Value> columns;
  if (n % width != 0 || !llvm::isPowerOf2_64(width)) {
    for (int64_t k = 0; k < n; ++k)
      columns.push_back(loadAcross(lb, vt, m, prefix, d, lb.idx(k)));
    return columns;
  }
  for (int64_t k0 = 0; k0 < n; k0 += width) {
    SmallVector<Value> rows;
    for (int64_t j = 0; j < width; ++j) {
      SmallVector<Value> indices(prefix.begin(), prefix.end());
      indices.push_back(lb.addi(d, lb.idx(j)));
      indices.push_back(lb.idx(k0));
      rows.push_back(lb.vload(vt, m, indices));
    }
    llvm::append_range(columns, transposeSquare(lb, rows));
  }
  return columns;
}

/// Stores the N vectors `columns` as loadColumns reads them.
void storeColumns(LoopBuilder &lb, ArrayRef<Value> columns, Value m,
                  ArrayRef<Value> prefix, Value d) {
  auto vt = cast<VectorType>(columns.front().getType());
  int64_t width = vt.getNumElements(), n = columns.size();
  if (n % width != 0 || !llvm::isPowerOf2_64(width)) {
    for (int64_t k = 0; k < n; ++k)
      storeAcross(lb, columns[k], m, prefix, d, lb.idx(k));
    return;
  }
  for (int64_t k0 = 0; k0 < n; k0 += width) {
    SmallVector<Value> rows = transposeSquare(lb, columns.slice(k0, width));
    for (int64_t j = 0; j < width; ++j) {
      SmallVector<Value> indices(prefix.begin(), prefix.end());
      indices.push_back(lb.addi(d, lb.idx(j)));
      indices.push_back(lb.idx(k0));
      lb.vstore(rows[j], m, indices);
    }
  }
}

/// The operands of one scan, as memrefs (`states` null when the scan does
/// not keep the state of every step).
struct ScanOperands {
  Value u, delta, a, bm, cm, dv, z, h0, y, hOut, states;
  bool softplus;
  /// Whether every dt * A is <= 0 (or NaN): dt is a softplus and A is
  /// -exp(A_log), computed in the same kernel.
  bool decaysAtMostOne;
  int64_t n;
};

/// Stack scratch of one block's chunk of time steps (see scanBlocks).
struct ChunkScratch {
  /// [steps, N, W]: exp(dt * A) of every step and state index.
  Value decay;
  /// [3, steps, W]: dt * u, silu(z) when the scan is gated, and dt.
  Value perStep;
  /// [N, W]: the block's columns of A.
  Value aColumns;
};

/// Loads step `t`'s dt (softplus applied when the scan asks for it) and u
/// for channels d.., stores dt and dt * u as step `i` of the scratch rows
/// 2 and 0, and returns u.
Value storeStepInputs(LoopBuilder &lb, const ScanOperands &s, VectorType vt,
                      const ChunkScratch &scratch, Value bb, Value t, Value d,
                      Value i) {
  Value dt = lb.vload(vt, s.delta, {bb, t, d});
  if (s.softplus)
    dt = lb.softplus(dt);
  Value uu = lb.vload(vt, s.u, {bb, t, d});
  lb.vstore(dt, scratch.perStep, {lb.idx(2), i, lb.idx(0)});
  lb.vstore(lb.mul(dt, uu), scratch.perStep, {lb.idx(0), i, lb.idx(0)});
  return uu;
}

/// Asks for the lines of step `t` the block of channels d.. reads (u, dt,
/// z) and writes (y). A block walks down time, one line per row of each
/// tensor (rows Din floats apart, a new page every step or two), which the
/// hardware prefetchers do not follow; two chunks ahead the lines arrive
/// before the chunk's first pass reads them.
void prefetchStep(LoopBuilder &lb, const ScanOperands &s, Value bb, Value t,
                  Value d) {
  for (Value m : {s.u, s.delta, s.z, s.y})
    if (m)
      lb.b.create<memref::PrefetchOp>(lb.loc, m, ValueRange{bb, t, d},
                                      /*isWrite=*/m == s.y,
                                      /*localityHint=*/3,
                                      /*isDataCache=*/true);
}

/// Channels [lo, hi) of every sequence, W at a time (hi - lo a multiple of
/// W): the state of index k of the block is vector k, across channels.
/// Time goes in chunks of `steps` steps, each in three passes: the first two
/// compute what does not depend on the state for the whole chunk into stack
/// scratch (softplus, dt * u and the gate; then the N decays
/// exp(dt * A[:, k]) of each step), all independent work; the third runs
/// the recurrence, whose only carried dependency is one FMA per state
/// vector and step, reading the decays back from L1. Done step by step in
/// one pass, the softplus and the exps sit on every step's critical path
/// and the out-of-order window, smaller than one step, cannot overlap
/// them. A's columns are transposed into scratch once per block, for every
/// sequence (kept in registers instead, they were spilled). The first pass
/// also prefetches the rows of two chunks later (prefetchStep).
void scanBlocks(LoopBuilder &lb, const ScanOperands &s, Value lo, Value hi,
                int64_t width, int64_t steps, const ChunkScratch &scratch) {
  auto vt = VectorType::get({width}, lb.b.getF32Type());
  Value seq = lb.dim(s.u, 1);
  Value zero = lb.idx(0), one = lb.idx(1), two = lb.idx(2);
  lb.loop(lo, hi, width, [&](Value d) {
    // A's columns, transposed once per block for every sequence.
    for (auto [k, column] :
         llvm::enumerate(loadColumns(lb, vt, s.a, {}, d, s.n)))
      lb.vstore(column, scratch.aColumns,
                {lb.idx(static_cast<int64_t>(k)), zero});
    lb.loop(zero, lb.dim(s.u, 0), 1, [&](Value bb) {
      Value skip = lb.vload(vt, s.dv, {d});
      SmallVector<Value> hInit = loadColumns(lb, vt, s.h0, {bb}, d, s.n);
      SmallVector<Value> hFinal = lb.reduce(
          zero, seq, steps, hInit,
          [&](Value t0, ValueRange hChunk) -> SmallVector<Value> {
            Value count = lb.minui(lb.subi(seq, t0), lb.idx(steps));
            lb.loop(zero, count, 1, [&](Value i) {
              Value t = lb.addi(t0, i);
              prefetchStep(lb, s, bb, lb.minui(lb.addi(t, lb.idx(2 * steps)),
                                               lb.subi(seq, lb.idx(1))),
                           d);
              storeStepInputs(lb, s, vt, scratch, bb, t, d, i);
              if (s.z)
                lb.vstore(lb.silu(lb.vload(vt, s.z, {bb, t, d})),
                          scratch.perStep, {one, i, zero});
            });
            // The decays in a loop of their own: one step's N exps are
            // independent of each other and of the softplus chain above.
            lb.loop(zero, count, 1, [&](Value i) {
              Value dt = lb.vload(vt, scratch.perStep, {two, i, zero});
              for (int64_t k = 0; k < s.n; ++k) {
                Value ak = lb.vload(vt, scratch.aColumns, {lb.idx(k), zero});
                lb.vstore(lb.fexp(lb.mul(dt, ak), s.decaysAtMostOne),
                          scratch.decay, {i, lb.idx(k), zero});
              }
            });
            return lb.reduce(
                zero, count, 1, hChunk,
                [&](Value i, ValueRange h) -> SmallVector<Value> {
                  Value t = lb.addi(t0, i);
                  Value du = lb.vload(vt, scratch.perStep, {zero, i, zero});
                  // y = sum_k C[k] h[k], in four partial sums so the adds
                  // are not one chain of N.
                  SmallVector<Value> partial;
                  SmallVector<Value> next;
                  for (int64_t k = 0; k < s.n; ++k) {
                    Value bk = lb.splat(vt, lb.load(s.bm, {bb, t, lb.idx(k)}));
                    Value ck = lb.splat(vt, lb.load(s.cm, {bb, t, lb.idx(k)}));
                    Value decay =
                        lb.vload(vt, scratch.decay, {i, lb.idx(k), zero});
                    Value hk = lb.add(lb.mul(decay, h[k]), lb.mul(du, bk));
                    Value term = lb.mul(ck, hk);
                    if (partial.size() < 4)
                      partial.push_back(term);
                    else
                      partial[k % 4] = lb.add(partial[k % 4], term);
                    next.push_back(hk);
                  }
                  while (partial.size() > 1) {
                    SmallVector<Value> halved;
                    for (size_t j = 0; j + 1 < partial.size(); j += 2)
                      halved.push_back(lb.add(partial[j], partial[j + 1]));
                    if (partial.size() % 2)
                      halved.push_back(partial.back());
                    partial = std::move(halved);
                  }
                  Value uu = lb.vload(vt, s.u, {bb, t, d});
                  Value res = lb.add(partial[0], lb.mul(skip, uu));
                  if (s.z)
                    res = lb.mul(res, lb.vload(vt, scratch.perStep,
                                               {one, i, zero}));
                  lb.vstore(res, s.y, {bb, t, d});
                  if (s.states)
                    storeColumns(lb, next, s.states, {bb, t}, d);
                  return next;
                });
          });
      storeColumns(lb, hFinal, s.hOut, {bb}, d);
    });
  });
}

/// One step (decode) of channels [lo, hi) of every sequence, W at a time,
/// in the state's own layout: each channel's N states are one row vector,
/// read and written in place with A's row next to it, so no W x W
/// transposes move them; dt and dt * u are computed W channels at a time
/// and broadcast per row, and y's W sums come out of one shuffle-add tree.
/// Sequences go outside the channel blocks, so each tile streams its part
/// of one sequence's state from end to end (with the blocks outside, each
/// block jumped a whole state ahead per sequence: the merged decode kernel
/// of a Mamba layer at batch 32 took 1.2x as long).
void scanStepRows(LoopBuilder &lb, const ScanOperands &s, Value lo, Value hi,
                  int64_t width, const ChunkScratch &scratch) {
  auto vt = VectorType::get({width}, lb.b.getF32Type());
  auto rt = VectorType::get({s.n}, lb.b.getF32Type());
  Value zero = lb.idx(0), two = lb.idx(2);
  lb.loop(zero, lb.dim(s.u, 0), 1, [&](Value bb) {
    // The sequence's B and C rows serve every block of channels.
    Value bv = lb.vload(rt, s.bm, {bb, zero, zero});
    Value cv = lb.vload(rt, s.cm, {bb, zero, zero});
    lb.loop(lo, hi, width, [&](Value d) {
      Value skip = lb.vload(vt, s.dv, {d});
      Value uu = storeStepInputs(lb, s, vt, scratch, bb, zero, d, zero);
      SmallVector<Value> products;
      for (int64_t j = 0; j < width; ++j) {
        Value channel = lb.addi(d, lb.idx(j));
        Value dtj = lb.splat(rt, lb.load(scratch.perStep, {two, zero,
                                                            lb.idx(j)}));
        Value duj = lb.splat(rt, lb.load(scratch.perStep, {zero, zero,
                                                            lb.idx(j)}));
        Value decay = lb.fexp(lb.mul(dtj, lb.vload(rt, s.a, {channel, zero})),
                              s.decaysAtMostOne);
        Value h = lb.add(lb.mul(decay, lb.vload(rt, s.h0, {bb, channel, zero})),
                         lb.mul(duj, bv));
        lb.vstore(h, s.hOut, {bb, channel, zero});
        if (s.states)
          lb.vstore(h, s.states, {bb, zero, channel, zero});
        products.push_back(lb.mul(cv, h));
      }
      Value res = lb.add(lb.sumRows(products), lb.mul(skip, uu));
      if (s.z)
        res = lb.mul(res, lb.silu(lb.vload(vt, s.z, {bb, zero, d})));
      lb.vstore(res, s.y, {bb, zero, d});
    });
  });
}

/// Channels [lo, hi) of sequence `bb` one at a time, the N-element state in
/// one vector.
void scanChannels(LoopBuilder &lb, const ScanOperands &s, Value bb, Value lo,
                  Value hi) {
  auto vt = VectorType::get({s.n}, lb.b.getF32Type());
  Value seq = lb.dim(s.u, 1);
  lb.loop(lo, hi, 1, [&](Value d) {
    Value av = lb.vload(vt, s.a, {d, lb.idx(0)});
    Value hInit = lb.vload(vt, s.h0, {bb, d, lb.idx(0)});
    Value skip = lb.load(s.dv, d);
    Value hFinal =
        lb.reduce(lb.idx(0), seq, 1, {hInit},
                  [&](Value t, ValueRange h) -> SmallVector<Value> {
                    Value dt = lb.load(s.delta, {bb, t, d});
                    if (s.softplus)
                      dt = lb.softplus(dt);
                    Value uu = lb.load(s.u, {bb, t, d});
                    Value bv = lb.vload(vt, s.bm, {bb, t, lb.idx(0)});
                    Value cv = lb.vload(vt, s.cm, {bb, t, lb.idx(0)});
                    Value decay = lb.fexp(lb.mul(lb.splat(vt, dt), av),
                                          s.decaysAtMostOne);
                    Value next =
                        lb.add(lb.mul(decay, h[0]),
                               lb.mul(lb.splat(vt, lb.mul(dt, uu)), bv));
                    Value dot = lb.hsum(lb.mul(cv, next));
                    Value res = lb.add(dot, lb.mul(skip, uu));
                    if (s.z)
                      res = lb.mul(res, lb.silu(lb.load(s.z, {bb, t, d})));
                    lb.store(res, s.y, {bb, t, d});
                    if (s.states)
                      lb.vstore(next, s.states, {bb, t, d, lb.idx(0)});
                    return {next};
                  })[0];
    lb.vstore(hFinal, s.hOut, {bb, d, lb.idx(0)});
  });
}

} // namespace

LogicalResult mlir::coil::lowerScan(LoopBuilder &lb, Operation *op,
                                    ArrayRef<Value> in, ArrayRef<Value> out) {
  auto scan = cast<ScanOp>(op);
  ScanOperands s;
  s.u = in[0];
  s.delta = in[1];
  s.a = in[2];
  s.bm = in[3];
  s.cm = in[4];
  s.dv = in[5];
  s.z = scan.getZ() ? in[6] : Value();
  s.h0 = in.back();
  s.y = out[0];
  s.hOut = out[1];
  s.states = scan.getStates() ? out[2] : Value();
  s.softplus = scan.getDeltaSoftplus();
  auto negA = scan.getA().getDefiningOp<NegOp>();
  s.decaysAtMostOne =
      s.softplus && negA && negA.getOperand().getDefiningOp<ExpOp>();
  s.n = lb.staticDim(s.a, 1);
  int64_t channels = lb.staticDim(s.a, 0);
  std::optional<ScanConfig> config = ScanConfig::of(op);
  int64_t width = config ? config->channels : 1;
  int64_t steps = config ? config->steps : 1;

  // Tiles split the channels in whole blocks; only the last tile can hold
  // the leftover channels, so each channel takes the same path whatever
  // the number of tiles.
  Value lo, hi;
  std::tie(lo, hi) = lb.share(lb.idx(channels), width);
  int64_t blocked = width > 1 ? channels / width * width : 0;
  Value split = lb.minui(hi, lb.idx(blocked));
  if (blocked > 0) {
    auto f32 = lb.b.getF32Type();
    // One step per call (decode) in the rows' layout where the tree sums
    // W rows of N lanes; otherwise chunks of time on transposed blocks.
    bool rows = lb.staticDim(s.u, 1) == 1 && llvm::isPowerOf2_64(s.n) &&
                llvm::isPowerOf2_64(width) && s.n % width == 0;
    ChunkScratch scratch;
    if (!rows)
      scratch.decay = lb.b.create<memref::AllocaOp>(
          lb.loc, MemRefType::get({steps, s.n, width}, f32));
    scratch.perStep = lb.b.create<memref::AllocaOp>(
        lb.loc, MemRefType::get({3, steps, width}, f32));
    scratch.aColumns = lb.b.create<memref::AllocaOp>(
        lb.loc, MemRefType::get({s.n, width}, f32));
    if (rows)
      scanStepRows(lb, s, lb.minui(lo, split), split, width, scratch);
    else
      scanBlocks(lb, s, lb.minui(lo, split), split, width, steps, scratch);
  }
  if (blocked < channels)
    lb.loop(lb.idx(0), lb.dim(s.u, 0), 1, [&](Value bb) {
      scanChannels(lb, s, bb, lb.maxui(lo, split), hi);
    });
  return success();
}
