//===- SessionOptionsV9.cpp - The exported options initialiser --*- C++ -*-===//
//
// coil.h defines coil_session_options_initialize inline since C API 10, so
// each caller fills the struct it was compiled with. Binaries compiled
// against C API 9 or earlier call the exported function instead, with the
// struct of C API 9 (40 bytes, ending at all_logits): this file exports it
// and writes those fields only. It does not include coil.h, whose inline
// definition has the same name.
//
//===----------------------------------------------------------------------===//

#include <cstddef>
#include <cstdint>

namespace {

/// coil_session_options_t as C API 9 declared it.
struct SessionOptionsV9 {
  uint32_t struct_size;
  int64_t max_batch;
  int64_t max_context;
  int32_t threads;
  int32_t reserved0;
  int32_t all_logits;
};
static_assert(sizeof(SessionOptionsV9) == 40, "the C API 9 struct");

} // namespace

extern "C" __attribute__((visibility("default"))) void
coil_session_options_initialize(SessionOptionsV9 *options) {
  if (!options)
    return;
  options->struct_size = sizeof(SessionOptionsV9);
  options->max_batch = 1;
  options->max_context = 2048;
  options->threads = 1;
  options->reserved0 = 0;
  options->all_logits = 0;
}
