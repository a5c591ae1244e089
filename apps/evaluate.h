// Runs a model in EVAL mode over every batch of a loader and collects the
// mean loss, accuracy, P(label 1) per sample and the labels.
#pragma once

#include <string>
#include <vector>

#include "apps/loss_head.h"
#include "apps/model_spec.h"
#include "data/loader.h"
#include "io/metrics.h"

namespace effnet {

struct EvalResult {
    double loss = 0, accuracy = 0;
    std::vector<double> prob;
    std::vector<int> label;
    std::vector<std::string> paths;
};

EvalResult evaluate(Model& model, Loader& loader, LossHead& head, Context& ctx);

// The report.txt of an evaluation, as effnet_train and effnet_eval write it:
// `title`, the scikit-learn classification report at argmax (threshold 0.5),
// the confusion matrix, AUROC with its bootstrap interval (`bootstrap`
// resamples, `seed`), the operating point at `threshold` (`threshold_from`
// says how it was chosen), the mean loss and the skipped files. The two
// BinaryReports (argmax, threshold) are returned for metrics.json.
struct EvaluationReport {
    std::string text;
    BinaryReport at_half, at_threshold;
};
EvaluationReport evaluation_report(const std::string& title, const EvalResult& r, double threshold,
                                   const std::string& threshold_from, int bootstrap, uint64_t seed,
                                   const BadFileLog& bad_files);

// One number through a printf format ("%.4f"), for reports and logs.
std::string fmt(const char* format, double v);

}  // namespace effnet
