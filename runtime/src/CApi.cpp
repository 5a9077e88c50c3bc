//===- CApi.cpp - The C API over the runtime's classes ----------*- C++ -*-===//
//
// Each C function checks its pointer arguments, calls into Model or Session
// and turns the outcome into a coil_status_t. No exception crosses the C
// boundary: std::bad_alloc becomes COIL_OUT_OF_MEMORY and anything else
// COIL_INTERNAL.
//
//===----------------------------------------------------------------------===//

#include "coil/coil.h"

#include "runtime/src/CApiSupport.h"
#include "runtime/src/Model.h"
#include "runtime/src/Session.h"
#include "runtime/src/Status.h"
#include "runtime/src/generate/Generate.h"
#include "runtime/src/generate/Sampler.h"
#include "runtime/src/tokenizer/Tokenizer.h"
#include "runtime/src/weights/FileChecks.h"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <new>
#include <vector>

#include <sys/stat.h>

using namespace coil::runtime;
using coil::capi::cStopReason;
using coil::capi::guarded;
using coil::capi::nullArgument;
using coil::capi::samplingParams;

namespace {

/// The size of coil_session_options_t before `threads` was added (API
/// version 1); the smallest struct_size accepted.
constexpr uint32_t kSessionOptionsV1Size =
    offsetof(coil_session_options_t, threads);
static_assert(kSessionOptionsV1Size == 24,
              "version 1 options: struct_size, max_batch, max_context");

// Callers compiled before all_logits existed have 4 bytes of padding after
// `threads` that they may leave uninitialised: the field lies beyond them.
static_assert(offsetof(coil_session_options_t, all_logits) >= 32,
              "all_logits must lie past the version 2 options");

/// True if a caller's options of `structSize` bytes hold the field that
/// ends `fieldEnd` bytes into the struct.
constexpr bool hasField(uint32_t structSize, size_t fieldEnd) {
  return structSize >= fieldEnd;
}

} // namespace

