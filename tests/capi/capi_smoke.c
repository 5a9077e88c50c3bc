//===- capi_smoke.c - The runtime's C API used from C -------------*- C -*-===//
//
// Usage: coil-capi-smoke TOY_MODEL.so TOY_WEIGHTS.safetensors
//
// Compiled as strict C99 against coil/coil.h, so the header is checked to be
// valid C, and linked against libcoil_runtime.so alone. Runs the toy model
// (tests/unit/runtime/fixtures/toy_model.h) through every function of the
// API, on a session of two threads, checking statuses, codes and
// hand-computed logits. Prints each failed check and exits 1 if there was
// one.
//
//===----------------------------------------------------------------------===//

#include "coil/coil.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
static int checks = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    ++checks;                                                                  \
    if (!(cond)) {                                                             \
      ++failures;                                                              \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                          \
  } while (0)

/// Checks that `status` has `code`, prints its message if not, frees it.
static void expectCode(coil_status_t *status, coil_status_code_t code,
                       int line) {
  ++checks;
  if (coil_status_code(status) != code) {
    ++failures;
    fprintf(stderr, "%s:%d: expected code %d, got %d: %s\n", __FILE__, line,
            (int)code, (int)coil_status_code(status),
            coil_status_message(status));
  }
  coil_status_free(status);
}

#define EXPECT_CODE(expr, code) expectCode((expr), (code), __LINE__)
#define EXPECT_OK(expr) expectCode((expr), COIL_OK, __LINE__)

