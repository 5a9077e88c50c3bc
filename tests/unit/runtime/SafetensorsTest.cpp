//===- SafetensorsTest.cpp - The safetensors reader and writer --*- C++ -*-===//
//
// Round trips through writeSafetensors and WeightFileSet, the F16 and BF16
// conversions against hand-computed bit patterns, sharded and directory
// inputs, and one case per malformed input the reader rejects. Malformed files
// are written byte by byte so that each breaks exactly one rule.
//
//===----------------------------------------------------------------------===//

#include "runtime/src/weights/Safetensors.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <sys/stat.h>

using namespace coil::weights;

namespace {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

/// Writes `bytes` to `path` as they are.
void writeBytes(const std::string &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

/// The 8-byte little-endian encoding of `value`.
std::string u64LE(uint64_t value) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i)
    bytes[i] = static_cast<char>(value >> (8 * i));
  return bytes;
}

/// Writes a safetensors file by hand: the header length (the header's own
/// size unless `headerLength` is given), the header, and `dataSize` data
/// bytes.
void writeRaw(const std::string &path, const std::string &header,
              size_t dataSize, int64_t headerLength = -1) {
  uint64_t length =
      headerLength < 0 ? header.size() : static_cast<uint64_t>(headerLength);
  std::string data(dataSize, '\x5a');
  writeBytes(path, u64LE(length) + header + data);
}

std::string readBytes(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in),
                     std::istreambuf_iterator<char>());
}

