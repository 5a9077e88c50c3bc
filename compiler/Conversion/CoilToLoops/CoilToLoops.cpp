//===- CoilToLoops.cpp - Lower coil kernels to loops on memrefs -*- C++ -*-===//
//
// Implements --convert-coil-to-loops (see Passes.td). Each outlined kernel
// function is rewritten in destination-passing style on memrefs; every coil
// op of its body becomes a loop nest written by one `lower*` method of
// KernelEmitter. Reductions carry their accumulators in scf.for iter_args
// and allow reassociation, so LLVM vectorises them.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/Passes.h"

#include "dialects/Coil/IR/CoilOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/IR/Builders.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

namespace mlir::coil {
#define GEN_PASS_DEF_CONVERTCOILTOLOOPSPASS
#include "compiler/Conversion/Passes.h.inc"
} // namespace mlir::coil

using namespace mlir;
using namespace mlir::coil;

namespace {

//===----------------------------------------------------------------------===//
// KernelEmitter: loop-building helpers and one lowering per op
//===----------------------------------------------------------------------===//

class KernelEmitter {
public:
  KernelEmitter(OpBuilder &builder, Location loc, Value tile, Value tiles,
                Value sync)
      : b(builder), loc(loc), tile(tile), tiles(tiles), sync(sync),
        fmf(arith::FastMathFlagsAttr::get(
            builder.getContext(),
            arith::FastMathFlags::reassoc | arith::FastMathFlags::contract)) {}

  /// Lowers `op` reading `in` and writing `out` (one memref per operand and
  /// result, all provided by the caller). This tile computes its share of
  /// the op's outermost parallel loop.
  LogicalResult lower(Operation *op, ArrayRef<Value> in, ArrayRef<Value> out) {
    loc = op->getLoc();
    return llvm::TypeSwitch<Operation *, LogicalResult>(op)
        .Case([&](EmbedOp o) { return lowerEmbed(in, out); })
        .Case([&](LinearOp o) { return lowerLinear(o, in, out); })
        .Case([&](RmsNormOp o) {
          return lowerNorm(in, out, o.getEpsilon().convertToDouble(), true);
        })
        .Case([&](LayerNormOp o) {
          return lowerNorm(in, out, o.getEpsilon().convertToDouble(), false);
        })
        .Case<SiluOp, GeluOp, SoftplusOp, ExpOp, NegOp>(
            [&](Operation *o) { return lowerUnary(o, in, out); })
        .Case<AddOp, MulOp, SubOp>(
            [&](Operation *o) { return lowerBinary(o, in, out); })
        .Case([&](SliceOp o) {
          copyAlong(in[0], out[0], o.getDim(), o.getOffset());
          return success();
        })
        .Case([&](SplitOp o) {
          int64_t offset = 0;
          for (auto [dst, size] : llvm::zip(out, o.getSizes())) {
            copyAlong(in[0], dst, o.getDim(), offset);
            offset += size;
          }
          return success();
        })
        .Case([&](ReshapeOp) {
          copyFlat(flatten(in[0]), flatten(out[0]));
          return success();
        })
        .Case([&](RopeOp o) { return lowerRope(o, in, out); })
        .Case([&](Conv1dCausalOp o) { return lowerConv(o, in, out); })
        .Case([&](ScanOp o) { return lowerScan(o, in, out); })
        .Case([&](AttentionOp o) { return lowerAttention(o, in, out); })
        .Default([&](Operation *o) {
          return o->emitOpError("cannot be lowered to loops");
        });
  }

private:
  //===--------------------------------------------------------------------===//
  // Helpers
  //===--------------------------------------------------------------------===//

  Value idx(int64_t v) { return b.create<arith::ConstantIndexOp>(loc, v); }
  Value f32(double v) {
    return b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(v));
  }
  Value f64(double v) {
    return b.create<arith::ConstantOp>(loc, b.getF64FloatAttr(v));
  }
  Value dim(Value m, int64_t i) {
    auto type = cast<MemRefType>(m.getType());
    if (!type.isDynamicDim(i))
      return idx(type.getDimSize(i));
    return b.create<memref::DimOp>(loc, m, i);
  }
  int64_t staticDim(Value m, int64_t i) {
    return cast<MemRefType>(m.getType()).getDimSize(i);
  }
  int64_t rank(Value m) { return cast<MemRefType>(m.getType()).getRank(); }

