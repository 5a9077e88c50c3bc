//===- LoopBuilder.cpp - Loop and vector builders for kernels ---*- C++ -*-===//

#include "compiler/Conversion/CoilToLoops/LoopBuilder.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <functional>
#include <limits>

using namespace mlir;
using namespace mlir::coil;

LoopBuilder::LoopBuilder(OpBuilder &builder, Location loc, Value tile,
                         Value tiles, Value sync)
    : b(builder), loc(loc), tile(tile), tiles(tiles), sync(sync),
      fmf(arith::FastMathFlagsAttr::get(builder.getContext(),
                                        arith::FastMathFlags::reassoc |
                                            arith::FastMathFlags::contract)) {}

Value LoopBuilder::idx(int64_t v) {
  return b.create<arith::ConstantIndexOp>(loc, v);
}
Value LoopBuilder::f32(double v) {
  return b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(v));
}
Value LoopBuilder::f32Like(Value like, double v) {
  Type t = like.getType();
  return isa<VectorType>(t) ? splat(t, f32(v)) : f32(v);
}
Value LoopBuilder::f64(double v) {
  return b.create<arith::ConstantOp>(loc, b.getF64FloatAttr(v));
}
Value LoopBuilder::dim(Value m, int64_t i) {
  auto type = cast<MemRefType>(m.getType());
  if (!type.isDynamicDim(i))
    return idx(type.getDimSize(i));
  return b.create<memref::DimOp>(loc, m, i);
}
int64_t LoopBuilder::staticDim(Value m, int64_t i) {
  return cast<MemRefType>(m.getType()).getDimSize(i);
}
int64_t LoopBuilder::rank(Value m) {
  return cast<MemRefType>(m.getType()).getRank();
}

Value LoopBuilder::load(Value m, ValueRange indices) {
  return b.create<memref::LoadOp>(loc, m, indices);
}
void LoopBuilder::store(Value v, Value m, ValueRange indices) {
  b.create<memref::StoreOp>(loc, v, m, indices);
}
Value LoopBuilder::vload(VectorType t, Value m, ValueRange indices) {
  return b.create<vector::LoadOp>(loc, t, m, indices);
}
Value LoopBuilder::vloadF32(int64_t lanes, Value m, ValueRange indices) {
  Type element = cast<MemRefType>(m.getType()).getElementType();
  return widenToF32(vload(VectorType::get({lanes}, element), m, indices));
}
Value LoopBuilder::widenToF32(Value v) {
  Type element = getElementTypeOrSelf(v.getType());
  if (element.isF32())
    return v;
  auto like = [&](Type e) -> Type {
    if (auto vector = dyn_cast<VectorType>(v.getType()))
      return vector.clone(e);
    return e;
  };
  if (element.isBF16()) {
    // A bf16 is the upper half of the f32 of the same value: its bits
    // shifted into place (two integer instructions, NaN payloads kept).
    Value bits = b.create<arith::BitcastOp>(loc, like(b.getI16Type()), v);
    Value wide = b.create<arith::ExtUIOp>(loc, like(b.getI32Type()), bits);
    Value sixteen = b.create<arith::ConstantOp>(loc, b.getI32IntegerAttr(16));
    if (isa<VectorType>(v.getType()))
      sixteen = splat(like(b.getI32Type()), sixteen);
    Value shifted = b.create<arith::ShLIOp>(loc, wide, sixteen);
    return b.create<arith::BitcastOp>(loc, like(b.getF32Type()), shifted);
  }
  // int8: sign-extended and converted (vpmovsxbd, vcvtdq2ps), exact.
  if (element.isInteger(8))
    return b.create<arith::SIToFPOp>(loc, like(b.getF32Type()), v);
  // f16: one instruction with F16C (AVX2 and AVX-512 targets).
  return b.create<arith::ExtFOp>(loc, like(b.getF32Type()), v);
}
void LoopBuilder::vstore(Value v, Value m, ValueRange indices) {
  b.create<vector::StoreOp>(loc, v, m, indices);
}
Value LoopBuilder::splat(Type t, Value scalar) {
  return b.create<vector::SplatOp>(loc, t, scalar);
}