/// The names of the entries of `dir`.
std::vector<std::string> listDir(const std::string &dir) {
  std::vector<std::string> names;
  for (const auto &entry : std::filesystem::directory_iterator(dir))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

/// Opens `path`, expects it to fail, and checks that the message contains
/// every one of `needles`. Returns the message.
std::string expectOpenError(const std::string &path,
                            const std::vector<std::string> &needles) {
  std::unique_ptr<WeightFileSet> set;
  Status status = WeightFileSet::open(path, set);
  EXPECT_FALSE(status.isOk()) << "opening " << path << " succeeded";
  EXPECT_FALSE(static_cast<bool>(status));
  EXPECT_EQ(set, nullptr);
  for (const std::string &needle : needles)
    EXPECT_NE(status.message().find(needle), std::string::npos)
        << "message: " << status.message() << "\nlacks: " << needle;
  return status.message();
}

uint32_t bitsOf(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

float floatOf(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

uint16_t toF16(float value) {
  uint16_t half;
  convertFromF32(DType::F16, &value, &half, 1);
  return half;
}

float fromF16(uint16_t half) {
  float value;
  convertToF32(DType::F16, &half, &value, 1);
  return value;
}

uint16_t toBF16(float value) {
  uint16_t bf16;
  convertFromF32(DType::BF16, &value, &bf16, 1);
  return bf16;
}

float fromBF16(uint16_t bf16) {
  float value;
  convertToF32(DType::BF16, &bf16, &value, 1);
  return value;
}

bool isF16NaN(uint16_t half) {
  return (half & 0x7c00) == 0x7c00 && (half & 0x3ff) != 0;
}

bool isBF16NaN(uint16_t bf16) {
  return (bf16 & 0x7f80) == 0x7f80 && (bf16 & 0x7f) != 0;
}

/// A fresh directory under /tmp per test, removed afterwards.
class SafetensorsTest : public ::testing::Test {
protected:
  void SetUp() override {
    char pattern[] = "/tmp/coil-safetensors-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir = pattern;
  }

  void TearDown() override {
    std::error_code ignored;
    if (!dir.empty())
      std::filesystem::remove_all(dir, ignored);
  }

  std::string path(const std::string &name) const { return dir + "/" + name; }

  /// Writes a malformed `model.safetensors` and expects opening it to fail
  /// with a message naming the file and containing `needles`.
  std::string expectMalformed(const std::string &header, size_t dataSize,
                              std::vector<std::string> needles,
                              int64_t headerLength = -1) {
    std::string file = path("model.safetensors");
    writeRaw(file, header, dataSize, headerLength);
    needles.push_back(file);
    return expectOpenError(file, needles);
  }

  /// Writes a valid F32 tensor `name` of `values` into `file`.
  void writeF32(
      const std::string &file,
      const std::vector<std::pair<std::string, std::vector<float>>> &tensors,
      const std::map<std::string, std::string> &metadata = {}) {
    std::vector<TensorToWrite> list;
    for (const auto &[name, values] : tensors)
      list.push_back({name,
                      DType::F32,
                      {static_cast<int64_t>(values.size())},
                      values.data()});
    Status status = writeSafetensors(file, list, metadata);
    ASSERT_TRUE(status.isOk()) << status.message();
  }

  std::string dir;
};

//===----------------------------------------------------------------------===//
// Round trips
//===----------------------------------------------------------------------===//

TEST_F(SafetensorsTest, RoundTripF32F16BF16WithMetadata) {
  std::vector<float> weight = {0.0f, 1.0f, -2.5f, 3.25f, 1e-3f, 65504.0f};
  std::vector<float> biasF32 = {1.0f, -0.5f, 0.1f};
  std::vector<uint16_t> bias(biasF32.size());
  convertFromF32(DType::F16, biasF32.data(), bias.data(), bias.size());
  std::vector<float> embedF32 = {1.0f, 2.0f, -3.0f, 0.15625f};
  std::vector<uint16_t> embed(embedF32.size());
  convertFromF32(DType::BF16, embedF32.data(), embed.data(), embed.size());
  float scalar = 42.0f;

  std::vector<TensorToWrite> tensors = {
      {"b.weight", DType::F32, {2, 3}, weight.data()},
      {"a.bias", DType::F16, {3}, bias.data()},
      {"c.embed", DType::BF16, {2, 2}, embed.data()},
      {"d.scalar", DType::F32, {}, &scalar},
      {"e.empty", DType::F16, {0, 3}, nullptr},
  };
  std::map<std::string, std::string> metadata = {{"format", "pt"},
                                                 {"model", "coil-test"}};
  std::string file = path("weights.safetensors");
  Status written = writeSafetensors(file, tensors, metadata);
  ASSERT_TRUE(written.isOk()) << written.message();
  EXPECT_EQ(listDir(dir), std::vector<std::string>{"weights.safetensors"});

  std::unique_ptr<WeightFileSet> set;
  Status opened = WeightFileSet::open(file, set);
  ASSERT_TRUE(opened.isOk()) << opened.message();
  ASSERT_NE(set, nullptr);
  EXPECT_EQ(set->metadata(), metadata);

  const std::vector<TensorInfo> &all = set->tensors();
  ASSERT_EQ(all.size(), 5u);
  std::vector<std::string> names;
  for (const TensorInfo &info : all)
    names.push_back(info.name);
  EXPECT_EQ(names, (std::vector<std::string>{"a.bias", "b.weight", "c.embed",
                                             "d.scalar", "e.empty"}));

  for (const TensorToWrite &expected : tensors) {
    const TensorInfo *info = set->find(expected.name);
    ASSERT_NE(info, nullptr) << expected.name;
    EXPECT_EQ(info->name, expected.name);
    EXPECT_EQ(info->dtype, expected.dtype);
    EXPECT_EQ(info->shape, expected.shape);
    EXPECT_EQ(info->file, file);
    size_t numBytes =
        static_cast<size_t>(info->numElements()) * dtypeSize(info->dtype);
    EXPECT_EQ(info->numBytes, numBytes);
    if (numBytes) {
      EXPECT_EQ(std::memcmp(info->data, expected.data, numBytes), 0)
          << expected.name;
    }
    // The mapping is page-aligned, so this checks the offset in the file.
    EXPECT_EQ(reinterpret_cast<uintptr_t>(info->data) % dtypeSize(info->dtype),
              0u)
        << expected.name;
  }
  EXPECT_EQ(set->find("d.scalar")->numElements(), 1);
  EXPECT_EQ(set->find("e.empty")->numElements(), 0);
  EXPECT_EQ(set->find("missing"), nullptr);
  EXPECT_EQ(set->find(""), nullptr);
  EXPECT_EQ(set->find("b.weigh"), nullptr);

  std::vector<float> back(3);
  const TensorInfo *biasInfo = set->find("a.bias");
  convertToF32(biasInfo->dtype, biasInfo->data, back.data(), back.size());
  EXPECT_EQ(back[0], 1.0f);
  EXPECT_EQ(back[1], -0.5f);
  EXPECT_NEAR(back[2], 0.1f, 1e-4f);

  // The raw layout: data 8-byte aligned, header entries sorted by name.
  std::string raw = readBytes(file);
  ASSERT_GE(raw.size(), 8u);
  uint64_t headerLength = 0;
  for (int i = 7; i >= 0; --i)
    headerLength = (headerLength << 8) | static_cast<unsigned char>(raw[i]);
  EXPECT_EQ((8 + headerLength) % 8, 0u);
  std::string header = raw.substr(8, headerLength);
  size_t last = 0;
  for (const char *name : {"\"__metadata__\"", "\"a.bias\"", "\"b.weight\"",
                           "\"c.embed\"", "\"d.scalar\"", "\"e.empty\""}) {
    size_t at = header.find(name);
    ASSERT_NE(at, std::string::npos) << name;
    EXPECT_GT(at, last) << name;
    last = at;
  }
  EXPECT_EQ(raw.size(), 8 + headerLength + 6 * 4 + 3 * 2 + 4 * 2 + 4);
}

TEST_F(SafetensorsTest, RoundTripI8U8) {
  const int8_t values[] = {-128, -7, 0, 7, 127, 1};
  const uint8_t packed[] = {0x00, 0x9f, 0xff};
  float odd = 3.0f;
  std::string file = path("ints.safetensors");
  Status written = writeSafetensors(file, {{"q", DType::I8, {2, 3}, values},
                                           {"p", DType::U8, {3}, packed},
                                           {"s", DType::F32, {1}, &odd}});
  ASSERT_TRUE(written.isOk()) << written.message();
  std::unique_ptr<WeightFileSet> set;
  Status opened = WeightFileSet::open(file, set);
  ASSERT_TRUE(opened.isOk()) << opened.message();
  const TensorInfo *q = set->find("q");
  const TensorInfo *p = set->find("p");
  ASSERT_TRUE(q && p);
  EXPECT_EQ(q->dtype, DType::I8);
  EXPECT_EQ(q->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(q->numBytes, 6u);
  EXPECT_EQ(std::memcmp(q->data, values, 6), 0);
  EXPECT_EQ(p->dtype, DType::U8);
  EXPECT_EQ(std::memcmp(p->data, packed, 3), 0);
  // The wider f32 tensor comes first, so it stays aligned after them.
  EXPECT_EQ(reinterpret_cast<uintptr_t>(set->find("s")->data) % 4, 0u);
}

TEST_F(SafetensorsTest, WriterReplacesExistingFile) {
  std::string file = path("model.safetensors");
  writeF32(file, {{"x", {1.0f, 2.0f}}});
  writeF32(file, {{"y", {3.0f}}});
  std::unique_ptr<WeightFileSet> set;
  ASSERT_TRUE(WeightFileSet::open(file, set).isOk());
  EXPECT_EQ(set->find("x"), nullptr);
  ASSERT_NE(set->find("y"), nullptr);
  EXPECT_EQ(*static_cast<const float *>(set->find("y")->data), 3.0f);
  EXPECT_EQ(listDir(dir), std::vector<std::string>{"model.safetensors"});
}

TEST_F(SafetensorsTest, WriterWithoutTensorsOrMetadata) {
  std::string file = path("empty.safetensors");
  ASSERT_TRUE(writeSafetensors(file, {}).isOk());
  std::unique_ptr<WeightFileSet> set;
  Status status = WeightFileSet::open(file, set);
  ASSERT_TRUE(status.isOk()) << status.message();
  EXPECT_TRUE(set->tensors().empty());
  EXPECT_TRUE(set->metadata().empty());
}

TEST_F(SafetensorsTest, ReadsUnalignedDataAndEmptyTensors) {
  // Written by another tool: a 7-byte-misaligned data section and a
  // zero-size tensor inside another's range; both are valid.
  std::string file = path("model.safetensors");
  writeRaw(file,
           R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
           R"("z":{"dtype":"BF16","shape":[3,0],"data_offsets":[4,4]},)"
           R"("b":{"dtype":"F16","shape":[1],"data_offsets":[8,10]}})",
           10);
  std::unique_ptr<WeightFileSet> set;
  Status status = WeightFileSet::open(file, set);
  ASSERT_TRUE(status.isOk()) << status.message();
  ASSERT_EQ(set->tensors().size(), 3u);
  EXPECT_EQ(set->find("z")->numBytes, 0u);
  EXPECT_EQ(set->find("z")->numElements(), 0);
  EXPECT_EQ(set->find("b")->numBytes, 2u);
  EXPECT_EQ(*static_cast<const unsigned char *>(set->find("b")->data), 0x5a);
}

TEST_F(SafetensorsTest, DataGapBetweenTensors) {
  expectMalformed(
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"F16","shape":[1],"data_offsets":[12,14]}})",
      14, {"bytes [8, 12) of the data section belong to no tensor", "'b'"});
  expectMalformed(R"({"b":{"dtype":"F16","shape":[1],"data_offsets":[2,4]}})",
                  4, {"bytes [0, 2)"});
}

TEST_F(SafetensorsTest, TrailingBytesAfterLastTensor) {
  expectMalformed(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                  9, {"1 byte(s) after the last tensor's data"});
  expectMalformed("{}", 3, {"3 byte(s) after the last tensor's data"});
}

TEST_F(SafetensorsTest, HeaderLengthOneByteShort) {
  // The header's padding space counted as data: every tensor would start one
  // byte early, so the data section has a byte too many.
  std::string header =
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} )";
  expectMalformed(header, 8, {"1 byte(s) after the last tensor's data"},
                  static_cast<int64_t>(header.size()) - 1);
}

