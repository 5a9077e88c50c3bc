//===- LoweringConfig.cpp - The recorded lowering of an op ------*- C++ -*-===//

#include "compiler/Codegen/CPU/LoweringConfig.h"

#include "dialects/Coil/IR/CoilOps.h"
#include "runtime/include/coil/abi.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Operation.h"

using namespace mlir;
using namespace mlir::coil;

DictionaryAttr ContractionConfig::toAttr(MLIRContext *context) const {
  Builder b(context);
  SmallVector<Attribute> names;
  for (const std::string &name : epilogue)
    names.push_back(b.getStringAttr(name));
  SmallVector<Attribute> before;
  for (const std::string &name : prologue)
    before.push_back(b.getStringAttr(name));
  return b.getDictionaryAttr({
      b.getNamedAttr("epilogue", b.getArrayAttr(names)),
      b.getNamedAttr("isa", b.getStringAttr(isa)),
      b.getNamedAttr("kc", b.getI64IntegerAttr(kc)),
      b.getNamedAttr("mc", b.getI64IntegerAttr(mc)),
      b.getNamedAttr("prologue", b.getArrayAttr(before)),
      b.getNamedAttr("split", b.getStringAttr("panels")),
      b.getNamedAttr("tile", b.getDenseI64ArrayAttr({mr, nr})),
      b.getNamedAttr("vector", b.getI64IntegerAttr(lanes)),
      b.getNamedAttr("weights", b.getStringAttr(packed ? COIL_LAYOUT_PANELS
                                                       : COIL_LAYOUT_ROWS)),
  });
}

DictionaryAttr ScanConfig::toAttr(MLIRContext *context) const {
  Builder b(context);
  return b.getDictionaryAttr({
      b.getNamedAttr("channels", b.getI64IntegerAttr(channels)),
      b.getNamedAttr("isa", b.getStringAttr(isa)),
      b.getNamedAttr("steps", b.getI64IntegerAttr(steps)),
  });
}

std::optional<ScanConfig> ScanConfig::of(Operation *op) {
  auto dict = op->getAttrOfType<DictionaryAttr>(kLoweringConfigAttrName);
  if (!dict)
    return std::nullopt;
  auto isa = dict.getAs<StringAttr>("isa");
  auto channels = dict.getAs<IntegerAttr>("channels");
  auto steps = dict.getAs<IntegerAttr>("steps");
  if (!isa || !channels || channels.getInt() < 1 || channels.getInt() > 64 ||
      !steps || steps.getInt() < 1 || steps.getInt() > 256)
    return std::nullopt;
  ScanConfig config;
  config.isa = isa.getValue();
  config.channels = channels.getInt();
  config.steps = steps.getInt();
  return config;
}

DictionaryAttr SsdScanConfig::toAttr(MLIRContext *context) const {
  Builder b(context);
  return b.getDictionaryAttr({
      b.getNamedAttr("isa", b.getStringAttr(isa)),
      b.getNamedAttr("lanes", b.getI64IntegerAttr(lanes)),
      b.getNamedAttr("steps", b.getI64IntegerAttr(steps)),
  });
}

std::optional<SsdScanConfig> SsdScanConfig::of(Operation *op) {
  auto dict = op->getAttrOfType<DictionaryAttr>(kLoweringConfigAttrName);
  if (!dict)
    return std::nullopt;
  auto isa = dict.getAs<StringAttr>("isa");
  auto steps = dict.getAs<IntegerAttr>("steps");
  auto lanes = dict.getAs<IntegerAttr>("lanes");
  if (!isa || !steps || steps.getInt() < 1 || steps.getInt() > 1024 || !lanes ||
      lanes.getInt() < 1 || lanes.getInt() > 64)
    return std::nullopt;
  SsdScanConfig config;
  config.isa = isa.getValue();
  config.steps = steps.getInt();
  config.lanes = lanes.getInt();
  return config;
}

DictionaryAttr ConvConfig::toAttr(MLIRContext *context) const {
  Builder b(context);
  SmallVector<Attribute> names;
  if (silu)
    names.push_back(b.getStringAttr("silu"));
  return b.getDictionaryAttr(
      {b.getNamedAttr("epilogue", b.getArrayAttr(names))});
}

