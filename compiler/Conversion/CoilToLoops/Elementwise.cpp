//===- Elementwise.cpp - Lower element-wise ops to loops --------*- C++ -*-===//

#include "compiler/Conversion/CoilToLoops/LoopBuilder.h"
#include "compiler/Conversion/CoilToLoops/OpLowerings.h"

#include "dialects/Coil/IR/CoilOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace mlir::coil;

namespace {

Value applyUnary(LoopBuilder &lb, Operation *op, Value v) {
  return llvm::TypeSwitch<Operation *, Value>(op)
      .Case([&](SiluOp) { return lb.silu(v); })
      .Case([&](SoftplusOp) { return lb.softplus(v); })
      .Case([&](ExpOp) { return lb.fexp(v); })
      .Case([&](NegOp) { return lb.b.create<arith::NegFOp>(lb.loc, v, lb.fmf); })
      .Case([&](GeluOp g) -> Value {
        if (g.getTanhApproximation()) {
          Value inner =
              lb.mul(lb.f32(std::sqrt(2.0 / M_PI)),
                     lb.add(v, lb.mul(lb.f32(0.044715),
                                      lb.mul(v, lb.mul(v, v)))));
          Value t = lb.b.create<math::TanhOp>(lb.loc, inner);
          return lb.mul(lb.mul(lb.f32(0.5), v), lb.add(lb.f32(1.0), t));
        }
        Value e =
            lb.b.create<math::ErfOp>(lb.loc, lb.mul(v, lb.f32(M_SQRT1_2)));
        return lb.mul(lb.mul(lb.f32(0.5), v), lb.add(lb.f32(1.0), e));
      });
}

} // namespace

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
    Value a = lb.load(operands[0], i);
    Value r;
    if (operands.size() == 1) {
      r = applyUnary(lb, op, a);
    } else {
      Value c = lb.load(operands[1], i);
      r = isa<AddOp>(op)   ? lb.add(a, c)
          : isa<MulOp>(op) ? lb.mul(a, c)
                           : lb.sub(a, c);
    }
    lb.store(r, y, i);
  });
  return success();
}
