//===- Sampler.h - The next token from a row of logits ----------*- C++ -*-===//
//
// Greedy (temperature 0, the default) or sampled, with Hugging Face's
// processors in Hugging Face's order: repetition penalty over the tokens
// the sequence has seen, temperature, top-k, top-p, min-p. Each sequence
// has its own random stream, derived from the seed and the sequence index,
// so the same seed gives the same tokens whatever the batch composition and
// the thread count (the logits themselves are bit-identical across thread
// counts).
//
//===----------------------------------------------------------------------===//

#ifndef COIL_RUNTIME_GENERATE_SAMPLER_H
#define COIL_RUNTIME_GENERATE_SAMPLER_H

#include <cstdint>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace coil::generate {

/// What a sampler does; the defaults are greedy decoding.
struct SamplingParams {
  /// 0: the argmax; otherwise logits are divided by it before sampling.
  float temperature = 0.0f;
  /// Keep the k most likely tokens; 0 keeps all.
  int32_t topK = 0;
  /// Keep the smallest set of most likely tokens whose probabilities sum
  /// to at least top_p; 1 keeps all. In (0, 1].
  float topP = 1.0f;
  /// Drop tokens less likely than min_p times the most likely; in [0, 1].
  float minP = 0.0f;
  /// Hugging Face's repetition penalty: the logit of every token the
  /// sequence has seen is divided by it when positive, multiplied when
  /// negative. 1 is off; must be > 0.
  float repetitionPenalty = 1.0f;
  /// Seeds every sequence's random stream.
  uint64_t seed = 0;
};

/// An empty string when `params` is valid, else what is wrong.
std::string validate(const SamplingParams &params);

/// Samples the next token of `sequences` sequences independently.
class Sampler {
public:
  /// `params` must be valid.
  Sampler(const SamplingParams &params, int64_t sequences);

  /// Adds `tokens` to what `sequence` has seen (the prompt, or tokens fed
  /// from elsewhere), for the repetition penalty.
  void observe(int64_t sequence, const int32_t *tokens, size_t count);

  /// The next token of `sequence` from its `vocab` logits; the token is
  /// observed. Non-finite logits are never chosen unless all are.
  int32_t sample(int64_t sequence, const float *logits, int64_t vocab);

  /// Forgets what `sequence` has seen and restarts its random stream.
  void reset(int64_t sequence);

  int64_t sequences() const { return static_cast<int64_t>(states.size()); }

private:
  struct SequenceState {
    uint64_t rng;
    std::unordered_set<int32_t> seen;
  };
  /// A uniform double in [0, 1) from `state`'s stream.
  static double uniform(uint64_t &state);
  uint64_t streamSeed(int64_t sequence) const;

  SamplingParams params;
  std::vector<SequenceState> states;
  /// Scratch reused between calls: (logit, then weight; id) candidates.
  std::vector<std::pair<float, int32_t>> candidates;
};

} // namespace coil::generate

#endif // COIL_RUNTIME_GENERATE_SAMPLER_H