std::optional<ConvConfig> ConvConfig::of(Operation *op) {
  auto dict = op->getAttrOfType<DictionaryAttr>(kLoweringConfigAttrName);
  if (!dict)
    return std::nullopt;
  auto epilogue = dict.getAs<ArrayAttr>("epilogue");
  if (!epilogue || epilogue.size() > 1)
    return std::nullopt;
  ConvConfig config;
  if (epilogue.size() == 1) {
    auto name = dyn_cast<StringAttr>(epilogue[0]);
    if (!name || name.getValue() != "silu")
      return std::nullopt;
    config.silu = true;
  }
  return config;
}

DictionaryAttr AttentionConfig::toAttr(MLIRContext *context) const {
  Builder b(context);
  return b.getDictionaryAttr({
      b.getNamedAttr("isa", b.getStringAttr(isa)),
      b.getNamedAttr("keys", b.getI64IntegerAttr(keys)),
      b.getNamedAttr("queries", b.getI64IntegerAttr(queries)),
      b.getNamedAttr("tile", b.getDenseI64ArrayAttr({rows, columns})),
      b.getNamedAttr("vector", b.getI64IntegerAttr(lanes)),
  });
}

std::optional<AttentionConfig> AttentionConfig::of(Operation *op) {
  auto dict = op->getAttrOfType<DictionaryAttr>(kLoweringConfigAttrName);
  if (!dict)
    return std::nullopt;
  auto isa = dict.getAs<StringAttr>("isa");
  auto keys = dict.getAs<IntegerAttr>("keys");
  auto queries = dict.getAs<IntegerAttr>("queries");
  auto tile = dict.getAs<DenseI64ArrayAttr>("tile");
  auto lanes = dict.getAs<IntegerAttr>("vector");
  if (!isa || !keys || !queries || !tile || tile.size() != 2 || !lanes)
    return std::nullopt;
  AttentionConfig config;
  config.isa = isa.getValue();
  config.keys = keys.getInt();
  config.queries = queries.getInt();
  config.rows = tile[0];
  config.columns = tile[1];
  config.lanes = lanes.getInt();
  // One vector of queries; the value tile's rows divide the block and its
  // columns are whole vectors.
  if (config.lanes < 1 || config.lanes > 64 ||
      config.queries != config.lanes || config.keys < 1 ||
      config.keys > 64 || config.rows < 1 ||
      config.queries % config.rows != 0 || config.columns < config.lanes ||
      config.columns % config.lanes != 0)
    return std::nullopt;
  return config;
}

std::optional<ContractionConfig> ContractionConfig::of(Operation *op) {
  auto dict = op->getAttrOfType<DictionaryAttr>(kLoweringConfigAttrName);
  if (!dict)
    return std::nullopt;
  auto isa = dict.getAs<StringAttr>("isa");
  auto tile = dict.getAs<DenseI64ArrayAttr>("tile");
  auto lanes = dict.getAs<IntegerAttr>("vector");
  auto mc = dict.getAs<IntegerAttr>("mc");
  auto weights = dict.getAs<StringAttr>("weights");
  if (!isa || !tile || tile.size() != 2 || !lanes || !mc || !weights)
    return std::nullopt;
  ContractionConfig config;
  config.isa = isa.getValue();
  config.mr = tile[0];
  config.nr = tile[1];
  config.lanes = lanes.getInt();
  config.mc = mc.getInt();
  config.packed = weights.getValue() == COIL_LAYOUT_PANELS;
  if (auto kc = dict.getAs<IntegerAttr>("kc"))
    config.kc = kc.getInt();
  if (config.kc < 0)
    return std::nullopt;
  // The op names of `key` (absent: none); false when one is not a string.
  auto readNames = [&](StringRef key, auto &names) {
    if (auto list = dict.getAs<ArrayAttr>(key))
      for (Attribute name : list) {
        auto s = dyn_cast<StringAttr>(name);
        if (!s)
          return false;
        names.push_back(s.str());
      }
    return true;
  };
  if (!readNames("epilogue", config.epilogue) ||
      !readNames("prologue", config.prologue))
    return std::nullopt;
  // The only prologue is an rms_norm, over packed panels.
  if (!config.prologue.empty() && (!config.foldsNorm() || !config.packed))
    return std::nullopt;
  if (config.mr < 1 || config.lanes < 1 || config.nr < config.lanes ||
      config.nr % config.lanes != 0 || config.mc < config.mr)
    return std::nullopt;
  return config;
}

