//===- Session.cpp - Running a model's entry points -------------*- C++ -*-===//
//
// Buffers are dense and row-major. A state is allocated for maxBatch
// sequences and passed to a call of batch B with dimension 0 set to B: since
// that dimension is outermost, the first B slices are sequences 0..B-1. Temps
// are laid out in one scratch block sized for the largest entry (prefill with
// T = maxContext, decode with T = 1, verify with T = verifyTokens); only one
// entry runs at a time.
//
// A verify call also writes every position's recurrent states into the
// histories, where each sequence owns verifyTokens positions; truncating a
// sequence with recurrent state copies the state of the position it goes
// back to from there.
//
// A saved sequence is a BlobHeader followed by that sequence's slice of every
// state in metadata order; a state with a context dimension (a KV cache) is
// saved up to the sequence's length only, so a blob's size grows with what
// the sequence holds, not with max_context.
//
//===----------------------------------------------------------------------===//

#include "runtime/src/Session.h"

#include "coil/abi.h"
#include "runtime/src/MemoryBudget.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace coil::runtime {

namespace {

static_assert(sizeof(void *) == sizeof(int64_t),
              "descriptors are built as 8-byte words");

/// The header of a saved sequence.
struct BlobHeader {
  char magic[8];
  uint32_t version;
  uint32_t reserved;
  int64_t length;
  uint64_t totalSize;
  uint64_t layout;
};
static_assert(sizeof(BlobHeader) == 40, "the documented header size");

constexpr char kBlobMagic[8] = {'C', 'O', 'I', 'L', 'S', 'E', 'Q', '\0'};
constexpr uint32_t kBlobVersion = 2;

/// The bytes of `shape` of `type` with the symbols resolved, or false on
/// overflow.
bool shapeBytes(const Shape &shape, ElementType type, int64_t batch,
                int64_t tokens, int64_t context, size_t &bytes) {
  bytes = elementSize(type);
  for (const Dim &dim : shape) {
    int64_t extent = dim.resolve(batch, tokens, context);
    if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(extent), &bytes))
      return false;
  }
  return true;
}

/// A buffer as messages name it: `buffers[6] of "prefill" ["B", "T", 5]`.
std::string bufferName(const std::string &entry, size_t index,
                       const BufferSpec &buffer) {
  return "buffers[" + std::to_string(index) + "] of \"" + entry + "\" " +
         formatShape(buffer.shape);
}

constexpr size_t roundUp(size_t value, size_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

} // namespace

//===----------------------------------------------------------------------===//
// Creation
//===----------------------------------------------------------------------===//

