// The evaluation report of effnet_train and effnet_eval (train/evaluate.h)
// on hand-made results: temperature applied to logits, the decision
// threshold's sources, every report section and metrics.json key, the paired
// comparison matched by path, subgroup tags from sample metadata, and the
// decision settings stored with the weights (train/model_spec.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "common/gradcheck.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "train/evaluate.h"

using namespace effnet;
using namespace effnet::test;
namespace fs = std::filesystem;

namespace {
// n two-logit results whose margins separate the classes imperfectly.
EvalResult synthetic(int64_t n, uint64_t seed, double scale = 3) {
    EvalResult r;
    r.classes = 2;
    const std::vector<double> noise = random_vector(size_t(n), seed, -1, 1);
    for (int64_t i = 0; i < n; ++i) {
        const int y = int(i % 2);
        const double margin = scale * ((y ? 0.4 : -0.4) + noise[size_t(i)]);
        r.logits.push_back(0.0f);
        r.logits.push_back(float(margin));
        r.label.push_back(y);
        r.paths.push_back("img" + std::to_string(i) + ".png");
        r.prob.push_back(1 / (1 + std::exp(-double(float(margin)))));
        r.tags.push_back({i % 3 == 0 ? "sex=F" : "sex=M"});
    }
    double nll = 0;
    for (size_t i = 0; i < r.prob.size(); ++i)
        nll -= std::log(r.label[i] ? r.prob[i] : 1 - r.prob[i]);
    r.loss = nll / double(n);
    return r;
}

ReportInput report_input(const EvalResult& test, const EvalResult& val) {
    ReportInput in;
    in.title = "a test report";
    in.split = "test";
    in.best_epoch = 3;
    in.evaluated = test;
    in.chooser = val;
    const DecisionThreshold d = decision_threshold(DecisionSettings{}, &val, OperatingPointSpec{});
    in.threshold = d.value;
    in.threshold_rule = d.rule;
    in.threshold_from = d.from;
    return in;
}
}  // namespace

TEST(EvaluationTemperature, ProbabilitiesAndLossFollowTheScaledLogits) {
    const EvalResult r = synthetic(40, 3);
    const double t = 2.5;
    const EvalResult s = with_temperature(r, t);
    EXPECT_EQ(s.temperature, t);
    const std::vector<double> margins = logit_margins(r.logits, 2);
    const std::vector<double> want = apply_temperature(margins, t);
    for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(s.prob[i], want[i], 1e-6) << i;
    EXPECT_NEAR(s.loss, temperature_nll(margins, r.label, t), 1e-6);
    EXPECT_EQ(s.label, r.label);
    // T = 1 changes nothing; a fit on the result returns the NLL-minimising T.
    EXPECT_EQ(with_temperature(r, 1).prob, r.prob);
    const TemperatureFit fit = fit_temperature(r);
    EXPECT_LE(fit.nll_after, fit.nll_before + 1e-12);
    EXPECT_NEAR(with_temperature(r, fit.temperature).loss, fit.nll_after, 1e-6);
    EXPECT_THROW(with_temperature(r, 0), ContractError);
    EXPECT_THROW(with_temperature(s, 2), ContractError);  // already scaled
}

TEST(DecisionThreshold, StoredThenChosenOnValThenHalf) {
    const EvalResult val = synthetic(30, 4);
    DecisionSettings stored;
    stored.has_threshold = true;
    stored.threshold = 0.37;
    stored.threshold_rule = "sens=0.9 on val";
    const DecisionThreshold a = decision_threshold(stored, &val, OperatingPointSpec{});
    EXPECT_EQ(a.value, 0.37);
    EXPECT_EQ(a.rule, "sens=0.9 on val");
    EXPECT_NE(a.from.find("stored with the weights"), std::string::npos) << a.from;
    const OperatingPointSpec sens = parse_operating_point("sens=0.9");
    const DecisionThreshold b = decision_threshold(DecisionSettings{}, &val, sens);
    EXPECT_EQ(b.value, choose_threshold(val.prob, val.label, sens));
    EXPECT_EQ(b.rule, "sens=0.9");
    EXPECT_EQ(b.from, "chosen on val (sens=0.9)");
    EXPECT_EQ(decision_threshold(DecisionSettings{}, &val, OperatingPointSpec{}).from,
              "chosen on val (Youden's J)");
    const DecisionThreshold c = decision_threshold(DecisionSettings{}, nullptr, sens);
    EXPECT_EQ(c.value, 0.5);
    EXPECT_NE(c.from.find("no val split"), std::string::npos);
}

