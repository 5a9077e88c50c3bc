//===- Session.h - Running a model's entry points ---------------*- C++ -*-===//
//
// A Session owns every buffer a model's entries need for up to maxBatch
// sequences of up to maxContext tokens: the states (dimension 0 is the
// sequence), the tokens, positions and logits, and one scratch block that
// every entry's temps are carved from. Everything is allocated at creation,
// including the memref descriptors each step passes; a call only checks its
// input, copies tokens in, writes positions, fills in the descriptors' sizes
// and strides and calls the kernels. Nothing is allocated on that path.
//
// Each kernel runs on the session's ThreadPool: the calling thread and
// threads - 1 workers the session starts at creation and joins when it dies.
// A step starts only after the previous one has finished on every thread.
//
// Profiling (models compiled with `coilc --profile` only) is off until
// setProfiling(true), which allocates the Profiler's event arrays; calls
// then record every kernel's time per tile without allocating.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_RUNTIME_SESSION_H
#define COIL_RUNTIME_SESSION_H

#include "runtime/src/Buffer.h"
#include "runtime/src/Model.h"
#include "runtime/src/Profiler.h"
#include "runtime/src/ThreadPool.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace coil::runtime {

/// The per-sequence state of a model and the buffers to run it.
class Session {
public:
  /// Creates a session for `model` (weights bound) with room for `maxBatch`
  /// sequences of `maxContext` tokens, running kernels on `threads` threads
  /// (1 to ThreadPool::kMaxThreads). Prefill runs the entry "prefill"
  /// (logits of each sequence's last position), or with `allLogits`
  /// "prefill_all" (every position; a model without it must have a
  /// "prefill" with per-position logits). With `verifyTokens` > 0, verify
  /// takes up to that many tokens per sequence (the entry "verify", and
  /// room for every position's recurrent states). Errors:
  /// COIL_FAILED_PRECONDITION, COIL_INVALID_ARGUMENT, COIL_OUT_OF_RANGE,
  /// COIL_OUT_OF_MEMORY.
  static Status create(std::shared_ptr<const Model> model, int64_t maxBatch,
                       int64_t maxContext, int threads, bool allLogits,
                       int64_t verifyTokens, std::unique_ptr<Session> &out);

  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;

  /// Runs "prefill" on `numTokens` tokens for each of sequences
  /// first..first+batch-1 (`tokens` is batch x numTokens, row-major).
  /// Checked first; on error nothing changes.
  Status prefill(const int32_t *tokens, int64_t batch, int64_t numTokens,
                 int64_t first = 0);

  /// Runs "decode" on one token for each of sequences first..first+batch-1.
  Status decode(const int32_t *tokens, int64_t batch, int64_t first = 0);

  /// Runs "verify" on `numTokens` tokens (at most verifyTokens) for each of
  /// sequences first..first+batch-1: every position's logits, and every
  /// position's recurrent states kept so truncateSequence can go back to
  /// any of them.
  Status verify(const int32_t *tokens, int64_t batch, int64_t numTokens,
                int64_t first = 0);

  /// The logits of the last call: `[batch, tokens, vocab]` (tokens is 1
  /// for an entry whose logits are the last position's).
  Status logits(const float *&data, int64_t &batch, int64_t &tokens,
                int64_t &vocab) const;

  /// The length of `sequence`, or -1 outside [0, maxBatch).
  int64_t length(int64_t sequence) const;

  /// Empties every sequence and forgets the logits.
  void reset();

  /// Empties one sequence: length 0, its recurrent states zeroed.
  Status resetSequence(int64_t sequence);

  /// Makes `to` a copy of `from` (state and length); the KV caches are
  /// copied up to the length only.
  Status copySequence(int64_t from, int64_t to);

  /// Forgets the last tokens of `sequence`, keeping `length`. A KV cache
  /// goes back to any length; a recurrent state only to a position of the
  /// sequence's last call, when that was a verify (whose states it kept):
  /// COIL_FAILED_PRECONDITION otherwise.
  Status truncateSequence(int64_t sequence, int64_t length);

  /// Whether every state has a context dimension (a KV cache), so
  /// sequences can be truncated to any length.
  bool canTruncate() const;

  /// The most bytes a saved sequence takes (at max_context), header
  /// included.
  size_t sequenceStateSize() const;

  /// The bytes the saved state of `sequence` takes now: KV caches are
  /// saved up to its length. 0 outside [0, maxBatch).
  size_t savedSize(int64_t sequence) const;

  /// Writes the state of `sequence` into `buffer` (`size` bytes, at least
  /// savedSize(sequence)).
  Status saveSequence(int64_t sequence, void *buffer, size_t size) const;

  /// Replaces the state of `sequence` from a saved blob of `size` bytes
  /// (at least the blob's own size).
  Status restoreSequence(int64_t sequence, const void *buffer, size_t size);

  /// The most sequences per call.
  int64_t maxBatch() const { return batchCapacity; }

  /// The most tokens per sequence.
  int64_t maxContext() const { return contextCapacity; }

  /// The width of a row of logits.
  int64_t vocabSize() const { return vocab; }

  /// The threads each kernel runs on, the caller included.
  int threads() const { return pool->threads(); }

  /// Turns recording of kernel times on or off. Errors:
  /// COIL_FAILED_PRECONDITION (enabling on a model whose metadata is not
  /// "profiled"), COIL_OUT_OF_MEMORY.
  Status setProfiling(bool enabled);

  /// Forgets everything recorded.
  void profileReset() { profiler->clear(); }

