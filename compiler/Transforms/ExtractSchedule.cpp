//===- ExtractSchedule.cpp - Entry points -> schedule metadata --*- C++ -*-===//
//
// Implements --coil-extract-schedule (see Passes.td and docs/abi.md).
//
//===----------------------------------------------------------------------===//

#include "compiler/Transforms/Passes.h"

#include "compiler/Codegen/CPU/LoweringConfig.h"
#include "dialects/Coil/IR/CoilOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "runtime/include/coil/abi.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/JSON.h"

#include <map>

namespace mlir::coil {
#define GEN_PASS_DEF_COILEXTRACTSCHEDULEPASS
#include "compiler/Transforms/Passes.h.inc"
} // namespace mlir::coil

using namespace mlir;
using namespace mlir::coil;
namespace json = llvm::json;

namespace {

FailureOr<std::string> dtypeName(Operation *where, Type t) {
  if (t.isF32())
    return std::string("f32");
  if (t.isF16())
    return std::string("f16");
  if (t.isBF16())
    return std::string("bf16");
  if (t.isInteger(32))
    return std::string("i32");
  if (t.isInteger(8))
    return std::string("i8");
  if (t.isInteger(4))
    return std::string("i4");
  where->emitError() << "element type " << t
                     << " cannot cross the runtime boundary";
  return failure();
}

/// The shape of `t` with dynamic extents named B, T or S.
FailureOr<json::Array> symbolicShape(Operation *where, RankedTensorType t,
                                     bool isState) {
  json::Array shape;
  for (int64_t i = 0; i < t.getRank(); ++i) {
    if (!t.isDynamicDim(i)) {
      shape.push_back(t.getDimSize(i));
      continue;
    }
    if (i == 0)
      shape.push_back("B");
    else if (isState)
      shape.push_back("S");
    else if (i == 1)
      shape.push_back("T");
    else if (t.getRank() == 4 && i == 2)
      shape.push_back("S");
    else {
      where->emitError() << "cannot name dynamic dimension " << i << " of " << t
                         << " (expected B, T or S)";
      return failure();
    }
  }
  return shape;
}

/// True when every use of `value`, followed into the kernels it is passed
/// to, is as the key or value cache of a coil.attention: the one op that
/// reads a dimension sized by the session (the KV-cache capacity S).
bool onlyFeedsAttentionCaches(Value value, ModuleOp module) {
  for (OpOperand &use : value.getUses()) {
    Operation *user = use.getOwner();
    if (auto attention = dyn_cast<AttentionOp>(user)) {
      unsigned number = use.getOperandNumber();
      if (number != attention.getKCacheMutable().getOperandNumber() &&
          number != attention.getVCacheMutable().getOperandNumber())
        return false;
      continue;
    }
    if (auto call = dyn_cast<func::CallOp>(user)) {
      auto callee = module.lookupSymbol<func::FuncOp>(call.getCallee());
      if (!callee || callee.isExternal() ||
          !onlyFeedsAttentionCaches(callee.getArgument(use.getOperandNumber()),
                                    module))
        return false;
      continue;
    }
    return false;
  }
  return true;
}

/// Checks that state argument `arg` of `fn` has static extents except the
/// batch (dimension 0) and, for an attention KV cache [B, Hkv, S, Dh], the
/// capacity S (dimension 2): the runtime sizes every other dynamic extent
/// as S, which no other op can read safely.
LogicalResult checkStateShape(func::FuncOp fn, unsigned arg,
                              RankedTensorType type, StringRef name) {
  auto module = fn->getParentOfType<ModuleOp>();
  for (int64_t i = 1; i < type.getRank(); ++i) {
    if (!type.isDynamicDim(i))
      continue;
    if (type.getRank() == 4 && i == 2 &&
        onlyFeedsAttentionCaches(fn.getArgument(arg), module))
      continue;
    return fn.emitError()
           << "state '" << name << "' has type " << type << ": dimension " << i
           << " is dynamic, but only the batch (dimension 0) and the capacity "
              "of an attention KV cache [B, Hkv, S, Dh] (dimension 2) may be";
  }
  return success();
}

/// Cost of one kernel call as a + b*N + c*N*A + d*B + e*B*C, N the tokens
/// processed (batch x tokens), A the positions a token attends (its own and
/// the earlier ones: causal attention skips the later ones), B the
/// sequences and C the context length: FLOPs and bytes moved. d and e are what
/// a call touches once per sequence however many tokens it processes: a
/// recurrent state, the KV cache (a prefill reuses the cache from on-chip
/// caches across queries).
struct KernelCost {
  double flops[5] = {0, 0, 0, 0, 0};
  double bytes[5] = {0, 0, 0, 0, 0};

