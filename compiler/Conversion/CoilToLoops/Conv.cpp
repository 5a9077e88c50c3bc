//===- Conv.cpp - Lower conv1d_causal to loops ------------------*- C++ -*-===//
//
// The causal depthwise conv, vectorised across channels: time is the outer
// loop and each step runs over the tile's channels in blocks of 16, every
// output vector the bias plus K FMAs of weight vectors and input rows read
// contiguously (the K rows of a step stay in L1 for the next K steps). The
// first K - 1 steps read the state instead of the rows before the first.
// Channels left over after the whole blocks take the same path one channel
// at a time (vectors of one). When the strategy says so, the silu that
// alone reads the result is applied before the store. A conv with `states`
// also stores the window after every step there, before the new state
// (which may be the old one's buffer) is written.
//
//===----------------------------------------------------------------------===//

#include "compiler/Codegen/CPU/LoweringConfig.h"
#include "compiler/Conversion/CoilToLoops/LoopBuilder.h"
#include "compiler/Conversion/CoilToLoops/OpLowerings.h"

#include "dialects/Coil/IR/CoilOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <optional>
#include <tuple>

using namespace mlir;
using namespace mlir::coil;

namespace {

/// Channels per vector: 16 f32 (one AVX-512 register, two AVX2 or four SSE
/// ones); the conv is bound by memory, not by how LLVM splits the vector.
constexpr int64_t kChannelBlock = 16;

/// The `width` values m[bb, c + i, j], i in [0, width), as one vector.
Value loadAcrossChannels(LoopBuilder &lb, VectorType vt, Value m, Value bb,
                         Value c, Value j) {
  Value v = lb.splat(vt, lb.f32(0.0));
  for (int64_t i = 0; i < vt.getNumElements(); ++i) {
    SmallVector<Value> at{bb, lb.addi(c, lb.idx(i)), j};
    v = lb.b.create<vector::InsertElementOp>(lb.loc, lb.load(m, at), v,
                                             lb.idx(i));
  }
  return v;
}

/// The channels [c, c + width) of sequence bb for one call.
struct ConvBlock {
  Value bb, c;
  int64_t width;
};

/// y[t] = bias + sum_k w[k] s[t + k] over s = state ++ x along time: the
/// first K - 1 steps read the state, the others only rows of x.
class ConvLowering {
public:
  ConvLowering(LoopBuilder &lb, Conv1dCausalOp op, ArrayRef<Value> in,
               ArrayRef<Value> out)
      : lb(lb), x(in[0]), w(in[1]), bias(op.getBias() ? in[2] : Value()),
        state(in.back()), y(out[0]), stateOut(out[1]),
        states(op.getStates() ? out[2] : Value()),
        kernel(lb.staticDim(in[1], 1)), hist(kernel - 1) {
    std::optional<ConvConfig> config = ConvConfig::of(op);
    silu = config && config->silu;
  }

  /// Step t of block `blk`, whose taps j < K - 1 - t come from the state
  /// (`t` static) or, with `t` dynamic, all from x.
  void step(const ConvBlock &blk, Value t, std::optional<int64_t> early) {
    VectorType vt = typeOf(blk);
    Value acc = bias ? lb.vload(vt, bias, {blk.c}) : lb.splat(vt, lb.f32(0.0));
    for (int64_t k = 0; k < kernel; ++k) {
      Value weight = lb.vload(vt, weightsT, {lb.idx(k), blk.c});
      Value tap;
      if (early && *early + k < hist)
        tap = loadAcrossChannels(lb, vt, state, blk.bb, blk.c,
                                 lb.idx(*early + k));
      else
        tap = lb.vload(vt, x, {blk.bb, lb.addi(t, lb.idx(k - hist)), blk.c});
      acc = lb.add(acc, lb.mul(weight, tap));
    }
    lb.vstore(silu ? lb.silu(acc) : acc, y, {blk.bb, t, blk.c});
  }

