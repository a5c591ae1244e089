// Runs a model in EVAL mode over every batch of a loader and collects the
// mean loss, accuracy, P(label 1) per sample and the labels.
#pragma once

#include <string>
#include <vector>

#include "data/loader.h"
#include "io/metrics.h"
#include "train/loss_head.h"
#include "train/model_spec.h"

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
    std::string threshold_from;
    double loss = 0;
    int64_t skipped_files = 0;
};
EvaluationReport evaluation_report(const std::string& title, const EvalResult& r, double threshold,
                                   const std::string& threshold_from, int bootstrap, uint64_t seed,
                                   const BadFileLog& bad_files);

// metrics.json, one schema for effnet_train and effnet_eval (docs/training.md):
//   {"split", "images", "loss", "best_epoch" (null where not a training run),
//    "threshold_from", "skipped_files", "argmax": report_json (threshold 0.5),
//    "at_threshold": report_json}
// `best_epoch` <= 0 is written null.
std::string metrics_json(const std::string& split, const EvaluationReport& rep, int best_epoch);

// One number through a printf format ("%.4f"), for reports and logs.
std::string fmt(const char* format, double v);

}  // namespace effnet
