/*===- coil/abi.h - The compiled-model ABI, shared by both halves -*- C -*-===*
 *
 * The contract between a model compiled by coilc and the runtime that loads
 * it (docs/abi.md), written once: the compiler's ABI passes and the runtime
 * both include this header. Plain C, no dependencies.
 *
 *===----------------------------------------------------------------------===*/

#ifndef COIL_ABI_H_
#define COIL_ABI_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The metadata version this header describes ("version"). Version 3 adds
 * weight layouts ("layout") and the target a model was compiled for
 * ("target"); version 4 the content checksum; version 5 the entry
 * "verify" and its "history" buffers; version 6 panels scaled along K
 * ("scale"); version 7 int8 and int4 weights ("i8", "i4" and "part":
 * "scales"). */
#define COIL_MODEL_ABI_VERSION 7

/* The exported symbols: the metadata string and one function per kernel,
 * named COIL_KERNEL_SYMBOL_PREFIX + the kernel's name. */
#define COIL_MODEL_METADATA_SYMBOL "coil_model_metadata"
#define COIL_KERNEL_SYMBOL_PREFIX "coil_kernel_"

/* The content checksum: an 8-byte little-endian value, exported as
 * COIL_MODEL_CHECKSUM_SYMBOL and alone in the ELF section
 * COIL_MODEL_CHECKSUM_SECTION, equal to coil_abi_checksum over the whole
 * file with those 8 bytes read as zero. coilc writes it after linking; the
 * runtime checks it before dlopen, so a damaged file is refused instead of
 * run. It detects accidents, not forgeries: a library is code, trusted as
 * such. */
#define COIL_MODEL_CHECKSUM_SYMBOL "coil_model_checksum"
#define COIL_MODEL_CHECKSUM_SECTION ".coil_checksum"
#define COIL_MODEL_CHECKSUM_SEED 14695981039346656037ull

/* FNV-1a 64 over `size` bytes, continuing from `hash` (start from
 * COIL_MODEL_CHECKSUM_SEED). The runtime also fingerprints models and saved
 * states with it. */
static inline uint64_t coil_abi_checksum(uint64_t hash, const void *data,
                                         uint64_t size) {
  const unsigned char *bytes = (const unsigned char *)data;
  for (uint64_t i = 0; i < size; ++i) {
    hash ^= bytes[i];
    hash *= 1099511628211ull;
  }
  return hash;
}

/* A kernel: args[i] points to the memref descriptor of argument i (inputs,
 * then outputs); every tile in [0, tiles) calls it with the same arguments
 * and sync. */
typedef void (*coil_kernel_fn)(void **args, int64_t tile, int64_t tiles,
                               void *sync);

/* The head of the object kernels receive as `sync`, slot by slot. wait(sync)
 * returns once every tile of the call has called it as often as this one;
 * enter/exit bracket one tile's run of kernel `kernel` in profiled models. */
struct coil_kernel_sync {
  void (*wait)(void *sync);
  void (*enter)(void *sync, int64_t tile, int64_t kernel);
  void (*exit)(void *sync, int64_t tile, int64_t kernel);
};
#define COIL_SYNC_SLOT_WAIT 0
#define COIL_SYNC_SLOT_ENTER 1
#define COIL_SYNC_SLOT_EXIT 2

/* The metadata's keys (docs/abi.md), and the values with a fixed
 * spelling. */