Status Session::create(std::shared_ptr<const Model> model, int64_t maxBatch,
                       int64_t maxContext, int threads, bool allLogits,
                       int64_t verifyTokens, std::unique_ptr<Session> &out) {
  out.reset();
  if (!model->hasWeights())
    return Status::error(COIL_FAILED_PRECONDITION,
                         "the model has no weights bound; bind weights before "
                         "creating a session");
  if (maxBatch < 1)
    return Status::error(COIL_INVALID_ARGUMENT,
                         "max_batch must be at least 1, found " +
                             std::to_string(maxBatch));
  if (maxContext < 1)
    return Status::error(COIL_INVALID_ARGUMENT,
                         "max_context must be at least 1, found " +
                             std::to_string(maxContext));
  if (threads < 1 || threads > ThreadPool::kMaxThreads)
    return Status::error(COIL_INVALID_ARGUMENT,
                         "threads must be from 1 to " +
                             std::to_string(ThreadPool::kMaxThreads) +
                             ", found " + std::to_string(threads));
  const Metadata &meta = model->metadata();
  if (meta.maxContext > 0 && maxContext > meta.maxContext)
    return Status::error(COIL_OUT_OF_RANGE,
                         "max_context " + std::to_string(maxContext) +
                             " exceeds the model's max_context " +
                             std::to_string(meta.maxContext));
  if (verifyTokens < 0 || verifyTokens > maxContext)
    return Status::error(COIL_INVALID_ARGUMENT,
                         "verify_tokens must be from 0 to max_context " +
                             std::to_string(maxContext) + ", found " +
                             std::to_string(verifyTokens));
  if (verifyTokens > 0 && !meta.entries.count(COIL_ENTRY_VERIFY))
    return Status::error(COIL_FAILED_PRECONDITION,
                         "verify_tokens: the model has no entry \"verify\"");
  // Positions are i32.
  if (maxContext > std::numeric_limits<int32_t>::max())
    return Status::error(COIL_OUT_OF_RANGE,
                         "max_context " + std::to_string(maxContext) +
                             " does not fit the i32 positions");

  // Per-sequence bookkeeping is allocated before the memory check below.
  if (maxBatch > COIL_SESSION_MAX_BATCH)
    return Status::error(COIL_OUT_OF_RANGE,
                         "max_batch " + std::to_string(maxBatch) +
                             " exceeds the runtime's limit of " +
                             std::to_string(COIL_SESSION_MAX_BATCH) +
                             " sequences");

  std::unique_ptr<Session> session(new Session());
  session->model = model;
  session->batchCapacity = maxBatch;
  session->contextCapacity = maxContext;
  session->vocab = meta.vocabSize;
  session->lengths.assign(static_cast<size_t>(maxBatch), 0);
  session->verifyCapacity = verifyTokens;
  session->verified.assign(static_cast<size_t>(maxBatch), Verified{});

  auto tooLarge = [](const std::string &what) {
    return Status::error(COIL_OUT_OF_MEMORY,
                         what + " is too large to allocate");
  };

  // The prefill entry: the last position's logits, or every position's.
  std::string prefillName = COIL_ENTRY_PREFILL;
  if (allLogits) {
    if (meta.entries.count(COIL_ENTRY_PREFILL_ALL)) {
      prefillName = COIL_ENTRY_PREFILL_ALL;
    } else {
      const EntrySpec &prefill = meta.entries.find(COIL_ENTRY_PREFILL)->second;
      const Shape &shape = prefill.buffers[prefill.logitsBuffer].shape;
      if (shape.size() < 2 || shape[1].kind != Dim::Tokens)
        return Status::error(COIL_FAILED_PRECONDITION,
                             "all_logits: the model has no entry "
                             "\"prefill_all\" and its \"prefill\" computes "
                             "only the last position's logits");
    }
  }

  // Tokens, positions and logits for the largest call.
  size_t cells;
  if (__builtin_mul_overflow(static_cast<uint64_t>(maxBatch),
                             static_cast<uint64_t>(maxContext), &cells))
    return tooLarge("the tokens buffer");
  size_t tokenBytes, logitBytes = 0;
  if (__builtin_mul_overflow(cells, sizeof(int32_t), &tokenBytes))
    return tooLarge("the tokens buffer");
  std::vector<std::pair<std::string, int64_t>> calls{{prefillName, maxContext},
                                                     {COIL_ENTRY_DECODE, 1}};
  if (verifyTokens > 0)
    calls.emplace_back(COIL_ENTRY_VERIFY, verifyTokens);
  for (auto [name, tokens] : calls) {
    const EntrySpec &entry = meta.entries.find(name)->second;
    const BufferSpec &logits = entry.buffers[entry.logitsBuffer];
    size_t bytes;
    if (!shapeBytes(logits.shape, logits.type, maxBatch, tokens, maxContext,
                    bytes))
      return tooLarge("the logits buffer");
    logitBytes = std::max(logitBytes, bytes);
  }
  // Every buffer's size first, each computed with overflow checks: states
  // (max_batch slices), then the scratch block for whichever entry needs
  // more temps. The fingerprint of saved states covers the layout of every
  // state and the model (compiled code and bound weights) that computed
  // them.
  uint64_t fingerprint = model->fingerprint();
  uint64_t layout = coil_abi_checksum(COIL_MODEL_CHECKSUM_SEED, &fingerprint,
                                      sizeof(fingerprint));
  std::vector<size_t> stateBytes, historyBytes;
  for (const StateSpec &state : meta.states) {
    std::string what = "state \"" + state.name + "\"";
    size_t slice, total;
    if (!shapeBytes(state.shape, state.type, /*batch=*/1, /*tokens=*/1,
                    maxContext, slice) ||
        __builtin_mul_overflow(slice, static_cast<uint64_t>(maxBatch), &total))
      return tooLarge(what);
    stateBytes.push_back(total);
    StateSlice layoutOf;
    layoutOf.bytes = slice;
    for (size_t d = 1; d < state.shape.size(); ++d)
      if (state.shape[d].kind == Dim::Context) {
        layoutOf.hasContext = true;
        for (size_t o = 1; o < d; ++o)
          layoutOf.blocks *=
              static_cast<size_t>(state.shape[o].resolve(1, 1, maxContext));
        layoutOf.rowBytes =
            slice / layoutOf.blocks / static_cast<size_t>(maxContext);
        break;
      }
    session->slices.push_back(layoutOf);
    // A recurrent state's every position of a verify call.
    size_t history = 0;
    if (verifyTokens > 0 && !layoutOf.hasContext &&
        __builtin_mul_overflow(total, static_cast<uint64_t>(verifyTokens),
                               &history))
      return tooLarge("the history of " + what);
    historyBytes.push_back(history);
    layout =
        coil_abi_checksum(layout, state.name.c_str(), state.name.size() + 1);
    auto type = static_cast<uint32_t>(state.type);
    layout = coil_abi_checksum(layout, &type, sizeof(type));
    uint64_t sliceSize = slice;
    layout = coil_abi_checksum(layout, &sliceSize, sizeof(sliceSize));
  }
  session->layoutHash = layout;
  size_t prefillBytes, decodeBytes;
  if (Status s = session->layOut(prefillName, maxContext, session->prefillEntry,
                                 prefillBytes);
      !s.isOk())
    return s;
  if (Status s = session->layOut(COIL_ENTRY_DECODE, 1, session->decodeEntry,
                                 decodeBytes);
      !s.isOk())
    return s;
  size_t scratchBytes = std::max(prefillBytes, decodeBytes);
  if (verifyTokens > 0) {
    size_t verifyBytes;
    if (Status s = session->layOut(COIL_ENTRY_VERIFY, verifyTokens,
                                   session->verifyEntry, verifyBytes);
        !s.isOk())
      return s;
    scratchBytes = std::max(scratchBytes, verifyBytes);
  }

  // The whole session against the memory left, before anything is touched:
  // an allocation beyond it would succeed and the first touch of its pages
  // would wake the kernel's OOM killer instead of failing here.
  uint64_t needed = 0;
  bool overflow = false;
  for (size_t bytes : {tokenBytes, tokenBytes, logitBytes, scratchBytes})
    overflow |= __builtin_add_overflow(needed, uint64_t(bytes), &needed);
  for (const std::vector<size_t> *list : {&stateBytes, &historyBytes})
    for (size_t bytes : *list)
      overflow |= __builtin_add_overflow(needed, uint64_t(bytes), &needed);
  uint64_t available = availableMemoryBytes();
  if (overflow || needed > available)
    return Status::error(COIL_OUT_OF_MEMORY,
                         "the session needs " +
                             (overflow ? std::string("more than 2^64")
                                       : std::to_string(needed)) +
                             " bytes for max_batch " +
                             std::to_string(maxBatch) + " x max_context " +
                             std::to_string(maxContext) + ", more than the " +
                             std::to_string(available) +
                             " bytes of memory this process may still take");

  if (Status s = Buffer::allocate(tokenBytes, "the tokens buffer",
                                  session->tokensBuffer);
      !s.isOk())
    return s;
  if (Status s = Buffer::allocate(tokenBytes, "the positions buffer",
                                  session->positionsBuffer);
      !s.isOk())
    return s;
  if (Status s = Buffer::allocate(logitBytes, "the logits buffer",
                                  session->logitsBuffer);
      !s.isOk())
    return s;
  // States, zeroed.
  for (size_t i = 0; i < stateBytes.size(); ++i) {
    Buffer buffer;
    if (Status s = Buffer::allocate(
            stateBytes[i], "state \"" + meta.states[i].name + "\"", buffer);
        !s.isOk())
      return s;
    session->states.push_back(std::move(buffer));
    Buffer history;
    if (historyBytes[i] > 0)
      if (Status s = Buffer::allocate(historyBytes[i],
                                      "the history of state \"" +
                                          meta.states[i].name + "\"",
                                      history);
          !s.isOk())
        return s;
    session->histories.push_back(std::move(history));
  }
  if (Status s = Buffer::allocate(scratchBytes, "scratch", session->scratch);
      !s.isOk())
    return s;
  session->bind(session->prefillEntry);
  session->bind(session->decodeEntry);
  if (verifyTokens > 0)
    session->bind(session->verifyEntry);

  session->prefillEntry.profileId = 0;
  session->decodeEntry.profileId = 1;
  session->verifyEntry.profileId = 2;
  // Either prefill entry is the profile's "prefill".
  session->profiledEntries[0] = {COIL_ENTRY_PREFILL,
                                 session->prefillEntry.spec};
  session->profiledEntries[1] = {session->decodeEntry.name.c_str(),
                                 session->decodeEntry.spec};
  session->profiledEntries[2] = {COIL_ENTRY_VERIFY, session->verifyEntry.spec};
  session->profiler = std::make_unique<Profiler>(threads);

  // The workers last: nothing after them can fail.
  if (Status s = ThreadPool::create(threads, session->pool); !s.isOk())
    return s;
  session->pool->setProfiler(session->profiler.get());

  out = std::move(session);
  return Status::ok();
}

