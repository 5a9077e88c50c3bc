//===- Interpreter.cpp - Reference interpreter of coil IR -------*- C++ -*-===//
//
// One plain loop nest per op, written to match the op's documented math
// line for line. Shapes come from the run-time operands; each result is
// checked against the static extents of its type.
//
//===----------------------------------------------------------------------===//

#include "compiler/Reference/Interpreter.h"

#include "runtime/src/weights/Quantize.h"

#include "dialects/Coil/IR/CoilOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

using namespace mlir;
using namespace mlir::coil;
using namespace mlir::coil::reference;
using llvm::Error;
using llvm::Expected;

//===----------------------------------------------------------------------===//
// Tensor
//===----------------------------------------------------------------------===//

Tensor Tensor::filled(std::vector<int64_t> shape, double value) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return Tensor(std::move(shape), std::vector<double>(n, value));
}

int64_t Tensor::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

namespace {

using TensorPtr = std::shared_ptr<const Tensor>;

std::string formatShape(ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (auto [i, d] : llvm::enumerate(shape))
    s += (i ? ", " : "") + std::to_string(d);
  return s + "]";
}

Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// An error located at `op`.
Error opError(Operation *op, const llvm::Twine &message) {
  std::string loc;
  llvm::raw_string_ostream os(loc);
  op->getLoc().print(os);
  return makeError("'" + op->getName().getStringRef() + "' at " + loc + ": " +
                   message);
}

/// Rounds `v` to the element type `type` (f32, f16 or bf16; integers and
/// other types are kept exact).
double roundTo(Type type, double v) {
  if (type.isF32())
    return static_cast<float>(v);
  if (type.isF16())
    return static_cast<double>(static_cast<_Float16>(v));
  if (type.isBF16()) {
    float f = static_cast<float>(v);
    if (std::isnan(f))
      return f;
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    bits += 0x7FFF + ((bits >> 16) & 1); // round to nearest even
    bits &= 0xFFFF0000u;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  return v;
}

/// Checks that `t` fits the static type of `v`.
Error checkFits(Operation *op, StringRef what, Value v, const Tensor &t) {
  auto type = cast<RankedTensorType>(v.getType());
  bool ok = type.getRank() == t.rank();
  for (int64_t i = 0; ok && i < t.rank(); ++i)
    ok = type.isDynamicDim(i) || type.getDimSize(i) == t.shape[i];
  if (ok)
    return Error::success();
  std::string typeStr;
  llvm::raw_string_ostream os(typeStr);
  os << type;
  return opError(op, what + " has shape " + formatShape(t.shape) +
                         ", which does not fit " + typeStr);
}

double silu(double x) { return x / (1.0 + std::exp(-x)); }
double softplus(double x) { return x > 20.0 ? x : std::log1p(std::exp(x)); }

} // namespace

//===----------------------------------------------------------------------===//
// Frame: the values of one function or kernel body
//===----------------------------------------------------------------------===//

class Interpreter::Frame {
public:
  Frame(Interpreter &interp) : interp(interp) {}

  const Tensor &get(Value v) { return *values.lookup(v); }
  TensorPtr getPtr(Value v) { return values.lookup(v); }

  /// Rounds `t` to `v`'s element type, checks it fits `v`'s type, binds it.
  Error set(Operation *op, Value v, Tensor t) {
    Type element = cast<RankedTensorType>(v.getType()).getElementType();
    for (double &x : t.data)
      x = roundTo(element, x);
    if (Error e = checkFits(op, "result", v, t))
      return e;
    values[v] = std::make_shared<const Tensor>(std::move(t));
    return Error::success();
  }

  void bind(Value v, TensorPtr t) { values[v] = std::move(t); }

