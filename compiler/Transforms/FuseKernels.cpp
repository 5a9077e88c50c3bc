//===- FuseKernels.cpp - Group coil ops into coil.kernel regions -*- C++
//-*-===//
//
// Implements --coil-fuse-kernels (see Passes.td for the grouping rules).
//
// The pass first hoists weight-only values (coil.weight and reshape/exp/neg
// chains of weights) to the function entry, so they are available anywhere.
// Groups are then formed around anchors in a fixed order (attention, norms,
// linears, conv, scan, everything else), weight-only producers used only by
// one group join it, and each group becomes one coil.kernel placed at its
// first non-weight op.
//
//===----------------------------------------------------------------------===//

#include "compiler/Transforms/Passes.h"

#include "dialects/Coil/IR/CoilOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::coil {
#define GEN_PASS_DEF_COILFUSEKERNELSPASS
#include "compiler/Transforms/Passes.h.inc"
} // namespace mlir::coil

using namespace mlir;
using namespace mlir::coil;

namespace {

//===----------------------------------------------------------------------===//
// Weight-only values
//===----------------------------------------------------------------------===//

/// True for ops that only transform parameters: reshape, exp, neg.
bool isWeightTransform(Operation *op) {
  return isa<ReshapeOp, ExpOp, NegOp>(op);
}

/// True if `op` computes only from parameters (a weight, or a weight
/// transform of weight-only values).
bool isWeightOnly(Operation *op) {
  if (isa<WeightOp>(op))
    return true;
  if (!isWeightTransform(op))
    return false;
  return llvm::all_of(op->getOperands(), [](Value v) {
    Operation *def = v.getDefiningOp();
    return def && isWeightOnly(def);
  });
}

//===----------------------------------------------------------------------===//
// Groups
//===----------------------------------------------------------------------===//

/// Forms the groups of one block.
class Grouper {
public:
  explicit Grouper(Block &block) : block(block) {
    unsigned i = 0;
    for (Operation &op : block)
      position[&op] = i++;
  }

  /// Runs the grouping rules; returns the groups, each sorted in block order.
  SmallVector<SmallVector<Operation *>> run() {
    for (Operation &op : block)
      if (auto attn = dyn_cast<AttentionOp>(op))
        groupAttention(attn);
    for (Operation &op : block)
      if (isa<RmsNormOp, LayerNormOp>(op) && !assigned(&op))
        groupNormAndLinears(&op);
    for (Operation &op : block)
      if (isa<LinearOp>(op) && !assigned(&op)) {
        unsigned g = newGroup(&op);
        extendEpilogue(g, op.getResult(0));
      }
    for (Operation &op : block)
      if (auto conv = dyn_cast<Conv1dCausalOp>(op); conv && !assigned(conv)) {
        unsigned g = newGroup(conv);
        Value y = conv.getResult();
        if (y.hasOneUse() && isa<SiluOp>(*y.user_begin()) &&
            !assigned(*y.user_begin()))
          add(g, *y.user_begin());
      }
    for (Operation &op : block)
      if (isa<CoilDialect>(op.getDialect()) && !isa<WeightOp>(op) &&
          !isWeightTransform(&op) && !assigned(&op))
        newGroup(&op);
    for (unsigned g = 0; g < groups.size(); ++g)
      pullWeightProducers(g);
    // Weight transforms no group took form their own kernels.
    for (Operation &op : block)
      if (isWeightTransform(&op) && !assigned(&op))
        pullWeightProducers(newGroup(&op));
    for (auto &group : groups)
      llvm::sort(group, [&](Operation *a, Operation *b) {
        return position[a] < position[b];
      });
    if (readsOneRowPerSequence())
      mergeSubLayers();
    return groups;
  }

private:
  bool assigned(Operation *op) const { return groupOf.count(op); }

  /// Whether every linear of the block reads one row per sequence
  /// ([B, 1, K]: decode), where a kernel's work is short next to what its
  /// call costs.
  bool readsOneRowPerSequence() const {
    bool any = false;
    for (auto linear : block.getOps<LinearOp>()) {
      auto type = cast<RankedTensorType>(linear.getInput().getType());
      if (type.getRank() < 3 || type.isDynamicDim(1) || type.getDimSize(1) != 1)
        return false;
      any = true;
    }
    return any;
  }

