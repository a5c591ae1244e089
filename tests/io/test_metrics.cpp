#include <gtest/gtest.h>

#include <cmath>

#include "io/metrics.h"

using namespace effnet;

namespace {
// tn 3, fp 1, fn 2, tp 4 at threshold 0.5.
void fixture(std::vector<double>& p, std::vector<int>& y) {
    y = {0, 0, 0, 0, 1, 1, 1, 1, 1, 1};
    p = {0.1, 0.2, 0.3, 0.9, 0.2, 0.4, 0.6, 0.7, 0.8, 0.95};
}
}  // namespace

// The expected text was worked out by hand from scikit-learn's format strings
// (classification_report, digits=2): see the derivation in the comments.
TEST(ClassificationReport, MatchesScikitLearnLayoutExactly) {
    std::vector<double> p;
    std::vector<int> y;
    fixture(p, y);
    BinaryReport r = binary_report(p, y, 0.5, 0);
    EXPECT_EQ(r.tn, 3);
    EXPECT_EQ(r.fp, 1);
    EXPECT_EQ(r.fn, 2);
    EXPECT_EQ(r.tp, 4);
    // class 0: P 3/5, R 3/4, F1 .667; class 1: P 4/5, R 4/6, F1 .727;
    // macro: .70 .708 .697; weighted (.4/.6): .72 .70 .703
    const std::string want =
        "              precision    recall  f1-score   support\n"
        "\n"
        "           0       0.60      0.75      0.67         4\n"
        "           1       0.80      0.67      0.73         6\n"
        "\n"
        "    accuracy                           0.70        10\n"
        "   macro avg       0.70      0.71      0.70        10\n"
        "weighted avg       0.72      0.70      0.70        10\n";
    EXPECT_EQ(classification_report(r), want);
}

TEST(ClassificationReport, ZeroDivisionGivesZero) {
    BinaryReport r =
        binary_report({0.1, 0.2, 0.3}, {0, 1, 1}, 0.5, 0);  // nothing predicted positive
    EXPECT_EQ(r.cls[1].precision, 0.0);
    EXPECT_EQ(r.cls[1].f1, 0.0);
    EXPECT_NE(classification_report(r).find("0.00"), std::string::npos);
}

TEST(Auroc, KnownValuesTiesAndOneClass) {
    EXPECT_DOUBLE_EQ(auroc({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1}),
                     0.75);  // scikit-learn's roc_auc_score example
    EXPECT_DOUBLE_EQ(auroc({0.5, 0.5}, {0, 1}), 0.5);
    EXPECT_DOUBLE_EQ(auroc({0.2, 0.9, 0.1}, {1, 1, 0}), 1.0);
    EXPECT_TRUE(std::isnan(auroc({0.2, 0.3}, {1, 1})));
}

TEST(Auroc, BootstrapIntervalContainsTheEstimate) {
    std::vector<double> p;
    std::vector<int> y;
    for (int i = 0; i < 200; ++i) {
        y.push_back(i % 2);
        p.push_back(0.3 * (i % 2) + 0.7 * std::fmod(i * 0.6180339887, 1.0));
    }
    BinaryReport r = binary_report(p, y, 0.5, 500, 3);
    EXPECT_LT(r.auroc_lo, r.auroc);
    EXPECT_GT(r.auroc_hi, r.auroc);
    EXPECT_LT(r.auroc_hi - r.auroc_lo, 0.3);
    BinaryReport again = binary_report(p, y, 0.5, 500, 3);
    EXPECT_EQ(r.auroc_lo, again.auroc_lo);  // seeded
}

TEST(Threshold, YoudenPicksTheSeparatingThreshold) {
    std::vector<double> p = {0.1, 0.2, 0.25, 0.3, 0.6, 0.7};
    std::vector<int> y = {0, 0, 0, 1, 1, 1};
    EXPECT_DOUBLE_EQ(youden_threshold(p, y), 0.3);
    BinaryReport r = binary_report(p, y, 0.3, 0);
    EXPECT_DOUBLE_EQ(r.sensitivity, 1.0);
    EXPECT_DOUBLE_EQ(r.specificity, 1.0);
}