Status Session::layOut(const std::string &name, int64_t maxTokens,
                       PreparedEntry &entry, size_t &scratchBytes) const {
  const EntrySpec &spec = model->metadata().entries.find(name)->second;
  entry.name = name;
  entry.spec = &spec;
  entry.maxTokens = maxTokens;
  entry.scratchOffset.assign(spec.buffers.size(), 0);
  size_t offset = 0;
  for (size_t i = 0; i < spec.buffers.size(); ++i) {
    const BufferSpec &buffer = spec.buffers[i];
    if (buffer.kind != BufferKind::Temp)
      continue;
    size_t bytes;
    if (!shapeBytes(buffer.shape, buffer.type, batchCapacity, maxTokens,
                    contextCapacity, bytes) ||
        bytes > std::numeric_limits<size_t>::max() / 2 ||
        offset > std::numeric_limits<size_t>::max() / 2)
      return Status::error(COIL_OUT_OF_MEMORY, "temp " +
                                                   bufferName(name, i, buffer) +
                                                   " is too large to allocate");
    entry.scratchOffset[i] = offset;
    offset += roundUp(bytes, Buffer::kAlignment);
  }
  scratchBytes = offset;
  return Status::ok();
}

void Session::bind(PreparedEntry &entry) {
  const EntrySpec &spec = *entry.spec;
  size_t numWords = 0;
  entry.descriptorAt.clear();
  for (const BufferSpec &buffer : spec.buffers) {
    entry.descriptorAt.push_back(numWords);
    numWords += 3 + 2 * buffer.shape.size();
  }
  entry.words.assign(numWords, 0);
  for (size_t i = 0; i < spec.buffers.size(); ++i) {
    const BufferSpec &buffer = spec.buffers[i];
    void *data = nullptr;
    switch (buffer.kind) {
    case BufferKind::Tokens:
      data = tokensBuffer.data();
      break;
    case BufferKind::Positions:
      data = positionsBuffer.data();
      break;
    case BufferKind::Logits:
      data = logitsBuffer.data();
      break;
    case BufferKind::State:
      data = states[buffer.index].data();
      break;
    case BufferKind::History:
      data = histories[buffer.index].data();
      break;
    case BufferKind::Weight:
      data = model->weightData(buffer.index);
      break;
    case BufferKind::Temp:
      data = static_cast<char *>(scratch.data()) + entry.scratchOffset[i];
      break;
    }
    int64_t *descriptor = &entry.words[entry.descriptorAt[i]];
    std::memcpy(&descriptor[0], &data, sizeof(data)); // allocated
    std::memcpy(&descriptor[1], &data, sizeof(data)); // aligned
    descriptor[2] = 0;                                // offset
  }
  entry.stepArgs.clear();
  entry.stepKernels.clear();
  for (const StepSpec &step : spec.steps) {
    std::vector<void *> args;
    for (int64_t arg : step.args)
      args.push_back(&entry.words[entry.descriptorAt[arg]]);
    entry.stepArgs.push_back(std::move(args));
    entry.stepKernels.push_back(model->kernel(step.kernel));
  }
  entry.filledFirst = entry.filledBatch = entry.filledTokens = -1;
}

