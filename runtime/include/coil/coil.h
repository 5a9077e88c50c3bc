//===- coil.h - The Coil runtime C API ---------------------------*- C -*-===//
//
// The embeddable runtime for models compiled by coilc (docs/abi.md): load a
// compiled model (`model.so`), bind its weights from safetensors files, and
// run prefill and decode on sessions that own every buffer. Pure C99 to its
// callers; no MLIR or LLVM dependency.
//
// Conventions shared by every function:
//
// - A function that can fail returns a `coil_status_t *`: NULL means success;
//   anything else is an error owned by the caller, who frees it with
//   coil_status_free. Out-parameters come last, are named `out_*`, and are
//   written only on success.
// - A NULL handle or a NULL pointer argument is COIL_INVALID_ARGUMENT; no
//   input makes the runtime abort. The trust boundary: weight files,
//   options and call arguments are untrusted and fully checked; a compiled
//   model is native code, checked to be complete and undamaged (its content
//   checksum, docs/abi.md) before it is loaded, and then trusted as code. A
//   library built to look like a model can do anything a library can.
// - Handles are created by one function (`*_load`, `*_open`, `*_create`) and
//   released by the matching `*_release`, which accepts NULL.
// - Thread safety: a model with its weights bound, and a weights handle, are
//   immutable and may be shared by any number of threads and sessions. A
//   session is thread-compatible: it may move between threads but must be
//   used by one thread at a time. Different sessions run concurrently.
// - Threads of a session: a session runs every kernel on its own threads
//   (coil_session_options_t.threads): the thread that calls prefill or
//   decode plus workers the session owns. A call returns only after every
//   one of them has finished, so callers never see the workers.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_COIL_H_
#define COIL_COIL_H_

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define COIL_API __attribute__((visibility("default")))
#else
#define COIL_API
#endif

/// The version of this API; it changes when a declaration here changes.
#define COIL_API_VERSION 10

/// The most threads a session may run kernels on.
#define COIL_SESSION_MAX_THREADS 256

/// The most sequences one session may hold (its max_batch).
#define COIL_SESSION_MAX_BATCH 1048576

