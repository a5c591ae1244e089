// Operating points: a decision threshold chosen on one set (validation) by a
// rule, then reported on another (the evaluated split) with sensitivity,
// specificity, PPV and NPV, each with its counts and 95% Wilson interval.
//
// Predictions are `prob >= threshold` (as in binary_report). Rules:
//   youden           maximise sensitivity + specificity - 1 (youden_threshold
//                    in io/metrics.h, ties towards 0.5);
//   sens=0.90        the highest threshold whose sensitivity is >= 0.90, i.e.
//                    the best specificity that keeps the target sensitivity;
//   spec=0.95        the lowest threshold whose specificity is >= 0.95, i.e.
//                    the best sensitivity that keeps the target specificity;
//   threshold=0.3    a fixed threshold.
// Candidate thresholds are the distinct scores of the choosing set; for spec=
// a threshold just above the highest score (every sample negative) is the
// last resort when ties at the top keep the target out of reach. The targets
// must lie in (0, 1]; choosing by sens= needs a positive and spec= a negative
// sample in the choosing set (ContractError otherwise).
//
// Wilson score interval (Wilson 1927) for k successes in n trials, z = 1.96:
//   centre = (p + z^2 / 2n) / (1 + z^2 / n)
//   half   = z / (1 + z^2 / n) * sqrt(p (1 - p) / n + z^2 / 4n^2),  p = k / n;
// without continuity correction (method 3 of Newcombe 1998). n = 0 gives NaN.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace effnet {

// The two-sided 95% normal quantile, Phi^-1(0.975).
constexpr double kZ95 = 1.959963984540054;

struct Proportion {
    int64_t k = 0, n = 0;
    double value = 0, lo = 0, hi = 0;  // NaN when n == 0
};
Proportion wilson_interval(int64_t k, int64_t n, double z = kZ95);

enum class OperatingRule { YOUDEN, SENSITIVITY, SPECIFICITY, FIXED };
struct OperatingPointSpec {
    OperatingRule rule = OperatingRule::YOUDEN;
    double target = 0;  // the sensitivity, the specificity, or the fixed threshold
};
// Accepts "youden", "sens=X" / "sensitivity=X", "spec=X" / "specificity=X",
// "threshold=X"; throws ContractError quoting the text otherwise.
OperatingPointSpec parse_operating_point(const std::string& text);
// The canonical text of a spec ("youden", "sens=0.9", "spec=0.95", "threshold=0.3").
std::string to_string(const OperatingPointSpec& spec);

double choose_threshold(const std::vector<double>& prob, const std::vector<int>& label,
                        const OperatingPointSpec& spec);

struct OperatingPoint {
    OperatingPointSpec spec;
    double threshold = 0.5;
    int64_t tp = 0, fp = 0, tn = 0, fn = 0;
    Proportion sensitivity, specificity, ppv, npv;
};
// Counts and intervals of `threshold` on (prob, label); `spec` is carried
// along to say how the threshold was chosen.
OperatingPoint evaluate_operating_point(const std::vector<double>& prob,
                                        const std::vector<int>& label, double threshold,
                                        const OperatingPointSpec& spec = {});
// choose_threshold on (choose_prob, choose_label), evaluated on (prob, label).
OperatingPoint operating_point(const OperatingPointSpec& spec,
                               const std::vector<double>& choose_prob,
                               const std::vector<int>& choose_label,
                               const std::vector<double>& prob, const std::vector<int>& label);
// Text lines for report.txt: the rule and threshold, then each measure as
// "sensitivity 0.900 (95% CI 0.745-0.965)  27/30".
std::string operating_point_text(const OperatingPoint& op);

}  // namespace effnet