TEST(EvaluationReport, EverySectionAndMetricsKey) {
    const EvalResult val = synthetic(60, 5), test = synthetic(50, 6);
    ReportInput in = report_input(test, val);
    ReportSettings settings;
    settings.operating_points = {parse_operating_point("sens=0.9"),
                                 parse_operating_point("spec=0.9")};
    settings.subgroups.min_per_class = 10;
    BadFileLog bad;
    const EvaluationReport rep = evaluation_report(in, settings, bad);
    for (const char* s :
         {"a test report", "weighted avg", "confusion matrix", "AUROC ", "DeLong)",
          "decision threshold chosen on val (Youden's J)", "calibration (15 bins)", "ECE ",
          "Brier ", "operating points (thresholds chosen on val", "operating point youden",
          "operating point sens=0.9", "operating point spec=0.9", "PPV", "NPV", "subgroups",
          "sex=F", "sex=M", "n too small"})
        EXPECT_NE(rep.text.find(s), std::string::npos) << s << "\n" << rep.text;
    EXPECT_EQ(rep.text.find("temperature scaling"), std::string::npos)
        << "no temperature was applied";
    EXPECT_EQ(rep.text.find("comparison with"), std::string::npos);
    // Youden is the decision here, so it is listed once, not again as a fixed threshold.
    EXPECT_EQ(rep.operating_points.size(), 3u);
    // The AUROC interval is DeLong's.
    const DelongAuc d = delong_auroc(test.prob, test.label);
    EXPECT_NEAR(rep.auroc.lo, d.lo, 1e-12);
    EXPECT_NEAR(rep.at_half.auroc_hi, d.hi, 1e-12);

    const json::Value m = json::parse(metrics_json(rep));
    for (const char* key :
         {"split", "images", "loss", "best_epoch", "threshold_from", "skipped_files", "argmax",
          "at_threshold", "weights", "tta_views", "decision_threshold", "auroc", "temperature",
          "calibration", "operating_points", "subgroups", "comparison"})
        EXPECT_TRUE(m.find(key)) << key;
    EXPECT_EQ(m.find("best_epoch")->number, 3);
    EXPECT_EQ(m.find("auroc")->find("method")->text, "delong");
    EXPECT_EQ(m.find("temperature")->find("value")->number, 1);
    EXPECT_EQ(m.find("calibration")->find("after_temperature")->type, json::Value::Type::NUL);
    EXPECT_EQ(m.find("calibration")->find("before_temperature")->find("bins")->number, 15);
    EXPECT_EQ(m.find("operating_points")->find("chosen_on")->text, "val");
    EXPECT_EQ(m.find("operating_points")->find("points")->items.size(), 3u);
    EXPECT_EQ(m.find("subgroups")->find("groups")->items.size(), 2u);
    EXPECT_EQ(m.find("comparison")->type, json::Value::Type::NUL);
    EXPECT_EQ(m.find("decision_threshold")->find("rule")->text, "youden");
}

TEST(EvaluationReport, TemperatureComparisonAndNoValSplit) {
    const EvalResult val = synthetic(60, 7, 8),
                     test = synthetic(50, 8, 8);  // over-confident margins
    ReportInput in = report_input(test, val);
    in.fit = fit_temperature(val);
    in.temperature_from = "fitted on val";
    in.evaluated = with_temperature(test, in.fit->temperature);
    in.chooser = with_temperature(val, in.fit->temperature);
    int64_t paired = 0;
    in.comparison = compare_evaluations(in.evaluated, synthetic(50, 9), paired);
    in.compared_with = "other.safetensors";
    in.compared_images = paired;
    EXPECT_EQ(paired, 50);
    BadFileLog bad;
    const EvaluationReport rep = evaluation_report(in, ReportSettings{}, bad);
    EXPECT_GT(in.fit->temperature, 1) << "over-confident margins want T > 1";
    ASSERT_TRUE(rep.calibration_after.has_value());
    EXPECT_LT(rep.calibration_after->nll, rep.calibration_before.nll);
    for (const char* s :
         {"temperature scaling: T = ", "fitted on val",
          "comparison with other.safetensors on the same 50 images", "paired DeLong", "difference"})
        EXPECT_NE(rep.text.find(s), std::string::npos) << s << "\n" << rep.text;
    const json::Value m = json::parse(metrics_json(rep));
    EXPECT_NEAR(m.find("temperature")->find("value")->number, in.fit->temperature,
                1e-5 * in.fit->temperature);
    EXPECT_NE(m.find("temperature")->find("fit")->type, json::Value::Type::NUL);
    EXPECT_NE(m.find("calibration")->find("after_temperature")->type, json::Value::Type::NUL);
    EXPECT_EQ(m.find("comparison")->find("images")->number, 50);
    EXPECT_TRUE(m.find("comparison")->find("test")->find("p_value"));

    // Without val: the decision threshold alone, at 0.5.
    ReportInput alone;
    alone.split = "test";
    alone.evaluated = test;
    const DecisionThreshold d =
        decision_threshold(DecisionSettings{}, nullptr, OperatingPointSpec{});
    alone.threshold = d.value;
    alone.threshold_rule = d.rule;
    alone.threshold_from = d.from;
    const EvaluationReport a = evaluation_report(alone, ReportSettings{}, bad);
    EXPECT_EQ(a.operating_points.size(), 1u);
    EXPECT_NE(a.text.find("no val split to choose thresholds on"), std::string::npos) << a.text;
    EXPECT_EQ(json::parse(metrics_json(a)).find("operating_points")->find("chosen_on")->type,
              json::Value::Type::NUL);
}