  /// Runs `block` until its terminator; returns the terminator's operands.
  Expected<std::vector<TensorPtr>> runBlock(Block &block);

private:
  Error exec(Operation *op);
  Error execEmbed(EmbedOp op);
  Error execLinear(LinearOp op);
  /// `group` features normalised together (0: the whole last dimension).
  Error execNorm(Operation *op, Value x, Value w, Value b, double eps, bool rms,
                 int64_t group = 0);
  Error execUnary(Operation *op, double (*fn)(double));
  Error execBinary(Operation *op, double (*fn)(double, double));
  Error execGelu(GeluOp op);
  Error execSlice(SliceOp op);
  Error execSplit(SplitOp op);
  Error execReshape(ReshapeOp op);
  Error execRope(RopeOp op);
  Error execConv(Conv1dCausalOp op);
  Error execScan(ScanOp op);
  Error execSsdScan(SsdScanOp op);
  Error execAttention(AttentionOp op);
  Error execKernel(KernelOp op);
  Error execCall(func::CallOp op);
  /// Runs `body` in a new frame with its arguments bound to `inputs`, and
  /// binds its terminator's operands to `outputs`.
  Error runBody(Block &body, ValueRange inputs, ResultRange outputs);

  Interpreter &interp;
  llvm::DenseMap<Value, TensorPtr> values;
};

Expected<std::vector<TensorPtr>> Interpreter::Frame::runBlock(Block &block) {
  for (Operation &op : block) {
    if (op.hasTrait<OpTrait::IsTerminator>()) {
      std::vector<TensorPtr> results;
      for (Value v : op.getOperands())
        results.push_back(getPtr(v));
      return results;
    }
    if (Error e = exec(&op))
      return std::move(e);
  }
  return makeError("block without terminator");
}

Error Interpreter::Frame::exec(Operation *op) {
  return llvm::TypeSwitch<Operation *, Error>(op)
      .Case([&](WeightOp w) -> Error {
        auto &bound = w.getScales() ? interp.boundScales : interp.boundWeights;
        auto it = bound.find(w.getName());
        if (it == bound.end())
          return opError(op, "weight '" + w.getName() + "' is not bound");
        bind(w.getResult(), it->second);
        return Error::success();
      })
      .Case([&](EmbedOp o) { return execEmbed(o); })
      .Case([&](LinearOp o) { return execLinear(o); })
      .Case([&](RmsNormOp o) {
        return execNorm(op, o.getInput(), o.getWeight(), Value(),
                        o.getEpsilon().convertToDouble(), /*rms=*/true,
                        o.getGroupSize().value_or(0));
      })
      .Case([&](LayerNormOp o) {
        return execNorm(op, o.getInput(), o.getWeight(), o.getBias(),
                        o.getEpsilon().convertToDouble(), /*rms=*/false);
      })
      .Case([&](SiluOp) { return execUnary(op, silu); })
      .Case([&](GeluOp o) { return execGelu(o); })
      .Case([&](SoftplusOp) { return execUnary(op, softplus); })
      .Case([&](Relu2Op) {
        return execUnary(
            op, [](double x) { return x > 0 || std::isnan(x) ? x * x : 0.0; });
      })
      .Case([&](ExpOp) {
        return execUnary(op, [](double x) { return std::exp(x); });
      })
      .Case([&](NegOp) { return execUnary(op, [](double x) { return -x; }); })
      .Case([&](AddOp) {
        return execBinary(op, [](double a, double b) { return a + b; });
      })
      .Case([&](SubOp) {
        return execBinary(op, [](double a, double b) { return a - b; });
      })
      .Case([&](MulOp) {
        return execBinary(op, [](double a, double b) { return a * b; });
      })
      .Case([&](SliceOp o) { return execSlice(o); })
      .Case([&](SplitOp o) { return execSplit(o); })
      .Case([&](ReshapeOp o) { return execReshape(o); })
      .Case([&](RopeOp o) { return execRope(o); })
      .Case([&](Conv1dCausalOp o) { return execConv(o); })
      .Case([&](ScanOp o) { return execScan(o); })
      .Case([&](SsdScanOp o) { return execSsdScan(o); })
      .Case([&](AttentionOp o) { return execAttention(o); })
      .Case([&](KernelOp o) { return execKernel(o); })
      .Case([&](func::CallOp o) { return execCall(o); })
      .Default([&](Operation *) {
        return opError(op, "not supported by the reference interpreter");
      });
}

//===----------------------------------------------------------------------===//
// Ops
//===----------------------------------------------------------------------===//

Error Interpreter::Frame::execEmbed(EmbedOp op) {
  const Tensor &table = get(op.getTable()), &ids = get(op.getIds());
  TensorPtr scale = op.getScale() ? getPtr(op.getScale()) : nullptr;
  int64_t vocab = table.shape[0], width = table.shape[1];
  std::vector<int64_t> shape = ids.shape;
  shape.push_back(width);
  Tensor out = Tensor::filled(shape);
  for (int64_t i = 0, e = ids.numElements(); i < e; ++i) {
    double id = ids.data[i];
    if (!(id >= 0 && id < static_cast<double>(vocab)))
      return opError(op, llvm::formatv("token id {0} is out of range [0, {1})",
                                       static_cast<int64_t>(id), vocab));
    int64_t row = static_cast<int64_t>(id);
    std::copy_n(table.data.begin() + row * width, width,
                out.data.begin() + i * width);
    // A row scale (int8) or one per group of 32 (int4).
    if (scale) {
      int64_t groups = scale->rank() == 2 ? scale->shape[1] : 1;
      for (int64_t d = 0; d < width; ++d)
        out.data[i * width + d] *=
            scale->data[row * groups + d * groups / width];
    }
  }
  return set(op, op.getResult(), std::move(out));
}

Error Interpreter::Frame::execLinear(LinearOp op) {
  const Tensor &x = get(op.getInput()), &w = get(op.getWeight());
  int64_t out = w.shape[0], in = w.shape[1];
  if (x.shape.back() != in)
    return opError(op, llvm::formatv("input width {0} != weight in {1}",
                                     x.shape.back(), in));
  TensorPtr bias = op.getBias() ? getPtr(op.getBias()) : nullptr;
  TensorPtr scale = op.getScale() ? getPtr(op.getScale()) : nullptr;
  int64_t rows = x.numElements() / in;
  std::vector<int64_t> shape = x.shape;
  shape.back() = out;
  Tensor y = Tensor::filled(shape);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double acc = 0.0;
      if (scale && scale->rank() == 2) {
        // Int4: every group of 32 inputs has its own scale.
        int64_t groups = scale->shape[1];
        for (int64_t i = 0; i < in; ++i)
          acc += x.data[r * in + i] * w.data[o * in + i] *
                 scale->data[o * groups + i * groups / in];
      } else {
        for (int64_t i = 0; i < in; ++i)
          acc += x.data[r * in + i] * w.data[o * in + i];
        if (scale)
          acc *= scale->data[o];
      }
      y.data[r * out + o] = acc + (bias ? bias->data[o] : 0.0);
    }
  return set(op, op.getResult(), std::move(y));
}

