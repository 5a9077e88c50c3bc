//===- SafetensorsFuzzer.cpp - fuzz-safetensors -----------------*- C++ -*-===//
//
// One input is one whole .safetensors file. Whatever it holds, opening it
// either fails with a message or yields tensors whose every byte lies inside
// the file: each tensor's first and last byte are read, so a range outside
// the mapping faults and a size that disagrees with its shape is caught here.
//
//===----------------------------------------------------------------------===//

#include "runtime/src/weights/Safetensors.h"
#include "tests/fuzz/FuzzFiles.h"

#include <cstdlib>

using namespace coil::weights;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static coil::fuzz::MemoryFile file("fuzz.safetensors");
  file.assign(data, size);
  std::unique_ptr<WeightFileSet> set;
  Status status = WeightFileSet::open(file.name(), set);
  if (!status) {
    if (set || status.message().empty())
      std::abort();
    return 0;
  }
  volatile unsigned char sink = 0;
  for (const TensorInfo &info : set->tensors()) {
    if (info.numBytes !=
        static_cast<size_t>(info.numElements()) * dtypeSize(info.dtype))
      std::abort();
    if (info.numBytes == 0)
      continue;
    const auto *bytes = static_cast<const unsigned char *>(info.data);
    sink = sink + bytes[0] + bytes[info.numBytes - 1];
  }
  return 0;
}