extern "C" {

//===----------------------------------------------------------------------===//
// Models
//===----------------------------------------------------------------------===//

coil_status_t *coil_model_load(const char *path, coil_model_t **out_model) {
  return guarded([&] {
    if (!path)
      return nullArgument("coil_model_load", "path");
    if (!out_model)
      return nullArgument("coil_model_load", "out_model");
    std::shared_ptr<Model> model;
    if (Status status = Model::load(path, model); !status.isOk())
      return status;
    *out_model = new coil_model_t{std::move(model)};
    return Status::ok();
  });
}

void coil_model_release(coil_model_t *model) { delete model; }

const char *coil_model_family(const coil_model_t *model) {
  return model ? model->model->metadata().family.c_str() : nullptr;
}

int64_t coil_model_vocab_size(const coil_model_t *model) {
  return model ? model->model->metadata().vocabSize : -1;
}

int64_t coil_model_max_context(const coil_model_t *model) {
  return model ? model->model->metadata().maxContext : -1;
}

int64_t coil_model_num_kernels(const coil_model_t *model) {
  return model ? static_cast<int64_t>(model->model->metadata().kernels.size())
               : -1;
}

const char *coil_model_kernel_name(const coil_model_t *model, int64_t index) {
  if (!model || index < 0 ||
      index >= static_cast<int64_t>(model->model->metadata().kernels.size()))
    return nullptr;
  return model->model->metadata().kernels[index].name.c_str();
}

void coil_model_bind_stats(const coil_model_t *model,
                           coil_bind_stats_t *out_stats) {
  if (!out_stats)
    return;
  // Only the fields the caller's struct has.
  coil_bind_stats_t all{};
  all.struct_size = out_stats->struct_size;
  if (model) {
    const auto &stats = model->model->bindStats();
    all.packed_weights = stats.packedWeights;
    all.packed_bytes = stats.packedBytes;
    all.pack_seconds = stats.packSeconds;
    all.bind_seconds = stats.bindSeconds;
    all.nonfinite_weights = stats.nonfiniteWeights;
    all.first_nonfinite_weight =
        stats.firstNonfinite.empty() ? nullptr : stats.firstNonfinite.c_str();
  }
  size_t size = std::min<size_t>(out_stats->struct_size, sizeof(all));
  if (size > sizeof(all.struct_size))
    std::memcpy(reinterpret_cast<char *>(out_stats) + sizeof(all.struct_size),
                reinterpret_cast<const char *>(&all) + sizeof(all.struct_size),
                size - sizeof(all.struct_size));
}

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

coil_status_t *coil_weights_open(const char *path,
                                 coil_weights_t **out_weights) {
  return guarded([&] {
    if (!path)
      return nullArgument("coil_weights_open", "path");
    if (!out_weights)
      return nullArgument("coil_weights_open", "out_weights");
    struct stat info;
    if (::stat(path, &info) != 0) {
      int err = errno;
      return Status::error(err == ENOENT || err == ENOTDIR ? COIL_NOT_FOUND
                                                           : COIL_IO_ERROR,
                           std::string(path) + ": " + std::strerror(err));
    }
    std::unique_ptr<coil::weights::WeightFileSet> set;
    coil::weights::Status status =
        coil::weights::WeightFileSet::open(path, set);
    if (!status)
      return Status::error(COIL_BAD_WEIGHTS, status.message());
    *out_weights = new coil_weights_t{std::move(set)};
    return Status::ok();
  });
}

void coil_weights_release(coil_weights_t *weights) { delete weights; }

coil_status_t *coil_model_bind_weights(coil_model_t *model,
                                       coil_weights_t *weights) {
  return guarded([&] {
    if (!model)
      return nullArgument("coil_model_bind_weights", "model");
    if (!weights)
      return nullArgument("coil_model_bind_weights", "weights");
    return model->model->bindWeights(weights->set);
  });
}

//===----------------------------------------------------------------------===//
// Sessions
//===----------------------------------------------------------------------===//

coil_status_t *coil_session_create(coil_model_t *model,
                                   const coil_session_options_t *options,
                                   coil_session_t **out_session) {
  return guarded([&] {
    if (!model)
      return nullArgument("coil_session_create", "model");
    if (!out_session)
      return nullArgument("coil_session_create", "out_session");
    coil_session_options_t effective;
    coil_session_options_initialize(&effective);
    if (options) {
      // Fields the caller's struct lacks keep their defaults.
      uint32_t size = options->struct_size;
      if (size < kSessionOptionsV1Size)
        return Status::error(COIL_INVALID_ARGUMENT,
                             "coil_session_create: options->struct_size is " +
                                 std::to_string(size) + ", expected at least " +
                                 std::to_string(kSessionOptionsV1Size) +
                                 " (call coil_session_options_initialize)");
      effective.max_batch = options->max_batch;
      effective.max_context = options->max_context;
      if (hasField(size, offsetof(coil_session_options_t, threads) +
                             sizeof(options->threads)))
        effective.threads = options->threads;
      if (hasField(size, offsetof(coil_session_options_t, all_logits) +
                             sizeof(options->all_logits)))
        effective.all_logits = options->all_logits;
      if (hasField(size, offsetof(coil_session_options_t, verify_tokens) +
                             sizeof(options->verify_tokens)))
        effective.verify_tokens = options->verify_tokens;
    }
    std::unique_ptr<Session> session;
    if (Status status = Session::create(
            model->model, effective.max_batch, effective.max_context,
            effective.threads, effective.all_logits != 0,
            effective.verify_tokens, session);
        !status.isOk())
      return status;
    *out_session = new coil_session_t{std::move(session), {}};
    return Status::ok();
  });
}

void coil_session_release(coil_session_t *session) { delete session; }

coil_status_t *coil_session_prefill(coil_session_t *session,
                                    const int32_t *tokens, int64_t batch,
                                    int64_t num_tokens) {
  return guarded([&] {
    if (!session)
      return nullArgument("coil_session_prefill", "session");
    return session->session->prefill(tokens, batch, num_tokens);
  });
}

coil_status_t *coil_session_decode(coil_session_t *session,
                                   const int32_t *tokens, int64_t batch) {
  return guarded([&] {
    if (!session)
      return nullArgument("coil_session_decode", "session");
    return session->session->decode(tokens, batch);
  });
}

coil_status_t *coil_session_prefill_at(coil_session_t *session, int64_t first,
                                       const int32_t *tokens, int64_t batch,
                                       int64_t num_tokens) {
  return guarded([&] {
    if (!session)
      return nullArgument("coil_session_prefill_at", "session");
    return session->session->prefill(tokens, batch, num_tokens, first);
  });
}

coil_status_t *coil_session_decode_at(coil_session_t *session, int64_t first,
                                      const int32_t *tokens, int64_t batch) {
  return guarded([&] {
    if (!session)
      return nullArgument("coil_session_decode_at", "session");
    return session->session->decode(tokens, batch, first);
  });
}

coil_status_t *coil_session_verify_at(coil_session_t *session, int64_t first,
                                      const int32_t *tokens, int64_t batch,
                                      int64_t num_tokens) {
  return guarded([&] {
    if (!session)
      return nullArgument("coil_session_verify_at", "session");
    return session->session->verify(tokens, batch, num_tokens, first);
  });
}

coil_status_t *coil_session_logits(const coil_session_t *session,
                                   const float **out_logits, int64_t *out_batch,
                                   int64_t *out_tokens, int64_t *out_vocab) {
  return guarded([&] {
    if (!session)
      return nullArgument("coil_session_logits", "session");
    if (!out_logits || !out_batch || !out_tokens || !out_vocab)
      return nullArgument("coil_session_logits", "an out_* argument");
    const float *data;
    int64_t batch, tokens, vocab;
    if (Status status = session->session->logits(data, batch, tokens, vocab);
        !status.isOk())
      return status;
    *out_logits = data;
    *out_batch = batch;
    *out_tokens = tokens;
    *out_vocab = vocab;
    return Status::ok();
  });
}

int64_t coil_session_length(const coil_session_t *session, int64_t sequence) {
  return session ? session->session->length(sequence) : -1;
}

void coil_session_reset(coil_session_t *session) {
  if (session)
    session->session->reset();
}

coil_status_t *coil_session_reset_sequence(coil_session_t *session,
                                           int64_t sequence) {
  return guarded([&] {
    if (!session)
      return nullArgument("coil_session_reset_sequence", "session");
    return session->session->resetSequence(sequence);
  });
}

coil_status_t *coil_session_copy_sequence(coil_session_t *session, int64_t from,
                                          int64_t to) {
  return guarded([&] {
    if (!session)
      return nullArgument("coil_session_copy_sequence", "session");
    return session->session->copySequence(from, to);
  });
}

coil_status_t *coil_session_truncate_sequence(coil_session_t *session,
                                              int64_t sequence,
                                              int64_t length) {
  return guarded([&] {
    if (!session)
      return nullArgument("coil_session_truncate_sequence", "session");
    return session->session->truncateSequence(sequence, length);
  });
}

size_t coil_session_saved_size(const coil_session_t *session,
                               int64_t sequence) {
  return session ? session->session->savedSize(sequence) : 0;
}

int coil_session_can_truncate(const coil_session_t *session) {
  return session && session->session->canTruncate() ? 1 : 0;
}

size_t coil_session_sequence_state_size(const coil_session_t *session) {
  return session ? session->session->sequenceStateSize() : 0;
}

coil_status_t *coil_session_save_sequence(const coil_session_t *session,
                                          int64_t sequence, void *buffer,
                                          size_t size) {
  return guarded([&] {
    if (!session)
      return nullArgument("coil_session_save_sequence", "session");
    return session->session->saveSequence(sequence, buffer, size);
  });
}

coil_status_t *coil_session_restore_sequence(coil_session_t *session,
                                             int64_t sequence,
                                             const void *buffer, size_t size) {
  return guarded([&] {
    if (!session)
      return nullArgument("coil_session_restore_sequence", "session");
    return session->session->restoreSequence(sequence, buffer, size);
  });
}

//===----------------------------------------------------------------------===//
// Profiling
//===----------------------------------------------------------------------===//

coil_status_t *coil_session_set_profiling(coil_session_t *session,
                                          int enabled) {
  return guarded([&] {
    if (!session)
      return nullArgument("coil_session_set_profiling", "session");
    return session->session->setProfiling(enabled != 0);
  });
}

void coil_session_profile_reset(coil_session_t *session) {
  if (session)
    session->session->profileReset();
}

coil_status_t *
coil_session_profile_summary(const coil_session_t *session,
                             const coil_profile_entry_t **out_entries,
                             int64_t *out_count) {
  return guarded([&] {
    if (!session)
      return nullArgument("coil_session_profile_summary", "session");
    if (!out_entries || !out_count)
      return nullArgument("coil_session_profile_summary", "an out_* argument");
    session->session->profileSummary(session->summary);
    *out_entries = session->summary.empty() ? nullptr : session->summary.data();
    *out_count = static_cast<int64_t>(session->summary.size());
    return Status::ok();
  });
}

int64_t coil_session_profile_dropped(const coil_session_t *session) {
  return session ? session->session->profileDropped() : -1;
}

coil_status_t *coil_session_write_trace(const coil_session_t *session,
                                        const char *path) {
  return guarded([&] {
    if (!session)
      return nullArgument("coil_session_write_trace", "session");
    if (!path)
      return nullArgument("coil_session_write_trace", "path");
    return session->session->writeTrace(path);
  });
}

//===----------------------------------------------------------------------===//
// Tokenizers
//===----------------------------------------------------------------------===//

coil_status_t *coil_tokenizer_load(const char *path,
                                   coil_tokenizer_t **out_tokenizer) {
  return guarded([&] {
    if (!path)
      return nullArgument("coil_tokenizer_load", "path");
    if (!out_tokenizer)
      return nullArgument("coil_tokenizer_load", "out_tokenizer");
    std::string file = coil::tokenizer::Tokenizer::fileOf(path);
    struct stat info;
    if (::stat(file.c_str(), &info) != 0) {
      int err = errno;
      return Status::error(err == ENOENT || err == ENOTDIR ? COIL_NOT_FOUND
                                                           : COIL_IO_ERROR,
                           file + ": " + std::strerror(err));
    }
    if (std::string problem = coil::weights::checkInputFile(
            file, coil::weights::kMaxJsonFileBytes);
        !problem.empty())
      return Status::error(COIL_IO_ERROR, problem);
    std::unique_ptr<coil::tokenizer::Tokenizer> tokenizer;
    if (std::string problem = coil::tokenizer::Tokenizer::load(file, tokenizer);
        !problem.empty())
      return Status::error(COIL_BAD_TOKENIZER, problem);
    *out_tokenizer = new coil_tokenizer_t{std::move(tokenizer)};
    return Status::ok();
  });
}

void coil_tokenizer_release(coil_tokenizer_t *tokenizer) { delete tokenizer; }

int64_t coil_tokenizer_vocab_size(const coil_tokenizer_t *tokenizer) {
  return tokenizer ? tokenizer->tokenizer->vocabSize() : -1;
}

int32_t coil_tokenizer_token_id(const coil_tokenizer_t *tokenizer,
                                const char *token) {
  if (!tokenizer || !token)
    return -1;
  try {
    return tokenizer->tokenizer->tokenId(token);
  } catch (...) {
    return -1;
  }
}

int coil_tokenizer_is_special(const coil_tokenizer_t *tokenizer, int32_t id) {
  return tokenizer && tokenizer->tokenizer->isSpecial(id) ? 1 : 0;
}

size_t coil_tokenizer_end_of_text(const coil_tokenizer_t *tokenizer,
                                  int32_t *ids, size_t capacity) {
  if (!tokenizer)
    return 0;
  size_t count = 0;
  for (const char *name : {"</s>", "<|endoftext|>", "<|end_of_text|>",
                           "<|eot_id|>", "<|im_end|>"}) {
    int32_t id = coil_tokenizer_token_id(tokenizer, name);
    if (id < 0 || !tokenizer->tokenizer->isSpecial(id))
      continue;
    if (ids && count < capacity)
      ids[count] = id;
    ++count;
  }
  return count;
}

coil_status_t *coil_tokenizer_encode(const coil_tokenizer_t *tokenizer,
                                     const char *text, size_t length,
                                     int add_special_tokens, int32_t *ids,
                                     size_t capacity, size_t *out_count) {
  return guarded([&] {
    if (!tokenizer)
      return nullArgument("coil_tokenizer_encode", "tokenizer");
    if (!out_count)
      return nullArgument("coil_tokenizer_encode", "out_count");
    if (!text && length)
      return nullArgument("coil_tokenizer_encode", "text");
    if (!ids && capacity)
      return nullArgument("coil_tokenizer_encode", "ids");
    std::vector<int32_t> encoded;
    if (std::string problem = tokenizer->tokenizer->encode(
            std::string_view(text ? text : "", length), add_special_tokens != 0,
            encoded);
        !problem.empty())
      return Status::error(COIL_BAD_TOKENIZER, problem);
    *out_count = encoded.size();
    if (encoded.size() > capacity)
      return Status::error(COIL_OUT_OF_RANGE,
                           "coil_tokenizer_encode: the text has " +
                               std::to_string(encoded.size()) +
                               " tokens, more than the capacity of " +
                               std::to_string(capacity));
    std::copy(encoded.begin(), encoded.end(), ids);
    return Status::ok();
  });
}

coil_status_t *coil_tokenizer_decode(const coil_tokenizer_t *tokenizer,
                                     const int32_t *ids, size_t count,
                                     int skip_special_tokens, char *text,
                                     size_t capacity, size_t *out_length) {
  return guarded([&] {
    if (!tokenizer)
      return nullArgument("coil_tokenizer_decode", "tokenizer");
    if (!out_length)
      return nullArgument("coil_tokenizer_decode", "out_length");
    if (!ids && count)
      return nullArgument("coil_tokenizer_decode", "ids");
    if (!text && capacity)
      return nullArgument("coil_tokenizer_decode", "text");
    std::string decoded;
    if (std::string problem = tokenizer->tokenizer->decode(
            ids, count, skip_special_tokens != 0, decoded);
        !problem.empty())
      return Status::error(COIL_OUT_OF_RANGE, problem);
    *out_length = decoded.size();
    if (decoded.size() >= capacity)
      return Status::error(COIL_OUT_OF_RANGE,
                           "coil_tokenizer_decode: the text has " +
                               std::to_string(decoded.size()) +
                               " bytes, more than fit with a NUL in " +
                               std::to_string(capacity));
    std::memcpy(text, decoded.data(), decoded.size());
    text[decoded.size()] = '\0';
    return Status::ok();
  });
}

coil_status_t *coil_text_stream_create(const coil_tokenizer_t *tokenizer,
                                       int skip_special_tokens,
                                       coil_text_stream_t **out_stream) {
  return guarded([&] {
    if (!tokenizer)
      return nullArgument("coil_text_stream_create", "tokenizer");
    if (!out_stream)
      return nullArgument("coil_text_stream_create", "out_stream");
    *out_stream = new coil_text_stream_t{
        coil::tokenizer::TextStream(*tokenizer->tokenizer,
                                    skip_special_tokens != 0),
        std::string()};
    return Status::ok();
  });
}

void coil_text_stream_release(coil_text_stream_t *stream) { delete stream; }

coil_status_t *coil_text_stream_push(coil_text_stream_t *stream, int32_t id,
                                     const char **out_text,
                                     size_t *out_length) {
  return guarded([&] {
    if (!stream)
      return nullArgument("coil_text_stream_push", "stream");
    if (!out_text || !out_length)
      return nullArgument("coil_text_stream_push", "an out_* argument");
    if (std::string problem = stream->stream.push(id, stream->text);
        !problem.empty())
      return Status::error(COIL_OUT_OF_RANGE, problem);
    *out_text = stream->text.c_str();
    *out_length = stream->text.size();
    return Status::ok();
  });
}

coil_status_t *coil_text_stream_finish(coil_text_stream_t *stream,
                                       const char **out_text,
                                       size_t *out_length) {
  return guarded([&] {
    if (!stream)
      return nullArgument("coil_text_stream_finish", "stream");
    if (!out_text || !out_length)
      return nullArgument("coil_text_stream_finish", "an out_* argument");
    stream->text = stream->stream.finish();
    *out_text = stream->text.c_str();
    *out_length = stream->text.size();
    return Status::ok();
  });
}

//===----------------------------------------------------------------------===//
// Sampling and generation
//===----------------------------------------------------------------------===//

} // extern "C"