#ifdef __cplusplus
extern "C" {
#endif

//===----------------------------------------------------------------------===//
// Status
//===----------------------------------------------------------------------===//

/// What went wrong.
typedef enum coil_status_code_t {
  /// Success; only reported for a NULL status.
  COIL_OK = 0,
  /// A NULL pointer, or a value that can never be valid (a batch of 0).
  COIL_INVALID_ARGUMENT,
  /// A file that does not exist.
  COIL_NOT_FOUND,
  /// A file that exists but cannot be read.
  COIL_IO_ERROR,
  /// A file that is not a valid compiled Coil model.
  COIL_BAD_MODEL,
  /// Weights that are malformed or do not match the model.
  COIL_BAD_WEIGHTS,
  /// A value beyond a limit: a batch above max_batch, a sequence longer than
  /// max_context, a token id outside the vocabulary.
  COIL_OUT_OF_RANGE,
  /// An allocation failed.
  COIL_OUT_OF_MEMORY,
  /// The call is not allowed in the current state (a session before weights
  /// are bound, logits before any prefill or decode).
  COIL_FAILED_PRECONDITION,
  /// A bug in the runtime.
  COIL_INTERNAL,
  /// A tokenizer.json that is malformed or of a kind not supported (the
  /// message names the file and the key).
  COIL_BAD_TOKENIZER
} coil_status_code_t;

/// The outcome of a call that failed: a code and a message for people.
/// Owned by the caller; free it with coil_status_free.
typedef struct coil_status_t coil_status_t;

/// The code of `status`; COIL_OK for NULL. Thread-safe.
COIL_API coil_status_code_t coil_status_code(const coil_status_t *status);

/// The message of `status`; "ok" for NULL. The string is owned by `status`
/// and valid until it is freed. Thread-safe.
COIL_API const char *coil_status_message(const coil_status_t *status);

/// Frees `status`; NULL is allowed.
COIL_API void coil_status_free(coil_status_t *status);

//===----------------------------------------------------------------------===//
// Models
//===----------------------------------------------------------------------===//

/// A compiled model (a `model.so` built by coilc) with its metadata, and its
/// weights once bound. Immutable once weights are bound: safe to share
/// between threads and sessions. Sessions keep their model alive, so it may
/// be released before them.
typedef struct coil_model_t coil_model_t;

/// Loads the compiled model at `path` (a path without a slash is relative to
/// the working directory; the library search path is never used). The file
/// is checked to be a complete shared library, loaded with
/// dlopen(RTLD_NOW | RTLD_LOCAL), and its metadata is validated completely:
/// every kernel symbol resolves, every index is in range, every shape is
/// well formed and every dtype is known. Errors: COIL_NOT_FOUND (no such
/// file), COIL_IO_ERROR (unreadable), COIL_BAD_MODEL (anything else). On
/// success `*out_model` owns one reference; release it with
/// coil_model_release. Thread-safe.
COIL_API coil_status_t *coil_model_load(const char *path,
                                        coil_model_t **out_model);

/// Releases the caller's reference to `model`; NULL is allowed. The library
/// is unloaded when no session uses it any more.
COIL_API void coil_model_release(coil_model_t *model);

/// The model family from the metadata ("mamba", "llama", ...), owned by
/// `model`; NULL for a NULL model. Thread-safe.
COIL_API const char *coil_model_family(const coil_model_t *model);

/// The vocabulary size; -1 for a NULL model. Thread-safe.
COIL_API int64_t coil_model_vocab_size(const coil_model_t *model);

/// The longest sequence the model supports, or 0 when it is unbounded; -1 for
/// a NULL model. Thread-safe.
COIL_API int64_t coil_model_max_context(const coil_model_t *model);

/// The number of kernels; -1 for a NULL model. Thread-safe.
COIL_API int64_t coil_model_num_kernels(const coil_model_t *model);

/// The name of kernel `index`, owned by `model`; NULL for a NULL model or an
/// index outside [0, coil_model_num_kernels). Thread-safe.
COIL_API const char *coil_model_kernel_name(const coil_model_t *model,
                                            int64_t index);

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

/// A set of safetensors files mapped read-only. Immutable: safe to share
/// between threads. A model it is bound to keeps it alive.
typedef struct coil_weights_t coil_weights_t;

/// Opens and validates the weights at `path`: a `.safetensors` file, a
/// sharded `model.safetensors.index.json`, or a directory holding either.
/// Errors: COIL_NOT_FOUND (no such path), COIL_BAD_WEIGHTS (malformed or
/// unreadable files; the message names the file and the tensor). On success
/// `*out_weights` owns one reference; release it with coil_weights_release.
/// Thread-safe.
COIL_API coil_status_t *coil_weights_open(const char *path,
                                          coil_weights_t **out_weights);

/// Releases the caller's reference to `weights`; NULL is allowed. The files
/// stay mapped while a model uses them.
COIL_API void coil_weights_release(coil_weights_t *weights);

/// Binds `weights` to `model`, once. Every weight of the model's metadata
/// must be in the files with the same shape; an F32, F16 or BF16 tensor
/// serves a weight of any of those types (used in place when they are the
/// same, else converted into a copy the model owns: widened exactly to
/// f32, rounded to nearest even to bf16 or f16); every tensor of the files
/// must be used (the error names one that is not). The model takes a reference
/// to `weights`. Errors: COIL_BAD_WEIGHTS (a mismatch),
/// COIL_FAILED_PRECONDITION (weights already bound), COIL_OUT_OF_MEMORY. Not
/// thread-safe: bind before the model is shared.
COIL_API coil_status_t *coil_model_bind_weights(coil_model_t *model,
                                                coil_weights_t *weights);

/// What binding cost: the weights packed into the panel layout the model's
/// kernels read (docs/abi.md), their bytes, and the seconds spent packing
/// and binding in all; and what it found: weights that are not finite.
typedef struct coil_bind_stats_t {
  /// sizeof(coil_bind_stats_t) as the caller was compiled: fields beyond it
  /// are not written.
  uint32_t struct_size;
  int64_t packed_weights;
  int64_t packed_bytes;
  double pack_seconds;
  double bind_seconds;
  /// The weights holding a NaN or an infinity (such a model computes NaNs),
  /// and the name of the first, owned by the model (NULL when none).
  int64_t nonfinite_weights;
  const char *first_nonfinite_weight;
} coil_bind_stats_t;

/// Fills `out_stats` (whose struct_size the caller sets) for `model`: all
/// zero before weights are bound or for a NULL model. Thread-safe once the
/// weights are bound.
COIL_API void coil_model_bind_stats(const coil_model_t *model,
                                    coil_bind_stats_t *out_stats);

//===----------------------------------------------------------------------===//
// Sessions
//===----------------------------------------------------------------------===//

/// Options for coil_session_create. Initialize with
/// coil_session_options_initialize, then change fields. Fields are only
/// ever added at the end; a caller compiled against an older, shorter
/// struct gets the defaults of the fields it lacks.
typedef struct coil_session_options_t {
  /// sizeof(coil_session_options_t) as the caller was compiled; set by
  /// coil_session_options_initialize.
  uint32_t struct_size;
  /// The most sequences one call may run (sequences 0..max_batch-1).
  int64_t max_batch;
  /// The most tokens one sequence may hold. Every buffer is sized for it.
  int64_t max_context;
  /// The threads every kernel of the session runs on, from 1 to
  /// COIL_SESSION_MAX_THREADS: the thread calling prefill or decode plus
  /// `threads - 1` workers the session owns, started by coil_session_create
  /// and joined by coil_session_release. Each kernel splits its work among
  /// them. Between calls the workers spin for about 100 microseconds, then
  /// sleep. Results do not depend on the number. Default 1 (no workers).
  int32_t threads;
  /// Unused: the padding after `threads` in callers compiled before
  /// `all_logits` existed, which they may leave uninitialised.
  int32_t reserved0;
  /// Which logits coil_session_prefill computes. 0 (the default): those of
  /// each sequence's last position only, `[batch, 1, vocab]` (the model's
  /// entry "prefill"; the LM head runs on those rows alone and the logits
  /// buffer holds max_batch rows). Nonzero: those of every position,
  /// `[batch, num_tokens, vocab]` (the entry "prefill_all"; the logits
  /// buffer holds max_batch x max_context rows).
  int32_t all_logits;
  /// Unused: the padding after `all_logits`.
  int32_t reserved1;
  /// The most tokens one coil_session_verify_at call feeds each sequence,
  /// from 0 to max_context. The session keeps room for the recurrent states
  /// of that many positions of every sequence (a Mamba layer's conv and SSM
  /// state per position) and for their logits. 0 (the default): no
  /// verify.
  int64_t verify_tokens;
} coil_session_options_t;

/// Sets `options` to the defaults: max_batch 1, max_context 2048, threads 1,
/// all_logits 0, verify_tokens 0. Inline, so it fills exactly the struct
/// the caller was compiled with (binaries built before it was inline call
/// the library's function of this name, which fills the struct they knew).
/// NULL is allowed (nothing happens).
static inline void
coil_session_options_initialize(coil_session_options_t *options) {
  coil_session_options_t defaults = {sizeof(coil_session_options_t), 1, 2048,
                                     1, 0, 0, 0, 0};
  if (options)
    *options = defaults;
}

/// The state of up to max_batch sequences, every buffer needed to run them
/// and the worker threads that run kernels with the caller.
/// Thread-compatible: use from one thread at a time.
typedef struct coil_session_t coil_session_t;

/// Creates a session on `model`, which must have weights bound. `options`
/// may be NULL for the defaults. Every buffer is allocated and touched now
/// (states zeroed; scratch sized for max_batch sequences of max_context
/// tokens) and the `threads - 1` workers are started, so prefill and decode
/// never allocate. The session keeps `model` alive. Errors:
/// COIL_FAILED_PRECONDITION (no weights bound), COIL_INVALID_ARGUMENT (a
/// field below 1, threads above COIL_SESSION_MAX_THREADS, or a struct_size
/// smaller than the struct before `threads` was added), COIL_OUT_OF_RANGE
/// (max_context above the model's bound, max_batch above
/// COIL_SESSION_MAX_BATCH), COIL_OUT_OF_MEMORY (the buffers would need more
/// memory than the process may still take, which is checked before any is
/// allocated, or a worker thread that cannot be started). Thread-safe with
/// respect to `model`.
COIL_API coil_status_t *
coil_session_create(coil_model_t *model, const coil_session_options_t *options,
                    coil_session_t **out_session);

/// Releases `session` and its buffers and joins its workers; NULL is
/// allowed.
COIL_API void coil_session_release(coil_session_t *session);

/// Runs the entry "prefill" on `num_tokens` new tokens for each of the
/// sequences 0..batch-1, each kernel on the session's threads. `tokens` is
/// `batch x num_tokens`, row-major, and is not kept. Token t of sequence b gets
/// position length(b) + t; afterwards each sequence is `num_tokens` longer.
/// Everything is checked before anything runs, so on error the session is
/// unchanged: COIL_INVALID_ARGUMENT (NULL, batch < 1, num_tokens < 1),
/// COIL_OUT_OF_RANGE (batch > max_batch, a sequence that would exceed
/// max_context, a token id outside [0, vocab_size)).
COIL_API coil_status_t *coil_session_prefill(coil_session_t *session,
                                             const int32_t *tokens,
                                             int64_t batch, int64_t num_tokens);

/// Runs the entry "decode" on one new token for each of the sequences
/// 0..batch-1 (`tokens` has `batch` ids). Checks and errors as for
/// coil_session_prefill with num_tokens 1.
COIL_API coil_status_t *coil_session_decode(coil_session_t *session,
                                            const int32_t *tokens,
                                            int64_t batch);

/// coil_session_prefill on the sequences first..first+batch-1: sequences of
/// a session run in any contiguous groups, each group with its own token
/// count (what a scheduler of many requests needs). The logits' rows are
/// those sequences in order. Errors as for coil_session_prefill, and
/// COIL_OUT_OF_RANGE for a group beyond max_batch.
COIL_API coil_status_t *coil_session_prefill_at(coil_session_t *session,
                                                int64_t first,
                                                const int32_t *tokens,
                                                int64_t batch,
                                                int64_t num_tokens);

/// coil_session_decode on the sequences first..first+batch-1.
COIL_API coil_status_t *coil_session_decode_at(coil_session_t *session,
                                               int64_t first,
                                               const int32_t *tokens,
                                               int64_t batch);

/// Feeds `num_tokens` tokens to each of the sequences first..first+batch-1
/// as coil_session_prefill_at does, computing the logits of every position
/// (`[batch, num_tokens, vocab]`, the entry "verify") and keeping the
/// recurrent state after every position, so that
/// coil_session_truncate_sequence can take a sequence back to any of them:
/// speculative decoding's verification of draft tokens, on any model.
/// The logits and states equal those of prefilling the same tokens.
/// Errors as for coil_session_prefill_at, and COIL_FAILED_PRECONDITION (the
/// session's verify_tokens is 0), COIL_OUT_OF_RANGE (num_tokens above
/// verify_tokens).
COIL_API coil_status_t *coil_session_verify_at(coil_session_t *session,
                                               int64_t first,
                                               const int32_t *tokens,
                                               int64_t batch,
                                               int64_t num_tokens);

/// The logits of the last successful prefill or decode, f32
/// `[batch, tokens, vocab]` row-major, owned by `session` and valid until
/// its next prefill, decode, reset or release. `tokens` is 1 after decode,
/// and after a prefill without all_logits of a model whose prefill keeps
/// the last position (every model coilc compiles); else num_tokens. Errors:
/// COIL_FAILED_PRECONDITION (no call since creation or reset).
COIL_API coil_status_t *coil_session_logits(const coil_session_t *session,
                                            const float **out_logits,
                                            int64_t *out_batch,
                                            int64_t *out_tokens,
                                            int64_t *out_vocab);

/// The number of tokens fed to `sequence` so far; -1 for a NULL session or a
/// sequence outside [0, max_batch).
COIL_API int64_t coil_session_length(const coil_session_t *session,
                                     int64_t sequence);

/// Empties every sequence: lengths 0, states zeroed, no logits. NULL is
/// allowed.
COIL_API void coil_session_reset(coil_session_t *session);

/// Empties one sequence: length 0 and its recurrent states zeroed (a KV
/// cache needs no clearing). Errors: COIL_INVALID_ARGUMENT (NULL),
/// COIL_OUT_OF_RANGE (sequence outside [0, max_batch)).
COIL_API coil_status_t *coil_session_reset_sequence(coil_session_t *session,
                                                    int64_t sequence);

/// Makes sequence `to` a copy of sequence `from`: its states (KV caches up
/// to the length) and length. Errors: COIL_INVALID_ARGUMENT (NULL),
/// COIL_OUT_OF_RANGE (either outside [0, max_batch)).
COIL_API coil_status_t *coil_session_copy_sequence(coil_session_t *session,
                                                   int64_t from, int64_t to);

/// Forgets the last tokens of `sequence`, keeping its first `length`: the
/// state becomes exactly what it was after them (rolling back rejected
/// tokens of speculative decoding). A model whose every state is a KV cache
/// goes back to any length (coil_session_can_truncate). A recurrent state
/// goes back only to a position of the sequence's last call when that call
/// was coil_session_verify_at: its state after that position was kept (a
/// length from the length before that call + 1 to the length now, and
/// again to a shorter one of those after a truncation); elsewhere restore a
/// sequence saved at the token to go back to. Errors: COIL_INVALID_ARGUMENT
/// (NULL), COIL_OUT_OF_RANGE (sequence, or a length above the sequence's),
/// COIL_FAILED_PRECONDITION (a recurrent state and a length outside the
/// last verify's positions).
COIL_API coil_status_t *coil_session_truncate_sequence(coil_session_t *session,
                                                       int64_t sequence,
                                                       int64_t length);

/// Non-zero when every state of the model is a KV cache, so
/// coil_session_truncate_sequence can roll a sequence back to any length; 0
/// for a model with recurrent state (which goes back within a verify call
/// only) and for NULL.
COIL_API int coil_session_can_truncate(const coil_session_t *session);

/// The most bytes a sequence's saved state takes (a sequence holding
/// max_context tokens), so a buffer of this size fits any; 0 for a NULL
/// session.
COIL_API size_t coil_session_sequence_state_size(const coil_session_t *session);

/// The bytes the saved state of `sequence` takes now (KV caches are saved up
/// to the sequence's length; recurrent states whole); 0 for a NULL session
/// or a sequence outside [0, max_batch).
COIL_API size_t coil_session_saved_size(const coil_session_t *session,
                                        int64_t sequence);

/// Writes the state of `sequence` to `buffer`, which holds `size` bytes, at
/// least coil_session_saved_size; exactly that many are written. The blob
/// is a 40-byte header (magic "COILSEQ", version 2, length, total size, a
/// fingerprint of the state layout and of the model: its metadata, and its
/// weights' names and a sample of their bytes) followed by that sequence's
/// slice of every state in metadata order, KV caches up to the length; it
/// is restored only into a session of the same compiled model with the same
/// weights and state layout (the same max_context when a state depends on
/// it), on a host of the same byte order. Errors: COIL_INVALID_ARGUMENT
/// (NULL, `size` too small), COIL_OUT_OF_RANGE (sequence outside [0,
/// max_batch)).
COIL_API coil_status_t *
coil_session_save_sequence(const coil_session_t *session, int64_t sequence,
                           void *buffer, size_t size);

/// Replaces the state and length of `sequence` with a blob written by
/// coil_session_save_sequence; `size` may exceed the blob's own. The header
/// and size are checked before anything changes: COIL_INVALID_ARGUMENT
/// (NULL, a size below the blob's or a blob size that does not match its
/// length, bad magic or version, a different state layout, a length above
/// max_context),
/// COIL_OUT_OF_RANGE (sequence outside [0, max_batch)). The logits of the
/// last call are unaffected.
COIL_API coil_status_t *coil_session_restore_sequence(coil_session_t *session,
                                                      int64_t sequence,
                                                      const void *buffer,
                                                      size_t size);

//===----------------------------------------------------------------------===//
// Profiling
//===----------------------------------------------------------------------===//

// A model compiled with `coilc --profile` times every kernel call on every
// thread of a session while the session's profiling is enabled. Profiling is
// per session and off by default; like the session, these functions are
// thread-compatible. Recording takes no lock and allocates nothing: each
// thread of the session appends to an array of about a million events
// allocated when profiling is first enabled; events beyond it are dropped
// and counted (coil_session_profile_dropped).

/// Turns profiling of `session` on (`enabled` non-zero) or off. Turning it
/// on the first time allocates the event arrays; what was recorded stays
/// when it is turned off. Errors: COIL_INVALID_ARGUMENT (NULL),
/// COIL_FAILED_PRECONDITION (enabling on a model not compiled with
/// `coilc --profile`), COIL_OUT_OF_MEMORY.
COIL_API coil_status_t *coil_session_set_profiling(coil_session_t *session,
                                                   int enabled);

/// Forgets every recorded kernel call and dropped event. NULL is allowed.
COIL_API void coil_session_profile_reset(coil_session_t *session);

/// The profile of one step of an entry point, over every call since the
/// last reset.
typedef struct coil_profile_entry_t {
  /// The kernel's name (coil_model_kernel_name of kernel_index).
  const char *kernel;
  /// The kernel's index in the model.
  int64_t kernel_index;
  /// The step's index in its entry's schedule.
  int64_t step;
  /// The entry point: "prefill", "decode" or "verify".
  const char *entry;
  /// The model layer the step belongs to, or -1.
  int64_t layer;
  /// The calls of the entry that ran this step.
  int64_t calls;
  /// The sum over calls of the step's wall time: from the earliest start
  /// to the latest end of the kernel among the session's threads.
  double total_seconds;
  /// The floating-point operations and bytes moved over all calls, from
  /// the compiler's cost model: a + b * N + c * N * A + d * B + e * B * C
  /// per call, where N is batch * tokens of the call, A the mean positions
  /// a token attends (its own and the earlier ones), B its batch and C the
  /// mean length of its sequences after it (docs/abi.md).
  double flops;
  double bytes;
  /// The barriers the step's kernel waited at, over all calls (0 on one
  /// thread, where kernels need none).
  int64_t barriers;
} coil_profile_entry_t;

/// The profile since the last reset: one entry per (entry point, step) that
/// ran, prefill's steps first, each entry point's in schedule order.
/// `*out_entries` (`*out_count` of them; NULL when none) is owned by
/// `session` and valid until the next call on it. Errors:
/// COIL_INVALID_ARGUMENT (NULL).
COIL_API coil_status_t *
coil_session_profile_summary(const coil_session_t *session,
                             const coil_profile_entry_t **out_entries,
                             int64_t *out_count);

/// The kernel calls dropped since the last reset because the event arrays
/// were full (counted per thread); -1 for a NULL session.
COIL_API int64_t coil_session_profile_dropped(const coil_session_t *session);

/// Writes the recorded kernel calls to `path` as Chrome trace-event JSON
/// (open it in Perfetto or chrome://tracing): `{"traceEvents": [...],
/// "displayTimeUnit": "ms", "otherData": {"dropped": n}}` with one complete
/// event ("ph": "X", "ts" and "dur" in microseconds since the last reset,
/// "pid" 1, "tid" the thread's tile) per kernel call per thread, named by
/// the kernel, with "args" {"entry", "step", "layer", "batch", "tokens",
/// "flops", "bytes"} (the cost of the whole call), and a "thread_name"
/// metadata event per thread. The file is written to a temporary file next
/// to `path` and renamed over it. Errors: COIL_INVALID_ARGUMENT (NULL),
/// COIL_IO_ERROR.
COIL_API coil_status_t *coil_session_write_trace(const coil_session_t *session,
                                                 const char *path);

//===----------------------------------------------------------------------===//
// Tokenizers
//===----------------------------------------------------------------------===//

/// A Hugging Face tokenizer (tokenizer.json): byte-level BPE as GPT-2,
/// GPT-NeoX/Mamba and Llama 3 checkpoints use, and SentencePiece-style BPE
/// with byte fallback as Llama 2 checkpoints use, with the file's
/// normalizer, pre-tokenizer, added tokens, post-processor and decoder
/// (docs/tokenizers.md). Immutable: safe to share between threads.
typedef struct coil_tokenizer_t coil_tokenizer_t;

/// Loads the tokenizer at `path`: a tokenizer.json or a directory holding
/// one (a checkpoint directory). Errors: COIL_NOT_FOUND (no such file),
/// COIL_IO_ERROR (not a readable regular file), COIL_BAD_TOKENIZER
/// (malformed, or a component not supported: the message names the file
/// and the key). On success `*out_tokenizer` owns the tokenizer; release it
/// with coil_tokenizer_release. Thread-safe.
COIL_API coil_status_t *coil_tokenizer_load(const char *path,
                                            coil_tokenizer_t **out_tokenizer);

/// Releases `tokenizer`; NULL is allowed.
COIL_API void coil_tokenizer_release(coil_tokenizer_t *tokenizer);

/// One past the largest token id; -1 for a NULL tokenizer. Thread-safe.
COIL_API int64_t coil_tokenizer_vocab_size(const coil_tokenizer_t *tokenizer);

/// The id of token string `token` (as the vocabulary spells it, e.g.
/// "</s>"), or -1 when it has none or an argument is NULL. Thread-safe.
COIL_API int32_t coil_tokenizer_token_id(const coil_tokenizer_t *tokenizer,
                                         const char *token);

/// Whether `id` is a special token (an added token marked special, such as
/// a BOS or EOS); 0 for a NULL tokenizer. Thread-safe.
COIL_API int coil_tokenizer_is_special(const coil_tokenizer_t *tokenizer,
                                       int32_t id);

/// The special tokens that end a text, under the names checkpoints give
/// them ("</s>", "<|endoftext|>", "<|end_of_text|>", "<|eot_id|>",
/// "<|im_end|>"), in that order: the default stop tokens of a generation.
/// Writes at most `capacity` ids to `ids` and returns how many there are
/// (at most 5); 0 for a NULL tokenizer. Thread-safe.
COIL_API size_t coil_tokenizer_end_of_text(const coil_tokenizer_t *tokenizer,
                                           int32_t *ids, size_t capacity);

/// Encodes `length` bytes of `text` (any bytes: invalid UTF-8 reads as
/// U+FFFD, NUL is a character). With `add_special_tokens`, the
/// post-processor's template (e.g. a BOS) is applied, as Hugging Face does
/// by default. Writes at most `capacity` ids to `ids` and the number the
/// text has to `*out_count`; when that is more than `capacity`, nothing
/// useful is in `ids` and the call fails with COIL_OUT_OF_RANGE, so a
/// caller may ask with capacity 0 first. Errors: COIL_INVALID_ARGUMENT
/// (NULL tokenizer or out_count, NULL text with a length, NULL ids with a
/// capacity), COIL_OUT_OF_RANGE, COIL_BAD_TOKENIZER (a pattern of the file
/// exceeded the regular expression engine's limits). Thread-safe.
COIL_API coil_status_t *coil_tokenizer_encode(const coil_tokenizer_t *tokenizer,
                                              const char *text, size_t length,
                                              int add_special_tokens,
                                              int32_t *ids, size_t capacity,
                                              size_t *out_count);

/// Decodes `count` ids into UTF-8 text (invalid byte sequences replaced by
/// U+FFFD as Hugging Face replaces them; special tokens left out with
/// `skip_special_tokens`). Writes at most `capacity` bytes to `text`, NUL
/// terminated when there is room, and the length without the NUL to
/// `*out_length`; fails with COIL_OUT_OF_RANGE when `capacity` is not more
/// than that length. Errors: COIL_INVALID_ARGUMENT (NULLs as for encode),
/// COIL_OUT_OF_RANGE (an id outside the vocabulary, or too small a
/// buffer). Thread-safe.
COIL_API coil_status_t *coil_tokenizer_decode(const coil_tokenizer_t *tokenizer,
                                              const int32_t *ids, size_t count,
                                              int skip_special_tokens,
                                              char *text, size_t capacity,
                                              size_t *out_length);

/// Text produced one token at a time (streaming): each call returns what
/// became complete, holding back a character whose bytes span several
/// tokens until its last byte arrives. Used by one thread at a time.
typedef struct coil_text_stream_t coil_text_stream_t;

/// A stream decoding with `tokenizer`, which must outlive it. Errors:
/// COIL_INVALID_ARGUMENT (NULL).
COIL_API coil_status_t *
coil_text_stream_create(const coil_tokenizer_t *tokenizer,
                        int skip_special_tokens,
                        coil_text_stream_t **out_stream);

/// Releases `stream`; NULL is allowed.
COIL_API void coil_text_stream_release(coil_text_stream_t *stream);

/// Adds token `id` and sets `*out_text` to the text that became complete
/// (NUL terminated, maybe empty, owned by the stream and valid until its
/// next call) and `*out_length` to its length. Errors:
/// COIL_INVALID_ARGUMENT (NULL), COIL_OUT_OF_RANGE (an id outside the
/// vocabulary; the stream is unchanged).
COIL_API coil_status_t *coil_text_stream_push(coil_text_stream_t *stream,
                                              int32_t id,
                                              const char **out_text,
                                              size_t *out_length);

/// Ends the stream: the rest of its text (an unfinished character as
/// U+FFFD), owned as for push; the stream can then start over.
COIL_API coil_status_t *coil_text_stream_finish(coil_text_stream_t *stream,
                                                const char **out_text,
                                                size_t *out_length);

//===----------------------------------------------------------------------===//
// Sampling and generation
//===----------------------------------------------------------------------===//

/// How the next token is chosen. Initialise with
/// coil_sampling_options_initialize: greedy (temperature 0). Sampled
/// otherwise, with Hugging Face's processors in its order: repetition
/// penalty, temperature, top-k, top-p, min-p. Each sequence draws from its
/// own stream derived from `seed` and its index, so the same seed gives the
/// same tokens on every thread count and batch.
typedef struct coil_sampling_options_t {
  /// sizeof(coil_sampling_options_t) as the caller compiled it.
  uint32_t struct_size;
  /// 0: the most likely token; otherwise logits / temperature are sampled.
  float temperature;
  /// Only the k most likely tokens; 0: all.
  int32_t top_k;
  /// The smallest set of most likely tokens with probability >= top_p, in
  /// (0, 1]; 1: all.
  float top_p;
  /// Tokens less likely than min_p x the most likely are dropped; [0, 1].
  float min_p;
  /// > 0; 1 is off. Logits of tokens the sequence has seen (its prompt and
  /// what it generated) are divided by it when positive, multiplied when
  /// negative.
  float repetition_penalty;
  uint32_t reserved0;
  /// Seeds the random streams.
  uint64_t seed;
} coil_sampling_options_t;

/// Sets every field of `options` to its default (greedy, seed 0). Inline,
/// so it fills exactly the struct the caller was compiled with.
static inline void
coil_sampling_options_initialize(coil_sampling_options_t *options) {
  coil_sampling_options_t defaults = {sizeof(coil_sampling_options_t),
                                      0.0f, 0, 1.0f, 0.0f, 1.0f, 0u, 0u};
  *options = defaults;
}

/// Samples tokens for several sequences, each with its own history and
/// random stream (e.g. one per sequence of a batched session). Used by one
/// thread at a time.
typedef struct coil_sampler_t coil_sampler_t;

/// A sampler for `sequences` sequences. Errors: COIL_INVALID_ARGUMENT (NULL,
/// sequences < 1, an option out of its range; the message names it).
COIL_API coil_status_t *
coil_sampler_create(const coil_sampling_options_t *options, int64_t sequences,
                    coil_sampler_t **out_sampler);

/// Releases `sampler`; NULL is allowed.
COIL_API void coil_sampler_release(coil_sampler_t *sampler);

/// Adds `count` tokens to what `sequence` has seen (its prompt, say), for
/// the repetition penalty. Errors: COIL_INVALID_ARGUMENT (NULL),
/// COIL_OUT_OF_RANGE (sequence outside [0, sequences)).
COIL_API coil_status_t *coil_sampler_observe(coil_sampler_t *sampler,
                                             int64_t sequence,
                                             const int32_t *tokens,
                                             size_t count);

/// The next token of `sequence` from its `vocab` logits (a row of
/// coil_session_logits); the token is observed. Errors:
/// COIL_INVALID_ARGUMENT (NULL, vocab < 1), COIL_OUT_OF_RANGE (sequence).
COIL_API coil_status_t *coil_sampler_sample(coil_sampler_t *sampler,
                                            int64_t sequence,
                                            const float *logits, int64_t vocab,
                                            int32_t *out_token);

/// A request for coil_generate. Initialise with
/// coil_generate_options_initialize.
typedef struct coil_generate_options_t {
  /// sizeof(coil_generate_options_t) as the caller compiled it.
  uint32_t struct_size;
  /// The tokenizer's template (e.g. a BOS) on the prompt (default 1).
  int32_t add_special_tokens;
  /// The most tokens to generate (default 128; 0 only prefills).
  int64_t max_new_tokens;
  coil_sampling_options_t sampling;
  /// Tokens that end the request (e.g. EOS): generated and fed, their
  /// text not emitted. May be NULL when num_stop_tokens is 0.
  const int32_t *stop_tokens;
  size_t num_stop_tokens;
  /// NUL-terminated texts that end the request; the text stops before
  /// them. May be NULL when num_stop_strings is 0.
  const char *const *stop_strings;
  size_t num_stop_strings;
  /// Special tokens left out of the text (default 1).
  int32_t skip_special_tokens;
  uint32_t reserved0;
} coil_generate_options_t;

/// Sets every field of `options` to its default. Inline, as
/// coil_sampling_options_initialize.
static inline void
coil_generate_options_initialize(coil_generate_options_t *options) {
  coil_generate_options_t defaults;
  defaults.struct_size = sizeof(coil_generate_options_t);
  defaults.add_special_tokens = 1;
  defaults.max_new_tokens = 128;
  coil_sampling_options_initialize(&defaults.sampling);
  defaults.stop_tokens = NULL;
  defaults.num_stop_tokens = 0;
  defaults.stop_strings = NULL;
  defaults.num_stop_strings = 0;
  defaults.skip_special_tokens = 1;
  defaults.reserved0 = 0;
  *options = defaults;
}

/// Why a request ended.
typedef enum coil_stop_reason_t {
  COIL_STOP_MAX_TOKENS = 0,
  COIL_STOP_TOKEN,
  COIL_STOP_STRING,
  COIL_STOP_CALLBACK,
  COIL_STOP_CONTEXT,
  /// Cancelled with coil_scheduler_cancel.
  COIL_STOP_CANCELLED,
  /// A session call failed while the request ran (coil_scheduler_step
  /// returned the error).
  COIL_STOP_ERROR
} coil_stop_reason_t;

/// What a request did.
typedef struct coil_generate_stats_t {
  int64_t prompt_tokens;
  int64_t generated_tokens;
  /// Seconds from the call to the first sampled token (tokenizing and
  /// prefill included).
  double time_to_first_token;
  /// Mean seconds between later tokens (0 with fewer than two).
  double time_per_output_token;
  double total_seconds;
  coil_stop_reason_t stop_reason;
  uint32_t reserved0;
} coil_generate_stats_t;

/// Called for each generated token with the text that became final (maybe
/// empty: part of a character, or text that may begin a stop string), and
/// once more at the end with token -1 and the text held back until then,
/// if any. `text` is valid during the call. Return non-zero to go on, 0 to
/// end the request.
typedef int (*coil_token_callback_t)(void *user_data, int32_t token,
                                     const char *text, size_t length);

/// Generates text on sequence 0 of `session` (created with max_batch >= 1):
/// tokenizes `length` bytes of `prompt`, prefills them after whatever the
/// sequence already holds (so a conversation continues without prefilling
/// earlier turns again), then samples, calls `callback`, and decodes until
/// max_new_tokens, a stop token, a stop string, the callback, or the end of
/// the context. Only ids below coil_tokenizer_vocab_size are sampled
/// (models often pad their vocabulary beyond the tokenizer's). Afterwards
/// the sequence holds the prompt and every generated token. `options` may be NULL (defaults), `callback` NULL (no
/// streaming), `stats` NULL. Errors, before anything runs:
/// COIL_INVALID_ARGUMENT (NULL session or tokenizer, an option out of its
/// range, a prompt with no tokens), COIL_OUT_OF_RANGE (the prompt does not
/// fit in the sequence's remaining context); afterwards those of prefill
/// and decode.
COIL_API coil_status_t *
coil_generate(coil_session_t *session, const coil_tokenizer_t *tokenizer,
              const char *prompt, size_t length,
              const coil_generate_options_t *options,
              coil_token_callback_t callback, void *user_data,
              coil_generate_stats_t *stats);

//===----------------------------------------------------------------------===//
// Serving: continuous batching
//===----------------------------------------------------------------------===//

// A scheduler runs many requests on one session, each in a sequence slot of
// its own (docs/serving.md). Requests wait in a FIFO queue until a slot is
// free; each step admits queued requests (restoring the longest cached
// prefix of the prompt when the prefix cache is on), decodes one token for
// every generating request, prefills prompts in chunks of at most
// prefill_chunk tokens over all requests, and retires finished requests,
// packing the rest into the lowest slots. Each request has its own sampler,
// stop conditions and budget; the same prompt and seed give the same tokens
// whatever else runs. Thread-compatible: one thread at a time calls a
// scheduler's functions, and nothing else uses its session meanwhile.

/// Continuous batching over a session. Initialise with
/// coil_scheduler_options_initialize.
typedef struct coil_scheduler_options_t {
  /// sizeof(coil_scheduler_options_t) as the caller compiled it.
  uint32_t struct_size;
  uint32_t reserved0;
  /// The most prompt tokens prefilled per step, over all requests (default
  /// 256; >= 1).
  int64_t prefill_chunk;
  /// The prefix cache's budget in bytes (default 0: off). It keeps the
  /// state after each prompt, after each finished request and after a
  /// request's cache_prefix tokens, least recently used first out.
  uint64_t prefix_cache_bytes;
} coil_scheduler_options_t;

/// Sets every field of `options` to its default. Inline, as
/// coil_sampling_options_initialize.
static inline void
coil_scheduler_options_initialize(coil_scheduler_options_t *options) {
  coil_scheduler_options_t defaults = {sizeof(coil_scheduler_options_t), 0u,
                                       256, 0u};
  *options = defaults;
}

/// One request. Initialise with coil_request_options_initialize.
typedef struct coil_request_options_t {
  /// sizeof(coil_request_options_t) as the caller compiled it.
  uint32_t struct_size;
  /// Special tokens left out of the text (default 1).
  int32_t skip_special_tokens;
  /// The prompt's token ids (at least one, at most the context).
  const int32_t *prompt;
  size_t prompt_length;
  /// The most tokens to generate (default 128; 0 only prefills).
  int64_t max_new_tokens;
  coil_sampling_options_t sampling;
  /// Tokens that end the request: generated, their text not emitted.
  const int32_t *stop_tokens;
  size_t num_stop_tokens;
  /// NUL-terminated texts that end the request (needs a tokenizer).
  const char *const *stop_strings;
  size_t num_stop_strings;
  /// Also cache the state after the first cache_prefix prompt tokens (a
  /// system prompt later requests share); 0 (default): only the whole
  /// prompt.
  int64_t cache_prefix;
} coil_request_options_t;

/// Sets every field of `options` to its default (no prompt). Inline.
static inline void
coil_request_options_initialize(coil_request_options_t *options) {
  coil_request_options_t defaults;
  defaults.struct_size = sizeof(coil_request_options_t);
  defaults.skip_special_tokens = 1;
  defaults.prompt = NULL;
  defaults.prompt_length = 0;
  defaults.max_new_tokens = 128;
  coil_sampling_options_initialize(&defaults.sampling);
  defaults.stop_tokens = NULL;
  defaults.num_stop_tokens = 0;
  defaults.stop_strings = NULL;
  defaults.num_stop_strings = 0;
  defaults.cache_prefix = 0;
  *options = defaults;
}

/// A sampled token of a request, or its end (finished, token -1).
typedef struct coil_scheduler_event_t {
  uint64_t request;
  /// The sampled token; -1 in the final event.
  int32_t token;
  /// Non-zero in the final event (every request has exactly one).
  int32_t finished;
  /// With a tokenizer: the text that became final (held back while it may
  /// begin a stop string); the final event carries what was held back.
  /// Valid during the call; NUL terminated.
  const char *text;
  size_t length;
  /// The row of `vocab` logits the token was drawn from (NULL in the final
  /// event); valid during the call.
  const float *logits;
  int64_t vocab;
  /// In the final event: why the request ended, and its counts.
  coil_stop_reason_t stop_reason;
  uint32_t reserved0;
  int64_t prompt_tokens;
  /// Prompt tokens restored from the prefix cache rather than prefilled.
  int64_t cached_tokens;
  int64_t generated_tokens;
} coil_scheduler_event_t;

/// Called on the stepping thread for every event. Return non-zero to go
/// on, 0 to end the request (COIL_STOP_CALLBACK).
typedef int (*coil_scheduler_callback_t)(void *user_data,
                                         const coil_scheduler_event_t *event);

/// What a scheduler has done, and holds now.
typedef struct coil_scheduler_stats_t {
  int64_t queued;
  int64_t active;
  int64_t submitted;
  int64_t finished;
  int64_t steps;
  int64_t prefilled_tokens;
  int64_t decoded_tokens;
  int64_t sampled_tokens;
  /// Requests that found a cached prefix, and that found none (with the
  /// cache on).
  int64_t cache_hits;
  int64_t cache_misses;
  /// Prompt tokens restored instead of prefilled.
  int64_t cached_tokens;
  uint64_t cache_bytes;
  int64_t cache_entries;
  int64_t cache_evictions;
} coil_scheduler_stats_t;

typedef struct coil_scheduler_t coil_scheduler_t;

/// A scheduler over every slot of `session` (which it resets). `session`
/// and `tokenizer` (NULL: no text, no stop strings) must outlive it;
/// `options` may be NULL (defaults). Errors: COIL_INVALID_ARGUMENT (NULL
/// session, callback or out_scheduler, an option out of its range).
COIL_API coil_status_t *
coil_scheduler_create(coil_session_t *session,
                      const coil_tokenizer_t *tokenizer,
                      const coil_scheduler_options_t *options,
                      coil_scheduler_callback_t callback, void *user_data,
                      coil_scheduler_t **out_scheduler);

/// Releases `scheduler` (requests still queued or running get no events);
/// NULL is allowed.
COIL_API void coil_scheduler_release(coil_scheduler_t *scheduler);

/// Queues a request and writes its id (from 1) to `*out_id`; the options
/// are copied. Errors: COIL_INVALID_ARGUMENT (NULLs, an empty prompt, an
/// option out of range, stop strings without a tokenizer),
/// COIL_OUT_OF_RANGE (a token outside the vocabulary, a prompt longer than
/// max_context).
COIL_API coil_status_t *
coil_scheduler_submit(coil_scheduler_t *scheduler,
                      const coil_request_options_t *request, uint64_t *out_id);

/// Ends a queued or running request at the next step (COIL_STOP_CANCELLED);
/// returns 0 when no such request is waiting or running.
COIL_API int coil_scheduler_cancel(coil_scheduler_t *scheduler,
                                   uint64_t request);

/// Runs one step, calling the callback for its events; does nothing when
/// idle. A failing session call ends every running request
/// (COIL_STOP_ERROR) and is returned; queued requests stay.
COIL_API coil_status_t *coil_scheduler_step(coil_scheduler_t *scheduler);

/// Non-zero when no request is queued or running (and for NULL).
COIL_API int coil_scheduler_idle(const coil_scheduler_t *scheduler);

/// Fills `*out_stats`. Errors: COIL_INVALID_ARGUMENT (NULL).
COIL_API coil_status_t *
coil_scheduler_stats(const coil_scheduler_t *scheduler,
                     coil_scheduler_stats_t *out_stats);

#ifdef __cplusplus
} // extern "C"
#endif

#endif // COIL_COIL_H_
