//===- GraphBuilder.h - Shape-computing helpers for coil ops ----*- C++ -*-===//
//
// A thin layer over OpBuilder for the model builders: each helper computes its
// result type from its operands, so a model reads like its PyTorch forward.
// Private to models/.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_MODELS_GRAPHBUILDER_H
#define COIL_MODELS_GRAPHBUILDER_H

#include "dialects/Coil/IR/CoilOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::coil::models {

class GraphBuilder {
public:
  GraphBuilder(OpBuilder &builder, Location loc) : b(builder), loc(loc) {}

  Type f32() { return b.getF32Type(); }

  RankedTensorType tensor(ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, f32());
  }

  static ArrayRef<int64_t> shapeOf(Value v) {
    return cast<RankedTensorType>(v.getType()).getShape();
  }

  /// `v`'s shape with the last dimension replaced by `last`.
  RankedTensorType withLast(Value v, int64_t last) {
    SmallVector<int64_t> shape(shapeOf(v));
    shape.back() = last;
    return tensor(shape);
  }

  /// The parameter `name`; one op per name and function.
  Value weight(StringRef name, ArrayRef<int64_t> shape) {
    auto it = weights.find(name);
    if (it != weights.end())
      return it->second;
    Value w = b.create<WeightOp>(loc, tensor(shape), name);
    weights[name] = w;
    return w;
  }

  Value embed(Value table, Value ids) {
    SmallVector<int64_t> shape(shapeOf(ids));
    shape.push_back(shapeOf(table)[1]);
    return b.create<EmbedOp>(loc, tensor(shape), table, ids, Value());
  }

  Value linear(Value x, Value w, Value bias = {}) {
    return b.create<LinearOp>(loc, withLast(x, shapeOf(w)[0]), x, w, bias,
                              Value());
  }

  Value rmsNorm(Value x, Value w, double epsilon) {
    return rmsNorm(x, w, epsilon, /*groupSize=*/0);
  }

  /// rms_norm over groups of `groupSize` features (0: all of them).
  Value rmsNorm(Value x, Value w, double epsilon, int64_t groupSize) {
    auto op = b.create<RmsNormOp>(
        loc, x.getType(), x, w, b.getF32FloatAttr(static_cast<float>(epsilon)),
        groupSize ? b.getI64IntegerAttr(groupSize) : IntegerAttr());
    return op.getResult();
  }

  Value silu(Value x) { return b.create<SiluOp>(loc, x); }
  Value relu2(Value x) { return b.create<Relu2Op>(loc, x); }
  Value exp(Value x) { return b.create<ExpOp>(loc, x); }
  Value neg(Value x) { return b.create<NegOp>(loc, x); }
  Value add(Value x, Value y) { return b.create<AddOp>(loc, x, y); }
  Value mul(Value x, Value y) { return b.create<MulOp>(loc, x, y); }

  /// Splits the last dimension into `sizes`.
  SmallVector<Value> split(Value x, ArrayRef<int64_t> sizes) {
    SmallVector<Type> types;
    for (int64_t s : sizes)
      types.push_back(withLast(x, s));
    int64_t dim = static_cast<int64_t>(shapeOf(x).size()) - 1;
    auto op = b.create<SplitOp>(loc, types, x, dim, sizes);
    return SmallVector<Value>(op.getResults());
  }

  /// The last position of every sequence of `x` [B, T, F]: [B, 1, F].
  Value lastPosition(Value x) {
    SmallVector<int64_t> shape(shapeOf(x));
    shape[1] = 1;
    return b.create<SliceOp>(loc, tensor(shape), x, /*dim=*/1, /*offset=*/0,
                             /*size=*/1, /*from_end=*/true);
  }

  Value reshape(Value x, ArrayRef<int64_t> shape) {
    return b.create<ReshapeOp>(loc, tensor(shape), x);
  }

  Value rope(Value x, Value positions, int64_t heads, double theta) {
    return b.create<RopeOp>(loc, x.getType(), x, positions,
                            b.getI64IntegerAttr(heads),
                            b.getF64FloatAttr(theta));
  }

  OpBuilder &builder() { return b; }
  Location location() { return loc; }

private:
  OpBuilder &b;
  Location loc;
  llvm::StringMap<Value> weights;
};

} // namespace mlir::coil::models

#endif // COIL_MODELS_GRAPHBUILDER_H