//===----------------------------------------------------------------------===//
// Running
//===----------------------------------------------------------------------===//

void Session::fillDescriptors(PreparedEntry &entry, int64_t first,
                              int64_t batch, int64_t tokens) {
  if (entry.filledFirst == first && entry.filledBatch == batch &&
      entry.filledTokens == tokens)
    return;
  const EntrySpec &spec = *entry.spec;
  for (size_t i = 0; i < spec.buffers.size(); ++i) {
    const BufferSpec &buffer = spec.buffers[i];
    const Shape &shape = buffer.shape;
    if (buffer.kind == BufferKind::State ||
        buffer.kind == BufferKind::History) {
      // Dimension 0 is the sequence: the call's states begin at `first`,
      // its histories at position first x verifyCapacity.
      bool history = buffer.kind == BufferKind::History;
      char *data =
          static_cast<char *>(history ? histories[buffer.index].data()
                                      : states[buffer.index].data()) +
          static_cast<size_t>(first) *
              static_cast<size_t>(history ? verifyCapacity : 1) *
              slices[buffer.index].bytes;
      int64_t *descriptor = &entry.words[entry.descriptorAt[i]];
      std::memcpy(&descriptor[0], &data, sizeof(data)); // allocated
      std::memcpy(&descriptor[1], &data, sizeof(data)); // aligned
    }
    size_t rank = shape.size();
    int64_t *sizes = &entry.words[entry.descriptorAt[i] + 3];
    int64_t *strides = sizes + rank;
    int64_t stride = 1;
    for (size_t d = rank; d-- > 0;) {
      sizes[d] = shape[d].resolve(batch, tokens, contextCapacity);
      strides[d] = stride;
      stride *= sizes[d];
    }
  }
  entry.filledFirst = first;
  entry.filledBatch = batch;
  entry.filledTokens = tokens;
}

