//===- QuantizeTest.cpp - Symmetric int8 and int4 quantization -----------===//
//
// quantizeRowsInt8 against values worked out by hand: the scale of each row,
// rounding to nearest even (ties too), the extremes at +-127, a row of
// zeros, and the refusal of a row holding a NaN or an infinity. The int4
// nibble packing both ways, and pre-quantized matrices in a file: found with
// their scales, unpacked to what the quantizer wrote, malformed ones refused
// with the tensor named.
//
//===----------------------------------------------------------------------===//

#include "runtime/src/weights/Quantize.h"

#include "runtime/src/weights/Safetensors.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <memory>
#include <vector>

using namespace coil::weights;

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

TEST(QuantizeTest, RowRangesFillTheWholeMatrixAndReportTheFirstBadRow) {
  // Four rows of 32: quantized as one range or as two, in either order,
  // the same values; rows 1 and 3 hold an infinity, row 1 is reported.
  std::vector<float> w(128);
  for (size_t i = 0; i < w.size(); ++i)
    w[i] = 0.25f * static_cast<float>(i % 13) - 1.0f;
  std::vector<int8_t> whole(128), parts(128);
  std::vector<float> wholeScale(4), partScale(4);
  FirstBadRow none;
  quantizeRowRange(true, w.data(), 0, 4, 32, whole.data(), wholeScale.data(),
                   none);
  EXPECT_EQ(none.get(), -1);
  quantizeRowRange(true, w.data(), 2, 4, 32, parts.data(), partScale.data(),
                   none);
  quantizeRowRange(true, w.data(), 0, 2, 32, parts.data(), partScale.data(),
                   none);
  EXPECT_EQ(parts, whole);
  EXPECT_EQ(partScale, wholeScale);
  w[3 * 32 + 5] = std::numeric_limits<float>::infinity();
  w[1 * 32 + 7] = std::numeric_limits<float>::infinity();
  FirstBadRow bad;
  quantizeRowRange(false, w.data(), 2, 4, 32, parts.data(), partScale.data(),
                   bad);
  EXPECT_EQ(bad.get(), 3);
  quantizeRowRange(false, w.data(), 0, 2, 32, parts.data(), partScale.data(),
                   bad);
  EXPECT_EQ(bad.get(), 1);
}

TEST(QuantizeTest, Int4PacksLowNibbleFirstAndUnpacksSignExtended) {
  std::vector<int8_t> q = {-8, 7, 0, -1, 3, -5};
  std::vector<uint8_t> packed(3);
  packInt4(q.data(), q.size(), packed.data());
  EXPECT_EQ(packed, (std::vector<uint8_t>{0x78, 0xf0, 0xb3}));
  std::vector<int8_t> back(6);
  unpackInt4(packed.data(), back.size(), back.data());
  EXPECT_EQ(back, q);
  // Every byte unpacks to two values in [-8, 7] that pack back to it.
  for (int byte = 0; byte < 256; ++byte) {
    uint8_t in = static_cast<uint8_t>(byte), out = 0;
    int8_t two[2];
    unpackInt4(&in, 2, two);
    EXPECT_GE(two[0], -8);
    EXPECT_LE(two[1], 7);
    packInt4(two, 2, &out);
    EXPECT_EQ(out, in);
  }
}

/// A file of pre-quantized matrices written in a fresh directory.
class PreQuantizedTest : public ::testing::Test {
protected:
  void SetUp() override {
    char pattern[] = "/tmp/coil-prequantized-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    if (!dir.empty())
      std::filesystem::remove_all(dir, ignored);
  }

  /// Writes `tensors` and opens them into `files`.
  void write(const std::vector<TensorToWrite> &tensors) {
    std::string path = dir + "/w.safetensors";
    Status written = writeSafetensors(path, tensors);
    ASSERT_TRUE(written.isOk()) << written.message();
    Status opened = WeightFileSet::open(path, files);
    ASSERT_TRUE(opened.isOk()) << opened.message();
  }

  /// The message findPreQuantized gives for the tensor `name`.
  std::string problem(const char *name) {
    PreQuantized found;
    Status s = findPreQuantized(*files, *files->find(name), found);
    EXPECT_FALSE(s.isOk());
    return s.message();
  }

  std::string dir;
  std::unique_ptr<WeightFileSet> files;
};

