//===- SsdScan.cpp - Lower Mamba-2's multi-head scan to loops ---*- C++ -*-===//
//
// coil.ssd_scan as its recurrence. A head's decay is one scalar per step, so
// a step of one channel is its N states (contiguous in the state's layout,
// as B and C are in their rows) as vectors: N / W multiplies and 2N / W
// FMAs, and y one horizontal sum. Tiles split the (sequence, head) pairs;
// for each, time goes in chunks of the lowering config's `steps`: the
// chunk's dt (bias, softplus, limits) and decays exp(dt * A) are computed
// once into stack scratch, then every channel of the head runs the chunk
// with its state row carried in registers, read from and written back to
// state_out (state_in is copied there first when the two are different
// buffers). Each channel's arithmetic is the same whatever the number of
// tiles, so results do not depend on the thread count.
//
//===----------------------------------------------------------------------===//

#include "compiler/Codegen/CPU/LoweringConfig.h"
#include "compiler/Conversion/CoilToLoops/LoopBuilder.h"
#include "compiler/Conversion/CoilToLoops/OpLowerings.h"

#include "dialects/Coil/IR/CoilOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::coil;

namespace {

/// The lanes of the vectors a state row is split into: N itself up to 128
/// lanes, else the largest part of N in equal pieces of at most 128.
int64_t pieceLanes(int64_t n) {
  for (int64_t pieces = (n + 127) / 128; pieces <= n; ++pieces)
    if (n % pieces == 0)
      return n / pieces;
  return 1;
}

/// Copies sequence `bb`, head `h` of `from` to `to` ([B, H, P, N]) unless
/// they are the same buffer.
void copyHeadUnlessSame(LoopBuilder &lb, Value from, Value to, Value bb,
                        Value h, VectorType vt) {
  auto pointer = [&](Value m) {
    return lb.b.create<memref::ExtractAlignedPointerAsIndexOp>(lb.loc, m);
  };
  Value differ = lb.b.create<arith::CmpIOp>(lb.loc, arith::CmpIPredicate::ne,
                                            pointer(from), pointer(to));
  auto branch = lb.b.create<scf::IfOp>(lb.loc, differ, /*else=*/false);
  OpBuilder::InsertionGuard guard(lb.b);
  lb.b.setInsertionPointToStart(&branch.getThenRegion().front());
  int64_t p = lb.staticDim(from, 2), n = lb.staticDim(from, 3);
  int64_t lanes = vt.getNumElements();
  lb.loop(lb.idx(0), lb.idx(p), 1, [&](Value c) {
    for (int64_t k = 0; k < n; k += lanes)
      lb.vstore(lb.vload(vt, from, {bb, h, c, lb.idx(k)}), to,
                {bb, h, c, lb.idx(k)});
  });
}

} // namespace