SmallVector<Operation *>
mlir::coil::epilogueCandidates(Operation *linear,
                               const llvm::DenseSet<Value> &alsoReady) {
  SmallVector<Operation *> chain;
  Value current = linear->getResult(0);
  while (true) {
    Operation *user = soleReader(current);
    if (!user)
      break;
    // A split of the last dimension ends the chain: the tile stores each
    // column into the piece it belongs to.
    if (auto split = dyn_cast<SplitOp>(user)) {
      auto type = cast<RankedTensorType>(current.getType());
      if (static_cast<int64_t>(split.getDim()) == type.getRank() - 1 &&
          split->getBlock() == linear->getBlock())
        chain.push_back(split);
      break;
    }
    if (!isa<SiluOp, GeluOp, SoftplusOp, Relu2Op, ExpOp, NegOp, AddOp, MulOp,
             SubOp>(user) ||
        user->getBlock() != linear->getBlock() ||
        user->getResult(0).getType() != current.getType())
      break;
    bool ready = true;
    for (Value operand : user->getOperands()) {
      if (operand == current)
        continue;
      Operation *def = operand.getDefiningOp();
      if (operand.getType() != current.getType() ||
          (def && !def->isBeforeInBlock(linear) &&
           !alsoReady.contains(operand)))
        ready = false;
    }
    // x * x and similar read the chained value twice: keep them separate.
    if (!ready || llvm::count(user->getOperands(), current) != 1)
      break;
    chain.push_back(user);
    current = user->getResult(0);
  }
  return chain;
}

Operation *mlir::coil::soleReader(Value v) {
  Operation *reader = nullptr;
  for (Operation *u : v.getUsers()) {
    if (u->hasTrait<OpTrait::IsTerminator>())
      continue;
    if (reader)
      return nullptr;
    reader = u;
  }
  return reader;
}

SmallVector<Operation *> mlir::coil::fusedEpilogueOf(Operation *op) {
  SmallVector<Operation *> chain;
  auto dict = op->getAttrOfType<DictionaryAttr>(kLoweringConfigAttrName);
  auto names = dict ? dict.getAs<ArrayAttr>("epilogue") : ArrayAttr();
  if (!names || op->getNumResults() == 0)
    return chain;
  Value v = op->getResult(0);
  for (Attribute name : names) {
    Operation *reader = soleReader(v);
    auto expected = dyn_cast<StringAttr>(name);
    if (!reader || !expected ||
        reader->getName().stripDialect() != expected.getValue())
      break;
    chain.push_back(reader);
    v = reader->getResult(0);
  }
  return chain;
}

int64_t mlir::coil::panelWidthOf(Attribute layout) {
  auto dict = dyn_cast_or_null<DictionaryAttr>(layout);
  if (!dict)
    return 0;
  auto kind = dict.getAs<StringAttr>("kind");
  auto n0 = dict.getAs<IntegerAttr>("n0");
  if (!kind || kind.getValue() != COIL_LAYOUT_PANELS || !n0 || n0.getInt() < 1)
    return 0;
  return n0.getInt();
}

std::optional<unsigned> mlir::coil::panelScaleOf(Attribute layout) {
  auto dict = dyn_cast_or_null<DictionaryAttr>(layout);
  auto scale = dict ? dict.getAs<IntegerAttr>("scale") : IntegerAttr();
  if (!panelWidthOf(layout) || !scale || scale.getInt() < 0)
    return std::nullopt;
  return static_cast<unsigned>(scale.getInt());
}

DictionaryAttr mlir::coil::panelLayout(MLIRContext *context, int64_t n0,
                                       std::optional<unsigned> scale) {
  Builder b(context);
  SmallVector<NamedAttribute> fields{
      b.getNamedAttr("kind", b.getStringAttr(COIL_LAYOUT_PANELS)),
      b.getNamedAttr("n0", b.getI64IntegerAttr(n0))};
  if (scale)
    fields.push_back(b.getNamedAttr("scale", b.getI64IntegerAttr(*scale)));
  return b.getDictionaryAttr(fields);
}

bool mlir::coil::isFoldedIntoLinears(Operation *norm) {
  if (!isa<RmsNormOp>(norm))
    return false;
  bool any = false;
  for (Operation *user : norm->getResult(0).getUsers()) {
    if (user->hasTrait<OpTrait::IsTerminator>())
      continue;
    auto linear = dyn_cast<LinearOp>(user);
    std::optional<ContractionConfig> config =
        linear ? ContractionConfig::of(linear) : std::nullopt;
    if (!config || !config->foldsNorm() ||
        linear.getInput() != norm->getResult(0) ||
        linear.getBias() == norm->getResult(0))
      return false;
    any = true;
  }
  return any;
}
