//===- CoilOpsTest.cpp - Building and verifying coil IR in C++ ---*- C++
//-*-===//
//
// Builds coil ops with the generated C++ builders (as the model builders do)
// and checks that the verifiers accept well-formed IR and reject ill-formed IR
// with the expected diagnostic.
//
//===----------------------------------------------------------------------===//

#include "dialects/Coil/IR/CoilOps.h"
#include "compiler/InitAll.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"

#include <gtest/gtest.h>

#include <string>

using namespace mlir;

namespace {

/// A context with Coil's dialects loaded, a module to build into, and the
/// diagnostics of the last verification collected as text.
class CoilOpsTest : public ::testing::Test {
protected:
  CoilOpsTest() : builder(&context) {
    DialectRegistry registry;
    coil::registerAllDialects(registry);
    context.appendDialectRegistry(registry);
    context.loadAllAvailableDialects();
    module = ModuleOp::create(builder.getUnknownLoc());
    builder.setInsertionPointToEnd(module->getBody());
  }

  /// A function with the given argument types whose body the test fills in.
  func::FuncOp makeFunc(TypeRange args) {
    auto fn = builder.create<func::FuncOp>(builder.getUnknownLoc(), "f",
                                           builder.getFunctionType(args, {}));
    Block *entry = fn.addEntryBlock();
    builder.setInsertionPointToStart(entry);
    return fn;
  }

  /// Verifies the module; returns the concatenated error messages (empty on
  /// success).
  std::string verifyErrors() {
    std::string errors;
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
      errors += diag.str();
      errors += "\n";
      return success();
    });
    if (succeeded(verify(*module)))
      return "";
    return errors.empty() ? "verification failed" : errors;
  }

  RankedTensorType tensor(ArrayRef<int64_t> shape, Type element = {}) {
    return RankedTensorType::get(shape,
                                 element ? element : builder.getF32Type());
  }

  static constexpr int64_t kDyn = ShapedType::kDynamic;

  MLIRContext context;
  OpBuilder builder;
  OwningOpRef<ModuleOp> module;
};

TEST_F(CoilOpsTest, ScanBuildsAndVerifies) {
  auto u = tensor({kDyn, kDyn, 8}), bc = tensor({kDyn, kDyn, 4});
  auto a = tensor({8, 4}), d = tensor({8}), h = tensor({kDyn, 8, 4});
  auto fn = makeFunc({u, u, a, bc, bc, d, u, h});
  auto args = fn.getArguments();
  auto scan = builder.create<coil::ScanOp>(
      builder.getUnknownLoc(), u, h, /*states=*/Type(), args[0], args[1],
      args[2], args[3], args[4], args[5], /*z=*/args[6], args[7],
      /*delta_softplus=*/true);
  builder.create<func::ReturnOp>(builder.getUnknownLoc());
  EXPECT_EQ(verifyErrors(), "");
  EXPECT_TRUE(scan.getDeltaSoftplus());
  EXPECT_EQ(scan.getZ(), args[6]);
  EXPECT_FALSE(scan.getStates());
}

TEST_F(CoilOpsTest, ScanKeepsTheStateOfEveryStep) {
  auto u = tensor({kDyn, kDyn, 8}), bc = tensor({kDyn, kDyn, 4});
  auto a = tensor({8, 4}), d = tensor({8}), h = tensor({kDyn, 8, 4});
  for (auto [states, error] :
       {std::pair{tensor({kDyn, kDyn, 8, 4}), ""},
        std::pair{tensor({kDyn, kDyn, 8, 5}),
                  "states dimension 3 (state extent) is 5, expected 4"},
        std::pair{tensor({kDyn, 8, 4}), "states must have rank 4"}}) {
    auto fn = makeFunc({u, a, bc, d, h});
    auto args = fn.getArguments();
    auto scan = builder.create<coil::ScanOp>(
        builder.getUnknownLoc(), u, h, states, args[0], args[0], args[1],
        args[2], args[2], args[3], Value(), args[4], false);
    builder.create<func::ReturnOp>(builder.getUnknownLoc());
    std::string errors = verifyErrors();
    if (std::string(error).empty()) {
      EXPECT_EQ(errors, "");
      EXPECT_EQ(scan.getStates().getType(), states);
    } else {
      EXPECT_NE(errors.find(error), std::string::npos) << errors;
    }
    fn.erase();
    builder.setInsertionPointToEnd(module->getBody());
  }
}

