//===- CoilOps.cpp - Coil dialect operations --------------------*- C++ -*-===//
//
// Verifiers, folders and builders of the `coil` ops. Every verifier checks
// ranks, the static extents it can see and element types, and names the
// operand, the dimension and what was expected in its diagnostic. Dynamic
// extents (batch, sequence) are accepted wherever a static one is expected;
// the runtime checks them when the real sizes are known.
//
//===----------------------------------------------------------------------===//

#include "dialects/Coil/IR/CoilOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/STLExtras.h"

#include <cmath>
#include <string>

using namespace mlir;
using namespace mlir::coil;

//===----------------------------------------------------------------------===//
// Shape-checking helpers
//===----------------------------------------------------------------------===//

namespace {

/// Prints an extent the way MLIR types do: `?` for dynamic.
std::string formatDim(int64_t dim) {
  return ShapedType::isDynamic(dim) ? std::string("?") : std::to_string(dim);
}

/// True when two extents may be equal at run time.
bool compatibleDims(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

/// Checks the shapes of one op's operands and results and reports the first
/// mismatch as an error located at the op.
class ShapeChecker {
public:
  explicit ShapeChecker(Operation *op) : op(op) {}

  static RankedTensorType typeOf(Value v) {
    return cast<RankedTensorType>(v.getType());
  }

  /// `v` (called `name`) must have rank `rank`.
  LogicalResult rank(Value v, StringRef name, int64_t rank) {
    if (typeOf(v).getRank() == rank)
      return success();
    return op->emitOpError()
           << name << " must have rank " << rank << ", got " << typeOf(v);
  }

  /// `v` must have at least rank `rank`.
  LogicalResult minRank(Value v, StringRef name, int64_t rank) {
    if (typeOf(v).getRank() >= rank)
      return success();
    return op->emitOpError()
           << name << " must have rank >= " << rank << ", got " << typeOf(v);
  }

  /// Dimension `idx` of `v` must be compatible with `expected`; `meaning`
  /// says which model dimension it is.
  LogicalResult dim(Value v, StringRef name, int64_t idx, int64_t expected,
                    StringRef meaning) {
    int64_t got = typeOf(v).getDimSize(idx);
    if (compatibleDims(got, expected))
      return success();
    return op->emitOpError()
           << name << " dimension " << idx << " (" << meaning << ") is "
           << formatDim(got) << ", expected " << formatDim(expected);
  }

  /// Dimension `idx` of `v` must be static.
  LogicalResult staticDim(Value v, StringRef name, int64_t idx,
                          StringRef meaning) {
    if (!typeOf(v).isDynamicDim(idx))
      return success();
    return op->emitOpError() << name << " dimension " << idx << " (" << meaning
                             << ") must be static";
  }

  /// `v` must have a fully static shape.
  LogicalResult staticShape(Value v, StringRef name) {
    if (typeOf(v).hasStaticShape())
      return success();
    return op->emitOpError()
           << name << " must have a static shape, got " << typeOf(v);
  }

  /// `a` and `b` must have the same element type.
  LogicalResult sameElementType(Value a, StringRef aName, Value b,
                                StringRef bName) {
    Type ea = typeOf(a).getElementType(), eb = typeOf(b).getElementType();
    if (ea == eb)
      return success();
    return op->emitOpError()
           << aName << " element type " << ea << " does not match " << bName
           << " element type " << eb;
  }

  /// `a` must have the rank, compatible extents and element type of `b`.
  LogicalResult sameShape(Value a, StringRef aName, Value b, StringRef bName) {
    RankedTensorType ta = typeOf(a), tb = typeOf(b);
    if (ta.getRank() != tb.getRank())
      return op->emitOpError() << aName << " must have the rank of " << bName
                               << " (" << tb.getRank() << "), got " << ta;
    for (int64_t i = 0, e = ta.getRank(); i < e; ++i)
      if (!compatibleDims(ta.getDimSize(i), tb.getDimSize(i)))
        return op->emitOpError()
               << aName << " dimension " << i << " is "
               << formatDim(ta.getDimSize(i)) << ", but " << bName
               << " dimension " << i << " is " << formatDim(tb.getDimSize(i));
    return sameElementType(a, aName, b, bName);
  }

  /// `value` must be strictly positive.
  LogicalResult positive(int64_t value, StringRef name) {
    if (value > 0)
      return success();
    return op->emitOpError() << name << " must be positive, got " << value;
  }

private:
  Operation *op;
};

} // namespace

//===----------------------------------------------------------------------===//
// WeightOp
//===----------------------------------------------------------------------===//

LogicalResult WeightOp::verify() {
  if (getName().empty())
    return emitOpError("name must not be empty");
  ShapeChecker c(*this);
  if (failed(c.staticShape(getResult(), "result")))
    return failure();
  Type element = c.typeOf(getResult()).getElementType();
  if (getScales()) {
    if (!element.isF32())
      return emitOpError("the scales of an int8 weight are f32, found ")
             << element;
    if (c.typeOf(getResult()).getRank() > 2)
      return emitOpError("scales are [N] (int8) or [N, K / 32] (int4), "
                         "found ")
             << getResult().getType();
    return success();
  }
  if (element.isInteger(8) || element.isInteger(4)) {
    if (failed(c.rank(getResult(), "result", 2)))
      return failure();
    int64_t k = c.typeOf(getResult()).getDimSize(1);
    if (element.isInteger(4) && k % 32 != 0)
      return emitOpError("an int4 matrix has groups of 32 along K, but K is ")
             << k;
  }
  return success();
}

/// An int8 `matrix` needs `scale`, one f32 per row; an int4 one f32 per
/// group of 32 along each row; a float one none.
static LogicalResult verifyScale(ShapeChecker &c, Operation *op, Value matrix,
                                 StringRef what, Value scale) {
  Type element = c.typeOf(matrix).getElementType();
  bool int4 = element.isInteger(4);
  bool quantized = element.isInteger(8) || int4;
  if (quantized && !scale)
    return op->emitOpError()
           << "an int" << (int4 ? 4 : 8) << " " << what << " needs its scale";
  if (!quantized && scale)
    return op->emitOpError() << "a scale needs an int8 or int4 " << what;
  if (!scale)
    return success();
  if (!c.typeOf(scale).getElementType().isF32())
    return op->emitOpError("the scale must be f32");
  std::string rows = "rows of the " + what.str();
  if (failed(c.rank(scale, "scale", int4 ? 2 : 1)) ||
      failed(c.dim(scale, "scale", 0, c.typeOf(matrix).getDimSize(0), rows)))
    return failure();
  if (int4)
    return c.dim(scale, "scale", 1, c.typeOf(matrix).getDimSize(1) / 32,
                 "groups of 32");
  return success();
}

//===----------------------------------------------------------------------===//
// EmbedOp
//===----------------------------------------------------------------------===//

LogicalResult EmbedOp::verify() {
  ShapeChecker c(*this);
  Value table = getTable(), ids = getIds(), result = getResult();
  if (failed(c.rank(table, "table", 2)) ||
      failed(c.staticShape(table, "table")) ||
      failed(c.rank(result, "result", c.typeOf(ids).getRank() + 1)))
    return failure();
  for (int64_t i = 0, e = c.typeOf(ids).getRank(); i < e; ++i)
    if (failed(c.dim(result, "result", i, c.typeOf(ids).getDimSize(i),
                     "ids extent")))
      return failure();
  int64_t last = c.typeOf(result).getRank() - 1;
  if (failed(c.dim(result, "result", last, c.typeOf(table).getDimSize(1),
                   "embedding width")))
    return failure();
  if (failed(verifyScale(c, *this, table, "table", getScale())))
    return failure();
  // A narrower or quantized table gives f32 rows.
  Type from = c.typeOf(table).getElementType(),
       to = c.typeOf(result).getElementType();
  bool quantized = from.isInteger(8) || from.isInteger(4);
  if (quantized && !to.isF32())
    return emitOpError("the rows of a quantized table are f32, found ") << to;
  if (to.isF32() && (from.isBF16() || from.isF16() || quantized))
    return success();
  return c.sameElementType(result, "result", table, "table");
}

//===----------------------------------------------------------------------===//
// LinearOp
//===----------------------------------------------------------------------===//

LogicalResult LinearOp::verify() {
  ShapeChecker c(*this);
  Value x = getInput(), w = getWeight(), result = getResult();
  if (failed(c.minRank(x, "input", 1)) || failed(c.rank(w, "weight", 2)) ||
      failed(c.staticShape(w, "weight")))
    return failure();
  int64_t rank = c.typeOf(x).getRank();
  int64_t out = c.typeOf(w).getDimSize(0), in = c.typeOf(w).getDimSize(1);
  if (failed(c.dim(x, "input", rank - 1, in, "in features")) ||
      failed(c.rank(result, "result", rank)))
    return failure();
  for (int64_t i = 0; i + 1 < rank; ++i)
    if (failed(c.dim(result, "result", i, c.typeOf(x).getDimSize(i),
                     "input extent")))
      return failure();
  if (failed(c.dim(result, "result", rank - 1, out, "out features")))
    return failure();
  if (Value b = getBias())
    if (failed(c.rank(b, "bias", 1)) ||
        failed(c.dim(b, "bias", 0, out, "out features")))
      return failure();
  if (failed(verifyScale(c, *this, w, "weight", getScale())))
    return failure();
  return c.sameElementType(result, "result", x, "input");
}

//===----------------------------------------------------------------------===//
// Norms
//===----------------------------------------------------------------------===//

/// Shared checks of rms_norm and layer_norm: `x : [..., D]`, per-feature
/// parameters `[D]`, result typed like `x`, non-negative epsilon.
static LogicalResult verifyNorm(Operation *op, Value x, ValueRange params,
                                Value result, float epsilon) {
  ShapeChecker c(op);
  if (failed(c.minRank(x, "input", 1)))
    return failure();
  int64_t last = c.typeOf(x).getRank() - 1;
  if (failed(c.staticDim(x, "input", last, "normalised features")))
    return failure();
  int64_t width = c.typeOf(x).getDimSize(last);
  for (Value p : params) {
    StringRef name = p == params.front() ? "weight" : "bias";
    if (failed(c.rank(p, name, 1)) ||
        failed(c.dim(p, name, 0, width, "normalised features")))
      return failure();
  }
  if (!(epsilon >= 0.0f) || !std::isfinite(epsilon))
    return op->emitOpError()
           << "epsilon must be finite and >= 0, got " << epsilon;
  return c.sameShape(result, "result", x, "input");
}

LogicalResult RmsNormOp::verify() {
  if (failed(verifyNorm(*this, getInput(), getWeight(), getResult(),
                        getEpsilon().convertToFloat())))
    return failure();
  std::optional<int64_t> group = getGroupSize();
  if (!group)
    return success();
  RankedTensorType type = ShapeChecker::typeOf(getInput());
  int64_t width = type.getDimSize(type.getRank() - 1);
  if (*group <= 0 || width % *group != 0)
    return emitOpError() << "group_size " << *group
                         << " must be positive and divide the normalised "
                            "features ("
                         << width << ")";
  return success();
}

LogicalResult LayerNormOp::verify() {
  SmallVector<Value, 2> params{getWeight()};
  if (Value b = getBias())
    params.push_back(b);
  return verifyNorm(*this, getInput(), params, getResult(),
                    getEpsilon().convertToFloat());
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

OpFoldResult NegOp::fold(FoldAdaptor) {
  // neg(neg(x)) -> x
  if (auto inner = getInput().getDefiningOp<NegOp>())
    return inner.getInput();
  return {};
}

//===----------------------------------------------------------------------===//
// SliceOp
//===----------------------------------------------------------------------===//

LogicalResult SliceOp::verify() {
  ShapeChecker c(*this);
  RankedTensorType in = c.typeOf(getInput());
  int64_t dim = getDim(), offset = getOffset(), size = getSize();
  if (dim < 0 || dim >= in.getRank())
    return emitOpError() << "dim " << dim << " is out of range for rank "
                         << in.getRank();
  if (offset < 0)
    return emitOpError() << "offset must be >= 0, got " << offset;
  if (failed(c.positive(size, "size")))
    return failure();
  if (!in.isDynamicDim(dim) && offset + size > in.getDimSize(dim))
    return emitOpError() << "slice [" << offset << ", " << offset + size
                         << ") exceeds extent " << in.getDimSize(dim)
                         << " of dimension " << dim;
  if (failed(c.rank(getResult(), "result", in.getRank())))
    return failure();
  for (int64_t i = 0, e = in.getRank(); i < e; ++i) {
    int64_t expected = i == dim ? size : in.getDimSize(i);
    if (failed(c.dim(getResult(), "result", i, expected,
                     i == dim ? "slice size" : "input extent")))
      return failure();
  }
  return c.sameElementType(getResult(), "result", getInput(), "input");
}

OpFoldResult SliceOp::fold(FoldAdaptor) {
  // A slice covering the whole dimension is the identity.
  auto in = cast<RankedTensorType>(getInput().getType());
  if (getOffset() == 0 &&
      in.getDimSize(getDim()) == static_cast<int64_t>(getSize()) &&
      in == getType())
    return getInput();
  return {};
}

//===----------------------------------------------------------------------===//
// SplitOp
//===----------------------------------------------------------------------===//

LogicalResult SplitOp::verify() {
  ShapeChecker c(*this);
  RankedTensorType in = c.typeOf(getInput());
  int64_t dim = getDim();
  ArrayRef<int64_t> sizes = getSizes();
  if (dim < 0 || dim >= in.getRank())
    return emitOpError() << "dim " << dim << " is out of range for rank "
                         << in.getRank();
  if (sizes.empty())
    return emitOpError("sizes must not be empty");
  if (sizes.size() != getNumResults())
    return emitOpError() << "has " << getNumResults() << " results but "
                         << sizes.size() << " sizes";
  int64_t total = 0;
  for (int64_t s : sizes) {
    if (failed(c.positive(s, "each size")))
      return failure();
    total += s;
  }
  if (!in.isDynamicDim(dim) && total != in.getDimSize(dim))
    return emitOpError() << "sizes sum to " << total << ", but dimension "
                         << dim << " has extent " << in.getDimSize(dim);
  for (auto [k, r] : llvm::enumerate(getResults())) {
    std::string name = "result #" + std::to_string(k);
    if (failed(c.rank(r, name, in.getRank())))
      return failure();
    for (int64_t i = 0, e = in.getRank(); i < e; ++i)
      if (failed(c.dim(r, name, i, i == dim ? sizes[k] : in.getDimSize(i),
                       i == dim ? "split size" : "input extent")))
        return failure();
    if (failed(c.sameElementType(r, name, getInput(), "input")))
      return failure();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// ReshapeOp
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::verify() {
  ShapeChecker c(*this);
  if (failed(c.staticShape(getInput(), "input")) ||
      failed(c.staticShape(getResult(), "result")) ||
      failed(c.sameElementType(getResult(), "result", getInput(), "input")))
    return failure();
  int64_t in = c.typeOf(getInput()).getNumElements();
  int64_t out = c.typeOf(getResult()).getNumElements();
  if (in != out)
    return emitOpError() << "cannot reshape " << in << " elements into " << out;
  return success();
}

OpFoldResult ReshapeOp::fold(FoldAdaptor) {
  if (getInput().getType() == getType())
    return getInput();
  // reshape(reshape(x)) -> reshape(x)
  if (auto inner = getInput().getDefiningOp<ReshapeOp>()) {
    getInputMutable().assign(inner.getInput());
    return getResult();
  }
  return {};
}

//===----------------------------------------------------------------------===//
// RopeOp
//===----------------------------------------------------------------------===//

LogicalResult RopeOp::verify() {
  ShapeChecker c(*this);
  Value x = getInput(), pos = getPositions();
  if (failed(c.rank(x, "input", 3)) || failed(c.rank(pos, "positions", 2)) ||
      failed(c.staticDim(x, "input", 2, "heads * head_dim")) ||
      failed(c.positive(getNumHeads(), "num_heads")))
    return failure();
  int64_t width = c.typeOf(x).getDimSize(2), heads = getNumHeads();
  if (width % heads != 0)
    return emitOpError() << "input width " << width
                         << " is not a multiple of num_heads " << heads;
  if ((width / heads) % 2 != 0)
    return emitOpError() << "head_dim " << width / heads
                         << " must be even for rotate-half";
  if (!(getTheta().convertToDouble() > 0.0))
    return emitOpError("theta must be positive");
  if (failed(c.dim(pos, "positions", 0, c.typeOf(x).getDimSize(0), "batch")) ||
      failed(c.dim(pos, "positions", 1, c.typeOf(x).getDimSize(1), "sequence")))
    return failure();
  return c.sameShape(getResult(), "result", x, "input");
}

//===----------------------------------------------------------------------===//
// State histories (the optional `states` of conv1d_causal and scan)
//===----------------------------------------------------------------------===//

/// `states` is the state after every step of a call on `input` [B, T, ...]:
/// [B, T] followed by the extents of `state` after its batch.
static LogicalResult checkStateHistory(ShapeChecker &c, Value states,
                                       Value input, Value state) {
  RankedTensorType stateType = c.typeOf(state);
  if (failed(c.rank(states, "states", stateType.getRank() + 1)) ||
      failed(c.dim(states, "states", 0, c.typeOf(input).getDimSize(0),
                   "batch")) ||
      failed(c.dim(states, "states", 1, c.typeOf(input).getDimSize(1),
                   "sequence")) ||
      failed(c.sameElementType(states, "states", state, "state")))
    return failure();
  for (int64_t d = 1; d < stateType.getRank(); ++d)
    if (failed(c.dim(states, "states", d + 1, stateType.getDimSize(d),
                     "state extent")))
      return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// Conv1dCausalOp
//===----------------------------------------------------------------------===//

LogicalResult Conv1dCausalOp::verify() {
  ShapeChecker c(*this);
  Value x = getInput(), w = getWeight(), state = getStateIn();
  if (failed(c.rank(x, "input", 3)) || failed(c.rank(w, "weight", 2)) ||
      failed(c.staticShape(w, "weight")) || failed(c.rank(state, "state", 3)))
    return failure();
  int64_t channels = c.typeOf(w).getDimSize(0);
  int64_t kernel = c.typeOf(w).getDimSize(1);
  if (kernel < 2)
    return emitOpError() << "kernel width must be >= 2, got " << kernel;
  if (failed(c.dim(x, "input", 2, channels, "channels")))
    return failure();
  if (Value b = getBias())
    if (failed(c.rank(b, "bias", 1)) ||
        failed(c.dim(b, "bias", 0, channels, "channels")))
      return failure();
  if (failed(c.dim(state, "state", 0, c.typeOf(x).getDimSize(0), "batch")) ||
      failed(c.dim(state, "state", 1, channels, "channels")) ||
      failed(c.dim(state, "state", 2, kernel - 1, "kernel width - 1")) ||
      failed(c.sameElementType(state, "state", x, "input")) ||
      failed(c.sameShape(getResult(), "result", x, "input")) ||
      failed(c.sameShape(getStateOut(), "state_out", state, "state")))
    return failure();
  if (Value states = getStates())
    return checkStateHistory(c, states, x, state);
  return success();
}

//===----------------------------------------------------------------------===//
// ScanOp
//===----------------------------------------------------------------------===//

LogicalResult ScanOp::verify() {
  ShapeChecker c(*this);
  Value u = getU(), a = getA(), state = getStateIn();
  if (failed(c.rank(u, "u", 3)) || failed(c.staticDim(u, "u", 2, "channels")) ||
      failed(c.sameShape(getDelta(), "delta", u, "u")) ||
      failed(c.rank(a, "A", 2)) || failed(c.staticShape(a, "A")))
    return failure();
  int64_t channels = c.typeOf(u).getDimSize(2);
  int64_t stateSize = c.typeOf(a).getDimSize(1);
  int64_t batch = c.typeOf(u).getDimSize(0), seq = c.typeOf(u).getDimSize(1);
  if (failed(c.dim(a, "A", 0, channels, "channels")))
    return failure();
  for (auto [v, name] : {std::pair<Value, StringRef>{getB(), "B"},
                         std::pair<Value, StringRef>{getC(), "C"}}) {
    if (failed(c.rank(v, name, 3)) ||
        failed(c.dim(v, name, 0, batch, "batch")) ||
        failed(c.dim(v, name, 1, seq, "sequence")) ||
        failed(c.dim(v, name, 2, stateSize, "state size")) ||
        failed(c.sameElementType(v, name, u, "u")))
      return failure();
  }
  if (failed(c.rank(getD(), "D", 1)) ||
      failed(c.dim(getD(), "D", 0, channels, "channels")))
    return failure();
  if (Value z = getZ())
    if (failed(c.sameShape(z, "z", u, "u")))
      return failure();
  if (failed(c.rank(state, "state", 3)) ||
      failed(c.dim(state, "state", 0, batch, "batch")) ||
      failed(c.dim(state, "state", 1, channels, "channels")) ||
      failed(c.dim(state, "state", 2, stateSize, "state size")) ||
      failed(c.sameElementType(state, "state", u, "u")) ||
      failed(c.sameShape(getResult(), "result", u, "u")) ||
      failed(c.sameShape(getStateOut(), "state_out", state, "state")))
    return failure();
  if (Value states = getStates())
    return checkStateHistory(c, states, u, state);
  return success();
}

namespace {

/// scan(softplus(x)) -> scan(x) {delta_softplus}.
struct FoldSoftplusIntoScan : public OpRewritePattern<ScanOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ScanOp scan,
                                PatternRewriter &rewriter) const override {
    auto softplus = scan.getDelta().getDefiningOp<SoftplusOp>();
    if (scan.getDeltaSoftplus() || !softplus)
      return failure();
    rewriter.modifyOpInPlace(scan, [&] {
      scan.getDeltaMutable().assign(softplus.getInput());
      scan.setDeltaSoftplus(true);
    });
    return success();
  }
};

/// mul(scan(...), silu(z)) -> scan(...) gate(z), when the mul is the only
/// user of the scan's output.
struct FoldGateIntoScan : public OpRewritePattern<ScanOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ScanOp scan,
                                PatternRewriter &rewriter) const override {
    Value y = scan.getResult();
    if (scan.getZ() || !y.hasOneUse())
      return failure();
    auto mul = dyn_cast<MulOp>(*y.user_begin());
    if (!mul)
      return failure();
    Value other = mul.getLhs() == y ? mul.getRhs() : mul.getLhs();
    auto silu = other.getDefiningOp<SiluOp>();
    if (!silu || silu.getInput().getType() != y.getType())
      return failure();
    // The gate must be available at the scan.
    Value z = silu.getInput();
    if (Operation *def = z.getDefiningOp())
      if (def->getBlock() != scan->getBlock() || !def->isBeforeInBlock(scan))
        return failure();
    auto fused = rewriter.create<ScanOp>(
        scan.getLoc(), scan.getResultTypes(), scan.getU(), scan.getDelta(),
        scan.getA(), scan.getB(), scan.getC(), scan.getD(), z,
        scan.getStateIn(), scan.getDeltaSoftplusAttr());
    rewriter.replaceOp(mul, fused.getResult());
    rewriter.replaceAllUsesWith(scan.getStateOut(), fused.getStateOut());
    rewriter.eraseOp(scan);
    return success();
  }
};

} // namespace

void ScanOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                         MLIRContext *context) {
  results.add<FoldSoftplusIntoScan, FoldGateIntoScan>(context);
}

