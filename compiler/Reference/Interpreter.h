//===- Interpreter.h - Reference interpreter of coil IR ---------*- C++ -*-===//
//
// Executes coil IR directly with plain, obviously-correct loops: values are
// held as doubles, every reduction accumulates in double, and each op's
// result is rounded to its element type (f32, f16, bf16) as the IR says. It
// is the numerics oracle every compiled path is tested against, not a fast
// path.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_COMPILER_REFERENCE_INTERPRETER_H
#define COIL_COMPILER_REFERENCE_INTERPRETER_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace mlir::coil::reference {

/// A dense row-major tensor of the interpreter. Integer tensors (token ids,
/// positions) hold exact integral values.
struct Tensor {
  std::vector<int64_t> shape;
  std::vector<double> data;

  Tensor() = default;
  Tensor(std::vector<int64_t> shape, std::vector<double> data)
      : shape(std::move(shape)), data(std::move(data)) {}
  /// A tensor of `shape` filled with `value`.
  static Tensor filled(std::vector<int64_t> shape, double value = 0.0);

  int64_t numElements() const;
  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
};

/// Supplies the value of the parameter `name`, whose declared type is `type`.
/// It must fail (with a message naming the tensor) when the stored tensor's
/// shape or type does not match.
using WeightProvider = std::function<llvm::Expected<Tensor>(
    llvm::StringRef name, RankedTensorType type)>;

/// A matrix stored already quantized: its integers (one per element, the
/// matrix's shape) and its scales ([rows] for int8, [rows, cols / 32] for
/// int4).
struct QuantizedTensor {
  Tensor values, scales;
};

/// Supplies the stored quantization of the parameter `name`, declared as an
/// int8 or int4 matrix of `type`, or std::nullopt when it is stored as
/// floats (then WeightProvider's values are quantized, as the runtime
/// quantizes them). It must fail when the stored format is not `type`'s.
using QuantizedWeightProvider =
    std::function<llvm::Expected<std::optional<QuantizedTensor>>(
        llvm::StringRef name, RankedTensorType type)>;

/// Runs the functions of one module. Not thread-safe; the module must outlive
/// the interpreter. Parameters are fetched once and kept.
class Interpreter {
public:
  /// Without `quantized`, every int8 and int4 matrix is quantized from the
  /// floats `weights` supplies.
  Interpreter(ModuleOp module, WeightProvider weights,
              QuantizedWeightProvider quantized = nullptr);
  ~Interpreter();

  /// Fetches and checks every `coil.weight` of the module. `run` calls it on
  /// first use; calling it first reports weight problems before any work.
  llvm::Error bindWeights();

  /// Runs `function` with one tensor per argument; returns its results. The
  /// inputs must match the argument types (rank and static extents).
  llvm::Expected<std::vector<Tensor>> run(llvm::StringRef function,
                                          std::vector<Tensor> inputs);

private:
  class Frame;
  ModuleOp module;
  WeightProvider weights;
  QuantizedWeightProvider quantized;
  llvm::StringMap<std::shared_ptr<const Tensor>> boundWeights;
  /// The per-row scales of the int8 matrices, by the matrix's name.
  llvm::StringMap<std::shared_ptr<const Tensor>> boundScales;
  bool weightsBound = false;
};

} // namespace mlir::coil::reference

#endif // COIL_COMPILER_REFERENCE_INTERPRETER_H