  /// The window after `end` steps, s[end + j] for j < K - 1, stored to
  /// dest[prefix..., c, j]. As the new state (end = T, dest = state_out) it
  /// is written in increasing j while reading index T + j >= j, so it is
  /// safe when state_out aliases the state; every step has read the state
  /// before.
  void window(const ConvBlock &blk, Value end, Value dest,
              ArrayRef<Value> prefix) {
    VectorType vt = typeOf(blk);
    for (int64_t j = 0; j < hist; ++j) {
      Value from = lb.addi(end, lb.idx(j));
      Value inState = lb.b.create<arith::CmpIOp>(
          lb.loc, arith::CmpIPredicate::ult, from, lb.idx(hist));
      auto ifOp = lb.b.create<scf::IfOp>(lb.loc, vt, inState, true);
      {
        OpBuilder::InsertionGuard guard(lb.b);
        lb.b.setInsertionPointToStart(ifOp.thenBlock());
        lb.b.create<scf::YieldOp>(
            lb.loc, loadAcrossChannels(lb, vt, state, blk.bb, blk.c, from));
        lb.b.setInsertionPointToStart(ifOp.elseBlock());
        lb.b.create<scf::YieldOp>(
            lb.loc, lb.vload(vt, x,
                             {blk.bb, lb.subi(from, lb.idx(hist)), blk.c}));
      }
      for (int64_t i = 0; i < blk.width; ++i) {
        SmallVector<Value> at(prefix.begin(), prefix.end());
        at.push_back(lb.addi(blk.c, lb.idx(i)));
        at.push_back(lb.idx(j));
        lb.store(lb.b.create<vector::ExtractElementOp>(
                     lb.loc, ifOp.getResult(0), lb.idx(i)),
                 dest, at);
      }
    }
  }

  /// Channels [lo, hi) of every sequence, whole blocks of `width` and then
  /// one at a time from `split`: time outside, so each step reads and
  /// writes whole rows.
  void emit(Value lo, Value split, Value hi, int64_t width) {
    Value seq = lb.dim(x, 1);
    // This tile's weights, transposed once per call ([K, channels], on its
    // stack) so that a step reads each tap's weights as one vector.
    int64_t channels = lb.staticDim(w, 0);
    weightsT = lb.b.create<memref::AllocaOp>(
        lb.loc, MemRefType::get({kernel, channels}, lb.b.getF32Type()));
    lb.loop(lo, hi, 1, [&](Value c) {
      for (int64_t k = 0; k < kernel; ++k)
        lb.store(lb.load(w, {c, lb.idx(k)}), weightsT, {lb.idx(k), c});
    });
    auto blocks = [&](Value bb, function_ref<void(const ConvBlock &)> fn) {
      lb.loop(lb.minui(lo, split), split, width,
              [&](Value c) { fn({bb, c, width}); });
      lb.loop(lb.maxui(lo, split), hi, 1, [&](Value c) { fn({bb, c, 1}); });
    };
    lb.loop(lb.idx(0), lb.dim(x, 0), 1, [&](Value bb) {
      // The first K - 1 steps, which read the state, one by one.
      for (int64_t t = 0; t < hist; ++t) {
        Value present = lb.b.create<arith::CmpIOp>(
            lb.loc, arith::CmpIPredicate::ult, lb.idx(t), seq);
        auto ifOp = lb.b.create<scf::IfOp>(lb.loc, present, false);
        OpBuilder::InsertionGuard guard(lb.b);
        lb.b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
        blocks(bb, [&](const ConvBlock &blk) { step(blk, lb.idx(t), t); });
      }
      lb.loop(lb.minui(lb.idx(hist), seq), seq, 1, [&](Value t) {
        blocks(bb, [&](const ConvBlock &blk) { step(blk, t, std::nullopt); });
      });
      if (states)
        lb.loop(lb.idx(0), seq, 1, [&](Value t) {
          blocks(bb, [&](const ConvBlock &blk) {
            window(blk, lb.addi(t, lb.idx(1)), states, {bb, t});
          });
        });
      blocks(bb, [&](const ConvBlock &blk) {
        window(blk, seq, stateOut, {bb});
      });
    });
  }

private:
  VectorType typeOf(const ConvBlock &blk) {
    return VectorType::get({blk.width}, lb.b.getF32Type());
  }

  LoopBuilder &lb;
  Value x, w, bias, state, y, stateOut;
  /// The window after every step, or null.
  Value states;
  /// The weights as [K, channels].
  Value weightsT;
  int64_t kernel, hist;
  /// Whether y holds silu of the conv (ConvConfig).
  bool silu = false;
};

} // namespace

/// Tiles split the channels in whole blocks; only the last tile holds the
/// leftover channels, so each channel takes the same path whatever the
/// number of tiles.
LogicalResult mlir::coil::lowerConv(LoopBuilder &lb, Operation *op,
                                    ArrayRef<Value> in, ArrayRef<Value> out) {
  auto conv = cast<Conv1dCausalOp>(op);
  int64_t channels = lb.staticDim(in[1], 0);
  int64_t blocked = channels / kChannelBlock * kChannelBlock;
  Value lo, hi;
  std::tie(lo, hi) = lb.share(lb.idx(channels), kChannelBlock);
  Value split = lb.minui(hi, lb.idx(blocked));
  ConvLowering(lb, conv, in, out).emit(lo, split, hi, kChannelBlock);
  return success();
}
