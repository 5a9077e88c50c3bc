//===- EmitRuntimeABI.cpp - Runtime entry symbols and metadata --*- C++ -*-===//
//
// Implements --coil-emit-runtime-abi (see Passes.td and docs/abi.md).
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/Passes.h"

#include "runtime/include/coil/abi.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"

namespace mlir::coil {
#define GEN_PASS_DEF_COILEMITRUNTIMEABIPASS
#include "compiler/Conversion/Passes.h.inc"
} // namespace mlir::coil

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kCInterfacePrefix = "_mlir_ciface_";

struct CoilEmitRuntimeABIPass
    : public coil::impl::CoilEmitRuntimeABIPassBase<CoilEmitRuntimeABIPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    OpBuilder b(ctx);
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    auto voidType = LLVM::LLVMVoidType::get(ctx);

    SmallVector<LLVM::LLVMFuncOp> interfaces;
    for (auto fn : module.getOps<LLVM::LLVMFuncOp>())
      if (fn.getName().starts_with(kCInterfacePrefix) && !fn.isExternal())
        interfaces.push_back(fn);

    auto i64 = IntegerType::get(ctx, 64);
    for (LLVM::LLVMFuncOp fn : interfaces) {
      StringRef name = fn.getName().drop_front(kCInterfacePrefix.size());
      Location loc = fn.getLoc();
      ArrayRef<Type> params = fn.getFunctionType().getParams();
      if (params.size() < 3 || params[params.size() - 3] != i64 ||
          params[params.size() - 2] != i64 ||
          !isa<LLVM::LLVMPointerType>(params.back())) {
        fn.emitError("kernel interface does not end with (tile, tiles, sync)");
        return signalPassFailure();
      }
      b.setInsertionPointToEnd(module.getBody());
      auto wrapper = b.create<LLVM::LLVMFuncOp>(
          loc, (COIL_KERNEL_SYMBOL_PREFIX + name).str(),
          LLVM::LLVMFunctionType::get(voidType, {ptr, i64, i64, ptr}));
      Block *entry = wrapper.addEntryBlock(b);
      b.setInsertionPointToStart(entry);
      SmallVector<Value> args;
      for (auto [i, type] : llvm::enumerate(params.drop_back(3))) {
        if (!isa<LLVM::LLVMPointerType>(type)) {
          fn.emitError("kernel interface argument ")
              << i << " is not a descriptor pointer";
          return signalPassFailure();
        }
        Value slot = b.create<LLVM::GEPOp>(
            loc, ptr, ptr, entry->getArgument(0),
            ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(i)});
        args.push_back(b.create<LLVM::LoadOp>(loc, ptr, slot));
      }
      for (unsigned i = 1; i <= 3; ++i)
        args.push_back(entry->getArgument(i));
      b.create<LLVM::CallOp>(loc, fn, args);
      b.create<LLVM::ReturnOp>(loc, ValueRange{});
    }

    // coil_kernel_barrier(sync) calls the function stored first in sync;
    // coil_kernel_enter/exit(sync, tile, kernel) the second and third.
    auto defineHook = [&](StringRef name, int32_t slot) {
      auto hook = module.lookupSymbol<LLVM::LLVMFuncOp>(name);
      if (!hook || !hook.isExternal())
        return;
      Location loc = hook.getLoc();
      hook.setLinkage(LLVM::Linkage::Internal);
      Block *entry = hook.addEntryBlock(b);
      b.setInsertionPointToStart(entry);
      Value sync = entry->getArgument(0);
      Value field = b.create<LLVM::GEPOp>(loc, ptr, ptr, sync,
                                          ArrayRef<LLVM::GEPArg>{slot});
      Value fn = b.create<LLVM::LoadOp>(loc, ptr, field);
      SmallVector<Value> args{fn};
      llvm::append_range(args, entry->getArguments());
      b.create<LLVM::CallOp>(loc,
                             LLVM::LLVMFunctionType::get(
                                 voidType, hook.getFunctionType().getParams()),
                             args);
      b.create<LLVM::ReturnOp>(loc, ValueRange{});
    };
    defineHook("coil_kernel_barrier", COIL_SYNC_SLOT_WAIT);
    defineHook("coil_kernel_enter", COIL_SYNC_SLOT_ENTER);
    defineHook("coil_kernel_exit", COIL_SYNC_SLOT_EXIT);

    auto metadata = module->getAttrOfType<StringAttr>("coil.metadata");
    if (!metadata) {
      module.emitError("no coil.metadata attribute: run "
                       "--coil-extract-schedule before lowering");
      return signalPassFailure();
    }
    std::string text = metadata.getValue().str();
    text.push_back('\0');
    b.setInsertionPointToStart(module.getBody());
    auto arrayType =
        LLVM::LLVMArrayType::get(IntegerType::get(ctx, 8), text.size());
    b.create<LLVM::GlobalOp>(module.getLoc(), arrayType, /*isConstant=*/true,
                             LLVM::Linkage::External,
                             COIL_MODEL_METADATA_SYMBOL, b.getStringAttr(text));
    module->removeAttr("coil.metadata");

    // The content checksum, written into the linked library by the back end
    // (compiler/Target). Non-zero, so the section holds file bytes.
    auto checksum = b.create<LLVM::GlobalOp>(
        module.getLoc(), IntegerType::get(ctx, 64), /*isConstant=*/true,
        LLVM::Linkage::External, COIL_MODEL_CHECKSUM_SYMBOL,
        b.getI64IntegerAttr(-1), /*alignment=*/8);
    checksum.setSectionAttr(b.getStringAttr(COIL_MODEL_CHECKSUM_SECTION));
  }
};

} // namespace