Error Interpreter::Frame::execNorm(Operation *op, Value xv, Value wv, Value bv,
                                   double eps, bool rms, int64_t group) {
  const Tensor &x = get(xv), &w = get(wv);
  TensorPtr b = bv ? getPtr(bv) : nullptr;
  int64_t features = x.shape.back();
  int64_t width = group ? group : features, rows = x.numElements() / width;
  Tensor y = Tensor::filled(x.shape);
  for (int64_t r = 0; r < rows; ++r) {
    // Row r is group r % (features / width) of its feature vector.
    int64_t first = (r * width) % features;
    const double *row = x.data.data() + r * width;
    double mean = 0.0;
    if (!rms) {
      for (int64_t i = 0; i < width; ++i)
        mean += row[i];
      mean /= width;
    }
    double sq = 0.0;
    for (int64_t i = 0; i < width; ++i)
      sq += (row[i] - mean) * (row[i] - mean);
    double inv = 1.0 / std::sqrt(sq / width + eps);
    for (int64_t i = 0; i < width; ++i)
      y.data[r * width + i] = (row[i] - mean) * inv * w.data[first + i] +
                              (b ? b->data[first + i] : 0.0);
  }
  return set(op, op->getResult(0), std::move(y));
}

Error Interpreter::Frame::execUnary(Operation *op, double (*fn)(double)) {
  Tensor y = get(op->getOperand(0));
  for (double &v : y.data)
    v = fn(v);
  return set(op, op->getResult(0), std::move(y));
}