Status Session::run(PreparedEntry &entry, const int32_t *tokens, int64_t first,
                    int64_t batch, int64_t numTokens) {
  if (!tokens)
    return Status::error(COIL_INVALID_ARGUMENT,
                         entry.name + ": tokens is NULL");
  if (batch < 1)
    return Status::error(COIL_INVALID_ARGUMENT,
                         entry.name + ": batch must be at least 1, found " +
                             std::to_string(batch));
  if (first < 0 || first >= batchCapacity)
    return Status::error(COIL_OUT_OF_RANGE,
                         entry.name + ": first sequence " +
                             std::to_string(first) + " is outside [0, " +
                             std::to_string(batchCapacity) + ")");
  if (batch > batchCapacity - first)
    return Status::error(
        COIL_OUT_OF_RANGE,
        entry.name + ": batch " + std::to_string(batch) +
            (first ? " from sequence " + std::to_string(first) : "") +
            " exceeds the session's max_batch " +
            std::to_string(batchCapacity));
  if (numTokens < 1)
    return Status::error(COIL_INVALID_ARGUMENT,
                         entry.name +
                             ": num_tokens must be at least 1, found " +
                             std::to_string(numTokens));
  const int64_t *held = &lengths[first];
  for (int64_t b = 0; b < batch; ++b) {
    if (numTokens > contextCapacity - held[b])
      return Status::error(COIL_OUT_OF_RANGE,
                           entry.name + ": sequence " +
                               std::to_string(first + b) + " holds " +
                               std::to_string(held[b]) + " tokens; " +
                               std::to_string(numTokens) +
                               " more would exceed the session's max_context " +
                               std::to_string(contextCapacity));
  }
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t t = 0; t < numTokens; ++t) {
      int32_t id = tokens[b * numTokens + t];
      if (id < 0 || id >= vocab)
        return Status::error(COIL_OUT_OF_RANGE,
                             entry.name + ": token id " + std::to_string(id) +
                                 " at [" + std::to_string(b) + ", " +
                                 std::to_string(t) +
                                 "] is outside the vocabulary [0, " +
                                 std::to_string(vocab) + ")");
    }
  }

  auto count = static_cast<size_t>(batch * numTokens);
  std::memcpy(tokensBuffer.data(), tokens, count * sizeof(int32_t));
  auto *positions = static_cast<int32_t *>(positionsBuffer.data());
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < numTokens; ++t)
      positions[b * numTokens + t] = static_cast<int32_t>(held[b] + t);
  fillDescriptors(entry, first, batch, numTokens);
  bool profiling = profiler->enabled();
  if (profiling) {
    // A causal token attends its own position and every earlier one:
    // the call's T tokens after h attend h + (T + 1) / 2 on average.
    double context = 0, attended = 0;
    auto tokens = static_cast<double>(numTokens);
    for (int64_t b = 0; b < batch; ++b) {
      context += static_cast<double>(held[b]) + tokens;
      attended += static_cast<double>(held[b]) + (tokens + 1) / 2;
    }
    profiler->beginCall(entry.profileId, batch, numTokens,
                        context / static_cast<double>(batch),
                        attended / static_cast<double>(batch));
  }
  for (size_t s = 0; s < entry.stepKernels.size(); ++s) {
    if (profiling)
      profiler->beginStep(static_cast<int64_t>(s));
    pool->run(entry.stepKernels[s], entry.stepArgs[s].data());
  }
  for (int64_t b = 0; b < batch; ++b) {
    if (&entry == &verifyEntry)
      verified[first + b] = {held[b], numTokens,
                             first * verifyCapacity + b * numTokens};
    else
      forgetVerified(first + b);
    lengths[first + b] += numTokens;
  }
  haveLogits = true;
  logitsBatch = batch;
  const EntrySpec &spec = *entry.spec;
  const Shape &logitsShape = spec.buffers[spec.logitsBuffer].shape;
  logitsTokens = logitsShape.size() >= 2
                     ? logitsShape[1].resolve(batch, numTokens, contextCapacity)
                     : 1;
  return Status::ok();
}

