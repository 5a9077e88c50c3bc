//===- SamplerTest.cpp - coil_sampler_* ---------------------------*- C++ -*-===//
//
// The sampler through the C API, on logits written here: greedy is the
// argmax, each filter keeps exactly the tokens it should, sampled
// frequencies follow the probabilities, the repetition penalty changes the
// choice, a seed repeats per sequence, and bad options are refused.
//
//===----------------------------------------------------------------------===//

#include "coil/coil.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

namespace {

coil_sampler_t *makeSampler(const coil_sampling_options_t &options,
                            int64_t sequences = 1) {
  coil_sampler_t *sampler = nullptr;
  coil_status_t *status = coil_sampler_create(&options, sequences, &sampler);
  EXPECT_EQ(coil_status_code(status), COIL_OK) << coil_status_message(status);
  coil_status_free(status);
  return sampler;
}

int32_t sample(coil_sampler_t *sampler, const std::vector<float> &logits,
               int64_t sequence = 0) {
  int32_t token = -1;
  coil_status_t *status = coil_sampler_sample(
      sampler, sequence, logits.data(), int64_t(logits.size()), &token);
  EXPECT_EQ(coil_status_code(status), COIL_OK) << coil_status_message(status);
  coil_status_free(status);
  return token;
}

/// How often each token comes out of `draws` samples.
std::map<int32_t, int> counts(const coil_sampling_options_t &options,
                              const std::vector<float> &logits, int draws) {
  coil_sampler_t *sampler = makeSampler(options);
  std::map<int32_t, int> seen;
  for (int i = 0; i < draws; ++i)
    ++seen[sample(sampler, logits)];
  coil_sampler_release(sampler);
  return seen;
}

coil_sampling_options_t sampled(float temperature = 1.0f) {
  coil_sampling_options_t options;
  coil_sampling_options_initialize(&options);
  options.temperature = temperature;
  options.seed = 42;
  return options;
}

} // namespace

TEST(SamplerTest, GreedyIsTheArgmaxAndSkipsNaN) {
  coil_sampling_options_t options;
  coil_sampling_options_initialize(&options);
  EXPECT_EQ(options.temperature, 0.0f);
  coil_sampler_t *sampler = makeSampler(options);
  EXPECT_EQ(sample(sampler, {0.1f, 3.0f, -2.0f, 2.9f}), 1);
  EXPECT_EQ(sample(sampler, {NAN, 1.0f, NAN}), 1);
  EXPECT_EQ(sample(sampler, {2.0f, 2.0f}), 0); // ties: the lowest id
  coil_sampler_release(sampler);
}

TEST(SamplerTest, FrequenciesFollowTheSoftmax) {
  // p = 1/6, 2/6, 3/6. With 60,000 draws each count's standard deviation is
  // at most sqrt(60000 / 4) = 123; 5 of them is the bound.
  std::vector<float> logits = {0.0f, std::log(2.0f), std::log(3.0f)};
  std::map<int32_t, int> seen = counts(sampled(), logits, 60000);
  EXPECT_NEAR(seen[0], 10000, 615);
  EXPECT_NEAR(seen[1], 20000, 615);
  EXPECT_NEAR(seen[2], 30000, 615);
  // Temperature 2 halves the logits: p proportional to 1, sqrt 2, sqrt 3.
  seen = counts(sampled(2.0f), logits, 60000);
  double z = 1 + std::sqrt(2.0) + std::sqrt(3.0);
  EXPECT_NEAR(seen[0], 60000 / z, 615);
  EXPECT_NEAR(seen[2], 60000 * std::sqrt(3.0) / z, 615);
}

TEST(SamplerTest, FiltersKeepExactlyTheirTokens) {
  // p = 0.5, 0.3, 0.15, 0.05 (up to normalisation).
  std::vector<float> logits = {std::log(0.5f), std::log(0.3f),
                               std::log(0.15f), std::log(0.05f)};
  coil_sampling_options_t options = sampled();
  options.top_k = 2;
  std::map<int32_t, int> seen = counts(options, logits, 4000);
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_GT(seen[0], 0);
  EXPECT_GT(seen[1], 0);
  options = sampled();
  options.top_p = 0.79f; // 0.5 + 0.3 reaches it: two tokens
  seen = counts(options, logits, 4000);
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen.count(2), 0u);
  options.top_p = 0.81f; // needs the third
  seen = counts(options, logits, 4000);
  EXPECT_EQ(seen.size(), 3u);
  options = sampled();
  options.min_p = 0.25f; // drops 0.05 / 0.5 = 0.1, keeps 0.15 / 0.5 = 0.3
  seen = counts(options, logits, 4000);
  EXPECT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen.count(3), 0u);
  options = sampled(0.5f);
  options.top_k = 1; // the argmax at any temperature
  seen = counts(options, logits, 200);
  EXPECT_EQ(seen[0], 200);
}

