//===- InterpreterTest.cpp - Reference ops against hand-computed values -===//
//
// Each coil op with non-trivial math is run on the reference interpreter on
// inputs small enough to work out by hand; the expected numbers are derived
// in the comments.
//
//===----------------------------------------------------------------------===//

#include "compiler/Reference/Interpreter.h"
#include "compiler/InitAll.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

using namespace mlir;
using namespace mlir::coil::reference;

namespace {

/// Parses `source`, runs its function @f on `inputs` with no weights.
class InterpreterTest : public ::testing::Test {
protected:
  InterpreterTest() {
    DialectRegistry registry;
    coil::registerAllDialects(registry);
    context.appendDialectRegistry(registry);
  }

  std::vector<Tensor> run(const std::string &source,
                          std::vector<Tensor> inputs) {
    module = parseSourceString<ModuleOp>(source, &context);
    EXPECT_TRUE(module) << "failed to parse";
    if (!module)
      return {};
    Interpreter interp(
        *module,
        [](llvm::StringRef name, RankedTensorType) -> llvm::Expected<Tensor> {
          return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                         "no weight " + name);
        });
    llvm::Expected<std::vector<Tensor>> results =
        interp.run("f", std::move(inputs));
    if (!results) {
      ADD_FAILURE() << llvm::toString(results.takeError());
      return {};
    }
    return *results;
  }

  /// Runs and expects an error containing `message`.
  void expectError(const std::string &source, std::vector<Tensor> inputs,
                   const std::string &message) {
    module = parseSourceString<ModuleOp>(source, &context);
    ASSERT_TRUE(module);
    Interpreter interp(*module, nullptr);
    llvm::Expected<std::vector<Tensor>> results =
        interp.run("f", std::move(inputs));
    ASSERT_FALSE(results);
    std::string text = llvm::toString(results.takeError());
    EXPECT_NE(text.find(message), std::string::npos) << text;
  }

  MLIRContext context;
  OwningOpRef<ModuleOp> module;
};

void expectNear(const Tensor &t, std::vector<int64_t> shape,
                std::vector<double> values, double tol) {
  ASSERT_EQ(t.shape, shape);
  ASSERT_EQ(t.data.size(), values.size());
  for (size_t i = 0; i < values.size(); ++i)
    EXPECT_NEAR(t.data[i], values[i], tol) << "element " << i;
}

//===----------------------------------------------------------------------===//
// conv1d_causal
//===----------------------------------------------------------------------===//

constexpr const char *kConv = R"mlir(
func.func @f(%x: tensor<1x?x2xf32>, %w: tensor<2x3xf32>, %b: tensor<2xf32>, %s: tensor<1x2x2xf32>)
    -> (tensor<1x?x2xf32>, tensor<1x2x2xf32>) {
  %y, %so = coil.conv1d_causal %x, %w bias(%b) state(%s)
      : (tensor<1x?x2xf32>, tensor<2x3xf32>, tensor<2xf32>, tensor<1x2x2xf32>) -> (tensor<1x?x2xf32>, tensor<1x2x2xf32>)
  return %y, %so : tensor<1x?x2xf32>, tensor<1x2x2xf32>
})mlir";

TEST_F(InterpreterTest, ConvCausalWithStateAndBias) {
  // Channel 0: w = (1, 2, 3), bias 0.5, history (10, 20), inputs (1, 3, 5):
  //   s = 10 20 1 3 5; y = 0.5 + (10 + 40 + 3), 0.5 + (20 + 2 + 9),
  //   0.5 + (1 + 6 + 15) = 53.5, 31.5, 22.5; new history (3, 5).
  // Channel 1: w = (0, 1, -1), bias -1, history (-1, 4), inputs (2, 4, 6):
  //   s = -1 4 2 4 6; y = -1 + (4 - 2), -1 + (2 - 4), -1 + (4 - 6)
  //   = 1, -3, -3; new history (4, 6).
  auto r =
      run(kConv, {Tensor({1, 3, 2}, {1, 2, 3, 4, 5, 6}),
                  Tensor({2, 3}, {1, 2, 3, 0, 1, -1}), Tensor({2}, {0.5, -1}),
                  Tensor({1, 2, 2}, {10, 20, -1, 4})});
  ASSERT_EQ(r.size(), 2u);
  expectNear(r[0], {1, 3, 2}, {53.5, 1, 31.5, -3, 22.5, -3}, 0);
  expectNear(r[1], {1, 2, 2}, {3, 5, 4, 6}, 0);
}

