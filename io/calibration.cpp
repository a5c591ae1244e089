#include "io/calibration.h"

#include <algorithm>
#include <cmath>

#include "io/score_checks.h"
#include "tensor/error.h"

namespace effnet {

namespace {
// Bin of confidence c in [0, 1] under the (k/M, (k+1)/M] rule. The first
// guess ceil(c M) - 1 can be off by one where c M rounds across an integer,
// so it is corrected against the edges as the bins define them.
int bin_of(double c, int bins) {
    auto edge = [&](int k) { return double(k) / bins; };
    int k = std::clamp(int(std::ceil(c * bins)) - 1, 0, bins - 1);
    while (k > 0 && c <= edge(k)) --k;
    while (k < bins - 1 && c > edge(k + 1)) ++k;
    return k;
}
}  // namespace

std::vector<ReliabilityBin> reliability_bins(const std::vector<double>& prob,
                                             const std::vector<int>& label,
                                             CalibrationTarget target, int bins) {
    check_probabilities_and_labels("reliability_bins", prob, label);
    EFFNET_CHECK(bins >= 1, "reliability_bins: " << bins << " bins");
    std::vector<ReliabilityBin> out(static_cast<size_t>(bins));
    std::vector<double> conf_sum(size_t(bins), 0.0), hit_sum(size_t(bins), 0.0);
    for (size_t i = 0; i < prob.size(); ++i) {
        double c = prob[i], hit = label[i];
        if (target == CalibrationTarget::TOP_LABEL) {
            const int predicted = prob[i] >= 0.5 ? 1 : 0;
            c = std::max(prob[i], 1 - prob[i]);
            hit = predicted == label[i] ? 1 : 0;
        }
        const int k = bin_of(c, bins);
        out[size_t(k)].count++;
        conf_sum[size_t(k)] += c;
        hit_sum[size_t(k)] += hit;
    }
    for (int k = 0; k < bins; ++k) {
        ReliabilityBin& b = out[size_t(k)];
        b.lo = double(k) / bins;
        b.hi = double(k + 1) / bins;
        b.mean_confidence = b.count ? conf_sum[size_t(k)] / double(b.count) : NAN;
        b.observed = b.count ? hit_sum[size_t(k)] / double(b.count) : NAN;
    }
    return out;
}

double expected_calibration_error(const std::vector<ReliabilityBin>& bins) {
    int64_t n = 0;
    double weighted = 0;
    for (const ReliabilityBin& b : bins) {
        if (b.count == 0) continue;
        n += b.count;
        weighted += double(b.count) * std::fabs(b.observed - b.mean_confidence);
    }
    return n ? weighted / double(n) : NAN;
}

double brier_score(const std::vector<double>& prob, const std::vector<int>& label) {
    check_probabilities_and_labels("brier_score", prob, label);
    EFFNET_CHECK(!prob.empty(), "brier_score: no samples");
    double sum = 0;
    for (size_t i = 0; i < prob.size(); ++i) sum += (prob[i] - label[i]) * (prob[i] - label[i]);
    return sum / double(prob.size());
}

double mean_log_loss(const std::vector<double>& prob, const std::vector<int>& label) {
    check_probabilities_and_labels("mean_log_loss", prob, label);
    EFFNET_CHECK(!prob.empty(), "mean_log_loss: no samples");
    const double eps = 1e-15;
    double sum = 0;
    for (size_t i = 0; i < prob.size(); ++i) {
        const double p = std::clamp(prob[i], eps, 1 - eps);
        sum -= label[i] == 1 ? std::log(p) : std::log1p(-p);
    }
    return sum / double(prob.size());
}

CalibrationReport calibration_report(const std::vector<double>& prob, const std::vector<int>& label,
                                     int bins) {
    EFFNET_CHECK(!prob.empty(), "calibration_report: no samples");
    CalibrationReport r;
    r.n = int64_t(prob.size());
    r.bins = bins;
    r.top_label = reliability_bins(prob, label, CalibrationTarget::TOP_LABEL, bins);
    r.positive_class = reliability_bins(prob, label, CalibrationTarget::POSITIVE_CLASS, bins);
    r.ece = expected_calibration_error(r.top_label);
    r.ece_positive_class = expected_calibration_error(r.positive_class);
    r.brier = brier_score(prob, label);
    r.nll = mean_log_loss(prob, label);
    return r;
}

}  // namespace effnet
