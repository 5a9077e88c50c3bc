//===- coil-bench.cpp - Mamba versus Transformer inference speed -*- C++
//-*-===//
//
// The project's main job: compiles a Mamba model and a Transformer of the
// same size, runs them through the embeddable runtime on this machine and
// measures prefill, decode (against context and batch), time to first token,
// state memory and thread scaling. Every point is warmed up, then repeated
// until its spread is small or its time budget is spent; results go to a
// terminal table with Mamba/Transformer ratios and a verdict computed from
// the data, JSON and CSV with the machine description, and one SVG chart per
// experiment. Ctrl-C stops cleanly and keeps what was measured.
//
//===----------------------------------------------------------------------===//

#include "compiler/Driver/Compile.h"
#include "compiler/InitAll.h"
#include "dialects/Coil/IR/CoilOps.h"
#include "models/CheckpointWeights.h"
#include "models/ModelBuilder.h"
#include "models/Pruning.h"
#include "models/QuantizedWeights.h"
#include "models/RandomWeights.h"
#include "runtime/src/weights/Safetensors.h"
#include "tools/ToolOptions.h"
#include "tools/WeightDtypeOption.h"
#include "tools/coil-bench/load/Load.h"
#include "tools/coil-bench/support/Accuracy.h"
#include "tools/coil-bench/support/Chart.h"
#include "tools/coil-bench/support/Machine.h"
#include "tools/coil-bench/support/Probes.h"

#include "coil/coil.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <thread>

// COIL_GIT_REVISION, written at build time.
#include "GitRevision.h"

using namespace mlir;
using namespace mlir::coil;
namespace cl = llvm::cl;
namespace json = llvm::json;
namespace weights = ::coil::weights;
namespace bench = ::coil::bench;

static cl::opt<bool> quick("quick",
                           cl::desc("A reduced sweep (under a minute)"));
static cl::opt<std::string>
    preset("preset", cl::desc("The model pair: 130m (default) or 370m"),
           cl::init("130m"));
static cl::list<std::string>
    modelDirs("model",
              cl::desc("Benchmark this checkpoint directory instead of a "
                       "preset (repeatable)"),
              cl::value_desc("dir"));
static cl::opt<std::string>
    outDir("out", cl::desc("Output folder (default: bench-results/<date>)"),
           cl::value_desc("dir"));
static cl::opt<int> seed("seed", cl::desc("Seed of the random weights"),
                         cl::init(1));
static cl::opt<double>
    pointBudget("point-seconds",
                cl::desc("Time budget of one measured point (default 3, "
                         "0.3 with --quick)"),
                cl::init(0.0));

static cl::list<std::string> experimentNames(
    "experiments",
    cl::desc("Run only these experiments (comma-separated): prefill, "
             "decode-context, decode-batch, ttft, state-memory, threads, "
             "serve, precision (default: all)"),
    cl::CommaSeparated, cl::value_desc("names"));
static cl::list<int64_t> prefillLengths(
    "prefill-lengths",
    cl::desc("Prompt lengths of the prefill experiment (comma-separated)"),
    cl::CommaSeparated, cl::value_desc("T,..."));
static cl::list<int64_t>
    decodeContexts("contexts",
                   cl::desc("Contexts of the decode-context experiment "
                            "(comma-separated)"),
                   cl::CommaSeparated, cl::value_desc("C,..."));
static cl::list<int64_t>
    decodeBatches("batches",
                  cl::desc("Batch sizes of the decode-batch experiment "
                           "(comma-separated)"),
                  cl::CommaSeparated, cl::value_desc("B,..."));
static cl::opt<int64_t> servePrompt(
    "serve-prompt-tokens",
    cl::desc("Mean prompt length of the serve study (default 128; 16 with "
             "--quick)"),
    cl::init(0));
static cl::opt<int64_t> serveOutput(
    "serve-output-tokens",
    cl::desc("Mean output length of the serve study (default 32; 8 with "
             "--quick)"),
    cl::init(0));
static cl::opt<int64_t>
    serveRequests("serve-requests",
                  cl::desc("Requests per point of the serve study (default "
                           "16; 8 with --quick)"),
                  cl::init(0));
static cl::opt<int64_t>
    serveSlots("serve-slots",
               cl::desc("coil-serve's slots in the serve study (default 8; "
                        "4 with --quick)"),
               cl::init(0));

static cl::opt<double> pruneFraction(
    "prune",
    cl::desc("The precision study also runs each model with this fraction of "
             "every layer's FFN (Llama) or d_inner (Mamba) channels removed "
             "as coil-prune removes them, in f32 and int8 (default 0: no "
             "pruned variants)"),
    cl::value_desc("fraction"), cl::init(0));

static ::coil::tools::WeightDtypeOption
    weightDtype("Store every model's linear, embedding and LM-head matrices in "
                "this type (default: f32 for the presets, a checkpoint's as "
                "it stores them: bf16 or f16 when every matrix is)");

