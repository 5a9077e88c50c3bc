//===- Metadata.h - The compiled model's JSON description -------*- C++ -*-===//
//
// The metadata a compiled model exports as `coil_model_metadata` (docs/abi.md):
// its weights, states, kernels and entry points. parseMetadata validates the
// JSON completely (types, known dtypes, well-formed shapes, every index in
// range, the buffers each entry needs) so that running a model never meets an
// inconsistency; only kernel symbols are left for the loader to resolve.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_RUNTIME_METADATA_H
#define COIL_RUNTIME_METADATA_H

#include "coil/abi.h"
#include "runtime/src/Status.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace coil::runtime {

/// The coefficients of a step's cost (StepSpec::flops, StepSpec::bytes).
inline constexpr size_t kCostTerms = 5;

/// The element types of the ABI.
enum class ElementType { F32, F16, BF16, I32, I8, I4 };

/// The ABI spelling of `type`: "f32", "f16", "bf16", "i32", "i8" or "i4".
const char *elementTypeName(ElementType type);

/// The size in bytes of one element of `type`.
size_t elementSize(ElementType type);

/// One extent of a shape: a literal, or a symbol resolved per call.
struct Dim {
  enum Kind {
    /// `value` itself.
    Literal,
    /// "B": the batch of the call.
    Batch,
    /// "T": the tokens per sequence of the call.
    Tokens,
    /// "S": the session's max_context.
    Context,
  };
  Kind kind = Literal;
  /// The extent when `kind` is Literal.
  int64_t value = 0;

  /// The extent for a call with `batch` sequences of `tokens` tokens in a
  /// session of `context` max_context.
  int64_t resolve(int64_t batch, int64_t tokens, int64_t context) const {
    switch (kind) {
    case Batch:
      return batch;
    case Tokens:
      return tokens;
    case Context:
      return context;
    case Literal:
      break;
    }
    return value;
  }
};

/// A shape, outermost extent first.
using Shape = std::vector<Dim>;

/// `["B", "T", 5]`.
std::string formatShape(const Shape &shape);

/// A parameter of the model, bound by name from the weight files.
struct WeightSpec {
  std::string name;
  ElementType type = ElementType::F32;
  /// Static extents, as in the weight files.
  std::vector<int64_t> shape;
  /// 0: used as stored ("rows"). n0 > 0: a [N, K] matrix the kernels read
  /// packed in panels of n0 rows ("layout": {"kind": "panels", "n0": n0}).
  int64_t panelWidth = 0;
  /// With panels: the [K] weight every column k is multiplied by before
  /// packing ("scale"), or empty.
  std::string panelScale;
  /// The per-row scales of the int8 quantization of tensor `name` ("part":
  /// "scales"), not the tensor itself.
  bool scalesPart = false;

  /// The extents of the buffer the kernels read: `shape`, or for panels
  /// [ceil(N / n0), K, n0]; int4 holds two elements per byte along the
  /// last extent, so its buffer is of bytes and that extent halved.
  std::vector<int64_t> storageShape() const {
    std::vector<int64_t> extents = shape;
    if (panelWidth)
      extents = {(shape[0] + panelWidth - 1) / panelWidth, shape[1],
                 panelWidth};
    if (type == ElementType::I4 && !extents.empty())
      extents.back() = (extents.back() + 1) / 2;
    return extents;
  }
};

/// The CPU a model was compiled for ("target").
struct TargetSpec {
  std::string cpu;
  std::string isa;
  /// cpuid feature names (abi.h's COIL_ABI_CPU_FEATURES) the code uses.
  std::vector<std::string> features;
};

/// Sequence state that persists across calls. Dimension 0 is "B"; the
/// others are literals or "S".
struct StateSpec {
  std::string name;
  ElementType type = ElementType::F32;
  Shape shape;
};

/// One compiled kernel.
struct KernelSpec {
  std::string name;
  /// The exported function, `void symbol(void **args, int64_t tile,
  /// int64_t tiles, void *sync)` (KernelFn).
  std::string symbol;
  /// How many steps call it (informative); 0 when not given.
  int64_t calls = 0;
};

/// What an entry's buffer holds.
enum class BufferKind {
  Tokens,
  Positions,
  State,
  Weight,
  Temp,
  Logits,
  /// The state `index` after every position of the call, [B, T] followed by
  /// the state's extents after its batch (entry "verify" only).
  History,
};

/// One buffer of an entry. State and weight buffers copy the type and shape
/// of the state or weight they name; a history buffer its state's type.
struct BufferSpec {
  BufferKind kind = BufferKind::Temp;
  /// The state or weight index for those kinds (a history's state); -1
  /// otherwise.
  int64_t index = -1;
  ElementType type = ElementType::F32;
  Shape shape;
};

/// One kernel call of an entry.
struct StepSpec {
  /// The index into Metadata::kernels.
  int64_t kernel = 0;
  /// Buffer indices: the kernel's inputs, then its outputs.
  std::vector<int64_t> args;
  /// The model layer the step belongs to, or -1 ("layer"; default -1).
  int64_t layer = -1;
  /// The cost of one call ("cost"), as coefficients {a, b, c, d, e} of
  /// a + b * N + c * N * A + d * B + e * B * C, where N is batch * tokens
  /// of the call, A the mean over its tokens of the positions each attends
  /// (its own and every earlier one), B its batch and C the mean length of
  /// its sequences after the call (d and e: what is read once per
  /// sequence, such as a state or the KV cache). Zero when not given; d
  /// and e may be left out.
  double flops[kCostTerms] = {0, 0, 0, 0, 0};
  double bytes[kCostTerms] = {0, 0, 0, 0, 0};
  /// Whether the step processes one row per sequence whatever the tokens
  /// of the call ("rows": "sequence", e.g. the LM head of a prefill that
  /// returns the last position's logits): then N is the batch alone.
  bool perSequence = false;
};

/// An entry point ("prefill", "decode").
struct EntrySpec {
  std::vector<BufferSpec> buffers;
  std::vector<StepSpec> steps;
  /// The index of the tokens buffer (there is exactly one).
  int64_t tokensBuffer = -1;
  /// The index of the positions buffer, or -1 when the entry has none.
  int64_t positionsBuffer = -1;
  /// The index of the logits buffer (there is exactly one).
  int64_t logitsBuffer = -1;
};

/// The whole description of a compiled model.
struct Metadata {
  std::string compiler;
  std::string family;
  /// Whether the kernels call the profiling hooks of Kernel.h ("profiled";
  /// default false).
  bool profiled = false;
  int64_t vocabSize = 0;
  /// The longest supported sequence; 0 when unbounded.
  int64_t maxContext = 0;
  TargetSpec target;
  std::vector<WeightSpec> weights;
  std::vector<StateSpec> states;
  std::vector<KernelSpec> kernels;
  /// Every entry by name; "prefill" and "decode" are always present.
  std::map<std::string, EntrySpec, std::less<>> entries;
};

/// The ABI version this runtime reads (abi.h): 3, kernels run on several
/// threads at once and may read weights packed in panels. Any other
/// version is rejected.
inline constexpr int64_t kMetadataVersion = COIL_MODEL_ABI_VERSION;

/// Parses and validates `text`. On failure the status (COIL_BAD_MODEL) names
/// the offending field by its JSON path, e.g.
/// `entries.prefill.steps[2].kernel`.
Status parseMetadata(std::string_view text, Metadata &out);

} // namespace coil::runtime

#endif // COIL_RUNTIME_METADATA_H
