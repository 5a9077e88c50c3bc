//===- Accuracy.h - How far one model's logits are from another's -*- C++ -*-===//
//
// The precision study compares each weight format's next-token logits with
// the f32 model's, row by row, on the same inputs.
//
//===----------------------------------------------------------------------===//

#ifndef COIL_TOOLS_COIL_BENCH_SUPPORT_ACCURACY_H
#define COIL_TOOLS_COIL_BENCH_SUPPORT_ACCURACY_H

#include <cstdint>

namespace coil::bench {

/// Accumulates the differences of rows of logits (one row: one next-token
/// distribution over the vocabulary) between a reference and a candidate.
class LogitComparison {
public:
  /// Adds one row of `vocab` logits of each.
  void add(const float *reference, const float *candidate, int64_t vocab);

  /// Rows added.
  int64_t rows() const { return count; }
  /// The largest |candidate - reference| of any row over the largest
  /// |reference| of any row (0 when both are 0).
  double maxRelativeDifference() const;
  /// The mean over rows of KL(softmax(reference) || softmax(candidate)), in
  /// nats: the information lost per next token.
  double meanKlDivergence() const;
  /// The fraction of rows whose most likely token (the first maximum) is
  /// the same in both.
  double argmaxAgreement() const;

private:
  double maxDifference = 0, maxReference = 0, klSum = 0;
  int64_t count = 0, agreeing = 0;
};

} // namespace coil::bench

#endif // COIL_TOOLS_COIL_BENCH_SUPPORT_ACCURACY_H