namespace coil::capi {

/// The sampling parameters of `options`, or an error naming what is wrong.
Status samplingParams(const char *function,
                      const coil_sampling_options_t &options,
                      coil::generate::SamplingParams &params) {
  if (options.struct_size < sizeof(coil_sampling_options_t))
    return Status::error(COIL_INVALID_ARGUMENT,
                         std::string(function) +
                             ": sampling options' struct_size is " +
                             std::to_string(options.struct_size) +
                             "; initialise them with "
                             "coil_sampling_options_initialize");
  params.temperature = options.temperature;
  params.topK = options.top_k;
  params.topP = options.top_p;
  params.minP = options.min_p;
  params.repetitionPenalty = options.repetition_penalty;
  params.seed = options.seed;
  if (std::string problem = coil::generate::validate(params); !problem.empty())
    return Status::error(COIL_INVALID_ARGUMENT,
                         std::string(function) + ": " + problem);
  return Status::ok();
}

coil_stop_reason_t cStopReason(coil::generate::StopReason reason) {
  using coil::generate::StopReason;
  switch (reason) {
  case StopReason::MaxTokens:
    return COIL_STOP_MAX_TOKENS;
  case StopReason::StopToken:
    return COIL_STOP_TOKEN;
  case StopReason::StopString:
    return COIL_STOP_STRING;
  case StopReason::Callback:
    return COIL_STOP_CALLBACK;
  case StopReason::Context:
    return COIL_STOP_CONTEXT;
  case StopReason::Cancelled:
    return COIL_STOP_CANCELLED;
  case StopReason::Error:
    return COIL_STOP_ERROR;
  }
  return COIL_STOP_MAX_TOKENS;
}

} // namespace coil::capi

