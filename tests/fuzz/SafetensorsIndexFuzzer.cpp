//===- SafetensorsIndexFuzzer.cpp - fuzz-safetensors-index ------*- C++ -*-===//
//
// One input is one `model.safetensors.index.json`, opened from a checkpoint
// folder that holds two valid shards (a.safetensors: "x", b.safetensors: "y")
// and, one level up, a third ("outside.safetensors") that no index may reach.
// Whatever the index says, opening either fails with a message or yields
// tensors that all come from shards inside the folder.
//
//===----------------------------------------------------------------------===//

#include "runtime/src/weights/Safetensors.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include <unistd.h>

using namespace coil::weights;

namespace {

/// A temporary checkpoint folder, created once per process.
struct Checkpoint {
  std::string root;
  std::string folder;
  std::string index;

  Checkpoint() {
    char pattern[] = "/tmp/coil-fuzz-index-XXXXXX";
    if (!::mkdtemp(pattern))
      std::abort();
    root = pattern;
    folder = root + "/checkpoint";
    index = folder + "/model.safetensors.index.json";
    if (std::system(("mkdir -p '" + folder + "'").c_str()) != 0)
      std::abort();
    float one = 1.0f;
    auto write = [&](const std::string &path, const char *name) {
      if (!writeSafetensors(path, {{name, DType::F32, {1}, &one}}))
        std::abort();
    };
    write(folder + "/a.safetensors", "x");
    write(folder + "/b.safetensors", "y");
    write(root + "/outside.safetensors", "outside");
  }
  ~Checkpoint() {
    if (std::system(("rm -rf '" + root + "'").c_str()) != 0)
      std::perror("rm");
  }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static Checkpoint checkpoint;
  {
    std::ofstream out(checkpoint.index, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char *>(data),
              static_cast<std::streamsize>(size));
  }
  std::unique_ptr<WeightFileSet> set;
  Status status = WeightFileSet::open(checkpoint.folder, set);
  if (!status) {
    if (set || status.message().empty())
      std::abort();
    return 0;
  }
  for (const TensorInfo &info : set->tensors())
    if (info.file.rfind(checkpoint.folder + "/", 0) != 0 ||
        info.name == "outside")
      std::abort();
  return 0;
}
