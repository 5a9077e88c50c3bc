//===- Conv.cpp - Lower conv1d_causal to loops ------------------*- C++ -*-===//

#include "compiler/Conversion/CoilToLoops/LoopBuilder.h"
#include "compiler/Conversion/CoilToLoops/OpLowerings.h"

#include "dialects/Coil/IR/CoilOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <tuple>

using namespace mlir;
using namespace mlir::coil;

/// s = state ++ x along time; y[t] = bias + sum_k w[k] s[t + k]; the new
/// state is the last K - 1 entries of s. Safe when state_out aliases
/// state_in: every output is computed before the state is written, and the
/// state is written in increasing index order while reading higher indices.
/// Tiles split the channels.
LogicalResult mlir::coil::lowerConv(LoopBuilder &lb, Operation *op,
                                    ArrayRef<Value> in, ArrayRef<Value> out) {
  auto conv = cast<Conv1dCausalOp>(op);
  OpBuilder &b = lb.b;
  Value x = in[0], w = in[1];
  Value bias = conv.getBias() ? in[2] : Value();
  Value state = in.back(), y = out[0], stateOut = out[1];
  int64_t channels = lb.staticDim(w, 0), kernel = lb.staticDim(w, 1);
  int64_t hist = kernel - 1;
  Value batch = lb.dim(x, 0), seq = lb.dim(x, 1);
  // The element j of s for (bb, c).
  auto element = [&](Value bb, Value c, Value j) -> Value {
    Value inHistory = b.create<arith::CmpIOp>(lb.loc, arith::CmpIPredicate::ult,
                                              j, lb.idx(hist));
    auto ifOp = b.create<scf::IfOp>(lb.loc, b.getF32Type(), inHistory, true);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      b.create<scf::YieldOp>(lb.loc, lb.load(state, {bb, c, j}));
      b.setInsertionPointToStart(ifOp.elseBlock());
      b.create<scf::YieldOp>(lb.loc,
                             lb.load(x, {bb, lb.subi(j, lb.idx(hist)), c}));
    }
    return ifOp.getResult(0);
  };
  Value lo, hi;
  std::tie(lo, hi) = lb.share(lb.idx(channels), LoopBuilder::kVectorChunk);
  lb.loop(lb.idx(0), batch, 1, [&](Value bb) {
    lb.loop(lb.idx(0), seq, 1, [&](Value t) {
      lb.loop(lo, hi, 1, [&](Value c) {
        Value acc = bias ? lb.load(bias, c) : lb.f32(0.0);
        for (int64_t k = 0; k < kernel; ++k)
          acc = lb.add(acc, lb.mul(lb.load(w, {c, lb.idx(k)}),
                                   element(bb, c, lb.addi(t, lb.idx(k)))));
        lb.store(acc, y, {bb, t, c});
      });
    });
    lb.loop(lo, hi, 1, [&](Value c) {
      for (int64_t j = 0; j < hist; ++j)
        lb.store(element(bb, c, lb.addi(seq, lb.idx(j))), stateOut,
                 {bb, c, lb.idx(j)});
    });
  });
  return success();
}