TEST_F(SafetensorsTest, RepeatedKeyInsideEntry) {
  expectMalformed(R"({"w":{"dtype":"F32","dtype":"F16","shape":[1],)"
                  R"("data_offsets":[0,4]}})",
                  4, {"key 'dtype' appears twice in one object"});
}

TEST_F(SafetensorsTest, LongTensorNameIsAbbreviated) {
  std::string name(1000000, 'n');
  std::string message = expectMalformed(
      "{\"" + name + "\": 5}", 0, {"tensor 'nnnn", "...': entry must be"});
  EXPECT_LT(message.size(), 1000u);
}

TEST_F(SafetensorsTest, EmptyHeaderObjectIsValid) {
  std::string file = path("model.safetensors");
  writeRaw(file, "{}      ", 0);
  std::unique_ptr<WeightFileSet> set;
  Status status = WeightFileSet::open(file, set);
  ASSERT_TRUE(status.isOk()) << status.message();
  EXPECT_TRUE(set->tensors().empty());
}

//===----------------------------------------------------------------------===//
// Conversion
//===----------------------------------------------------------------------===//

TEST(SafetensorsConversionTest, DTypeNamesAndSizes) {
  EXPECT_STREQ(dtypeName(DType::F32), "F32");
  EXPECT_STREQ(dtypeName(DType::F16), "F16");
  EXPECT_STREQ(dtypeName(DType::BF16), "BF16");
  EXPECT_EQ(dtypeSize(DType::F32), 4u);
  EXPECT_EQ(dtypeSize(DType::F16), 2u);
  EXPECT_EQ(dtypeSize(DType::BF16), 2u);
  EXPECT_STREQ(dtypeName(DType::I8), "I8");
  EXPECT_STREQ(dtypeName(DType::U8), "U8");
  EXPECT_EQ(dtypeSize(DType::I8), 1u);
  EXPECT_EQ(dtypeSize(DType::U8), 1u);
  EXPECT_TRUE(isFloat(DType::BF16));
  EXPECT_FALSE(isFloat(DType::I8));
  EXPECT_FALSE(isFloat(DType::U8));
}

TEST(SafetensorsConversionTest, IntegersConvertToTheirValues) {
  const int8_t signedBytes[] = {-128, -1, 0, 7, 127};
  const uint8_t unsignedBytes[] = {0, 1, 0x7f, 0x80, 0xff};
  float out[5];
  convertToF32(DType::I8, signedBytes, out, 5);
  EXPECT_EQ(std::vector<float>(out, out + 5),
            (std::vector<float>{-128, -1, 0, 7, 127}));
  convertToF32(DType::U8, unsignedBytes, out, 5);
  EXPECT_EQ(std::vector<float>(out, out + 5),
            (std::vector<float>{0, 1, 127, 128, 255}));
  // Every bit pattern of an integer is finite.
  EXPECT_EQ(countNonFinite(DType::U8, unsignedBytes, 5), 0u);
}

TEST(SafetensorsConversionTest, StatusBasics) {
  Status ok = Status::ok();
  EXPECT_TRUE(ok.isOk());
  EXPECT_TRUE(static_cast<bool>(ok));
  EXPECT_TRUE(ok.message().empty());
  Status failed = Status::error("broken");
  EXPECT_FALSE(failed.isOk());
  EXPECT_EQ(failed.message(), "broken");
  EXPECT_FALSE(Status::error("").isOk());
}