Value LoopBuilder::rows(Value m) {
  int64_t r = rank(m);
  if (r == 2)
    return m;
  SmallVector<ReassociationIndices> groups(2);
  for (int64_t i = 0; i + 1 < r; ++i)
    groups[0].push_back(i);
  groups[1].push_back(r - 1);
  return b.create<memref::CollapseShapeOp>(loc, m, groups);
}

Value LoopBuilder::flatten(Value m) {
  int64_t r = rank(m);
  if (r == 1)
    return m;
  SmallVector<ReassociationIndices> groups(1);
  for (int64_t i = 0; i < r; ++i)
    groups[0].push_back(i);
  return b.create<memref::CollapseShapeOp>(loc, m, groups);
}

Value LoopBuilder::add(Value x, Value y) {
  return b.create<arith::AddFOp>(loc, x, y, fmf);
}
Value LoopBuilder::sub(Value x, Value y) {
  return b.create<arith::SubFOp>(loc, x, y, fmf);
}
Value LoopBuilder::mul(Value x, Value y) {
  return b.create<arith::MulFOp>(loc, x, y, fmf);
}
Value LoopBuilder::div(Value x, Value y) {
  return b.create<arith::DivFOp>(loc, x, y, fmf);
}
Value LoopBuilder::fexp(Value x, bool nonPositive) {
  // exp(x) = 2^n exp(r), n = round(x log2 e), r = x - n ln 2 in
  // [-ln2/2, ln2/2]. Adding 1.5 * 2^23 rounds x log2 e to an integer held
  // in the low mantissa bits of t, which a shift by 23 moves into the
  // exponent field. r is reduced in two steps (ln 2 split into a high part
  // with trailing zero bits and the rest) and exp(r) is the degree-6
  // polynomial closest to it on that interval in the max norm (Chebyshev
  // fit, 2e-9 absolute error). The shift and integer add scale by 2^n
  // exactly wherever the result is a normal f32, x in [kLo, kHi]: below
  // it the result is 0 (denormals are flushed), above it +inf, and a NaN
  // stays NaN. Over every f32 of that interval, 1.10 ulp at most from exp
  // in double (measured on a scalar model of these operations;
  // tests/e2e/MathAccuracyTest.cpp checks the compiled code).
  //
  // These ops carry no fast-math flags: reassociating (x log2 e + 1.5 *
  // 2^23) - 1.5 * 2^23 would undo the rounding.
  constexpr double kLo = -87.33654, kHi = 88.72283;
  constexpr double kCoefficients[] = {
      1.0,
      1.000000037716213842542586,
      0.5000000047117757674390523,
      0.1666641551465327542743478,
      0.0416663528967751567864817,
      0.008375126398153335682035129,
      0.001394110843397267460848492,
  };
  Type ft = x.getType();
  Type it = b.getI32Type();
  if (auto vt = dyn_cast<VectorType>(ft))
    it = VectorType::get(vt.getShape(), it);
  auto intLike = [&](int64_t v) -> Value {
    Value c = b.create<arith::ConstantOp>(loc, b.getI32IntegerAttr(v));
    return isa<VectorType>(it) ? splat(it, c) : c;
  };
  auto fma = [&](Value a, Value m, Value c) -> Value {
    return b.create<math::FmaOp>(loc, a, m, c);
  };
  Value magic = f32Like(x, 12582912.0);
  Value t = fma(x, f32Like(x, 1.44269504088896341), magic);
  Value n = b.create<arith::SubFOp>(loc, t, magic);
  Value r = fma(n, f32Like(x, -0.693145751953125), x);
  r = fma(n, f32Like(x, -1.428606765330187045e-06), r);
  Value p = f32Like(x, kCoefficients[6]);
  for (int i = 5; i >= 0; --i)
    p = fma(p, r, f32Like(x, kCoefficients[i]));
  Value y;
  auto vt = dyn_cast<VectorType>(ft);
  bool scalef = avx512 && vt && vt.getRank() == 1 &&
                vt.getNumElements() == 16 && vt.getElementType().isF32();
  if (scalef) {
    // p * 2^n in one vscalefps: the same value as the integer add where
    // the result is normal, and NaN when p or n is.
    Value allLanes =
        b.create<arith::ConstantOp>(loc, b.getIntegerAttr(b.getI16Type(), -1));
    Value currentRounding =
        b.create<arith::ConstantOp>(loc, b.getI32IntegerAttr(4));
    y = b.create<LLVM::CallIntrinsicOp>(
             loc, TypeRange{ft},
             b.getStringAttr("llvm.x86.avx512.mask.scalef.ps.512"),
             ValueRange{p, n, p, allLanes, currentRounding},
             LLVM::FastmathFlagsAttr())
            .getResult(0);
  } else {
    Value scale = b.create<arith::ShLIOp>(
        loc, b.create<arith::BitcastOp>(loc, it, t), intLike(23));
    Value bits = b.create<arith::AddIOp>(
        loc, b.create<arith::BitcastOp>(loc, it, p), scale);
    y = b.create<arith::BitcastOp>(loc, ft, bits);
  }
  Value under = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OLT, x,
                                        f32Like(x, kLo));
  y = b.create<arith::SelectOp>(loc, under, f32Like(x, 0.0), y);
  if (nonPositive && scalef)
    return y;
  // Above kHi or NaN: x + inf is +inf, or the NaN.
  Value over = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::UGT, x,
                                       f32Like(x, kHi));
  Value inf = b.create<arith::AddFOp>(
      loc, x, f32Like(x, std::numeric_limits<double>::infinity()));
  return b.create<arith::SelectOp>(loc, over, inf, y);
}
Value LoopBuilder::sumRows(ArrayRef<Value> rows) {
  int64_t width = static_cast<int64_t>(rows.size());
  int64_t lanes = cast<VectorType>(rows.front().getType()).getNumElements();
  SmallVector<Value> v(rows.begin(), rows.end());
  // channels[i]: the row whose partial sums block b of v[i] holds.
  SmallVector<SmallVector<int64_t>> channels;
  for (int64_t j = 0; j < width; ++j)
    channels.push_back({j});
  int64_t block = lanes;
  while (v.size() > 1) {
    int64_t half = block / 2, blocks = lanes / block;
    SmallVector<int64_t> firsts, seconds;
    for (int64_t k = 0; k < blocks; ++k)
      for (int64_t side : {int64_t(0), lanes})
        for (int64_t l = 0; l < half; ++l) {
          firsts.push_back(side + k * block + l);
          seconds.push_back(side + k * block + half + l);
        }
    SmallVector<Value> next;
    SmallVector<SmallVector<int64_t>> nextChannels;
    for (size_t i = 0; i < v.size(); i += 2) {
      Value lo = b.create<vector::ShuffleOp>(loc, v[i], v[i + 1], firsts);
      Value hi = b.create<vector::ShuffleOp>(loc, v[i], v[i + 1], seconds);
      next.push_back(add(lo, hi));
      SmallVector<int64_t> merged;
      for (int64_t k = 0; k < blocks; ++k) {
        merged.push_back(channels[i][k]);
        merged.push_back(channels[i + 1][k]);
      }
      nextChannels.push_back(std::move(merged));
    }
    v = std::move(next);
    channels = std::move(nextChannels);
    block = half;
  }
  SmallVector<int64_t> position(width);
  for (int64_t b = 0; b < width; ++b)
    position[channels[0][b]] = b;
  Value sum;
  for (int64_t l = 0; l < block; ++l) {
    SmallVector<int64_t> pick;
    for (int64_t j = 0; j < width; ++j)
      pick.push_back(position[j] * block + l);
    Value part = b.create<vector::ShuffleOp>(loc, v[0], v[0], pick);
    sum = sum ? add(sum, part) : part;
  }
  return sum;
}

