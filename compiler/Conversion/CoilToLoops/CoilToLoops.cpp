//===- CoilToLoops.cpp - Lower coil kernels to loops on memrefs -*- C++ -*-===//
//
// Implements --convert-coil-to-loops (see Passes.td). Each outlined kernel
// function is rewritten in destination-passing style on memrefs; every coil
// op of its body becomes a loop nest written by its family's lowering
// (OpLowerings.h, one file per family) with the shared LoopBuilder.
// Reductions carry their accumulators in scf.for iter_args and allow
// reassociation, so LLVM vectorises them.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/Passes.h"

#include "compiler/Codegen/CPU/LoweringConfig.h"
#include "compiler/Conversion/CoilToLoops/LoopBuilder.h"
#include "compiler/Conversion/CoilToLoops/OpLowerings.h"
#include "dialects/Coil/IR/CoilOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/IR/Builders.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mlir::coil {
#define GEN_PASS_DEF_CONVERTCOILTOLOOPSPASS
#include "compiler/Conversion/Passes.h.inc"
} // namespace mlir::coil

using namespace mlir;
using namespace mlir::coil;

LogicalResult mlir::coil::lowerOp(LoopBuilder &lb, Operation *op,
                                  ArrayRef<Value> in, ArrayRef<Value> out) {
  lb.loc = op->getLoc();
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<LinearOp>(
          [&](Operation *o) { return lowerContraction(lb, o, in, out); })
      .Case<RmsNormOp, LayerNormOp>(
          [&](Operation *o) { return lowerNorm(lb, o, in, out); })
      .Case<SiluOp, GeluOp, SoftplusOp, Relu2Op, ExpOp, NegOp, AddOp, MulOp,
            SubOp>(
          [&](Operation *o) { return lowerElementwise(lb, o, in, out); })
      .Case<EmbedOp, SliceOp, SplitOp, ReshapeOp>(
          [&](Operation *o) { return lowerDataMovement(lb, o, in, out); })
      .Case<Conv1dCausalOp>(
          [&](Operation *o) { return lowerConv(lb, o, in, out); })
      .Case<ScanOp>([&](Operation *o) { return lowerScan(lb, o, in, out); })
      .Case<SsdScanOp>(
          [&](Operation *o) { return lowerSsdScan(lb, o, in, out); })
      .Case<RopeOp, AttentionOp>(
          [&](Operation *o) { return lowerAttention(lb, o, in, out); })
      .Default([&](Operation *o) {
        return o->emitOpError("cannot be lowered to loops");
      });
}

