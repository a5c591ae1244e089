// Calibration of predicted probabilities: does "P(cardiomegaly) = 0.8" come
// true for 8 in 10 such images?
//
// All functions take `prob` = P(label = 1) in [0, 1] and labels in {0, 1};
// anything else (sizes differ, a NaN, a label 2) throws ContractError.
//
// Reliability bins: M equal-width bins over [0, 1]; bin k (k = 0..M-1) holds
// the confidences c with k/M < c <= (k+1)/M, and c = 0 falls in bin 0 (Guo et
// al. 2017, "On calibration of modern neural networks", whose bins are
// (lower, upper]). Two readings of "confidence" are offered:
//   TOP_LABEL       c = max(p, 1 - p), the confidence of the predicted class
//                   (predicted 1 when p >= 0.5); `observed` is the accuracy of
//                   the bin's predictions. This is the standard ECE.
//   POSITIVE_CLASS  c = p; `observed` is the fraction of positives in the bin
//                   (scikit-learn's calibration_curve, strategy "uniform").
//                   This is the reliability diagram a clinician reads.
// ECE = sum over bins of (n_b / n) * |observed_b - mean_confidence_b|; empty
// bins contribute nothing. The default is M = 15.
//
// Brier score = mean (p - y)^2 (scikit-learn's brier_score_loss; the
// two-class "multi-class" Brier of Brier 1950 is twice this).
// NLL = mean -[y log p + (1 - y) log(1 - p)], p clamped to [1e-15, 1 - 1e-15].
#pragma once

#include <cstdint>
#include <vector>

namespace effnet {

enum class CalibrationTarget { TOP_LABEL, POSITIVE_CLASS };

struct ReliabilityBin {
    double lo = 0, hi = 0;  // the bin is (lo, hi]; the first also holds 0
    int64_t count = 0;
    double mean_confidence = 0;  // NaN when count == 0
    double observed = 0;         // accuracy or fraction of positives; NaN when empty
};

std::vector<ReliabilityBin> reliability_bins(const std::vector<double>& prob,
                                             const std::vector<int>& label,
                                             CalibrationTarget target, int bins = 15);
// Needs at least one non-empty bin (NaN otherwise).
double expected_calibration_error(const std::vector<ReliabilityBin>& bins);
double brier_score(const std::vector<double>& prob, const std::vector<int>& label);
double mean_log_loss(const std::vector<double>& prob, const std::vector<int>& label);

struct CalibrationReport {
    int64_t n = 0;
    int bins = 15;
    double ece = 0;                 // TOP_LABEL, the standard definition
    double ece_positive_class = 0;  // POSITIVE_CLASS, what the diagram shows
    double brier = 0, nll = 0;
    std::vector<ReliabilityBin> top_label, positive_class;
};
// Needs at least one sample.
CalibrationReport calibration_report(const std::vector<double>& prob, const std::vector<int>& label,
                                     int bins = 15);

}  // namespace effnet
