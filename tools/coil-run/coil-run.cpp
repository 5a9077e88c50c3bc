//===- coil-run.cpp - Run a model: prefill, greedy decode, logits -*- C++
//-*-===//
//
// Runs a model on a prompt and greedily generates tokens. MODEL is a
// checkpoint directory (config.json + model.safetensors or a sharded index)
// or a `.mlir` file with --weights. The default backend compiles the model
// to native code (cached) and runs it on the embeddable runtime; --backend
// reference runs the reference interpreter. Every weight the model reads is
// checked against the file (name, shape, dtype) and every tensor of the file
// must be used. --dump-logits writes one float32 row per position the model was
// fed (prompt rows, then decode rows) as a NumPy array, atomically.
//
//===----------------------------------------------------------------------===//

#include "compiler/Driver/Compile.h"
#include "compiler/InitAll.h"
#include "compiler/Reference/ReferenceSession.h"
#include "compiler/Target/SharedLibrary.h"
#include "models/CheckpointWeights.h"
#include "models/ModelBuilder.h"
#include "runtime/src/weights/FileChecks.h"
#include "runtime/src/weights/Quantize.h"
#include "runtime/src/weights/Safetensors.h"
#include "tools/ToolOptions.h"
#include "tools/WeightDtypeOption.h"
#include "tools/coil-bench/support/Probes.h"

#include "coil/coil.h"

#include "dialects/Coil/IR/CoilOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <limits>
#include <thread>

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
static cl::opt<std::string> tokensOpt("tokens",
                                      cl::desc("Prompt token ids, e.g. 1,2,3"),
                                      cl::value_desc("ids"));
static cl::opt<int64_t>
    generate("generate",
             cl::desc("Generate N tokens (greedily with --tokens; with a "
                      "text prompt at most N, default 128)"),
             cl::init(0));

// Text in, text out (the cpu backend, through coil_generate).
static cl::opt<std::string>
    promptText("prompt", cl::desc("A text prompt; the generated text streams "
                                  "to stdout"),
               cl::value_desc("text"));
static cl::opt<std::string> promptFile("prompt-file",
                                       cl::desc("Read the text prompt from a "
                                                "file"),
                                       cl::value_desc("file"));
static cl::opt<bool> interactive(
    "i", cl::desc("Interactive: every line of stdin is a turn; the session "
                  "keeps earlier turns (no prefill of them again)"));
static cl::opt<std::string>
    tokenizerPath("tokenizer",
                  cl::desc("tokenizer.json, or its directory (default: the "
                           "checkpoint directory)"),
                  cl::value_desc("path"));
static cl::opt<int64_t>
    contextOpt("context",
               cl::desc("Tokens a text conversation may hold (default: 4096, "
                        "or the model's maximum if smaller)"),
               cl::init(0));
static cl::opt<float>
    temperature("temperature",
                cl::desc("Sampling temperature (0: greedy, the default)"),
                cl::init(0.0f));
static cl::opt<int> topK("top-k", cl::desc("Sample from the k most likely "
                                           "tokens (0: all)"),
                         cl::init(0));
static cl::opt<float> topP("top-p",
                           cl::desc("Sample from the most likely tokens "
                                    "holding this probability (1: all)"),
                           cl::init(1.0f));
static cl::opt<float> minP("min-p",
                           cl::desc("Drop tokens less likely than this times "
                                    "the most likely (0: none)"),
                           cl::init(0.0f));
static cl::opt<float>
    repetitionPenalty("repetition-penalty",
                      cl::desc("Penalise tokens already seen (1: off)"),
                      cl::init(1.0f));
static cl::opt<uint64_t> seed("seed", cl::desc("Seed of the sampler"),
                              cl::init(0));
static cl::list<std::string>
    stopStrings("stop", cl::desc("End the text before this string "
                                 "(repeatable)"),
                cl::value_desc("text"));
static cl::opt<bool>
    ignoreEos("ignore-eos",
              cl::desc("Do not stop at the tokenizer's end-of-text token"));
static cl::opt<std::string>
    dumpLogits("dump-logits",
               cl::desc("Write the logits of sequence 0 as float32 .npy "
                        "[prompt + generate - 1, vocab]"),
               cl::value_desc("file"));
static cl::opt<int64_t> batch("batch",
                              cl::desc("Run B copies of the prompt as one "
                                       "batch"),
                              cl::init(1));
static cl::opt<bool>
    profile("profile",
            cl::desc("Time every kernel (instrumented build) and print a "
                     "summary: per kernel, per op kind and per phase"));
static cl::opt<std::string>
    tracePath("trace",
              cl::desc("Write a Chrome trace-event file (Perfetto, "
                       "chrome://tracing) of every kernel call"),
              cl::value_desc("file.json"));
static cl::opt<std::string>
    profileCsv("profile-csv", cl::desc("Write the profile summary as CSV"),
               cl::value_desc("file.csv"));