Status Session::prefill(const int32_t *tokens, int64_t batch, int64_t numTokens,
                        int64_t first) {
  return run(prefillEntry, tokens, first, batch, numTokens);
}

Status Session::decode(const int32_t *tokens, int64_t batch, int64_t first) {
  return run(decodeEntry, tokens, first, batch, 1);
}

Status Session::verify(const int32_t *tokens, int64_t batch, int64_t numTokens,
                       int64_t first) {
  if (verifyCapacity == 0)
    return Status::error(COIL_FAILED_PRECONDITION,
                         "verify: the session was created with verify_tokens "
                         "0 (no room for the states of verified positions)");
  if (numTokens > verifyCapacity)
    return Status::error(COIL_OUT_OF_RANGE,
                         "verify: num_tokens " + std::to_string(numTokens) +
                             " exceeds the session's verify_tokens " +
                             std::to_string(verifyCapacity));
  return run(verifyEntry, tokens, first, batch, numTokens);
}

Status Session::logits(const float *&data, int64_t &batch, int64_t &tokens,
                       int64_t &vocabSize) const {
  if (!haveLogits)
    return Status::error(COIL_FAILED_PRECONDITION,
                         "no logits: run prefill or decode first");
  data = static_cast<const float *>(logitsBuffer.data());
  batch = logitsBatch;
  tokens = logitsTokens;
  vocabSize = vocab;
  return Status::ok();
}

int64_t Session::length(int64_t sequence) const {
  if (sequence < 0 || sequence >= batchCapacity)
    return -1;
  return lengths[sequence];
}

void Session::reset() {
  for (Buffer &state : states)
    state.clear();
  std::fill(lengths.begin(), lengths.end(), 0);
  verified.assign(verified.size(), Verified{});
  haveLogits = false;
}

//===----------------------------------------------------------------------===//
// Profiling
//===----------------------------------------------------------------------===//

Status Session::setProfiling(bool enabled) {
  if (!enabled) {
    profiler->disable();
    return Status::ok();
  }
  if (!model->metadata().profiled)
    return Status::error(COIL_FAILED_PRECONDITION,
                         "the model was not compiled for profiling (its "
                         "metadata is not \"profiled\"; compile it with "
                         "coilc --profile)");
  return profiler->enable();
}

void Session::profileSummary(std::vector<coil_profile_entry_t> &out) const {
  profiler->summary(model->metadata(), profiledEntries, out);
}

Status Session::writeTrace(const char *path) const {
  return profiler->writeTrace(path, model->metadata(), profiledEntries);
}