TEST(SafetensorsConversionTest, F32ToF16) {
  EXPECT_EQ(toF16(1.0f), 0x3c00);
  EXPECT_EQ(toF16(-2.5f), 0xc100);
  EXPECT_EQ(toF16(0.1f), 0x2e66);
  EXPECT_EQ(toF16(0.0f), 0x0000);
  EXPECT_EQ(toF16(-0.0f), 0x8000);
  // Largest finite half and the overflow threshold (65520 ties to 65536).
  EXPECT_EQ(toF16(65504.0f), 0x7bff);
  EXPECT_EQ(toF16(65519.0f), 0x7bff);
  EXPECT_EQ(toF16(65520.0f), 0x7c00);
  EXPECT_EQ(toF16(1e6f), 0x7c00);
  EXPECT_EQ(toF16(-1e6f), 0xfc00);
  EXPECT_EQ(toF16(std::numeric_limits<float>::max()), 0x7c00);
  // Round to nearest even between 1.0 (0x3c00) and the next halves.
  EXPECT_EQ(toF16(1.0f + 0x1p-11f), 0x3c00);            // tie, even below
  EXPECT_EQ(toF16(1.0f + 3 * 0x1p-11f), 0x3c02);        // tie, even above
  EXPECT_EQ(toF16(1.0f + 0x1p-11f + 0x1p-20f), 0x3c01); // above the tie
  EXPECT_EQ(toF16(2049.0f), 0x6800);
  EXPECT_EQ(toF16(2051.0f), 0x6802);
  // Subnormals: units of 2^-24; 1e-8 is below half a unit and flushes to 0.
  EXPECT_EQ(toF16(1e-8f), 0x0000);
  EXPECT_EQ(toF16(-1e-8f), 0x8000);
  EXPECT_EQ(toF16(3e-8f), 0x0001);
  EXPECT_EQ(toF16(0x1p-24f), 0x0001);
  EXPECT_EQ(toF16(0x1p-25f), 0x0000);        // tie, even zero
  EXPECT_EQ(toF16(0x1.000002p-25f), 0x0001); // just above the tie
  EXPECT_EQ(toF16(1.5f * 0x1p-24f), 0x0002); // tie, even above
  EXPECT_EQ(toF16(1.25f * 0x1p-24f), 0x0001);
  EXPECT_EQ(toF16(1023.0f * 0x1p-24f), 0x03ff); // largest subnormal
  EXPECT_EQ(toF16(1023.5f * 0x1p-24f), 0x0400); // tie, carries to normal
  EXPECT_EQ(toF16(0x1p-14f), 0x0400);           // smallest normal
  EXPECT_EQ(toF16(1e-40f), 0x0000);             // f32 subnormal
  // Infinities and NaNs.
  EXPECT_EQ(toF16(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(toF16(-std::numeric_limits<float>::infinity()), 0xfc00);
  EXPECT_EQ(toF16(floatOf(0x7fc00000)), 0x7e00);
  EXPECT_EQ(toF16(floatOf(0xffc00000)), 0xfe00);
  EXPECT_TRUE(isF16NaN(toF16(floatOf(0x7f800001)))); // signalling, low payload
  EXPECT_TRUE(isF16NaN(toF16(std::nanf(""))));
}

TEST(SafetensorsConversionTest, F16ToF32) {
  EXPECT_EQ(fromF16(0x3c00), 1.0f);
  EXPECT_EQ(fromF16(0xc100), -2.5f);
  EXPECT_EQ(fromF16(0x7bff), 65504.0f);
  EXPECT_EQ(fromF16(0x3555), 0.333251953125f);
  EXPECT_EQ(fromF16(0x0001), 0x1p-24f);
  EXPECT_EQ(fromF16(0x03ff), 1023.0f * 0x1p-24f);
  EXPECT_EQ(fromF16(0x8001), -0x1p-24f);
  EXPECT_EQ(fromF16(0x0400), 0x1p-14f);
  EXPECT_EQ(bitsOf(fromF16(0x0000)), 0x00000000u);
  EXPECT_EQ(bitsOf(fromF16(0x8000)), 0x80000000u);
  EXPECT_EQ(fromF16(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(fromF16(0xfc00), -std::numeric_limits<float>::infinity());
  EXPECT_EQ(bitsOf(fromF16(0x7e00)), 0x7fc00000u);
  EXPECT_TRUE(std::isnan(fromF16(0x7c01)));
  EXPECT_TRUE(std::isnan(fromF16(0xfe00)));
}

TEST(SafetensorsConversionTest, EveryF16RoundTrips) {
  for (uint32_t bits = 0; bits <= 0xffff; ++bits) {
    uint16_t half = static_cast<uint16_t>(bits);
    float value = fromF16(half);
    if (isF16NaN(half)) {
      ASSERT_TRUE(std::isnan(value)) << std::hex << bits;
      ASSERT_TRUE(isF16NaN(toF16(value))) << std::hex << bits;
    } else {
      ASSERT_EQ(toF16(value), half) << std::hex << bits;
    }
  }
}

TEST(SafetensorsConversionTest, F32ToBF16) {
  EXPECT_EQ(toBF16(1.0f), 0x3f80);
  EXPECT_EQ(toBF16(-2.5f), 0xc020);
  EXPECT_EQ(toBF16(65504.0f), 0x4780); // rounds up to 65536
  EXPECT_EQ(toBF16(-0.0f), 0x8000);
  // Round to nearest even.
  EXPECT_EQ(toBF16(floatOf(0x3f808000)), 0x3f80); // tie, even below
  EXPECT_EQ(toBF16(floatOf(0x3f818000)), 0x3f82); // tie, even above
  EXPECT_EQ(toBF16(floatOf(0x3f808001)), 0x3f81); // above the tie
  EXPECT_EQ(toBF16(floatOf(0x3f807fff)), 0x3f80); // below the tie
  // Subnormals.
  EXPECT_EQ(toBF16(1e-40f), 0x0001); // 0x000116c2
  EXPECT_EQ(toBF16(floatOf(0x00008000)), 0x0000);
  EXPECT_EQ(toBF16(floatOf(0x00018000)), 0x0002);
  // Overflow, infinities and NaNs (a NaN must not round into infinity).
  EXPECT_EQ(toBF16(std::numeric_limits<float>::max()), 0x7f80);
  EXPECT_EQ(toBF16(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_EQ(toBF16(-std::numeric_limits<float>::infinity()), 0xff80);
  EXPECT_EQ(toBF16(floatOf(0x7fc00000)), 0x7fc0);
  EXPECT_EQ(toBF16(floatOf(0xffc00000)), 0xffc0);
  EXPECT_TRUE(isBF16NaN(toBF16(floatOf(0x7f800001))));
  EXPECT_TRUE(isBF16NaN(toBF16(floatOf(0x7fffffff))));
}

TEST(SafetensorsConversionTest, BF16ToF32) {
  EXPECT_EQ(fromBF16(0x3f80), 1.0f);
  EXPECT_EQ(fromBF16(0xc020), -2.5f);
  EXPECT_EQ(bitsOf(fromBF16(0x0001)), 0x00010000u);
  EXPECT_EQ(bitsOf(fromBF16(0x8000)), 0x80000000u);
  EXPECT_EQ(fromBF16(0x7f80), std::numeric_limits<float>::infinity());
  EXPECT_EQ(fromBF16(0xff80), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(fromBF16(0x7fc1)));
  EXPECT_TRUE(std::isnan(fromBF16(0x7f81)));
}

TEST(SafetensorsConversionTest, EveryBF16RoundTrips) {
  for (uint32_t bits = 0; bits <= 0xffff; ++bits) {
    uint16_t bf16 = static_cast<uint16_t>(bits);
    float value = fromBF16(bf16);
    if (isBF16NaN(bf16)) {
      ASSERT_TRUE(std::isnan(value)) << std::hex << bits;
      ASSERT_TRUE(isBF16NaN(toBF16(value))) << std::hex << bits;
    } else {
      ASSERT_EQ(toBF16(value), bf16) << std::hex << bits;
    }
  }
}

TEST(SafetensorsConversionTest, ArraysAndF32PassThrough) {
  std::vector<float> values = {1.0f, -2.5f, 65504.0f, 0.0f};
  std::vector<uint16_t> halves(values.size());
  convertFromF32(DType::F16, values.data(), halves.data(), values.size());
  EXPECT_EQ(halves, (std::vector<uint16_t>{0x3c00, 0xc100, 0x7bff, 0x0000}));
  std::vector<float> back(values.size());
  convertToF32(DType::F16, halves.data(), back.data(), back.size());
  EXPECT_EQ(back, values);

  std::vector<float> copy(values.size());
  convertFromF32(DType::F32, values.data(), copy.data(), copy.size());
  EXPECT_EQ(copy, values);
  std::fill(copy.begin(), copy.end(), 0.0f);
  convertToF32(DType::F32, values.data(), copy.data(), copy.size());
  EXPECT_EQ(copy, values);
}

//===----------------------------------------------------------------------===//
// Sharded files and directories
//===----------------------------------------------------------------------===//

/// Two shards and their index in one folder.
class SafetensorsShardTest : public SafetensorsTest {
protected:
  void writeShards() {
    writeF32(path(shard1), {{"embed", {1.0f, 2.0f}}, {"layers.0.w", {3.0f}}},
             {{"format", "pt"}, {"shard", "1"}});
    writeF32(path(shard2), {{"lm_head", {4.0f, 5.0f, 6.0f}}},
             {{"format", "pt"}, {"shard", "2"}});
  }

  std::string shard1 = "model-00001-of-00002.safetensors";
  std::string shard2 = "model-00002-of-00002.safetensors";
  std::string index = "model.safetensors.index.json";
};

TEST_F(SafetensorsShardTest, OpensIndexAndDirectory) {
  writeShards();
  writeBytes(path(index), R"({"metadata": {"total_size": 24},
    "weight_map": {"embed": ")" +
                              shard1 + R"(", "layers.0.w": ")" + shard1 +
                              R"(", "lm_head": ")" + shard2 + R"("}})");

  for (const std::string &input : {path(index), dir, dir + "/"}) {
    std::unique_ptr<WeightFileSet> set;
    Status status = WeightFileSet::open(input, set);
    ASSERT_TRUE(status.isOk()) << input << ": " << status.message();
    std::vector<std::string> names;
    for (const TensorInfo &info : set->tensors())
      names.push_back(info.name);
    EXPECT_EQ(names,
              (std::vector<std::string>{"embed", "layers.0.w", "lm_head"}));
    EXPECT_EQ(set->find("embed")->file, path(shard1));
    EXPECT_EQ(set->find("layers.0.w")->file, path(shard1));
    EXPECT_EQ(set->find("lm_head")->file, path(shard2));
    const float *head = static_cast<const float *>(set->find("lm_head")->data);
    EXPECT_EQ(head[0], 4.0f);
    EXPECT_EQ(head[2], 6.0f);
    EXPECT_EQ(set->metadata().at("shard"), "1");
  }
}

TEST_F(SafetensorsShardTest, ShardOutsideFolder) {
  writeShards();
  for (const std::string &shard :
       {std::string("../") + shard1, std::string("sub/../../x.safetensors"),
        std::string("/etc/passwd"), path(shard1)}) {
    writeBytes(path(index), R"({"weight_map": {"embed": ")" + shard + R"("}})");
    expectOpenError(
        dir, {path(index), "tensor 'embed'", "outside the index's folder"});
  }
}

TEST_F(SafetensorsShardTest, RepeatedTensorInIndex) {
  writeShards();
  writeBytes(path(index), R"({"weight_map": {"embed": ")" + shard1 +
                              R"(", "embed": ")" + shard2 + R"("}})");
  expectOpenError(dir, {path(index), "key 'embed' appears twice"});
}

TEST_F(SafetensorsShardTest, IndexNotJson) {
  writeShards();
  writeBytes(path(index), R"({"weight_map": {"embed": )");
  expectOpenError(path(index), {path(index), "not valid JSON"});
}

TEST_F(SafetensorsShardTest, IndexNotObject) {
  writeBytes(path(index), "[]");
  expectOpenError(path(index), {path(index), "not a JSON object"});
}

TEST_F(SafetensorsShardTest, IndexMissingWeightMap) {
  writeShards();
  writeBytes(path(index), R"({"metadata": {}})");
  expectOpenError(path(index), {path(index), "missing \"weight_map\""});
}

TEST_F(SafetensorsShardTest, WeightMapNotObject) {
  writeBytes(path(index), R"({"weight_map": ["a"]})");
  expectOpenError(path(index), {path(index), "\"weight_map\" must be"});
}

TEST_F(SafetensorsShardTest, WeightMapEntryNotString) {
  writeBytes(path(index), R"({"weight_map": {"embed": 1}})");
  expectOpenError(path(index), {path(index), "tensor 'embed'"});
}

TEST_F(SafetensorsShardTest, ShardMissing) {
  writeBytes(
      path(index),
      R"({"weight_map": {"embed": "model-00009-of-00009.safetensors"}})");
  expectOpenError(path(index),
                  {path(index), "shard 'model-00009-of-00009.safetensors'",
                   "No such file"});
}

TEST_F(SafetensorsShardTest, ShardMalformed) {
  writeRaw(path(shard1), "{\"embed\": ", 0);
  writeBytes(path(index), R"({"weight_map": {"embed": ")" + shard1 + R"("}})");
  expectOpenError(path(index),
                  {path(index), "shard '" + shard1 + "'", "not valid JSON"});
}

TEST_F(SafetensorsShardTest, TensorAbsentFromShard) {
  writeShards();
  writeBytes(path(index), R"({"weight_map": {"embed": ")" + shard1 +
                              R"(", "ghost": ")" + shard2 + R"("}})");
  expectOpenError(path(index),
                  {path(index), "tensor 'ghost'", "shard '" + shard2 + "'",
                   "does not contain it"});
}