#define COIL_FORMAT_NAME "coil-model"
#define COIL_KEY_FORMAT "format"
#define COIL_KEY_VERSION "version"
#define COIL_KEY_COMPILER "compiler"
#define COIL_KEY_PROFILED "profiled"
#define COIL_KEY_FAMILY "family"
#define COIL_KEY_VOCAB_SIZE "vocab_size"
#define COIL_KEY_MAX_CONTEXT "max_context"
#define COIL_KEY_TARGET "target"
#define COIL_KEY_CPU "cpu"
#define COIL_KEY_ISA "isa"
#define COIL_KEY_FEATURES "features"
#define COIL_KEY_WEIGHTS "weights"
#define COIL_KEY_STATES "states"
#define COIL_KEY_KERNELS "kernels"
#define COIL_KEY_ENTRIES "entries"
#define COIL_KEY_NAME "name"
#define COIL_KEY_DTYPE "dtype"
#define COIL_KEY_SHAPE "shape"
#define COIL_KEY_LAYOUT "layout"
#define COIL_KEY_KIND "kind"
#define COIL_KEY_N0 "n0"
#define COIL_KEY_SCALE "scale"
#define COIL_KEY_PART "part"
#define COIL_KEY_SYMBOL "symbol"
#define COIL_KEY_OPS "ops"
#define COIL_KEY_CALLS "calls"
#define COIL_KEY_BUFFERS "buffers"
#define COIL_KEY_STEPS "steps"
#define COIL_KEY_KERNEL "kernel"
#define COIL_KEY_ARGS "args"
#define COIL_KEY_LAYER "layer"
#define COIL_KEY_COST "cost"
#define COIL_KEY_FLOPS "flops"
#define COIL_KEY_BYTES "bytes"
#define COIL_KEY_ROWS "rows"
#define COIL_KEY_INDEX "index"
#define COIL_BUFFER_TOKENS "tokens"
#define COIL_BUFFER_POSITIONS "positions"
#define COIL_BUFFER_STATE "state"
#define COIL_BUFFER_WEIGHT "weight"
#define COIL_BUFFER_TEMP "temp"
#define COIL_BUFFER_LOGITS "logits"
#define COIL_BUFFER_HISTORY "history"
#define COIL_ROWS_TOKEN "token"
#define COIL_ROWS_SEQUENCE "sequence"

/* The entry points ("entries": {...}). Every model has "prefill" (the
 * logits of each sequence's last position, [B, 1, V]) and "decode" (those
 * of one new token per sequence, [B, 1, V]); "prefill_all" returns those
 * of every position, [B, T, V], and "verify" is prefill_all that also
 * keeps every position's recurrent states. */
#define COIL_ENTRY_PREFILL "prefill"
#define COIL_ENTRY_PREFILL_ALL "prefill_all"
#define COIL_ENTRY_DECODE "decode"
#define COIL_ENTRY_VERIFY "verify"

/* Weight layouts ("layout": {"kind": ...}). "rows": the tensor as stored,
 * row-major (the default when "layout" is absent). "panels" with "n0": a
 * [N, K] matrix as ceil(N / n0) panels of [K, n0], panel p holding rows
 * p*n0 .. p*n0 + n0 - 1 transposed, zero past N; the kernel's descriptor
 * has shape [ceil(N / n0), K, n0]. With "scale" naming a [K] weight, every
 * column k of the matrix is first multiplied by scale[k] (an rms_norm's
 * weight folded into the linear that reads it). */
#define COIL_LAYOUT_ROWS "rows"
#define COIL_LAYOUT_PANELS "panels"

/* Int8 weights (version 7): a weight of dtype "i8" is the symmetric int8
 * quantization of the named float tensor, one scale per row (scale = max
 * |row| / 127, q = row / scale rounded to nearest even), and the entry with
 * "part": "scales" ([rows], f32) is those scales. The runtime quantizes
 * the stored tensor with coil::weights::quantizeRowsInt8. An "i4" weight
 * is quantized in groups of 32 along K (quantizeGroupsInt4), its scales
 * [rows, K / 32], and stored two per byte along the last extent of its
 * storage (docs/abi.md has the nibble order); a linear reads its scales in
 * panels of the same n0. */
#define COIL_PART_SCALES "scales"

/* The CPU features a model may require ("target": {"features": [...]}),
 * by their cpuid names as GCC and Clang spell them in
 * __builtin_cpu_supports. X(name) once per feature. */
#define COIL_ABI_CPU_FEATURES(X)                                               \
  X("sse4.2")                                                                  \
  X("cx16")                                                                    \
  X("lzcnt")                                                                   \
  X("movbe")                                                                   \
  X("adx")                                                                     \
  X("prfchw")                                                                  \
  X("popcnt")                                                                  \
  X("avx")                                                                     \
  X("avx2")                                                                    \
  X("fma")                                                                     \
  X("f16c")                                                                    \
  X("bmi")                                                                     \
  X("bmi2")                                                                    \
  X("avx512f")                                                                 \
  X("avx512cd")                                                                \
  X("avx512dq")                                                                \
  X("avx512bw")                                                                \
  X("avx512vl")                                                                \
  X("avx512ifma")                                                              \
  X("avx512vbmi")                                                              \
  X("avx512vbmi2")                                                             \
  X("avx512vnni")                                                              \
  X("avx512bitalg")                                                            \
  X("avx512vpopcntdq")                                                         \
  X("avx512bf16")                                                              \
  X("avx512fp16")                                                              \
  X("avxvnni")                                                                 \
  X("gfni")                                                                    \
  X("vaes")                                                                    \
  X("vpclmulqdq")

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* COIL_ABI_H_ */