namespace {

Status checkSequence(const char *function, const coil_sampler_t *sampler,
                     int64_t sequence) {
  if (sequence < 0 || sequence >= sampler->sampler.sequences())
    return Status::error(COIL_OUT_OF_RANGE,
                         std::string(function) + ": sequence " +
                             std::to_string(sequence) + " is outside [0, " +
                             std::to_string(sampler->sampler.sequences()) +
                             ")");
  return Status::ok();
}

} // namespace

extern "C" {

coil_status_t *coil_sampler_create(const coil_sampling_options_t *options,
                                   int64_t sequences,
                                   coil_sampler_t **out_sampler) {
  return guarded([&] {
    if (!options)
      return nullArgument("coil_sampler_create", "options");
    if (!out_sampler)
      return nullArgument("coil_sampler_create", "out_sampler");
    if (sequences < 1 || sequences > COIL_SESSION_MAX_BATCH)
      return Status::error(COIL_INVALID_ARGUMENT,
                           "coil_sampler_create: sequences must be in [1, " +
                               std::to_string(COIL_SESSION_MAX_BATCH) +
                               "], not " + std::to_string(sequences));
    coil::generate::SamplingParams params;
    if (Status s = samplingParams("coil_sampler_create", *options, params);
        !s.isOk())
      return s;
    *out_sampler = new coil_sampler_t{coil::generate::Sampler(params, sequences)};
    return Status::ok();
  });
}

void coil_sampler_release(coil_sampler_t *sampler) { delete sampler; }

coil_status_t *coil_sampler_observe(coil_sampler_t *sampler, int64_t sequence,
                                    const int32_t *tokens, size_t count) {
  return guarded([&] {
    if (!sampler)
      return nullArgument("coil_sampler_observe", "sampler");
    if (!tokens && count)
      return nullArgument("coil_sampler_observe", "tokens");
    if (Status s = checkSequence("coil_sampler_observe", sampler, sequence);
        !s.isOk())
      return s;
    sampler->sampler.observe(sequence, tokens, count);
    return Status::ok();
  });
}

coil_status_t *coil_sampler_sample(coil_sampler_t *sampler, int64_t sequence,
                                   const float *logits, int64_t vocab,
                                   int32_t *out_token) {
  return guarded([&] {
    if (!sampler)
      return nullArgument("coil_sampler_sample", "sampler");
    if (!logits)
      return nullArgument("coil_sampler_sample", "logits");
    if (!out_token)
      return nullArgument("coil_sampler_sample", "out_token");
    if (vocab < 1 || vocab > INT32_MAX)
      return Status::error(COIL_INVALID_ARGUMENT,
                           "coil_sampler_sample: vocab must be in [1, 2^31), "
                           "not " + std::to_string(vocab));
    if (Status s = checkSequence("coil_sampler_sample", sampler, sequence);
        !s.isOk())
      return s;
    *out_token = sampler->sampler.sample(sequence, logits, vocab);
    return Status::ok();
  });
}

coil_status_t *coil_generate(coil_session_t *session,
                             const coil_tokenizer_t *tokenizer,
                             const char *prompt, size_t length,
                             const coil_generate_options_t *options,
                             coil_token_callback_t callback, void *user_data,
                             coil_generate_stats_t *stats) {
  return guarded([&] {
    if (!session)
      return nullArgument("coil_generate", "session");
    if (!tokenizer)
      return nullArgument("coil_generate", "tokenizer");
    if (!prompt && length)
      return nullArgument("coil_generate", "prompt");
    coil_generate_options_t defaults;
    coil_generate_options_initialize(&defaults);
    const coil_generate_options_t &o = options ? *options : defaults;
    if (o.struct_size < sizeof(coil_generate_options_t))
      return Status::error(COIL_INVALID_ARGUMENT,
                           "coil_generate: options' struct_size is " +
                               std::to_string(o.struct_size) +
                               "; initialise them with "
                               "coil_generate_options_initialize");
    if ((!o.stop_tokens && o.num_stop_tokens) ||
        (!o.stop_strings && o.num_stop_strings))
      return nullArgument("coil_generate", "stop_tokens or stop_strings");
    coil::generate::GenerateOptions request;
    request.maxNewTokens = o.max_new_tokens;
    if (Status s = samplingParams("coil_generate", o.sampling, request.sampling);
        !s.isOk())
      return s;
    request.stopIds.assign(o.stop_tokens, o.stop_tokens + o.num_stop_tokens);
    for (size_t i = 0; i < o.num_stop_strings; ++i) {
      if (!o.stop_strings[i])
        return nullArgument("coil_generate", "a stop string");
      request.stopStrings.emplace_back(o.stop_strings[i]);
    }
    request.addSpecialTokens = o.add_special_tokens != 0;
    request.skipSpecialTokens = o.skip_special_tokens != 0;
    coil::generate::GenerateStats result;
    auto onToken = [&](int32_t token, std::string_view text) {
      return !callback ||
             callback(user_data, token, std::string(text).c_str(),
                      text.size()) != 0;
    };
    Status status = coil::generate::generate(
        *session->session, *tokenizer->tokenizer,
        std::string_view(prompt ? prompt : "", length), request, onToken,
        result);
    if (stats) {
      stats->prompt_tokens = result.promptTokens;
      stats->generated_tokens = result.generatedTokens;
      stats->time_to_first_token = result.timeToFirstToken;
      stats->time_per_output_token = result.timePerOutputToken;
      stats->total_seconds = result.totalSeconds;
      stats->stop_reason = cStopReason(result.reason);
      stats->reserved0 = 0;
    }
    return status;
  });
}

} // extern "C"
