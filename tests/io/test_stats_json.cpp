#include <gtest/gtest.h>

#include <cmath>

#include "io/json.h"
#include "io/stats_json.h"

using namespace effnet;

namespace {
double num(const json::Value& v, const char* key) {
    const json::Value* m = v.find(key);
    EXPECT_NE(m, nullptr) << key;
    EXPECT_EQ(m->type, json::Value::Type::NUMBER) << key;
    return m ? m->number : NAN;
}
}  // namespace

// Every object parses as strict JSON and carries the numbers of its result
// (to the 6 significant digits written); NaN becomes null.
TEST(StatsJson, ProportionAndOperatingPoint) {
    const json::Value p = json::parse(proportion_json(wilson_interval(81, 263)));
    EXPECT_EQ(num(p, "k"), 81);
    EXPECT_EQ(num(p, "n"), 263);
    EXPECT_NEAR(num(p, "value"), 81.0 / 263, 1e-6);
    const json::Value* ci = p.find("ci95");
    ASSERT_NE(ci, nullptr);
    ASSERT_EQ(ci->items.size(), 2u);
    EXPECT_NEAR(ci->items[0].number, 0.255289, 1e-6);
    EXPECT_EQ(json::parse(proportion_json(wilson_interval(0, 0))).find("value")->type,
              json::Value::Type::NUL);

    const OperatingPoint op = evaluate_operating_point({0.9, 0.2, 0.6, 0.1}, {1, 1, 0, 0}, 0.5,
                                                       parse_operating_point("spec=0.95"));
    const json::Value o = json::parse(operating_point_json(op));
    EXPECT_EQ(o.find("rule")->text, "spec=0.95");
    EXPECT_EQ(num(o, "threshold"), 0.5);
    EXPECT_EQ(num(o, "tp"), 1);
    EXPECT_EQ(num(o, "fn"), 1);
    EXPECT_EQ(num(o, "fp"), 1);
    EXPECT_EQ(num(o, "tn"), 1);
    EXPECT_EQ(num(*o.find("npv"), "k"), 1);
    EXPECT_EQ(num(*o.find("sensitivity"), "value"), 0.5);
}

TEST(StatsJson, CalibrationAndTemperature) {
    const CalibrationReport r =
        calibration_report({0.90, 0.90, 0.90, 0.25, 0.25, 0.65, 0.55, 0.05, 0.48, 0.52},
                           {1, 1, 0, 0, 1, 1, 0, 0, 1, 1});
    const json::Value c = json::parse(calibration_json(r));
    EXPECT_EQ(num(c, "n"), 10);
    EXPECT_EQ(num(c, "bins"), 15);
    EXPECT_NEAR(num(c, "ece"), 0.219, 1e-9);
    EXPECT_NEAR(num(c, "ece_positive_class"), 0.315, 1e-9);
    EXPECT_NEAR(num(c, "brier"), 0.23833, 1e-9);
    const json::Value* bins = c.find("reliability");
    ASSERT_NE(bins, nullptr);
    ASSERT_EQ(bins->items.size(), 15u);
    EXPECT_EQ(num(bins->items[3], "count"), 2);
    EXPECT_EQ(num(bins->items[3], "mean_confidence"), 0.25);
    EXPECT_EQ(bins->items[4].find("observed")->type, json::Value::Type::NUL);  // empty bin
    EXPECT_EQ(c.find("reliability_top_label")->items.size(), 15u);

    TemperatureFit f;
    f.temperature = 1.5;
    f.nll_before = 0.6;
    f.nll_after = 0.5;
    f.evaluations = 33;
    const json::Value t = json::parse(temperature_json(f));
    EXPECT_EQ(num(t, "temperature"), 1.5);
    EXPECT_EQ(num(t, "evaluations"), 33);
    EXPECT_EQ(t.find("at_bracket_edge")->type, json::Value::Type::BOOL);
    EXPECT_FALSE(t.find("at_bracket_edge")->boolean);
}

TEST(StatsJson, DelongAndSubgroups) {
    const std::vector<int> y = {1, 0, 1, 1, 0, 0, 1};
    const PairedDelong t = delong_paired_test({0.9, 0.6, 0.7, 0.5, 0.3, 0.1, 0.3},
                                              {0.8, 0.5, 0.4, 0.6, 0.2, 0.7, 0.2}, y);
    const json::Value d = json::parse(paired_delong_json(t));
    EXPECT_NEAR(num(d, "difference"), 0.25, 1e-9);
    EXPECT_NEAR(num(d, "z"), 0.842927, 1e-6);
    EXPECT_NEAR(num(d, "p_value"), 0.399269, 1e-6);
    EXPECT_NEAR(num(*d.find("a"), "auroc"), 19.0 / 24, 1e-6);
    EXPECT_EQ(d.find("a")->find("method")->text, "delong");
    EXPECT_EQ(num(*d.find("b"), "positives"), 4);
    EXPECT_EQ(d.find("ci95")->items.size(), 2u);

    const auto groups = subgroup_report({0.9, 0.2}, {1, 0}, {{"sex=F"}, {"sex=F"}}, 0.5);
    const json::Value s = json::parse(subgroups_json(groups));
    ASSERT_EQ(s.type, json::Value::Type::ARRAY);
    ASSERT_EQ(s.items.size(), 1u);
    const json::Value& g = s.items[0];
    EXPECT_EQ(g.find("group")->text, "sex=F");
    EXPECT_EQ(num(g, "n"), 2);
    EXPECT_EQ(g.find("auroc")->type, json::Value::Type::NUL);
    ASSERT_EQ(g.find("too_small")->items.size(), 3u);
    EXPECT_EQ(g.find("too_small")->items[0].text, "auroc");
    EXPECT_EQ(num(*g.find("sensitivity"), "k"), 1);  // counts survive the floor
}
