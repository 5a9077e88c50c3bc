//===- coil-generate.c - Generation with the C API ---------------*- C -*-===//
//
// Usage: coil-generate MODEL.so WEIGHTS --tokens 1,2,3 --generate N
//                      [--threads T]
//        coil-generate MODEL.so WEIGHTS --prompt TEXT --tokenizer DIR
//                      --generate N [--threads T] [--temperature X]
//                      [--seed S]
//
// Loads a compiled model, binds its weights and runs kernels on T threads
// (default 1). With --tokens it prefills the ids and generates N tokens
// greedily by hand: the first is the argmax of the last prompt row, and
// each generated token is fed with decode to produce the row that picks
// the next; it prints the generated ids comma-separated on one line. With
// --prompt it loads the tokenizer (a tokenizer.json or its directory) and
// lets coil_generate tokenize, prefill, sample (greedy unless a temperature
// is given) and decode, streaming the text to stdout as it comes. Exits 0
// on success, 1 when the runtime reports an error, 2 on bad usage. Written
// in plain C against coil/coil.h only, as an example of embedding.
//
//===----------------------------------------------------------------------===//

#include "coil/coil.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void) {
  fprintf(stderr,
          "usage: coil-generate MODEL.so WEIGHTS --tokens 1,2,3 --generate N "
          "[--threads T]\n"
          "       coil-generate MODEL.so WEIGHTS --prompt TEXT --tokenizer DIR "
          "--generate N [--threads T] [--temperature X] [--seed S]\n");
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

/// Streams each piece of text as it is produced.
static int printText(void *user, int32_t token, const char *text,
                     size_t length) {
  (void)user;
  (void)token;
  fwrite(text, 1, length, stdout);
  fflush(stdout);
  return 1;
}

/// Generates up to `generate` tokens after the text `prompt` and streams
/// the text. Returns the exit status.
static int runText(const char *modelPath, const char *weightsPath,
                   const char *tokenizerPath, const char *prompt,
                   long long generate, int32_t threads, float temperature,
                   unsigned long long seed) {
  int result = 1;
  coil_model_t *model = NULL;
  coil_weights_t *weights = NULL;
  coil_tokenizer_t *tokenizer = NULL;
  coil_session_t *session = NULL;
  size_t promptTokens = 0;
  if (failed(coil_tokenizer_load(tokenizerPath, &tokenizer),
             "loading the tokenizer") ||
      failed(coil_model_load(modelPath, &model), "loading the model") ||
      failed(coil_weights_open(weightsPath, &weights), "opening weights") ||
      failed(coil_model_bind_weights(model, weights), "binding weights"))
    goto done;
  // Count the prompt's tokens (capacity 0 reports the count) to size the
  // session: the prompt and every generated token.
  coil_status_free(coil_tokenizer_encode(tokenizer, prompt, strlen(prompt), 1,
                                         NULL, 0, &promptTokens));
  coil_session_options_t options;
  coil_session_options_initialize(&options);
  options.max_context = (int64_t)promptTokens + (generate > 0 ? generate : 1);
  options.threads = threads;
  if (failed(coil_session_create(model, &options, &session),
             "creating the session"))
    goto done;
  coil_generate_options_t request;
  coil_generate_options_initialize(&request);
  request.max_new_tokens = generate;
  request.sampling.temperature = temperature;
  request.sampling.seed = seed;
  coil_generate_stats_t stats;
  if (failed(coil_generate(session, tokenizer, prompt, strlen(prompt),
                           &request, printText, NULL, &stats),
             "generating"))
    goto done;
  printf("\n");
  fprintf(stderr,
          "coil-generate: %lld prompt tokens, %lld generated, first after "
          "%.1f ms, then %.2f ms per token\n",
          (long long)stats.prompt_tokens, (long long)stats.generated_tokens,
          stats.time_to_first_token * 1e3, stats.time_per_output_token * 1e3);
  result = 0;

done:
  coil_session_release(session);
  coil_tokenizer_release(tokenizer);
  coil_model_release(model);
  coil_weights_release(weights);
  return result;
}

int main(int argc, char **argv) {
  const char *modelPath = NULL, *weightsPath = NULL, *tokenText = NULL;
  const char *promptText = NULL, *tokenizerPath = NULL;
  long long generate = -1, threads = 1, seed = 0;
  float temperature = 0.0f;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--tokens") == 0 && i + 1 < argc) {
      tokenText = argv[++i];
    } else if (strcmp(argv[i], "--prompt") == 0 && i + 1 < argc) {
      promptText = argv[++i];
    } else if (strcmp(argv[i], "--tokenizer") == 0 && i + 1 < argc) {
      tokenizerPath = argv[++i];
    } else if (strcmp(argv[i], "--temperature") == 0 && i + 1 < argc) {
      char *end;
      temperature = strtof(argv[++i], &end);
      if (*end != '\0' || !(temperature >= 0.0f)) {
        fprintf(stderr, "coil-generate: --temperature takes a number >= 0\n");
        return 2;
      }
    } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
      if (!parseInteger(argv[++i], 0, LLONG_MAX, &seed)) {
        fprintf(stderr, "coil-generate: --seed takes an integer >= 0\n");
        return 2;
      }
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
  if (!modelPath || !weightsPath || generate < 0 || !tokenText == !promptText ||
      (promptText && !tokenizerPath)) {
    usage();
    return 2;
  }
  if (promptText)
    return runText(modelPath, weightsPath, tokenizerPath, promptText, generate,
                   (int32_t)threads, temperature, (unsigned long long)seed);
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
