//===- coil-generate.c - Greedy generation with the C API --------*- C -*-===//
//
// Usage: coil-generate MODEL.so WEIGHTS --tokens 1,2,3 --generate N
//                      [--threads T]
//
// Loads a compiled model, binds its weights, prefills the prompt and
// generates N tokens greedily, running kernels on T threads (default 1): the
// first is the argmax of the last prompt row, and each generated token is fed
// with decode to produce the row that picks the next. Prints the generated ids
// comma-separated on one line. Exits 0 on success, 1 when the runtime reports
// an error, 2 on bad usage. Written in plain C against coil/coil.h only, as an
// example of embedding.
//
//===----------------------------------------------------------------------===//

#include "coil/coil.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void) {
  fprintf(stderr, "usage: coil-generate MODEL.so WEIGHTS --tokens 1,2,3 "
                  "--generate N [--threads T]\n");
}

/// Parses a decimal integer in [min, max] that spans all of `text`.
static int parseInteger(const char *text, long long min, long long max,
                        long long *out) {
  char *end;
  errno = 0;
  long long value = strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < min || value > max)
    return 0;
  *out = value;
  return 1;
}

/// Parses "1,2,3" into a new array; returns the count, or -1 on bad input.
static int64_t parseTokens(const char *text, int32_t **out) {
  size_t capacity = 1;
  for (const char *c = text; *c; ++c)
    if (*c == ',')
      ++capacity;
  int32_t *tokens = malloc(capacity * sizeof(int32_t));
  char *copy = malloc(strlen(text) + 1);
  if (!tokens || !copy) {
    free(tokens);
    free(copy);
    return -1;
  }
  strcpy(copy, text);
  int64_t count = 0;
  char *item = copy;
  for (;;) {
    char *comma = strchr(item, ',');
    if (comma)
      *comma = '\0';
    long long value;
    if (!parseInteger(item, INT32_MIN, INT32_MAX, &value)) {
      free(tokens);
      free(copy);
      return -1;
    }
    tokens[count++] = (int32_t)value;
    if (!comma)
      break;
    item = comma + 1;
  }
  free(copy);
  *out = tokens;
  return count;
}

/// The index of the largest of `count` values (the first on ties).
static int32_t argmax(const float *values, int64_t count) {
  int64_t best = 0;
  for (int64_t i = 1; i < count; ++i)
    if (values[i] > values[best])
      best = i;
  return (int32_t)best;
}

/// Prints and frees `status` if it is an error; returns 1 if it was. `what`
/// prefixes the message unless it is NULL (the runtime's messages for
/// prefill and decode already say where they come from).
static int failed(coil_status_t *status, const char *what) {
  if (!status)
    return 0;
  if (what)
    fprintf(stderr, "coil-generate: %s: %s\n", what,
            coil_status_message(status));
  else
    fprintf(stderr, "coil-generate: %s\n", coil_status_message(status));
  coil_status_free(status);
  return 1;
}

/// The argmax of the last row of sequence 0's logits from the last call.
static int lastArgmax(const coil_session_t *session, int32_t *out) {
  const float *logits;
  int64_t batch, tokens, vocab;
  if (failed(coil_session_logits(session, &logits, &batch, &tokens, &vocab),
             "logits"))
    return 0;
  *out = argmax(logits + (tokens - 1) * vocab, vocab);
  return 1;
}

/// Generates `generate` tokens after `prompt` with the model and weights at
/// the given paths and prints them. Returns the exit status.
static int run(const char *modelPath, const char *weightsPath,
               const int32_t *prompt, int64_t promptLength, long long generate,
               int32_t threads) {
  int result = 1;
  coil_model_t *model = NULL;
  coil_weights_t *weights = NULL;
  coil_session_t *session = NULL;
  coil_session_options_t options;
  coil_session_options_initialize(&options);
  // Room for the prompt and every generated token that is fed back.
  options.max_context = promptLength + (generate > 0 ? generate - 1 : 0);
  options.threads = threads;

  int32_t next = 0;
  if (failed(coil_model_load(modelPath, &model), "loading the model") ||
      failed(coil_weights_open(weightsPath, &weights), "opening weights") ||
      failed(coil_model_bind_weights(model, weights), "binding weights") ||
      failed(coil_session_create(model, &options, &session),
             "creating the session") ||
      failed(coil_session_prefill(session, prompt, 1, promptLength), NULL) ||
      !lastArgmax(session, &next))
    goto done;
  for (long long i = 0; i < generate; ++i) {
    printf("%s%d", i ? "," : "", (int)next);
    if (i + 1 == generate)
      break;
    if (failed(coil_session_decode(session, &next, 1), NULL) ||
        !lastArgmax(session, &next))
      goto done;
  }
  printf("\n");
  result = 0;

done:
  coil_session_release(session);
  coil_model_release(model);
  coil_weights_release(weights);
  return result;
}

int main(int argc, char **argv) {
  const char *modelPath = NULL, *weightsPath = NULL, *tokenText = NULL;
  long long generate = -1, threads = 1;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--tokens") == 0 && i + 1 < argc) {
      tokenText = argv[++i];
    } else if (strcmp(argv[i], "--generate") == 0 && i + 1 < argc) {
      if (!parseInteger(argv[++i], 0, INT32_MAX, &generate)) {
        fprintf(stderr, "coil-generate: --generate takes a count >= 0\n");
        return 2;
      }
    } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      if (!parseInteger(argv[++i], 1, COIL_SESSION_MAX_THREADS, &threads)) {
        fprintf(stderr, "coil-generate: --threads takes a count from 1 to %d\n",
                COIL_SESSION_MAX_THREADS);
        return 2;
      }
    } else if (argv[i][0] == '-' && argv[i][1] == '-') {
      usage();
      return 2;
    } else if (!modelPath) {
      modelPath = argv[i];
    } else if (!weightsPath) {
      weightsPath = argv[i];
    } else {
      usage();
      return 2;
    }
  }
  if (!modelPath || !weightsPath || !tokenText || generate < 0) {
    usage();
    return 2;
  }
  int32_t *prompt = NULL;
  int64_t promptLength = parseTokens(tokenText, &prompt);
  if (promptLength < 1) {
    fprintf(stderr, "coil-generate: --tokens takes comma-separated ids\n");
    return 2;
  }
  int result = run(modelPath, weightsPath, prompt, promptLength, generate,
                   (int32_t)threads);
  free(prompt);
  return result;
}
