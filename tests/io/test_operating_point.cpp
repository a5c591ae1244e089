#include <gtest/gtest.h>

#include <cmath>

#include "io/metrics.h"
#include "io/operating_point.h"
#include "tensor/error.h"

using namespace effnet;

// Newcombe RG (1998), "Two-sided confidence intervals for the single
// proportion: comparison of seven methods", Statistics in Medicine 17:857-872:
// its illustrative 95% intervals by method 3 (Wilson score, no continuity
// correction), published to 4 decimals.
TEST(Wilson, MatchesNewcombe1998Method3) {
    struct Case {
        int64_t k, n;
        double lo, hi;
    };
    for (const Case& c : {Case{81, 263, 0.2553, 0.3662}, Case{15, 148, 0.0624, 0.1605},
                          Case{0, 20, 0.0000, 0.1611}, Case{1, 29, 0.0061, 0.1718}}) {
        const Proportion p = wilson_interval(c.k, c.n);
        EXPECT_NEAR(p.lo, c.lo, 5e-5) << c.k << "/" << c.n;
        EXPECT_NEAR(p.hi, c.hi, 5e-5) << c.k << "/" << c.n;
        EXPECT_DOUBLE_EQ(p.value, double(c.k) / double(c.n));
        EXPECT_EQ(p.k, c.k);
        EXPECT_EQ(p.n, c.n);
    }
}

// Closed forms of the score interval at the ends: k = 0 gives
// [0, z^2 / (n + z^2)], k = n gives [n / (n + z^2), 1]; and the interval of
// n - k is the mirror image of that of k.
TEST(Wilson, EndsAndSymmetryByHand) {
    const double z2 = kZ95 * kZ95;
    const Proportion none = wilson_interval(0, 10), all = wilson_interval(10, 10);
    EXPECT_EQ(none.lo, 0.0);
    EXPECT_NEAR(none.hi, z2 / (10 + z2), 1e-15);  // 0.27754
    EXPECT_NEAR(all.lo, 10 / (10 + z2), 1e-15);   // 0.72247
    EXPECT_EQ(all.hi, 1.0);
    for (int64_t k = 0; k <= 13; ++k) {
        const Proportion a = wilson_interval(k, 13), b = wilson_interval(13 - k, 13);
        EXPECT_NEAR(a.lo, 1 - b.hi, 1e-15) << k;
        EXPECT_LT(a.lo, a.value + 1e-15);
        EXPECT_GT(a.hi, a.value - 1e-15);
    }
    const Proportion half = wilson_interval(5, 10);
    EXPECT_NEAR(half.lo + half.hi, 1.0, 1e-15);
    const Proportion empty = wilson_interval(0, 0);
    EXPECT_TRUE(std::isnan(empty.value) && std::isnan(empty.lo) && std::isnan(empty.hi));
    EXPECT_THROW(wilson_interval(3, 2), ContractError);
}

TEST(OperatingPointSpec, ParsesAndPrints) {
    OperatingPointSpec s = parse_operating_point("sens=0.90");
    EXPECT_EQ(s.rule, OperatingRule::SENSITIVITY);
    EXPECT_EQ(s.target, 0.9);
    EXPECT_EQ(to_string(s), "sens=0.9");
    s = parse_operating_point(" specificity = 0.95 ");
    EXPECT_EQ(s.rule, OperatingRule::SPECIFICITY);
    EXPECT_EQ(s.target, 0.95);
    EXPECT_EQ(to_string(s), "spec=0.95");
    EXPECT_EQ(parse_operating_point("youden").rule, OperatingRule::YOUDEN);
    s = parse_operating_point("threshold=0.25");
    EXPECT_EQ(s.rule, OperatingRule::FIXED);
    EXPECT_EQ(s.target, 0.25);
    EXPECT_EQ(to_string(parse_operating_point(to_string(s))).c_str(),
              std::string("threshold=0.25"));
    for (const char* bad : {"sens", "sens=", "sens=abc", "sens=0.9x", "sens=0", "sens=1.5",
                            "spec=-0.1", "ppv=0.9", "", "youden=1", "threshold=nan"})
        EXPECT_THROW(parse_operating_point(bad), ContractError) << "'" << bad << "'";
}