  json::Object toJson() const {
    // Three terms when the per-sequence ones are zero.
    auto terms = [](const double(&c)[5]) {
      if (c[3] == 0 && c[4] == 0)
        return json::Array{c[0], c[1], c[2]};
      return json::Array{c[0], c[1], c[2], c[3], c[4]};
    };
    return json::Object{{COIL_KEY_FLOPS, terms(flops)},
                        {COIL_KEY_BYTES, terms(bytes)}};
  }
};

int64_t lastDim(Value v) {
  return cast<RankedTensorType>(v.getType()).getShape().back();
}
int64_t numElements(Value v) {
  auto t = cast<RankedTensorType>(v.getType());
  return t.hasStaticShape() ? t.getNumElements() : 0;
}
/// Bytes of one element of `v` (a tensor of a float or integer type).
double elementBytes(Value v) {
  return cast<RankedTensorType>(v.getType()).getElementTypeBitWidth() / 8.0;
}
bool isStatic(Value v) {
  return cast<RankedTensorType>(v.getType()).hasStaticShape();
}

/// An element-wise op's FLOPs (a few per element for the transcendental
/// ones) and `moved` values per element: per call for a static shape
/// (parameters), per token otherwise.
void addElementwise(KernelCost &k, Operation *op, double moved) {
  double perElement = isa<SiluOp, SoftplusOp>(op) ? 4
                      : isa<GeluOp>(op)           ? 8
                      : isa<Relu2Op>(op)          ? 2
                                                  : 1;
  Value v = op->getResult(0);
  int term = isStatic(v) ? 0 : 1;
  double elements = isStatic(v) ? numElements(v) : lastDim(v);
  k.flops[term] += perElement * elements;
  k.bytes[term] += moved * 4.0 * elements;
}

/// Counts FLOPs and bytes of every op of a kernel body: parameters are read
/// once per call (a), activations once per token (b), attention's FLOPs per
/// token and position it attends (c), the scan's state once per sequence (d)
/// and attention's KV cache once per sequence and context position (e).
/// Element-wise FLOPs use a few per element for the transcendental ones.
KernelCost costOf(func::FuncOp fn) {
  KernelCost k;
  const double f32 = 4.0;
  // The ops lowering configs apply on their producers' registers
  // (--coil-cpu-select-strategy).
  llvm::DenseSet<Operation *> epilogue;
  fn.walk([&](Operation *op) {
    for (Operation *e : fusedEpilogueOf(op))
      epilogue.insert(e);
  });
  for (Operation &op : fn.getBody().front().without_terminator()) {
    // An op applied on its producer's registers moves only its other
    // operands; the producer counts the one store.
    if (epilogue.contains(&op)) {
      if (!isa<SplitOp>(op))
        addElementwise(k, &op, op.getNumOperands() - 1);
      continue;
    }
    llvm::TypeSwitch<Operation *>(&op)
        .Case([&](LinearOp o) {
          double in = lastDim(o.getInput()), out = lastDim(o.getResult());
          k.flops[1] += 2 * in * out;
          k.bytes[0] += elementBytes(o.getWeight()) * in * out +
                        (o.getBias() ? elementBytes(o.getBias()) * out : 0) +
                        (o.getScale() ? elementBytes(o.getScale()) * out : 0);
          k.bytes[1] += f32 * (in + out);
        })
        .Case<RmsNormOp, LayerNormOp>([&](Operation *o) {
          double d = lastDim(o->getOperand(0));
          k.flops[1] += 4 * d;
          // Folded into the linears reading it: their tiles scale the rows
          // (FLOPs), the weight is in their panels and no row is written.
          if (isFoldedIntoLinears(o))
            return;
          k.bytes[0] += f32 * d;
          k.bytes[1] += 2 * f32 * d;
        })
        .Case<SiluOp, GeluOp, SoftplusOp, Relu2Op, ExpOp, NegOp, AddOp, MulOp,
              SubOp>(
            [&](Operation *o) {
              addElementwise(k, o, o->getNumOperands() + 1);
            })
        .Case([&](SliceOp o) {
          // The result is read and written: per token, or per sequence for
          // a fixed number of a prompt's positions ([B, T, F] -> [B, 1, F]).
          auto in = cast<RankedTensorType>(o.getInput().getType());
          auto res = cast<RankedTensorType>(o.getResult().getType());
          if (in.getRank() >= 3 && in.isDynamicDim(1) && !res.isDynamicDim(1))
            k.bytes[3] += 2 * f32 * res.getDimSize(1) * lastDim(o.getResult());
          else
            k.bytes[1] += 2 * f32 * lastDim(o.getResult());
        })
        .Case([&](SplitOp o) { k.bytes[1] += 2 * f32 * lastDim(o.getInput()); })
        .Case([&](ReshapeOp o) {
          k.bytes[0] += 2 * f32 * numElements(o.getResult());
        })
        .Case([&](EmbedOp o) {
          k.bytes[1] += elementBytes(o.getTable()) * lastDim(o.getResult());
        })
        .Case([&](RopeOp o) {
          double f = lastDim(o.getInput());
          k.flops[1] += 6 * f;
          k.bytes[1] += 2 * f32 * f;
        })
        .Case([&](Conv1dCausalOp o) {
          auto w = cast<RankedTensorType>(o.getWeight().getType());
          double c = w.getDimSize(0), kw = w.getDimSize(1);
          // Per token one row in and one out; the last kw - 1 rows of
          // each sequence (its state) read and written once per call.
          k.flops[1] += 2 * c * kw;
          k.bytes[0] += f32 * c * (kw + 1);
          k.bytes[1] += f32 * 2 * c;
          k.bytes[3] += f32 * 2 * c * (kw - 1);
          // The window after every step, when kept.
          if (o.getStates())
            k.bytes[1] += f32 * c * (kw - 1);
        })
        .Case([&](ScanOp o) {
          auto a = cast<RankedTensorType>(o.getA().getType());
          double d = a.getDimSize(0), n = a.getDimSize(1);
          k.flops[1] += 10 * d * n;
          k.bytes[0] += f32 * (d * n + d);
          k.bytes[1] += f32 * (4 * d + 2 * n);
          k.bytes[3] += 2 * f32 * d * n;
          // The state after every step, when kept.
          if (o.getStates())
            k.bytes[1] += f32 * d * n;
        })
        .Case([&](SsdScanOp o) {
          double hp = o.getNumHeads() * o.getHeadDim(), h = o.getNumHeads(),
                 n = o.getStateSize(), gn = o.getNumGroups() * n;
          // Per token and state element a multiply and two FMAs; per
          // channel the D skip; per head dt's softplus and the decay's exp.
          k.flops[1] += 5 * hp * n + 2 * hp + 20 * h;
          k.bytes[0] += f32 * 3 * h;
          k.bytes[1] += f32 * (2 * hp + h + 2 * gn);
          k.bytes[3] += 2 * f32 * hp * n;
          if (o.getStates())
            k.bytes[1] += f32 * hp * n;
        })
        .Case([&](AttentionOp o) {
          double hq = o.getNumHeads(), hkv = o.getNumKvHeads(),
                 dh = o.getHeadDim();
          k.flops[2] += 4 * hq * dh;
          k.bytes[1] += f32 * (2 * hq * dh + 4 * hkv * dh);
          k.bytes[4] += 2 * f32 * hkv * dh;
        });
  }
  return k;
}

/// The mnemonics of a kernel's ops, in order.
json::Array opsOf(func::FuncOp fn) {
  json::Array ops;
  for (Operation &op : fn.getBody().front().without_terminator())
    ops.push_back(op.getName().stripDialect());
  return ops;
}

/// Whether every activation a call reads or writes has one row per
/// sequence ([B, 1, ...]: the LM head of a prefill that keeps the last
/// position), so its per-token costs count sequences, not tokens.
bool processesOneRowPerSequence(func::CallOp call) {
  bool any = false;
  SmallVector<Type> types(call.getOperandTypes());
  llvm::append_range(types, call.getResultTypes());
  for (Type t : types) {
    auto tensor = dyn_cast<RankedTensorType>(t);
    if (!tensor || tensor.getRank() < 3 || !tensor.isDynamicDim(0))
      continue;
    if (tensor.isDynamicDim(1) || tensor.getDimSize(1) != 1)
      return false;
    any = true;
  }
  return any;
}

/// The layer a call belongs to: `N` of the first parameter named
/// `...layers.N...` among its operands, or -1.
int64_t layerOf(func::CallOp call) {
  for (Value v : call.getOperands())
    if (auto w = v.getDefiningOp<WeightOp>()) {
      StringRef name = w.getName();
      size_t at = name.find("layers.");
      if (at == StringRef::npos)
        continue;
      int64_t layer;
      StringRef digits = name.drop_front(at + 7).take_while(llvm::isDigit);
      if (!digits.getAsInteger(10, layer))
        return layer;
    }
  return -1;
}

/// Builds the metadata of a whole module.
class ScheduleBuilder {
public:
  explicit ScheduleBuilder(ModuleOp module) : module(module) {}