TEST_F(InterpreterTest, ConvCausalSingleStepShiftsHistory) {
  // T = 1 (decode): channel 0 sees 10 20 7 -> 0.5 + 10 + 40 + 21 = 71.5.
  auto r = run(kConv,
               {Tensor({1, 1, 2}, {7, 8}), Tensor({2, 3}, {1, 2, 3, 0, 1, -1}),
                Tensor({2}, {0.5, -1}), Tensor({1, 2, 2}, {10, 20, -1, 4})});
  ASSERT_EQ(r.size(), 2u);
  // Channel 1 sees -1 4 8 -> -1 + 4 - 8 = -5.
  expectNear(r[0], {1, 1, 2}, {71.5, -5}, 0);
  expectNear(r[1], {1, 2, 2}, {20, 7, 4, 8}, 0);
}

//===----------------------------------------------------------------------===//
// scan
//===----------------------------------------------------------------------===//

constexpr const char *kScan = R"mlir(
func.func @f(%u: tensor<1x?x1xf32>, %dt: tensor<1x?x1xf32>, %a: tensor<1x2xf32>, %b: tensor<1x?x2xf32>,
             %c: tensor<1x?x2xf32>, %d: tensor<1xf32>, %h: tensor<1x1x2xf32>) -> (tensor<1x?x1xf32>, tensor<1x1x2xf32>) {
  %y, %ho = coil.scan %u, %dt, %a, %b, %c, %d state(%h)
      : (tensor<1x?x1xf32>, tensor<1x?x1xf32>, tensor<1x2xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32>,
         tensor<1xf32>, tensor<1x1x2xf32>) -> (tensor<1x?x1xf32>, tensor<1x1x2xf32>)
  return %y, %ho : tensor<1x?x1xf32>, tensor<1x1x2xf32>
})mlir";

// One channel, N = 2, dt = 1, A = (ln 1/2, ln 1/4) so the decays are 1/2 and
// 1/4, B_t = (1, 2), C_t = (1, 1), u_t = t, D = 0.5, h0 = 0:
//   t=1: h = (1, 2)                         y = 3 + 0.5     = 3.5
//   t=2: h = (0.5 + 2, 0.5 + 4) = (2.5, 4.5)  y = 7 + 1       = 8
//   t=3: h = (1.25 + 3, 1.125 + 6)          y = 11.375 + 1.5 = 12.875
//   t=4: h = (2.125 + 4, 1.78125 + 8)       y = 15.90625 + 2 = 17.90625
const double kScanY[] = {3.5, 8, 12.875, 17.90625};
const double kScanH[4][2] = {
    {1, 2}, {2.5, 4.5}, {4.25, 7.125}, {6.125, 9.78125}};

std::vector<Tensor> scanInputs(int64_t steps, double dtValue) {
  std::vector<double> u, bm, cm;
  for (int64_t t = 1; t <= steps; ++t) {
    u.push_back(t);
    bm.insert(bm.end(), {1, 2});
    cm.insert(cm.end(), {1, 1});
  }
  return {Tensor({1, steps, 1}, u),
          Tensor::filled({1, steps, 1}, dtValue),
          Tensor({1, 2}, {std::log(0.5), std::log(0.25)}),
          Tensor({1, steps, 2}, bm),
          Tensor({1, steps, 2}, cm),
          Tensor({1}, {0.5}),
          Tensor::filled({1, 1, 2})};
}

