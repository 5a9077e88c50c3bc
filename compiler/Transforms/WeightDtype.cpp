//===- WeightDtype.cpp - Narrow the model's matrices ------------*- C++ -*-===//
//
// Implements --coil-weight-dtype: the weights that only linear layers and
// embeddings read take the requested element type (int8: the matrix and
// its per-row scales); every other parameter, activation and state keeps
// its own.
//
//===----------------------------------------------------------------------===//

#include "compiler/Transforms/WeightDtype.h"
#include "compiler/Transforms/Passes.h"

#include "dialects/Coil/IR/CoilOps.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::coil {
#define GEN_PASS_DEF_COILWEIGHTDTYPEPASS
#include "compiler/Transforms/Passes.h.inc"
} // namespace mlir::coil

using namespace mlir;
using namespace mlir::coil;

namespace {

/// The element type `name` spells (int8: i8, int4: i4), or null.
Type parseDtype(MLIRContext *context, llvm::StringRef name) {
  Builder b(context);
  if (name == "f32")
    return b.getF32Type();
  if (name == "bf16")
    return b.getBF16Type();
  if (name == "f16")
    return b.getF16Type();
  if (name == "int8")
    return b.getI8Type();
  if (name == "int4")
    return b.getIntegerType(4);
  return Type();
}

/// Turns `weight` into its quantized matrix (`element`: i8, or i4 in
/// groups of 32 along K) and gives every reader its scales, a `coil.weight
/// ... scales` right after it ([N], or [N, K / 32]).
void quantize(WeightOp weight, Type element) {
  OpBuilder b(weight->getContext());
  b.setInsertionPointAfter(weight);
  RankedTensorType type = weight.getType();
  SmallVector<int64_t, 2> scaleShape{type.getDimSize(0)};
  if (element.isInteger(4))
    scaleShape.push_back(type.getDimSize(1) / 32);
  auto scales = b.create<WeightOp>(
      weight.getLoc(), RankedTensorType::get(scaleShape, b.getF32Type()),
      weight.getName(), /*scales=*/true);
  weight.getResult().setType(type.clone(element));
  for (Operation *user : weight->getUsers()) {
    if (auto linear = dyn_cast<LinearOp>(user))
      linear.getScaleMutable().assign(scales);
    else if (auto embed = dyn_cast<EmbedOp>(user))
      embed.getScaleMutable().assign(scales);
  }
}

/// Whether every use of `weight` reads it as a matrix the lowering widens
/// in registers: a linear's weight or an embedding's table.
bool onlyMatrixUses(WeightOp weight) {
  return llvm::all_of(weight->getUses(), [](OpOperand &use) {
    if (auto linear = dyn_cast<LinearOp>(use.getOwner()))
      return use.get() == linear.getWeight() &&
             linear.getInput() != use.get() && linear.getBias() != use.get();
    if (auto embed = dyn_cast<EmbedOp>(use.getOwner()))
      return use.getOperandNumber() == 0;
    return false;
  });
}

struct CoilWeightDtypePass
    : public coil::impl::CoilWeightDtypePassBase<CoilWeightDtypePass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    Type element = parseDtype(&getContext(), dtype);
    if (!element) {
      module.emitError() << "unknown weight dtype '" << dtype
                         << "' (expected f32, bf16, f16, int8 or int4)";
      return signalPassFailure();
    }
    llvm::StringSet<> narrowable = coil::narrowableWeights(module);
    SmallVector<WeightOp> chosen;
    module.walk([&](WeightOp weight) {
      if (narrowable.contains(weight.getName()))
        chosen.push_back(weight);
    });
    for (WeightOp weight : chosen) {
      // int4 groups of 32 along K: a matrix whose K is not a multiple of
      // 32 (Mamba's dt_proj, K = dt_rank) takes int8 instead.
      if (element.isInteger(4) && weight.getType().getDimSize(1) % 32 != 0)
        quantize(weight, IntegerType::get(&getContext(), 8));
      else if (element.isInteger(8) || element.isInteger(4))
        quantize(weight, element);
      else
        weight.getResult().setType(weight.getType().clone(element));
    }
  }
};

} // namespace

llvm::StringSet<> mlir::coil::narrowableWeights(ModuleOp module) {
  // A weight is narrowed only if every op of every function that names it
  // reads it as a matrix, so a name keeps one type in the whole module.
  llvm::StringMap<bool> matrix;
  module.walk([&](WeightOp weight) {
    auto [it, inserted] = matrix.try_emplace(weight.getName(), true);
    it->second = it->second && onlyMatrixUses(weight) && !weight.getScales() &&
                 weight.getType().getRank() == 2 &&
                 isa<FloatType>(weight.getType().getElementType());
  });
  llvm::StringSet<> names;
  for (auto &entry : matrix)
    if (entry.getValue())
      names.insert(entry.getKey());
  return names;
}
