//===- coil-run.cpp - Run a model: prefill, greedy decode, logits -*- C++ -*-===//
//
// Runs a model on a prompt and greedily generates tokens. MODEL is a
// checkpoint directory (config.json + model.safetensors or a sharded index)
// or a `.mlir` file with --weights. Every weight the model reads is checked
// against the file (name, shape, dtype) and every tensor of the file must be
// used. --dump-logits writes one float32 row per position the model was fed
// (prompt rows, then decode rows) as a NumPy array, atomically.
//
//===----------------------------------------------------------------------===//

#include "compiler/InitAll.h"
#include "compiler/Reference/ReferenceSession.h"
#include "models/ModelBuilder.h"
#include "runtime/src/weights/Safetensors.h"

#include "dialects/Coil/IR/CoilOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::coil;
namespace cl = llvm::cl;
namespace weights = ::coil::weights;

static cl::opt<std::string>
    modelPath(cl::Positional, cl::Required,
              cl::desc("<checkpoint dir | config.json | model.mlir>"));
static cl::opt<std::string>
    weightsPath("weights",
                cl::desc("Weights (safetensors file, index or directory); "
                         "defaults to the checkpoint directory"),
                cl::value_desc("path"));
static cl::opt<std::string> tokensOpt("tokens", cl::Required,
                                      cl::desc("Prompt token ids, e.g. 1,2,3"),
                                      cl::value_desc("ids"));
static cl::opt<int64_t> generate("generate",
                                 cl::desc("Greedily generate N tokens"),
                                 cl::init(0));
static cl::opt<std::string>
    dumpLogits("dump-logits",
               cl::desc("Write the logits of sequence 0 as float32 .npy "
                        "[prompt + generate - 1, vocab]"),
               cl::value_desc("file"));
static cl::opt<int64_t> batch("batch",
                              cl::desc("Run B copies of the prompt as one "
                                       "batch"),
                              cl::init(1));
enum class Backend { Reference };
static cl::opt<Backend> backend(
    "backend", cl::desc("Execution backend"), cl::init(Backend::Reference),
    cl::values(clEnumValN(Backend::Reference, "reference",
                          "the reference interpreter (double accumulation)")));