namespace {

//===----------------------------------------------------------------------===//
// Kernel functions: tensors -> memrefs in destination-passing style
//===----------------------------------------------------------------------===//

MemRefType toMemRef(Type t) {
  auto tensor = cast<RankedTensorType>(t);
  return MemRefType::get(tensor.getShape(), tensor.getElementType());
}

/// Whether operand `i` of `op` is a matrix the lowering widens in
/// registers, so it may be stored as bf16, f16 or int8: a linear's weight,
/// an embedding's table.
bool isWidenedMatrix(Operation *op, unsigned i) {
  if (auto linear = dyn_cast<LinearOp>(op))
    return op->getOperand(i) == linear.getWeight() &&
           linear.getInput() != linear.getWeight();
  return isa<EmbedOp>(op) && i == 0;
}

LogicalResult checkTypes(func::FuncOp fn) {
  WalkResult r = fn.walk([&](Operation *op) {
    SmallVector<std::pair<Type, bool>> types;
    for (auto [i, t] : llvm::enumerate(op->getOperandTypes()))
      types.push_back({t, isWidenedMatrix(op, i)});
    for (Type t : op->getResultTypes())
      types.push_back({t, false});
    for (auto [t, widened] : types)
      if (auto tensor = dyn_cast<RankedTensorType>(t)) {
        Type e = tensor.getElementType();
        if (e.isF32() || e.isInteger(32) || e.isInteger(64) ||
            (widened &&
             (e.isBF16() || e.isF16() || e.isInteger(8) || e.isInteger(4))))
          continue;
        op->emitOpError() << "cannot be lowered to loops: element type " << e
                          << " (data is f32; only the weights of linears "
                             "and embedding tables may be bf16, f16, i8 or "
                             "i4)";
        return WalkResult::interrupt();
      }
    return WalkResult::advance();
  });
  return failure(r.wasInterrupted());
}

LogicalResult lowerKernel(func::FuncOp fn) {
  if (failed(checkTypes(fn)))
    return failure();
  MLIRContext *ctx = fn.getContext();
  FunctionType type = fn.getFunctionType();
  Block &oldBody = fn.getBody().front();
  auto ret = cast<func::ReturnOp>(oldBody.getTerminator());

  // Every value the kernel computes must be one of its results, so that the
  // runtime owns (and all tiles share) every buffer it writes.
  for (Operation &op : oldBody.without_terminator())
    for (Value r : op.getResults())
      if (!llvm::is_contained(ret.getOperands(), r))
        return op.emitOpError("computes a value the kernel does not return; "
                              "run --coil-expose-kernel-temporaries first");

  auto *body = new Block();
  SmallVector<Type> argTypes;
  SmallVector<Type> tensorTypes(type.getInputs());
  llvm::append_range(tensorTypes, type.getResults());
  SmallVector<Attribute> layouts(tensorTypes.size());
  for (unsigned i = 0; i < type.getNumInputs(); ++i)
    layouts[i] = fn.getArgAttr(i, kLayoutAttrName);
  for (auto [t, layout] : llvm::zip(tensorTypes, layouts)) {
    MemRefType memref = toMemRef(t);
    // A weight packed in panels of n0 rows: [ceil(N / n0), K, n0].
    if (int64_t n0 = panelWidthOf(layout)) {
      if (memref.getRank() != 2 || !memref.hasStaticShape()) {
        delete body;
        return fn.emitError("a packed weight argument must be a static "
                            "[N, K] matrix, found ")
               << t;
      }
      int64_t rows = memref.getDimSize(0), cols = memref.getDimSize(1);
      memref = MemRefType::get({(rows + n0 - 1) / n0, cols, n0},
                               memref.getElementType());
    }
    // Int4 is stored two per byte along the last extent (see abi.h).
    if (memref.getElementType().isInteger(4)) {
      SmallVector<int64_t> shape(memref.getShape());
      shape.back() = (shape.back() + 1) / 2;
      memref = MemRefType::get(shape, IntegerType::get(ctx, 8));
    }
    argTypes.push_back(memref);
    body->addArgument(argTypes.back(), fn.getLoc());
  }
  // The tile index, the tile count and the runtime's synchronisation object.
  auto index = IndexType::get(ctx);
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  for (Type t : {Type(index), Type(index), Type(ptr)}) {
    argTypes.push_back(t);
    body->addArgument(t, fn.getLoc());
  }
  unsigned numInputs = type.getNumInputs();
  unsigned numArgs = body->getNumArguments();
  Value tile = body->getArgument(numArgs - 3);
  Value tiles = body->getArgument(numArgs - 2);
  Value sync = body->getArgument(numArgs - 1);
  OpBuilder b(ctx);
  b.setInsertionPointToStart(body);

  llvm::DenseMap<Value, Value> buffer;
  for (auto [oldArg, newArg] :
       llvm::zip(oldBody.getArguments(), body->getArguments()))
    buffer[oldArg] = newArg;
  llvm::DenseMap<Value, Value> destination;
  SmallVector<std::pair<Value, Value>> copies; // (value, output)
  for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
    Value output = body->getArgument(numInputs + i);
    if (isa<BlockArgument>(v) || destination.count(v))
      copies.push_back({v, output});
    else
      destination[v] = output;
  }

  // The element-wise ops each contraction applies on its register tile
  // (coil.lowering_config's epilogue): lowered with it, not on their own.
  llvm::DenseMap<Operation *, SmallVector<Operation *>> epilogueOf;
  llvm::DenseSet<Operation *> fused;
  llvm::DenseSet<Value> early;
  for (auto linear : oldBody.getOps<LinearOp>()) {
    std::optional<ContractionConfig> config = ContractionConfig::of(linear);
    if (!config || config->epilogue.empty())
      continue;
    SmallVector<Operation *> chain = epilogueCandidates(linear, early);
    bool matches = chain.size() >= config->epilogue.size();
    for (size_t i = 0; matches && i < config->epilogue.size(); ++i)
      matches = chain[i]->getName().stripDialect() == config->epilogue[i];
    if (!matches) {
      delete body;
      return linear.emitOpError("cannot be lowered to loops: the ops after "
                                "it do not match its epilogue");
    }
    chain.resize(config->epilogue.size());
    fused.insert(chain.begin(), chain.end());
    for (Value v : chain.back()->getResults())
      early.insert(v);
    epilogueOf[linear] = std::move(chain);
  }

