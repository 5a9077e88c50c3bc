//===- WeightDtype.cpp - Narrow the model's matrices ------------*- C++ -*-===//
//
// Implements --coil-weight-dtype: the weights that only linear layers and
// embeddings read take the requested element type (int8: the matrix and
// its per-row scales); every other parameter, activation and state keeps
// its own.
//
//===----------------------------------------------------------------------===//

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

/// The element type `name` spells (int8: i8), or null.
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
  return Type();
}

/// Turns `weight` into its int8 matrix and gives every reader its scales,
/// a `coil.weight ... scales` right after it.
void quantizeInt8(WeightOp weight) {
  OpBuilder b(weight->getContext());
  b.setInsertionPointAfter(weight);
  RankedTensorType type = weight.getType();
  auto scales = b.create<WeightOp>(
      weight.getLoc(),
      RankedTensorType::get({type.getDimSize(0)}, b.getF32Type()),
      weight.getName(), /*scales=*/true);
  weight.getResult().setType(type.clone(b.getI8Type()));
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
                         << "' (expected f32, bf16, f16 or int8)";
      return signalPassFailure();
    }
    // A weight is narrowed only if every op of every function that names it
    // reads it as a matrix, so a name keeps one type in the whole module.
    llvm::StringMap<bool> narrowable;
    module.walk([&](WeightOp weight) {
      auto [it, inserted] = narrowable.try_emplace(weight.getName(), true);
      it->second = it->second && onlyMatrixUses(weight) &&
                   !weight.getScales() && weight.getType().getRank() == 2 &&
                   isa<FloatType>(weight.getType().getElementType());
    });
    SmallVector<WeightOp> chosen;
    module.walk([&](WeightOp weight) {
      if (narrowable.lookup(weight.getName()))
        chosen.push_back(weight);
    });
    for (WeightOp weight : chosen) {
      if (element.isInteger(8))
        quantizeInt8(weight);
      else
        weight.getResult().setType(weight.getType().clone(element));
    }
  }
};

} // namespace