TEST_F(SafetensorsShardTest, TensorMappedToWrongShard) {
  writeShards();
  writeBytes(path(index), R"({"weight_map": {"embed": ")" + shard2 +
                              R"(", "lm_head": ")" + shard1 + R"("}})");
  expectOpenError(path(index), {path(index), "does not contain it"});
}

TEST_F(SafetensorsShardTest, SameTensorInTwoShards) {
  writeF32(path(shard1), {{"embed", {1.0f}}});
  writeF32(path(shard2), {{"embed", {2.0f}}, {"lm_head", {3.0f}}});
  writeBytes(path(index), R"({"weight_map": {"embed": ")" + shard1 +
                              R"(", "lm_head": ")" + shard2 + R"("}})");
  expectOpenError(path(index),
                  {path(index), "tensor 'embed'", shard1, shard2, "both"});
}

TEST_F(SafetensorsTest, OpensDirectoryWithSingleFile) {
  std::string sub = path("model");
  ASSERT_EQ(::mkdir(sub.c_str(), 0755), 0);
  writeF32(sub + "/model.safetensors", {{"w", {1.0f, 2.0f}}});
  std::unique_ptr<WeightFileSet> set;
  Status status = WeightFileSet::open(sub, set);
  ASSERT_TRUE(status.isOk()) << status.message();
  ASSERT_NE(set->find("w"), nullptr);
  EXPECT_EQ(set->find("w")->file, sub + "/model.safetensors");
  EXPECT_EQ(set->find("w")->shape, std::vector<int64_t>{2});
}