  Value load(Value m, ValueRange indices) {
    return b.create<memref::LoadOp>(loc, m, indices);
  }
  void store(Value v, Value m, ValueRange indices) {
    b.create<memref::StoreOp>(loc, v, m, indices);
  }
  Value vload(VectorType t, Value m, ValueRange indices) {
    return b.create<vector::LoadOp>(loc, t, m, indices);
  }
  void vstore(Value v, Value m, ValueRange indices) {
    b.create<vector::StoreOp>(loc, v, m, indices);
  }
  Value splat(Type t, Value scalar) {
    return b.create<vector::SplatOp>(loc, t, scalar);
  }

  Value add(Value x, Value y) {
    return b.create<arith::AddFOp>(loc, x, y, fmf);
  }
  Value sub(Value x, Value y) {
    return b.create<arith::SubFOp>(loc, x, y, fmf);
  }
  Value mul(Value x, Value y) {
    return b.create<arith::MulFOp>(loc, x, y, fmf);
  }
  Value div(Value x, Value y) {
    return b.create<arith::DivFOp>(loc, x, y, fmf);
  }
  Value fexp(Value x) { return b.create<math::ExpOp>(loc, x); }
  /// The sum of a vector's elements.
  Value hsum(Value v) {
    return b.create<vector::ReductionOp>(
        loc, b.getF32Type(),
        vector::CombiningKindAttr::get(b.getContext(),
                                       vector::CombiningKind::ADD),
        v, /*acc=*/Value(), fmf);
  }
  Value addi(Value x, Value y) { return b.create<arith::AddIOp>(loc, x, y); }
  Value subi(Value x, Value y) { return b.create<arith::SubIOp>(loc, x, y); }
  Value muli(Value x, Value y) { return b.create<arith::MulIOp>(loc, x, y); }

  /// silu(x) = x / (1 + exp(-x)) on scalars or vectors.
  Value silu(Value x) {
    Type t = x.getType();
    Value one = isa<VectorType>(t) ? splat(t, f32(1.0)) : f32(1.0);
    Value negX = b.create<arith::NegFOp>(loc, x, fmf);
    return div(x, add(one, fexp(negX)));
  }

  /// PyTorch softplus with threshold 20.
  Value softplus(Value x) {
    Value big =
        b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT, x, f32(20.0));
    Value soft = b.create<math::Log1pOp>(loc, fexp(x));
    return b.create<arith::SelectOp>(loc, big, x, soft);
  }

  /// This tile's share [lo, hi) of `extent` iterations, in whole chunks of
  /// `align` iterations. Aligning the split points to the vectoriser's step
  /// keeps every element on the same code path (vector body or the one
  /// final remainder) whatever the number of tiles, so the result does not
  /// depend on the thread count.
  std::pair<Value, Value> share(Value extent, int64_t align = 1) {
    Value units =
        align == 1 ? extent
                   : b.create<arith::DivUIOp>(loc, addi(extent, idx(align - 1)),
                                              idx(align));
    Value lo = b.create<arith::DivUIOp>(loc, muli(units, tile), tiles);
    Value hi =
        b.create<arith::DivUIOp>(loc, muli(units, addi(tile, idx(1))), tiles);
    if (align == 1)
      return {lo, hi};
    lo = b.create<arith::MinUIOp>(loc, muli(lo, idx(align)), extent);
    hi = b.create<arith::MinUIOp>(loc, muli(hi, idx(align)), extent);
    return {lo, hi};
  }

  /// Split points of element-wise loops, a multiple of any vector width and
  /// unroll factor LLVM picks for f32 on x86.
  static constexpr int64_t kVectorChunk = 64;