TEST_F(PreQuantizedTest, Int4UnpacksToWhatTheQuantizerWrote) {
  // Two rows of 64: two groups of 32 each.
  std::vector<float> w(128);
  for (size_t i = 0; i < w.size(); ++i)
    w[i] = std::sin(0.37f * static_cast<float>(i)) * (1 + (i >= 96));
  std::vector<int8_t> q(128);
  std::vector<float> scale(4);
  ASSERT_EQ(quantizeGroupsInt4(w.data(), 2, 64, q.data(), scale.data()), -1);
  std::vector<uint8_t> packed(64);
  packInt4(q.data(), q.size(), packed.data());
  write({{"m", DType::U8, {2, 32}, packed.data()},
         {"m.scales", DType::F32, {2, 2}, scale.data()},
         {"bias", DType::F32, {2}, scale.data()}});
  if (HasFatalFailure())
    return;
  EXPECT_TRUE(isPreQuantized(*files->find("m")));
  EXPECT_FALSE(isPreQuantized(*files->find("bias")));
  EXPECT_TRUE(isScalesOfPreQuantized(*files, "m.scales"));
  EXPECT_FALSE(isScalesOfPreQuantized(*files, "bias"));
  EXPECT_FALSE(isScalesOfPreQuantized(*files, "bias.scales"));
  PreQuantized found;
  Status s = findPreQuantized(*files, *files->find("m"), found);
  ASSERT_TRUE(s.isOk()) << s.message();
  EXPECT_TRUE(found.int4);
  EXPECT_EQ(found.rows, 2);
  EXPECT_EQ(found.cols, 64);
  std::vector<int8_t> backQ(128);
  std::vector<float> backScale(4);
  // In two ranges of rows, as the runtime unpacks on several cores.
  unpackPreQuantized(found, 1, 2, backQ.data(), backScale.data());
  unpackPreQuantized(found, 0, 1, backQ.data(), backScale.data());
  EXPECT_EQ(backQ, q);
  EXPECT_EQ(backScale, scale);
}

TEST_F(PreQuantizedTest, Int8KeepsItsValues) {
  std::vector<int8_t> q = {-128, -1, 0, 127, 5, 6};
  std::vector<float> scale = {0.5f, 2.0f};
  write({{"m", DType::I8, {2, 3}, q.data()},
         {"m.scales", DType::F32, {2}, scale.data()}});
  if (HasFatalFailure())
    return;
  PreQuantized found;
  Status s = findPreQuantized(*files, *files->find("m"), found);
  ASSERT_TRUE(s.isOk()) << s.message();
  EXPECT_FALSE(found.int4);
  EXPECT_EQ(found.cols, 3);
  std::vector<int8_t> backQ(6);
  std::vector<float> backScale(2);
  unpackPreQuantized(found, 0, 2, backQ.data(), backScale.data());
  EXPECT_EQ(backQ, q);
  EXPECT_EQ(backScale, scale);
}

TEST_F(PreQuantizedTest, MalformedMatricesAreRefusedByName) {
  std::vector<uint8_t> bytes(64);
  std::vector<float> scale = {1.0f, -1.0f, 1.0f, std::nanf("")};
  write({{"noscales", DType::I8, {2, 3}, bytes.data()},
         {"vector", DType::I8, {6}, bytes.data()},
         {"vector.scales", DType::F32, {1}, scale.data()},
         {"short", DType::U8, {2, 16}, bytes.data()},
         {"short.scales", DType::F32, {2}, scale.data()},
         {"narrow", DType::U8, {2, 8}, bytes.data()},
         {"narrow.scales", DType::F32, {2}, scale.data()},
         {"negative", DType::I8, {2, 3}, bytes.data()},
         {"negative.scales", DType::F32, {2}, scale.data()},
         {"nan", DType::I8, {1, 3}, bytes.data()},
         {"nan.scales", DType::F32, {1}, scale.data() + 3},
         {"float", DType::F32, {1}, scale.data()}});
  if (HasFatalFailure())
    return;
  EXPECT_NE(problem("noscales").find("tensor 'noscales' in"),
            std::string::npos);
  EXPECT_NE(problem("noscales")
                .find("its scales 'noscales.scales' (F32 [2]) "
                      "are missing"),
            std::string::npos);
  EXPECT_NE(problem("vector").find("expected rank 2"), std::string::npos);
  EXPECT_NE(problem("short").find("tensor 'short.scales' in"),
            std::string::npos);
  EXPECT_NE(problem("short").find("is F32 [2], but the scales of 'short' must "
                                  "be F32 [2, 1]"),
            std::string::npos);
  EXPECT_NE(problem("narrow").find("16 columns, not a multiple of the group "
                                   "of 32"),
            std::string::npos);
  EXPECT_NE(problem("negative")
                .find("at element 1 (scales are finite and "
                      "not negative)"),
            std::string::npos);
  EXPECT_NE(problem("nan").find("holds the scale nan at element 0"),
            std::string::npos);
  EXPECT_NE(problem("float").find("has dtype F32, not a pre-quantized"),
            std::string::npos);
}

} // namespace