TEST_F(InterpreterTest, ScanMatchesHandComputedRecurrence) {
  for (int64_t steps = 1; steps <= 4; ++steps) {
    SCOPED_TRACE("T = " + std::to_string(steps));
    auto r = run(kScan, scanInputs(steps, 1.0));
    ASSERT_EQ(r.size(), 2u);
    expectNear(r[0], {1, steps, 1}, std::vector<double>(kScanY, kScanY + steps),
               1e-6);
    expectNear(r[1], {1, 1, 2}, {kScanH[steps - 1][0], kScanH[steps - 1][1]},
               1e-6);
  }
}

TEST_F(InterpreterTest, ScanCarriesStateAcrossCalls) {
  // Steps 3 and 4 starting from the state after step 2.
  std::vector<Tensor> in = scanInputs(2, 1.0);
  in[0] = Tensor({1, 2, 1}, {3, 4});
  in[6] = Tensor({1, 1, 2}, {kScanH[1][0], kScanH[1][1]});
  auto r = run(kScan, in);
  ASSERT_EQ(r.size(), 2u);
  expectNear(r[0], {1, 2, 1}, {kScanY[2], kScanY[3]}, 1e-6);
  expectNear(r[1], {1, 1, 2}, {kScanH[3][0], kScanH[3][1]}, 1e-6);
}

TEST_F(InterpreterTest, ScanSoftplusDeltaAndGate) {
  // softplus(ln(e - 1)) = 1, so the recurrence is the one above; the gate
  // z = 1 multiplies every output by silu(1) = 1 / (1 + e^-1).
  std::string gated = R"mlir(
func.func @f(%u: tensor<1x?x1xf32>, %dt: tensor<1x?x1xf32>, %a: tensor<1x2xf32>, %b: tensor<1x?x2xf32>,
             %c: tensor<1x?x2xf32>, %d: tensor<1xf32>, %h: tensor<1x1x2xf32>, %z: tensor<1x?x1xf32>)
    -> (tensor<1x?x1xf32>, tensor<1x1x2xf32>) {
  %y, %ho = coil.scan %u, %dt, %a, %b, %c, %d gate(%z) state(%h) {delta_softplus}
      : (tensor<1x?x1xf32>, tensor<1x?x1xf32>, tensor<1x2xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32>,
         tensor<1xf32>, tensor<1x?x1xf32>, tensor<1x1x2xf32>) -> (tensor<1x?x1xf32>, tensor<1x1x2xf32>)
  return %y, %ho : tensor<1x?x1xf32>, tensor<1x1x2xf32>
})mlir";
  std::vector<Tensor> in = scanInputs(4, std::log(std::exp(1.0) - 1.0));
  in.push_back(Tensor::filled({1, 4, 1}, 1.0));
  auto r = run(gated, in);
  ASSERT_EQ(r.size(), 2u);
  double silu1 = 1.0 / (1.0 + std::exp(-1.0));
  expectNear(r[0], {1, 4, 1},
             {kScanY[0] * silu1, kScanY[1] * silu1, kScanY[2] * silu1,
              kScanY[3] * silu1},
             1e-5);
  expectNear(r[1], {1, 1, 2}, {kScanH[3][0], kScanH[3][1]}, 1e-5);
}

//===----------------------------------------------------------------------===//
// rope
//===----------------------------------------------------------------------===//

constexpr const char *kRope = R"mlir(
func.func @f(%x: tensor<1x?x8xf32>, %p: tensor<1x?xi32>) -> tensor<1x?x8xf32> {
  %y = coil.rope %x, %p {num_heads = 2 : i64, theta = 1.0e+04 : f64} : (tensor<1x?x8xf32>, tensor<1x?xi32>) -> tensor<1x?x8xf32>
  return %y : tensor<1x?x8xf32>
})mlir";