//===----------------------------------------------------------------------===//
// Saving and restoring sequences
//===----------------------------------------------------------------------===//

Status Session::checkSequence(const char *what, int64_t sequence) const {
  if (sequence < 0 || sequence >= batchCapacity)
    return Status::error(COIL_OUT_OF_RANGE,
                         std::string(what) + ": sequence " +
                             std::to_string(sequence) + " is outside [0, " +
                             std::to_string(batchCapacity) + ")");
  return Status::ok();
}

size_t Session::moveState(int64_t sequence, int64_t length, const char *in,
                          char *out) const {
  size_t moved = 0;
  for (size_t i = 0; i < states.size(); ++i) {
    const StateSlice &slice = slices[i];
    char *at = static_cast<char *>(states[i].data()) +
               static_cast<size_t>(sequence) * slice.bytes;
    size_t runBytes = slice.hasContext
                          ? static_cast<size_t>(length) * slice.rowBytes
                          : slice.bytes;
    size_t blockBytes = slice.hasContext ? slice.bytes / slice.blocks : 0;
    for (size_t block = 0; block < slice.blocks; ++block) {
      char *run = at + block * blockBytes;
      if (in)
        std::memcpy(run, in + moved, runBytes);
      else
        std::memcpy(out + moved, run, runBytes);
      moved += runBytes;
    }
  }
  return moved;
}

Status Session::resetSequence(int64_t sequence) {
  if (Status s = checkSequence("reset", sequence); !s.isOk())
    return s;
  // A KV cache needs no clearing: positions at or beyond the length are
  // written before any query reads them.
  for (size_t i = 0; i < states.size(); ++i)
    if (!slices[i].hasContext)
      std::memset(static_cast<char *>(states[i].data()) +
                      static_cast<size_t>(sequence) * slices[i].bytes,
                  0, slices[i].bytes);
  lengths[sequence] = 0;
  forgetVerified(sequence);
  return Status::ok();
}

Status Session::copySequence(int64_t from, int64_t to) {
  if (Status s = checkSequence("copy", from); !s.isOk())
    return s;
  if (Status s = checkSequence("copy", to); !s.isOk())
    return s;
  if (from == to)
    return Status::ok();
  for (size_t i = 0; i < states.size(); ++i) {
    const StateSlice &slice = slices[i];
    char *base = static_cast<char *>(states[i].data());
    char *source = base + static_cast<size_t>(from) * slice.bytes;
    char *target = base + static_cast<size_t>(to) * slice.bytes;
    if (!slice.hasContext) {
      std::memcpy(target, source, slice.bytes);
      continue;
    }
    size_t blockBytes = slice.bytes / slice.blocks;
    for (size_t block = 0; block < slice.blocks; ++block)
      std::memcpy(target + block * blockBytes, source + block * blockBytes,
                  static_cast<size_t>(lengths[from]) * slice.rowBytes);
  }
  lengths[to] = lengths[from];
  forgetVerified(to);
  return Status::ok();
}

bool Session::canTruncate() const {
  return std::all_of(slices.begin(), slices.end(),
                     [](const StateSlice &slice) { return slice.hasContext; });
}

Status Session::truncateSequence(int64_t sequence, int64_t length) {
  if (Status s = checkSequence("truncate", sequence); !s.isOk())
    return s;
  if (length < 0 || length > lengths[sequence])
    return Status::error(
        COIL_OUT_OF_RANGE,
        "truncate: length " + std::to_string(length) + " is outside [0, " +
            std::to_string(lengths[sequence]) + "], the tokens sequence " +
            std::to_string(sequence) + " holds");
  if (canTruncate() || length == lengths[sequence]) {
    lengths[sequence] = length;
    return Status::ok();
  }
  // A recurrent state goes back to a position its last verify kept.
  const Verified &v = verified[sequence];
  if (length <= v.from || length > v.from + v.count)
    return Status::error(
        COIL_FAILED_PRECONDITION,
        "truncate: the model has recurrent state, which can go back only to "
        "a position of the sequence's last call when that was a verify" +
            (v.count ? " (lengths " + std::to_string(v.from + 1) + " to " +
                           std::to_string(v.from + v.count) + ")"
                     : std::string(" (sequence ") + std::to_string(sequence) +
                           "'s last call was not one)") +
            "; restore a saved sequence instead");
  auto position = static_cast<size_t>(v.at + (length - v.from - 1));
  for (size_t i = 0; i < states.size(); ++i) {
    if (slices[i].hasContext)
      continue;
    std::memcpy(static_cast<char *>(states[i].data()) +
                    static_cast<size_t>(sequence) * slices[i].bytes,
                static_cast<const char *>(histories[i].data()) +
                    position * slices[i].bytes,
                slices[i].bytes);
  }
  lengths[sequence] = length;
  return Status::ok();
}