  /// Merges the groups, in block order, into fewer kernels: a group joins
  /// the one before it unless either begins with a norm (a norm and its
  /// linears stay a kernel of their own) or the two would not be one
  /// contiguous run of ops. A Mamba layer becomes two kernels, norm +
  /// in_proj | conv, x_proj, dt_proj, scan, out_proj + residual; a Llama
  /// layer four, norm + q, k, v | rope, attention, o_proj + residual |
  /// norm + gate, up | down + residual. Each op is lowered as before, with
  /// a barrier where it waits for the previous one.
  void mergeSubLayers() {
    llvm::sort(groups, [&](const SmallVector<Operation *> &a,
                           const SmallVector<Operation *> &b) {
      return firstOf(a) < firstOf(b);
    });
    SmallVector<SmallVector<Operation *>> merged;
    bool afterNorm = false;
    for (SmallVector<Operation *> &group : groups) {
      unsigned first = firstOf(group);
      bool startsWithNorm = llvm::any_of(group, [&](Operation *op) {
        return isa<RmsNormOp, LayerNormOp>(op) && position[op] == first;
      });
      // A group of weight transforms alone (several kernels read them)
      // stays at the entry, where they are.
      bool alone = merged.empty() || startsWithNorm || afterNorm ||
                   first == ~0u || firstOf(merged.back()) == ~0u ||
                   !contiguous(merged.back(), group);
      afterNorm = startsWithNorm;
      if (alone) {
        merged.push_back(std::move(group));
        continue;
      }
      llvm::append_range(merged.back(), group);
      llvm::sort(merged.back(), [&](Operation *a, Operation *b) {
        return position[a] < position[b];
      });
    }
    groups = std::move(merged);
  }

  /// The position of the first op of `group` that is not weight-only.
  unsigned firstOf(ArrayRef<Operation *> group) const {
    unsigned first = ~0u;
    for (Operation *op : group)
      if (!isWeightOnly(op))
        first = std::min(first, position.lookup(op));
    return first;
  }

  /// Whether the ops of `a` and `b` that are not weight-only are every op
  /// from the first of them to the last (weight-only ops are hoisted).
  bool contiguous(ArrayRef<Operation *> a, ArrayRef<Operation *> b) const {
    llvm::SmallPtrSet<Operation *, 32> members(a.begin(), a.end());
    members.insert(b.begin(), b.end());
    unsigned lo = ~0u, hi = 0;
    for (Operation *op : members)
      if (!isWeightOnly(op)) {
        lo = std::min(lo, position.lookup(op));
        hi = std::max(hi, position.lookup(op));
      }
    for (Operation &op : block)
      if (unsigned at = position.lookup(&op); at >= lo && at <= hi &&
          !isWeightOnly(&op) && !members.contains(&op) &&
          !op.hasTrait<OpTrait::IsTerminator>())
        return false;
    return true;
  }

  unsigned newGroup(Operation *op) {
    groups.emplace_back();
    add(groups.size() - 1, op);
    return groups.size() - 1;
  }

  void add(unsigned g, Operation *op) {
    groups[g].push_back(op);
    groupOf[op] = g;
  }

  /// Position of the first op of group `g` that is not weight-only: where
  /// its kernel will be placed.
  unsigned start(unsigned g) const { return firstOf(groups[g]); }

  /// True if `v` can be read by group `g`: defined in it, weight-only, or
  /// defined before the group's placement.
  bool available(unsigned g, Value v) const {
    Operation *def = v.getDefiningOp();
    if (!def)
      return true;
    if (isWeightOnly(def))
      return true;
    auto it = groupOf.find(def);
    if (it != groupOf.end() && it->second == g)
      return true;
    return position.lookup(def) < start(g);
  }

  /// True if every operand of `op` is available to group `g`.
  bool canJoin(unsigned g, Operation *op) const {
    return !assigned(op) && llvm::all_of(op->getOperands(), [&](Value v) {
      return available(g, v);
    });
  }

  /// True if every operand of every op of group `g` is available to it.
  bool operandsAvailable(unsigned g) const {
    return llvm::all_of(groups[g], [&](Operation *op) {
      return llvm::all_of(op->getOperands(),
                          [&](Value v) { return available(g, v); });
    });
  }

  void removeLast(unsigned g) {
    groupOf.erase(groups[g].back());
    groups[g].pop_back();
  }

  /// rope(q), rope(k) -> attention.
  void groupAttention(AttentionOp attn) {
    unsigned g = newGroup(attn);
    SmallVector<Operation *> ropes;
    for (Value v : {attn.getQ(), attn.getK()})
      if (auto rope = v.getDefiningOp<RopeOp>();
          rope && v.hasOneUse() && !assigned(rope))
        ropes.push_back(rope);
    // Take both ropes if the kernel can move up to the first of them without
    // reading a value computed in between; otherwise each one that can.
    for (Operation *rope : ropes)
      add(g, rope);
    if (operandsAvailable(g))
      return;
    for (size_t i = 0; i < ropes.size(); ++i)
      removeLast(g);
    for (Operation *rope : ropes) {
      add(g, rope);
      if (!operandsAvailable(g))
        removeLast(g);
    }
  }

  /// norm -> every linear reading it (only if all its users are linears).
  void groupNormAndLinears(Operation *norm) {
    Value n = norm->getResult(0);
    if (n.use_empty() || !llvm::all_of(n.getUsers(), [](Operation *u) {
          return isa<LinearOp>(u);
        }))
      return;
    unsigned g = newGroup(norm);
    SmallVector<Operation *> linears;
    for (Operation *user : n.getUsers())
      if (!assigned(user) && !llvm::is_contained(linears, user))
        linears.push_back(user);
    llvm::sort(linears, [&](Operation *a, Operation *b) {
      return position[a] < position[b];
    });
    for (Operation *linear : linears)
      if (canJoin(g, linear))
        add(g, linear);
    for (Operation *linear : linears)
      if (groupOf.lookup(linear) == g)
        extendEpilogue(g, linear->getResult(0));
  }

