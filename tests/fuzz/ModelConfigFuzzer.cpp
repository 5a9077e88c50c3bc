//===- ModelConfigFuzzer.cpp - fuzz-model-config ----------------*- C++ -*-===//
//
// One input is one checkpoint `config.json` of any family (Hugging Face
// Mamba and Llama, state-spaces Mamba). parseModelConfig either refuses it or
// returns a configuration whose weights can be listed at once (every size
// bounded) and which survives a round trip through toConfigJson unchanged.
//
//===----------------------------------------------------------------------===//

#include "models/ModelBuilder.h"
#include "models/ModelConfig.h"

#include <cstdlib>

using namespace mlir::coil::models;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  llvm::Expected<ModelConfig> config = parseModelConfig(text, "config.json");
  if (!config) {
    std::string message = llvm::toString(config.takeError());
    if (message.empty())
      std::abort();
    return 0;
  }
  std::vector<WeightSpec> specs = weightSpecs(*config);
  if (specs.empty())
    std::abort();
  std::string once = toConfigJson(*config);
  llvm::Expected<ModelConfig> again = parseModelConfig(once, "round-trip");
  if (!again) {
    llvm::consumeError(again.takeError());
    std::abort();
  }
  if (toConfigJson(*again) != once)
    std::abort();
  return 0;
}
