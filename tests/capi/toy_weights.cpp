//===- toy_weights.cpp - Writes the toy model's weights ---------*- C++ -*-===//
//
// Usage: coil-toy-weights OUT.safetensors
//
// Writes the default weights of the toy compiled model (toy_model.h) as f32
// safetensors, for the tests that run the toy model from C and from the
// coil-generate example.
//
//===----------------------------------------------------------------------===//

#include "runtime/src/weights/Safetensors.h"
#include "tests/unit/runtime/fixtures/toy_model.h"

#include <cstdio>
#include <vector>

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: coil-toy-weights OUT.safetensors\n");
    return 2;
  }
  using coil::weights::DType;
  std::vector<float> embed = TOY_EMBED, scale = TOY_SCALE;
  coil::weights::Status status = coil::weights::writeSafetensors(
      argv[1],
      {{"embed.weight", DType::F32, {TOY_VOCAB, TOY_VOCAB}, embed.data()},
       {"head.scale", DType::F32, {TOY_VOCAB}, scale.data()}});
  if (!status) {
    std::fprintf(stderr, "coil-toy-weights: %s\n", status.message().c_str());
    return 1;
  }
  return 0;
}