  /// Follows single-use chains from `value`: activation, elementwise
  /// product/sum with an available value (SwiGLU, residual add), split.
  void extendEpilogue(unsigned g, Value value) {
    while (value.hasOneUse()) {
      Operation *user = *value.user_begin();
      if (!canJoin(g, user))
        return;
      if (isa<SiluOp, GeluOp, SoftplusOp, Relu2Op>(user)) {
        add(g, user);
        value = user->getResult(0);
        continue;
      }
      if (isa<AddOp, MulOp, SubOp>(user)) {
        add(g, user);
        value = user->getResult(0);
        continue;
      }
      if (isa<SplitOp>(user))
        add(g, user);
      return;
    }
  }

  /// Adds weight transforms feeding group `g` whose users are all in `g`.
  void pullWeightProducers(unsigned g) {
    for (unsigned i = 0; i < groups[g].size(); ++i)
      for (Value v : groups[g][i]->getOperands()) {
        Operation *def = v.getDefiningOp();
        if (!def || !isWeightTransform(def) || !isWeightOnly(def) ||
            assigned(def))
          continue;
        bool allInGroup = llvm::all_of(def->getUsers(), [&](Operation *u) {
          auto it = groupOf.find(u);
          return it != groupOf.end() && it->second == g;
        });
        if (allInGroup)
          add(g, def);
      }
  }

  Block &block;
  llvm::DenseMap<Operation *, unsigned> position;
  llvm::DenseMap<Operation *, unsigned> groupOf;
  SmallVector<SmallVector<Operation *>> groups;
};

//===----------------------------------------------------------------------===//
// Kernel formation
//===----------------------------------------------------------------------===//

/// The kernel name: the mnemonics of its ops in order, repeats collapsed.
std::string kernelName(ArrayRef<Operation *> ops) {
  std::string name;
  StringRef last;
  for (Operation *op : ops) {
    StringRef mnemonic = op->getName().stripDialect();
    if (mnemonic == last)
      continue;
    if (!name.empty())
      name += "_";
    name += mnemonic.str();
    last = mnemonic;
  }
  return name;
}

/// Replaces the ops of `group` (block order) by one coil.kernel.
void formKernel(ArrayRef<Operation *> group) {
  llvm::SmallPtrSet<Operation *, 8> members(group.begin(), group.end());
  llvm::SetVector<Value> inputs;
  SmallVector<Value> results;
  for (Operation *op : group) {
    for (Value v : op->getOperands()) {
      Operation *def = v.getDefiningOp();
      if (!def || !members.contains(def))
        inputs.insert(v);
    }
    for (Value r : op->getResults())
      if (llvm::any_of(r.getUsers(),
                       [&](Operation *u) { return !members.contains(u); }))
        results.push_back(r);
  }

  // Place the kernel at the first op that is not a weight transform.
  Operation *anchor = group.front();
  for (Operation *op : group)
    if (!isWeightOnly(op)) {
      anchor = op;
      break;
    }
  OpBuilder builder(anchor);
  SmallVector<Type> resultTypes;
  for (Value r : results)
    resultTypes.push_back(r.getType());
  auto kernel = builder.create<KernelOp>(anchor->getLoc(), kernelName(group),
                                         resultTypes, inputs.getArrayRef());
  Block &body = kernel.getBody().front();
  IRMapping mapping;
  for (auto [input, arg] : llvm::zip(inputs, body.getArguments()))
    mapping.map(input, arg);
  builder.setInsertionPointToStart(&body);
  for (Operation *op : group)
    builder.clone(*op, mapping);
  SmallVector<Value> yielded;
  for (Value r : results)
    yielded.push_back(mapping.lookup(r));
  builder.create<YieldOp>(anchor->getLoc(), yielded);

  for (auto [r, k] : llvm::zip(results, kernel.getResults()))
    r.replaceUsesWithIf(k, [&](OpOperand &use) {
      return !members.contains(use.getOwner()) &&
             use.getOwner() != kernel.getOperation();
    });
  for (Operation *op : llvm::reverse(group))
    op->erase();
}

struct CoilFuseKernelsPass
    : public coil::impl::CoilFuseKernelsPassBase<CoilFuseKernelsPass> {
  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (fn.isExternal() || fn->hasAttr("coil.kernel"))
      return;
    if (!fn.getBody().hasOneBlock()) {
      fn.emitError("coil-fuse-kernels expects single-block functions");
      return signalPassFailure();
    }
    Block &block = fn.getBody().front();
    if (!block.getOps<KernelOp>().empty())
      return; // already fused

    // Hoist weight-only values to the entry, in their original order.
    SmallVector<Operation *> weightOnly;
    for (Operation &op : block)
      if (isWeightOnly(&op))
        weightOnly.push_back(&op);
    for (Operation *op : llvm::reverse(weightOnly))
      op->moveBefore(&block, block.begin());

    SmallVector<SmallVector<Operation *>> groups = Grouper(block).run();
    for (const SmallVector<Operation *> &group : groups)
      formKernel(group);
  }
};

} // namespace