  /// One entry per (entry, step) that ran since the last reset (see
  /// Profiler::summary).
  void profileSummary(std::vector<coil_profile_entry_t> &out) const;

  /// The events dropped because the profiler's arrays were full.
  int64_t profileDropped() const { return profiler->dropped(); }

  /// Writes the recorded events to `path` as a Chrome trace. Errors:
  /// COIL_IO_ERROR.
  Status writeTrace(const char *path) const;

private:
  /// An entry with its descriptors and per-step argument arrays built.
  struct PreparedEntry {
    /// "prefill", "decode" or "verify".
    std::string name;
    /// The entry's index in profiles (Profiler::ProfiledEntry).
    int profileId = 0;
    const EntrySpec *spec = nullptr;
    /// The most tokens per sequence one call of this entry takes.
    int64_t maxTokens = 0;
    /// The byte offset in the scratch block of each buffer (temps only).
    std::vector<size_t> scratchOffset;
    /// Descriptor storage: per buffer {allocated, aligned, offset, sizes[R],
    /// strides[R]} as 8-byte words.
    std::vector<int64_t> words;
    /// The first word of each buffer's descriptor.
    std::vector<size_t> descriptorAt;
    /// Per step, the pointers to its arguments' descriptors.
    std::vector<std::vector<void *>> stepArgs;
    /// Per step, the kernel to call.
    std::vector<KernelFn> stepKernels;
    /// The (batch, tokens) the descriptors currently describe.
    int64_t filledFirst = -1;
    int64_t filledBatch = -1;
    int64_t filledTokens = -1;
  };

  Session() = default;

  /// Lays out the entry `name`'s temps in the scratch block; returns the
  /// bytes it needs in `scratchBytes`.
  Status layOut(const std::string &name, int64_t maxTokens,
                PreparedEntry &entry, size_t &scratchBytes) const;

  /// Builds the entry's descriptors (data pointers fixed for good) and step
  /// argument arrays.
  void bind(PreparedEntry &entry);

  /// Writes sizes and strides for a call of `batch` x `tokens` on the
  /// sequences from `first`.
  void fillDescriptors(PreparedEntry &entry, int64_t first, int64_t batch,
                       int64_t tokens);

  /// Checks the call, then runs the entry.
  Status run(PreparedEntry &entry, const int32_t *tokens, int64_t first,
             int64_t batch, int64_t numTokens);

  /// Forgets the verified positions of `sequence` (its state changed
  /// another way).
  void forgetVerified(int64_t sequence) { verified[sequence] = Verified{}; }

  /// Checks that `sequence` is in [0, maxBatch); `what` begins the message.
  Status checkSequence(const char *what, int64_t sequence) const;

  /// The bytes of a saved sequence of `length` tokens, header included.
  size_t blobSize(int64_t length) const;

  /// Copies the state of sequence `from` into `out` (KV caches up to
  /// `length`), or from `in` into sequence `to` when `in` is set; returns
  /// the bytes moved.
  size_t moveState(int64_t sequence, int64_t length, const char *in,
                   char *out) const;

  std::shared_ptr<const Model> model;
  int64_t batchCapacity = 0;
  int64_t contextCapacity = 0;
  int64_t vocab = 0;

  Buffer tokensBuffer;
  Buffer positionsBuffer;
  Buffer logitsBuffer;
  Buffer scratch;
  /// One buffer per metadata state, for batchCapacity sequences.
  std::vector<Buffer> states;
  /// How one sequence's slice of a state is laid out: `blocks` runs of
  /// max_context rows of `rowBytes` (one run when the state has no context
  /// dimension: a recurrent state, saved whole).
  struct StateSlice {
    size_t bytes = 0;
    size_t blocks = 1;
    size_t rowBytes = 0;
    bool hasContext = false;
  };
  std::vector<StateSlice> slices;
  /// A fingerprint of the state layout, stored in saved blobs.
  uint64_t layoutHash = 0;

  /// Tokens fed to each sequence.
  std::vector<int64_t> lengths;

  /// The most tokens per sequence of one verify call; 0 without verify.
  int64_t verifyCapacity = 0;
  /// Per state: every position's value of a verify call, for
  /// batchCapacity x verifyCapacity positions (empty for a KV cache). A
  /// call on sequences first.. writes from position first x verifyCapacity
  /// on, sequence first + b at (first x verifyCapacity + b x T), so calls
  /// on other sequences never overwrite it.
  std::vector<Buffer> histories;
  /// What a sequence's last call, when it was a verify, left in
  /// `histories`: the states after positions from + 1 .. from + count, at
  /// position `at`. count 0: nothing to go back to.
  struct Verified {
    int64_t from = 0;
    int64_t count = 0;
    int64_t at = 0;
  };
  std::vector<Verified> verified;

  PreparedEntry prefillEntry;
  PreparedEntry decodeEntry;
  PreparedEntry verifyEntry;

  /// Whether logits hold the result of a call, and its extents.
  bool haveLogits = false;
  int64_t logitsBatch = 0;
  int64_t logitsTokens = 0;

  /// Where kernels' profiling hooks record; outlives the pool.
  std::unique_ptr<Profiler> profiler;

  /// The prefill, decode and verify entries as the profiler names them.
  Profiler::ProfiledEntry profiledEntries[Profiler::kNumEntries];

  /// The threads kernels run on. Declared last, so the workers are joined
  /// before any buffer they used is freed.
  std::unique_ptr<ThreadPool> pool;
};

} // namespace coil::runtime

#endif // COIL_RUNTIME_SESSION_H