Error Interpreter::Frame::execGelu(GeluOp op) {
  Tensor y = get(op.getInput());
  for (double &x : y.data) {
    if (op.getTanhApproximation())
      x = 0.5 * x *
          (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
    else
      x = 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
  }
  return set(op, op.getResult(), std::move(y));
}

Error Interpreter::Frame::execBinary(Operation *op,
                                     double (*fn)(double, double)) {
  const Tensor &a = get(op->getOperand(0)), &b = get(op->getOperand(1));
  if (a.shape != b.shape)
    return opError(op, "operand shapes " + formatShape(a.shape) + " and " +
                           formatShape(b.shape) + " differ");
  Tensor y = a;
  for (size_t i = 0; i < y.data.size(); ++i)
    y.data[i] = fn(a.data[i], b.data[i]);
  return set(op, op->getResult(0), std::move(y));
}

/// Copies `input[..., offset : offset + size, ...]` along `dim`.
static Tensor sliceAlong(const Tensor &input, int64_t dim, int64_t offset,
                         int64_t size) {
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < dim; ++i)
    outer *= input.shape[i];
  for (int64_t i = dim + 1; i < input.rank(); ++i)
    inner *= input.shape[i];
  std::vector<int64_t> shape = input.shape;
  shape[dim] = size;
  Tensor out = Tensor::filled(shape);
  int64_t extent = input.shape[dim];
  for (int64_t o = 0; o < outer; ++o)
    std::copy_n(input.data.begin() + (o * extent + offset) * inner,
                size * inner, out.data.begin() + o * size * inner);
  return out;
}

Error Interpreter::Frame::execSlice(SliceOp op) {
  const Tensor &x = get(op.getInput());
  int64_t dim = op.getDim(), offset = op.getOffset(), size = op.getSize();
  if (offset + size > x.shape[dim])
    return opError(op, llvm::formatv("slice [{0}, {1}) exceeds extent {2}",
                                     offset, offset + size, x.shape[dim]));
  if (op.getFromEnd())
    offset = x.shape[dim] - offset - size;
  return set(op, op.getResult(), sliceAlong(x, dim, offset, size));
}

Error Interpreter::Frame::execSplit(SplitOp op) {
  const Tensor &x = get(op.getInput());
  int64_t dim = op.getDim(), offset = 0;
  for (auto [result, size] : llvm::zip(op.getResults(), op.getSizes())) {
    if (offset + size > x.shape[dim])
      return opError(op, "split sizes exceed the dimension's extent");
    if (Error e = set(op, result, sliceAlong(x, dim, offset, size)))
      return e;
    offset += size;
  }
  return Error::success();
}

Error Interpreter::Frame::execReshape(ReshapeOp op) {
  Tensor y = get(op.getInput());
  ArrayRef<int64_t> shape = op.getType().getShape();
  y.shape.assign(shape.begin(), shape.end());
  return set(op, op.getResult(), std::move(y));
}

Error Interpreter::Frame::execRope(RopeOp op) {
  const Tensor &x = get(op.getInput()), &pos = get(op.getPositions());
  int64_t batch = x.shape[0], seq = x.shape[1], width = x.shape[2];
  if (pos.shape != std::vector<int64_t>{batch, seq})
    return opError(op, "positions shape " + formatShape(pos.shape) +
                           " does not match input " + formatShape(x.shape));
  int64_t heads = op.getNumHeads(), headDim = width / heads, half = headDim / 2;
  double theta = op.getTheta().convertToDouble();
  Tensor y = x;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < seq; ++t) {
      double p = pos.data[b * seq + t];
      for (int64_t h = 0; h < heads; ++h) {
        int64_t base = (b * seq + t) * width + h * headDim;
        for (int64_t i = 0; i < half; ++i) {
          double invFreq = std::pow(theta, -2.0 * i / headDim);
          double c = std::cos(p * invFreq), s = std::sin(p * invFreq);
          double x1 = x.data[base + i], x2 = x.data[base + i + half];
          y.data[base + i] = x1 * c - x2 * s;
          y.data[base + i + half] = x2 * c + x1 * s;
        }
      }
    }
  return set(op, op.getResult(), std::move(y));
}

