//===- Sampler.cpp - The next token from a row of logits --------*- C++ -*-===//

#include "runtime/src/generate/Sampler.h"

#include <algorithm>
#include <cmath>

namespace coil::generate {

std::string validate(const SamplingParams &p) {
  if (!(p.temperature >= 0.0f) || !std::isfinite(p.temperature))
    return "temperature must be a finite number >= 0, not " +
           std::to_string(p.temperature);
  if (p.topK < 0)
    return "top_k must be >= 0 (0: off), not " + std::to_string(p.topK);
  if (!(p.topP > 0.0f && p.topP <= 1.0f))
    return "top_p must be in (0, 1], not " + std::to_string(p.topP);
  if (!(p.minP >= 0.0f && p.minP <= 1.0f))
    return "min_p must be in [0, 1], not " + std::to_string(p.minP);
  if (!(p.repetitionPenalty > 0.0f) || !std::isfinite(p.repetitionPenalty))
    return "repetition_penalty must be a finite number > 0, not " +
           std::to_string(p.repetitionPenalty);
  return "";
}

namespace {

/// SplitMix64: the stream of each sequence (and the mixing of its seed).
uint64_t splitMix(uint64_t &state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

} // namespace

Sampler::Sampler(const SamplingParams &params, int64_t sequences)
    : params(params), states(static_cast<size_t>(std::max<int64_t>(sequences, 0))) {
  for (int64_t s = 0; s < this->sequences(); ++s)
    reset(s);
}

uint64_t Sampler::streamSeed(int64_t sequence) const {
  uint64_t mix = params.seed ^ (0xD1B54A32D192ED03ull * uint64_t(sequence + 1));
  return splitMix(mix);
}

void Sampler::reset(int64_t sequence) {
  states[sequence].rng = streamSeed(sequence);
  states[sequence].seen.clear();
}

void Sampler::observe(int64_t sequence, const int32_t *tokens, size_t count) {
  if (params.repetitionPenalty == 1.0f)
    return;
  states[sequence].seen.insert(tokens, tokens + count);
}

double Sampler::uniform(uint64_t &state) {
  return double(splitMix(state) >> 11) * (1.0 / 9007199254740992.0);
}

int32_t Sampler::sample(int64_t sequence, const float *logits, int64_t vocab) {
  SequenceState &state = states[sequence];
  auto penalised = [&](int32_t id) {
    float v = logits[id];
    if (params.repetitionPenalty != 1.0f && state.seen.count(id))
      v = v > 0 ? v / params.repetitionPenalty : v * params.repetitionPenalty;
    return v;
  };
  auto chose = [&](int32_t id) {
    if (params.repetitionPenalty != 1.0f)
      state.seen.insert(id);
    return id;
  };

  // NaN is never the largest; -inf only when everything is.
  auto better = [](float a, float b) { return a > b || (b != b && a == a); };
  if (params.temperature == 0.0f) {
    int32_t best = 0;
    float bestValue = penalised(0);
    for (int32_t id = 1; id < vocab; ++id) {
      float v = penalised(id);
      if (better(v, bestValue)) {
        best = id;
        bestValue = v;
      }
    }
    return chose(best);
  }

  candidates.clear();
  for (int32_t id = 0; id < vocab; ++id) {
    float v = penalised(id) / params.temperature;
    if (std::isnan(v) || v == -INFINITY)
      continue;
    candidates.emplace_back(v, id);
  }
  if (candidates.empty())
    return chose(0);
  // Most likely first; ties by id, so the order is a pure function of the
  // logits.
  auto order = [](const std::pair<float, int32_t> &a,
                  const std::pair<float, int32_t> &b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  };
  if (params.topK > 0 && size_t(params.topK) < candidates.size()) {
    // The k most likely, sorted.
    std::partial_sort(candidates.begin(), candidates.begin() + params.topK,
                      candidates.end(), order);
    candidates.resize(size_t(params.topK));
  } else {
    std::iter_swap(candidates.begin(),
                   std::min_element(candidates.begin(), candidates.end(),
                                    order));
  }
  float maxLogit = candidates.front().first;
  if (maxLogit == INFINITY) { // the infinite ones share everything
    std::vector<int32_t> infinite;
    for (const auto &[logit, id] : candidates)
      if (logit == INFINITY)
        infinite.push_back(id);
    std::sort(infinite.begin(), infinite.end());
    return chose(infinite[size_t(uniform(state.rng) * double(infinite.size()))]);
  }
  // Logits become weights exp(logit - max) in place (the same order; the
  // most likely one, first, weighs 1).
  double total = 0;
  for (auto &candidate : candidates)
    total += candidate.first = std::exp(candidate.first - maxLogit);
  size_t count = candidates.size();
  if (params.topP < 1.0f) {
    // The smallest set of most likely tokens whose mass reaches top_p (at
    // least one), by selection rather than sorting (O(n)): the answer k is
    // kept in (lo, hi], [0, lo) holding the lo most likely tokens (mass
    // `mass`, below the target) and [hi, n) only less likely ones.
    double target = double(params.topP) * total, mass = 0;
    size_t lo = 0, hi = candidates.size();
    while (hi - lo > 1) {
      size_t mid = lo + (hi - lo) / 2;
      std::nth_element(candidates.begin() + lo, candidates.begin() + mid,
                       candidates.begin() + hi, order);
      double upper = 0;
      for (size_t i = lo; i < mid; ++i)
        upper += candidates[i].first;
      if (mass + upper >= target) {
        hi = mid;
      } else {
        mass += upper;
        lo = mid;
      }
    }
    count = hi;
  }
  if (params.minP > 0.0f)
    // Relative to the most likely one, whose weight is 1.
    for (size_t i = 0; i < count; ++i)
      if (candidates[i].first < params.minP)
        candidates[i].first = 0;
  double kept = 0;
  for (size_t i = 0; i < count; ++i)
    kept += candidates[i].first;
  double target = uniform(state.rng) * kept;
  size_t last = 0; // the last candidate still in the draw
  for (size_t i = 0; i < count; ++i) {
    if (candidates[i].first == 0)
      continue;
    last = i;
    target -= candidates[i].first;
    if (target < 0)
      return chose(candidates[i].second);
  }
  return chose(candidates[last].second);
}

} // namespace coil::generate
