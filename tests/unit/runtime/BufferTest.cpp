//===- BufferTest.cpp - The runtime's aligned, zeroed buffers -------------===//

#include "runtime/src/Buffer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>

namespace {

using coil::runtime::Buffer;

bool allZero(const Buffer &buffer) {
  auto *bytes = static_cast<const unsigned char *>(buffer.data());
  return std::all_of(bytes, bytes + buffer.size(),
                     [](unsigned char b) { return b == 0; });
}

TEST(BufferTest, BuffersAreCacheLineAlignedAndZeroed) {
  for (size_t size : {size_t(0), size_t(1), size_t(100), size_t(4096),
                      size_t(3) << 20}) {
    Buffer buffer;
    ASSERT_TRUE(Buffer::allocate(size, "a buffer", buffer).isOk());
    EXPECT_EQ(buffer.size(), size);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(buffer.data()) % Buffer::kAlignment,
              0u);
    EXPECT_TRUE(allZero(buffer));
  }
}

TEST(BufferTest, ImpossibleSizesAreOutOfMemoryErrors) {
  Buffer buffer;
  coil::runtime::Status status =
      Buffer::allocate(SIZE_MAX - 8, "the impossible", buffer);
  ASSERT_FALSE(status.isOk());
  EXPECT_EQ(status.code(), COIL_OUT_OF_MEMORY);
  EXPECT_NE(status.message().find("the impossible"), std::string::npos);
}

} // namespace