namespace {

llvm::Error error(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// Parses "1,2,3" (spaces allowed) into ids.
llvm::Expected<std::vector<int64_t>> parseTokens(llvm::StringRef text) {
  std::vector<int64_t> ids;
  llvm::SmallVector<llvm::StringRef> parts;
  text.split(parts, ',');
  for (llvm::StringRef part : parts) {
    part = part.trim();
    if (part.empty() && parts.size() == 1)
      break;
    int64_t id;
    if (part.getAsInteger(10, id))
      return error("--tokens: '" + part + "' is not an integer token id");
    ids.push_back(id);
  }
  if (ids.empty())
    return error("--tokens: the prompt is empty; give at least one token id");
  return ids;
}

/// Loads the module: built from config.json, or parsed from a .mlir file.
llvm::Expected<OwningOpRef<ModuleOp>> loadModule(MLIRContext &context) {
  if (llvm::StringRef(modelPath).ends_with(".mlir")) {
    if (weightsPath.empty())
      return error("a .mlir model needs --weights FILE");
    llvm::SourceMgr sourceMgr;
    SourceMgrDiagnosticHandler handler(sourceMgr, &context, llvm::errs());
    OwningOpRef<ModuleOp> module =
        parseSourceFile<ModuleOp>(modelPath, sourceMgr, &context);
    if (!module)
      return error("cannot load " + modelPath);
    return std::move(module);
  }
  llvm::Expected<models::ModelConfig> config =
      models::loadModelConfig(modelPath);
  if (!config)
    return config.takeError();
  if (weightsPath.empty())
    weightsPath = llvm::sys::fs::is_directory(modelPath)
                      ? modelPath.getValue()
                      : llvm::sys::path::parent_path(modelPath).str();
  return models::buildModel(context, *config);
}

/// Serves the parameters from the weight files. Wider float types in the
/// file than in the IR are refused; narrower ones (f16/bf16 stored, f32
/// declared) are widened exactly.
reference::WeightProvider makeProvider(const weights::WeightFileSet &files,
                                       llvm::StringSet<> &used) {
  return [&files, &used](llvm::StringRef name, RankedTensorType type)
             -> llvm::Expected<reference::Tensor> {
    const weights::TensorInfo *info = files.find(name.str());
    if (!info)
      return error("weight '" + name + "' is missing from " + weightsPath);
    used.insert(name);
    std::vector<int64_t> expected(type.getShape().begin(),
                                  type.getShape().end());
    auto shapeText = [](const std::vector<int64_t> &s) {
      std::string t = "[";
      for (size_t i = 0; i < s.size(); ++i)
        t += (i ? ", " : "") + std::to_string(s[i]);
      return t + "]";
    };
    if (info->shape != expected)
      return error(llvm::formatv("weight '{0}' in {1} has shape {2}, the "
                                 "model expects {3}",
                                 name, info->file, shapeText(info->shape),
                                 shapeText(expected)));
    Type element = type.getElementType();
    bool fits = element.isF32() ||
                (element.isF16() && info->dtype == weights::DType::F16) ||
                (element.isBF16() && info->dtype == weights::DType::BF16);
    if (!fits) {
      std::string declared;
      llvm::raw_string_ostream os(declared);
      os << element;
      return error(llvm::formatv("weight '{0}' in {1} is {2}, the model "
                                 "declares {3}",
                                 name, info->file,
                                 weights::dtypeName(info->dtype), declared));
    }
    std::vector<float> values(info->numElements());
    weights::convertToF32(info->dtype, info->data, values.data(),
                          values.size());
    return reference::Tensor(expected,
                             std::vector<double>(values.begin(), values.end()));
  };
}

/// Writes rows x vocab float32 values as a NumPy .npy file, atomically.
llvm::Error writeNpy(llvm::StringRef path, const std::vector<float> &data,
                     int64_t rows, int64_t cols) {
  std::string header = llvm::formatv("{{'descr': '<f4', 'fortran_order': "
                                     "False, 'shape': ({0}, {1}), }",
                                     rows, cols);
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  return llvm::writeToOutput(path, [&](llvm::raw_ostream &os) {
    os << "\x93NUMPY" << char(1) << char(0);
    uint16_t length = static_cast<uint16_t>(header.size());
    os << char(length & 0xff) << char(length >> 8) << header;
    os.write(reinterpret_cast<const char *>(data.data()),
             data.size() * sizeof(float));
    return llvm::Error::success();
  });
}

int64_t argmax(const reference::Tensor &logits, int64_t b, int64_t t) {
  int64_t seq = logits.shape[1], vocab = logits.shape[2];
  auto begin = logits.data.begin() + (b * seq + t) * vocab;
  return std::max_element(begin, begin + vocab) - begin;
}

void appendRow(std::vector<float> &out, const reference::Tensor &logits,
               int64_t b, int64_t t) {
  int64_t seq = logits.shape[1], vocab = logits.shape[2];
  auto begin = logits.data.begin() + (b * seq + t) * vocab;
  out.insert(out.end(), begin, begin + vocab);
}

llvm::Error run() {
  if (batch < 1)
    return error(llvm::formatv("--batch must be >= 1, got {0}", batch));
  if (generate < 0)
    return error(llvm::formatv("--generate must be >= 0, got {0}", generate));
  llvm::Expected<std::vector<int64_t>> prompt = parseTokens(tokensOpt);
  if (!prompt)
    return prompt.takeError();

  DialectRegistry registry;
  registerAllDialects(registry);
  MLIRContext context(registry);
  llvm::Expected<OwningOpRef<ModuleOp>> module = loadModule(context);
  if (!module)
    return module.takeError();
  if (failed(verify(**module)))
    return error(modelPath + " does not verify");

  std::unique_ptr<weights::WeightFileSet> files;
  if (weights::Status s = weights::WeightFileSet::open(weightsPath, files); !s)
    return error(s.message());

  // Check the prompt before any work.
  auto vocabAttr = (**module)->getAttrOfType<IntegerAttr>("coil.vocab_size");
  auto prefill = (**module).lookupSymbol<func::FuncOp>("prefill");
  int64_t vocab = vocabAttr ? vocabAttr.getInt() : 0;
  if (!vocab && prefill && prefill.getNumResults() > 0)
    vocab = cast<RankedTensorType>(prefill.getResultTypes()[0]).getDimSize(2);
  for (int64_t id : *prompt)
    if (id < 0 || (vocab > 0 && id >= vocab))
      return error(llvm::formatv("--tokens: token id {0} is out of range "
                                 "[0, {1})",
                                 id, vocab));

  int64_t capacity = static_cast<int64_t>(prompt->size()) +
                     std::max<int64_t>(generate, 1);
  if (auto max = (**module)->getAttrOfType<IntegerAttr>("coil.max_context"))
    if (capacity > max.getInt())
      return error(llvm::formatv("prompt + generated tokens ({0}) exceed the "
                                 "model's max context {1}",
                                 capacity, max.getInt()));

  llvm::StringSet<> used;
  llvm::Expected<std::unique_ptr<reference::ReferenceSession>> session =
      reference::ReferenceSession::create(**module, makeProvider(*files, used),
                                          batch, capacity);
  if (!session)
    return session.takeError();
  std::vector<std::string> extra;
  for (const weights::TensorInfo &t : files->tensors())
    if (!used.contains(t.name))
      extra.push_back(t.name);
  if (!extra.empty())
    return error(llvm::formatv("{0} holds {1} tensor(s) the model does not "
                               "use, e.g. '{2}'",
                               weightsPath, extra.size(), extra.front()));

  std::vector<float> rows;
  std::vector<int64_t> generated;
  llvm::Expected<reference::Tensor> logits = (*session)->prefill(
      std::vector<std::vector<int64_t>>(batch, *prompt));
  if (!logits)
    return logits.takeError();
  int64_t promptLength = static_cast<int64_t>(prompt->size());
  for (int64_t t = 0; t < promptLength; ++t)
    appendRow(rows, *logits, 0, t);
  if (generate > 0)
    generated.push_back(argmax(*logits, 0, promptLength - 1));
  while (static_cast<int64_t>(generated.size()) < generate) {
    std::vector<int64_t> next(batch, generated.back());
    llvm::Expected<reference::Tensor> step = (*session)->decode(next);
    if (!step)
      return step.takeError();
    appendRow(rows, *step, 0, 0);
    generated.push_back(argmax(*step, 0, 0));
  }

  for (size_t i = 0; i < generated.size(); ++i)
    llvm::outs() << (i ? "," : "") << generated[i];
  if (!generated.empty())
    llvm::outs() << "\n";
  if (!dumpLogits.empty()) {
    int64_t numRows = promptLength + std::max<int64_t>(generate - 1, 0);
    if (llvm::Error e = writeNpy(dumpLogits, rows, numRows,
                                 (*session)->vocabSize()))
      return error("cannot write " + dumpLogits + ": " +
                   llvm::toString(std::move(e)));
  }
  return llvm::Error::success();
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::ParseCommandLineOptions(argc, argv,
                              "coil-run: prefill a prompt and greedily "
                              "decode\n");
  if (llvm::Error e = run()) {
    llvm::errs() << "coil-run: error: " << llvm::toString(std::move(e))
                 << "\n";
    return 1;
  }
  return 0;
}
