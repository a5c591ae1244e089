// Evaluation: a model in EVAL mode over every batch of a loader, and the
// report of the result (report.txt, metrics.json, reliability.png) that
// effnet_train and effnet_eval write.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data/loader.h"
#include "io/calibration.h"
#include "io/metrics.h"
#include "io/operating_point.h"
#include "io/roc_statistics.h"
#include "io/subgroups.h"
#include "io/temperature_scaling.h"
#include "train/loss_head.h"
#include "train/model_spec.h"

namespace effnet {

struct EvalResult {
    double loss = 0, accuracy = 0;  // mean loss (no label smoothing) and argmax accuracy
    double loss_sum = 0;            // sum over the images (loss is its mean)
    int64_t correct = 0;
    std::vector<double> prob;  // P(label 1) per sample, at `temperature`
    std::vector<int> label;
    std::vector<int64_t> index;  // each image's position in the loader's samples
    std::vector<std::string> paths;
    std::vector<std::vector<std::string>> tags;  // each sample's subgroup tags (data/dataset.h)
    std::vector<float> logits;  // [n, classes], averaged over the views, before the temperature
    int64_t classes = 0;
    int views = 1;
    double temperature = 1;
};

// A sample's subgroup tags from its metadata (data/dataset.h): "key=value",
// ages as bands ("age=60-79", io/subgroups.h).
std::vector<std::string> subgroup_tags(const Sample& s);

// Runs the model over the loader's samples in order. With `views` > 1 each
// image is also seen through the test-time views 1 .. views-1 (small zooms
// and shifts, data/augment.h) and the logits are averaged over the views
// before the loss, the accuracy and the probabilities are computed.
// A sharded loader (data/loader.h) evaluates this rank's shares only (an
// empty share is skipped); train/data_parallel.h merges the ranks' results.
EvalResult evaluate(Model& model, Loader& loader, LossHead& head, Context& ctx, int views = 1);

// `r` with its probabilities and loss recomputed from its logits divided by
// `temperature` (the argmax, hence the accuracy, is unchanged). T = 1 returns
// `r` as it is.
EvalResult with_temperature(const EvalResult& r, double temperature);

// The temperature that minimises the NLL of `r`'s labels (io/temperature_scaling.h).
// Needs one or two logits per sample (the binary heads).
TemperatureFit fit_temperature(const EvalResult& r);

// A weights file made ready to evaluate (effnet_eval, --compare): the model
// its metadata describes with its weights loaded (for a checkpoint of an --ema
// run, the weight average) and the decision settings stored beside them.
struct WeightsUnderTest {
    std::string path;
    std::unique_ptr<Model> model;
    std::unique_ptr<LossHead> head;
    DecisionSettings decision;
    std::string weights = "trained";  // "ema" for a weight average
};
WeightsUnderTest load_for_evaluation(const std::string& path, Device device, int64_t batch);
// `samples` through the model's own input pipeline, at temperature 1.
EvalResult evaluate_samples(WeightsUnderTest& w, const std::vector<Sample>& samples,
                            const LoaderConfig& lc, int views, BadFileLog* bad, Context& ctx);

// The decision threshold of an evaluation: the one stored with the weights;
// without one, chosen on `val` by `rule`; without val either, 0.5.
struct DecisionThreshold {
    double value = 0.5;
    std::string rule;  // "youden", "sens=0.9", "threshold=0.5"
    std::string from;  // for the report: "chosen on val (Youden's J)", ...
};
DecisionThreshold decision_threshold(const DecisionSettings& stored, const EvalResult* val,
                                     const OperatingPointSpec& rule);

// The report.txt of an evaluation, as effnet_train and effnet_eval write it:
//   title; the scikit-learn classification report at argmax (threshold 0.5)
//   and its confusion matrix; AUROC with its 95% interval (DeLong, or the
//   seeded percentile bootstrap); the decision threshold with sensitivity and
//   specificity; the loss; calibration (ECE over 15 bins, Brier score, NLL)
//   at temperature 1 and, when a temperature is applied, at that
//   temperature; the operating points (thresholds chosen on val, each
//   measured here with sensitivity, specificity, PPV, NPV and Wilson 95%
//   intervals); the subgroups when the samples carry tags; the paired DeLong
//   comparison with another model when there is one; the skipped files.
// Everything is kept in the returned EvaluationReport for metrics.json.
struct ReportSettings {
    std::vector<OperatingPointSpec> operating_points;  // chosen on val, besides Youden's J
    AurocInterval interval = AurocInterval::DELONG;
    int bootstrap = 1000;  // resamples, for AurocInterval::BOOTSTRAP
    uint64_t seed = 17;
    SubgroupOptions subgroups;
};

struct ReportInput {
    std::string title;
    std::string split;                // the evaluated split's name
    int best_epoch = 0;               // <= 0: not a training run
    std::string weights = "trained";  // "trained", or "ema" (the weight average, train/ema.h)
    EvalResult evaluated;             // at the temperature in use
    // Val at the same temperature, where the operating points are chosen
    // (absent: only the decision threshold is reported).
    std::optional<EvalResult> chooser;
    std::string chooser_split = "val";
    double threshold = 0.5;                 // the decision threshold
    std::string threshold_from;             // how it was chosen, for the report
    std::string threshold_rule;             // its rule ("youden", "sens=0.9", "threshold=0.5")
    std::string temperature_from = "none";  // "none", "fitted on val", "from the checkpoint"
    std::optional<TemperatureFit> fit;      // when fitted in this run
    // The paired test against another model on the same images.
    std::optional<PairedDelong> comparison;
    std::string compared_with;
    int64_t compared_images = 0;
};

struct EvaluationReport {
    std::string text;
    std::string split, weights;
    int best_epoch = 0, views = 1;
    BinaryReport at_half, at_threshold;
    std::string threshold_from, threshold_rule;
    double loss = 0;
    int64_t skipped_files = 0;
    AurocEstimate auroc;
    int bootstrap = 0;
    double temperature = 1;
    std::string temperature_from;
    std::optional<TemperatureFit> fit;
    CalibrationReport calibration_before;                // at temperature 1
    std::optional<CalibrationReport> calibration_after;  // at `temperature`, when not 1
    std::vector<OperatingPoint> operating_points;
    std::string operating_points_chosen_on;  // empty: none could be chosen
    std::vector<SubgroupResult> subgroups;
    int64_t subgroup_floor = 10;
    std::optional<PairedDelong> comparison;
    std::string compared_with;
    int64_t compared_images = 0;
    // The calibration the reliability diagram shows (after, or before without a temperature).
    const CalibrationReport& calibration_shown() const {
        return calibration_after ? *calibration_after : calibration_before;
    }
};
EvaluationReport evaluation_report(const ReportInput& in, const ReportSettings& settings,
                                   const BadFileLog& bad_files);

// metrics.json, one schema for effnet_train and effnet_eval (docs/training.md):
//   {"split", "images", "loss", "best_epoch" (null where not a training run),
//    "threshold_from", "skipped_files", "argmax": report_json (threshold 0.5),
//    "at_threshold": report_json, "weights", "tta_views",
//    "decision_threshold": {"value", "rule", "from"},
//    "auroc": {"auroc", "ci95", "method"},
//    "temperature": {"value", "from", "fit": temperature_json or null},
//    "calibration": {"before_temperature": calibration_json, "after_temperature": ... or null},
//    "operating_points": {"chosen_on" (null: none chosen), "points": [operating_point_json, ...]},
//    "subgroups": {"min_per_class", "groups": subgroups_json},
//    "comparison": null or {"other", "images", "test": paired_delong_json}}
std::string metrics_json(const EvaluationReport& rep);

// report.txt, metrics.json and reliability.png (io/plot.h) in `folder`.
void write_report_files(const EvaluationReport& rep, const std::string& folder);

// The paired DeLong test of two evaluations of the same images, matched by
// path (images only one of them read are left out; `images` says how many
// were paired). Needs both classes among the paired images.
PairedDelong compare_evaluations(const EvalResult& a, const EvalResult& b, int64_t& images);

// One number through a printf format ("%.4f"), for reports and logs.
std::string fmt(const char* format, double v);

}  // namespace effnet