namespace {
// The choosing set, ten positives and ten negatives, with scores tied across
// the classes at 0.3 and 0.1.
void choosing_set(std::vector<double>& p, std::vector<int>& y) {
    p = {0.95, 0.9,  0.8, 0.7,  0.6, 0.55, 0.4, 0.35, 0.3, 0.1,    // positives
         0.85, 0.65, 0.5, 0.45, 0.3, 0.25, 0.2, 0.15, 0.1, 0.05};  // negatives
    y.assign(20, 0);
    for (int i = 0; i < 10; ++i) y[size_t(i)] = 1;
}
}  // namespace

// Worked by hand on the choosing set (predicted positive when p >= t):
//   sens=0.90: 9 of 10 positives first reach p >= 0.3 (at 0.35 only 8) -> t = 0.3;
//   sens=0.80: t = 0.35;  sens=1: t = 0.1 (the lowest positive);
//   spec=0.90: 9 of 10 negatives lie below t first for t in (0.65, 0.85];
//              the lowest score there is 0.7 -> t = 0.7;
//   spec=0.95 and spec=1: all 10 negatives below t needs t > 0.85 -> t = 0.9.
TEST(OperatingPoint, ThresholdsForTargetsWorkedByHand) {
    std::vector<double> p;
    std::vector<int> y;
    choosing_set(p, y);
    auto t = [&](const char* spec) { return choose_threshold(p, y, parse_operating_point(spec)); };
    EXPECT_EQ(t("sens=0.90"), 0.3);
    EXPECT_EQ(t("sens=0.80"), 0.35);
    EXPECT_EQ(t("sens=0.85"), 0.3);
    EXPECT_EQ(t("sens=1"), 0.1);
    EXPECT_EQ(t("spec=0.90"), 0.7);
    EXPECT_EQ(t("spec=0.95"), 0.9);
    EXPECT_EQ(t("spec=1"), 0.9);
    EXPECT_EQ(t("threshold=0.42"), 0.42);
    EXPECT_EQ(t("youden"), youden_threshold(p, y));
    // On the choosing set itself the targets are met.
    const OperatingPoint s90 = evaluate_operating_point(p, y, t("sens=0.90"));
    EXPECT_EQ(s90.tp, 9);
    EXPECT_EQ(s90.fp, 5);  // 0.85 0.65 0.5 0.45 and the tied 0.3
    const OperatingPoint p90 = evaluate_operating_point(p, y, t("spec=0.90"));
    EXPECT_EQ(p90.tn, 9);
    EXPECT_EQ(p90.tp, 4);  // 0.95 0.9 0.8 0.7
}

// Runs of tied scores decide together. Negatives 0.1, 0.4, 0.4, 0.4, 0.9 and
// positives 0.3, 0.6: spec=0.4 needs 2 of 5 negatives below t; t = 0.4 has
// only 1 below it (its own run counts as positive), so t = 0.6 (4 below).
// Positives 0.7, 0.5, 0.5, 0.5, 0.2 with one negative 0.1: sens=0.5 needs 3
// of 5 at or above t, reached inside the 0.5 run -> t = 0.5 (4 above).
TEST(OperatingPoint, TiedScoresDecideTogether) {
    const std::vector<double> p = {0.1, 0.4, 0.4, 0.4, 0.9, 0.3, 0.6};
    const std::vector<int> y = {0, 0, 0, 0, 0, 1, 1};
    const double t = choose_threshold(p, y, parse_operating_point("spec=0.4"));
    EXPECT_EQ(t, 0.6);
    EXPECT_EQ(evaluate_operating_point(p, y, t).tn, 4);
    const std::vector<double> q = {0.7, 0.5, 0.5, 0.5, 0.2, 0.1};
    const std::vector<int> z = {1, 1, 1, 1, 1, 0};
    EXPECT_EQ(choose_threshold(q, z, parse_operating_point("sens=0.5")), 0.5);
    EXPECT_EQ(evaluate_operating_point(q, z, 0.5).tp, 4);
}

