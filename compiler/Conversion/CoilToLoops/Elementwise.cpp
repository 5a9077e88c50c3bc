//===- Elementwise.cpp - Lower element-wise ops to loops --------*- C++ -*-===//

#include "compiler/Conversion/CoilToLoops/LoopBuilder.h"
#include "compiler/Conversion/CoilToLoops/OpLowerings.h"

#include "dialects/Coil/IR/CoilOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace mlir::coil;

Value mlir::coil::applyElementwise(LoopBuilder &lb, Operation *op,
                                   ValueRange operands) {
  Value v = operands[0];
  auto c = [&](double value) { return lb.f32Like(v, value); };
  return llvm::TypeSwitch<Operation *, Value>(op)
      .Case([&](SiluOp) { return lb.silu(v); })
      .Case([&](SoftplusOp) { return lb.softplus(v); })
      .Case([&](Relu2Op) {
        Value r = lb.b.create<arith::MaximumFOp>(lb.loc, v, c(0.0));
        return lb.mul(r, r);
      })
      .Case([&](ExpOp) { return lb.fexp(v); })
      .Case(
          [&](NegOp) { return lb.b.create<arith::NegFOp>(lb.loc, v, lb.fmf); })
      .Case([&](GeluOp g) -> Value {
        if (g.getTanhApproximation()) {
          Value inner =
              lb.mul(c(std::sqrt(2.0 / M_PI)),
                     lb.add(v, lb.mul(c(0.044715), lb.mul(v, lb.mul(v, v)))));
          Value t = lb.b.create<math::TanhOp>(lb.loc, inner);
          return lb.mul(lb.mul(c(0.5), v), lb.add(c(1.0), t));
        }
        Value e = lb.b.create<math::ErfOp>(lb.loc, lb.mul(v, c(M_SQRT1_2)));
        return lb.mul(lb.mul(c(0.5), v), lb.add(c(1.0), e));
      })
      .Case([&](AddOp) { return lb.add(v, operands[1]); })
      .Case([&](MulOp) { return lb.mul(v, operands[1]); })
      .Case([&](SubOp) { return lb.sub(v, operands[1]); });
}

/// Over the flattened elements; tiles split them in chunks of
/// LoopBuilder::kVectorChunk.
LogicalResult mlir::coil::lowerElementwise(LoopBuilder &lb, Operation *op,
                                           ArrayRef<Value> in,
                                           ArrayRef<Value> out) {
  Value y = lb.flatten(out[0]);
  SmallVector<Value> operands;
  for (Value v : in)
    operands.push_back(lb.flatten(v));
  auto [lo, hi] = lb.share(lb.dim(y, 0), LoopBuilder::kVectorChunk);
  lb.loop(lo, hi, 1, [&](Value i) {
    SmallVector<Value> values;
    for (Value operand : operands)
      values.push_back(lb.load(operand, i));
    lb.store(applyElementwise(lb, op, values), y, i);
  });
  return success();
}
