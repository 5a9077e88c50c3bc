//===- ReferenceSession.cpp - Prefill and decode on the interpreter -*- C++
//-*-===//
//
// State shapes come from the entry point's signature: dimension 0 is the
// batch, any other dynamic dimension is the context capacity.
//
//===----------------------------------------------------------------------===//

#include "compiler/Reference/ReferenceSession.h"

#include "runtime/include/coil/abi.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace mlir::coil::reference;
using llvm::Error;
using llvm::Expected;

static Error sessionError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

ReferenceSession::ReferenceSession(ModuleOp module, WeightProvider weights,
                                   int64_t batch, int64_t capacity,
                                   QuantizedWeightProvider quantized)
    : module(module),
      interpreter(module, std::move(weights), std::move(quantized)),
      batchSize(batch), capacity(capacity) {}

Expected<std::unique_ptr<ReferenceSession>>
ReferenceSession::create(ModuleOp module, WeightProvider weights, int64_t batch,
                         int64_t capacity, QuantizedWeightProvider quantized) {
  if (batch < 1 || capacity < 1)
    return sessionError(
        llvm::formatv("batch ({0}) and context capacity ({1}) must be >= 1",
                      batch, capacity));
  auto prefill = module.lookupSymbol<func::FuncOp>(COIL_ENTRY_PREFILL);
  auto decode = module.lookupSymbol<func::FuncOp>(COIL_ENTRY_DECODE);
  if (!prefill || !decode)
    return sessionError("the module has no @prefill and @decode entry points");
  FunctionType type = prefill.getFunctionType();
  if (type.getNumInputs() < 2 || type.getNumResults() < 1 ||
      type.getNumResults() != type.getNumInputs() - 1)
    return sessionError("@prefill does not follow the model calling "
                        "convention (tokens, positions, states...) -> "
                        "(logits, states...)");
  auto logits = cast<RankedTensorType>(type.getResult(0));
  if (logits.getRank() != 3 || logits.isDynamicDim(2))
    return sessionError("@prefill logits must be [batch, seq, vocab] with a "
                        "static vocabulary");

  std::unique_ptr<ReferenceSession> session(new ReferenceSession(
      module, std::move(weights), batch, capacity, std::move(quantized)));
  session->vocab = logits.getDimSize(2);
  for (Type t : type.getInputs().drop_front(2)) {
    auto state = cast<RankedTensorType>(t);
    std::vector<int64_t> shape;
    for (int64_t i = 0; i < state.getRank(); ++i)
      shape.push_back(i == 0                  ? batch
                      : state.isDynamicDim(i) ? capacity
                                              : state.getDimSize(i));
    session->stateShapes.push_back(shape);
  }
  if (Error e = session->interpreter.bindWeights())
    return std::move(e);
  session->reset();
  return session;
}

void ReferenceSession::reset() {
  states.clear();
  for (const std::vector<int64_t> &shape : stateShapes)
    states.push_back(Tensor::filled(shape));
  position = 0;
}

Expected<Tensor>
ReferenceSession::step(StringRef function,
                       const std::vector<std::vector<int64_t>> &tokens) {
  if (static_cast<int64_t>(tokens.size()) != batchSize)
    return sessionError(llvm::formatv("expected {0} sequences, got {1}",
                                      batchSize, tokens.size()));
  int64_t seq = static_cast<int64_t>(tokens[0].size());
  if (seq < 1)
    return sessionError("empty prompt: at least one token is needed");
  for (const std::vector<int64_t> &row : tokens)
    if (static_cast<int64_t>(row.size()) != seq)
      return sessionError("every sequence of a batch must have the same "
                          "number of tokens");
  if (position + seq > capacity)
    return sessionError(
        llvm::formatv("context capacity exceeded: {0} tokens + {1} new > {2}",
                      position, seq, capacity));
  Tensor ids = Tensor::filled({batchSize, seq});
  Tensor positions = Tensor::filled({batchSize, seq});
  for (int64_t b = 0; b < batchSize; ++b)
    for (int64_t t = 0; t < seq; ++t) {
      int64_t id = tokens[b][t];
      if (id < 0 || id >= vocab)
        return sessionError(
            llvm::formatv("token id {0} is out of range [0, {1})", id, vocab));
      ids.data[b * seq + t] = static_cast<double>(id);
      positions.data[b * seq + t] = static_cast<double>(position + t);
    }
  std::vector<Tensor> inputs{std::move(ids), std::move(positions)};
  inputs.insert(inputs.end(), states.begin(), states.end());
  Expected<std::vector<Tensor>> results =
      interpreter.run(function, std::move(inputs));
  if (!results)
    return results.takeError();
  for (size_t i = 0; i < states.size(); ++i)
    states[i] = std::move((*results)[i + 1]);
  position += seq;
  return std::move((*results)[0]);
}

Expected<Tensor>
ReferenceSession::prefill(const std::vector<std::vector<int64_t>> &tokens) {
  return step(COIL_ENTRY_PREFILL, tokens);
}

Expected<Tensor>
ReferenceSession::prefillAll(const std::vector<std::vector<int64_t>> &tokens) {
  return step(module.lookupSymbol(COIL_ENTRY_PREFILL_ALL)
                  ? COIL_ENTRY_PREFILL_ALL
                  : COIL_ENTRY_PREFILL,
              tokens);
}

Expected<Tensor> ReferenceSession::decode(const std::vector<int64_t> &tokens) {
  std::vector<std::vector<int64_t>> rows;
  for (int64_t t : tokens)
    rows.push_back({t});
  return step(COIL_ENTRY_DECODE, rows);
}