TEST_F(CoilOpsTest, ScanWithoutGateVerifies) {
  auto u = tensor({1, 3, 8}), bc = tensor({1, 3, 4});
  auto a = tensor({8, 4}), d = tensor({8}), h = tensor({1, 8, 4});
  auto fn = makeFunc({u, a, bc, d, h});
  auto args = fn.getArguments();
  auto scan = builder.create<coil::ScanOp>(
      builder.getUnknownLoc(), u, h, /*states=*/Type(), args[0], args[0],
      args[1], args[2], args[2], args[3], /*z=*/Value(), args[4],
      /*delta_softplus=*/false);
  builder.create<func::ReturnOp>(builder.getUnknownLoc());
  EXPECT_EQ(verifyErrors(), "");
  EXPECT_FALSE(scan.getZ());
}

TEST_F(CoilOpsTest, ScanRejectsWrongStateSize) {
  auto u = tensor({kDyn, kDyn, 8}), bc = tensor({kDyn, kDyn, 4});
  auto a = tensor({8, 4}), d = tensor({8}), h = tensor({kDyn, 8, 16});
  auto fn = makeFunc({u, a, bc, d, h});
  auto args = fn.getArguments();
  builder.create<coil::ScanOp>(builder.getUnknownLoc(), u, h, Type(), args[0],
                               args[0], args[1], args[2], args[2], args[3],
                               Value(), args[4], false);
  builder.create<func::ReturnOp>(builder.getUnknownLoc());
  EXPECT_NE(
      verifyErrors().find("state dimension 2 (state size) is 16, expected 4"),
      std::string::npos);
}

TEST_F(CoilOpsTest, LinearRejectsMismatchedInFeatures) {
  auto x = tensor({kDyn, 5}), w = tensor({6, 4});
  auto fn = makeFunc({x, w});
  builder.create<coil::LinearOp>(builder.getUnknownLoc(), tensor({kDyn, 6}),
                                 fn.getArgument(0), fn.getArgument(1), Value(),
                                 Value());
  builder.create<func::ReturnOp>(builder.getUnknownLoc());
  EXPECT_NE(verifyErrors().find("input dimension 1 (in features) is 5, "
                                "expected 4"),
            std::string::npos);
}

TEST_F(CoilOpsTest, AttentionDefaultScaleIsInverseSqrtHeadDim) {
  auto q = tensor({kDyn, kDyn, 16}), k = tensor({kDyn, kDyn, 8});
  auto cache = tensor({kDyn, 2, kDyn, 4});
  auto pos = tensor({kDyn, kDyn}, builder.getI32Type());
  auto fn = makeFunc({q, k, cache, pos});
  auto args = fn.getArguments();
  auto attn = builder.create<coil::AttentionOp>(
      builder.getUnknownLoc(), TypeRange{q, cache, cache}, args[0], args[1],
      args[1], args[2], args[2], args[3], /*num_heads=*/4, /*num_kv_heads=*/2,
      /*scale=*/nullptr);
  builder.create<func::ReturnOp>(builder.getUnknownLoc());
  EXPECT_EQ(verifyErrors(), "");
  EXPECT_EQ(attn.getHeadDim(), 4);
  EXPECT_DOUBLE_EQ(attn.getScaleOrDefault(), 0.5);
}

TEST_F(CoilOpsTest, KernelBuilderCreatesMatchingBlockArguments) {
  auto x = tensor({kDyn, 4}), w = tensor({4});
  auto fn = makeFunc({x, w});
  auto kernel = builder.create<coil::KernelOp>(
      builder.getUnknownLoc(), "rms_norm", TypeRange{x},
      ValueRange{fn.getArgument(0), fn.getArgument(1)});
  Block &body = kernel.getBody().front();
  ASSERT_EQ(body.getNumArguments(), 2u);
  {
    OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToStart(&body);
    auto norm = builder.create<coil::RmsNormOp>(
        builder.getUnknownLoc(), x, body.getArgument(0), body.getArgument(1),
        builder.getF32FloatAttr(1e-5f), /*group_size=*/IntegerAttr());
    builder.create<coil::YieldOp>(builder.getUnknownLoc(),
                                  ValueRange{norm.getResult()});
  }
  builder.create<func::ReturnOp>(builder.getUnknownLoc());
  EXPECT_EQ(verifyErrors(), "");
  EXPECT_EQ(kernel.getName(), "rms_norm");
}

TEST_F(CoilOpsTest, KernelWithoutYieldIsRejected) {
  auto x = tensor({4});
  auto fn = makeFunc({x});
  auto kernel =
      builder.create<coil::KernelOp>(builder.getUnknownLoc(), "k", TypeRange{x},
                                     ValueRange{fn.getArgument(0)});
  {
    OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToStart(&kernel.getBody().front());
    builder.create<coil::ExpOp>(builder.getUnknownLoc(),
                                kernel.getBody().getArgument(0));
  }
  builder.create<func::ReturnOp>(builder.getUnknownLoc());
  EXPECT_NE(verifyErrors(), "");
}

} // namespace