  // A silu the conv applies before its store (coil.lowering_config).
  llvm::DenseMap<Operation *, Operation *> siluOf;
  for (auto conv : oldBody.getOps<Conv1dCausalOp>()) {
    std::optional<ConvConfig> config = ConvConfig::of(conv);
    if (!config || !config->silu)
      continue;
    SmallVector<Operation *> chain = fusedEpilogueOf(conv);
    Operation *silu = chain.size() == 1 ? chain.front() : nullptr;
    if (!silu) {
      delete body;
      return conv.emitOpError("cannot be lowered to loops: the silu its "
                              "lowering config names is not its one reader");
    }
    fused.insert(silu);
    siluOf[conv] = silu;
  }

  // rms_norms folded into the linears reading them (their lowering
  // config's prologue): not lowered; each linear reads the norm's input.
  llvm::DenseMap<Operation *, RmsNormOp> foldedNormOf;
  for (auto linear : oldBody.getOps<LinearOp>()) {
    std::optional<ContractionConfig> config = ContractionConfig::of(linear);
    if (!config || !config->foldsNorm())
      continue;
    auto norm = linear.getInput().getDefiningOp<RmsNormOp>();
    if (!norm || !isFoldedIntoLinears(norm)) {
      delete body;
      return linear.emitOpError(
          "cannot be lowered to loops: its prologue folds an rms_norm, but "
          "its input is not an rms_norm that only such linears read");
    }
    fused.insert(norm);
    foldedNormOf[linear] = norm;
  }

  LoopBuilder lb(b, fn.getLoc(), tile, tiles, sync);
  if (auto module = fn->getParentOfType<ModuleOp>())
    if (auto target = module->getAttrOfType<DictionaryAttr>(kTargetAttrName))
      if (auto isa = target.getAs<StringAttr>("isa"))
        lb.avx512 = isa.getValue() == "avx512";
  // Tiles wait for each other before an op only where it reads a value
  // written since the last barrier (by any tile), or writes a buffer that
  // may be one read since then: a state is updated in place, so its input
  // and output are one buffer, of one type. Ops that depend on nothing
  // just before them (a parameter's transform, the conv after it) run on
  // without a wait.
  llvm::DenseSet<Value> writtenSinceBarrier;
  llvm::DenseSet<Type> argTypesReadSinceBarrier;
  bool first = true;
  for (Operation &op : oldBody.without_terminator()) {
    for (OpResult r : op.getResults())
      buffer[r] = destination.lookup(r);
    if (fused.contains(&op))
      continue;
    // What the op reads and writes, with the ops lowered with it.
    SmallVector<Value> reads(op.getOperands()), writes(op.getResults());
    if (RmsNormOp norm = foldedNormOf.lookup(&op))
      reads.front() = norm.getInput();
    if (Operation *silu = siluOf.lookup(&op))
      llvm::append_range(writes, silu->getResults());
    if (auto chain = epilogueOf.find(&op); chain != epilogueOf.end())
      for (Operation *e : chain->second) {
        llvm::append_range(reads, e->getOperands());
        llvm::append_range(writes, e->getResults());
      }
    bool waits =
        llvm::any_of(
            reads, [&](Value v) { return writtenSinceBarrier.contains(v); }) ||
        llvm::any_of(writes, [&](Value v) {
          return argTypesReadSinceBarrier.contains(v.getType());
        });
    if (!first && waits) {
      lb.barrier();
      writtenSinceBarrier.clear();
      argTypesReadSinceBarrier.clear();
    }
    first = false;
    writtenSinceBarrier.insert(writes.begin(), writes.end());
    for (Value v : reads)
      if (isa<BlockArgument>(v))
        argTypesReadSinceBarrier.insert(v.getType());
    SmallVector<Value> in, out;
    for (Value v : op.getOperands())
      in.push_back(buffer.lookup(v));
    // A linear folding a norm reads the norm's input.
    std::optional<double> normEpsilon;
    if (RmsNormOp norm = foldedNormOf.lookup(&op)) {
      in[0] = buffer.lookup(norm.getInput());
      normEpsilon = norm.getEpsilon().convertToDouble();
    }
    LogicalResult lowered = failure();
    auto chain = epilogueOf.find(&op);
    if (chain == epilogueOf.end()) {
      for (OpResult r : op.getResults())
        out.push_back(buffer[r]);
      // The conv stores silu's values, into silu's buffer.
      if (Operation *silu = siluOf.lookup(&op))
        out[0] = destination.lookup(silu->getResult(0));
      if (normEpsilon) {
        lb.loc = op.getLoc();
        lowered = lowerContraction(lb, &op, in, out, {}, Value(), normEpsilon);
      } else {
        lowered = lowerOp(lb, &op, in, out);
      }
    } else {
      // The tile stores the last epilogue op's values, into their buffers
      // (a split's pieces each into its own).
      SmallVector<EpilogueStep> steps;
      Value chained = op.getResult(0);
      for (Operation *e : chain->second) {
        EpilogueStep step{e, 0, Value()};
        for (auto [i, operand] : llvm::enumerate(e->getOperands())) {
          if (operand == chained)
            step.chained = i;
          else
            step.other = buffer.lookup(operand);
        }
        steps.push_back(step);
        for (Value r : e->getResults())
          buffer[r] = destination.lookup(r);
        chained = e->getResult(0);
      }
      for (Value r : chain->second.back()->getResults())
        out.push_back(buffer.lookup(r));
      lb.loc = op.getLoc();
      lowered = lowerContraction(lb, &op, in, out, steps,
                                 buffer.lookup(op.getResult(0)), normEpsilon);
    }
    if (failed(lowered)) {
      delete body;
      return failure();
    }
  }
  if (!copies.empty()) {
    lb.barrier();
    for (auto [v, output] : copies)
      lb.copyAll(buffer.lookup(v), output);
  }
  b.create<func::ReturnOp>(fn.getLoc());