TEST_F(InterpreterTest, RopeRotatesHalvesPerHead) {
  // Two heads of dimension 4 (half = 2): inv_freq = (1, 10000^-0.5 = 0.01).
  // At position 1 the angles are 1 and 0.01; element i pairs with i + 2.
  // Position 0 is the identity.
  auto r = run(kRope, {Tensor({1, 2, 8}, {1, 2, 3, 4, 5, 6, 7, 8, //
                                          1, 2, 3, 4, 5, 6, 7, 8}),
                       Tensor({1, 2}, {0, 1})});
  ASSERT_EQ(r.size(), 1u);
  double c1 = std::cos(1.0), s1 = std::sin(1.0);
  double c2 = std::cos(0.01), s2 = std::sin(0.01);
  expectNear(r[0], {1, 2, 8},
             {1, 2, 3, 4, 5, 6, 7, 8, //
              1 * c1 - 3 * s1, 2 * c2 - 4 * s2, 3 * c1 + 1 * s1,
              4 * c2 + 2 * s2, //
              5 * c1 - 7 * s1, 6 * c2 - 8 * s2, 7 * c1 + 5 * s1,
              8 * c2 + 6 * s2},
             1e-6);
}

//===----------------------------------------------------------------------===//
// attention
//===----------------------------------------------------------------------===//

constexpr const char *kAttention = R"mlir(
func.func @f(%q: tensor<1x?x4xf32>, %k: tensor<1x?x2xf32>, %v: tensor<1x?x2xf32>,
             %kc: tensor<1x1x?x2xf32>, %vc: tensor<1x1x?x2xf32>, %p: tensor<1x?xi32>)
    -> (tensor<1x?x4xf32>, tensor<1x1x?x2xf32>, tensor<1x1x?x2xf32>) {
  %o, %kc2, %vc2 = coil.attention %q, %k, %v, %kc, %vc, %p {num_heads = 2 : i64, num_kv_heads = 1 : i64, scale = 1.0 : f64}
      : (tensor<1x?x4xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32>, tensor<1x1x?x2xf32>, tensor<1x1x?x2xf32>, tensor<1x?xi32>)
      -> (tensor<1x?x4xf32>, tensor<1x1x?x2xf32>, tensor<1x1x?x2xf32>)
  return %o, %kc2, %vc2 : tensor<1x?x4xf32>, tensor<1x1x?x2xf32>, tensor<1x1x?x2xf32>
})mlir";

TEST_F(InterpreterTest, GroupedQueryAttentionIsCausal) {
  // Two query heads share one kv head (Dh = 2), scale 1. Keys k0 = (1, 0),
  // k1 = (0, 1); values v0 = (1, 2), v1 = (3, 4). Query head 0 is (1, 0),
  // head 1 is (0, 1), at both positions.
  //   t=0: only slot 0 is visible: both heads output v0.
  //   t=1, head 0: scores (1, 0) -> weights (e, 1) / (e + 1).
  //   t=1, head 1: scores (0, 1) -> weights (1, e) / (e + 1).
  // Slot 2 of the capacity-3 cache is never written or read.
  auto r =
      run(kAttention,
          {Tensor({1, 2, 4}, {1, 0, 0, 1, 1, 0, 0, 1}),
           Tensor({1, 2, 2}, {1, 0, 0, 1}), Tensor({1, 2, 2}, {1, 2, 3, 4}),
           Tensor::filled({1, 1, 3, 2}, 99.0),
           Tensor::filled({1, 1, 3, 2}, 99.0), Tensor({1, 2}, {0, 1})});
  ASSERT_EQ(r.size(), 3u);
  double e = std::exp(1.0), w0 = e / (e + 1), w1 = 1 / (e + 1);
  expectNear(r[0], {1, 2, 4},
             {1, 2, 1, 2, //
              w0 * 1 + w1 * 3, w0 * 2 + w1 * 4, w1 * 1 + w0 * 3,
              w1 * 2 + w0 * 4},
             1e-6);
  expectNear(r[1], {1, 1, 3, 2}, {1, 0, 0, 1, 99, 99}, 0);
  expectNear(r[2], {1, 1, 3, 2}, {1, 2, 3, 4, 99, 99}, 0);
}