  LogicalResult addKernels() {
    for (auto fn : module.getOps<func::FuncOp>())
      if (fn->hasAttr("coil.kernel")) {
        fn->setAttr("coil.kernel_index",
                    IntegerAttr::get(IntegerType::get(fn.getContext(), 64),
                                     kernels.size()));
        kernelIndex[fn.getName()] = kernels.size();
        kernelCost.push_back(costOf(fn));
        auto calls = fn->getAttrOfType<IntegerAttr>("coil.calls");
        kernels.push_back(json::Object{
            {COIL_KEY_NAME, fn.getName()},
            {COIL_KEY_SYMBOL, (COIL_KERNEL_SYMBOL_PREFIX + fn.getName()).str()},
            {COIL_KEY_OPS, opsOf(fn)},
            {COIL_KEY_CALLS, calls ? calls.getInt() : 0}});
      }
    return success();
  }

  /// Records entry point `fn`; states are shared between entry points.
  LogicalResult addEntry(func::FuncOp fn) {
    if (!fn.getBody().hasOneBlock())
      return fn.emitError("entry point must have one block");
    Block &body = fn.front();
    FunctionType type = fn.getFunctionType();
    if (type.getNumInputs() < 2 ||
        type.getNumResults() < type.getNumInputs() - 1)
      return fn.emitError("entry point does not follow the model calling "
                          "convention (tokens, positions, states...) -> "
                          "(logits, states..., histories...)");
    unsigned numStates = type.getNumInputs() - 2;
    json::Array buffers;
    llvm::DenseMap<Value, int64_t> bufferOf;
    // Free temporaries by their (dtype, shape) text, for reuse.
    std::map<std::string, SmallVector<int64_t>> freeTemps;
    llvm::DenseMap<int64_t, std::string> tempKey;

    auto ids = cast<RankedTensorType>(type.getInput(0));
    json::Value seq =
        ids.isDynamicDim(1) ? json::Value("T") : json::Value(ids.getDimSize(1));
    buffers.push_back(json::Object{{COIL_KEY_KIND, COIL_BUFFER_TOKENS},
                                   {COIL_KEY_DTYPE, "i32"},
                                   {COIL_KEY_SHAPE, json::Array{"B", seq}}});
    buffers.push_back(json::Object{{COIL_KEY_KIND, COIL_BUFFER_POSITIONS},
                                   {COIL_KEY_DTYPE, "i32"},
                                   {COIL_KEY_SHAPE, json::Array{"B", seq}}});
    bufferOf[body.getArgument(0)] = 0;
    bufferOf[body.getArgument(1)] = 1;

    // States, by name, shared across entry points.
    SmallVector<int64_t> stateBuffer, stateOfArg;
    for (unsigned i = 2; i < type.getNumInputs(); ++i) {
      auto name = fn.getArgAttrOfType<StringAttr>(i, "coil.state");
      if (!name)
        return fn.emitError() << "argument " << i << " has no coil.state name";
      auto stateType = cast<RankedTensorType>(type.getInput(i));
      if (failed(checkStateShape(fn, i, stateType, name.getValue())))
        return failure();
      FailureOr<std::string> dtype = dtypeName(fn, stateType.getElementType());
      FailureOr<json::Array> shape = symbolicShape(fn, stateType, true);
      if (failed(dtype) || failed(shape))
        return failure();
      int64_t index;
      auto it = stateIndex.find(name.getValue());
      if (it == stateIndex.end()) {
        index = states.size();
        stateIndex[name.getValue()] = index;
        states.push_back(json::Object{{COIL_KEY_NAME, name.getValue()},
                                      {COIL_KEY_DTYPE, *dtype},
                                      {COIL_KEY_SHAPE, std::move(*shape)}});
      } else {
        index = it->second;
      }
      bufferOf[body.getArgument(i)] = buffers.size();
      stateBuffer.push_back(buffers.size());
      stateOfArg.push_back(index);
      buffers.push_back(json::Object{{COIL_KEY_KIND, COIL_BUFFER_STATE},
                                     {COIL_KEY_INDEX, index}});
    }

    // Results after the states: the state of every step of a call, of the
    // state argument their coil.history names ([B, T] + its extents after
    // the batch).
    SmallVector<int64_t> historyOf;
    for (unsigned i = numStates + 1; i < type.getNumResults(); ++i) {
      auto name = fn.getResultAttrOfType<StringAttr>(i, "coil.history");
      unsigned arg = 2;
      while (name && arg < type.getNumInputs() &&
             fn.getArgAttrOfType<StringAttr>(arg, "coil.state") != name)
        ++arg;
      if (!name || arg == type.getNumInputs())
        return fn.emitError()
               << "result " << i
               << " is not a state: it needs a coil.history naming a state "
                  "argument";
      auto stateType = cast<RankedTensorType>(type.getInput(arg));
      auto historyType = cast<RankedTensorType>(type.getResult(i));
      bool matches = historyType.getRank() == stateType.getRank() + 1 &&
                     historyType.getElementType() ==
                         stateType.getElementType() &&
                     historyType.getDimSize(1) == ids.getDimSize(1);
      for (int64_t d = 1; matches && d < stateType.getRank(); ++d)
        matches = !stateType.isDynamicDim(d) &&
                  historyType.getDimSize(d + 1) == stateType.getDimSize(d);
      if (!matches)
        return fn.emitError()
               << "result " << i << " (the history of state '"
               << name.getValue() << "') has type " << historyType
               << ", expected [B, T] followed by the state's static extents "
                  "after its batch";
      historyOf.push_back(stateOfArg[arg - 2]);
    }

    // Which entry result each value is.
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    llvm::DenseMap<Value, unsigned> resultIndex;
    for (auto [i, v] : llvm::enumerate(ret.getOperands()))
      if (!resultIndex.count(v))
        resultIndex[v] = i;

    // Last reader of each value, for temporary reuse.
    llvm::DenseMap<Value, Operation *> lastUse;
    for (Operation &op : body)
      for (Value v : op.getOperands())
        lastUse[v] = &op;

    // The buffer of each (weight, panel width, scale) used: a parameter a
    // kernel reads packed (coil.layout on its argument) is its own weight
    // entry, and so is each vector its panels are scaled by.
    std::map<std::tuple<Operation *, int64_t, Operation *>, int64_t>
        weightBuffer;
    auto weightBufferOf = [&](WeightOp weight, int64_t n0,
                              WeightOp scale) -> FailureOr<int64_t> {
      auto key = std::make_tuple(weight.getOperation(), n0,
                                 scale ? scale.getOperation() : nullptr);
      auto it = weightBuffer.find(key);
      if (it != weightBuffer.end())
        return it->second;
      FailureOr<int64_t> index = addWeight(weight, n0, scale);
      if (failed(index))
        return failure();
      int64_t id = buffers.size();
      buffers.push_back(json::Object{{COIL_KEY_KIND, COIL_BUFFER_WEIGHT},
                                     {COIL_KEY_INDEX, *index}});
      weightBuffer[key] = id;
      return id;
    };

    json::Array steps;
    for (Operation &op : body) {
      if (isa<WeightOp>(op))
        continue;
      if (isa<func::ReturnOp>(op))
        continue;
      auto call = dyn_cast<func::CallOp>(op);
      auto kernel =
          call ? kernelIndex.find(call.getCallee()) : kernelIndex.end();
      if (!call || kernel == kernelIndex.end())
        return op.emitError("entry points may only read weights and call "
                            "kernels here; run --coil-kernels-pipeline "
                            "first");
      auto callee = module.lookupSymbol<func::FuncOp>(call.getCallee());
      json::Array args;
      for (auto [i, v] : llvm::enumerate(call.getOperands())) {
        if (auto weight = v.getDefiningOp<WeightOp>()) {
          Attribute layout = callee.getArgAttr(i, kLayoutAttrName);
          int64_t n0 = panelWidthOf(layout);
          WeightOp scale;
          if (std::optional<unsigned> s = panelScaleOf(layout)) {
            if (*s < call.getNumOperands())
              scale = call.getOperand(*s).getDefiningOp<WeightOp>();
            if (!scale)
              return call.emitError("argument ")
                     << i << " of @" << call.getCallee()
                     << " is packed in panels scaled by argument " << *s
                     << ", which is not a model parameter here";
          }
          FailureOr<int64_t> id = weightBufferOf(weight, n0, scale);
          if (failed(id))
            return failure();
          args.push_back(*id);
          continue;
        }
        args.push_back(bufferOf.lookup(v));
      }
      for (Value r : call.getResults()) {
        auto rt = cast<RankedTensorType>(r.getType());
        auto res = resultIndex.find(r);
        int64_t id;
        if (res != resultIndex.end() && res->second == 0) {
          FailureOr<json::Array> shape = symbolicShape(call, rt, false);
          if (failed(shape))
            return failure();
          id = buffers.size();
          buffers.push_back(json::Object{{COIL_KEY_KIND, COIL_BUFFER_LOGITS},
                                         {COIL_KEY_DTYPE, "f32"},
                                         {COIL_KEY_SHAPE, std::move(*shape)}});
        } else if (res != resultIndex.end() && res->second > numStates) {
          id = buffers.size();
          buffers.push_back(json::Object{
              {COIL_KEY_KIND, COIL_BUFFER_HISTORY},
              {COIL_KEY_INDEX, historyOf[res->second - numStates - 1]}});
        } else if (res != resultIndex.end()) {
          // The new value of state argument res + 1, written in place.
          id = stateBuffer[res->second - 1];
          Value stateArg = body.getArgument(res->second + 1);
          if (!llvm::is_contained(call.getOperands(), stateArg))
            return call.emitError()
                   << "returns state '"
                   << fn.getArgAttrOfType<StringAttr>(res->second + 1,
                                                      "coil.state")
                          .getValue()
                   << "' without reading it: states are updated in place";
        } else {
          FailureOr<std::string> dtype = dtypeName(call, rt.getElementType());
          FailureOr<json::Array> shape = symbolicShape(call, rt, false);
          if (failed(dtype) || failed(shape))
            return failure();
          json::Value shapeValue(std::move(*shape));
          std::string key;
          llvm::raw_string_ostream os(key);
          os << *dtype << shapeValue;
          auto &pool = freeTemps[key];
          if (!pool.empty()) {
            id = pool.pop_back_val();
          } else {
            id = buffers.size();
            buffers.push_back(
                json::Object{{COIL_KEY_KIND, COIL_BUFFER_TEMP},
                             {COIL_KEY_DTYPE, *dtype},
                             {COIL_KEY_SHAPE, std::move(shapeValue)}});
          }
          tempKey[id] = key;
        }
        bufferOf[r] = id;
        args.push_back(id);
      }
      json::Object stepJson{
          {COIL_KEY_KERNEL, kernel->second},
          {COIL_KEY_ARGS, std::move(args)},
          {COIL_KEY_LAYER, layerOf(call)},
          {COIL_KEY_COST, kernelCost[kernel->second].toJson()}};
      if (ids.isDynamicDim(1) && processesOneRowPerSequence(call))
        stepJson[COIL_KEY_ROWS] = COIL_ROWS_SEQUENCE;
      steps.push_back(std::move(stepJson));
      // Temporaries whose last reader was this call, and results nobody
      // reads, can be reused by later calls.
      for (Value r : call.getResults())
        if (r.use_empty()) {
          int64_t id = bufferOf.lookup(r);
          auto key = tempKey.find(id);
          if (key != tempKey.end() &&
              !llvm::is_contained(freeTemps[key->second], id))
            freeTemps[key->second].push_back(id);
        }
      for (Value v : call.getOperands())
        if (lastUse.lookup(v) == call.getOperation()) {
          int64_t id = bufferOf.lookup(v);
          auto key = tempKey.find(id);
          if (key != tempKey.end() && !resultIndex.count(v) &&
              !llvm::is_contained(freeTemps[key->second], id))
            freeTemps[key->second].push_back(id);
        }
    }
    entries[fn.getName()] = json::Object{{COIL_KEY_BUFFERS, std::move(buffers)},
                                         {COIL_KEY_STEPS, std::move(steps)}};
    return success();
  }

