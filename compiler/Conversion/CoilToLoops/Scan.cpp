//===- Scan.cpp - Lower the selective scan to loops -------------*- C++ -*-===//

#include "compiler/Conversion/CoilToLoops/LoopBuilder.h"
#include "compiler/Conversion/CoilToLoops/OpLowerings.h"

#include "dialects/Coil/IR/CoilOps.h"

#include <tuple>

using namespace mlir;
using namespace mlir::coil;

/// One (sequence, channel) at a time; the N-element state lives in a vector
/// register for the whole sequence. Tiles split the channels.
LogicalResult mlir::coil::lowerScan(LoopBuilder &lb, Operation *op,
                                    ArrayRef<Value> in, ArrayRef<Value> out) {
  auto scan = cast<ScanOp>(op);
  Value u = in[0], delta = in[1], a = in[2], bm = in[3], cm = in[4], dv = in[5];
  Value z = scan.getZ() ? in[6] : Value();
  Value h0 = in.back(), y = out[0], hOut = out[1];
  int64_t channels = lb.staticDim(a, 0), n = lb.staticDim(a, 1);
  auto vt = VectorType::get({n}, lb.b.getF32Type());
  Value batch = lb.dim(u, 0), seq = lb.dim(u, 1);
  Value lo, hi;
  std::tie(lo, hi) = lb.share(lb.idx(channels));
  lb.loop(lb.idx(0), batch, 1, [&](Value bb) {
    lb.loop(lo, hi, 1, [&](Value d) {
      Value av = lb.vload(vt, a, {d, lb.idx(0)});
      Value hInit = lb.vload(vt, h0, {bb, d, lb.idx(0)});
      Value skip = lb.load(dv, d);
      Value hFinal =
          lb.reduce(lb.idx(0), seq, 1, {hInit},
                    [&](Value t, ValueRange h) -> SmallVector<Value> {
                      Value dt = lb.load(delta, {bb, t, d});
                      if (scan.getDeltaSoftplus())
                        dt = lb.softplus(dt);
                      Value uu = lb.load(u, {bb, t, d});
                      Value bv = lb.vload(vt, bm, {bb, t, lb.idx(0)});
                      Value cv = lb.vload(vt, cm, {bb, t, lb.idx(0)});
                      Value decay = lb.fexp(lb.mul(lb.splat(vt, dt), av));
                      Value next =
                          lb.add(lb.mul(decay, h[0]),
                                 lb.mul(lb.splat(vt, lb.mul(dt, uu)), bv));
                      Value dot = lb.hsum(lb.mul(cv, next));
                      Value res = lb.add(dot, lb.mul(skip, uu));
                      if (z)
                        res = lb.mul(res, lb.silu(lb.load(z, {bb, t, d})));
                      lb.store(res, y, {bb, t, d});
                      return {next};
                    })[0];
      lb.vstore(hFinal, hOut, {bb, d, lb.idx(0)});
    });
  });
  return success();
}