TEST_F(SafetensorsTest, DirectoryWithoutWeights) {
  expectOpenError(dir, {dir, "neither model.safetensors nor "
                             "model.safetensors.index.json"});
}

TEST_F(SafetensorsTest, MissingPath) {
  expectOpenError(path("absent.safetensors"),
                  {path("absent.safetensors"), "No such file"});
}

TEST_F(SafetensorsTest, NotARegularFile) {
  expectOpenError("/dev/null", {"/dev/null", "not a regular file"});
  expectOpenError("/dev/zero", {"/dev/zero", "not a regular file"});
}

TEST_F(SafetensorsTest, FifoIsRefusedWithoutBlocking) {
  // Opening a FIFO for reading would wait for a writer forever.
  std::string fifo = path("model.safetensors");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  expectOpenError(fifo, {fifo, "not a regular file"});
  expectOpenError(dir, {fifo, "not a regular file"});
}

TEST_F(SafetensorsTest, WriterRefusesNonRegularTargets) {
  float value = 1.0f;
  std::vector<TensorToWrite> tensors{{"w", DType::F32, {1}, &value}};
  std::string fifo = path("fifo.safetensors");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string target = path("target.safetensors");
  writeBytes(target, "keep");
  std::string link = path("link.safetensors");
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  for (const auto &[where, needle] :
       std::vector<std::pair<std::string, std::string>>{
           {fifo, "is a FIFO; refusing to replace it"},
           {link, "is a symbolic link; refusing to replace it"},
           {"/dev/full", "is a character device; refusing to replace it"},
           {"", "the output path is empty"}}) {
    Status status = writeSafetensors(where, tensors);
    EXPECT_FALSE(status.isOk()) << where;
    EXPECT_NE(status.message().find(needle), std::string::npos)
        << status.message();
  }
  struct stat st;
  ASSERT_EQ(::lstat(link.c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(readBytes(target), "keep");
}

//===----------------------------------------------------------------------===//
// Malformed single files
//===----------------------------------------------------------------------===//

TEST_F(SafetensorsTest, EmptyFile) {
  std::string file = path("model.safetensors");
  writeBytes(file, "");
  expectOpenError(file, {file, "0 bytes, shorter than the 8-byte"});
}

TEST_F(SafetensorsTest, FileShorterThanEightBytes) {
  std::string file = path("model.safetensors");
  writeBytes(file, std::string("\x02\0\0", 3));
  expectOpenError(file, {file, "3 bytes, shorter than the 8-byte"});
}

TEST_F(SafetensorsTest, HeaderLengthExceedsFile) {
  expectMalformed("{}", 4, {"header length 1000 exceeds the file", "only 6"},
                  1000);
}

TEST_F(SafetensorsTest, HugeHeaderLength) {
  expectMalformed("{}", 0, {"header length 9223372036854775807 exceeds"},
                  std::numeric_limits<int64_t>::max());
}

TEST_F(SafetensorsTest, HeaderNotJson) {
  expectMalformed(R"({"w": {"dtype": "F32",)", 0, {"header: not valid JSON"});
}

TEST_F(SafetensorsTest, HeaderCutByLength) {
  // A valid header whose stated length stops short of its end.
  std::string header =
      R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  expectMalformed(header, 4, {"not valid JSON"},
                  static_cast<int64_t>(header.size() - 1));
}

TEST_F(SafetensorsTest, HeaderNotObject) {
  expectMalformed("[1, 2]", 0, {"header is not a JSON object"});
}

TEST_F(SafetensorsTest, DeeplyNestedHeader) {
  // Parsing, destroying and reporting a value nested a million levels deep
  // must not recurse on the stack; no header nests deeper than 64 levels.
  std::string nested =
      "{\"w\": " + std::string(1000000, '[') + std::string(1000000, ']') + "}";
  expectMalformed(nested, 0, {"header: nested deeper than 64 levels"});
  std::string nestedShape =
      R"({"w": {"dtype": "F32", "shape": [1, )" + std::string(1000000, '[') +
      std::string(1000000, ']') + R"(], "data_offsets": [0, 4]}})";
  expectMalformed(nestedShape, 4, {"header: nested deeper than 64 levels"});
  expectMalformed(std::string(1000000, '['), 0,
                  {"header: nested deeper than 64 levels"});
  // Shallow enough, the entry's own checks speak.
  expectMalformed(R"({"w": [[[[[1]]]]]})", 0,
                  {"tensor 'w'", "must be a JSON object, got [[[[...]]]]"});
}

TEST_F(SafetensorsTest, RepeatedTensorName) {
  expectMalformed(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                  R"("w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                  8, {"header: key 'w' appears twice in one object"});
}

TEST_F(SafetensorsTest, EntryNotObject) {
  expectMalformed(R"({"w": [0, 4]})", 4,
                  {"tensor 'w'", "must be a JSON object"});
}

TEST_F(SafetensorsTest, MissingDtype) {
  expectMalformed(R"({"w": {"shape": [1], "data_offsets": [0, 4]}})", 4,
                  {"tensor 'w'", "missing \"dtype\""});
}

TEST_F(SafetensorsTest, DtypeNotString) {
  expectMalformed(
      R"({"w": {"dtype": 7, "shape": [1], "data_offsets": [0, 4]}})", 4,
      {"tensor 'w'", "\"dtype\" must be a string"});
}

TEST_F(SafetensorsTest, UnsupportedDtypes) {
  for (const char *dtype : {"I64", "BOOL", "I16", "U16", "I32", "U32", "U64",
                            "F64", "F8_E4M3", "F8_E5M2"}) {
    std::string header = std::string(R"({"w": {"dtype": ")") + dtype +
                         R"(", "shape": [1], "data_offsets": [0, 8]}})";
    expectMalformed(
        header, 8,
        {"tensor 'w'", std::string("unsupported dtype '") + dtype + "'"});
  }
}