// When the highest score is a negative, full specificity needs a threshold
// above every score.
TEST(OperatingPoint, SpecificityTargetBeyondTheTopScore) {
    const std::vector<double> p = {0.2, 0.9};
    const std::vector<int> y = {1, 0};
    const double t = choose_threshold(p, y, parse_operating_point("spec=1"));
    EXPECT_GT(t, 0.9);
    const OperatingPoint op = evaluate_operating_point(p, y, t);
    EXPECT_EQ(op.tn, 1);
    EXPECT_EQ(op.tp, 0);
    EXPECT_THROW(choose_threshold({0.1, 0.2}, {0, 0}, parse_operating_point("sens=0.9")),
                 ContractError);
    EXPECT_THROW(choose_threshold({0.1, 0.2}, {1, 1}, parse_operating_point("spec=0.9")),
                 ContractError);
}

// Chosen on one set, reported on another: the evaluated set at t = 0.3 has
// positives 0.9 0.5 0.3 | 0.2 (tp 3, fn 1) and negatives 0.4 0.31 | 0.29 0.1
// 0.05 (fp 2, tn 3): sensitivity 3/4, specificity 3/5, PPV 3/5, NPV 3/4.
TEST(OperatingPoint, ChosenOnOneSetReportedOnAnother) {
    std::vector<double> cp;
    std::vector<int> cy;
    choosing_set(cp, cy);
    const std::vector<double> p = {0.9, 0.5, 0.3, 0.2, 0.4, 0.31, 0.29, 0.1, 0.05};
    const std::vector<int> y = {1, 1, 1, 1, 0, 0, 0, 0, 0};
    const OperatingPoint op = operating_point(parse_operating_point("sens=0.9"), cp, cy, p, y);
    EXPECT_EQ(op.threshold, 0.3);
    EXPECT_EQ(op.tp, 3);
    EXPECT_EQ(op.fn, 1);
    EXPECT_EQ(op.fp, 2);
    EXPECT_EQ(op.tn, 3);
    EXPECT_EQ(op.sensitivity.k, 3);
    EXPECT_EQ(op.sensitivity.n, 4);
    EXPECT_EQ(op.specificity.n, 5);
    EXPECT_EQ(op.ppv.n, 5);
    EXPECT_EQ(op.npv.n, 4);
    EXPECT_DOUBLE_EQ(op.sensitivity.value, 0.75);
    EXPECT_DOUBLE_EQ(op.specificity.value, 0.6);
    EXPECT_DOUBLE_EQ(op.ppv.value, 0.6);
    EXPECT_DOUBLE_EQ(op.npv.value, 0.75);
    // 3/4 by the score formula: centre (0.75 + 0.4802) / 1.9604, half 0.3268.
    EXPECT_NEAR(op.sensitivity.lo, 0.30064, 1e-5);
    EXPECT_NEAR(op.sensitivity.hi, 0.95441, 1e-5);
    EXPECT_NEAR(op.specificity.lo, 0.23072, 1e-5);
    EXPECT_NEAR(op.specificity.hi, 0.88238, 1e-5);
    EXPECT_EQ(op.spec.rule, OperatingRule::SENSITIVITY);
    const std::string text = operating_point_text(op);
    EXPECT_NE(text.find("operating point sens=0.9: threshold 0.3000"), std::string::npos) << text;
    EXPECT_NE(text.find("sensitivity  0.750 (95% CI 0.301-0.954)  3/4"), std::string::npos) << text;
    EXPECT_NE(text.find("NPV          0.750"), std::string::npos) << text;
}