Value LoopBuilder::hsum(Value v) {
  return b.create<vector::ReductionOp>(
      loc, b.getF32Type(),
      vector::CombiningKindAttr::get(b.getContext(),
                                     vector::CombiningKind::ADD),
      v, /*acc=*/Value(), fmf);
}
Value LoopBuilder::addi(Value x, Value y) {
  return b.create<arith::AddIOp>(loc, x, y);
}
Value LoopBuilder::subi(Value x, Value y) {
  return b.create<arith::SubIOp>(loc, x, y);
}
Value LoopBuilder::muli(Value x, Value y) {
  return b.create<arith::MulIOp>(loc, x, y);
}
Value LoopBuilder::minui(Value x, Value y) {
  return b.create<arith::MinUIOp>(loc, x, y);
}
Value LoopBuilder::maxui(Value x, Value y) {
  return b.create<arith::MaxUIOp>(loc, x, y);
}
Value LoopBuilder::ceilDivui(Value x, Value y) {
  return b.create<arith::DivUIOp>(loc, addi(x, subi(y, idx(1))), y);
}

Value LoopBuilder::silu(Value x) {
  Value negX = b.create<arith::NegFOp>(loc, x, fmf);
  return div(x, add(f32Like(x, 1.0), fexp(negX)));
}