/// True if the `count` floats at `actual` equal `expected` exactly.
static int sameFloats(const float *actual, const float *expected, int count) {
  for (int i = 0; i < count; ++i)
    if (actual[i] != expected[i])
      return 0;
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: coil-capi-smoke TOY_MODEL.so WEIGHTS\n");
    return 2;
  }
  CHECK(coil_status_code(NULL) == COIL_OK);
  CHECK(strcmp(coil_status_message(NULL), "ok") == 0);

  coil_model_t *model = NULL;
  EXPECT_CODE(coil_model_load("/nonexistent/toy.so", &model), COIL_NOT_FOUND);
  EXPECT_CODE(coil_model_load(NULL, &model), COIL_INVALID_ARGUMENT);
  EXPECT_OK(coil_model_load(argv[1], &model));
  if (!model) {
    fprintf(stderr, "cannot continue without the model\n");
    return 1;
  }
  CHECK(strcmp(coil_model_family(model), "toy") == 0);
  CHECK(coil_model_vocab_size(model) == 5);
  CHECK(coil_model_max_context(model) == 0);
  CHECK(coil_model_num_kernels(model) == 3);
  CHECK(strcmp(coil_model_kernel_name(model, 1), "head") == 0);
  CHECK(coil_model_kernel_name(model, 3) == NULL);

  coil_session_t *session = NULL;
  EXPECT_CODE(coil_session_create(model, NULL, &session),
              COIL_FAILED_PRECONDITION);
  CHECK(session == NULL);

  coil_weights_t *weights = NULL;
  EXPECT_OK(coil_weights_open(argv[2], &weights));
  EXPECT_OK(coil_model_bind_weights(model, weights));
  EXPECT_CODE(coil_model_bind_weights(model, weights),
              COIL_FAILED_PRECONDITION);
  coil_weights_release(weights);

  coil_session_options_t options;
  coil_session_options_initialize(&options);
  CHECK(options.struct_size == sizeof(options));
  CHECK(options.threads == 1);
  options.max_batch = 2;
  options.max_context = 8;
  options.threads = 0;
  EXPECT_CODE(coil_session_create(model, &options, &session),
              COIL_INVALID_ARGUMENT);
  options.threads = COIL_SESSION_MAX_THREADS + 1;
  EXPECT_CODE(coil_session_create(model, &options, &session),
              COIL_INVALID_ARGUMENT);
  CHECK(session == NULL);
  // A caller compiled before `threads` was added.
  options.struct_size = (uint32_t)offsetof(coil_session_options_t, threads);
  EXPECT_OK(coil_session_create(model, &options, &session));
  coil_session_release(session);
  session = NULL;
  options.struct_size = sizeof(options);
  options.threads = 2;
  EXPECT_OK(coil_session_create(model, &options, &session));
  coil_model_release(model);
  if (!session) {
    fprintf(stderr, "cannot continue without a session\n");
    return 1;
  }

  const float *logits = NULL;
  int64_t batch = 0, tokens = 0, vocab = 0;
  EXPECT_CODE(coil_session_logits(session, &logits, &batch, &tokens, &vocab),
              COIL_FAILED_PRECONDITION);

  // Sequence 0: tokens 0, 1. Sequence 1: tokens 3, 3.
  const int32_t prompt[4] = {0, 1, 3, 3};
  EXPECT_OK(coil_session_prefill(session, prompt, 2, 2));
  EXPECT_OK(coil_session_logits(session, &logits, &batch, &tokens, &vocab));
  CHECK(batch == 2 && tokens == 2 && vocab == 5);
  {
    const float row00[5] = {0, 1, 0, 0, 0};
    const float row01[5] = {100, 100.5f, 101, 100, 100};
    const float row11[5] = {100, 100, 100, 100, 101.5f};
    CHECK(sameFloats(logits, row00, 5));
    CHECK(sameFloats(logits + 5, row01, 5));
    CHECK(sameFloats(logits + 15, row11, 5));
  }
  CHECK(coil_session_length(session, 0) == 2);
  CHECK(coil_session_length(session, 1) == 2);
  CHECK(coil_session_length(session, 2) == -1);

  // Rejected calls.
  EXPECT_CODE(coil_session_prefill(session, prompt, 3, 1), COIL_OUT_OF_RANGE);
  EXPECT_CODE(coil_session_prefill(session, prompt, 1, 7), COIL_OUT_OF_RANGE);
  {
    const int32_t bad[2] = {1, 5};
    EXPECT_CODE(coil_session_decode(session, bad, 2), COIL_OUT_OF_RANGE);
  }
  EXPECT_CODE(coil_session_decode(session, NULL, 1), COIL_INVALID_ARGUMENT);
  CHECK(coil_session_length(session, 0) == 2);

  // Save sequence 0, decode it, restore it, decode again: same logits.
  size_t size = coil_session_sequence_state_size(session);
  CHECK(size == 40 + 4 * (5 + 8));
  unsigned char *blob = malloc(size);
  if (!blob)
    return 1;
  EXPECT_OK(coil_session_save_sequence(session, 0, blob, size));
  const int32_t next = 4;
  float first[5];
  EXPECT_OK(coil_session_decode(session, &next, 1));
  EXPECT_OK(coil_session_logits(session, &logits, &batch, &tokens, &vocab));
  CHECK(batch == 1 && tokens == 1);
  memcpy(first, logits, sizeof(first));
  {
    const float expected[5] = {201, 200.25f, 200.5f, 200, 200};
    CHECK(sameFloats(first, expected, 5));
  }
  CHECK(coil_session_length(session, 0) == 3);
  EXPECT_OK(coil_session_restore_sequence(session, 0, blob, size));
  CHECK(coil_session_length(session, 0) == 2);
  EXPECT_OK(coil_session_decode(session, &next, 1));
  EXPECT_OK(coil_session_logits(session, &logits, &batch, &tokens, &vocab));
  CHECK(sameFloats(logits, first, 5));
  blob[0] ^= 0xff;
  EXPECT_CODE(coil_session_restore_sequence(session, 0, blob, size),
              COIL_INVALID_ARGUMENT);
  {
    size_t saved = coil_session_saved_size(session, 0);
    CHECK(saved > 0 && saved <= size);
    EXPECT_CODE(coil_session_save_sequence(session, 0, blob, saved - 1),
                COIL_INVALID_ARGUMENT);
  }
  free(blob);

  // The toy is not compiled for profiling: nothing is ever recorded.
  EXPECT_CODE(coil_session_set_profiling(session, 1), COIL_FAILED_PRECONDITION);
  EXPECT_OK(coil_session_set_profiling(session, 0));
  {
    const coil_profile_entry_t *profile = NULL;
    int64_t count = -1;
    EXPECT_OK(coil_session_profile_summary(session, &profile, &count));
    CHECK(count == 0 && profile == NULL);
    CHECK(coil_session_profile_dropped(session) == 0);
    coil_session_profile_reset(session);
    EXPECT_CODE(coil_session_write_trace(session, NULL), COIL_INVALID_ARGUMENT);
  }

  coil_session_reset(session);
  CHECK(coil_session_length(session, 0) == 0);
  EXPECT_CODE(coil_session_logits(session, &logits, &batch, &tokens, &vocab),
              COIL_FAILED_PRECONDITION);
  coil_session_release(session);

  if (failures) {
    fprintf(stderr, "capi smoke: %d of %d checks failed\n", failures, checks);
    return 1;
  }
  printf("capi smoke: %d checks passed\n", checks);
  return 0;
}
