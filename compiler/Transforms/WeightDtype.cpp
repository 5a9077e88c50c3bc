//===- WeightDtype.cpp - Narrow the model's matrices ------------*- C++ -*-===//
//
// Implements --coil-weight-dtype: the weights that only linear layers and
// embeddings read take the requested element type; every other parameter,
// activation and state keeps its own.
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

/// The element type `name` spells, or null.
Type parseDtype(MLIRContext *context, llvm::StringRef name) {
  Builder b(context);
  if (name == "f32")
    return b.getF32Type();
  if (name == "bf16")
    return b.getBF16Type();
  if (name == "f16")
    return b.getF16Type();
  return Type();
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
                         << "' (expected f32, bf16 or f16)";
      return signalPassFailure();
    }
    // A weight is narrowed only if every op of every function that names it
    // reads it as a matrix, so a name keeps one type in the whole module.
    llvm::StringMap<bool> narrowable;
    module.walk([&](WeightOp weight) {
      auto [it, inserted] = narrowable.try_emplace(weight.getName(), true);
      it->second = it->second && onlyMatrixUses(weight) &&
                   isa<FloatType>(weight.getType().getElementType());
    });
    module.walk([&](WeightOp weight) {
      if (!narrowable.lookup(weight.getName()))
        return;
      weight.getResult().setType(weight.getType().clone(element));
    });
  }
};

} // namespace