  fn.getBody().front().dropAllReferences();
  fn.getBody().front().erase();
  fn.getBody().push_back(body);
  fn.setFunctionType(FunctionType::get(ctx, argTypes, {}));
  // A packed weight's memref type ([panels, K, n0]) says all there is to
  // know; no argument attribute survives into the LLVM dialect.
  fn.setAllArgAttrs(
      SmallVector<DictionaryAttr>(argTypes.size(), DictionaryAttr::get(ctx)));
  fn->setAttr("llvm.emit_c_interface", UnitAttr::get(ctx));
  fn.setPublic();
  return success();
}

struct ConvertCoilToLoopsPass
    : public coil::impl::ConvertCoilToLoopsPassBase<ConvertCoilToLoopsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> kernels;
    for (auto fn : module.getOps<func::FuncOp>())
      if (fn->hasAttr("coil.kernel") && !fn.isExternal())
        kernels.push_back(fn);
    for (auto fn : module.getOps<func::FuncOp>())
      if (!fn->hasAttr("coil.kernel"))
        for (auto call : fn.getOps<func::CallOp>())
          if (auto callee = module.lookupSymbol<func::FuncOp>(call.getCallee());
              callee && callee->hasAttr("coil.kernel")) {
            call.emitOpError("calls kernel @")
                << call.getCallee()
                << ", whose signature convert-coil-to-loops changes; extract "
                   "the schedule first (--coil-extract-schedule)";
            return signalPassFailure();
          }
    if (!kernels.empty() &&
        !module.lookupSymbol(LoopBuilder::kBarrierFunction)) {
      OpBuilder b(module.getBodyRegion());
      auto barrier = b.create<func::FuncOp>(
          module.getLoc(), LoopBuilder::kBarrierFunction,
          b.getFunctionType({LLVM::LLVMPointerType::get(&getContext())}, {}));
      barrier.setPrivate();
    }
    for (func::FuncOp fn : kernels)
      if (failed(lowerKernel(fn)))
        return signalPassFailure();

    // Vectorisable polynomial approximations of exp, log1p, tanh, erf...
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(patterns);
    if (failed(applyPatternsAndFoldGreedily(module, std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