TEST(EvaluationReport, ComparisonPairsImagesByPath) {
    EvalResult a = synthetic(20, 10), b = synthetic(20, 11);
    // b lost two images and lists the rest in another order.
    b.paths.erase(b.paths.begin(), b.paths.begin() + 2);
    b.prob.erase(b.prob.begin(), b.prob.begin() + 2);
    b.label.erase(b.label.begin(), b.label.begin() + 2);
    std::reverse(b.paths.begin(), b.paths.end());
    std::reverse(b.prob.begin(), b.prob.end());
    std::reverse(b.label.begin(), b.label.end());
    int64_t n = 0;
    const PairedDelong t = compare_evaluations(a, b, n);
    EXPECT_EQ(n, 18);
    std::vector<double> sa(a.prob.begin() + 2, a.prob.end()), sb(b.prob.rbegin(), b.prob.rend());
    std::vector<int> y(a.label.begin() + 2, a.label.end());
    const PairedDelong want = delong_paired_test(sa, sb, y);
    EXPECT_EQ(t.difference, want.difference);
    EXPECT_EQ(t.p_value, want.p_value);
}

TEST(SubgroupTags, FromSampleMetadataWithAgeBands) {
    Sample s;
    s.metadata = {{"sex", "F"}, {"age", "63"}, {"projection", "AP"}, {"view", "frontal"}};
    EXPECT_EQ(subgroup_tags(s),
              (std::vector<std::string>{"sex=F", "age=60-79", "projection=AP", "view=frontal"}));
    s.metadata = {{"age", "058Y"}};
    EXPECT_EQ(subgroup_tags(s), (std::vector<std::string>{"age=40-59"}));
    EXPECT_TRUE(subgroup_tags(Sample{}).empty());
}

TEST(DecisionSettings, RoundTripStoreAndBadValues) {
    DecisionSettings s;
    s.has_temperature = true;
    s.temperature = 1.3125;
    s.has_threshold = true;
    s.threshold = 0.4375;
    s.threshold_rule = "youden on val";
    std::map<std::string, std::string> meta;
    write_decision_settings(s, meta);
    const DecisionSettings r = read_decision_settings(meta, "w.safetensors");
    EXPECT_EQ(r.temperature, s.temperature);
    EXPECT_EQ(r.threshold, s.threshold);
    EXPECT_EQ(r.threshold_rule, s.threshold_rule);
    EXPECT_TRUE(r.has_temperature && r.has_threshold);
    const DecisionSettings none = read_decision_settings({}, "w.safetensors");
    EXPECT_FALSE(none.has_temperature || none.has_threshold);
    EXPECT_EQ(none.temperature, 1);
    EXPECT_EQ(none.threshold, 0.5);
    for (auto [key, value] : {std::pair<const char*, const char*>{"effnet.temperature", "0"},
                              {"effnet.temperature", "-1"},
                              {"effnet.temperature", "nan"},
                              {"effnet.temperature", "2000"},
                              {"effnet.threshold", "1.5"},
                              {"effnet.threshold", "x"}}) {
        try {
            read_decision_settings({{key, value}}, "w.safetensors");
            ADD_FAILURE() << key << " = " << value << " was accepted";
        } catch (const IoError& e) {
            EXPECT_NE(std::string(e.what()).find(
                          std::string("w.safetensors: checkpoint metadata '") + key),
                      std::string::npos)
                << e.what();
        }
    }
    // Stored into a file: the tensors and other metadata stay, the CRC still holds.
    const fs::path p = fs::temp_directory_path() / "effnet_decision_settings.safetensors";
    const std::vector<float> w = {1, 2, 3};
    write_safetensors(p.string(), {{"w", DType::FLOAT32, {3}, w.data()}},
                      {{"effnet.arch", "efficientnet_b0"}});
    store_decision_settings(p.string(), s);
    const SafetensorsFile f = read_safetensors(p.string());
    EXPECT_EQ(f.metadata.at("effnet.arch"), "efficientnet_b0");
    EXPECT_EQ(read_decision_settings(f.metadata, p.string()).threshold, 0.4375);
    ASSERT_TRUE(f.find("w"));
    EXPECT_EQ(f.find("w")->bytes.size(), 12u);
}
