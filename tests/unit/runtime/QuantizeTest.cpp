//===- QuantizeTest.cpp - Symmetric int8 quantization of matrices --------===//
//
// quantizeRowsInt8 against values worked out by hand: the scale of each row,
// rounding to nearest even (ties too), the extremes at +-127, a row of
// zeros, and the refusal of a row holding a NaN or an infinity.
//
//===----------------------------------------------------------------------===//

#include "runtime/src/weights/Quantize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

using coil::weights::quantizeRowsInt8;

namespace {

TEST(QuantizeTest, RowsGetTheirOwnScaleAndRoundToNearestEven) {
  // Row 0: max |w| = 127, so scale 1 and q = w rounded (2.5 -> 2, 3.5 -> 4,
  // -0.5 -> -0). Row 1: max |w| = 254, scale 2 (127 / 2 = 63.5 -> 64,
  // 1 / 2 = 0.5 -> 0).
  std::vector<float> w = {127.0f, 2.5f, 3.5f, -0.5f,
                          -254.0f, 127.0f, 1.0f, 0.0f};
  std::vector<int8_t> q(8);
  std::vector<float> scale(2);
  EXPECT_EQ(quantizeRowsInt8(w.data(), 2, 4, q.data(), scale.data()), -1);
  EXPECT_EQ(scale[0], 1.0f);
  EXPECT_EQ(scale[1], 2.0f);
  EXPECT_EQ(q, (std::vector<int8_t>{127, 2, 4, 0, -127, 64, 0, 0}));
  // Dequantized, every value is within half a scale of the original.
  for (int r = 0; r < 2; ++r)
    for (int k = 0; k < 4; ++k)
      EXPECT_LE(std::fabs(q[r * 4 + k] * scale[r] - w[r * 4 + k]),
                scale[r] / 2 * (1 + 1e-6f))
          << r << ", " << k;
}

TEST(QuantizeTest, ARowOfZerosHasScaleZero) {
  std::vector<float> w = {0.0f, -0.0f, 0.0f};
  std::vector<int8_t> q(3, 5);
  float scale = -1;
  EXPECT_EQ(quantizeRowsInt8(w.data(), 1, 3, q.data(), &scale), -1);
  EXPECT_EQ(scale, 0.0f);
  EXPECT_EQ(q, (std::vector<int8_t>{0, 0, 0}));
}

TEST(QuantizeTest, NonFiniteRowsAreRefused) {
  std::vector<float> w = {1.0f, 2.0f, 3.0f,
                          std::numeric_limits<float>::infinity(), 4.0f, 5.0f};
  std::vector<int8_t> q(6);
  std::vector<float> scale(2);
  EXPECT_EQ(quantizeRowsInt8(w.data(), 2, 3, q.data(), scale.data()), 1);
  w[3] = std::nanf("");
  EXPECT_EQ(quantizeRowsInt8(w.data(), 2, 3, q.data(), scale.data()), 1);
}

} // namespace