TEST_F(SafetensorsTest, UnknownDtypes) {
  for (const char *dtype : {"Q4_K", "f32", "", "FLOAT"}) {
    std::string header = std::string(R"({"w": {"dtype": ")") + dtype +
                         R"(", "shape": [1], "data_offsets": [0, 4]}})";
    std::string message = expectMalformed(
        header, 4,
        {"tensor 'w'", std::string("unknown dtype '") + dtype + "'"});
    EXPECT_EQ(message.find("unsupported"), std::string::npos);
  }
}

TEST_F(SafetensorsTest, MissingShape) {
  expectMalformed(R"({"w": {"dtype": "F32", "data_offsets": [0, 4]}})", 4,
                  {"tensor 'w'", "missing \"shape\""});
}

TEST_F(SafetensorsTest, ShapeNotArray) {
  expectMalformed(
      R"({"w": {"dtype": "F32", "shape": "2x2", "data_offsets": [0, 16]}})", 16,
      {"tensor 'w'", "\"shape\" must be an array of non-negative integers"});
}

TEST_F(SafetensorsTest, ShapeNegative) {
  expectMalformed(
      R"({"w": {"dtype": "F32", "shape": [-1, 4], "data_offsets": [0, 16]}})",
      16, {"tensor 'w'", "non-negative integers", "[-1,4]"});
}

TEST_F(SafetensorsTest, ShapeNotIntegers) {
  expectMalformed(
      R"({"w": {"dtype": "F32", "shape": [2.0, 2], "data_offsets": [0, 16]}})",
      16, {"tensor 'w'", "non-negative integers"});
  expectMalformed(
      R"({"w": {"dtype": "F32", "shape": ["2"], "data_offsets": [0, 8]}})", 8,
      {"tensor 'w'", "non-negative integers"});
}

TEST_F(SafetensorsTest, ShapeTooLarge) {
  expectMalformed(R"({"w": {"dtype": "F32", "shape": [4294967296, )"
                  R"(4294967296, 4], "data_offsets": [0, 16]}})",
                  16, {"tensor 'w'", "too many elements"});
  expectMalformed(R"({"w": {"dtype": "F32", "shape": [9223372036854775808],)"
                  R"( "data_offsets": [0, 16]}})",
                  16, {"tensor 'w'", "too large"});
  // Fits int64 as elements but not as bytes.
  expectMalformed(R"({"w": {"dtype": "F32", "shape": [4611686018427387904],)"
                  R"( "data_offsets": [0, 16]}})",
                  16, {"tensor 'w'", "too many elements"});
}

TEST_F(SafetensorsTest, MissingDataOffsets) {
  expectMalformed(R"({"w": {"dtype": "F32", "shape": [1]}})", 4,
                  {"tensor 'w'", "missing \"data_offsets\""});
}