  std::string finish() {
    json::Object root{{COIL_KEY_FORMAT, COIL_FORMAT_NAME},
                      {COIL_KEY_VERSION, COIL_MODEL_ABI_VERSION},
                      {COIL_KEY_PROFILED, false},
                      {COIL_KEY_WEIGHTS, std::move(weights)},
                      {COIL_KEY_STATES, std::move(states)},
                      {COIL_KEY_KERNELS, std::move(kernels)},
                      {COIL_KEY_ENTRIES, std::move(entries)}};
    if (auto target = module->getAttrOfType<DictionaryAttr>(kTargetAttrName)) {
      json::Object t;
      if (auto cpu = target.getAs<StringAttr>("cpu"))
        t[COIL_KEY_CPU] = cpu.getValue();
      if (auto isa = target.getAs<StringAttr>("isa"))
        t[COIL_KEY_ISA] = isa.getValue();
      json::Array features;
      if (auto required = target.getAs<ArrayAttr>("required_features"))
        for (auto f : required.getAsRange<StringAttr>())
          features.push_back(f.getValue());
      t[COIL_KEY_FEATURES] = std::move(features);
      root[COIL_KEY_TARGET] = std::move(t);
    }
    if (auto family = module->getAttrOfType<StringAttr>("coil.family"))
      root[COIL_KEY_FAMILY] = family.getValue();
    if (auto vocab = module->getAttrOfType<IntegerAttr>("coil.vocab_size"))
      root[COIL_KEY_VOCAB_SIZE] = vocab.getInt();
    auto maxContext = module->getAttrOfType<IntegerAttr>("coil.max_context");
    root[COIL_KEY_MAX_CONTEXT] =
        maxContext ? json::Value(maxContext.getInt()) : json::Value(nullptr);
    std::string text;
    llvm::raw_string_ostream os(text);
    os << json::Value(std::move(root));
    return text;
  }

private:
  /// The weight entry of parameter `op` in panels of `n0` rows (0: as
  /// stored), scaled along K by parameter `scale` if given.
  FailureOr<int64_t> addWeight(WeightOp op, int64_t n0, WeightOp scale) {
    std::string key = (op.getName() + "#" + llvm::Twine(n0) + "#" +
                       (scale ? scale.getName() : StringRef()) + "#" +
                       (op.getScales() ? "scales" : ""))
                          .str();
    auto it = weightIndex.find(key);
    if (it != weightIndex.end())
      return it->second;
    FailureOr<std::string> dtype = dtypeName(op, op.getType().getElementType());
    if (failed(dtype))
      return failure();
    json::Array shape;
    for (int64_t d : op.getType().getShape())
      shape.push_back(d);
    if (n0 && op.getType().getRank() != 2) {
      op.emitError("only a matrix can be packed in panels");
      return failure();
    }
    int64_t index = weights.size();
    weightIndex[key] = index;
    json::Object entry{{COIL_KEY_NAME, op.getName()},
                       {COIL_KEY_DTYPE, *dtype},
                       {COIL_KEY_SHAPE, std::move(shape)}};
    // The per-row scales of the int8 quantization of the named tensor.
    if (op.getScales())
      entry[COIL_KEY_PART] = COIL_PART_SCALES;
    if (scale) {
      auto scaleType = scale.getType();
      if (!n0 || scaleType.getRank() != 1 ||
          scaleType.getDimSize(0) != op.getType().getDimSize(1) ||
          !scaleType.getElementType().isF32()) {
        op.emitError("panels can only be scaled by an f32 vector of its ")
            << "input features, found " << scaleType;
        return failure();
      }
    }
    if (n0) {
      json::Object layout{{COIL_KEY_KIND, COIL_LAYOUT_PANELS},
                          {COIL_KEY_N0, n0}};
      if (scale)
        layout[COIL_KEY_SCALE] = scale.getName();
      entry[COIL_KEY_LAYOUT] = std::move(layout);
    }
    weights.push_back(std::move(entry));
    return index;
  }

  ModuleOp module;
  json::Array weights, states, kernels;
  json::Object entries;
  llvm::StringMap<int64_t> weightIndex, stateIndex, kernelIndex;
  std::vector<KernelCost> kernelCost;
};

struct CoilExtractSchedulePass
    : public coil::impl::CoilExtractSchedulePassBase<CoilExtractSchedulePass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    ScheduleBuilder builder(module);
    if (failed(builder.addKernels()))
      return signalPassFailure();
    SmallVector<func::FuncOp> entries;
    for (auto fn : module.getOps<func::FuncOp>())
      if (!fn->hasAttr("coil.kernel") && !fn.isExternal())
        entries.push_back(fn);
    if (entries.empty()) {
      module.emitError("no entry point to schedule");
      return signalPassFailure();
    }
    for (func::FuncOp fn : entries)
      if (failed(builder.addEntry(fn)))
        return signalPassFailure();
    module->setAttr("coil.metadata",
                    StringAttr::get(module.getContext(), builder.finish()));
    for (func::FuncOp fn : entries)
      fn.erase();
  }
};

} // namespace