Value LoopBuilder::softplus(Value x) {
  Value big = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT, x,
                                      f32Like(x, 20.0));
  Value soft = b.create<math::Log1pOp>(loc, fexp(x));
  return b.create<arith::SelectOp>(loc, big, x, soft);
}

void LoopBuilder::loop(Value lb, Value ub, int64_t step,
                       function_ref<void(Value)> body) {
  loop(lb, ub, idx(step), body);
}

void LoopBuilder::loop(Value lb, Value ub, Value step,
                       function_ref<void(Value)> body) {
  auto forOp = b.create<scf::ForOp>(loc, lb, ub, step);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(forOp.getBody()->getTerminator());
  body(forOp.getInductionVar());
}

SmallVector<Value>
LoopBuilder::reduce(Value lb, Value ub, int64_t step, ValueRange init,
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

std::pair<Value, Value> LoopBuilder::share(Value extent, int64_t align) {
  Value units = align == 1 ? extent : ceilDivui(extent, idx(align));
  Value lo = b.create<arith::DivUIOp>(loc, muli(units, tile), tiles);
  Value hi =
      b.create<arith::DivUIOp>(loc, muli(units, addi(tile, idx(1))), tiles);
  if (align == 1)
    return {lo, hi};
  lo = minui(muli(lo, idx(align)), extent);
  hi = minui(muli(hi, idx(align)), extent);
  return {lo, hi};
}

void LoopBuilder::barrier() {
  b.create<func::CallOp>(loc, kBarrierFunction, TypeRange{}, ValueRange{sync});
}

void LoopBuilder::copyAll(Value src, Value dst) {
  copyFlat(flatten(src), flatten(dst));
}

void LoopBuilder::copyFlat(Value src, Value dst) {
  auto [lo, hi] = share(dim(dst, 0), kVectorChunk);
  loop(lo, hi, 1, [&](Value i) { store(load(src, i), dst, i); });
}

void LoopBuilder::copyAlong(Value src, Value dst, int64_t d, Value offset) {
  SmallVector<Value> ivs;
  std::function<void(int64_t)> nest = [&](int64_t level) {
    if (level == rank(dst)) {
      SmallVector<Value> from(ivs);
      from[d] = addi(from[d], offset);
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