Error Interpreter::Frame::execConv(Conv1dCausalOp op) {
  const Tensor &x = get(op.getInput()), &w = get(op.getWeight()),
               &state = get(op.getStateIn());
  TensorPtr bias = op.getBias() ? getPtr(op.getBias()) : nullptr;
  int64_t batch = x.shape[0], seq = x.shape[1], channels = x.shape[2];
  int64_t kernel = w.shape[1], hist = kernel - 1;
  if (state.shape != std::vector<int64_t>{batch, channels, hist})
    return opError(op, "state shape " + formatShape(state.shape) +
                           " does not match input " + formatShape(x.shape));
  Tensor y = Tensor::filled(x.shape);
  Tensor stateOut = Tensor::filled(state.shape);
  Tensor states =
      op.getStates() ? Tensor::filled({batch, seq, channels, hist}) : Tensor();
  std::vector<double> s(hist + seq);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t c = 0; c < channels; ++c) {
      // s = state_in[b, c, :] ++ x[b, :, c]
      for (int64_t j = 0; j < hist; ++j)
        s[j] = state.data[(b * channels + c) * hist + j];
      for (int64_t t = 0; t < seq; ++t)
        s[hist + t] = x.data[(b * seq + t) * channels + c];
      for (int64_t t = 0; t < seq; ++t) {
        double acc = bias ? bias->data[c] : 0.0;
        for (int64_t k = 0; k < kernel; ++k)
          acc += w.data[c * kernel + k] * s[t + k];
        y.data[(b * seq + t) * channels + c] = acc;
        if (op.getStates())
          for (int64_t j = 0; j < hist; ++j)
            states.data[((b * seq + t) * channels + c) * hist + j] =
                s[t + 1 + j];
      }
      for (int64_t j = 0; j < hist; ++j)
        stateOut.data[(b * channels + c) * hist + j] = s[seq + j];
    }
  if (Error e = set(op, op.getResult(), std::move(y)))
    return e;
  if (op.getStates())
    if (Error e = set(op, op.getStates(), std::move(states)))
      return e;
  return set(op, op.getStateOut(), std::move(stateOut));
}

Error Interpreter::Frame::execScan(ScanOp op) {
  const Tensor &u = get(op.getU()), &delta = get(op.getDelta()),
               &a = get(op.getA()), &bm = get(op.getB()), &cm = get(op.getC()),
               &d = get(op.getD()), &h0 = get(op.getStateIn());
  TensorPtr z = op.getZ() ? getPtr(op.getZ()) : nullptr;
  int64_t batch = u.shape[0], seq = u.shape[1], channels = u.shape[2];
  int64_t n = a.shape[1];
  if (delta.shape != u.shape || (z && z->shape != u.shape) ||
      bm.shape != std::vector<int64_t>{batch, seq, n} || cm.shape != bm.shape ||
      h0.shape != std::vector<int64_t>{batch, channels, n})
    return opError(op, "operand shapes do not agree at run time (u " +
                           formatShape(u.shape) + ", state " +
                           formatShape(h0.shape) + ")");
  Tensor y = Tensor::filled(u.shape);
  Tensor hOut = Tensor::filled(h0.shape);
  Tensor states =
      op.getStates() ? Tensor::filled({batch, seq, channels, n}) : Tensor();
  std::vector<double> h(n);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t c = 0; c < channels; ++c) {
      for (int64_t k = 0; k < n; ++k)
        h[k] = h0.data[(b * channels + c) * n + k];
      for (int64_t t = 0; t < seq; ++t) {
        int64_t btc = (b * seq + t) * channels + c, bt = b * seq + t;
        double dt = delta.data[btc];
        if (op.getDeltaSoftplus())
          dt = softplus(dt);
        double uu = u.data[btc], out = 0.0;
        for (int64_t k = 0; k < n; ++k) {
          h[k] = std::exp(dt * a.data[c * n + k]) * h[k] +
                 dt * bm.data[bt * n + k] * uu;
          out += cm.data[bt * n + k] * h[k];
        }
        out += d.data[c] * uu;
        if (z)
          out *= silu(z->data[btc]);
        y.data[btc] = out;
        if (op.getStates())
          for (int64_t k = 0; k < n; ++k)
            states.data[btc * n + k] = h[k];
      }
      for (int64_t k = 0; k < n; ++k)
        hOut.data[(b * channels + c) * n + k] = h[k];
    }
  if (Error e = set(op, op.getResult(), std::move(y)))
    return e;
  if (op.getStates())
    if (Error e = set(op, op.getStates(), std::move(states)))
      return e;
  return set(op, op.getStateOut(), std::move(hOut));
}