LogicalResult mlir::coil::lowerSsdScan(LoopBuilder &lb, Operation *op,
                                       ArrayRef<Value> in,
                                       ArrayRef<Value> out) {
  auto scan = cast<SsdScanOp>(op);
  Value x = in[0], dtIn = in[1], a = in[2], bm = in[3], cm = in[4], dv = in[5];
  Value bias = scan.getDtBias() ? in[6] : Value();
  Value s0 = in.back(), y = out[0], state = out[1];
  Value states = scan.getStates() ? out[2] : Value();
  int64_t heads = scan.getNumHeads(), p = scan.getHeadDim(),
          n = scan.getStateSize(), groups = scan.getNumGroups();
  int64_t headsPerGroup = heads / groups;
  std::optional<SsdScanConfig> config = SsdScanConfig::of(op);
  int64_t steps = config ? config->steps : 1;
  std::optional<ArrayRef<double>> limit = scan.getDtLimit();
  bool softplus = scan.getDeltaSoftplus();
  // softplus(...) * -exp(A_log) <= 0 (a limit keeps dt >= 0 while its
  // upper bound is): the decays skip exp's overflow check.
  auto negA = scan.getA().getDefiningOp<NegOp>();
  bool decaysAtMostOne = softplus && (!limit || (*limit)[1] >= 0) && negA &&
                         negA.getOperand().getDefiningOp<ExpOp>();

  Type f32 = lb.b.getF32Type();
  // State pieces of one register each where N is whole registers (then
  // groups of as many steps sum their y together), else of up to 128 lanes.
  int64_t width = config ? config->lanes : 1;
  bool grouped = width > 1 && llvm::isPowerOf2_64(width) && n % width == 0;
  int64_t lanes = grouped ? width : pieceLanes(n);
  auto vt = VectorType::get({lanes}, f32);
  Value seq = lb.dim(x, 1);
  // [0][t]: dt of step t of the chunk; [1][t]: its decay.
  Value scratch =
      lb.b.create<memref::AllocaOp>(lb.loc, MemRefType::get({2, steps}, f32));
  Value zero = lb.idx(0), one = lb.idx(1);

  auto [lo, hi] = lb.share(lb.muli(lb.dim(x, 0), lb.idx(heads)));
  lb.loop(lo, hi, 1, [&](Value unit) {
    Value hv = lb.idx(heads);
    Value bb = lb.b.create<arith::DivUIOp>(lb.loc, unit, hv);
    Value h = lb.b.create<arith::RemUIOp>(lb.loc, unit, hv);
    Value g = lb.b.create<arith::DivUIOp>(lb.loc, h, lb.idx(headsPerGroup));
    Value bOffset = lb.muli(g, lb.idx(n));
    Value aH = lb.load(a, h), skip = lb.load(dv, h);
    Value biasH = bias ? lb.load(bias, h) : Value();
    copyHeadUnlessSame(lb, s0, state, bb, h, vt);

    lb.loop(zero, seq, steps, [&](Value t0) {
      Value t1 = lb.minui(lb.addi(t0, lb.idx(steps)), seq);
      lb.loop(t0, t1, 1, [&](Value t) {
        Value d = lb.load(dtIn, {bb, t, h});
        if (biasH)
          d = lb.add(d, biasH);
        if (softplus)
          d = lb.softplus(d);
        if (limit) {
          d = lb.b.create<arith::MaximumFOp>(lb.loc, d, lb.f32((*limit)[0]));
          d = lb.b.create<arith::MinimumFOp>(lb.loc, d, lb.f32((*limit)[1]));
        }
        Value i = lb.subi(t, t0);
        lb.store(d, scratch, {zero, i});
        lb.store(lb.fexp(lb.mul(d, aH), decaysAtMostOne), scratch, {one, i});
      });
      lb.loop(zero, lb.idx(p), 1, [&](Value c) {
        Value channel = lb.addi(lb.muli(h, lb.idx(p)), c);
        SmallVector<Value> init;
        for (int64_t k = 0; k < n; k += lanes)
          init.push_back(lb.vload(vt, state, {bb, h, c, lb.idx(k)}));
        // Step t from states `s` into `next`: returns the sum over the
        // state pieces of C * s (a vector of `lanes`) and x[t].
        auto step = [&](Value t, ValueRange s, SmallVectorImpl<Value> &next) {
          Value i = lb.subi(t, t0);
          Value xx = lb.load(x, {bb, t, channel});
          Value decay = lb.splat(vt, lb.load(scratch, {one, i}));
          Value dx = lb.splat(vt, lb.mul(lb.load(scratch, {zero, i}), xx));
          SmallVector<Value> products;
          for (auto [j, sj] : llvm::enumerate(s)) {
            Value k = lb.addi(bOffset, lb.idx(j * lanes));
            Value bv = lb.vload(vt, bm, {bb, t, k});
            Value cv = lb.vload(vt, cm, {bb, t, k});
            Value sn = lb.add(lb.mul(decay, sj), lb.mul(dx, bv));
            next.push_back(sn);
            products.push_back(lb.mul(cv, sn));
            if (states)
              lb.vstore(sn, states, {bb, t, h, c, lb.idx(j * lanes)});
          }
          // A balanced tree: no chain as long as the pieces.
          while (products.size() > 1) {
            SmallVector<Value> sums;
            for (size_t q = 0; q + 1 < products.size(); q += 2)
              sums.push_back(lb.add(products[q], products[q + 1]));
            if (products.size() % 2)
              sums.push_back(products.back());
            products = std::move(sums);
          }
          return std::make_pair(products.front(), xx);
        };
        // Groups of `lanes` steps: their y sums in one shuffle-add tree
        // (lane k is step k) instead of a horizontal sum per step.
        Value full = t0;
        SmallVector<Value> s = init;
        if (grouped) {
          full =
              lb.addi(t0, lb.muli(lb.b.create<arith::DivUIOp>(
                                      lb.loc, lb.subi(t1, t0), lb.idx(lanes)),
                                  lb.idx(lanes)));
          s = lb.reduce(
              t0, full, lanes, init,
              [&](Value tg, ValueRange carried) -> SmallVector<Value> {
                SmallVector<Value> cur(carried.begin(), carried.end());
                SmallVector<Value> partials, xs;
                for (int64_t k = 0; k < lanes; ++k) {
                  SmallVector<Value> next;
                  auto [partial, xx] = step(lb.addi(tg, lb.idx(k)), cur, next);
                  partials.push_back(partial);
                  xs.push_back(xx);
                  cur = std::move(next);
                }
                Value sums = lb.sumRows(partials);
                for (int64_t k = 0; k < lanes; ++k) {
                  Value yk = lb.b.create<vector::ExtractOp>(lb.loc, sums, k);
                  lb.store(lb.add(yk, lb.mul(skip, xs[k])), y,
                           {bb, lb.addi(tg, lb.idx(k)), channel});
                }
                return cur;
              });
        }
        SmallVector<Value> last =
            lb.reduce(full, t1, 1, s, [&](Value t, ValueRange carried) {
              SmallVector<Value> next;
              auto [partial, xx] = step(t, carried, next);
              lb.store(lb.add(lb.hsum(partial), lb.mul(skip, xx)), y,
                       {bb, t, channel});
              return next;
            });
        for (auto [j, sj] : llvm::enumerate(last))
          lb.vstore(sj, state, {bb, h, c, lb.idx(j * lanes)});
      });
    });
  });
  return success();
}