TEST_F(InterpreterTest, AttentionRejectsPositionBeyondCapacity) {
  expectError(kAttention,
              {Tensor::filled({1, 1, 4}), Tensor::filled({1, 1, 2}),
               Tensor::filled({1, 1, 2}), Tensor::filled({1, 1, 2, 2}),
               Tensor::filled({1, 1, 2, 2}), Tensor({1, 1}, {2})},
              "position 2 is outside the KV cache capacity 2");
}

//===----------------------------------------------------------------------===//
// Norms, embedding, linear, rounding
//===----------------------------------------------------------------------===//

TEST_F(InterpreterTest, RmsNormAndLinear) {
  // x = (3, 4): mean square 12.5, so x / sqrt(12.5) * w with w = (1, 2);
  // then y = W x' + b with W = [[1, 1]], b = 1.
  auto r = run(R"mlir(
func.func @f(%x: tensor<1x2xf32>, %w: tensor<2xf32>, %lw: tensor<1x2xf32>, %b: tensor<1xf32>) -> tensor<1x1xf32> {
  %n = coil.rms_norm %x, %w {epsilon = 0.0 : f32} : (tensor<1x2xf32>, tensor<2xf32>) -> tensor<1x2xf32>
  %y = coil.linear %n, %lw, %b : (tensor<1x2xf32>, tensor<1x2xf32>, tensor<1xf32>) -> tensor<1x1xf32>
  return %y : tensor<1x1xf32>
})mlir",
               {Tensor({1, 2}, {3, 4}), Tensor({2}, {1, 2}),
                Tensor({1, 2}, {1, 1}), Tensor({1}, {1})});
  ASSERT_EQ(r.size(), 1u);
  double inv = 1.0 / std::sqrt(12.5);
  expectNear(r[0], {1, 1}, {3 * inv + 8 * inv + 1}, 1e-6);
}

TEST_F(InterpreterTest, GroupedRmsNormNormalisesEachGroup) {
  // x = (3, 4 | 6, 8), groups of 2, w = (1, 2, 1, 2): mean squares 12.5 and
  // 50, so (3, 8) / sqrt(12.5) and (6, 16) / sqrt(50) = the same values.
  auto r = run(R"mlir(
func.func @f(%x: tensor<1x4xf32>, %w: tensor<4xf32>) -> tensor<1x4xf32> {
  %n = coil.rms_norm %x, %w {epsilon = 0.0 : f32, group_size = 2 : i64} : (tensor<1x4xf32>, tensor<4xf32>) -> tensor<1x4xf32>
  return %n : tensor<1x4xf32>
})mlir",
               {Tensor({1, 4}, {3, 4, 6, 8}), Tensor({4}, {1, 2, 1, 2})});
  ASSERT_EQ(r.size(), 1u);
  double a = 3 / std::sqrt(12.5), b = 8 / std::sqrt(12.5);
  expectNear(r[0], {1, 4}, {a, b, a, b}, 1e-6);
}

//===----------------------------------------------------------------------===//
// ssd_scan
//===----------------------------------------------------------------------===//

constexpr const char *kSsdScan = R"mlir(
func.func @f(%x: tensor<1x?x2xf32>, %dt: tensor<1x?x2xf32>, %a: tensor<2xf32>, %b: tensor<1x?x2xf32>,
             %c: tensor<1x?x2xf32>, %d: tensor<2xf32>, %bias: tensor<2xf32>, %s: tensor<1x2x1x2xf32>)
    -> (tensor<1x?x2xf32>, tensor<1x2x1x2xf32>) {
  %y, %so = coil.ssd_scan %x, %dt, %a, %b, %c, %d bias(%bias) state(%s)
      : (tensor<1x?x2xf32>, tensor<1x?x2xf32>, tensor<2xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32>,
         tensor<2xf32>, tensor<2xf32>, tensor<1x2x1x2xf32>) -> (tensor<1x?x2xf32>, tensor<1x2x1x2xf32>)
  return %y, %so : tensor<1x?x2xf32>, tensor<1x2x1x2xf32>
})mlir";

