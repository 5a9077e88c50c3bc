//===- SelectStrategy.cpp - Per-kernel lowering choices ---------*- C++ -*-===//
//
// Implements --coil-cpu-select-strategy (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "compiler/Codegen/CPU/Passes.h"

#include "compiler/Codegen/CPU/CpuTarget.h"
#include "compiler/Codegen/CPU/LoweringConfig.h"
#include "dialects/Coil/IR/CoilOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/DenseSet.h"

#include <algorithm>

namespace mlir::coil {
#define GEN_PASS_DEF_COILCPUSELECTSTRATEGYPASS
#include "compiler/Codegen/CPU/Passes.h.inc"
} // namespace mlir::coil

using namespace mlir;
using namespace mlir::coil;

namespace {

/// The scan's decays of one chunk of time steps: half of a 32 KiB L1 (the
/// smallest of the x86-64 cores targeted), leaving room for the inputs
/// the chunk streams through.
constexpr int64_t kScanChunkBytes = 16 * 1024;

/// The register tile of each micro-kernel family: mr rows x nr features.
ContractionConfig tileFor(const CpuTarget &target) {
  ContractionConfig c;
  c.isa = cpuIsaName(target.isa);
  c.lanes = target.f32Lanes();
  switch (target.isa) {
  case CpuIsa::AVX512:
    // 12 x 2 zmm accumulators, 2 weight vectors, 1 broadcast: 27 of 32.
    c.mr = 12;
    c.nr = 2 * c.lanes;
    break;
  case CpuIsa::AVX2:
  case CpuIsa::X86_64:
    // 6 x 2 accumulators, 2 weight vectors, 1 broadcast: 15 of 16.
    c.mr = 6;
    c.nr = 2 * c.lanes;
    break;
  }
  return c;
}

/// The attention blocks of each family: one vector of queries, a score
/// tile of `keys` accumulators, a value tile of rows x columns
/// accumulators, within the vector registers with room for the loads.
AttentionConfig attentionFor(const CpuTarget &target) {
  AttentionConfig c;
  c.isa = cpuIsaName(target.isa);
  c.lanes = target.f32Lanes();
  c.queries = c.lanes;
  switch (target.isa) {
  case CpuIsa::AVX512:
    // Scores: 16 accumulators + a query vector + a broadcast key element;
    // values: 8 x 2 accumulators + 2 value vectors + a broadcast weight.
    c.keys = 16;
    c.rows = 8;
    c.columns = 2 * c.lanes;
    break;
  case CpuIsa::AVX2:
  case CpuIsa::X86_64:
    // Scores: 12 + 2 of 16 registers; values: 4 x 2 + 3.
    c.keys = 12;
    c.rows = 4;
    c.columns = 2 * c.lanes;
    break;
  }
  return c;
}

/// Whether kernel argument `arg` can be packed at bind time: only linear
/// layers read it, as their weight, and every call site passes a model
/// parameter (a coil.weight) for it.
bool isPackable(BlockArgument arg, ArrayRef<func::CallOp> calls) {
  if (arg.use_empty())
    return false;
  for (OpOperand &use : arg.getUses()) {
    auto linear = dyn_cast<LinearOp>(use.getOwner());
    if (!linear || use.get() != linear.getWeight() ||
        linear.getInput() == arg || linear.getBias() == arg ||
        linear.getScale() == arg)
      return false;
  }
  if (calls.empty())
    return false;
  for (func::CallOp call : calls)
    if (!call.getOperand(arg.getArgNumber()).getDefiningOp<WeightOp>())
      return false;
  return true;
}

/// Whether any call site of the kernel reads `v`, one of its results.
bool readByCaller(Value v, func::ReturnOp ret, ArrayRef<func::CallOp> calls) {
  for (auto [i, operand] : llvm::enumerate(ret.getOperands()))
    if (operand == v)
      for (func::CallOp call : calls)
        if (!call.getResult(i).use_empty())
          return true;
  return false;
}

/// The epilogue of `linear`: the candidates whose input values nobody but
/// the next op reads, so they need not be written; none of them reads a
/// value an earlier epilogue left unwritten.
SmallVector<Operation *> chooseEpilogue(LinearOp linear, func::ReturnOp ret,
                                        ArrayRef<func::CallOp> calls,
                                        llvm::DenseSet<Value> &unwritten,
                                        llvm::DenseSet<Value> &early,
                                        int64_t panelWidth) {
  SmallVector<Operation *> chosen;
  Value current = linear.getResult();
  for (Operation *op : epilogueCandidates(linear, early)) {
    if (readByCaller(current, ret, calls) || calls.empty())
      break;
    // A split is fused when every piece is whole panels.
    if (auto split = dyn_cast<SplitOp>(op))
      if (llvm::any_of(split.getSizes(),
                       [&](int64_t size) { return size % panelWidth != 0; }))
        break;
    if (llvm::any_of(op->getOperands(),
                     [&](Value v) { return unwritten.contains(v); }))
      break;
    unwritten.insert(current);
    chosen.push_back(op);
    current = op->getResult(0);
  }
  if (!chosen.empty())
    for (Value v : chosen.back()->getResults())
      early.insert(v);
  return chosen;
}

/// The weight argument of the kernel that `linear` reads packed and alone,
/// or null.
BlockArgument soleWeightArgument(LinearOp linear) {
  auto arg = dyn_cast<BlockArgument>(linear.getWeight());
  if (!arg || !arg.hasOneUse())
    return BlockArgument();
  return arg;
}

/// Folds `norm` into the linears reading it when that is cheaper than
/// writing its rows: its weight is a model parameter at every call site, no
/// caller reads its result, and every reader is a linear whose packed
/// weight nobody else reads (the panels then hold that weight times the
/// norm's). Each linear then reads the norm's input and scales its sums by
/// the row's 1 / rms (ContractionConfig::prologue).
void foldNormIntoLinears(RmsNormOp norm, func::ReturnOp ret,
                         ArrayRef<func::CallOp> calls) {
  auto scale = dyn_cast<BlockArgument>(norm.getWeight());
  Value y = norm.getResult();
  // A grouped norm scales each group of a row by its own 1 / rms, which a
  // linear's sums over the whole row cannot apply.
  if (!scale || norm.getGroupSize() || scale.getOwner() != norm->getBlock() ||
      calls.empty() || readByCaller(y, ret, calls))
    return;
  for (func::CallOp call : calls)
    if (!call.getOperand(scale.getArgNumber()).getDefiningOp<WeightOp>())
      return;
  SmallVector<LinearOp> linears;
  for (Operation *user : y.getUsers()) {
    if (user == ret)
      continue;
    auto linear = dyn_cast<LinearOp>(user);
    std::optional<ContractionConfig> config =
        linear ? ContractionConfig::of(linear) : std::nullopt;
    // Narrower panels would hold the rounded product of both weights,
    // which is not the model's arithmetic: such a norm stays unfolded.
    if (!config || !config->packed || linear.getInput() != y ||
        linear.getBias() == y || !soleWeightArgument(linear) ||
        !cast<RankedTensorType>(linear.getWeight().getType())
             .getElementType()
             .isF32())
      return;
    linears.push_back(linear);
  }
  if (linears.empty())
    return;
  MLIRContext *context = norm.getContext();
  for (LinearOp linear : linears) {
    ContractionConfig config = *ContractionConfig::of(linear);
    config.prologue = {"rms_norm"};
    linear->setAttr(kLoweringConfigAttrName, config.toAttr(context));
    BlockArgument weight = soleWeightArgument(linear);
    auto fn = cast<func::FuncOp>(weight.getOwner()->getParentOp());
    fn.setArgAttr(weight.getArgNumber(), kLayoutAttrName,
                  panelLayout(context, config.nr, scale.getArgNumber()));
  }
}

struct CoilCpuSelectStrategyPass
    : public coil::impl::CoilCpuSelectStrategyPassBase<
          CoilCpuSelectStrategyPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    llvm::Expected<CpuTarget> target = resolveCpuTarget(targetCpu);
    if (!target) {
      module.emitError() << llvm::toString(target.takeError());
      return signalPassFailure();
    }
    module->setAttr(kTargetAttrName, target->toAttr(&getContext()));