size_t Session::sequenceStateSize() const {
  size_t size = sizeof(BlobHeader);
  for (const StateSlice &slice : slices)
    size += slice.bytes;
  return size;
}

size_t Session::blobSize(int64_t length) const {
  size_t size = sizeof(BlobHeader);
  for (const StateSlice &slice : slices)
    size += slice.hasContext
                ? slice.blocks * slice.rowBytes * static_cast<size_t>(length)
                : slice.bytes;
  return size;
}

size_t Session::savedSize(int64_t sequence) const {
  if (sequence < 0 || sequence >= batchCapacity)
    return 0;
  return blobSize(lengths[sequence]);
}

Status Session::saveSequence(int64_t sequence, void *buffer,
                             size_t size) const {
  if (!buffer)
    return Status::error(COIL_INVALID_ARGUMENT, "save: buffer is NULL");
  if (Status s = checkSequence("save", sequence); !s.isOk())
    return s;
  size_t needed = savedSize(sequence);
  if (size < needed)
    return Status::error(COIL_INVALID_ARGUMENT,
                         "save: the buffer holds " + std::to_string(size) +
                             " bytes but the sequence state needs " +
                             std::to_string(needed));
  BlobHeader header{};
  std::memcpy(header.magic, kBlobMagic, sizeof(kBlobMagic));
  header.version = kBlobVersion;
  header.length = lengths[sequence];
  header.totalSize = needed;
  header.layout = layoutHash;
  auto *out = static_cast<char *>(buffer);
  std::memcpy(out, &header, sizeof(header));
  moveState(sequence, header.length, nullptr, out + sizeof(header));
  return Status::ok();
}

Status Session::restoreSequence(int64_t sequence, const void *buffer,
                                size_t size) {
  auto bad = [](const std::string &problem) {
    return Status::error(COIL_INVALID_ARGUMENT, "restore: " + problem);
  };
  if (!buffer)
    return bad("buffer is NULL");
  if (Status s = checkSequence("restore", sequence); !s.isOk())
    return s;
  BlobHeader header;
  if (size < sizeof(header))
    return bad("the blob has " + std::to_string(size) +
               " bytes, less than its " + std::to_string(sizeof(header)) +
               "-byte header");
  std::memcpy(&header, buffer, sizeof(header));
  if (std::memcmp(header.magic, kBlobMagic, sizeof(kBlobMagic)) != 0)
    return bad("not a saved Coil sequence (bad magic)");
  if (header.version != kBlobVersion)
    return bad("blob version " + std::to_string(header.version) +
               " is not supported (expected " + std::to_string(kBlobVersion) +
               ")");
  if (header.totalSize > size)
    return bad("the header says " + std::to_string(header.totalSize) +
               " bytes but " + std::to_string(size) + " were given");
  if (header.layout != layoutHash)
    return bad("the blob was saved from a session with a different state "
               "layout (another compiled model, other weights or another "
               "max_context)");
  if (header.length < 0 || header.length > contextCapacity)
    return bad("length " + std::to_string(header.length) +
               " is outside [0, max_context " +
               std::to_string(contextCapacity) + "]");
  size_t expected = blobSize(header.length);
  if (header.totalSize != expected)
    return bad("the header says " + std::to_string(header.totalSize) +
               " bytes but a sequence of " + std::to_string(header.length) +
               " tokens of this session takes " + std::to_string(expected));

  moveState(sequence, header.length,
            static_cast<const char *>(buffer) + sizeof(header), nullptr);
  lengths[sequence] = header.length;
  forgetVerified(sequence);
  return Status::ok();
}

} // namespace coil::runtime