namespace {

//===----------------------------------------------------------------------===//
// Errors, Ctrl-C, progress
//===----------------------------------------------------------------------===//

llvm::Error error(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

std::atomic<bool> stopRequested{false};
extern "C" void onInterrupt(int) { stopRequested = true; }

/// Fails with the status's message (and frees it) when it is not OK.
llvm::Error check(coil_status_t *status) {
  if (!status)
    return llvm::Error::success();
  std::string message = coil_status_message(status);
  coil_status_free(status);
  return error(message);
}

using Clock = std::chrono::steady_clock;
double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

std::string formatDuration(double s) {
  if (s < 60)
    return fmt::format("{0:.0f}s", s);
  return fmt::format("{0}m{1:02d}s", static_cast<int>(s) / 60,
                       static_cast<int>(s) % 60);
}

/// One line of progress on stderr: which experiment, which point, ETA.
class Progress {
public:
  explicit Progress(int total) : total(total), start(Clock::now()) {}
  void point(llvm::StringRef what) {
    ++done;
    double elapsed = seconds(start, Clock::now());
    double eta = done > 1 ? elapsed / (done - 1) * (total - done + 1) : 0.0;
    llvm::errs() << fmt::format("[{0:>3}/{1}] {2:<44} elapsed {3}, ETA ~{4}",
                                  done, total, what, formatDuration(elapsed),
                                  formatDuration(eta))
                 << (tty ? "\r" : "\n");
    llvm::errs().flush();
  }
  void finish() {
    if (tty)
      llvm::errs() << "\n";
  }
  double elapsed() const { return seconds(start, Clock::now()); }

private:
  int total, done = 0;
  Clock::time_point start;
  bool tty = llvm::sys::Process::StandardErrIsDisplayed();
};

//===----------------------------------------------------------------------===//
// Measurement
//===----------------------------------------------------------------------===//

/// Median and spread of repeated runs.
struct Stat {
  double median = 0, min = 0, max = 0;
  int runs = 0;
};

/// The Stat of `samples` (none: no runs).
Stat statOf(std::vector<double> samples) {
  if (samples.empty())
    return Stat{};
  std::sort(samples.begin(), samples.end());
  return Stat{samples[samples.size() / 2], samples.front(), samples.back(),
              static_cast<int>(samples.size())};
}

/// Warms up with one run, then repeats `run` (which returns the seconds it
/// measured) until the spread is within 5% with at least 3 runs, or the
/// budget is spent (at least `minRuns` runs), or Ctrl-C (then the Stat may
/// have no runs, and the point is not recorded).
llvm::Expected<Stat> measure(const std::function<llvm::Expected<double>()> &run,
                             double budget, int minRuns = 2, int maxRuns = 15) {
  if (llvm::Expected<double> warm = run(); !warm)
    return warm.takeError();
  std::vector<double> samples;
  Clock::time_point start = Clock::now();
  while (!stopRequested) {
    llvm::Expected<double> t = run();
    if (!t)
      return t.takeError();
    samples.push_back(*t);
    std::vector<double> sorted(samples);
    std::sort(sorted.begin(), sorted.end());
    double median = sorted[sorted.size() / 2];
    double spread = (sorted.back() - sorted.front()) / median;
    int n = static_cast<int>(samples.size());
    if (n >= maxRuns || (n >= 3 && spread <= 0.05) ||
        (n >= minRuns && seconds(start, Clock::now()) > budget))
      break;
  }
  // No samples: interrupted before the first measured run.
  return statOf(std::move(samples));
}

//===----------------------------------------------------------------------===//
// Models
//===----------------------------------------------------------------------===//

/// A compiled model with its weights, ready for sessions.
struct Model {
  std::string label;
  models::ModelConfig config;
  int64_t params = 0;
  /// The type its matrices are stored in, and their bytes with the rest
  /// of the parameters.
  WeightDtype dtype = WeightDtype::F32;
  /// Whether `dtype` is the checkpoint's own (no --weight-dtype given).
  bool dtypeAsStored = false;
  double storedWeightBytes = 0;
  /// The checkpoint, and the files the model is bound to: the checkpoint,
  /// or its matrices stored in `dtype` in the cache.
  std::string soPath, weightsPath, boundWeightsPath;
  coil_model_t *model = nullptr;
  coil_weights_t *files = nullptr;

  /// A state-space model (Mamba or Mamba-2): fixed state, no KV cache.
  bool isRecurrent() const {
    return config.family == models::ModelConfig::Family::Mamba ||
           config.family == models::ModelConfig::Family::Mamba2;
  }
  /// The Transformer the others are compared with.
  bool isTransformer() const {
    return config.family == models::ModelConfig::Family::Llama;
  }
  /// Bytes of the parameters (4 per f32, 2 per bf16 or f16 element, 1 per
  /// int8 element and a half per int4 element, plus their f32 scales).
  double weightBytes() const { return storedWeightBytes; }
  /// Elements of the LM head's matrix (vocabulary x width).
  double headParams() const {
    return static_cast<double>(config.vocabSize()) * config.hiddenSize();
  }
  bool tied() const { return config.tiedEmbeddings(); }
  /// FLOPs of a prefill of T tokens that returns the last position's
  /// logits: 2 per parameter and token in the layers, 2 per LM head
  /// parameter once (the embedding lookup computes nothing), plus the
  /// attention scores and weighted sums (causal) or the scan.
  double prefillFlops(double t) const {
    double body = params - headParams() - (tied() ? 0.0 : headParams());
    double flops = 2.0 * body * t + 2.0 * headParams();
    if (config.family == models::ModelConfig::Family::Mamba) {
      const models::MambaConfig &m = config.mamba;
      flops += 9.0 * m.dInner * m.dState * t * m.numLayers;
    } else if (config.family == models::ModelConfig::Family::Mamba2) {
      // Per state element and token a multiply and two FMAs.
      const models::Mamba2Config &m = config.mamba2;
      flops += 5.0 * m.dInner * m.stateSize * t * m.numLayers;
    } else if (config.family == models::ModelConfig::Family::NemotronH) {
      const models::NemotronHConfig &n = config.nemotronH;
      flops += 5.0 * n.mamba.dInner * n.mamba.stateSize * t * n.count('M') +
               2.0 * n.numHeads * n.headDim * t * (t + 1) * n.count('*');
    } else {
      const models::LlamaConfig &l = config.llama;
      flops += 2.0 * l.numHeads * l.headDim * t * (t + 1) * l.numLayers;
    }
    return flops;
  }
  /// State bytes one decoded token reads at context `c`: the SSM and conv
  /// state (read and written), or the KV cache so far.
  double stateBytesPerToken(double c) const {
    if (config.family == models::ModelConfig::Family::Mamba) {
      const models::MambaConfig &m = config.mamba;
      return 2.0 * 4.0 * m.numLayers * m.dInner * (m.dState + m.dConv - 1);
    }
    if (config.family == models::ModelConfig::Family::Mamba2)
      return 2.0 * 4.0 * config.mamba2.numLayers *
             config.mamba2.stateElements();
    if (config.family == models::ModelConfig::Family::NemotronH) {
      const models::NemotronHConfig &n = config.nemotronH;
      return 2.0 * 4.0 * n.count('M') * n.mamba.stateElements() +
             4.0 * 2.0 * n.count('*') * n.numKvHeads * n.headDim * (c + 1);
    }
    const models::LlamaConfig &l = config.llama;
    return 4.0 * 2.0 * l.numLayers * l.numKvHeads * l.headDim * (c + 1);
  }
  int64_t maxContext() const {
    if (config.family == models::ModelConfig::Family::NemotronH)
      return config.nemotronH.maxPositions;
    return isRecurrent() ? 0 : config.llama.maxPositions;
  }

  void release() {
    if (model)
      coil_model_release(model);
    if (files)
      coil_weights_release(files);
    model = nullptr;
    files = nullptr;
  }
};

/// The built-in sets: a Mamba model, a Mamba-2 model (the shapes of
/// state-spaces' mamba2-130m and -370m: heads of 64 channels, one group of
/// 128 states), a Nemotron-H-style hybrid (Mamba-2 blocks of 64-channel
/// heads in 8 groups of 64 states, 4x relu^2 MLPs, two grouped-query
/// attention blocks) and a Llama-style Transformer, each of about the same
/// parameter count, same vocabulary, tied embeddings.
llvm::Expected<std::vector<std::pair<std::string, models::ModelConfig>>>
presetConfigs(llvm::StringRef name) {
  models::ModelConfig mamba, mamba2, hybrid, llama;
  mamba.family = models::ModelConfig::Family::Mamba;
  mamba2.family = models::ModelConfig::Family::Mamba2;
  hybrid.family = models::ModelConfig::Family::NemotronH;
  llama.family = models::ModelConfig::Family::Llama;
  models::MambaConfig &m = mamba.mamba;
  models::Mamba2Config &m2 = mamba2.mamba2;
  models::NemotronHConfig &h = hybrid.nemotronH;
  models::LlamaConfig &l = llama.llama;
  m.vocabSize = m2.vocabSize = h.vocabSize = l.vocabSize = 50280;
  h.tieEmbeddings = true;
  h.maxPositions = 8192;
  h.headDim = 64;
  h.mamba.numGroups = 8;
  h.mamba.stateSize = 64;
  h.mamba.headDim = 64;
  m2.tieEmbeddings = true;
  m2.numGroups = 1;
  m2.stateSize = 128;
  m2.headDim = 64;
  l.tieEmbeddings = true;
  l.maxPositions = 8192;
  l.normEpsilon = 1e-5;
  if (name == "130m") {
    m.dModel = 768, m.numLayers = 24;
    // 10 Mamba-2, 9 MLP, 2 attention blocks: 128M parameters.
    h.pattern = "M-M-M-M*-M-M-M-M*-M-M";
    h.hiddenSize = 768, h.numHeads = 12, h.numKvHeads = 4;
    l.hiddenSize = 768, l.numLayers = 12, l.numHeads = 12, l.numKvHeads = 12,
    l.intermediateSize = 2048;
  } else if (name == "370m") {
    m.dModel = 1024, m.numLayers = 48;
    // 20 Mamba-2, 19 MLP, 4 attention blocks.
    h.pattern = "M-M-M-M*-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M";
    h.hiddenSize = 1024, h.numHeads = 16, h.numKvHeads = 4;
    l.hiddenSize = 1024, l.numLayers = 24, l.numHeads = 16, l.numKvHeads = 16,
    l.intermediateSize = 2816;
  } else {
    return error("unknown preset '" + name + "' (known: 130m, 370m)");
  }
  m.dInner = 2 * m.dModel;
  m.dtRank = (m.dModel + 15) / 16;
  m2.hiddenSize = m.dModel;
  m2.numLayers = m.numLayers;
  m2.dInner = 2 * m2.hiddenSize;
  m2.numHeads = m2.dInner / m2.headDim;
  h.numLayers = static_cast<int64_t>(h.pattern.size());
  h.intermediateSize = 4 * h.hiddenSize;
  h.mamba.hiddenSize = h.hiddenSize;
  h.mamba.numLayers = h.numLayers;
  h.mamba.vocabSize = h.vocabSize;
  h.mamba.dInner = 2 * h.hiddenSize;
  h.mamba.numHeads = h.mamba.dInner / h.mamba.headDim;
  l.headDim = l.hiddenSize / l.numHeads;
  return std::vector<std::pair<std::string, models::ModelConfig>>{
      {"mamba-" + name.str(), mamba},
      {"mamba2-" + name.str(), mamba2},
      {"hybrid-" + name.str(), hybrid},
      {"llama-" + name.str(), llama}};
}

/// Seeded weights of a preset, written once into the cache.
llvm::Expected<std::string> presetWeights(const models::ModelConfig &config) {
  std::string key = models::toConfigJson(config) + std::to_string(seed);
  std::string path = cacheDirectory() + "/weights-" +
                     llvm::utohexstr(llvm::xxh3_64bits(key), true, 16) +
                     ".safetensors";
  if (llvm::sys::fs::exists(path))
    return path;
  if (std::error_code ec = llvm::sys::fs::create_directories(cacheDirectory()))
    return error("cannot create " + cacheDirectory() + ": " + ec.message());
  if (llvm::Error e = models::writeRandomWeights(config, seed, path))
    return e;
  return path;
}

/// The files `m` binds: its checkpoint where that holds its matrices in
/// `m.dtype` (or f32 is asked for), else those matrices stored in that
/// format (quantized or rounded as the runtime would at bind, as
/// coil-quantize stores them) in the cache, so later starts bind them as
/// they are. One cache file per checkpoint and format, rewritten when the
/// checkpoint's files change (their sizes and modification times are kept
/// in its metadata).
llvm::Expected<std::string> storedWeights(const Model &m, ModuleOp module) {
  if (m.dtype == WeightDtype::F32)
    return m.weightsPath;
  std::unique_ptr<weights::WeightFileSet> files;
  if (weights::Status s = weights::WeightFileSet::open(m.weightsPath, files);
      !s)
    return error(s.message());
  if (::coil::tools::storedMatrixDtype(module, *files) == m.dtype)
    return m.weightsPath;
  std::set<std::string> sources;
  for (const weights::TensorInfo &t : files->tensors())
    sources.insert(t.file);
  std::string identity;
  for (const std::string &file : sources) {
    llvm::sys::fs::file_status status;
    if (std::error_code ec = llvm::sys::fs::status(file, status))
      return error("cannot read " + file + ": " + ec.message());
    identity += fmt::format(
        "{0} {1} {2};", file, status.getSize(),
        status.getLastModificationTime().time_since_epoch().count());
  }
  std::string key = models::toConfigJson(m.config) + m.weightsPath +
                    weightDtypeName(m.dtype).str();
  std::string path =
      cacheDirectory() + "/weights-" + weightDtypeName(m.dtype).str() + "-" +
      llvm::utohexstr(llvm::xxh3_64bits(key), true, 16) + ".safetensors";
  constexpr const char *kSourceKey = "coil.source";
  if (llvm::sys::fs::exists(path)) {
    std::unique_ptr<weights::WeightFileSet> cached;
    if (weights::WeightFileSet::open(path, cached)) {
      auto it = cached->metadata().find(kSourceKey);
      if (it != cached->metadata().end() && it->second == identity)
        return path;
    }
  }
  if (std::error_code ec = llvm::sys::fs::create_directories(cacheDirectory()))
    return error("cannot create " + cacheDirectory() + ": " + ec.message());
  llvm::errs() << "coil-bench: storing " << m.label << "'s matrices as "
               << weightDtypeName(m.dtype) << " in the cache...\n";
  llvm::Expected<models::QuantizedWeightsSummary> written =
      models::writeQuantizedWeights(module, *files, m.weightsPath, path,
                                    {{kSourceKey, identity}});
  if (!written)
    return written.takeError();
  return path;
}

llvm::Error prepare(Model &m, MLIRContext &context) {
  for (const models::WeightSpec &spec : models::weightSpecs(m.config)) {
    int64_t n = 1;
    for (int64_t d : spec.shape)
      n *= d;
    m.params += n;
  }
  if (m.weightsPath.empty()) {
    llvm::Expected<std::string> w = presetWeights(m.config);
    if (!w)
      return w.takeError();
    m.weightsPath = *w;
  }
  OwningOpRef<ModuleOp> module = models::buildModel(context, m.config);
  if (m.dtypeAsStored) {
    std::unique_ptr<weights::WeightFileSet> files;
    if (weights::Status s = weights::WeightFileSet::open(m.weightsPath, files);
        !s)
      return error(s.message());
    m.dtype = ::coil::tools::storedMatrixDtype(*module, *files);
  }
  if (llvm::Error e = setWeightDtype(*module, m.dtype))
    return e;
  // Each parameter once, in the type the model stores it.
  llvm::StringSet<> seen;
  m.storedWeightBytes = 0;
  module->walk([&](WeightOp w) {
    if (seen.insert((w.getName() + (w.getScales() ? "#scales" : "")).str())
            .second)
      m.storedWeightBytes += static_cast<double>(w.getType().getNumElements()) *
                             w.getType().getElementTypeBitWidth() / 8;
  });
  llvm::Expected<std::string> so = compileCached(*module);
  if (!so)
    return so.takeError();
  m.soPath = *so;
  llvm::Expected<std::string> bound = storedWeights(m, *module);
  if (!bound)
    return bound.takeError();
  m.boundWeightsPath = *bound;
  if (llvm::Error e = check(coil_model_load(m.soPath.c_str(), &m.model)))
    return e;
  if (llvm::Error e =
          check(coil_weights_open(m.boundWeightsPath.c_str(), &m.files)))
    return e;
  return check(coil_model_bind_weights(m.model, m.files));
}

/// A session that is released when it goes out of scope.
struct Session {
  coil_session_t *s = nullptr;
  ~Session() {
    if (s)
      coil_session_release(s);
  }
  static llvm::Expected<std::unique_ptr<Session>>
  open(const Model &m, int64_t batch, int64_t context, int threads) {
    auto session = std::make_unique<Session>();
    coil_session_options_t options;
    coil_session_options_initialize(&options);
    options.max_batch = batch;
    options.max_context = context;
    options.threads = threads;
    if (llvm::Error e =
            check(coil_session_create(m.model, &options, &session->s)))
      return std::move(e);
    return session;
  }
  llvm::Error prefill(int64_t batch, int64_t tokens, int64_t vocab) {
    std::vector<int32_t> ids(batch * tokens);
    for (size_t i = 0; i < ids.size(); ++i)
      ids[i] = static_cast<int32_t>((i * 7919 + 13) % vocab);
    return check(coil_session_prefill(s, ids.data(), batch, tokens));
  }
  llvm::Error decode(int64_t batch, int32_t token) {
    std::vector<int32_t> ids(batch, token);
    return check(coil_session_decode(s, ids.data(), batch));
  }
  /// Seconds of a prefill of `tokens` per sequence from an empty state.
  llvm::Expected<double> timedPrefill(int64_t batch, int64_t tokens,
                                      int64_t vocab) {
    coil_session_reset(s);
    Clock::time_point a = Clock::now();
    if (llvm::Error e = prefill(batch, tokens, vocab))
      return std::move(e);
    return seconds(a, Clock::now());
  }
  /// Mean seconds per step of `steps` decode steps.
  llvm::Expected<double> timedDecode(int64_t batch, int64_t steps) {
    Clock::time_point a = Clock::now();
    for (int64_t i = 0; i < steps; ++i)
      if (llvm::Error e = decode(batch, static_cast<int32_t>(1 + i)))
        return std::move(e);
    return seconds(a, Clock::now()) / steps;
  }
  /// The argmax of sequence 0's last row.
  int32_t next() {
    const float *logits;
    int64_t b, t, v;
    coil_status_free(coil_session_logits(s, &logits, &b, &t, &v));
    const float *row = logits + (t - 1) * v;
    return static_cast<int32_t>(std::max_element(row, row + v) - row);
  }
};

//===----------------------------------------------------------------------===//
// Results
//===----------------------------------------------------------------------===//

/// One measured point of one model.
struct Point {
  std::string model;
  double x = 0;
  Stat stat;
  double value = 0; ///< the reported quantity (median)
  double low = 0, high = 0;
  double roofline = -1; ///< achieved fraction of the relevant limit
  /// More numbers of the point (a load point's percentiles and counts).
  std::vector<std::pair<std::string, double>> extra;
};

/// A sweep: its points for every model.
struct Experiment {
  std::string name, title, xLabel, unit;
  bool logX = true, logY = false, higherIsBetter = true;
  std::string limit; ///< "flops", "bandwidth" or ""
  std::vector<Point> points;
};

/// The setting of the load study and what it found per model.
struct ServeStudy {
  int64_t slots = 0, context = 0, promptTokens = 0, outputTokens = 0;
  int64_t requestsPerPoint = 0;
  /// Per model: bytes of state one running request holds, and the lowest
  /// offered rate (requests/s) at which its requests queue (0: none): the
  /// median E2E twice, or the P90 TTFT four times, the lightest load's.
  std::map<std::string, double> stateBytes, saturation;
};

/// One model with its matrices in one weight format, against the same
/// model in f32 measured in the same rounds.
struct PrecisionRow {
  std::string model, format;
  /// The fraction of each layer's FFN or d_inner channels removed (0: the
  /// whole model; the request rounded to kept channels), which channels,
  /// and the parameters left.
  double pruned = 0;
  std::string channels;
  int64_t parameters = 0;
  double weightBytes = 0;
  /// Seconds per prefill of the study's prompt, and per decode step.
  Stat prefill, decode;
  /// Speed as a ratio to f32 (medians).
  double prefillRatio = 1, decodeRatio = 1;
  /// Accuracy against f32 (zero differences for f32 itself).
  double maxRelativeDifference = 0, meanKl = 0, agreement = 1;
  int64_t comparedRows = 0;
};

/// The setting of the precision study and its rows.
struct PrecisionStudy {
  int64_t prefillTokens = 0, prompts = 0, promptTokens = 0, generated = 0;
  int rounds = 0;
  std::vector<PrecisionRow> rows;
};

struct Run {
  std::vector<Experiment> experiments;
  bench::MachineLimits limits{};
  int cores = 1;
  ServeStudy serve;
  PrecisionStudy precision;
};

//===----------------------------------------------------------------------===//
// Experiments
//===----------------------------------------------------------------------===//

struct Sweeps {
  std::vector<int64_t> prefillT, decodeContext, batch, memoryContext;
  int64_t ttftPrompt, ttftGenerate, threadT, decodeSteps;
};

/// The experiment groups --experiments selects from.
const std::vector<llvm::StringRef> &experimentGroups() {
  static const std::vector<llvm::StringRef> groups{
      "prefill",      "decode-context", "decode-batch", "ttft",
      "state-memory", "threads",        "serve",        "precision"};
  return groups;
}

/// Whether experiment group `name` runs.
bool selected(llvm::StringRef name) {
  return experimentNames.empty() || llvm::is_contained(experimentNames, name);
}

Sweeps sweeps() {
  Sweeps sw = quick ? Sweeps{{16, 64}, {0, 32}, {1, 4}, {64, 256}, 32, 8, 64, 4}
                    : Sweeps{{128, 256, 512, 1024, 2048, 4096},
                             {0, 256, 1024, 2048, 4096},
                             {1, 2, 4, 8, 16, 32},
                             {256, 1024, 2048, 4096, 8192},
                             512,
                             128,
                             512,
                             8};
  if (!prefillLengths.empty())
    sw.prefillT.assign(prefillLengths.begin(), prefillLengths.end());
  if (!decodeContexts.empty())
    sw.decodeContext.assign(decodeContexts.begin(), decodeContexts.end());
  if (!decodeBatches.empty())
    sw.batch.assign(decodeBatches.begin(), decodeBatches.end());
  if (!selected("prefill"))
    sw.prefillT.clear();
  if (!selected("decode-context"))
    sw.decodeContext.clear();
  if (!selected("decode-batch"))
    sw.batch.clear();
  if (!selected("state-memory"))
    sw.memoryContext.clear();
  return sw;
}

/// Refuses unknown experiment names and impossible sweep points.
llvm::Error checkSelection() {
  for (const std::string &name : experimentNames)
    if (!llvm::is_contained(experimentGroups(), name))
      return error("unknown experiment '" + name +
                   "' (known: " + llvm::join(experimentGroups(), ", ") + ")");
  for (int64_t t : prefillLengths)
    if (t < 1)
      return error("--prefill-lengths: " + std::to_string(t) +
                   " is not a positive prompt length");
  for (int64_t c : decodeContexts)
    if (c < 0)
      return error("--contexts: " + std::to_string(c) +
                   " is not a context length (>= 0)");
  for (int64_t b : decodeBatches)
    if (b < 1)
      return error("--batches: " + std::to_string(b) +
                   " is not a positive batch size");
  for (cl::opt<int64_t> *o :
       {&servePrompt, &serveOutput, &serveRequests, &serveSlots})
    if (o->getNumOccurrences() && *o < 1)
      return error("--" + o->ArgStr.str() + ": " + std::to_string(*o) +
                   " is not positive");
  if (serveSlots > COIL_SESSION_MAX_BATCH)
    return error(fmt::format("--serve-slots: at most {0}",
                             COIL_SESSION_MAX_BATCH));
  return llvm::Error::success();
}

/// Runs every experiment for model `m`, adding points to `run`.
llvm::Error runModel(Model &m, Run &run, Progress &progress, double budget) {
  const Sweeps sw = sweeps();
  int64_t vocab = m.config.vocabSize();
  int cores = run.cores;
  auto find = [&](llvm::StringRef name) -> Experiment & {
    return *llvm::find_if(run.experiments,
                          [&](Experiment &e) { return e.name == name; });
  };
  auto add = [&](llvm::StringRef exp, double x, Stat stat, double value,
                 double low, double high, double roofline) {
    if (stat.runs == 0)
      return; // interrupted
    find(exp).points.push_back(
        {m.label, x, stat, value, low, high, roofline, {}});
  };

  // Prefill latency and throughput against prompt length.
  if (!sw.prefillT.empty()) {
    int64_t maxT = *std::max_element(sw.prefillT.begin(), sw.prefillT.end());
    auto session = Session::open(m, 1, maxT, cores);
    if (!session)
      return session.takeError();
    for (int64_t t : sw.prefillT) {
      if (stopRequested)
        return llvm::Error::success();
      progress.point(fmt::format("prefill {0} T={1}", m.label, t));
      llvm::Expected<Stat> s = measure(
          [&] { return (*session)->timedPrefill(1, t, vocab); }, budget);
      if (!s)
        return s.takeError();
      double tps = t / s->median;
      double fraction =
          m.prefillFlops(t) / s->median / 1e9 / run.limits.fmaGflops;
      add("prefill", t, *s, tps, t / s->max, t / s->min, fraction);
      add("prefill-latency", t, *s, s->median * 1e3, s->min * 1e3, s->max * 1e3,
          -1);
    }
  }

  // Decode latency per token against the context already in the state.
  if (!sw.decodeContext.empty()) {
    int64_t maxC =
        *std::max_element(sw.decodeContext.begin(), sw.decodeContext.end());
    int64_t capacity = maxC + sw.decodeSteps + 2;
    auto session = Session::open(m, 1, capacity, cores);
    if (!session)
      return session.takeError();
    size_t stateSize = coil_session_sequence_state_size((*session)->s);
    std::vector<uint8_t> saved(stateSize);
    for (int64_t c : sw.decodeContext) {
      if (stopRequested)
        return llvm::Error::success();
      progress.point(fmt::format("decode {0} context={1}", m.label, c));
      coil_session_reset((*session)->s);
      if (c > 0)
        if (llvm::Error e = (*session)->prefill(1, c, vocab))
          return e;
      if (llvm::Error e = check(coil_session_save_sequence(
              (*session)->s, 0, saved.data(), saved.size())))
        return e;
      llvm::Expected<Stat> s = measure(
          [&]() -> llvm::Expected<double> {
            if (llvm::Error e = check(coil_session_restore_sequence(
                    (*session)->s, 0, saved.data(), saved.size())))
              return std::move(e);
            return (*session)->timedDecode(1, sw.decodeSteps);
          },
          budget);
      if (!s)
        return s.takeError();
      double bytes = m.weightBytes() + m.stateBytesPerToken(c);
      double fraction = bytes / s->median / 1e9 / run.limits.readGBps;
      add("decode-context", c, *s, s->median * 1e3, s->min * 1e3, s->max * 1e3,
          fraction);
    }
  }

  // Decode throughput over all sequences against batch size.
  for (int64_t batch : sw.batch) {
    if (stopRequested)
      return llvm::Error::success();
    progress.point(fmt::format("batch {0} B={1}", m.label, batch));
    const int64_t prompt = 16;
    auto session =
        Session::open(m, batch, prompt + 4 * sw.decodeSteps + 4, cores);
    if (!session)
      return session.takeError();
    llvm::Expected<Stat> s = measure(
        [&]() -> llvm::Expected<double> {
          coil_session_reset((*session)->s);
          if (llvm::Error e = (*session)->prefill(batch, prompt, vocab))
            return std::move(e);
          return (*session)->timedDecode(batch, sw.decodeSteps);
        },
        budget);
    if (!s)
      return s.takeError();
    double bytes =
        m.weightBytes() + batch * m.stateBytesPerToken(prompt + sw.decodeSteps);
    add("decode-batch", batch, *s, batch / s->median, batch / s->max,
        batch / s->min, bytes / s->median / 1e9 / run.limits.readGBps);
  }

  // Time to first token and end-to-end time of a prompt + generation.
  if (selected("ttft")) {
    if (stopRequested)
      return llvm::Error::success();
    progress.point(fmt::format("ttft/e2e {0} {1}+{2}", m.label, sw.ttftPrompt,
                               sw.ttftGenerate));
    auto session =
        Session::open(m, 1, sw.ttftPrompt + sw.ttftGenerate + 1, cores);
    if (!session)
      return session.takeError();
    std::vector<double> ttfts;
    llvm::Expected<Stat> e2e = measure(
        [&]() -> llvm::Expected<double> {
          coil_session_reset((*session)->s);
          Clock::time_point a = Clock::now();
          if (llvm::Error e = (*session)->prefill(1, sw.ttftPrompt, vocab))
            return std::move(e);
          int32_t token = (*session)->next();
          ttfts.push_back(seconds(a, Clock::now()));
          for (int64_t i = 0; i < sw.ttftGenerate; ++i) {
            if (llvm::Error e = (*session)->decode(1, token))
              return std::move(e);
            token = (*session)->next();
          }
          return seconds(a, Clock::now());
        },
        budget, 2, 5);
    if (!e2e)
      return e2e.takeError();
    // The warm-up run's time to first token is not counted.
    ttfts.erase(ttfts.begin());
    if (ttfts.empty())
      return llvm::Error::success(); // interrupted
    std::sort(ttfts.begin(), ttfts.end());
    Stat first{ttfts[ttfts.size() / 2], ttfts.front(), ttfts.back(),
               static_cast<int>(ttfts.size())};
    add("ttft", 0, first, first.median * 1e3, first.min * 1e3, first.max * 1e3,
        -1);
    add("e2e", 1, *e2e, e2e->median, e2e->min, e2e->max, -1);
  }

  // State memory per sequence against context.
  for (int64_t c : sw.memoryContext) {
    if (stopRequested)
      return llvm::Error::success();
    if (m.maxContext() > 0 && c > m.maxContext())
      continue;
    progress.point(fmt::format("memory {0} context={1}", m.label, c));
    auto session = Session::open(m, 1, c, 1);
    if (!session)
      return session.takeError();
    double bytes = coil_session_sequence_state_size((*session)->s);
    Stat s{bytes, bytes, bytes, 1};
    add("state-memory", c, s, bytes / (1 << 20), bytes / (1 << 20),
        bytes / (1 << 20), -1);
  }

  // Threads: 1 against every core, for prefill and decode.
  for (int threads : {1, cores}) {
    if (stopRequested)
      return llvm::Error::success();
    if ((threads == 1 && cores == 1) || !selected("threads"))
      continue;
    progress.point(
        fmt::format("threads {0} threads={1}", m.label, threads));
    auto session =
        Session::open(m, 1, sw.threadT + sw.decodeSteps + 2, threads);
    if (!session)
      return session.takeError();
    llvm::Expected<Stat> p = measure(
        [&] { return (*session)->timedPrefill(1, sw.threadT, vocab); }, budget);
    if (!p)
      return p.takeError();
    add("threads-prefill", threads, *p, sw.threadT / p->median,
        sw.threadT / p->max, sw.threadT / p->min, -1);
    llvm::Expected<Stat> d = measure(
        [&]() -> llvm::Expected<double> {
          coil_session_reset((*session)->s);
          if (llvm::Error e = (*session)->prefill(1, 1, vocab))
            return std::move(e);
          return (*session)->timedDecode(1, sw.decodeSteps);
        },
        budget);
    if (!d)
      return d.takeError();
    add("threads-decode", threads, *d, 1.0 / d->median, 1.0 / d->max,
        1.0 / d->min, -1);
  }
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// The precision study
//===----------------------------------------------------------------------===//

std::string formatValue(double v);

/// Its sizes: small under --quick.
PrecisionStudy precisionSetting() {
  PrecisionStudy st;
  st.prefillTokens = quick ? 64 : 512;
  st.prompts = quick ? 2 : 4;
  st.promptTokens = quick ? 8 : 32;
  st.generated = quick ? 8 : 128;
  st.rounds = quick ? 2 : 5;
  return st;
}

/// The formats compared, f32 first (the reference); --quick keeps one
/// narrower format.
std::vector<WeightDtype> precisionFormats() {
  if (quick)
    return {WeightDtype::F32, WeightDtype::BF16};
  return {WeightDtype::F32, WeightDtype::BF16, WeightDtype::F16,
          WeightDtype::Int8, WeightDtype::Int4};
}

/// The formats of the pruned variants (--prune): pruning's own cost, and
/// its combination with the format that keeps accuracy best per byte.
std::vector<WeightDtype> prunedFormats() {
  if (quick)
    return {WeightDtype::F32};
  return {WeightDtype::F32, WeightDtype::Int8};
}

/// The channels kept are a multiple of this, so the pruned matrices keep
/// whole register tiles.
constexpr int64_t kPruneMultiple = 16;

models::PruneRequest pruneRequest(const models::ModelConfig &config) {
  models::PruneRequest request;
  (config.family == models::ModelConfig::Family::Mamba ? request.dInner
                                                       : request.ffn) =
      pruneFraction;
  request.multipleOf = kPruneMultiple;
  return request;
}

/// What a pruned variant's channels are called in the table.
const char *prunedChannels(const Model &m) {
  return m.isRecurrent() ? "d_inner" : "FFN";
}

/// The weights of `base` pruned by --prune, written into the cache: once
/// for a preset (its weights are a function of the key), anew for a
/// checkpoint (its files may have changed since).
llvm::Expected<std::string>
prunedWeights(const Model &base, models::ModelConfig &config, double &removed) {
  std::unique_ptr<weights::WeightFileSet> files;
  if (weights::Status s = weights::WeightFileSet::open(base.weightsPath, files);
      !s)
    return error(s.message());
  llvm::Expected<models::PrunedCheckpoint> pruned = models::pruneCheckpoint(
      base.config, *files, base.weightsPath, pruneRequest(base.config));
  if (!pruned)
    return pruned.takeError();
  config = pruned->config;
  removed = 1.0 - static_cast<double>(pruned->plan.kept) /
                      static_cast<double>(pruned->plan.channels);
  std::string key =
      models::toConfigJson(base.config) + base.weightsPath +
      fmt::format("{0}/{1}", pruned->plan.kept, pruned->plan.channels);
  std::string path = cacheDirectory() + "/weights-pruned-" +
                     llvm::utohexstr(llvm::xxh3_64bits(key), true, 16) +
                     ".safetensors";
  bool preset = llvm::StringRef(base.weightsPath).starts_with(cacheDirectory());
  if (preset && llvm::sys::fs::exists(path))
    return path;
  if (std::error_code ec = llvm::sys::fs::create_directories(cacheDirectory()))
    return error("cannot create " + cacheDirectory() + ": " + ec.message());
  if (llvm::Error e = models::writePrunedWeights(*pruned, path))
    return std::move(e);
  return path;
}

/// Progress points of the study per model.
constexpr int kPrecisionPoints = 2;

/// Each model built in every format: interleaved rounds of a timed prefill
/// and decode steps (each format's median over the same minutes, so drift
/// cancels in the ratios), then the same seeded prompts in every format,
/// greedy tokens chosen by f32 and fed to all, every next-token row
/// compared with f32's.
llvm::Error runPrecisionStudy(std::vector<Model> &models, Run &run,
                              Progress &progress, MLIRContext &context) {
  PrecisionStudy &st = run.precision;
  st = precisionSetting();
  const Sweeps sw = sweeps();
  std::vector<WeightDtype> formats = precisionFormats();
  for (Model &base : models) {
    if (stopRequested)
      return llvm::Error::success();
    // Each format's build (the main one where it is that format), then
    // the pruned variants.
    std::vector<std::unique_ptr<Model>> owned;
    std::vector<Model *> variants;
    std::vector<WeightDtype> variantFormats;
    std::vector<double> variantPruned;
    for (WeightDtype format : formats) {
      variantFormats.push_back(format);
      variantPruned.push_back(0);
      if (format == base.dtype) {
        variants.push_back(&base);
        continue;
      }
      auto v = std::make_unique<Model>();
      v->label = base.label;
      v->config = base.config;
      v->weightsPath = base.weightsPath;
      v->dtype = format;
      llvm::errs() << "coil-bench: preparing " << base.label << " with "
                   << weightDtypeName(format) << " weights...\n";
      if (llvm::Error e = prepare(*v, context))
        return e;
      variants.push_back(v.get());
      owned.push_back(std::move(v));
    }
    if (pruneFraction > 0 && models::canPrune(base.config)) {
      llvm::errs() << fmt::format("coil-bench: pruning {0:g}% of {1}'s {2} "
                                  "channels...\n",
                                  100 * pruneFraction, base.label,
                                  prunedChannels(base));
      models::ModelConfig prunedConfig;
      double removed = 0;
      llvm::Expected<std::string> path =
          prunedWeights(base, prunedConfig, removed);
      if (!path)
        return path.takeError();
      for (WeightDtype format : prunedFormats()) {
        auto v = std::make_unique<Model>();
        v->label = base.label;
        v->config = prunedConfig;
        v->weightsPath = *path;
        v->dtype = format;
        llvm::errs() << "coil-bench: preparing the pruned " << base.label
                     << " with " << weightDtypeName(format) << " weights...\n";
        if (llvm::Error e = prepare(*v, context))
          return e;
        variantFormats.push_back(format);
        variantPruned.push_back(removed);
        variants.push_back(v.get());
        owned.push_back(std::move(v));
      }
    }
    auto releaseOwned = llvm::make_scope_exit([&] {
      for (auto &v : owned)
        v->release();
    });
    int64_t vocab = base.config.vocabSize();
    int64_t capacity = std::max(st.prefillTokens + sw.decodeSteps,
                                st.promptTokens + st.generated) +
                       1;
    std::vector<std::unique_ptr<Session>> sessions;
    for (Model *v : variants) {
      auto session = Session::open(*v, 1, capacity, run.cores);
      if (!session)
        return session.takeError();
      sessions.push_back(std::move(*session));
    }

    progress.point(fmt::format("precision {0} speed", base.label));
    size_t n = variants.size();
    std::vector<std::vector<double>> prefillTimes(n), decodeTimes(n);
    for (int round = 0; round <= st.rounds && !stopRequested; ++round)
      for (size_t i = 0; i < n; ++i) {
        llvm::Expected<double> p =
            sessions[i]->timedPrefill(1, st.prefillTokens, vocab);
        if (!p)
          return p.takeError();
        llvm::Expected<double> d = sessions[i]->timedDecode(1, sw.decodeSteps);
        if (!d)
          return d.takeError();
        // Round 0 warms every format up.
        if (round > 0) {
          prefillTimes[i].push_back(*p);
          decodeTimes[i].push_back(*d);
        }
      }
    if (stopRequested)
      return llvm::Error::success();

    progress.point(fmt::format("precision {0} accuracy", base.label));
    std::vector<bench::LogitComparison> compared(n);
    auto lastRow = [&](Session &s) {
      const float *logits;
      int64_t b, t, v;
      coil_status_free(coil_session_logits(s.s, &logits, &b, &t, &v));
      return logits + (t - 1) * v;
    };
    uint64_t state = 0x9E3779B97F4A7C15ull * (static_cast<uint64_t>(seed) + 1);
    for (int64_t prompt = 0; prompt < st.prompts; ++prompt) {
      std::vector<int32_t> ids(st.promptTokens);
      for (int32_t &id : ids) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        id = static_cast<int32_t>((state >> 33) % static_cast<uint64_t>(vocab));
      }
      for (auto &s : sessions) {
        coil_session_reset(s->s);
        if (llvm::Error e = check(
                coil_session_prefill(s->s, ids.data(), 1, st.promptTokens)))
          return e;
      }
      for (int64_t step = 0; step < st.generated; ++step) {
        const float *reference = lastRow(*sessions[0]);
        for (size_t i = 0; i < n; ++i)
          compared[i].add(reference, lastRow(*sessions[i]), vocab);
        if (step + 1 == st.generated)
          break;
        int32_t token = sessions[0]->next();
        for (auto &s : sessions)
          if (llvm::Error e = s->decode(1, token))
            return e;
      }
    }

    Stat prefill0 = statOf(prefillTimes[0]), decode0 = statOf(decodeTimes[0]);
    for (size_t i = 0; i < n; ++i) {
      PrecisionRow row;
      row.model = base.label;
      row.format = weightDtypeName(variantFormats[i]).str();
      row.pruned = variantPruned[i];
      row.channels = prunedChannels(base);
      row.parameters = variants[i]->params;
      row.weightBytes = variants[i]->weightBytes();
      row.prefill = statOf(prefillTimes[i]);
      row.decode = statOf(decodeTimes[i]);
      row.prefillRatio = prefill0.median / row.prefill.median;
      row.decodeRatio = decode0.median / row.decode.median;
      row.maxRelativeDifference = compared[i].maxRelativeDifference();
      row.meanKl = compared[i].meanKlDivergence();
      row.agreement = compared[i].argmaxAgreement();
      row.comparedRows = compared[i].rows();
      st.rows.push_back(row);
    }
  }
  return llvm::Error::success();
}

void printPrecisionTable(llvm::raw_ostream &os, const PrecisionStudy &st) {
  if (st.rows.empty())
    return;
  os << fmt::format(
      "\nPrecision: weight formats against f32 (prefill of {0} tokens and "
      "decode at batch 1, medians of {1} interleaved rounds; accuracy over "
      "{2} prompts x {3} greedy tokens chosen by f32)\n",
      st.prefillTokens, st.rounds, st.prompts, st.generated);
  os << fmt::format("  {0:<14} {1:<7} {2:>6} {3:>11} {4:>18} {5:>18} "
                    "{6:>12} {7:>10} {8:>7}\n",
                    "model", "format", "pruned", "weights MiB", "prefill tok/s",
                    "decode tok/s", "max|dl|/max", "KL nats", "agree");
  for (const PrecisionRow &r : st.rows)
    os << fmt::format(
        "  {0:<14} {1:<7} {2:>6} {3:>11.1f} {4:>18} {5:>18} {6:>12.2e} "
        "{7:>10.2e} {8:>6.1f}%\n",
        r.model, r.format,
        r.pruned > 0 ? fmt::format("{0:.1f}%", 100 * r.pruned) : "-",
        r.weightBytes / (1 << 20),
        fmt::format("{0} ({1:.2f}x)",
                    formatValue(st.prefillTokens / r.prefill.median),
                    r.prefillRatio),
        fmt::format("{0} ({1:.2f}x)", formatValue(1.0 / r.decode.median),
                    r.decodeRatio),
        r.maxRelativeDifference, r.meanKl, 100 * r.agreement);
}

/// One sentence per narrower format: what it buys and costs each model.
std::string precisionVerdict(const PrecisionStudy &st) {
  std::string text;
  for (const std::string &format : {"bf16", "f16", "int8", "int4"}) {
    std::vector<std::string> parts;
    for (const PrecisionRow &r : st.rows)
      if (r.format == format && r.pruned == 0)
        parts.push_back(fmt::format(
            "{0} decodes {1:.2f}x and prefills {2:.2f}x as fast as with f32 "
            "weights (mean KL {3:.1e} nats per token, greedy agreement "
            "{4:.1f}%)",
            r.model, r.decodeRatio, r.prefillRatio, r.meanKl,
            100 * r.agreement));
    if (!parts.empty())
      text += "With " + format + " weights, " + llvm::join(parts, "; ") + ". ";
  }
  std::vector<std::string> pruned;
  for (const PrecisionRow &r : st.rows)
    if (r.pruned > 0)
      pruned.push_back(fmt::format(
          "{0} with {1:.1f}% of its {2} channels removed decodes {3:.2f}x "
          "and prefills {4:.2f}x as fast in {5} as the whole model in f32 "
          "(mean KL {6:.1e} nats per token, greedy agreement {7:.1f}%)",
          r.model, 100 * r.pruned, r.channels, r.decodeRatio, r.prefillRatio,
          r.format, r.meanKl, 100 * r.agreement));
  if (!pruned.empty())
    text += "Pruned: " + llvm::join(pruned, "; ") + ". ";
  return text;
}

/// The load study's sizes: small under --quick.
ServeStudy serveSetting() {
  ServeStudy st;
  st.slots = serveSlots ? serveSlots : quick ? 4 : 8;
  st.promptTokens = servePrompt ? servePrompt : quick ? 16 : 128;
  st.outputTokens = serveOutput ? serveOutput : quick ? 8 : 32;
  st.requestsPerPoint = serveRequests ? serveRequests : quick ? 8 : 16;
  st.context = st.promptTokens * 3 / 2 + st.outputTokens * 3 / 2 + 2;
  return st;
}

/// The number of points the load study measures per model.
int servePoints() { return quick ? 2 + 3 : 3 + 4; }

/// One load point as an experiment's point: `value` and its bar, and the
/// percentiles and counts in `extra`.
Point loadPoint(const std::string &model, double x,
                const bench::LoadResult &r, double value, double low,
                double high) {
  Point p;
  p.model = model;
  p.x = x;
  p.value = value;
  p.low = low;
  p.high = high;
  p.stat = Stat{r.seconds, r.seconds, r.seconds,
                static_cast<int>(r.completed())};
  std::vector<double> ttft = r.ttft(), tpot = r.tpot(), e2e = r.e2e();
  p.extra = {{"sent", double(r.requests.size())},
             {"completed", double(r.completed())},
             {"rejected", double(r.rejected())},
             {"requests_per_s", r.completed() / r.seconds},
             {"tokens_per_s", r.tokens() / r.seconds}};
  for (auto [name, values, scale] :
       {std::tuple{"ttft_ms", &ttft, 1e3}, std::tuple{"tpot_ms", &tpot, 1e3},
        std::tuple{"e2e_s", &e2e, 1.0}})
    for (auto [q, label] : {std::pair{0.5, "p50"}, std::pair{0.9, "p90"},
                            std::pair{0.99, "p99"}})
      p.extra.push_back({std::string(name) + "_" + label,
                         scale * bench::quantile(*values, q)});
  return p;
}

double extraOf(const Point &p, llvm::StringRef key) {
  for (const auto &[k, v] : p.extra)
    if (k == key)
      return v;
  return NAN;
}

/// The load study: each model behind its own coil-serve on loopback; a
/// closed-loop sweep of clients, then Poisson arrivals at rates that are
/// fractions and multiples of the best closed-loop request rate of all
/// models, the same rates for every model.
llvm::Error runServeStudy(std::vector<Model> &models, Run &run,
                          Progress &progress) {
  ServeStudy &st = run.serve;
  st = serveSetting();
  std::string serveBinary =
      (llvm::sys::path::parent_path(llvm::sys::fs::getMainExecutable(
           "coil-bench", reinterpret_cast<void *>(&serveSetting))) +
       "/coil-serve")
          .str();
  if (!llvm::sys::fs::can_execute(serveBinary))
    return error("the serve study needs coil-serve next to coil-bench (" +
                 serveBinary + ")");
  double maxSeconds = quick ? 30 : 120;
  auto add = [&](const std::string &name, Point p) {
    for (Experiment &e : run.experiments)
      if (e.name == name)
        e.points.push_back(std::move(p));
  };
  auto startServer = [&](const Model &m, bench::ServerProcess &server) {
    std::vector<std::string> args = {m.soPath,
                                     "--weights",
                                     m.boundWeightsPath,
                                     "--slots",
                                     std::to_string(st.slots),
                                     "--context",
                                     std::to_string(st.context),
                                     "--max-queue",
                                     std::to_string(st.requestsPerPoint),
                                     "--max-tokens",
                                     std::to_string(st.outputTokens * 2),
                                     "--prefix-cache-mb",
                                     "0",
                                     "--threads",
                                     std::to_string(run.cores)};
    std::string problem = server.start(serveBinary, args);
    return problem.empty() ? llvm::Error::success()
                           : error(m.label + ": " + problem);
  };
  std::vector<int> clients = quick ? std::vector<int>{1, int(st.slots)}
                                   : std::vector<int>{1, int(st.slots / 2),
                                                      int(st.slots)};
  double best = 0;
  for (Model &m : models) {
    if (stopRequested)
      return llvm::Error::success();
    {
      // The memory one running request holds at the study's context.
      auto session = Session::open(m, 1, st.context, 1);
      if (!session)
        return session.takeError();
      st.stateBytes[m.label] = coil_session_sequence_state_size((*session)->s);
    }
    bench::ServerProcess server;
    if (llvm::Error e = startServer(m, server))
      return e;
    uint64_t salt = 0;
    for (int c : clients) {
      if (stopRequested)
        return llvm::Error::success();
      progress.point(fmt::format("serve {0} clients={1}", m.label, c));
      bench::LoadResult r = bench::runClosedLoop(
          server.port(),
          bench::makeRequests(st.requestsPerPoint, st.promptTokens,
                              st.outputTokens, m.config.vocabSize(),
                              seed + ++salt),
          c, maxSeconds);
      double tps = r.tokens() / r.seconds;
      add("serve-concurrency", loadPoint(m.label, c, r, tps, tps, tps));
      best = std::max(best, r.completed() / r.seconds);
    }
  }
  if (best <= 0)
    return llvm::Error::success();
  // Rates from light load to overload, rounded for the axis.
  std::vector<double> rates;
  for (double f : quick ? std::vector<double>{0.5, 1.0, 2.0}
                        : std::vector<double>{0.25, 0.5, 1.0, 2.0})
    rates.push_back(std::max(0.01, std::round(f * best * 100) / 100));
  for (Model &m : models) {
    if (stopRequested)
      return llvm::Error::success();
    bench::ServerProcess server;
    if (llvm::Error e = startServer(m, server))
      return e;
    double lightTtft = NAN, lightE2e = NAN;
    st.saturation[m.label] = 0;
    uint64_t salt = 100;
    for (double rate : rates) {
      if (stopRequested)
        return llvm::Error::success();
      progress.point(fmt::format("serve {0} rate={1}/s", m.label, rate));
      ++salt;
      bench::LoadResult r = bench::runOpenLoop(
          server.port(),
          bench::makeRequests(st.requestsPerPoint, st.promptTokens,
                              st.outputTokens, m.config.vocabSize(),
                              seed + salt),
          rate, seed + salt, maxSeconds);
      double tps = r.tokens() / r.seconds;
      add("serve-throughput", loadPoint(m.label, rate, r, tps, tps, tps));
      std::vector<double> ttft = r.ttft(), tpot = r.tpot(), e2e = r.e2e();
      auto bar = [&](const char *name, const std::vector<double> &v,
                     double scale) {
        double p50 = scale * bench::quantile(v, 0.5),
               p90 = scale * bench::quantile(v, 0.9);
        add(name, loadPoint(m.label, rate, r, p50, p50, p90));
      };
      bar("serve-ttft", ttft, 1e3);
      bar("serve-tpot", tpot, 1e3);
      bar("serve-e2e", e2e, 1.0);
      // Saturated: requests wait, their median E2E is twice, or their P90
      // TTFT four times, that of the lightest load.
      double p90 = bench::quantile(ttft, 0.9),
             p50e2e = bench::quantile(e2e, 0.5);
      if (std::isnan(lightTtft)) {
        lightTtft = p90;
        lightE2e = p50e2e;
      }
      if (st.saturation[m.label] == 0 &&
          (p50e2e > 2 * lightE2e || p90 > 4 * lightTtft))
        st.saturation[m.label] = rate;
    }
  }
  return llvm::Error::success();
}

std::vector<Experiment> experimentList() {
  return {
      {"prefill",
       "Prefill throughput vs prompt length",
       "prompt tokens (T)",
       "tokens/s",
       true,
       true,
       true,
       "flops",
       {}},
      {"prefill-latency",
       "Prefill latency vs prompt length",
       "prompt tokens (T)",
       "ms",
       true,
       true,
       false,
       "",
       {}},
      {"decode-context",
       "Decode latency per token vs context",
       "tokens already in the state / KV cache",
       "ms/token",
       false,
       false,
       false,
       "bandwidth",
       {}},
      {"decode-batch",
       "Decode throughput vs batch",
       "sequences (batch)",
       "tokens/s",
       true,
       true,
       true,
       "bandwidth",
       {}},
      {"ttft", "Time to first token", "", "ms", false, false, false, "", {}},
      {"e2e",
       "End-to-end prompt + generation",
       "",
       "s",
       false,
       false,
       false,
       "",
       {}},
      {"state-memory",
       "State memory per sequence vs context",
       "context (tokens)",
       "MiB",
       true,
       true,
       false,
       "",
       {}},
      {"threads-prefill",
       "Prefill throughput vs threads",
       "threads",
       "tokens/s",
       false,
       false,
       true,
       "",
       {}},
      {"threads-decode",
       "Decode throughput vs threads",
       "threads",
       "tokens/s",
       false,
       false,
       true,
       "",
       {}},
      {"serve-concurrency",
       "Served output throughput vs concurrent clients",
       "clients (closed loop)",
       "tokens/s",
       false,
       false,
       true,
       "",
       {}},
      {"serve-throughput",
       "Served output throughput vs request rate",
       "offered requests/s (Poisson)",
       "tokens/s",
       false,
       false,
       true,
       "",
       {}},
      {"serve-ttft",
       "Time to first token under load (median, bar to P90)",
       "offered requests/s (Poisson)",
       "ms",
       false,
       true,
       false,
       "",
       {}},
      {"serve-tpot",
       "Time per output token under load (median, bar to P90)",
       "offered requests/s (Poisson)",
       "ms",
       false,
       true,
       false,
       "",
       {}},
      {"serve-e2e",
       "Request latency under load (median, bar to P90)",
       "offered requests/s (Poisson)",
       "s",
       false,
       true,
       false,
       "",
       {}},
  };
}

//===----------------------------------------------------------------------===//
// Reporting
//===----------------------------------------------------------------------===//

const Point *pointOf(const Experiment &e, llvm::StringRef model, double x) {
  for (const Point &p : e.points)
    if (p.model == model && p.x == x)
      return &p;
  return nullptr;
}

std::vector<double> xsOf(const Experiment &e) {
  std::vector<double> xs;
  for (const Point &p : e.points)
    if (!llvm::is_contained(xs, p.x))
      xs.push_back(p.x);
  std::sort(xs.begin(), xs.end());
  return xs;
}

/// x values are counts: printed as integers.
std::string formatX(double x) {
  if (x != std::round(x)) // a request rate
    return fmt::format("{0:.3g}", x);
  return std::to_string(static_cast<int64_t>(std::llround(x)));
}

std::string formatValue(double v) {
  if (v >= 1000)
    return fmt::format("{0:.0f}", v);
  if (v >= 10)
    return fmt::format("{0:.1f}", v);
  return fmt::format("{0:.3f}", v);
}

/// "mamba" of "mamba-130m": a column's short name.
std::string familyOf(const std::string &label) {
  return label.substr(0, label.find('-'));
}

/// The terminal table of one experiment: a column per model, then the
/// ratio of each of `compared` to `baseline` per point.
void printTable(llvm::raw_ostream &os, const Experiment &e,
                const std::vector<std::string> &labels,
                const std::vector<std::string> &compared,
                const std::string &baseline) {
  os << "\n"
     << e.title << " (" << e.unit << ", median [min-max] x runs; "
     << (e.higherIsBetter ? "higher" : "lower") << " is better)\n";
  os << fmt::format("  {0:<10}", e.xLabel.empty() ? "" : "x");
  for (const std::string &label : labels)
    os << fmt::format(" {0:<34}", label);
  for (const std::string &label : compared)
    os << fmt::format(" {0:<13}", familyOf(label) + "/" + familyOf(baseline));
  os << "\n";
  for (double x : xsOf(e)) {
    auto cell = [&](const Point *p) -> std::string {
      if (!p)
        return "-";
      std::string s = fmt::format("{0} [{1}-{2}] x{3}", formatValue(p->value),
                                    formatValue(p->low), formatValue(p->high),
                                    p->stat.runs);
      if (p->roofline >= 0)
        s += fmt::format(" {0:.0f}%", 100 * p->roofline);
      return s;
    };
    os << fmt::format("  {0:<10}", e.name == "ttft" || e.name == "e2e"
                                       ? std::string("")
                                       : formatX(x));
    for (const std::string &label : labels)
      os << fmt::format(" {0:<34}", cell(pointOf(e, label, x)));
    const Point *pb = pointOf(e, baseline, x);
    for (const std::string &label : compared) {
      const Point *pa = pointOf(e, label, x);
      os << fmt::format(" {0:<13}", pa && pb && pb->value != 0
                                        ? formatValue(pa->value / pb->value)
                                        : "-");
    }
    os << "\n";
  }
}

/// The load study's percentiles per offered rate.
void printServeTable(llvm::raw_ostream &os, const Run &run,
                     const std::vector<std::string> &labels) {
  const Experiment *e = nullptr;
  for (const Experiment &x : run.experiments)
    if (x.name == "serve-throughput")
      e = &x;
  if (!e || e->points.empty())
    return;
  os << "\nUnder load: Poisson arrivals, " << run.serve.requestsPerPoint
     << " requests per rate (TTFT and TPOT in ms, E2E in s; P50/P90/P99)\n";
  os << fmt::format("  {0:<8} {1:<14} {2:>8} {3:>7} {4:<20} {5:<20} {6:<18}\n",
                    "req/s", "model", "tok/s", "done", "TTFT", "TPOT", "E2E");
  for (double x : xsOf(*e))
    for (const std::string &m : labels) {
      const Point *p = pointOf(*e, m, x);
      if (!p)
        continue;
      auto three = [&](const char *name) {
        return fmt::format("{0}/{1}/{2}",
                           formatValue(extraOf(*p, std::string(name) + "_p50")),
                           formatValue(extraOf(*p, std::string(name) + "_p90")),
                           formatValue(extraOf(*p, std::string(name) + "_p99")));
      };
      os << fmt::format("  {0:<8} {1:<14} {2:>8} {3:>7} {4:<20} {5:<20} "
                        "{6:<18}\n",
                        formatValue(x), m, formatValue(p->value),
                        fmt::format("{0}/{1}", int(extraOf(*p, "completed")),
                                    int(extraOf(*p, "sent"))),
                        three("ttft_ms"), three("tpot_ms"), three("e2e_s"));
    }
}

/// Where `a` stops or starts beating `b` along an experiment's x axis, by
/// linear interpolation of the ratio; nullopt if it never changes.
std::optional<double> crossover(const Experiment &e, const std::string &a,
                                const std::string &b) {
  std::optional<std::pair<double, double>> prev;
  for (double x : xsOf(e)) {
    const Point *pa = pointOf(e, a, x), *pb = pointOf(e, b, x);
    if (!pa || !pb)
      continue;
    double r = pa->value / pb->value - 1.0;
    if (prev && (prev->second < 0) != (r < 0) && r != prev->second)
      return prev->first +
             (x - prev->first) * (-prev->second) / (r - prev->second);
    prev = {x, r};
  }
  return std::nullopt;
}

double ratioAt(const Experiment &e, const std::string &a, const std::string &b,
               double x) {
  const Point *pa = pointOf(e, a, x), *pb = pointOf(e, b, x);
  return pa && pb && pb->value ? pa->value / pb->value : NAN;
}

/// A paragraph computed from the data.
std::string verdict(const Run &run, const std::string &a,
                    const std::string &b) {
  std::string text;
  llvm::raw_string_ostream os(text);
  auto get = [&](llvm::StringRef name) -> const Experiment & {
    return *llvm::find_if(run.experiments,
                          [&](const Experiment &e) { return e.name == name; });
  };
  const Experiment &prefill = get("prefill");
  std::vector<double> xs = xsOf(prefill);
  if (!xs.empty()) {
    double lo = ratioAt(prefill, a, b, xs.front()),
           hi = ratioAt(prefill, a, b, xs.back());
    if (!std::isnan(lo) && !std::isnan(hi)) {
      os << fmt::format("Prefill: {0} processes prompts at {1:.2f}x the "
                          "speed of {2} at T={3} and {4:.2f}x at T={5}",
                          a, lo, b, formatX(xs.front()), hi,
                          formatX(xs.back()));
      if (auto c = crossover(prefill, a, b))
        os << fmt::format(" (they are equal near T={0:.0f})", *c);
      os << ". ";
    }
  }
  const Experiment &decode = get("decode-context");
  xs = xsOf(decode);
  if (!xs.empty()) {
    // For latency, lower is better: speed ratio is the inverse.
    double lo = 1.0 / ratioAt(decode, a, b, xs.front()),
           hi = 1.0 / ratioAt(decode, a, b, xs.back());
    if (!std::isnan(lo) && !std::isnan(hi)) {
      os << fmt::format("Decode: per token, {0} is {1:.2f}x as fast as {2} "
                          "with an empty context and {3:.2f}x at {4} tokens of "
                          "context",
                          a, lo, b, hi, formatX(xs.back()));
      // Whichever is slower with the shortest context overtakes.
      if (auto c = crossover(decode, a, b))
        os << fmt::format("; {0} overtakes {1} at about {2:.0f} tokens",
                          lo < 1 ? a : b, lo < 1 ? b : a, *c);
      else
        os << (hi >= 1 && lo >= 1 ? "; it is faster at every context measured"
               : hi < 1 && lo < 1 ? "; it is slower at every context measured"
                                  : "");
      os << ". ";
    }
  }
  const Experiment &batch = get("decode-batch");
  xs = xsOf(batch);
  if (!xs.empty() && !std::isnan(ratioAt(batch, a, b, xs.front())) &&
      !std::isnan(ratioAt(batch, a, b, xs.back())))
    os << fmt::format("Batched decode: {0:.2f}x the throughput at batch {1} "
                        "and {2:.2f}x at batch {3}. ",
                        ratioAt(batch, a, b, xs.front()), formatX(xs.front()),
                        ratioAt(batch, a, b, xs.back()), formatX(xs.back()));
  const Experiment &memory = get("state-memory");
  xs = xsOf(memory);
  if (!xs.empty()) {
    const Point *pa = pointOf(memory, a, xs.back()),
                *pb = pointOf(memory, b, xs.back()),
                *first = pointOf(memory, a, xs.front());
    // A fixed state, or one that grows with the context (a KV cache).
    if (pa && pb && first && first->value == pa->value)
      os << fmt::format("State: {0} keeps {1:.1f} MiB per sequence whatever "
                          "the context; {2} needs {3:.1f} MiB at {4} tokens. ",
                          a, pa->value, b, pb->value, formatX(xs.back()));
    else if (pa && pb)
      os << fmt::format("State: at {0} tokens {1} needs {2:.1f} MiB per "
                        "sequence and {3} {4:.1f} MiB. ",
                        formatX(xs.back()), a, pa->value, b, pb->value);
  }
  const Experiment &served = get("serve-concurrency");
  xs = xsOf(served);
  if (!xs.empty()) {
    const ServeStudy &st = run.serve;
    const Point *pa = pointOf(served, a, xs.back()),
                *pb = pointOf(served, b, xs.back());
    if (pa && pb)
      os << fmt::format("Serving ({0} slots, prompts of about {1} tokens, "
                        "outputs of about {2}): with {3} clients {4} "
                        "delivers {5:.0f} tokens/s and {6} {7:.0f} ({8:.2f}x). ",
                        st.slots, st.promptTokens, st.outputTokens,
                        formatX(xs.back()), a, pa->value, b, pb->value,
                        pa->value / pb->value);
    auto saturation = [&](const std::string &m) -> std::string {
      auto it = st.saturation.find(m);
      if (it == st.saturation.end())
        return "";
      return it->second > 0
                 ? fmt::format("{0} saturates at about {1} requests/s", m,
                               formatX(it->second))
                 : fmt::format("{0} keeps up with every rate offered", m);
    };
    std::string sa = saturation(a), sb = saturation(b);
    if (!sa.empty() && !sb.empty())
      os << sa << ", " << sb << ". ";
    auto ma = st.stateBytes.find(a), mb = st.stateBytes.find(b);
    if (ma != st.stateBytes.end() && mb != st.stateBytes.end())
      os << fmt::format("Each running request holds {0:.2f} MiB of state "
                        "({1}) and {2:.2f} MiB ({3}) at a context of {4} "
                        "tokens. ",
                        ma->second / (1 << 20), a, mb->second / (1 << 20), b,
                        st.context);
  }
  const Experiment &threads = get("threads-decode");
  xs = xsOf(threads);
  if (xs.size() >= 2) {
    const Point *a1 = pointOf(threads, a, xs.front()),
                *an = pointOf(threads, a, xs.back()),
                *b1 = pointOf(threads, b, xs.front()),
                *bn = pointOf(threads, b, xs.back());
    if (a1 && an && b1 && bn)
      os << fmt::format("Going from 1 to {0} threads speeds decode up "
                          "{1:.2f}x ({2}) and {3:.2f}x ({4}).",
                          formatX(xs.back()), an->value / a1->value, a,
                          bn->value / b1->value, b);
  }
  return text;
}

llvm::Error writeFile(llvm::StringRef path, llvm::StringRef contents) {
  return llvm::writeToOutput(path, [&](llvm::raw_ostream &os) {
    os << contents;
    return llvm::Error::success();
  });
}

json::Value configJson(const models::ModelConfig &config) {
  llvm::Expected<json::Value> parsed =
      json::parse(models::toConfigJson(config));
  if (!parsed) {
    llvm::consumeError(parsed.takeError());
    return nullptr;
  }
  return std::move(*parsed);
}

json::Value precisionJson(const PrecisionStudy &st) {
  json::Array rows;
  auto statJson = [](const Stat &s) {
    return json::Object{{"median_s", s.median},
                        {"min_s", s.min},
                        {"max_s", s.max},
                        {"runs", s.runs}};
  };
  for (const PrecisionRow &r : st.rows)
    rows.push_back(json::Object{
        {"model", r.model},
        {"format", r.format},
        {"pruned_fraction", r.pruned},
        {"pruned_channels", r.pruned > 0 ? r.channels : ""},
        {"parameters", r.parameters},
        {"weight_bytes", r.weightBytes},
        {"prefill", statJson(r.prefill)},
        {"decode", statJson(r.decode)},
        {"prefill_tokens_per_s", st.prefillTokens / r.prefill.median},
        {"decode_tokens_per_s", 1.0 / r.decode.median},
        {"prefill_ratio_to_f32", r.prefillRatio},
        {"decode_ratio_to_f32", r.decodeRatio},
        {"max_relative_logit_difference", r.maxRelativeDifference},
        {"mean_kl_nats", r.meanKl},
        {"greedy_agreement", r.agreement},
        {"compared_rows", r.comparedRows}});
  return json::Object{{"prefill_tokens", st.prefillTokens},
                      {"prompts", st.prompts},
                      {"prompt_tokens", st.promptTokens},
                      {"generated_tokens", st.generated},
                      {"rounds", st.rounds},
                      {"rows", std::move(rows)}};
}

llvm::Error writeResults(const Run &run, const std::vector<Model> &models,
                         const bench::MachineInfo &machine,
                         const std::string &dir, const std::string &summary,
                         bool complete) {
  json::Array experiments;
  std::string csv = "experiment,model,x,value,unit,min,max,runs,"
                    "roofline_fraction\n";
  for (const Experiment &e : run.experiments) {
    json::Array points;
    for (const Point &p : e.points) {
      points.push_back(json::Object{
          {"model", p.model},
          {"x", p.x},
          {"value", p.value},
          {"min", p.low},
          {"max", p.high},
          {"runs", p.stat.runs},
          {"seconds_median", p.stat.median},
          {"roofline_fraction",
           p.roofline >= 0 ? json::Value(p.roofline) : json::Value(nullptr)},
          {"extra", [&] {
             json::Object o;
             for (const auto &[key, value] : p.extra)
               o[key] = std::isfinite(value) ? json::Value(value)
                                             : json::Value(nullptr);
             return o;
           }()}});
      csv += fmt::format(
          "{0},{1},{2},{3},{4},{5},{6},{7},{8}\n", e.name, p.model, p.x,
          p.value, e.unit, p.low, p.high, p.stat.runs,
          p.roofline >= 0 ? std::to_string(p.roofline) : std::string(""));
    }
    experiments.push_back(json::Object{{"name", e.name},
                                       {"title", e.title},
                                       {"x", e.xLabel},
                                       {"unit", e.unit},
                                       {"limit", e.limit},
                                       {"points", std::move(points)}});
    // One chart per experiment.
    std::vector<bench::Series> series;
    for (const Model &m : models) {
      bench::Series s;
      s.name = m.label;
      for (const Point &p : e.points)
        if (p.model == m.label) {
          s.x.push_back(p.x);
          s.y.push_back(p.value);
          s.yLow.push_back(p.low);
          s.yHigh.push_back(p.high);
        }
      series.push_back(std::move(s));
    }
    bench::ChartOptions options;
    options.title = e.title;
    options.xLabel = e.xLabel.empty() ? "run" : e.xLabel;
    options.yLabel = e.unit;
    options.logX = e.logX;
    options.logY = e.logY;
    if (llvm::Error err = writeFile(dir + "/" + e.name + ".svg",
                                    bench::renderLineChart(series, options)))
      return err;
  }
  // The precision study: decode speed against the bytes of the weights.
  if (!run.precision.rows.empty()) {
    // One line per model, and one per pruned model.
    std::vector<bench::Series> series;
    for (const Model &m : models)
      for (bool pruned : {false, true}) {
        bench::Series s;
        for (const PrecisionRow &r : run.precision.rows)
          if (r.model == m.label && (r.pruned > 0) == pruned) {
            s.name = pruned ? fmt::format("{0}, {1:.1f}% of {2} pruned",
                                          m.label, 100 * r.pruned, r.channels)
                            : m.label;
            s.x.push_back(r.weightBytes / (1 << 20));
            s.y.push_back(1.0 / r.decode.median);
            s.yLow.push_back(1.0 / r.decode.max);
            s.yHigh.push_back(1.0 / r.decode.min);
          }
        if (!s.x.empty())
          series.push_back(std::move(s));
      }
    bench::ChartOptions options;
    options.title = "Decode speed vs weight bytes (f32, bf16, f16, int8, int4)";
    options.xLabel = "weights (MiB)";
    options.yLabel = "tokens/s";
    options.logX = true;
    if (llvm::Error err = writeFile(dir + "/precision.svg",
                                    bench::renderLineChart(series, options)))
      return err;
  }
  json::Array modelList;
  for (const Model &m : models)
    modelList.push_back(json::Object{{"label", m.label},
                                     {"family", m.config.familyName()},
                                     {"parameters", m.params},
                                     {"weight_dtype", weightDtypeName(m.dtype)},
                                     {"weight_bytes", m.weightBytes()},
                                     {"config", configJson(m.config)}});
  json::Object root{
      {"format", "coil-bench"},
      {"version", 1},
      {"complete", complete},
      {"quick", static_cast<bool>(quick)},
      {"machine",
       json::Object{{"cpu", machine.cpuModel},
                    {"logical_cores", machine.logicalCores},
                    {"isa", json::Array(machine.isaFlags)},
                    {"os", machine.os},
                    {"memory_bytes", static_cast<int64_t>(machine.memoryBytes)},
                    {"compiler", machine.compiler},
                    {"coil", compilerVersion()},
                    {"git_revision", machine.gitRevision}}},
      {"limits", json::Object{{"fma_gflops", run.limits.fmaGflops},
                              {"read_gbps", run.limits.readGBps},
                              {"threads", run.limits.threads}}},
      {"models", std::move(modelList)},
      {"experiments", std::move(experiments)},
      {"precision", precisionJson(run.precision)},
      {"summary", summary}};
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::formatv("{0:2}", json::Value(std::move(root))) << "\n";
  if (llvm::Error e = writeFile(dir + "/results.json", text))
    return e;
  if (llvm::Error e = writeFile(dir + "/results.csv", csv))
    return e;
  return writeFile(dir + "/summary.txt", summary);
}

//===----------------------------------------------------------------------===//
// Driver
//===----------------------------------------------------------------------===//

llvm::Error runBench() {
  if (pointBudget < 0)
    return error("--point-seconds must be >= 0");
  if (llvm::Error e = checkSelection())
    return e;
  double budget =
      pointBudget > 0 ? pointBudget.getValue() : (quick ? 0.3 : 3.0);
  // Resolve every model and check every sweep before any work.
  std::vector<Model> models;
  if (modelDirs.empty()) {
    auto pair = presetConfigs(preset);
    if (!pair)
      return pair.takeError();
    for (auto &[label, config] : *pair) {
      Model m;
      m.label = label;
      m.config = config;
      m.dtype = weightDtype;
      models.push_back(std::move(m));
    }
  } else {
    for (const std::string &dir : modelDirs) {
      if (!llvm::sys::fs::is_directory(dir))
        return error("--model " + dir + " is not a readable directory");
      llvm::Expected<models::ModelConfig> config = models::loadModelConfig(dir);
      if (!config)
        return config.takeError();
      // The checkpoint's tensors against its config, before any build.
      std::unique_ptr<weights::WeightFileSet> files;
      if (weights::Status s = weights::WeightFileSet::open(dir, files); !s)
        return error(s.message());
      if (llvm::Error e = models::checkCheckpointWeights(*config, *files, dir))
        return e;
      Model m;
      m.label = llvm::sys::path::filename(dir).str();
      m.config = *config;
      m.weightsPath = dir;
      m.dtype = weightDtype;
      m.dtypeAsStored = weightDtype.getNumOccurrences() == 0;
      models.push_back(std::move(m));
    }
  }
  // A pruning request against every model, before any weight is read.
  if (pruneFraction.getNumOccurrences()) {
    if (!selected("precision"))
      return error("--prune adds variants to the precision study, which "
                   "--experiments leaves out");
    if (!(pruneFraction >= 0 && pruneFraction < 1))
      return error(fmt::format("--prune {0:g}: the fraction of channels to "
                               "remove must be in [0, 1)",
                               pruneFraction.getValue()));
    for (const Model &m : models)
      if (!models::canPrune(m.config))
        llvm::errs() << "coil-bench: --prune leaves " << m.label
                     << " whole: structured pruning of "
                     << m.config.familyName() << " models is not supported\n";
      else if (llvm::Expected<models::PrunePlan> plan =
                   models::planPruning(m.config, pruneRequest(m.config));
               !plan) {
        llvm::consumeError(plan.takeError());
        return error(fmt::format(
            "--prune {0:g} leaves {1} no {2} channel (the channels kept are "
            "rounded down to a multiple of {3})",
            pruneFraction.getValue(), m.label, prunedChannels(m),
            kPruneMultiple));
      }
  }
  const Sweeps sw = sweeps();
  auto maxOf = [](const std::vector<int64_t> &v) -> int64_t {
    return v.empty() ? 0 : *std::max_element(v.begin(), v.end());
  };
  int64_t longest = std::max(
      {maxOf(sw.prefillT),
       sw.decodeContext.empty() ? int64_t(0)
                                : maxOf(sw.decodeContext) + sw.decodeSteps + 2,
       selected("ttft") ? sw.ttftPrompt + sw.ttftGenerate + 1 : int64_t(0),
       selected("threads") ? sw.threadT + sw.decodeSteps + 2 : int64_t(0),
       selected("serve") ? serveSetting().context : int64_t(0)});
  for (const Model &m : models)
    if (m.maxContext() > 0 && longest > m.maxContext())
      return error(fmt::format("{0}: the sweeps need {1} tokens of context "
                                 "but the model's max context is {2}; use "
                                 "--quick or a model with a longer context",
                                 m.label, longest, m.maxContext()));

  std::string dir = outDir;
  if (dir.empty()) {
    char stamp[32];
    std::time_t now = std::time(nullptr);
    std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", std::localtime(&now));
    dir = std::string("bench-results/") + stamp + (quick ? "-quick" : "");
  }
  if (std::error_code ec = llvm::sys::fs::create_directories(dir))
    return error("cannot create " + dir + ": " + ec.message());

  Run run;
  run.cores = std::max(1u, std::thread::hardware_concurrency());
  run.experiments = experimentList();
  bench::MachineInfo machine = bench::describeMachine(COIL_GIT_REVISION);
  llvm::errs() << "coil-bench: " << machine.cpuModel << ", "
               << machine.logicalCores << " cores; measuring the machine's "
               << "limits...\n";
  run.limits = bench::measureMachine(run.cores);
  llvm::errs() << fmt::format("coil-bench: {0:.0f} GFLOP/s f32 FMA peak, "
                                "{1:.1f} GB/s read bandwidth ({2} threads)\n",
                                run.limits.fmaGflops, run.limits.readGBps,
                                run.limits.threads);

  DialectRegistry registry;
  registerAllDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  for (Model &m : models) {
    llvm::errs() << "coil-bench: preparing " << m.label << " (weights, "
                 << "compile)...\n";
    if (llvm::Error e = prepare(m, context))
      return e;
  }

  int perModel = sw.prefillT.size() + sw.decodeContext.size() +
                 sw.batch.size() + (selected("ttft") ? 1 : 0) +
                 sw.memoryContext.size() +
                 (run.cores > 1 && selected("threads") ? 2 : 0);
  if (selected("serve"))
    perModel += servePoints();
  if (selected("precision"))
    perModel += kPrecisionPoints;
  Progress progress(perModel * static_cast<int>(models.size()));
  for (Model &m : models) {
    if (stopRequested)
      break;
    if (llvm::Error e = runModel(m, run, progress, budget))
      return e;
  }
  if (selected("serve") && !stopRequested)
    if (llvm::Error e = runServeStudy(models, run, progress))
      return e;
  if (selected("precision") && !stopRequested)
    if (llvm::Error e = runPrecisionStudy(models, run, progress, context))
      return e;
  progress.finish();

  // Compare every other model with the first Transformer.
  std::vector<std::string> labels, compared;
  std::string b;
  for (const Model &m : models)
    if (m.isTransformer() && b.empty())
      b = m.label;
  for (const Model &m : models) {
    labels.push_back(m.label);
    if (m.label != b)
      compared.push_back(m.label);
  }
  std::string summary;
  llvm::raw_string_ostream os(summary);
  os << fmt::format("Machine: {0}, {1} cores; {2:.0f} GFLOP/s f32 FMA "
                      "peak, {3:.1f} GB/s read bandwidth (measured). Runtime "
                      "{4}{5}.\n",
                      machine.cpuModel, machine.logicalCores,
                      run.limits.fmaGflops, run.limits.readGBps,
                      compilerVersion(), quick ? ", --quick sweep" : "");
  if (!compared.empty() && !b.empty()) {
    // Experiments left out by --experiments (or stopped before their
    // first point) print no table.
    for (const Experiment &e : run.experiments)
      if (!e.points.empty())
        printTable(os, e, labels, compared, b);
    printServeTable(os, run, labels);
    printPrecisionTable(os, run.precision);
    os << "\nPercentages are the fraction of the machine's limit reached: "
          "the FMA peak for prefill, the read bandwidth (weights + state "
          "bytes per token) for decode.\n\nVerdict:";
    for (const std::string &a : compared)
      os << "\n" << verdict(run, a, b);
    if (std::string precision = precisionVerdict(run.precision);
        !precision.empty())
      os << "\n" << precision;
    os << "\n";
  } else {
    os << "\n(Ratios need a Transformer and another model.)\n";
  }
  if (stopRequested)
    os << "\nStopped by Ctrl-C: the results above are the points measured "
          "so far.\n";
  llvm::outs() << summary;
  if (llvm::Error e =
          writeResults(run, models, machine, dir, summary, !stopRequested))
    return e;
  llvm::outs() << "\nResults: " << dir
               << "/ (results.json, results.csv, summary.txt, one .svg per "
                  "experiment); took "
               << formatDuration(progress.elapsed()) << ".\n";
  for (Model &m : models)
    m.release();
  return llvm::Error::success();
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  static cl::OptionCategory coilBenchOptions("coil-bench options");
  // cl::list's operator& yields its storage, hence std::addressof.
  ::coil::tools::showOnlyOwnOptions(
      coilBenchOptions,
      {&quick, &preset, std::addressof(modelDirs), &outDir, &seed, &pointBudget,
       std::addressof(experimentNames), std::addressof(prefillLengths),
       std::addressof(decodeContexts), std::addressof(decodeBatches),
       &servePrompt, &serveOutput, &serveRequests, &serveSlots, &weightDtype,
       &pruneFraction});
  cl::ParseCommandLineOptions(
      argc, argv,
      "coil-bench: Mamba versus Transformer inference speed on this machine\n");
  std::signal(SIGINT, onInterrupt);
  if (llvm::Error e = runBench()) {
    llvm::errs() << "\ncoil-bench: error: " << llvm::toString(std::move(e))
                 << "\n";
    return 1;
  }
  return stopRequested ? 130 : 0;
}