Error Interpreter::Frame::execSsdScan(SsdScanOp op) {
  const Tensor &x = get(op.getX()), &dtIn = get(op.getDt()),
               &a = get(op.getA()), &bm = get(op.getB()), &cm = get(op.getC()),
               &d = get(op.getD()), &s0 = get(op.getStateIn());
  TensorPtr bias = op.getDtBias() ? getPtr(op.getDtBias()) : nullptr;
  int64_t batch = x.shape[0], seq = x.shape[1];
  int64_t heads = op.getNumHeads(), p = op.getHeadDim(), n = op.getStateSize(),
          groups = op.getNumGroups();
  int64_t width = heads * p, groupWidth = groups * n;
  if (dtIn.shape != std::vector<int64_t>{batch, seq, heads} ||
      bm.shape != std::vector<int64_t>{batch, seq, groupWidth} ||
      cm.shape != bm.shape ||
      s0.shape != std::vector<int64_t>{batch, heads, p, n})
    return opError(op, "operand shapes do not agree at run time (x " +
                           formatShape(x.shape) + ", state " +
                           formatShape(s0.shape) + ")");
  std::optional<ArrayRef<double>> limit = op.getDtLimit();
  Tensor y = Tensor::filled(x.shape);
  Tensor sOut = s0;
  Tensor states =
      op.getStates() ? Tensor::filled({batch, seq, heads, p, n}) : Tensor();
  int64_t stateSize = heads * p * n;
  for (int64_t b = 0; b < batch; ++b) {
    double *s = sOut.data.data() + b * stateSize;
    for (int64_t t = 0; t < seq; ++t) {
      int64_t bt = b * seq + t;
      for (int64_t h = 0; h < heads; ++h) {
        double dt = dtIn.data[bt * heads + h] + (bias ? bias->data[h] : 0.0);
        if (op.getDeltaSoftplus())
          dt = softplus(dt);
        if (limit)
          dt = std::min(std::max(dt, (*limit)[0]), (*limit)[1]);
        double decay = std::exp(dt * a.data[h]);
        int64_t g = h / (heads / groups);
        const double *bRow = bm.data.data() + bt * groupWidth + g * n;
        const double *cRow = cm.data.data() + bt * groupWidth + g * n;
        for (int64_t c = 0; c < p; ++c) {
          double xx = x.data[bt * width + h * p + c], out = 0.0;
          double *sc = s + (h * p + c) * n;
          for (int64_t k = 0; k < n; ++k) {
            sc[k] = decay * sc[k] + dt * bRow[k] * xx;
            out += cRow[k] * sc[k];
          }
          y.data[bt * width + h * p + c] = out + d.data[h] * xx;
        }
      }
      if (op.getStates())
        std::copy(s, s + stateSize, states.data.begin() + bt * stateSize);
    }
  }
  if (Error e = set(op, op.getResult(), std::move(y)))
    return e;
  if (op.getStates())
    if (Error e = set(op, op.getStates(), std::move(states)))
      return e;
  return set(op, op.getStateOut(), std::move(sOut));
}

