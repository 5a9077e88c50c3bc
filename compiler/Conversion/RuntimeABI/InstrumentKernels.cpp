//===- InstrumentKernels.cpp - Profiler hooks in every kernel ---*- C++ -*-===//
//
// Implements --coil-instrument-kernels (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/Passes.h"

#include "mlir/IR/Builders.h"
#include "llvm/Support/JSON.h"

namespace mlir::coil {
#define GEN_PASS_DEF_COILINSTRUMENTKERNELSPASS
#include "compiler/Conversion/Passes.h.inc"
} // namespace mlir::coil

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kEnter = "coil_kernel_enter";
constexpr llvm::StringLiteral kExit = "coil_kernel_exit";

struct CoilInstrumentKernelsPass
    : public coil::impl::CoilInstrumentKernelsPassBase<
          CoilInstrumentKernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    OpBuilder b(ctx);
    auto index = b.getIndexType();
    auto ptr = LLVM::LLVMPointerType::get(ctx);

    SmallVector<func::FuncOp> kernels;
    for (auto fn : module.getOps<func::FuncOp>())
      if (fn->hasAttr("coil.kernel") && !fn.isExternal())
        kernels.push_back(fn);
    if (kernels.empty())
      return;

    b.setInsertionPointToStart(module.getBody());
    for (StringRef name : {kEnter, kExit})
      if (!module.lookupSymbol(name))
        b.create<func::FuncOp>(module.getLoc(), name,
                               b.getFunctionType({ptr, index, index}, {}))
            .setPrivate();

    for (func::FuncOp fn : kernels) {
      auto id = fn->getAttrOfType<IntegerAttr>("coil.kernel_index");
      unsigned n = fn.getNumArguments();
      if (!id || n < 3 ||
          !isa<LLVM::LLVMPointerType>(fn.getArgument(n - 1).getType())) {
        fn.emitError("is not a lowered kernel with a schedule index: run "
                     "--coil-loops-pipeline first");
        return signalPassFailure();
      }
      Value tile = fn.getArgument(n - 3), sync = fn.getArgument(n - 1);
      Block &entry = fn.getBody().front();
      b.setInsertionPointToStart(&entry);
      Value kernel = b.create<arith::ConstantIndexOp>(fn.getLoc(), id.getInt());
      b.create<func::CallOp>(fn.getLoc(), kEnter, TypeRange{},
                             ValueRange{sync, tile, kernel});
      fn.walk([&](func::ReturnOp ret) {
        b.setInsertionPoint(ret);
        b.create<func::CallOp>(ret.getLoc(), kExit, TypeRange{},
                               ValueRange{sync, tile, kernel});
      });
    }

    // Record in the metadata that the hooks are called.
    if (auto metadata = module->getAttrOfType<StringAttr>("coil.metadata")) {
      llvm::Expected<llvm::json::Value> parsed =
          llvm::json::parse(metadata.getValue());
      if (!parsed || !parsed->getAsObject()) {
        if (!parsed)
          llvm::consumeError(parsed.takeError());
        module.emitError("coil.metadata is not a JSON object");
        return signalPassFailure();
      }
      (*parsed->getAsObject())["profiled"] = true;
      std::string text;
      llvm::raw_string_ostream os(text);
      os << *parsed;
      module->setAttr("coil.metadata", StringAttr::get(ctx, text));
    }
  }
};

} // namespace