static ::coil::tools::WeightDtypeOption
    weightDtype("Store the matrices of the linears, the embedding and the LM "
                "head in this type, converted from the weight files at load "
                "(both backends; default: as the files store them, bf16 or "
                "f16 when every matrix is, else f32)");

/// --threads, registered in main (LLVM's own libraries define an option of
/// that name, which is removed first).
static cl::opt<int> *threadsOption = nullptr;
enum class Backend_ { Cpu, Reference };
static cl::opt<Backend_> backendKind(
    "backend", cl::desc("Execution backend"), cl::init(Backend_::Cpu),
    cl::values(clEnumValN(Backend_::Cpu, "cpu",
                          "native code compiled by coilc (cached), run by the "
                          "embeddable runtime"),
               clEnumValN(Backend_::Reference, "reference",
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
/// A checkpoint's weights are opened into `files` and checked against its
/// config before the model is built, so a config that disagrees with them
/// is refused before any work its sizes would take.
llvm::Expected<OwningOpRef<ModuleOp>>
loadModule(MLIRContext &context,
           std::unique_ptr<weights::WeightFileSet> &files) {
  if (llvm::StringRef(modelPath).ends_with(".mlir")) {
    if (weightsPath.empty())
      return error("a .mlir model needs --weights FILE");
    if (std::string problem =
            weights::checkInputFile(modelPath, weights::kMaxIRFileBytes);
        !problem.empty())
      return error(problem);
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
  if (weights::Status s = weights::WeightFileSet::open(weightsPath, files); !s)
    return error(s.message());
  if (llvm::Error e =
          models::checkCheckpointWeights(*config, *files, weightsPath))
    return e;
  return models::buildModel(context, *config);
}

llvm::Error makeMissingError(llvm::StringRef name) {
  return error("weight '" + name + "' is missing from " + weightsPath);
}

/// The stored tensor must have the declared shape; any stored float dtype
/// converts to the declared f32, bf16 or f16 (as the runtime binds it:
/// widened exactly, or rounded to nearest even) or is quantized to int8 or
/// int4; a pre-quantized matrix must be in the declared int8 or int4.
llvm::Error checkTensor(const weights::WeightFileSet &files,
                        const weights::TensorInfo &info, llvm::StringRef name,
                        RankedTensorType type) {
  std::vector<int64_t> expected(type.getShape().begin(), type.getShape().end());
  Type element = type.getElementType();
  std::vector<int64_t> shape = info.shape;
  if (weights::isPreQuantized(info)) {
    weights::PreQuantized pre;
    if (weights::Status s = weights::findPreQuantized(files, info, pre); !s)
      return error(s.message());
    const char *stored = pre.int4 ? "int4" : "int8";
    if (!element.isInteger(pre.int4 ? 4 : 8))
      return error(fmt::format("weight '{0}' in {1} is stored quantized to "
                               "{2}; give --weight-dtype={2} (or the float "
                               "checkpoint)",
                               name, info.file, stored));
    shape = {pre.rows, pre.cols};
  }
  if (shape != expected)
    return error(fmt::format("weight '{0}' in {1} has shape {2}, the "
                             "model expects {3}",
                             name, info.file, weights::formatShape(shape),
                             weights::formatShape(expected)));
  bool fits = element.isF32() || element.isF16() || element.isBF16() ||
              element.isInteger(8) || element.isInteger(4);
  if (!fits) {
    std::string declared;
    llvm::raw_string_ostream os(declared);
    os << element;
    return error(fmt::format("weight '{0}' in {1} is {2}, the model "
                               "declares {3}",
                               name, info.file, weights::dtypeName(info.dtype),
                               declared));
  }
  return llvm::Error::success();
}

/// Serves the parameters from the weight files to the interpreter, widened
/// to double. checkWeights has validated every one before any backend runs.
reference::WeightProvider makeProvider(const weights::WeightFileSet &files) {
  return [&files](llvm::StringRef name,
                  RankedTensorType) -> llvm::Expected<reference::Tensor> {
    const weights::TensorInfo *info = files.find(name.str());
    if (!info)
      return makeMissingError(name);
    std::vector<float> values(info->numElements());
    weights::convertToF32(info->dtype, info->data, values.data(),
                          values.size());
    return reference::Tensor(info->shape,
                             std::vector<double>(values.begin(), values.end()));
  };
}

/// Serves the matrices the weight files hold pre-quantized, as stored.
/// checkWeights has checked their format and shape.
reference::QuantizedWeightProvider
makeQuantizedProvider(const weights::WeightFileSet &files) {
  return [&files](llvm::StringRef name, RankedTensorType)
             -> llvm::Expected<std::optional<reference::QuantizedTensor>> {
    const weights::TensorInfo *info = files.find(name.str());
    if (!info || !weights::isPreQuantized(*info))
      return std::nullopt;
    weights::PreQuantized pre;
    if (weights::Status s = weights::findPreQuantized(files, *info, pre); !s)
      return error(s.message());
    int64_t groups = pre.int4 ? pre.cols / weights::kInt4Group : 1;
    std::vector<int8_t> q(static_cast<size_t>(pre.rows * pre.cols));
    std::vector<float> scale(static_cast<size_t>(pre.rows * groups));
    weights::unpackPreQuantized(pre, 0, pre.rows, q.data(), scale.data());
    std::vector<int64_t> scaleShape{pre.rows};
    if (pre.int4)
      scaleShape.push_back(groups);
    return reference::QuantizedTensor{
        reference::Tensor({pre.rows, pre.cols},
                          std::vector<double>(q.begin(), q.end())),
        reference::Tensor(scaleShape,
                          std::vector<double>(scale.begin(), scale.end()))};
  };
}

/// Writes rows x vocab float32 values as a NumPy .npy file, atomically.
llvm::Error writeNpy(llvm::StringRef path, const std::vector<float> &data,
                     int64_t rows, int64_t cols) {
  std::string header = fmt::format("{{'descr': '<f4', 'fortran_order': "
                                     "False, 'shape': ({0}, {1}), }}",
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

/// Logits of one call, [batch, tokens, vocab] row-major.
struct Logits {
  int64_t batch = 0, tokens = 0, vocab = 0;
  std::vector<float> data;

  const float *row(int64_t b, int64_t t) const {
    return data.data() + (b * tokens + t) * vocab;
  }
  int64_t argmax(int64_t b, int64_t t) const {
    const float *r = row(b, t);
    return std::max_element(r, r + vocab) - r;
  }
};

/// Runs prefill and decode on one of the execution backends.
class Backend {
public:
  virtual ~Backend() = default;
  virtual llvm::Expected<Logits>
  prefill(const std::vector<std::vector<int64_t>> &tokens) = 0;
  virtual llvm::Expected<Logits> decode(const std::vector<int64_t> &tokens) = 0;
};

/// The reference interpreter.
class ReferenceBackend : public Backend {
public:
  static llvm::Expected<std::unique_ptr<Backend>>
  create(ModuleOp module, const weights::WeightFileSet &files, int64_t batch,
         int64_t capacity, bool allLogits) {
    auto backend = std::make_unique<ReferenceBackend>();
    backend->allLogits = allLogits;
    llvm::Expected<std::unique_ptr<reference::ReferenceSession>> session =
        reference::ReferenceSession::create(module, makeProvider(files), batch,
                                            capacity,
                                            makeQuantizedProvider(files));
    if (!session)
      return session.takeError();
    backend->session = std::move(*session);
    return std::unique_ptr<Backend>(std::move(backend));
  }

  llvm::Expected<Logits>
  prefill(const std::vector<std::vector<int64_t>> &tokens) override {
    return convert(allLogits ? session->prefillAll(tokens)
                             : session->prefill(tokens));
  }
  llvm::Expected<Logits> decode(const std::vector<int64_t> &tokens) override {
    return convert(session->decode(tokens));
  }

private:
  static llvm::Expected<Logits> convert(llvm::Expected<reference::Tensor> t) {
    if (!t)
      return t.takeError();
    Logits l{t->shape[0], t->shape[1], t->shape[2],
             std::vector<float>(t->data.begin(), t->data.end())};
    return l;
  }

  std::unique_ptr<reference::ReferenceSession> session;
  bool allLogits = false;
};

llvm::Error statusError(coil_status_t *status) {
  std::string message = coil_status_message(status);
  coil_status_free(status);
  return error(message);
}

/// The op kind a kernel is counted under: its anchor ops (a decode kernel
/// that fuses a whole sub-layer has several, e.g. "scan+conv1d_causal+
/// linear"); a norm or rope only when it has none.
std::string opKind(llvm::StringRef kernel) {
  std::string kind;
  for (llvm::StringRef anchor :
       {"attention", "scan", "conv1d_causal", "linear", "embed"})
    if (kernel.contains(anchor))
      kind += (kind.empty() ? "" : "+") + anchor.str();
  if (!kind.empty())
    return kind;
  for (llvm::StringRef anchor : {"rms_norm", "layer_norm", "rope"})
    if (kernel.contains(anchor))
      return anchor.str();
  return "other";
}

/// Prints the summary table (per kernel, per op kind, per phase) and writes
/// it as CSV when asked.
llvm::Error printProfile(llvm::ArrayRef<coil_profile_entry_t> entries,
                         const ::coil::bench::MachineLimits &limits,
                         int threads) {
  struct Row {
    std::string name;
    int64_t calls = 0, steps = 0, barriers = 0;
    /// The calls of the entry point (phases only): its steps' most calls.
    int64_t entryCalls = 0;
    double seconds = 0, flops = 0, bytes = 0;
  };
  std::vector<Row> kernels, kinds, phases;
  auto addTo = [](std::vector<Row> &rows, const std::string &name,
                  const coil_profile_entry_t &e) {
    auto it = llvm::find_if(rows, [&](const Row &r) { return r.name == name; });
    if (it == rows.end()) {
      rows.push_back({name});
      it = rows.end() - 1;
    }
    it->calls += e.calls;
    it->steps += 1;
    it->barriers += e.barriers;
    it->entryCalls = std::max(it->entryCalls, e.calls);
    it->seconds += e.total_seconds;
    it->flops += e.flops;
    it->bytes += e.bytes;
  };
  double total = 0;
  for (const coil_profile_entry_t &e : entries) {
    std::string kernel = e.kernel;
    addTo(kernels, kernel + " (" + e.entry + ")", e);
    addTo(kinds, opKind(kernel), e);
    addTo(phases, e.entry, e);
    total += e.total_seconds;
  }
  auto byTime = [](const Row &a, const Row &b) {
    return a.seconds > b.seconds;
  };
  llvm::sort(kernels, byTime);
  llvm::sort(kinds, byTime);
  llvm::sort(phases, byTime);

  size_t width = 20;
  for (const Row &r : kernels)
    width = std::max(width, r.name.size());
  std::string csv = "group,name,calls,total_ms,share,mean_us,gflops,gbps,"
                    "roofline_fraction,barriers_per_call\n";
  auto print = [&](llvm::StringRef title, llvm::StringRef group,
                   const std::vector<Row> &rows) {
    llvm::errs() << "\n"
                 << fmt::format("{:<{}}", title.str(), width)
                 << fmt::format(" {0:>7} {1:>10} {2:>6} {3:>10} {4:>8} {5:>7} "
                                  "{6:>6} {7:>8}\n",
                                  "calls", "total ms", "share", "mean us",
                                  "GFLOP/s", "GB/s", "peak", "barriers");
    for (const Row &r : rows) {
      double gflops = r.seconds > 0 ? r.flops / r.seconds / 1e9 : 0;
      double gbps = r.seconds > 0 ? r.bytes / r.seconds / 1e9 : 0;
      // The fraction of the limit that binds this kernel.
      double fraction =
          std::max(gflops / limits.fmaGflops, gbps / limits.readGBps);
      double share = total > 0 ? r.seconds / total : 0;
      double mean = r.calls ? r.seconds / r.calls * 1e6 : 0;
      double barriers =
          r.calls ? static_cast<double>(r.barriers) / r.calls : 0;
      llvm::errs() << fmt::format("{:<{}}", r.name, width)
                   << fmt::format(" {0:>7} {1:>10.3f} {2:>5.1f}% {3:>10.1f} "
                                    "{4:>8.1f} {5:>7.1f} {6:>5.0f}% {7:>8.1f}\n",
                                    r.calls, r.seconds * 1e3, 100 * share,
                                    mean, gflops, gbps, 100 * fraction,
                                    barriers);
      csv += fmt::format("{0},{1},{2},{3},{4},{5},{6},{7},{8},{9}\n", group,
                           r.name, r.calls, r.seconds * 1e3, share, mean,
                           gflops, gbps, fraction, barriers);
    }
  };
  llvm::errs() << fmt::format(
      "\nProfile: {0} kernel calls on {1} thread(s), {2:.3f} ms in kernels; "
      "peak = fraction of the binding limit ({3:.0f} GFLOP/s FMA, {4:.1f} GB/s "
      "read, measured)\n",
      [&] {
        int64_t n = 0;
        for (const Row &r : kernels)
          n += r.calls;
        return n;
      }(),
      threads, total * 1e3, limits.fmaGflops, limits.readGBps);
  print("kernel (entry point)", "kernel", kernels);
  print("op kind", "op_kind", kinds);
  print("phase", "phase", phases);
  // What one call of each entry point costs in synchronisation: its kernel
  // calls (steps) and the barriers inside them.
  llvm::errs() << "\n";
  for (const Row &r : phases)
    if (r.entryCalls > 0)
      llvm::errs() << fmt::format(
          "per {0} call: {1} kernel calls, {2:.1f} barriers\n", r.name,
          r.steps, static_cast<double>(r.barriers) / r.entryCalls);
  if (!profileCsv.empty())
    if (llvm::Error e =
            llvm::writeToOutput(profileCsv, [&](llvm::raw_ostream &os) {
              os << csv;
              return llvm::Error::success();
            }))
      return error("cannot write " + profileCsv + ": " +
                   llvm::toString(std::move(e)));
  return llvm::Error::success();
}

/// Warns that `count` weights of the files, e.g. `name`, hold NaN or
/// infinite values: the model runs, but its logits will not be numbers.
void warnNonFinite(int64_t count, llvm::StringRef name) {
  if (count > 0)
    llvm::errs() << fmt::format(
        "coil-run: warning: {0} tensor(s) of {1} hold NaN or infinite "
        "values, e.g. '{2}'\n",
        count, weightsPath, name);
}

/// Native code through the embeddable runtime; the model is compiled on
/// first use and cached under a key of its IR, the compiler and the host.
class CpuBackend : public Backend {
public:
  ~CpuBackend() override {
    if (session)
      coil_session_release(session);
    if (model)
      coil_model_release(model);
    if (files)
      coil_weights_release(files);
  }

  static llvm::Expected<std::unique_ptr<CpuBackend>>
  create(ModuleOp module, int64_t batch, int64_t capacity, bool profiled,
         bool allLogits) {
    llvm::Expected<std::string> compiled = compileCached(module, profiled);
    if (!compiled)
      return compiled.takeError();
    std::string so = *compiled;
    auto backend = std::make_unique<CpuBackend>();
    if (coil_status_t *s = coil_model_load(so.c_str(), &backend->model))
      return statusError(s);
    if (coil_status_t *s =
            coil_weights_open(weightsPath.c_str(), &backend->files))
      return statusError(s);
    if (coil_status_t *s =
            coil_model_bind_weights(backend->model, backend->files))
      return statusError(s);
    // Binding counted the weights that are not finite.
    coil_bind_stats_t bound;
    bound.struct_size = sizeof(bound);
    coil_model_bind_stats(backend->model, &bound);
    warnNonFinite(bound.nonfinite_weights, bound.first_nonfinite_weight
                                               ? bound.first_nonfinite_weight
                                               : "");
    coil_session_options_t options;
    coil_session_options_initialize(&options);
    options.max_batch = batch;
    options.max_context = capacity;
    options.all_logits = allLogits;
    int threads = *threadsOption;
    options.threads = threads > 0
                          ? threads
                          : std::max(1u, std::thread::hardware_concurrency());
    if (coil_status_t *s =
            coil_session_create(backend->model, &options, &backend->session))
      return statusError(s);
    backend->threads = options.threads;
    if (profiled)
      if (coil_status_t *s = coil_session_set_profiling(backend->session, 1))
        return statusError(s);
    return backend;
  }

  /// The session.
  coil_session_t *handle() const { return session; }

  /// Prints the profile of the run and writes the trace and CSV requested.
  llvm::Error report() {
    const coil_profile_entry_t *entries = nullptr;
    int64_t count = 0;
    if (coil_status_t *s =
            coil_session_profile_summary(session, &entries, &count))
      return statusError(s);
    if (!tracePath.empty())
      if (coil_status_t *s =
              coil_session_write_trace(session, tracePath.c_str()))
        return statusError(s);
    ::coil::bench::MachineLimits limits =
        ::coil::bench::measureMachine(threads);
    coil_bind_stats_t bind;
    bind.struct_size = sizeof(bind);
    coil_model_bind_stats(model, &bind);
    llvm::outs() << fmt::format(
        "\nWeights: bound in {0:.1f} ms, {1} packed into panels ({2:.1f} MiB) "
        "in {3:.1f} ms\n",
        bind.bind_seconds * 1e3, bind.packed_weights,
        bind.packed_bytes / 1048576.0, bind.pack_seconds * 1e3);
    return printProfile(llvm::ArrayRef(entries, count), limits, threads);
  }

  int threads = 1;

  llvm::Expected<Logits>
  prefill(const std::vector<std::vector<int64_t>> &tokens) override {
    std::vector<int32_t> flat;
    for (const std::vector<int64_t> &row : tokens)
      flat.insert(flat.end(), row.begin(), row.end());
    int64_t b = tokens.size(), t = tokens.empty() ? 0 : tokens[0].size();
    if (coil_status_t *s = coil_session_prefill(session, flat.data(), b, t))
      return statusError(s);
    return logits();
  }

  llvm::Expected<Logits> decode(const std::vector<int64_t> &tokens) override {
    std::vector<int32_t> flat(tokens.begin(), tokens.end());
    if (coil_status_t *s =
            coil_session_decode(session, flat.data(), flat.size()))
      return statusError(s);
    return logits();
  }

private:
  llvm::Expected<Logits> logits() {
    const float *data = nullptr;
    Logits l;
    if (coil_status_t *s =
            coil_session_logits(session, &data, &l.batch, &l.tokens, &l.vocab))
      return statusError(s);
    l.data.assign(data, data + l.batch * l.tokens * l.vocab);
    return l;
  }

  coil_model_t *model = nullptr;
  coil_weights_t *files = nullptr;
  coil_session_t *session = nullptr;
};

/// Checks every coil.weight against the files (present, same shape, a dtype
/// that widens exactly to the declared one) and that every tensor of the
/// files is used, before any backend starts.
llvm::Error checkWeights(ModuleOp module, const weights::WeightFileSet &files) {
  llvm::StringSet<> used;
  llvm::Error error = llvm::Error::success();
  llvm::StringSet<> seen;
  module.walk([&](WeightOp op) {
    // Int8 scales come from their matrix, which is checked.
    if (error || op.getScales() || !seen.insert(op.getName()).second)
      return;
    const weights::TensorInfo *info = files.find(op.getName().str());
    if (!info) {
      error = makeMissingError(op.getName());
      return;
    }
    used.insert(op.getName());
    if (weights::isPreQuantized(*info))
      used.insert(info->name + std::string(weights::kScalesSuffix));
    if (llvm::Error e = checkTensor(files, *info, op.getName(), op.getType()))
      error = std::move(e);
  });
  if (error)
    return error;
  std::vector<std::string> extra;
  for (const weights::TensorInfo &t : files.tensors())
    if (!used.contains(t.name))
      extra.push_back(t.name);
  if (!extra.empty())
    return ::error(fmt::format("{0} holds {1} tensor(s) the model does not "
                                 "use, e.g. '{2}'",
                                 weightsPath, extra.size(), extra.front()));
  return llvm::Error::success();
}

/// Refuses, before any work, an output option given an empty path or a
/// target that is not a regular file (a symlink, FIFO or device).
llvm::Error checkOutputOptions() {
  for (cl::opt<std::string> *option : {&dumpLogits, &tracePath, &profileCsv})
    if (option->getNumOccurrences() > 0)
      if (std::string problem = weights::checkOutputFile(*option);
          !problem.empty())
        return error("--" + option->ArgStr + ": " + problem);
  return llvm::Error::success();
}

/// The tokens that end a text by default: the tokenizer's special
/// end-of-text tokens.
std::vector<int32_t> endOfTextTokens(const coil_tokenizer_t *tokenizer) {
  std::vector<int32_t> ids(8);
  ids.resize(coil_tokenizer_end_of_text(tokenizer, ids.data(), ids.size()));
  return ids;
}

int streamText(void *, int32_t, const char *text, size_t length) {
  std::fwrite(text, 1, length, stdout);
  std::fflush(stdout);
  return 1;
}

const char *stopReasonName(coil_stop_reason_t reason) {
  switch (reason) {
  case COIL_STOP_MAX_TOKENS:
    return "max tokens";
  case COIL_STOP_TOKEN:
    return "end of text";
  case COIL_STOP_STRING:
    return "stop string";
  case COIL_STOP_CALLBACK:
    return "stopped";
  case COIL_STOP_CONTEXT:
    return "context full";
  case COIL_STOP_CANCELLED:
    return "cancelled";
  case COIL_STOP_ERROR:
    return "error";
  }
  return "?";
}

/// Text in, text out: the prompt (and, with -i, every line of stdin as a
/// further turn) through coil_generate, the text streamed to stdout and
/// each turn's statistics to stderr.
llvm::Error runText(ModuleOp module) {
  if (backendKind != Backend_::Cpu)
    return error("a text prompt needs --backend cpu");
  if (batch != 1)
    return error("a text prompt runs one sequence; --batch is for --tokens");
  if (!dumpLogits.empty())
    return error("--dump-logits needs --tokens");
  std::string first = promptText;
  if (!promptFile.empty()) {
    if (std::string problem =
            weights::checkInputFile(promptFile, weights::kMaxJsonFileBytes);
        !problem.empty())
      return error("--prompt-file: " + problem);
    llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
        llvm::MemoryBuffer::getFile(promptFile);
    if (!buffer)
      return error("--prompt-file: cannot read " + promptFile + ": " +
                   buffer.getError().message());
    first = (*buffer)->getBuffer().str();
  }
  bool hasFirst =
      promptText.getNumOccurrences() || promptFile.getNumOccurrences();

  std::string tokenizerAt = tokenizerPath;
  if (tokenizerAt.empty())
    tokenizerAt = llvm::sys::fs::is_directory(modelPath)
                      ? modelPath.getValue()
                      : llvm::sys::path::parent_path(modelPath).str();
  coil_tokenizer_t *tokenizer = nullptr;
  if (coil_status_t *s = coil_tokenizer_load(tokenizerAt.c_str(), &tokenizer))
    return statusError(s);
  std::unique_ptr<coil_tokenizer_t, void (*)(coil_tokenizer_t *)> owner(
      tokenizer, coil_tokenizer_release);

  int64_t limit = 0;
  if (auto max = module->getAttrOfType<IntegerAttr>("coil.max_context"))
    limit = max.getInt();
  if (contextOpt < 0 || (limit > 0 && contextOpt > limit))
    return error(fmt::format("--context must be in [1, {0}], got {1}",
                               limit > 0 ? limit : int64_t(INT32_MAX),
                               contextOpt));
  int64_t context = contextOpt > 0 ? int64_t(contextOpt) : 4096;
  if (contextOpt == 0 && limit > 0)
    context = std::min(context, limit);

  coil_generate_options_t options;
  coil_generate_options_initialize(&options);
  options.max_new_tokens = generate.getNumOccurrences() ? int64_t(generate)
                                                        : 128;
  options.sampling.temperature = temperature;
  options.sampling.top_k = topK;
  options.sampling.top_p = topP;
  options.sampling.min_p = minP;
  options.sampling.repetition_penalty = repetitionPenalty;
  options.sampling.seed = seed;
  // The sampler's own check, before the model is compiled.
  coil_sampler_t *check = nullptr;
  if (coil_status_t *s = coil_sampler_create(&options.sampling, 1, &check))
    return statusError(s);
  coil_sampler_release(check);
  std::vector<int32_t> stops;
  if (!ignoreEos)
    stops = endOfTextTokens(tokenizer);
  options.stop_tokens = stops.data();
  options.num_stop_tokens = stops.size();
  std::vector<const char *> stopTexts;
  for (const std::string &stop : stopStrings)
    stopTexts.push_back(stop.c_str());
  options.stop_strings = stopTexts.data();
  options.num_stop_strings = stopTexts.size();

  bool profiling = profile || !tracePath.empty() || !profileCsv.empty();
  llvm::Expected<std::unique_ptr<CpuBackend>> backend =
      CpuBackend::create(module, 1, context, profiling, false);
  if (!backend)
    return backend.takeError();

  int turn = 0;
  auto runTurn = [&](const std::string &text) -> llvm::Error {
    // The tokenizer's template (e.g. a BOS) begins the conversation only.
    options.add_special_tokens = turn++ == 0;
    coil_generate_stats_t stats;
    if (coil_status_t *s = coil_generate((*backend)->handle(), tokenizer,
                                         text.data(), text.size(), &options,
                                         streamText, nullptr, &stats))
      return statusError(s);
    std::fputc('\n', stdout);
    std::fflush(stdout);
    llvm::errs() << fmt::format(
        "coil-run: {0} prompt tokens, {1} generated ({2}); first token "
        "after {3:.1f} ms, then {4:.2f} ms per token ({5:.1f} tokens/s)\n",
        stats.prompt_tokens, stats.generated_tokens,
        stopReasonName(stats.stop_reason), stats.time_to_first_token * 1e3,
        stats.time_per_output_token * 1e3,
        stats.time_per_output_token > 0 ? 1.0 / stats.time_per_output_token
                                        : 0.0);
    return llvm::Error::success();
  };
  if (hasFirst)
    if (llvm::Error e = runTurn(first))
      return e;
  if (interactive)
    for (std::string line;;) {
      llvm::errs() << "> ";
      if (!std::getline(std::cin, line))
        break;
      if (line.empty())
        continue;
      if (llvm::Error e = runTurn(line))
        return e;
    }
  if (profiling)
    return (*backend)->report();
  return llvm::Error::success();
}

llvm::Error run() {
  if (llvm::Error e = checkOutputOptions())
    return e;
  bool text = promptText.getNumOccurrences() ||
              promptFile.getNumOccurrences() || interactive;
  if (text == (tokensOpt.getNumOccurrences() > 0) ||
      (promptText.getNumOccurrences() && promptFile.getNumOccurrences()))
    return error("give the prompt once: --tokens ids, --prompt text, "
                 "--prompt-file file, or -i");
  if (batch < 1)
    return error(fmt::format("--batch must be >= 1, got {0}", batch));
  if (batch > COIL_SESSION_MAX_BATCH)
    return error(fmt::format("--batch {0} is above the {1} sequences a "
                               "session holds",
                               batch, COIL_SESSION_MAX_BATCH));
  if (generate < 0)
    return error(fmt::format("--generate must be >= 0, got {0}", generate));
  // Positions are i32, so no sequence grows beyond that.
  constexpr int64_t maxTokens = std::numeric_limits<int32_t>::max();
  if (generate > maxTokens)
    return error(fmt::format("--generate {0} is above the {1} tokens a "
                               "sequence may hold",
                               generate, maxTokens));
  if (*threadsOption < 0)
    return error(
        fmt::format("--threads must be >= 1, got {0}", *threadsOption));
  DialectRegistry registry;
  registerAllDialects(registry);
  MLIRContext context(registry);
  std::unique_ptr<weights::WeightFileSet> files;
  llvm::Expected<OwningOpRef<ModuleOp>> module = loadModule(context, files);
  if (!module)
    return module.takeError();
  if (failed(verify(**module)))
    return error(modelPath + " does not verify");

  if (!files)
    if (weights::Status s = weights::WeightFileSet::open(weightsPath, files);
        !s)
      return error(s.message());
  if (llvm::Error e = setWeightDtype(
          **module, weightDtype.getNumOccurrences()
                        ? weightDtype.getValue()
                        : ::coil::tools::storedMatrixDtype(**module, *files)))
    return e;
  if (text) {
    if (llvm::Error e = checkWeights(**module, *files))
      return e;
    return runText(**module);
  }
  llvm::Expected<std::vector<int64_t>> prompt = parseTokens(tokensOpt);
  if (!prompt)
    return prompt.takeError();

  // Check the prompt, the context and the weights before any work.
  auto vocabAttr = (**module)->getAttrOfType<IntegerAttr>("coil.vocab_size");
  auto prefill =
      (**module).lookupSymbol<func::FuncOp>(models::kPrefillFunction);
  int64_t vocab = vocabAttr ? vocabAttr.getInt() : 0;
  if (!vocab && prefill && prefill.getNumResults() > 0)
    vocab = cast<RankedTensorType>(prefill.getResultTypes()[0]).getDimSize(2);
  for (int64_t id : *prompt)
    if (id < 0 || (vocab > 0 && id >= vocab))
      return error(fmt::format("--tokens: token id {0} is out of range "
                                 "[0, {1})",
                                 id, vocab));
  int64_t capacity =
      static_cast<int64_t>(prompt->size()) + std::max<int64_t>(generate, 1);
  if (auto max = (**module)->getAttrOfType<IntegerAttr>("coil.max_context"))
    if (capacity > max.getInt())
      return error(fmt::format("prompt + generated tokens ({0}) exceed the "
                                 "model's max context {1}",
                                 capacity, max.getInt()));
  if (llvm::Error e = checkWeights(**module, *files))
    return e;
  // The runtime counts weights that are not finite as it binds them; the
  // reference interpreter reads the files directly.
  if (backendKind == Backend_::Reference) {
    int64_t count = 0;
    const weights::TensorInfo *first = nullptr;
    for (const weights::TensorInfo &t : files->tensors())
      if (weights::countNonFinite(t.dtype, t.data,
                                  static_cast<size_t>(t.numElements())) > 0 &&
          count++ == 0)
        first = &t;
    warnNonFinite(count, first ? first->name : "");
  }

  bool profiling = profile || !tracePath.empty() || !profileCsv.empty();
  if (profiling && backendKind == Backend_::Reference)
    return error("--profile, --trace and --profile-csv need --backend cpu");
  CpuBackend *cpu = nullptr;
  // Every prompt row's logits only when they are written out; otherwise
  // prefill computes the last position's alone.
  bool allLogits = !dumpLogits.empty();
  llvm::Expected<std::unique_ptr<Backend>> backend =
      backendKind == Backend_::Reference
          ? ReferenceBackend::create(**module, *files, batch, capacity,
                                     allLogits)
          : [&]() -> llvm::Expected<std::unique_ptr<Backend>> {
    auto b =
        CpuBackend::create(**module, batch, capacity, profiling, allLogits);
    if (!b)
      return b.takeError();
    cpu = b->get();
    return std::unique_ptr<Backend>(std::move(*b));
  }();
  if (!backend)
    return backend.takeError();

  std::vector<float> rows;
  std::vector<int64_t> generated;
  llvm::Expected<Logits> logits =
      (*backend)->prefill(std::vector<std::vector<int64_t>>(batch, *prompt));
  if (!logits)
    return logits.takeError();
  int64_t promptLength = static_cast<int64_t>(prompt->size());
  if (allLogits)
    rows.insert(rows.end(), logits->row(0, 0),
                logits->row(0, 0) + promptLength * logits->vocab);
  if (generate > 0)
    generated.push_back(logits->argmax(0, logits->tokens - 1));
  while (static_cast<int64_t>(generated.size()) < generate) {
    std::vector<int64_t> next(batch, generated.back());
    llvm::Expected<Logits> step = (*backend)->decode(next);
    if (!step)
      return step.takeError();
    rows.insert(rows.end(), step->row(0, 0), step->row(0, 0) + step->vocab);
    generated.push_back(step->argmax(0, 0));
  }

  for (size_t i = 0; i < generated.size(); ++i)
    llvm::outs() << (i ? "," : "") << generated[i];
  if (!generated.empty())
    llvm::outs() << "\n";
  if (profiling)
    if (llvm::Error e = cpu->report())
      return e;
  if (!dumpLogits.empty()) {
    int64_t numRows = promptLength + std::max<int64_t>(generate - 1, 0);
    if (llvm::Error e = writeNpy(dumpLogits, rows, numRows, logits->vocab))
      return error("cannot write " + dumpLogits + ": " +
                   llvm::toString(std::move(e)));
  }
  return llvm::Error::success();
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  if (cl::Option *existing = cl::getRegisteredOptions().lookup("threads"))
    existing->removeArgument();
  cl::opt<int> threads(
      "threads",
      cl::desc("Threads every kernel runs on (cpu backend; default: all "
               "cores)"),
      cl::init(0));
  threadsOption = &threads;
  static cl::OptionCategory coilRunOptions("coil-run options");
  ::coil::tools::showOnlyOwnOptions(coilRunOptions,
                                    {&modelPath,
                                     &weightsPath,
                                     &tokensOpt,
                                     &generate,
                                     &dumpLogits,
                                     &batch,
                                     &profile,
                                     &tracePath,
                                     &profileCsv,
                                     &threads,
                                     &backendKind,
                                     &promptText,
                                     &promptFile,
                                     &interactive,
                                     &tokenizerPath,
                                     &contextOpt,
                                     &temperature,
                                     &topK,
                                     &topP,
                                     &minP,
                                     &repetitionPenalty,
                                     &seed,
                                     std::addressof(stopStrings),
                                     &ignoreEos,
                                     &weightDtype});
  cl::ParseCommandLineOptions(argc, argv,
                              "coil-run: prefill a prompt and greedily "
                              "decode, or generate text from a text prompt\n");
  if (llvm::Error e = run()) {
    llvm::errs() << "coil-run: error: " << llvm::toString(std::move(e)) << "\n";
    return 1;
  }
  return 0;
}
