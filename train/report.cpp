// The report of an evaluation (train/evaluate.h): report.txt, metrics.json
// and the reliability diagram.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

#include "io/json.h"
#include "io/plot.h"
#include "io/safetensors.h"
#include "io/stats_json.h"
#include "tensor/error.h"
#include "train/evaluate.h"

namespace effnet {

std::string fmt(const char* format, double v) {
    char b[64];
    std::snprintf(b, sizeof b, format, v);
    return b;
}

namespace {

std::string fixed4(double v) { return fmt("%.4f", v); }

std::string calibration_line(const CalibrationReport& c) {
    return "ECE " + fixed4(c.ece) + "  Brier " + fixed4(c.brier) + "  NLL " + fixed4(c.nll);
}

std::string auroc_line(const AurocEstimate& a, int bootstrap) {
    return "AUROC " + fixed4(a.auroc) + " (95% CI " + fixed4(a.lo) + "-" + fixed4(a.hi) +
           (a.method == AurocInterval::DELONG
                ? ", DeLong)"
                : ", bootstrap, " + std::to_string(bootstrap) + " resamples)");
}

// The probabilities of an evaluation at temperature 1, for the calibration before scaling.
std::vector<double> probabilities_at_one(const EvalResult& r) {
    if (r.temperature == 1) return r.prob;
    std::vector<double> p(r.prob.size());
    for (size_t i = 0; i < p.size(); ++i)
        p[i] = finite_probability(&r.logits[i * size_t(r.classes)], r.classes, r.paths[i]);
    return p;
}

std::string calibration_text(const EvaluationReport& rep, const ReportInput& in) {
    std::ostringstream os;
    os << "\ncalibration (" << rep.calibration_before.bins
       << " bins), probabilities as the network gives them:\n  "
       << calibration_line(rep.calibration_before) << "\n";
    if (rep.calibration_after) {
        os << "temperature scaling: T = " << fmt("%.4f", rep.temperature) << " ("
           << rep.temperature_from;
        if (in.fit)
            os << ", NLL on " << in.chooser_split << " " << fixed4(in.fit->nll_before) << " -> "
               << fixed4(in.fit->nll_after)
               << (in.fit->at_bracket_edge ? ", at the edge of the search range" : "");
        os << "); on this split:\n  " << calibration_line(*rep.calibration_after) << "\n";
    }
    return os.str();
}

std::string operating_points_text(const EvaluationReport& rep) {
    std::ostringstream os;
    if (rep.operating_points_chosen_on.empty())
        os << "\noperating point (no val split to choose thresholds on), measured on this split:\n";
    else
        os << "\noperating points (thresholds chosen on " << rep.operating_points_chosen_on
           << ", measured on this split):\n";
    for (const OperatingPoint& op : rep.operating_points) os << operating_point_text(op);
    return os.str();
}

std::string comparison_text(const EvaluationReport& rep) {
    if (!rep.comparison) return "";
    const PairedDelong& t = *rep.comparison;
    std::ostringstream os;
    os << "\ncomparison with " << rep.compared_with << " on the same " << rep.compared_images
       << " images (paired DeLong test):\n"
       << "  AUROC this model " << fixed4(t.a.auroc) << " (95% CI " << fixed4(t.a.lo) << "-"
       << fixed4(t.a.hi) << "), other " << fixed4(t.b.auroc) << " (95% CI " << fixed4(t.b.lo) << "-"
       << fixed4(t.b.hi) << ")\n"
       << "  difference " << fmt("%+.4f", t.difference) << " (95% CI " << fmt("%+.4f", t.lo)
       << " to " << fmt("%+.4f", t.hi) << "), z " << fmt("%.3f", t.z) << ", p "
       << fmt("%.4g", t.p_value) << "\n";
    return os.str();
}

bool any_tags(const EvalResult& r) {
    for (auto& t : r.tags)
        if (!t.empty()) return true;
    return false;
}

}  // namespace

EvaluationReport evaluation_report(const ReportInput& in, const ReportSettings& settings,
                                   const BadFileLog& bad_files) {
    const EvalResult& r = in.evaluated;
    EFFNET_CHECK(!r.prob.empty(), "evaluation_report: no images were evaluated");
    EvaluationReport out;
    out.split = in.split;
    out.weights = in.weights;
    out.best_epoch = in.best_epoch;
    out.views = r.views;
    out.bootstrap = settings.bootstrap;
    out.threshold_from = in.threshold_from;
    out.threshold_rule = in.threshold_rule;
    out.loss = r.loss;
    out.skipped_files = int64_t(bad_files.count());
    out.temperature = r.temperature;
    out.temperature_from = in.temperature_from;
    out.fit = in.fit;
    out.comparison = in.comparison;
    out.compared_with = in.compared_with;
    out.compared_images = in.compared_images;
    out.subgroup_floor = settings.subgroups.min_per_class;

    // The interval comes from auroc_with_interval (DeLong or bootstrap), not binary_report.
    out.at_half = binary_report(r.prob, r.label, 0.5, 0, settings.seed);
    out.at_threshold = binary_report(r.prob, r.label, in.threshold, 0, settings.seed);
    out.auroc =
        auroc_with_interval(r.prob, r.label, settings.interval, settings.bootstrap, settings.seed);
    out.at_half.auroc_lo = out.auroc.lo;
    out.at_half.auroc_hi = out.auroc.hi;

    out.calibration_before = calibration_report(probabilities_at_one(r), r.label);
    if (r.temperature != 1) out.calibration_after = calibration_report(r.prob, r.label);

    // Youden's J and the requested rules, chosen on val; the decision
    // threshold first when it is not one of them (stored with the weights,
    // or 0.5 without val).
    std::vector<OperatingPointSpec> rules;
    if (in.chooser) {
        out.operating_points_chosen_on = in.chooser_split;
        rules.push_back(OperatingPointSpec{});  // Youden's J
        for (const OperatingPointSpec& rule : settings.operating_points)
            if (rule.rule != OperatingRule::YOUDEN) rules.push_back(rule);
    }
    bool decision_listed = false;
    for (const OperatingPointSpec& rule : rules)
        decision_listed |= to_string(rule) == in.threshold_rule;
    if (!decision_listed) {
        OperatingPointSpec fixed;
        fixed.rule = OperatingRule::FIXED;
        fixed.target = in.threshold;
        out.operating_points.push_back(
            evaluate_operating_point(r.prob, r.label, in.threshold, fixed));
    }
    for (const OperatingPointSpec& rule : rules)
        out.operating_points.push_back(
            operating_point(rule, in.chooser->prob, in.chooser->label, r.prob, r.label));
    if (any_tags(r))
        out.subgroups = subgroup_report(r.prob, r.label, r.tags, in.threshold, settings.subgroups);

    std::ostringstream rep;
    rep << in.title << "\n\n"
        << "classification report (predicted class = argmax, i.e. threshold 0.5):\n"
        << classification_report(out.at_half) << "\n"
        << confusion_matrix_text(out.at_half) << "\n"
        << auroc_line(out.auroc, settings.bootstrap) << "\n"
        << "decision threshold " << in.threshold_from << ": " << fixed4(in.threshold)
        << "  sensitivity " << fixed4(out.at_threshold.sensitivity) << "  specificity "
        << fixed4(out.at_threshold.specificity) << "\n"
        << "loss " << fixed4(r.loss)
        << (r.temperature != 1 ? "  (at temperature " + fmt("%.4f", r.temperature) + ")" : "")
        << (r.views > 1 ? "  (logits averaged over " + std::to_string(r.views) + " test-time views)"
                        : "")
        << "\n"
        << calibration_text(out, in) << operating_points_text(out);
    if (!out.subgroups.empty())
        rep << "\nsubgroups (at the decision threshold " << fixed4(in.threshold) << "):\n"
            << subgroup_table_text(out.subgroups, settings.subgroups);
    rep << comparison_text(out);
    if (bad_files.count()) {
        rep << "\nskipped files (" << bad_files.count() << "):\n";
        for (auto& [path, why] : bad_files.entries()) rep << "  " << path << ": " << why << "\n";
    }
    out.text = rep.str();
    return out;
}

std::string metrics_json(const EvaluationReport& rep) {
    using json::Object;
    const std::string fit = rep.fit ? temperature_json(*rep.fit) : "null";
    const std::string after =
        rep.calibration_after ? calibration_json(*rep.calibration_after) : "null";
    const std::string comparison = rep.comparison
                                       ? Object()
                                             .text("other", rep.compared_with)
                                             .integer("images", rep.compared_images)
                                             .raw("test", paired_delong_json(*rep.comparison))
                                             .str()
                                       : "null";
    return Object()
               .text("split", rep.split)
               .integer("images", rep.at_half.n)
               .num("loss", rep.loss)
               .raw("best_epoch", rep.best_epoch > 0 ? std::to_string(rep.best_epoch) : "null")
               .text("threshold_from", rep.threshold_from)
               .integer("skipped_files", rep.skipped_files)
               .raw("argmax", report_json(rep.at_half))
               .raw("at_threshold", report_json(rep.at_threshold))
               .text("weights", rep.weights)
               .integer("tta_views", rep.views)
               .raw("decision_threshold", Object()
                                              .num("value", rep.at_threshold.threshold)
                                              .text("rule", rep.threshold_rule)
                                              .text("from", rep.threshold_from)
                                              .str())
               .raw("auroc",
                    Object()
                        .num("auroc", rep.auroc.auroc)
                        .raw("ci95", json::interval(rep.auroc.lo, rep.auroc.hi))
                        .text("method",
                              rep.auroc.method == AurocInterval::DELONG ? "delong" : "bootstrap")
                        .str())
               .raw("temperature", Object()
                                       .num("value", rep.temperature)
                                       .text("from", rep.temperature_from)
                                       .raw("fit", fit)
                                       .str())
               .raw("calibration",
                    Object()
                        .raw("before_temperature", calibration_json(rep.calibration_before))
                        .raw("after_temperature", after)
                        .str())
               .raw("operating_points",
                    Object()
                        .raw("chosen_on", rep.operating_points_chosen_on.empty()
                                              ? "null"
                                              : json::quote(rep.operating_points_chosen_on))
                        .raw("points", json::array(rep.operating_points, operating_point_json))
                        .str())
               .raw("subgroups", Object()
                                     .integer("min_per_class", rep.subgroup_floor)
                                     .raw("groups", subgroups_json(rep.subgroups))
                                     .str())
               .raw("comparison", comparison)
               .str() +
           "\n";
}

void write_report_files(const EvaluationReport& rep, const std::string& folder) {
    namespace fs = std::filesystem;
    fs::create_directories(folder);
    write_file_atomic((fs::path(folder) / "report.txt").string(), rep.text);
    write_file_atomic((fs::path(folder) / "metrics.json").string(), metrics_json(rep));
    draw_reliability_diagram(rep.calibration_shown(),
                             (fs::path(folder) / "reliability.png").string());
}

PairedDelong compare_evaluations(const EvalResult& a, const EvalResult& b, int64_t& images) {
    std::map<std::string, size_t> in_b;
    for (size_t i = 0; i < b.paths.size(); ++i) in_b.emplace(b.paths[i], i);
    std::vector<double> sa, sb;
    std::vector<int> label;
    for (size_t i = 0; i < a.paths.size(); ++i) {
        auto it = in_b.find(a.paths[i]);
        if (it == in_b.end()) continue;
        sa.push_back(a.prob[i]);
        sb.push_back(b.prob[it->second]);
        label.push_back(a.label[i]);
    }
    images = int64_t(label.size());
    return delong_paired_test(sa, sb, label);
}

}  // namespace effnet