TEST_F(InterpreterTest, SsdScanMatchesHandComputedRecurrence) {
  // Two heads of one channel, one group of N = 2 states; dt = 0.75 + bias
  // 0.25 = 1, A = (ln 1/2, ln 1/4) so the heads decay by 1/2 and 1/4,
  // B_t = (1, 2), C_t = (1, 1), x_t = (t, 2t), D = (0.5, 0), s0 = 0:
  //   head 0: t=1: s = (1, 2)          y = 3 + 0.5    = 3.5
  //           t=2: s = (0.5 + 2, 1 + 4)  y = 7.5 + 1    = 8.5
  //   head 1: t=1: s = (2, 4)          y = 6
  //           t=2: s = (0.5 + 4, 1 + 8)  y = 13.5
  auto r =
      run(kSsdScan, {Tensor({1, 2, 2}, {1, 2, 2, 4}),
                     Tensor({1, 2, 2}, {0.75, 0.75, 0.75, 0.75}),
                     Tensor({2}, {std::log(0.5), std::log(0.25)}),
                     Tensor({1, 2, 2}, {1, 2, 1, 2}),
                     Tensor({1, 2, 2}, {1, 1, 1, 1}), Tensor({2}, {0.5, 0}),
                     Tensor({2}, {0.25, 0.25}), Tensor::filled({1, 2, 1, 2})});
  ASSERT_EQ(r.size(), 2u);
  expectNear(r[0], {1, 2, 2}, {3.5, 6, 8.5, 13.5}, 1e-6);
  expectNear(r[1], {1, 2, 1, 2}, {2.5, 5, 4.5, 9}, 1e-6);
}

TEST_F(InterpreterTest, SsdScanHeadsReadTheirGroup) {
  // Four heads, two groups of N = 1: heads 0, 1 read group 0 and heads 2, 3
  // group 1 (h / (H / G), as mamba_ssm; not h % G). One step from s0 = 0
  // with dt = 1, x = 1, D = 0: y[h] = C[g] * B[g] = (1, 1, 10, 10).
  auto r = run(R"mlir(
func.func @f(%x: tensor<1x1x4xf32>, %a: tensor<4xf32>, %b: tensor<1x1x2xf32>, %c: tensor<1x1x2xf32>,
             %d: tensor<4xf32>, %s: tensor<1x4x1x1xf32>) -> tensor<1x1x4xf32> {
  %y, %so = coil.ssd_scan %x, %x, %a, %b, %c, %d state(%s)
      : (tensor<1x1x4xf32>, tensor<1x1x4xf32>, tensor<4xf32>, tensor<1x1x2xf32>, tensor<1x1x2xf32>,
         tensor<4xf32>, tensor<1x4x1x1xf32>) -> (tensor<1x1x4xf32>, tensor<1x4x1x1xf32>)
  return %y : tensor<1x1x4xf32>
})mlir",
               {Tensor({1, 1, 4}, {1, 1, 1, 1}), Tensor::filled({4}),
                Tensor({1, 1, 2}, {1, 10}), Tensor({1, 1, 2}, {1, 1}),
                Tensor::filled({4}), Tensor::filled({1, 4, 1, 1})});
  ASSERT_EQ(r.size(), 1u);
  expectNear(r[0], {1, 1, 4}, {1, 1, 10, 10}, 0);
}