Error Interpreter::Frame::execAttention(AttentionOp op) {
  const Tensor &q = get(op.getQ()), &k = get(op.getK()), &v = get(op.getV()),
               &pos = get(op.getPositions());
  Tensor kc = get(op.getKCache()), vc = get(op.getVCache());
  int64_t batch = q.shape[0], seq = q.shape[1];
  int64_t heads = op.getNumHeads(), kvHeads = op.getNumKvHeads();
  int64_t headDim = op.getHeadDim(), capacity = kc.shape[2];
  int64_t group = heads / kvHeads;
  std::vector<int64_t> cacheShape{batch, kvHeads, capacity, headDim};
  if (k.shape != std::vector<int64_t>{batch, seq, kvHeads * headDim} ||
      v.shape != k.shape || kc.shape != cacheShape || vc.shape != cacheShape ||
      pos.shape != std::vector<int64_t>{batch, seq})
    return opError(op, "operand shapes do not agree at run time (q " +
                           formatShape(q.shape) + ", cache " +
                           formatShape(kc.shape) + ")");
  auto cacheAt = [&](int64_t b, int64_t g, int64_t j) {
    return ((b * kvHeads + g) * capacity + j) * headDim;
  };
  // Write the new keys and values at their positions.
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < seq; ++t) {
      double p = pos.data[b * seq + t];
      if (!(p >= 0 && p < static_cast<double>(capacity)))
        return opError(op, llvm::formatv("position {0} is outside the KV "
                                         "cache capacity {1}",
                                         static_cast<int64_t>(p), capacity));
      for (int64_t g = 0; g < kvHeads; ++g)
        for (int64_t i = 0; i < headDim; ++i) {
          int64_t src = (b * seq + t) * kvHeads * headDim + g * headDim + i;
          kc.data[cacheAt(b, g, static_cast<int64_t>(p)) + i] = k.data[src];
          vc.data[cacheAt(b, g, static_cast<int64_t>(p)) + i] = v.data[src];
        }
    }
  // Round the caches as stored before reading them back.
  Type element = op.getKCache().getType().getElementType();
  for (double &x : kc.data)
    x = roundTo(element, x);
  for (double &x : vc.data)
    x = roundTo(element, x);

  double scale = op.getScaleOrDefault();
  Tensor o = Tensor::filled(q.shape);
  std::vector<double> scores;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < seq; ++t) {
      int64_t p = static_cast<int64_t>(pos.data[b * seq + t]);
      for (int64_t h = 0; h < heads; ++h) {
        int64_t g = h / group;
        const double *qh =
            q.data.data() + (b * seq + t) * heads * headDim + h * headDim;
        scores.assign(p + 1, 0.0);
        double maxScore = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j <= p; ++j) {
          double dot = 0.0;
          for (int64_t i = 0; i < headDim; ++i)
            dot += qh[i] * kc.data[cacheAt(b, g, j) + i];
          scores[j] = scale * dot;
          maxScore = std::max(maxScore, scores[j]);
        }
        double total = 0.0;
        for (double &s : scores)
          total += (s = std::exp(s - maxScore));
        double *oh =
            o.data.data() + (b * seq + t) * heads * headDim + h * headDim;
        for (int64_t j = 0; j <= p; ++j)
          for (int64_t i = 0; i < headDim; ++i)
            oh[i] += scores[j] / total * vc.data[cacheAt(b, g, j) + i];
      }
    }
  if (Error e = set(op, op.getResult(), std::move(o)))
    return e;
  if (Error e = set(op, op.getKCacheOut(), std::move(kc)))
    return e;
  return set(op, op.getVCacheOut(), std::move(vc));
}

Error Interpreter::Frame::runBody(Block &body, ValueRange inputs,
                                  ResultRange outputs) {
  Frame inner(interp);
  for (auto [arg, input] : llvm::zip(body.getArguments(), inputs))
    inner.bind(arg, getPtr(input));
  Expected<std::vector<TensorPtr>> results = inner.runBlock(body);
  if (!results)
    return results.takeError();
  for (auto [r, t] : llvm::zip(outputs, *results))
    bind(r, t);
  return Error::success();
}

Error Interpreter::Frame::execKernel(KernelOp op) {
  return runBody(op.getBody().front(), op.getInputs(), op.getResults());
}

Error Interpreter::Frame::execCall(func::CallOp op) {
  auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
      op, op.getCalleeAttr());
  if (!callee || callee.isExternal())
    return opError(op, "callee '" + op.getCallee() + "' has no body");
  return runBody(callee.getBody().front(), op.getOperands(), op.getResults());
}

//===----------------------------------------------------------------------===//
// Interpreter
//===----------------------------------------------------------------------===//

Interpreter::Interpreter(ModuleOp module, WeightProvider weights,
                         QuantizedWeightProvider quantized)
    : module(module), weights(std::move(weights)),
      quantized(std::move(quantized)) {}

Interpreter::~Interpreter() = default;

