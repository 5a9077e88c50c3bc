//===- OutlineKernels.cpp - Outline and de-duplicate kernels ----*- C++ -*-===//
//
// Implements --coil-outline-kernels. Kernels are bucketed by name, input and
// result types, and compared with OperationEquivalence (block arguments and
// results mapped, locations ignored); each class becomes one private
// function, and every kernel becomes a call to it.
//
//===----------------------------------------------------------------------===//

#include "compiler/Transforms/Passes.h"

#include "dialects/Coil/IR/CoilOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::coil {
#define GEN_PASS_DEF_COILOUTLINEKERNELSPASS
#include "compiler/Transforms/Passes.h.inc"
} // namespace mlir::coil

using namespace mlir;
using namespace mlir::coil;

namespace {

/// Kernels that share one outlined function.
struct KernelClass {
  KernelOp prototype;
  SmallVector<KernelOp> members;
};

bool sameKernel(KernelOp a, KernelOp b) {
  return a.getName() == b.getName() &&
         llvm::equal(a.getInputs().getTypes(), b.getInputs().getTypes()) &&
         llvm::equal(a.getResultTypes(), b.getResultTypes()) &&
         OperationEquivalence::isRegionEquivalentTo(
             &a.getBody(), &b.getBody(), OperationEquivalence::IgnoreLocations);
}

struct CoilOutlineKernelsPass
    : public coil::impl::CoilOutlineKernelsPassBase<CoilOutlineKernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<KernelClass> classes;
    module.walk([&](KernelOp kernel) {
      for (KernelClass &c : classes)
        if (sameKernel(c.prototype, kernel)) {
          c.members.push_back(kernel);
          return;
        }
      classes.push_back({kernel, {kernel}});
    });

    SymbolTable symbols(module);
    OpBuilder builder(module.getContext());
    for (KernelClass &c : classes) {
      KernelOp proto = c.prototype;
      builder.setInsertionPointToEnd(module.getBody());
      auto fn = builder.create<func::FuncOp>(
          proto.getLoc(), proto.getName(),
          builder.getFunctionType(proto.getInputs().getTypes(),
                                  proto.getResultTypes()));
      fn.setPrivate();
      fn->setAttr("coil.kernel", builder.getUnitAttr());
      fn->setAttr("coil.calls", builder.getI64IntegerAttr(c.members.size()));
      symbols.insert(fn); // renames on collision: name_0, name_1, ...

      // The prototype's body becomes the function body.
      IRMapping mapping;
      proto.getBody().cloneInto(&fn.getBody(), mapping);
      Block &entry = fn.getBody().front();
      auto yield = cast<YieldOp>(entry.getTerminator());
      builder.setInsertionPoint(yield);
      builder.create<func::ReturnOp>(yield.getLoc(), yield.getValues());
      yield.erase();

      for (KernelOp kernel : c.members) {
        builder.setInsertionPoint(kernel);
        auto call = builder.create<func::CallOp>(kernel.getLoc(), fn,
                                                 kernel.getInputs());
        kernel.replaceAllUsesWith(call.getResults());
        kernel.erase();
      }
    }
  }
};

} // namespace
