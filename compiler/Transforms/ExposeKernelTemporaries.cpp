//===- ExposeKernelTemporaries.cpp - Kernel temporaries as results -*- C++
//-*-===//
//
// Implements --coil-expose-kernel-temporaries (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "compiler/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::coil {
#define GEN_PASS_DEF_COILEXPOSEKERNELTEMPORARIESPASS
#include "compiler/Transforms/Passes.h.inc"
} // namespace mlir::coil

using namespace mlir;

namespace {

struct CoilExposeKernelTemporariesPass
    : public coil::impl::CoilExposeKernelTemporariesPassBase<
          CoilExposeKernelTemporariesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> kernels;
    for (auto fn : module.getOps<func::FuncOp>())
      if (fn->hasAttr("coil.kernel") && !fn.isExternal())
        kernels.push_back(fn);

    for (func::FuncOp fn : kernels) {
      auto ret = cast<func::ReturnOp>(fn.getBody().front().getTerminator());
      llvm::SetVector<Value> results(ret.getOperands().begin(),
                                     ret.getOperands().end());
      unsigned before = ret.getNumOperands();
      SmallVector<Value> values(ret.getOperands());
      for (Operation &op : fn.getBody().front().without_terminator())
        for (Value r : op.getResults())
          if (!results.contains(r))
            values.push_back(r);
      if (values.size() == before)
        continue;
      OpBuilder b(ret);
      b.create<func::ReturnOp>(ret.getLoc(), values);
      ret.erase();
      SmallVector<Type> types;
      for (Value v : values)
        types.push_back(v.getType());
      fn.setFunctionType(
          b.getFunctionType(fn.getFunctionType().getInputs(), types));

      std::optional<SymbolTable::UseRange> uses =
          SymbolTable::getSymbolUses(fn, module);
      if (!uses) {
        fn.emitError("has uses the pass cannot update");
        return signalPassFailure();
      }
      for (const SymbolTable::SymbolUse &use : *uses) {
        auto call = dyn_cast<func::CallOp>(use.getUser());
        if (!call) {
          use.getUser()->emitError("uses kernel @")
              << fn.getName() << " other than by a call";
          return signalPassFailure();
        }
        b.setInsertionPoint(call);
        auto wider =
            b.create<func::CallOp>(call.getLoc(), fn, call.getOperands());
        for (auto [from, to] : llvm::zip(call.getResults(),
                                         wider.getResults().take_front(before)))
          from.replaceAllUsesWith(to);
        call.erase();
      }
    }
  }
};

} // namespace
