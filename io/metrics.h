// Binary classification metrics for the clinical report.
//
// classification_report reproduces scikit-learn's classification_report text
// exactly (digits = 2, zero_division = 0): per-class precision, recall,
// f1-score and support, then accuracy, macro avg and weighted avg.
// AUROC is the Mann-Whitney statistic (ties count one half); its 95% interval
// comes from a seeded percentile bootstrap over samples. The operating
// threshold is chosen on validation data by Youden's J (sensitivity +
// specificity - 1), ties broken towards the threshold nearest 0.5.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace effnet {

struct ClassStats {
    double precision = 0, recall = 0, f1 = 0;
    int64_t support = 0;
};

struct BinaryReport {
    int64_t tn = 0, fp = 0, fn = 0, tp = 0;  // confusion matrix, positive = 1
    ClassStats cls[2];
    double accuracy = 0;
    ClassStats macro, weighted;
    double sensitivity = 0, specificity = 0;
    double threshold = 0.5;
    double auroc = 0, auroc_lo = 0, auroc_hi = 0;
    int64_t n = 0;
};

// `prob` is P(label = 1); predictions are prob >= threshold.
BinaryReport binary_report(const std::vector<double>& prob, const std::vector<int>& label,
                           double threshold, int bootstrap_rounds = 1000, uint64_t seed = 1);
std::string classification_report(const BinaryReport& r, int digits = 2);
std::string confusion_matrix_text(const BinaryReport& r);
// NaN when only one class is present.
double auroc(const std::vector<double>& prob, const std::vector<int>& label);
void auroc_bootstrap(const std::vector<double>& prob, const std::vector<int>& label, int rounds,
                     uint64_t seed, double& lo, double& hi);
double youden_threshold(const std::vector<double>& prob, const std::vector<int>& label);
// The numbers of a report as a JSON object (for metrics.json).
std::string report_json(const BinaryReport& r);

}  // namespace effnet