Error Interpreter::bindWeights() {
  if (weightsBound)
    return Error::success();
  Error error = Error::success();
  module.walk([&](WeightOp op) {
    if (error || op.getScales() || boundWeights.count(op.getName()))
      return;
    bool int4 = op.getType().getElementType().isInteger(4);
    bool isQuantized = int4 || op.getType().getElementType().isInteger(8);
    std::vector<int64_t> declared(op.getType().getShape().begin(),
                                  op.getType().getShape().end());
    if (isQuantized && quantized) {
      // Stored already quantized: its integers and scales as they are.
      Expected<std::optional<QuantizedTensor>> stored =
          quantized(op.getName(), op.getType());
      if (!stored) {
        error = stored.takeError();
        return;
      }
      if (*stored) {
        if ((*stored)->values.shape != declared) {
          error = makeError("weight '" + op.getName() + "' has shape " +
                            formatShape((*stored)->values.shape) +
                            ", the model expects " + formatShape(declared));
          return;
        }
        boundWeights[op.getName()] =
            std::make_shared<const Tensor>(std::move((*stored)->values));
        boundScales[op.getName()] =
            std::make_shared<const Tensor>(std::move((*stored)->scales));
        return;
      }
    }
    // An int8 or int4 matrix is quantized here from the stored float
    // values, as the runtime quantizes it when it binds it.
    Expected<Tensor> t = weights(
        op.getName(),
        isQuantized ? op.getType().clone(Float32Type::get(op.getContext()))
                    : op.getType());
    if (!t) {
      error = t.takeError();
      return;
    }
    if (t->shape != declared) {
      error = makeError("weight '" + op.getName() + "' has shape " +
                        formatShape(t->shape) + ", the model expects " +
                        formatShape(declared));
      return;
    }
    if (isQuantized) {
      int64_t rows = t->shape[0], cols = t->shape[1];
      std::vector<float> values(t->data.begin(), t->data.end());
      std::vector<int8_t> q(values.size());
      int64_t groups = int4 ? cols / ::coil::weights::kInt4Group : 1;
      std::vector<float> scale(rows * groups);
      ::coil::weights::FirstBadRow firstBad;
      ::coil::weights::quantizeRowRange(int4, values.data(), 0, rows, cols,
                                        q.data(), scale.data(), firstBad);
      int64_t bad = firstBad.get();
      if (bad >= 0) {
        error = makeError(llvm::formatv("weight '{0}' holds a NaN or an "
                                        "infinity in row {1}, which int{2} "
                                        "cannot represent",
                                        op.getName(), bad, int4 ? 4 : 8));
        return;
      }
      boundWeights[op.getName()] = std::make_shared<const Tensor>(
          t->shape, std::vector<double>(q.begin(), q.end()));
      std::vector<int64_t> scaleShape{rows};
      if (int4)
        scaleShape.push_back(groups);
      boundScales[op.getName()] = std::make_shared<const Tensor>(
          scaleShape, std::vector<double>(scale.begin(), scale.end()));
      return;
    }
    // Stored in the declared type: a bf16 or f16 weight is the rounded
    // value of whatever the provider holds, as the runtime binds it.
    Type element = op.getType().getElementType();
    for (double &x : t->data)
      x = roundTo(element, x);
    boundWeights[op.getName()] = std::make_shared<const Tensor>(std::move(*t));
  });
  if (error)
    return error;
  // Scales come with their int8 matrix.
  module.walk([&](WeightOp op) {
    if (!error && op.getScales() && !boundScales.count(op.getName()))
      error = makeError("the scales of weight '" + op.getName() +
                        "' are read without its int8 matrix");
  });
  if (error)
    return error;
  weightsBound = true;
  return Error::success();
}

Expected<std::vector<Tensor>> Interpreter::run(StringRef function,
                                               std::vector<Tensor> inputs) {
  if (Error e = bindWeights())
    return std::move(e);
  auto fn = module.lookupSymbol<func::FuncOp>(function);
  if (!fn || fn.isExternal())
    return makeError("no function '" + function + "' in the module");
  if (inputs.size() != fn.getNumArguments())
    return makeError(llvm::formatv("'{0}' takes {1} arguments, got {2}",
                                   function, fn.getNumArguments(),
                                   inputs.size()));
  Frame frame(*this);
  Block &body = fn.getBody().front();
  for (auto [i, arg] : llvm::enumerate(body.getArguments())) {
    if (Error e =
            checkFits(fn, "argument #" + std::to_string(i), arg, inputs[i]))
      return std::move(e);
    frame.bind(arg, std::make_shared<const Tensor>(std::move(inputs[i])));
  }
  Expected<std::vector<TensorPtr>> results = frame.runBlock(body);
  if (!results)
    return results.takeError();
  std::vector<Tensor> out;
  for (const TensorPtr &t : *results)
    out.push_back(*t);
  return out;
}