    // Call sites of every kernel function.
    llvm::DenseMap<Operation *, SmallVector<func::CallOp>> callsOf;
    SymbolTable symbols(module);
    module.walk([&](func::CallOp call) {
      if (auto callee = symbols.lookup<func::FuncOp>(call.getCallee()))
        callsOf[callee].push_back(call);
    });

    ContractionConfig base = tileFor(*target);
    for (auto fn : module.getOps<func::FuncOp>()) {
      if (!fn->hasAttr("coil.kernel") || fn.isExternal())
        continue;
      ArrayRef<func::CallOp> calls = callsOf[fn];
      auto ret = cast<func::ReturnOp>(fn.getBody().front().getTerminator());
      llvm::DenseSet<Value> unwritten, early;
      fn.walk([&](LinearOp linear) {
        auto weightType = cast<RankedTensorType>(linear.getWeight().getType());
        int64_t k = weightType.getDimSize(1);
        // Bits, since int4 packs two weights per byte.
        int64_t weightBits = weightType.getElementTypeBitWidth();
        bool int4 = weightType.getElementType().isInteger(4);
        ContractionConfig config = base;
        // mc rows of the input take at most half the L2.
        int64_t rowsInL2 = target->l2Bytes / 2 / std::max<int64_t>(4 * k, 1);
        config.mc = std::clamp<int64_t>(rowsInL2 / config.mr * config.mr,
                                        config.mr, 64 * config.mr);
        // One block of K while a whole panel (K x nr weights) takes at most
        // a quarter of the L2: it streams from there through the tile, with
        // no partial sums between blocks. Longer K goes in blocks of kc
        // whose kc x nr weights take half the L1 (a multiple of 8).
        // (Int4 blocks are whole groups of 32.)
        int64_t align = int4 ? 32 : 8;
        int64_t kc = std::max<int64_t>(align, target->l1Bytes * 8 / 2 /
                                                  (weightBits * config.nr) /
                                                  align * align);
        bool panelInL2 = weightBits * k * config.nr <= target->l2Bytes * 8 / 4;
        config.kc = kc < k && !panelInL2 ? kc : k;
        auto arg = dyn_cast<BlockArgument>(linear.getWeight());
        config.packed = arg && arg.getOwner() == &fn.getBody().front() &&
                        isPackable(arg, calls);
        if (config.packed)
          for (Operation *op :
               chooseEpilogue(linear, ret, calls, unwritten, early, config.nr))
            config.epilogue.push_back(op->getName().stripDialect().str());
        linear->setAttr(kLoweringConfigAttrName, config.toAttr(&getContext()));
        if (config.packed)
          fn.setArgAttr(arg.getArgNumber(), kLayoutAttrName,
                        panelLayout(&getContext(), config.nr));
        // An int4 weight's group scales are read in the same panels.
        if (config.packed && int4)
          if (auto scale = dyn_cast<BlockArgument>(linear.getScale()))
            fn.setArgAttr(scale.getArgNumber(), kLayoutAttrName,
                          panelLayout(&getContext(), config.nr));
      });
      // Norms read only by linears over packed weights: folded into them.
      fn.walk([&](RmsNormOp norm) { foldNormIntoLinears(norm, ret, calls); });
      // Scans: one vector register of channels per state index; chunks of
      // time whose decays (steps x N vectors) take kScanChunkBytes.
      fn.walk([&](ScanOp scan) {
        ScanConfig config;
        config.isa = base.isa;
        config.channels = target->f32Lanes();
        int64_t states = cast<ShapedType>(scan.getA().getType()).getDimSize(1);
        int64_t stepBytes = std::max<int64_t>(states, 1) * config.channels * 4;
        config.steps = std::clamp<int64_t>(kScanChunkBytes / stepBytes, 1, 64);
        scan->setAttr(kLoweringConfigAttrName, config.toAttr(&getContext()));
      });
      // Mamba-2 scans: chunks of time whose B and C rows (2 N floats a
      // step), which every channel of a head reads, take kScanChunkBytes.
      fn.walk([&](SsdScanOp scan) {
        SsdScanConfig config;
        config.isa = base.isa;
        config.lanes = target->f32Lanes();
        // Whole groups of `lanes` steps, whose y sums add up together.
        config.steps =
            std::clamp<int64_t>(kScanChunkBytes / (8 * scan.getStateSize()), 4,
                                256) /
            config.lanes * config.lanes;
        config.steps = std::max(config.steps, config.lanes);
        scan->setAttr(kLoweringConfigAttrName, config.toAttr(&getContext()));
      });
      // Convs: the silu that alone reads the result, when no caller reads
      // it, runs before the store.
      fn.walk([&](Conv1dCausalOp conv) {
        ConvConfig config;
        Value y = conv.getResult();
        Operation *user = soleReader(y);
        config.silu = user && isa<SiluOp>(user) &&
                      user->getBlock() == conv->getBlock() &&
                      !readByCaller(y, ret, calls) && !calls.empty();
        conv->setAttr(kLoweringConfigAttrName, config.toAttr(&getContext()));
      });
      // Attention: blocks of queries against blocks of keys.
      fn.walk([&](AttentionOp attention) {
        attention->setAttr(kLoweringConfigAttrName,
                           attentionFor(*target).toAttr(&getContext()));
      });
    }
  }
};

} // namespace
