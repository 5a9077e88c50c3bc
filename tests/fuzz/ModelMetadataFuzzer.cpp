//===- ModelMetadataFuzzer.cpp - fuzz-model-metadata ------------*- C++ -*-===//
//
// One input is the `coil_model_metadata` JSON of a compiled model, the text
// the runtime validates at load. parseMetadata must accept it or fail with a
// code and a message, and what it accepts must hold the invariants the rest
// of the runtime relies on: every kernel and buffer index in range.
//
//===----------------------------------------------------------------------===//

#include "runtime/src/Metadata.h"

#include <cstdlib>
#include <string_view>

using namespace coil::runtime;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Metadata meta;
  Status status = parseMetadata(
      std::string_view(reinterpret_cast<const char *>(data), size), meta);
  if (!status.isOk()) {
    if (status.code() == COIL_OK || status.message().empty())
      std::abort();
    return 0;
  }
  for (const auto &[name, entry] : meta.entries)
    for (const StepSpec &step : entry.steps) {
      if (static_cast<size_t>(step.kernel) >= meta.kernels.size())
        std::abort();
      for (int64_t arg : step.args)
        if (arg < 0 || static_cast<size_t>(arg) >= entry.buffers.size())
          std::abort();
    }
  return 0;
}