TEST(SamplerTest, RepetitionPenaltyChangesTheChoice) {
  coil_sampling_options_t options;
  coil_sampling_options_initialize(&options);
  options.repetition_penalty = 1.5f;
  coil_sampler_t *sampler = makeSampler(options);
  int32_t seen = 0;
  coil_status_free(coil_sampler_observe(sampler, 0, &seen, 1));
  // 2.0 / 1.5 = 1.33 < 1.9: token 1 wins now.
  EXPECT_EQ(sample(sampler, {2.0f, 1.9f}), 1);
  coil_sampler_release(sampler);
  // Negative logits are multiplied: -0.1 * 1.5 = -0.15 < -0.12.
  sampler = makeSampler(options);
  seen = 1;
  coil_status_free(coil_sampler_observe(sampler, 0, &seen, 1));
  EXPECT_EQ(sample(sampler, {-0.12f, -0.1f}), 0);
  coil_sampler_release(sampler);
  // A chosen token is observed: the same logits choose the other next.
  sampler = makeSampler(options);
  EXPECT_EQ(sample(sampler, {1.0f, 0.9f}), 0);
  EXPECT_EQ(sample(sampler, {1.0f, 0.9f}), 1);
  coil_sampler_release(sampler);
}

TEST(SamplerTest, EachSequenceRepeatsForItsSeed) {
  std::vector<float> logits(50);
  for (size_t i = 0; i < logits.size(); ++i)
    logits[i] = float(i % 7) * 0.3f;
  auto draw = [&](uint64_t seed, int64_t sequences, int64_t which) {
    coil_sampling_options_t options = sampled();
    options.seed = seed;
    coil_sampler_t *sampler = makeSampler(options, sequences);
    std::vector<int32_t> out;
    for (int i = 0; i < 40; ++i)
      out.push_back(sample(sampler, logits, which));
    coil_sampler_release(sampler);
    return out;
  };
  EXPECT_EQ(draw(7, 1, 0), draw(7, 4, 0)); // batch size does not matter
  EXPECT_EQ(draw(7, 4, 3), draw(7, 4, 3));
  EXPECT_NE(draw(7, 4, 0), draw(7, 4, 1)); // sequences have own streams
  EXPECT_NE(draw(7, 1, 0), draw(8, 1, 0));
}

TEST(SamplerTest, BadOptionsAreRefusedNamingThem) {
  auto refused = [](coil_sampling_options_t options, const char *name) {
    coil_sampler_t *sampler = nullptr;
    coil_status_t *status = coil_sampler_create(&options, 1, &sampler);
    EXPECT_EQ(coil_status_code(status), COIL_INVALID_ARGUMENT);
    EXPECT_NE(std::string(coil_status_message(status)).find(name),
              std::string::npos)
        << coil_status_message(status);
    coil_status_free(status);
    EXPECT_EQ(sampler, nullptr);
  };
  coil_sampling_options_t options = sampled();
  options.temperature = -0.5f;
  refused(options, "temperature");
  options = sampled();
  options.temperature = NAN;
  refused(options, "temperature");
  options = sampled();
  options.top_p = 0.0f;
  refused(options, "top_p");
  options.top_p = 1.5f;
  refused(options, "top_p");
  options = sampled();
  options.top_k = -1;
  refused(options, "top_k");
  options = sampled();
  options.min_p = 2.0f;
  refused(options, "min_p");
  options = sampled();
  options.repetition_penalty = 0.0f;
  refused(options, "repetition_penalty");
  options = sampled();
  options.struct_size = 4;
  refused(options, "struct_size");
  coil_sampler_t *sampler = makeSampler(sampled());
  int32_t token = 0;
  float logit = 0;
  coil_status_t *status = coil_sampler_sample(sampler, 1, &logit, 1, &token);
  EXPECT_EQ(coil_status_code(status), COIL_OUT_OF_RANGE);
  coil_status_free(status);
  coil_sampler_release(sampler);
}
