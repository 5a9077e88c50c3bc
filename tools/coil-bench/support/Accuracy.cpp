//===- Accuracy.cpp - How far one model's logits are from another's -------===//

#include "tools/coil-bench/support/Accuracy.h"

#include <algorithm>
#include <cmath>

namespace coil::bench {

namespace {

/// log(sum(exp(row))), computed from the row's maximum so nothing
/// overflows.
double logSumExp(const float *row, int64_t n, double max) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i)
    sum += std::exp(static_cast<double>(row[i]) - max);
  return max + std::log(sum);
}

} // namespace

void LogitComparison::add(const float *reference, const float *candidate,
                          int64_t vocab) {
  if (vocab <= 0)
    return;
  const float *refMax = std::max_element(reference, reference + vocab);
  const float *candMax = std::max_element(candidate, candidate + vocab);
  double refLse = logSumExp(reference, vocab, *refMax);
  double candLse = logSumExp(candidate, vocab, *candMax);
  double kl = 0;
  for (int64_t i = 0; i < vocab; ++i) {
    double r = reference[i], c = candidate[i];
    maxDifference = std::max(maxDifference, std::fabs(c - r));
    maxReference = std::max(maxReference, std::fabs(r));
    double logP = r - refLse, logQ = c - candLse;
    kl += std::exp(logP) * (logP - logQ);
  }
  // Rounding can leave a tiny negative sum for identical distributions.
  klSum += std::max(kl, 0.0);
  agreeing += (refMax - reference) == (candMax - candidate);
  ++count;
}

double LogitComparison::maxRelativeDifference() const {
  if (maxReference == 0)
    return maxDifference == 0 ? 0 : INFINITY;
  return maxDifference / maxReference;
}

double LogitComparison::meanKlDivergence() const {
  return count ? klSum / count : 0;
}

double LogitComparison::argmaxAgreement() const {
  return count ? static_cast<double>(agreeing) / count : 0;
}

} // namespace coil::bench