public:
  /// Waits until every tile of this kernel call reached this point.
  void barrier() {
    b.create<func::CallOp>(loc, kBarrierFunction, TypeRange{},
                           ValueRange{sync});
  }

  /// The runtime's barrier, called through `sync` (see docs/abi.md).
  static constexpr llvm::StringLiteral kBarrierFunction = "coil_kernel_barrier";

  /// Runs `body` in tile 0 only.
  void inFirstTile(function_ref<void()> body) {
    Value first =
        b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, tile, idx(0));
    auto ifOp = b.create<scf::IfOp>(loc, first, /*withElse=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
    body();
  }

  void copyAll(Value src, Value dst) { copyFlat(flatten(src), flatten(dst)); }

private:
  /// for iv in [lb, ub) step `step` { body(iv) }
  void loop(Value lb, Value ub, int64_t step, function_ref<void(Value)> body) {
    auto forOp = b.create<scf::ForOp>(loc, lb, ub, idx(step));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(forOp.getBody()->getTerminator());
    body(forOp.getInductionVar());
  }

  /// A loop carrying `init` through `body(iv, acc) -> next`; returns the
  /// final values.
  SmallVector<Value>
  reduce(Value lb, Value ub, int64_t step, ValueRange init,
         function_ref<SmallVector<Value>(Value, ValueRange)> body) {
    auto forOp = b.create<scf::ForOp>(loc, lb, ub, idx(step), init);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(forOp.getBody());
      SmallVector<Value> next =
          body(forOp.getInductionVar(), forOp.getRegionIterArgs());
      b.create<scf::YieldOp>(loc, next);
    }
    return SmallVector<Value>(forOp.getResults());
  }

  /// `m` viewed as [rows, last] (all leading dimensions collapsed).
  Value rows(Value m) {
    int64_t r = rank(m);
    if (r == 2)
      return m;
    SmallVector<ReassociationIndices> groups(2);
    for (int64_t i = 0; i + 1 < r; ++i)
      groups[0].push_back(i);
    groups[1].push_back(r - 1);
    return b.create<memref::CollapseShapeOp>(loc, m, groups);
  }

  /// `m` viewed as one dimension.
  Value flatten(Value m) {
    int64_t r = rank(m);
    if (r == 1)
      return m;
    SmallVector<ReassociationIndices> groups(1);
    for (int64_t i = 0; i < r; ++i)
      groups[0].push_back(i);
    return b.create<memref::CollapseShapeOp>(loc, m, groups);
  }

  /// dst[i] = src[i] over this tile's share of the elements.
  void copyFlat(Value src, Value dst) {
    auto [lo, hi] = share(dim(dst, 0), kVectorChunk);
    loop(lo, hi, 1, [&](Value i) { store(load(src, i), dst, i); });
  }

  /// dst[i...] = src[i... with i[d] + offset] for every index of dst.
  void copyAlong(Value src, Value dst, int64_t d, int64_t offset) {
    SmallVector<Value> ivs;
    std::function<void(int64_t)> nest = [&](int64_t level) {
      if (level == rank(dst)) {
        SmallVector<Value> from(ivs);
        from[d] = addi(from[d], idx(offset));
        store(load(src, from), dst, ivs);
        return;
      }
      Value lo = idx(0), hi = dim(dst, level);
      if (level == 0)
        std::tie(lo, hi) = share(hi);
      loop(lo, hi, 1, [&](Value iv) {
        ivs.push_back(iv);
        nest(level + 1);
        ivs.pop_back();
      });
    };
    nest(0);
  }

  //===--------------------------------------------------------------------===//
  // Ops
  //===--------------------------------------------------------------------===//

  LogicalResult lowerEmbed(ArrayRef<Value> in, ArrayRef<Value> out) {
    Value table = in[0], ids = flatten(in[1]), dst = rows(out[0]);
    int64_t width = staticDim(table, 1);
    auto [lo, hi] = share(dim(ids, 0));
    loop(lo, hi, 1, [&](Value m) {
      Value id =
          b.create<arith::IndexCastOp>(loc, b.getIndexType(), load(ids, m));
      loop(idx(0), idx(width), 1, [&](Value d) {
        store(load(table, {id, d}), dst, {m, d});
      });
    });
    return success();
  }

  /// y = x W^T + b with a register tile of 4 rows, over blocks of 64
  /// output features so a block of W stays in cache across all rows.
  LogicalResult lowerLinear(LinearOp op, ArrayRef<Value> in,
                            ArrayRef<Value> out) {
    if (rank(in[0]) < 2)
      return op.emitOpError("cannot be lowered to loops: rank-1 input");
    Value x = rows(in[0]), w = in[1], y = rows(out[0]);
    Value bias = op.getBias() ? in[2] : Value();
    int64_t n = staticDim(w, 0), k = staticDim(w, 1);
    constexpr int64_t kRowTile = 4, kColTile = 4, kColBlock = 64;
    Value m = dim(x, 0);
    Value mMain = subi(m, b.create<arith::RemUIOp>(loc, m, idx(kRowTile)));

    // A register tile of `tr` rows x `tc` output features: every weight
    // element loaded is used `tr` times, every input element `tc` times.
    auto tileKernel = [&](Value r0, int64_t tr, Value cStart, int64_t tc) {
      SmallVector<Value> acc;
      for (int64_t t = 0; t < tr; ++t)
        for (int64_t u = 0; u < tc; ++u)
          acc.push_back(bias ? load(bias, addi(cStart, idx(u))) : f32(0.0));
      acc = reduce(idx(0), idx(k), 1, acc, [&](Value i, ValueRange a) {
        SmallVector<Value> wv, xv, next;
        for (int64_t u = 0; u < tc; ++u)
          wv.push_back(load(w, {addi(cStart, idx(u)), i}));
        for (int64_t t = 0; t < tr; ++t)
          xv.push_back(load(x, {addi(r0, idx(t)), i}));
        for (int64_t t = 0; t < tr; ++t)
          for (int64_t u = 0; u < tc; ++u)
            next.push_back(add(a[t * tc + u], mul(xv[t], wv[u])));
        return next;
      });
      for (int64_t t = 0; t < tr; ++t)
        for (int64_t u = 0; u < tc; ++u)
          store(acc[t * tc + u], y, {addi(r0, idx(t)), addi(cStart, idx(u))});
    };
    // Tiles split the output features, in whole blocks.
    auto [blockLo, blockHi] = share(idx((n + kColBlock - 1) / kColBlock));
    loop(muli(blockLo, idx(kColBlock)), muli(blockHi, idx(kColBlock)),
         kColBlock, [&](Value c0) {
           Value c1 =
               b.create<arith::MinUIOp>(loc, addi(c0, idx(kColBlock)), idx(n));
           Value span = subi(c1, c0);
           Value cMain = addi(
               c0, subi(span, b.create<arith::RemUIOp>(loc, span,
                                                       idx(kColTile))));
           auto rowsOf = [&](Value rLo, Value rHi, int64_t tr) {
             loop(rLo, rHi, tr, [&](Value r0) {
               loop(c0, cMain, kColTile,
                    [&](Value c) { tileKernel(r0, tr, c, kColTile); });
               loop(cMain, c1, 1, [&](Value c) { tileKernel(r0, tr, c, 1); });
             });
           };
           rowsOf(idx(0), mMain, kRowTile);
           rowsOf(mMain, m, 1);
         });
    return success();
  }

  LogicalResult lowerNorm(ArrayRef<Value> in, ArrayRef<Value> out,
                          double epsilon, bool rms) {
    Value x = rows(in[0]), w = in[1], y = rows(out[0]);
    Value bias = (!rms && in.size() > 2) ? in[2] : Value();
    int64_t width = staticDim(x, 1);
    auto [lo, hi] = share(dim(x, 0));
    loop(lo, hi, 1, [&](Value r) {
      Value mean = f32(0.0);
      if (!rms) {
        Value sum = reduce(idx(0), idx(width), 1, {f32(0.0)},
                           [&](Value i, ValueRange a) -> SmallVector<Value> {
                             return {add(a[0], load(x, {r, i}))};
                           })[0];
        mean = div(sum, f32(width));
      }
      Value sq = reduce(idx(0), idx(width), 1, {f32(0.0)},
                        [&](Value i, ValueRange a) -> SmallVector<Value> {
                          Value c = sub(load(x, {r, i}), mean);
                          return {add(a[0], mul(c, c))};
                        })[0];
      Value inv = div(
          f32(1.0),
          b.create<math::SqrtOp>(loc, add(div(sq, f32(width)), f32(epsilon))));
      loop(idx(0), idx(width), 1, [&](Value i) {
        Value v = mul(mul(sub(load(x, {r, i}), mean), inv), load(w, i));
        if (bias)
          v = add(v, load(bias, i));
        store(v, y, {r, i});
      });
    });
    return success();
  }

  LogicalResult lowerUnary(Operation *op, ArrayRef<Value> in,
                           ArrayRef<Value> out) {
    Value x = flatten(in[0]), y = flatten(out[0]);
    auto [lo, hi] = share(dim(x, 0), kVectorChunk);
    loop(lo, hi, 1, [&](Value i) {
      Value v = load(x, i);
      Value r =
          llvm::TypeSwitch<Operation *, Value>(op)
              .Case([&](SiluOp) { return silu(v); })
              .Case([&](SoftplusOp) { return softplus(v); })
              .Case([&](ExpOp) { return fexp(v); })
              .Case([&](NegOp) { return b.create<arith::NegFOp>(loc, v, fmf); })
              .Case([&](GeluOp g) -> Value {
                if (g.getTanhApproximation()) {
                  Value inner =
                      mul(f32(std::sqrt(2.0 / M_PI)),
                          add(v, mul(f32(0.044715), mul(v, mul(v, v)))));
                  Value t = b.create<math::TanhOp>(loc, inner);
                  return mul(mul(f32(0.5), v), add(f32(1.0), t));
                }
                Value e = b.create<math::ErfOp>(loc, mul(v, f32(M_SQRT1_2)));
                return mul(mul(f32(0.5), v), add(f32(1.0), e));
              });
      store(r, y, i);
    });
    return success();
  }

  LogicalResult lowerBinary(Operation *op, ArrayRef<Value> in,
                            ArrayRef<Value> out) {
    Value l = flatten(in[0]), r = flatten(in[1]), y = flatten(out[0]);
    auto [lo, hi] = share(dim(l, 0), kVectorChunk);
    loop(lo, hi, 1, [&](Value i) {
      Value a = load(l, i), c = load(r, i);
      Value v = isa<AddOp>(op)   ? add(a, c)
                : isa<MulOp>(op) ? mul(a, c)
                                 : sub(a, c);
      store(v, y, i);
    });
    return success();
  }

  LogicalResult lowerRope(RopeOp op, ArrayRef<Value> in, ArrayRef<Value> out) {
    Value x = rows(in[0]), pos = flatten(in[1]), y = rows(out[0]);
    int64_t width = staticDim(x, 1), heads = op.getNumHeads();
    int64_t headDim = width / heads, half = headDim / 2;
    // inv_freq_i = theta^(-2i/Dh) = exp(i * (-2 ln(theta) / Dh)), in f64.
    double logStep = -2.0 * std::log(op.getTheta().convertToDouble()) /
                     static_cast<double>(headDim);
    auto [lo, hi] = share(dim(x, 0));
    loop(lo, hi, 1, [&](Value r) {
      Value p = b.create<arith::SIToFPOp>(loc, b.getF64Type(), load(pos, r));
      loop(idx(0), idx(half), 1, [&](Value i) {
        Value fi = b.create<arith::UIToFPOp>(
            loc, b.getF64Type(),
            b.create<arith::IndexCastUIOp>(loc, b.getI64Type(), i));
        Value angle = b.create<arith::MulFOp>(
            loc, p,
            b.create<math::ExpOp>(
                loc, b.create<arith::MulFOp>(loc, fi, f64(logStep))));
        Value c = b.create<arith::TruncFOp>(loc, b.getF32Type(),
                                            b.create<math::CosOp>(loc, angle));
        Value s = b.create<arith::TruncFOp>(loc, b.getF32Type(),
                                            b.create<math::SinOp>(loc, angle));
        loop(idx(0), idx(heads), 1, [&](Value h) {
          Value lo = addi(muli(h, idx(headDim)), i);
          Value hi = addi(lo, idx(half));
          Value x1 = load(x, {r, lo}), x2 = load(x, {r, hi});
          store(sub(mul(x1, c), mul(x2, s)), y, {r, lo});
          store(add(mul(x2, c), mul(x1, s)), y, {r, hi});
        });
      });
    });
    return success();
  }

  /// s = state ++ x along time; y[t] = bias + sum_k w[k] s[t + k]; the new
  /// state is the last K - 1 entries of s. Safe when state_out aliases
  /// state_in: every output is computed before the state is written, and
  /// the state is written in increasing index order while reading higher
  /// indices.
  LogicalResult lowerConv(Conv1dCausalOp op, ArrayRef<Value> in,
                          ArrayRef<Value> out) {
    Value x = in[0], w = in[1];
    Value bias = op.getBias() ? in[2] : Value();
    Value state = in.back(), y = out[0], stateOut = out[1];
    int64_t channels = staticDim(w, 0), kernel = staticDim(w, 1);
    int64_t hist = kernel - 1;
    Value batch = dim(x, 0), seq = dim(x, 1);
    // The element j of s for (bb, c).
    auto element = [&](Value bb, Value c, Value j) -> Value {
      Value inHistory =
          b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, j, idx(hist));
      auto ifOp = b.create<scf::IfOp>(loc, b.getF32Type(), inHistory, true);
      {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(ifOp.thenBlock());
        b.create<scf::YieldOp>(loc, load(state, {bb, c, j}));
        b.setInsertionPointToStart(ifOp.elseBlock());
        b.create<scf::YieldOp>(loc, load(x, {bb, subi(j, idx(hist)), c}));
      }
      return ifOp.getResult(0);
    };
    auto [lo, hi] = share(idx(channels), kVectorChunk);
    loop(idx(0), batch, 1, [&](Value bb) {
      loop(idx(0), seq, 1, [&](Value t) {
        loop(lo, hi, 1, [&](Value c) {
          Value acc = bias ? load(bias, c) : f32(0.0);
          for (int64_t k = 0; k < kernel; ++k)
            acc = add(acc, mul(load(w, {c, idx(k)}),
                               element(bb, c, addi(t, idx(k)))));
          store(acc, y, {bb, t, c});
        });
      });
      loop(lo, hi, 1, [&](Value c) {
        for (int64_t j = 0; j < hist; ++j)
          store(element(bb, c, addi(seq, idx(j))), stateOut, {bb, c, idx(j)});
      });
    });
    return success();
  }

  /// One (sequence, channel) at a time; the N-element state lives in a
  /// vector register for the whole sequence.
  LogicalResult lowerScan(ScanOp op, ArrayRef<Value> in, ArrayRef<Value> out) {
    Value u = in[0], delta = in[1], a = in[2], bm = in[3], cm = in[4],
          dv = in[5];
    Value z = op.getZ() ? in[6] : Value();
    Value h0 = in.back(), y = out[0], hOut = out[1];
    int64_t channels = staticDim(a, 0), n = staticDim(a, 1);
    auto vt = VectorType::get({n}, b.getF32Type());
    Value batch = dim(u, 0), seq = dim(u, 1);
    auto [lo, hi] = share(idx(channels));
    loop(idx(0), batch, 1, [&](Value bb) {
      loop(lo, hi, 1, [&](Value d) {
        Value av = vload(vt, a, {d, idx(0)});
        Value hInit = vload(vt, h0, {bb, d, idx(0)});
        Value skip = load(dv, d);
        Value hFinal =
            reduce(idx(0), seq, 1, {hInit},
                   [&](Value t, ValueRange h) -> SmallVector<Value> {
                     Value dt = load(delta, {bb, t, d});
                     if (op.getDeltaSoftplus())
                       dt = softplus(dt);
                     Value uu = load(u, {bb, t, d});
                     Value bv = vload(vt, bm, {bb, t, idx(0)});
                     Value cv = vload(vt, cm, {bb, t, idx(0)});
                     Value decay = fexp(mul(splat(vt, dt), av));
                     Value next =
                         add(mul(decay, h[0]), mul(splat(vt, mul(dt, uu)), bv));
                     Value dot = hsum(mul(cv, next));
                     Value out = add(dot, mul(skip, uu));
                     if (z)
                       out = mul(out, silu(load(z, {bb, t, d})));
                     store(out, y, {bb, t, d});
                     return {next};
                   })[0];
        vstore(hFinal, hOut, {bb, d, idx(0)});
      });
    });
    return success();
  }

  /// Writes k/v at their positions, then an online softmax per query over
  /// cache slots j <= position.
  LogicalResult lowerAttention(AttentionOp op, ArrayRef<Value> in,
                               ArrayRef<Value> out) {
    Value q = in[0], k = in[1], v = in[2], pos = in[5];
    Value o = out[0], kc = out[1], vc = out[2];
    int64_t heads = op.getNumHeads(), kvHeads = op.getNumKvHeads();
    int64_t headDim = op.getHeadDim(), group = heads / kvHeads;
    auto vt = VectorType::get({headDim}, b.getF32Type());
    // The caches are updated in place: out[1], out[2] alias in[3], in[4].
    Value batch = dim(q, 0), seq = dim(q, 1);
    auto positionAt = [&](Value bb, Value t) {
      return b.create<arith::IndexCastOp>(loc, b.getIndexType(),
                                          load(pos, {bb, t}));
    };
    auto [gLo, gHi] = share(idx(kvHeads));
    loop(idx(0), batch, 1, [&](Value bb) {
      loop(idx(0), seq, 1, [&](Value t) {
        Value p = positionAt(bb, t);
        loop(gLo, gHi, 1, [&](Value g) {
          Value col = muli(g, idx(headDim));
          vstore(vload(vt, k, {bb, t, col}), kc, {bb, g, p, idx(0)});
          vstore(vload(vt, v, {bb, t, col}), vc, {bb, g, p, idx(0)});
        });
      });
    });
    // Every tile reads every new key and value.
    barrier();
    Value scale = f32(op.getScaleOrDefault());
    auto [hLo, hHi] = share(idx(heads));
    loop(idx(0), batch, 1, [&](Value bb) {
      loop(idx(0), seq, 1, [&](Value t) {
        Value p = positionAt(bb, t);
        loop(hLo, hHi, 1, [&](Value h) {
          Value g = b.create<arith::DivUIOp>(loc, h, idx(group));
          Value qv = vload(vt, q, {bb, t, muli(h, idx(headDim))});
          SmallVector<Value> init{f32(-3.0e38), f32(0.0), splat(vt, f32(0.0))};
          SmallVector<Value> fin = reduce(
              idx(0), addi(p, idx(1)), 1, init,
              [&](Value j, ValueRange s) -> SmallVector<Value> {
                Value kv = vload(vt, kc, {bb, g, j, idx(0)});
                Value score = mul(hsum(mul(qv, kv)), scale);
                Value mNew = b.create<arith::MaximumFOp>(loc, s[0], score);
                Value corr = fexp(sub(s[0], mNew));
                Value pj = fexp(sub(score, mNew));
                Value l = add(mul(s[1], corr), pj);
                Value vv = vload(vt, vc, {bb, g, j, idx(0)});
                Value acc =
                    add(mul(s[2], splat(vt, corr)), mul(splat(vt, pj), vv));
                return {mNew, l, acc};
              });
          vstore(div(fin[2], splat(vt, fin[1])), o,
                 {bb, t, muli(h, idx(headDim))});
        });
      });
    });
    return success();
  }

  OpBuilder &b;
  Location loc;
  Value tile, tiles, sync;
  arith::FastMathFlagsAttr fmf;
};

//===----------------------------------------------------------------------===//
// Kernel functions: tensors -> memrefs in destination-passing style
//===----------------------------------------------------------------------===//

MemRefType toMemRef(Type t) {
  auto tensor = cast<RankedTensorType>(t);
  return MemRefType::get(tensor.getShape(), tensor.getElementType());
}

LogicalResult checkTypes(func::FuncOp fn) {
  WalkResult r = fn.walk([&](Operation *op) {
    SmallVector<Type> types(op->getOperandTypes());
    llvm::append_range(types, op->getResultTypes());
    for (Type t : types)
      if (auto tensor = dyn_cast<RankedTensorType>(t)) {
        Type e = tensor.getElementType();
        if (!e.isF32() && !e.isInteger(32) && !e.isInteger(64)) {
          op->emitOpError() << "cannot be lowered to loops: element type " << e
                            << " (only f32 data is supported)";
          return WalkResult::interrupt();
        }
      }
    return WalkResult::advance();
  });
  return failure(r.wasInterrupted());
}

LogicalResult lowerKernel(func::FuncOp fn) {
  if (failed(checkTypes(fn)))
    return failure();
  MLIRContext *ctx = fn.getContext();
  FunctionType type = fn.getFunctionType();
  Block &oldBody = fn.getBody().front();
  auto ret = cast<func::ReturnOp>(oldBody.getTerminator());

  // Every value the kernel computes must be one of its results, so that the
  // runtime owns (and all tiles share) every buffer it writes.
  for (Operation &op : oldBody.without_terminator())
    for (Value r : op.getResults())
      if (!llvm::is_contained(ret.getOperands(), r))
        return op.emitOpError("computes a value the kernel does not return; "
                              "run --coil-expose-kernel-temporaries first");

  auto *body = new Block();
  SmallVector<Type> argTypes;
  SmallVector<Type> tensorTypes(type.getInputs());
  llvm::append_range(tensorTypes, type.getResults());
  for (Type t : tensorTypes) {
    argTypes.push_back(toMemRef(t));
    body->addArgument(argTypes.back(), fn.getLoc());
  }
  // The tile index, the tile count and the runtime's synchronisation object.
  auto index = IndexType::get(ctx);
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  for (Type t : {Type(index), Type(index), Type(ptr)}) {
    argTypes.push_back(t);
    body->addArgument(t, fn.getLoc());
  }
  unsigned numInputs = type.getNumInputs();
  unsigned numArgs = body->getNumArguments();
  Value tile = body->getArgument(numArgs - 3);
  Value tiles = body->getArgument(numArgs - 2);
  Value sync = body->getArgument(numArgs - 1);
  OpBuilder b(ctx);
  b.setInsertionPointToStart(body);

  llvm::DenseMap<Value, Value> buffer;
  for (auto [oldArg, newArg] :
       llvm::zip(oldBody.getArguments(), body->getArguments()))
    buffer[oldArg] = newArg;
  llvm::DenseMap<Value, Value> destination;
  SmallVector<std::pair<Value, Value>> copies; // (value, output)
  for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
    Value output = body->getArgument(numInputs + i);
    if (isa<BlockArgument>(v) || destination.count(v))
      copies.push_back({v, output});
    else
      destination[v] = output;
  }

  KernelEmitter emitter(b, fn.getLoc(), tile, tiles, sync);
  bool first = true;
  for (Operation &op : oldBody.without_terminator()) {
    // Each op reads what the previous ones wrote, across all tiles.
    if (!first)
      emitter.barrier();
    first = false;
    SmallVector<Value> in, out;
    for (Value v : op.getOperands())
      in.push_back(buffer.lookup(v));
    for (OpResult r : op.getResults()) {
      buffer[r] = destination.lookup(r);
      out.push_back(buffer[r]);
    }
    if (failed(emitter.lower(&op, in, out))) {
      delete body;
      return failure();
    }
  }
  if (!copies.empty()) {
    emitter.barrier();
    for (auto [v, output] : copies)
      emitter.copyAll(buffer.lookup(v), output);
  }
  b.create<func::ReturnOp>(fn.getLoc());

  fn.getBody().front().dropAllReferences();
  fn.getBody().front().erase();
  fn.getBody().push_back(body);
  fn.setFunctionType(FunctionType::get(ctx, argTypes, {}));
  fn->setAttr("llvm.emit_c_interface", UnitAttr::get(ctx));
  fn.setPublic();
  return success();
}

struct ConvertCoilToLoopsPass
    : public coil::impl::ConvertCoilToLoopsPassBase<ConvertCoilToLoopsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> kernels;
    for (auto fn : module.getOps<func::FuncOp>())
      if (fn->hasAttr("coil.kernel") && !fn.isExternal())
        kernels.push_back(fn);
    for (auto fn : module.getOps<func::FuncOp>())
      if (!fn->hasAttr("coil.kernel"))
        for (auto call : fn.getOps<func::CallOp>())
          if (auto callee = module.lookupSymbol<func::FuncOp>(call.getCallee());
              callee && callee->hasAttr("coil.kernel")) {
            call.emitOpError("calls kernel @")
                << call.getCallee()
                << ", whose signature convert-coil-to-loops changes; extract "
                   "the schedule first (--coil-extract-schedule)";
            return signalPassFailure();
          }
    if (!kernels.empty() &&
        !module.lookupSymbol(KernelEmitter::kBarrierFunction)) {
      OpBuilder b(module.getBodyRegion());
      auto barrier = b.create<func::FuncOp>(
          module.getLoc(), KernelEmitter::kBarrierFunction,
          b.getFunctionType({LLVM::LLVMPointerType::get(&getContext())}, {}));
      barrier.setPrivate();
    }
    for (func::FuncOp fn : kernels)
      if (failed(lowerKernel(fn)))
        return signalPassFailure();

    // Vectorisable polynomial approximations of exp, log1p, tanh, erf...
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(patterns);
    if (failed(applyPatternsAndFoldGreedily(module, std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
