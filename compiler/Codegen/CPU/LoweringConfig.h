//===- LoweringConfig.h - The recorded lowering of an op --------*- C++ -*-===//
//
// Typed views of the attributes --coil-cpu-select-strategy writes and the
// lowerings read: `coil.target` on the module, `coil.lowering_config` on a
// contraction or a scan, `coil.layout` on a packed weight argument.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_COMPILER_CODEGEN_CPU_LOWERINGCONFIG_H
#define COIL_COMPILER_CODEGEN_CPU_LOWERINGCONFIG_H

#include "mlir/IR/Value.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>
#include <string>

namespace mlir {
class Attribute;
class DictionaryAttr;
class MLIRContext;
class Operation;
namespace coil {

/// The module attribute holding the CpuTarget.
inline constexpr llvm::StringLiteral kTargetAttrName = "coil.target";
/// The op attribute holding a ContractionConfig.
inline constexpr llvm::StringLiteral kLoweringConfigAttrName =
    "coil.lowering_config";
/// The argument attribute of a packed weight: {kind = "panels", n0 = N},
/// with `scale = i` when the panels hold the weight times the vector the
/// kernel receives as argument i (a folded rms_norm's weight).
inline constexpr llvm::StringLiteral kLayoutAttrName = "coil.layout";

/// How one linear is lowered (see --coil-cpu-select-strategy).
struct ContractionConfig {
  /// The micro-kernel family: "avx512", "avx2", "x86-64".
  llvm::StringRef isa;
  /// Register tile: rows x output features.
  int64_t mr = 4, nr = 4;
  /// f32 lanes of one vector register.
  int64_t lanes = 4;
  /// Rows per cache block.
  int64_t mc = 64;
  /// Input features per cache block (0 or >= K: one block): kc x nr
  /// weights take half the L1.
  int64_t kc = 0;
  /// Whether the weight is packed in panels of `nr` features.
  bool packed = false;
  /// The element-wise ops applied on the register tile before its one
  /// store (the first `epilogue.size()` of epilogueCandidates), by name.
  llvm::SmallVector<std::string, 2> epilogue;
  /// The op folded into the linear's input: empty, or "rms_norm" when the
  /// linear reads the norm's input, its packed panels hold the weight times
  /// the norm's weight (along K), and the tile scales each row's sums by
  /// the row's 1 / rms before the bias and the epilogue; the normalised
  /// rows are never written.
  llvm::SmallVector<std::string, 1> prologue;

  /// Whether the linear folds the rms_norm that produces its input.
  bool foldsNorm() const {
    return prologue.size() == 1 && prologue.front() == "rms_norm";
  }

  DictionaryAttr toAttr(MLIRContext *context) const;
  /// The config recorded on `op`, if any and well formed.
  static std::optional<ContractionConfig> of(Operation *op);
};

/// How one selective scan is lowered: the states of `channels` channels
/// for one state index share a vector register (see Scan.cpp).
struct ScanConfig {
  /// The ISA class of the target: "avx512", "avx2", "x86-64".
  llvm::StringRef isa;
  /// Channels per vector: the f32 lanes of one register.
  int64_t channels = 4;
  /// Time steps per chunk: the first pass of a chunk keeps its decays
  /// (steps x N vectors) in stack scratch the second pass reads from L1.
  int64_t steps = 1;

  DictionaryAttr toAttr(MLIRContext *context) const;
  /// The config recorded on `op`, if any and well formed.
  static std::optional<ScanConfig> of(Operation *op);
};

/// How one Mamba-2 scan is lowered (see SsdScan.cpp): time in chunks of
/// `steps`, whose dt and decays are computed once per head into stack
/// scratch before each channel runs the chunk, its states in vectors of
/// `lanes` (one register) and the y sums of `lanes` steps added together.
struct SsdScanConfig {
  /// The ISA class of the target: "avx512", "avx2", "x86-64".
  llvm::StringRef isa;
  int64_t steps = 1;
  /// f32 lanes of one vector register.
  int64_t lanes = 4;

  DictionaryAttr toAttr(MLIRContext *context) const;
  /// The config recorded on `op`, if any and well formed.
  static std::optional<SsdScanConfig> of(Operation *op);
};

/// How one attention's prefill is lowered (see Attention.cpp): blocks of
/// `queries` queries of one head (the lanes of one vector) against blocks
/// of `keys` keys, their scores one register tile of `keys` vectors, and the
/// product with the values a register tile of `rows` queries x `columns`
/// head features.
struct AttentionConfig {
  /// The ISA class of the target: "avx512", "avx2", "x86-64".
  llvm::StringRef isa;
  int64_t queries = 4, keys = 8;
  int64_t rows = 4, columns = 8;
  /// f32 lanes of one vector register (the queries of one block).
  int64_t lanes = 4;

  DictionaryAttr toAttr(MLIRContext *context) const;
  /// The config recorded on `op`, if any and well formed.
  static std::optional<AttentionConfig> of(Operation *op);
};

/// How one causal conv is lowered: whether the silu that alone reads its
/// result is applied before the store (the conv's own result is then not
/// written).
struct ConvConfig {
  bool silu = false;

  DictionaryAttr toAttr(MLIRContext *context) const;
  /// The config recorded on `op`, if any and well formed.
  static std::optional<ConvConfig> of(Operation *op);
};

/// The element-wise ops that can run on `linear`'s register tile, in
/// order: each is the only op reading the previous value (the linear's
/// result first; returning it does not count), computes the same shape,
/// and its other operand, if any, exists before the linear runs (a kernel
/// argument, an earlier op's result, or one of `alsoReady`: the last values
/// of earlier linears' epilogues). A `split` of the last dimension may end
/// the chain. Whether the values in between may stay unwritten, and
/// whether the split's pieces fit whole panels, is for the caller to
/// decide.
llvm::SmallVector<Operation *>
epilogueCandidates(Operation *linear, const llvm::DenseSet<Value> &alsoReady);

/// The one op that reads `v` (returning it does not count), or null when
/// none or several do.
Operation *soleReader(Value v);

/// The ops `op`'s lowering config names as its epilogue, in order: the
/// chain of sole readers from its result, as far as their names match.
llvm::SmallVector<Operation *> fusedEpilogueOf(Operation *op);

/// The panel width of a `coil.layout` attribute, or 0 for none/rows.
int64_t panelWidthOf(Attribute layout);
/// The kernel argument whose vector scales the panels along K, if any.
std::optional<unsigned> panelScaleOf(Attribute layout);
/// `{kind = "panels", n0 = n0}`, with `scale = *scale` when given.
DictionaryAttr panelLayout(MLIRContext *context, int64_t n0,
                           std::optional<unsigned> scale = std::nullopt);

/// Whether `norm` (an rms_norm) is folded into the linears reading it: it
/// has readers and every one is a linear whose lowering config folds it.
bool isFoldedIntoLinears(Operation *norm);

} // namespace coil
} // namespace mlir

#endif // COIL_COMPILER_CODEGEN_CPU_LOWERINGCONFIG_H
