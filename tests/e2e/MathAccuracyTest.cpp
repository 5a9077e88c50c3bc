//===- MathAccuracyTest.cpp - The compiled exp's stated error -----*- C++
//-*-===//
//
// The scan, softplus, silu and the softmax all use the polynomial exp that
// the loops lowering substitutes for math.exp (vectorisable, unlike libm's).
// Its maximum error over the range where exp's result is a normal f32,
// [-87, 88], is stated here and checked against exp in double for 65,536
// evenly spaced inputs, compiled for every micro-kernel family the host can
// run: one row of the embedding table is 256 inputs, and `coil.exp` of the
// embedded rows is the model's logits.
//
//===----------------------------------------------------------------------===//

#include "compiler/Driver/Compile.h"
#include "compiler/InitAll.h"
#include "runtime/src/weights/Safetensors.h"

#include "coil/coil.h"
#include "tests/e2e/HostTargets.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/FileSystem.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

using namespace mlir;
using namespace mlir::coil;
namespace weights = ::coil::weights;

namespace {

/// The stated bound: the compiled exp is within this many f32 ulps of the
/// exact value over [-87, 88] (measured: 0.96 ulp at x = -71.0, the same for
/// every micro-kernel family; docs/performance.md).
constexpr double kExpMaxUlps = 1.5;

constexpr int64_t kWidth = 256;

constexpr const char *kModel = R"mlir(
module attributes {coil.family = "test", coil.vocab_size = 256 : i64} {
  func.func @prefill(%tokens: tensor<?x?xi32>, %positions: tensor<?x?xi32>) -> tensor<?x?x256xf32> {
    %table = coil.weight "table" : tensor<256x256xf32>
    %h = coil.embed %table, %tokens : (tensor<256x256xf32>, tensor<?x?xi32>) -> tensor<?x?x256xf32>
    %y = coil.exp %h : tensor<?x?x256xf32>
    return %y : tensor<?x?x256xf32>
  }
  func.func @decode(%tokens: tensor<?x1xi32>, %positions: tensor<?x1xi32>) -> tensor<?x1x256xf32> {
    %table = coil.weight "table" : tensor<256x256xf32>
    %h = coil.embed %table, %tokens : (tensor<256x256xf32>, tensor<?x1xi32>) -> tensor<?x1x256xf32>
    %y = coil.exp %h : tensor<?x1x256xf32>
    return %y : tensor<?x1x256xf32>
  }
}
)mlir";

/// The distance between `value` and the next f32 of larger magnitude.
double ulpOf(float value) {
  float next = std::nextafter(std::fabs(value), INFINITY);
  return static_cast<double>(next) - std::fabs(value);
}

/// The status's message, freed; empty for success.
std::string take(coil_status_t *status) {
  std::string message =
      coil_status_code(status) == COIL_OK ? "" : coil_status_message(status);
  coil_status_free(status);
  return message;
}

class MathAccuracyTest : public ::testing::TestWithParam<const char *> {};

TEST_P(MathAccuracyTest, ExpIsWithinTheStatedUlps) {
  std::string missing;
  if (!::coil::testing::hostRuns(GetParam(), missing))
    GTEST_SKIP() << "this CPU cannot run code for " << GetParam() << " (lacks "
                 << missing << ")";
  DialectRegistry registry;
  registerAllDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  llvm::SmallString<128> dir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("coil-math", dir));
  std::string so = (dir + "/model.so").str();
  std::string st = (dir + "/model.safetensors").str();
  {
    OwningOpRef<ModuleOp> module =
        parseSourceString<ModuleOp>(kModel, &context);
    ASSERT_TRUE(module);
    llvm::Error e = compileModel(*module, Stage::SharedLibrary, so, nullptr,
                                 CompileOptions{false, GetParam()});
    ASSERT_FALSE(!!e) << llvm::toString(std::move(e));
  }
  std::vector<float> inputs(kWidth * kWidth);
  for (size_t i = 0; i < inputs.size(); ++i)
    inputs[i] = static_cast<float>(-87.0 + 175.0 * static_cast<double>(i) /
                                               (inputs.size() - 1));
  weights::Status written = weights::writeSafetensors(
      st, {{"table", weights::DType::F32, {kWidth, kWidth}, inputs.data()}});
  ASSERT_TRUE(written.isOk()) << written.message();

  coil_model_t *model = nullptr;
  coil_weights_t *files = nullptr;
  coil_session_t *session = nullptr;
  ASSERT_EQ(take(coil_model_load(so.c_str(), &model)), "");
  ASSERT_EQ(take(coil_weights_open(st.c_str(), &files)), "");
  ASSERT_EQ(take(coil_model_bind_weights(model, files)), "");
  coil_session_options_t options;
  coil_session_options_initialize(&options);
  options.max_context = kWidth;
  options.all_logits = 1;
  ASSERT_EQ(take(coil_session_create(model, &options, &session)), "");
  std::vector<int32_t> tokens(kWidth);
  for (int32_t t = 0; t < kWidth; ++t)
    tokens[t] = t;
  ASSERT_EQ(take(coil_session_prefill(session, tokens.data(), 1, kWidth)), "");
  const float *out = nullptr;
  int64_t batch, count, vocab;
  ASSERT_EQ(take(coil_session_logits(session, &out, &batch, &count, &vocab)),
            "");
  ASSERT_EQ(batch * count * vocab, kWidth * kWidth);

  double worst = 0.0;
  float worstInput = 0.0f;
  for (size_t i = 0; i < inputs.size(); ++i) {
    double exact = std::exp(static_cast<double>(inputs[i]));
    double ulps = std::fabs(out[i] - exact) / ulpOf(static_cast<float>(exact));
    if (ulps > worst) {
      worst = ulps;
      worstInput = inputs[i];
    }
  }
  RecordProperty("max_ulps", std::to_string(worst));
  EXPECT_LE(worst, kExpMaxUlps) << "at x = " << worstInput;

  coil_session_release(session);
  coil_model_release(model);
  coil_weights_release(files);
  llvm::sys::fs::remove_directories(dir);
}

INSTANTIATE_TEST_SUITE_P(
    Isa, MathAccuracyTest, ::testing::ValuesIn(::coil::testing::kTargetCpus),
    [](const ::testing::TestParamInfo<const char *> &info) {
      std::string name = info.param;
      for (char &c : name)
        if (c == '-')
          c = '_';
      return name;
    });

} // namespace