//===----------------------------------------------------------------------===//
// SsdScanOp
//===----------------------------------------------------------------------===//

int64_t SsdScanOp::getNumHeads() {
  return cast<RankedTensorType>(getStateIn().getType()).getDimSize(1);
}
int64_t SsdScanOp::getHeadDim() {
  return cast<RankedTensorType>(getStateIn().getType()).getDimSize(2);
}
int64_t SsdScanOp::getStateSize() {
  return cast<RankedTensorType>(getStateIn().getType()).getDimSize(3);
}
int64_t SsdScanOp::getNumGroups() {
  return cast<RankedTensorType>(getB().getType()).getDimSize(2) /
         getStateSize();
}

LogicalResult SsdScanOp::verify() {
  ShapeChecker c(*this);
  Value x = getX(), state = getStateIn();
  if (failed(c.rank(state, "state", 4)))
    return failure();
  for (int64_t i = 1; i < 4; ++i)
    if (failed(c.staticDim(state, "state", i,
                           i == 1   ? "heads"
                           : i == 2 ? "head_dim"
                                    : "state size")))
      return failure();
  int64_t heads = getNumHeads(), headDim = getHeadDim(),
          stateSize = getStateSize();
  if (failed(c.positive(heads, "heads")) ||
      failed(c.positive(headDim, "head_dim")) ||
      failed(c.positive(stateSize, "state size")) ||
      failed(c.rank(x, "x", 3)) ||
      failed(c.dim(x, "x", 2, heads * headDim, "heads * head_dim")) ||
      failed(c.sameElementType(state, "state", x, "x")))
    return failure();
  int64_t batch = c.typeOf(x).getDimSize(0), seq = c.typeOf(x).getDimSize(1);
  if (failed(c.dim(state, "state", 0, batch, "batch")) ||
      failed(c.rank(getDt(), "dt", 3)) ||
      failed(c.dim(getDt(), "dt", 0, batch, "batch")) ||
      failed(c.dim(getDt(), "dt", 1, seq, "sequence")) ||
      failed(c.dim(getDt(), "dt", 2, heads, "heads")) ||
      failed(c.sameElementType(getDt(), "dt", x, "x")))
    return failure();
  for (auto [v, name] : {std::pair<Value, StringRef>{getA(), "A"},
                         std::pair<Value, StringRef>{getD(), "D"},
                         std::pair<Value, StringRef>{getDtBias(), "dt_bias"}})
    if (v && (failed(c.rank(v, name, 1)) ||
              failed(c.dim(v, name, 0, heads, "heads"))))
      return failure();
  if (failed(c.rank(getB(), "B", 3)) ||
      failed(c.staticDim(getB(), "B", 2, "groups * state size")))
    return failure();
  int64_t groupWidth = c.typeOf(getB()).getDimSize(2);
  if (groupWidth % stateSize != 0 || heads % (groupWidth / stateSize) != 0)
    return emitOpError() << "B's last dimension " << groupWidth
                         << " must be a number of groups of " << stateSize
                         << " states that divides the " << heads << " heads";
  for (auto [v, name] : {std::pair<Value, StringRef>{getB(), "B"},
                         std::pair<Value, StringRef>{getC(), "C"}})
    if (failed(c.rank(v, name, 3)) ||
        failed(c.dim(v, name, 0, batch, "batch")) ||
        failed(c.dim(v, name, 1, seq, "sequence")) ||
        failed(c.dim(v, name, 2, groupWidth, "groups * state size")) ||
        failed(c.sameElementType(v, name, x, "x")))
      return failure();
  if (std::optional<ArrayRef<double>> limit = getDtLimit())
    if (limit->size() != 2 || std::isnan((*limit)[0]) ||
        std::isnan((*limit)[1]) || (*limit)[0] > (*limit)[1])
      return emitOpError()
             << "dt_limit must be two numbers [low, high] with low <= high";
  if (failed(c.sameShape(getResult(), "result", x, "x")) ||
      failed(c.sameShape(getStateOut(), "state_out", state, "state")))
    return failure();
  if (Value states = getStates())
    return checkStateHistory(c, states, x, state);
  return success();
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

int64_t AttentionOp::getHeadDim() {
  return cast<RankedTensorType>(getKCache().getType()).getDimSize(3);
}

double AttentionOp::getScaleOrDefault() {
  if (std::optional<APFloat> scale = getScale())
    return scale->convertToDouble();
  return 1.0 / std::sqrt(static_cast<double>(getHeadDim()));
}

LogicalResult AttentionOp::verify() {
  ShapeChecker c(*this);
  Value q = getQ(), k = getK(), kc = getKCache(), pos = getPositions();
  int64_t heads = getNumHeads(), kvHeads = getNumKvHeads();
  if (failed(c.positive(heads, "num_heads")) ||
      failed(c.positive(kvHeads, "num_kv_heads")))
    return failure();
  if (heads % kvHeads != 0)
    return emitOpError() << "num_heads " << heads
                         << " is not a multiple of num_kv_heads " << kvHeads;
  if (failed(c.rank(q, "q", 3)) || failed(c.rank(k, "k", 3)) ||
      failed(c.rank(kc, "k_cache", 4)) ||
      failed(c.staticDim(kc, "k_cache", 3, "head_dim")) ||
      failed(c.rank(pos, "positions", 2)))
    return failure();
  int64_t headDim = getHeadDim();
  int64_t batch = c.typeOf(q).getDimSize(0), seq = c.typeOf(q).getDimSize(1);
  if (failed(c.positive(headDim, "head_dim")) ||
      failed(c.dim(q, "q", 2, heads * headDim, "num_heads * head_dim")) ||
      failed(c.dim(k, "k", 0, batch, "batch")) ||
      failed(c.dim(k, "k", 1, seq, "sequence")) ||
      failed(c.dim(k, "k", 2, kvHeads * headDim, "num_kv_heads * head_dim")) ||
      failed(c.sameElementType(k, "k", q, "q")) ||
      failed(c.sameShape(getV(), "v", k, "k")) ||
      failed(c.dim(kc, "k_cache", 0, batch, "batch")) ||
      failed(c.dim(kc, "k_cache", 1, kvHeads, "num_kv_heads")) ||
      failed(c.sameElementType(kc, "k_cache", q, "q")) ||
      failed(c.sameShape(getVCache(), "v_cache", kc, "k_cache")) ||
      failed(c.dim(pos, "positions", 0, batch, "batch")) ||
      failed(c.dim(pos, "positions", 1, seq, "sequence")) ||
      failed(c.sameShape(getResult(), "result", q, "q")) ||
      failed(c.sameShape(getKCacheOut(), "k_cache_out", kc, "k_cache")) ||
      failed(c.sameShape(getVCacheOut(), "v_cache_out", kc, "k_cache")))
    return failure();
  if (std::optional<APFloat> scale = getScale()) {
    double value = scale->convertToDouble();
    if (!(value > 0.0) || !std::isfinite(value))
      return emitOpError() << "scale must be finite and positive, got "
                           << value;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// KernelOp
//===----------------------------------------------------------------------===//

void KernelOp::build(OpBuilder &builder, OperationState &state, StringRef name,
                     TypeRange resultTypes, ValueRange inputs) {
  state.addAttribute(getNameAttrName(state.name), builder.getStringAttr(name));
  state.addOperands(inputs);
  state.addTypes(resultTypes);
  Region *body = state.addRegion();
  Block *block = new Block();
  body->push_back(block);
  for (Value input : inputs)
    block->addArgument(input.getType(), state.location);
}

LogicalResult KernelOp::verifyRegions() {
  if (getName().empty())
    return emitOpError("name must not be empty");
  Block &block = getBody().front();
  if (block.getNumArguments() != getInputs().size())
    return emitOpError() << "body has " << block.getNumArguments()
                         << " arguments but the kernel has "
                         << getInputs().size() << " inputs";
  for (auto [i, arg, input] :
       llvm::enumerate(block.getArguments(), getInputs()))
    if (arg.getType() != input.getType())
      return emitOpError() << "body argument #" << i << " has type "
                           << arg.getType() << " but input #" << i
                           << " has type " << input.getType();
  auto yield = dyn_cast_or_null<YieldOp>(
      block.mightHaveTerminator() ? block.getTerminator() : nullptr);
  if (!yield)
    return emitOpError("body must end with coil.yield");
  if (!llvm::equal(yield.getValues().getTypes(), getResultTypes()))
    return yield.emitOpError()
           << "yields " << yield.getValues().getTypes()
           << " but the enclosing kernel returns " << getResultTypes();
  return success();
}

//===----------------------------------------------------------------------===//
// TableGen'd op definitions
//===----------------------------------------------------------------------===//

#define GET_OP_CLASSES
#include "dialects/Coil/IR/CoilOps.cpp.inc"