TEST_F(InterpreterTest, SsdScanClampsSoftplusOfBiasedDt) {
  // dt_limit = [0.2, 0.5] after softplus(dt + bias): the same results as
  // the op given the clamped values directly, with no bias or softplus.
  const char *limited = R"mlir(
func.func @f(%x: tensor<1x?x2xf32>, %dt: tensor<1x?x2xf32>, %a: tensor<2xf32>, %b: tensor<1x?x2xf32>,
             %c: tensor<1x?x2xf32>, %d: tensor<2xf32>, %bias: tensor<2xf32>, %s: tensor<1x2x1x2xf32>)
    -> (tensor<1x?x2xf32>, tensor<1x2x1x2xf32>) {
  %y, %so = coil.ssd_scan %x, %dt, %a, %b, %c, %d bias(%bias) state(%s) {delta_softplus, dt_limit = array<f64: 0.2, 0.5>}
      : (tensor<1x?x2xf32>, tensor<1x?x2xf32>, tensor<2xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32>,
         tensor<2xf32>, tensor<2xf32>, tensor<1x2x1x2xf32>) -> (tensor<1x?x2xf32>, tensor<1x2x1x2xf32>)
  return %y, %so : tensor<1x?x2xf32>, tensor<1x2x1x2xf32>
})mlir";
  std::vector<double> dt = {-3, 0.1, 2, -0.5}, bias = {0.5, -0.25};
  std::vector<double> clamped;
  for (size_t i = 0; i < dt.size(); ++i)
    clamped.push_back(
        std::clamp(std::log1p(std::exp(dt[i] + bias[i % 2])), 0.2, 0.5));
  auto inputs = [&](std::vector<double> dtValues, std::vector<double> b) {
    return std::vector<Tensor>{Tensor({1, 2, 2}, {1, -2, 0.5, 3}),
                               Tensor({1, 2, 2}, dtValues),
                               Tensor({2}, {-1, -0.3}),
                               Tensor({1, 2, 2}, {1, 2, -1, 0.5}),
                               Tensor({1, 2, 2}, {0.5, 1, 2, -1}),
                               Tensor({2}, {0.5, 2}),
                               Tensor({2}, b),
                               Tensor({1, 2, 1, 2}, {1, 2, 3, 4})};
  };
  auto r = run(limited, inputs(dt, bias));
  auto expected = run(kSsdScan, inputs(clamped, {0, 0}));
  ASSERT_EQ(r.size(), 2u);
  ASSERT_EQ(expected.size(), 2u);
  for (int i = 0; i < 2; ++i)
    expectNear(r[i], expected[i].shape, expected[i].data, 1e-6);
}

TEST_F(InterpreterTest, EmbedRejectsOutOfRangeIds) {
  expectError(R"mlir(
func.func @f(%t: tensor<3x2xf32>, %ids: tensor<1x?xi32>) -> tensor<1x?x2xf32> {
  %e = coil.embed %t, %ids : (tensor<3x2xf32>, tensor<1x?xi32>) -> tensor<1x?x2xf32>
  return %e : tensor<1x?x2xf32>
})mlir",
              {Tensor::filled({3, 2}), Tensor({1, 2}, {0, 3})},
              "token id 3 is out of range [0, 3)");
}

TEST_F(InterpreterTest, ResultsAreRoundedToTheirElementType) {
  // 1 + 2^-10 is exact in f32 and f16, and rounds to 1 in bf16 (8 bits).
  auto r = run(R"mlir(
func.func @f(%a: tensor<1xf32>, %b: tensor<1xbf16>, %c: tensor<1xf16>) -> (tensor<1xf32>, tensor<1xbf16>, tensor<1xf16>) {
  %x = coil.add %a, %a : tensor<1xf32>
  %y = coil.add %b, %b : tensor<1xbf16>
  %z = coil.add %c, %c : tensor<1xf16>
  return %x, %y, %z : tensor<1xf32>, tensor<1xbf16>, tensor<1xf16>
})mlir",
               {Tensor({1}, {0.5 + 0x1p-11}), Tensor({1}, {0.5 + 0x1p-11}),
                Tensor({1}, {0.5 + 0x1p-11})});
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].data[0], 1 + 0x1p-10);
  EXPECT_EQ(r[1].data[0], 1.0);
  EXPECT_EQ(r[2].data[0], 1 + 0x1p-10);
}

TEST_F(InterpreterTest, InputsMustFitTheSignature) {
  expectError(kRope, {Tensor::filled({1, 2, 6}), Tensor::filled({1, 2})},
              "argument #0 has shape [1, 2, 6]");
}

} // namespace