TEST_F(SafetensorsTest, DataOffsetsNotTwoIntegers) {
  for (const char *offsets :
       {"[0]", "[0, 4, 8]", "[-4, 0]", "[0, 4.0]", "\"0-4\"", "[0, null]"}) {
    std::string header =
        std::string(
            R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": )") +
        offsets + "}}";
    expectMalformed(header, 8,
                    {"tensor 'w'", "\"data_offsets\" must be two non-negative "
                                   "integers"});
  }
}

TEST_F(SafetensorsTest, DataOffsetsBeginAfterEnd) {
  expectMalformed(
      R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}})", 8,
      {"tensor 'w'", "data_offsets [8, 4] must have begin <= end"});
}

TEST_F(SafetensorsTest, DataOffsetsBeyondData) {
  expectMalformed(
      R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [4, 20]}})", 16,
      {"tensor 'w'", "data_offsets [4, 20] end beyond the data section of 16 "
                     "bytes"});
  expectMalformed(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": )"
                  R"([18446744073709551612, 18446744073709551615]}})",
                  16, {"tensor 'w'", "end beyond the data section"});
}

TEST_F(SafetensorsTest, ByteSizeMismatch) {
  std::string message = expectMalformed(
      R"({"lm_head.weight": {"dtype": "F32", "shape": [10, 4], )"
      R"("data_offsets": [0, 150]}})",
      160, {});
  EXPECT_EQ(message, path("model.safetensors") +
                         ": tensor 'lm_head.weight': shape [10, 4] x F32 "
                         "needs 160 bytes but data_offsets span 150");
  expectMalformed(
      R"({"h": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 8]}})", 8,
      {"tensor 'h'", "shape [3] x BF16 needs 6 bytes but data_offsets span 8"});
  expectMalformed(
      R"({"z": {"dtype": "F16", "shape": [0, 2], "data_offsets": [0, 2]}})", 8,
      {"tensor 'z'", "shape [0, 2] x F16 needs 0 bytes"});
}

TEST_F(SafetensorsTest, OverlappingRanges) {
  expectMalformed(
      R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},)"
      R"( "c": {"dtype": "F32", "shape": [1], "data_offsets": [24, 28]},)"
      R"( "b": {"dtype": "F32", "shape": [4], "data_offsets": [12, 28]}})",
      32, {"'a' [0, 16]", "'b' [12, 28]", "overlap"});
  // A range inside an earlier, longer one.
  expectMalformed(
      R"({"big": {"dtype": "F32", "shape": [8], "data_offsets": [0, 32]},)"
      R"( "mid": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]},)"
      R"( "end": {"dtype": "F32", "shape": [1], "data_offsets": [20, 24]}})",
      32, {"'big' [0, 32]", "'mid' [8, 12]", "overlap"});
}

TEST_F(SafetensorsTest, MetadataNotObject) {
  expectMalformed(R"({"__metadata__": "pt"})", 0,
                  {"\"__metadata__\" must be an object of strings"});
}

TEST_F(SafetensorsTest, MetadataValueNotString) {
  expectMalformed(R"({"__metadata__": {"format": "pt", "step": 10}})", 0,
                  {"\"__metadata__\" entry 'step' must be a string"});
}

//===----------------------------------------------------------------------===//
// Writer failures
//===----------------------------------------------------------------------===//

TEST_F(SafetensorsTest, WriterFailsInMissingDirectory) {
  float value = 1.0f;
  std::string file = path("absent/model.safetensors");
  Status status =
      writeSafetensors(file, {{"w", DType::F32, {1}, &value}}, {{"k", "v"}});
  ASSERT_FALSE(status.isOk());
  EXPECT_NE(status.message().find(file), std::string::npos) << status.message();
  EXPECT_FALSE(std::filesystem::exists(file));
  EXPECT_TRUE(listDir(dir).empty());
}

TEST_F(SafetensorsTest, WriterRefusesDirectoryTargetAndLeavesNothing) {
  std::string target = path("model.safetensors");
  ASSERT_EQ(::mkdir(target.c_str(), 0755), 0);
  float value = 1.0f;
  Status status = writeSafetensors(target, {{"w", DType::F32, {1}, &value}});
  ASSERT_FALSE(status.isOk());
  EXPECT_NE(status.message().find("is a directory; refusing to replace it"),
            std::string::npos)
      << status.message();
  EXPECT_EQ(listDir(dir), std::vector<std::string>{"model.safetensors"});
  EXPECT_TRUE(std::filesystem::is_directory(target));
}

TEST_F(SafetensorsTest, WriterRejectsInvalidTensors) {
  float values[4] = {1.0f, 2.0f, 3.0f, 4.0f};
  std::string file = path("model.safetensors");
  struct Case {
    std::vector<TensorToWrite> tensors;
    std::string needle;
  };
  std::vector<Case> cases = {
      {{{"w", DType::F32, {1}, values}, {"w", DType::F32, {1}, values}},
       "tensor 'w': listed twice"},
      {{{"w", DType::F32, {-1, 4}, values}}, "negative extent"},
      {{{"w", DType::F32, {4}, nullptr}}, "tensor 'w': no data for 16 bytes"},
      {{{"__metadata__", DType::F32, {1}, values}}, "reserved"},
      {{{"bad\xff", DType::F32, {1}, values}}, "not valid UTF-8"},
      {{{"w", DType::F32, {int64_t(1) << 40, int64_t(1) << 40}, values}},
       "too many elements"},
  };
  for (const Case &c : cases) {
    Status status = writeSafetensors(file, c.tensors);
    ASSERT_FALSE(status.isOk()) << c.needle;
    EXPECT_NE(status.message().find(c.needle), std::string::npos)
        << status.message();
    EXPECT_NE(status.message().find(file), std::string::npos)
        << status.message();
    EXPECT_TRUE(listDir(dir).empty()) << c.needle;
  }
  Status status = writeSafetensors(file, {{"w", DType::F32, {1}, values}},
                                   {{"key", "bad\xc3"}});
  EXPECT_FALSE(status.isOk());
  EXPECT_NE(status.message().find("metadata entry 'key'"), std::string::npos)
      << status.message();
  EXPECT_TRUE(listDir(dir).empty());
}

} // namespace
