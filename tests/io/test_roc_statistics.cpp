#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "io/metrics.h"
#include "io/operating_point.h"
#include "io/roc_statistics.h"
#include "tensor/error.h"

using namespace effnet;

namespace {
// The hand case: 4 positives and 3 negatives scored by two models, samples
// interleaved so that pairing by sample position is exercised.
//   sample   0    1    2    3    4    5    6
//   label    1    0    1    1    0    0    1
//   model a  0.9  0.6  0.7  0.5  0.3  0.1  0.3
//   model b  0.8  0.5  0.4  0.6  0.2  0.7  0.2
// Placements (psi = 1 above, 1/2 tied), positives in sample order 0 2 3 6,
// negatives 1 4 5:
//   a: V10 = (1, 1, 2/3, 1/2)   V01 = (1/2, 7/8, 1)     AUROC 19/24
//   b: V10 = (1, 1/3, 2/3, 1/6) V01 = (1/2, 7/8, 1/4)   AUROC 13/24
// Deviations from the AUROC, in 24ths:
//   a: V10 (5, 5, -3, -7)   V01 (-7, 2, 5)
//   b: V10 (11, -5, 3, -9)  V01 (-1, 8, -7)
// S10: aa = 108/(576*3) = 1/16, bb = 236/1728, ab = 84/1728
// S01: aa = 78/(576*2) = 13/192, bb = 114/1152, ab = -12/1152
// Var a = S10/4 + S01/3 = 1/64 + 13/576 = 11/288
// Var b = 236/6912 + 114/3456 = 29/432
// Cov   = 84/6912 - 12/3456 = 5/576
// Var(a - b) = 11/288 + 29/432 - 10/576 = 19/216; d = 6/24 = 1/4
// z = (1/4) / sqrt(19/216) = 0.842927, p = erfc(z / sqrt 2) = 0.399269.
const std::vector<int> kLabel = {1, 0, 1, 1, 0, 0, 1};
const std::vector<double> kA = {0.9, 0.6, 0.7, 0.5, 0.3, 0.1, 0.3};
const std::vector<double> kB = {0.8, 0.5, 0.4, 0.6, 0.2, 0.7, 0.2};

// psi-sum placements straight from the definition, O(m n): the reference the
// midrank algorithm is checked against.
Placements placements_by_definition(const std::vector<double>& s, const std::vector<int>& y) {
    Placements p;
    std::vector<double> pos, neg;
    for (size_t i = 0; i < s.size(); ++i) (y[i] ? pos : neg).push_back(s[i]);
    auto psi = [](double x, double v) { return x > v ? 1.0 : x == v ? 0.5 : 0.0; };
    for (double x : pos) {
        double sum = 0;
        for (double v : neg) sum += psi(x, v);
        p.v10.push_back(sum / double(neg.size()));
    }
    for (double v : neg) {
        double sum = 0;
        for (double x : pos) sum += psi(x, v);
        p.v01.push_back(sum / double(pos.size()));
    }
    return p;
}
}  // namespace

TEST(Midranks, TiesShareTheirMeanRank) {
    EXPECT_EQ(midranks({3, 1, 2, 2}), (std::vector<double>{4, 1, 2.5, 2.5}));
    EXPECT_EQ(midranks({5, 5, 5}), (std::vector<double>{2, 2, 2}));
    EXPECT_TRUE(midranks({}).empty());
}

TEST(DeLong, PlacementsOfTheHandCase) {
    const Placements a = delong_placements(kA, kLabel), b = delong_placements(kB, kLabel);
    const std::vector<double> a10 = {1, 1, 2.0 / 3, 0.5}, a01 = {0.5, 0.875, 1};
    const std::vector<double> b10 = {1, 1.0 / 3, 2.0 / 3, 1.0 / 6}, b01 = {0.5, 0.875, 0.25};
    ASSERT_EQ(a.v10.size(), 4u);
    ASSERT_EQ(a.v01.size(), 3u);
    for (size_t i = 0; i < 4; ++i) {
        EXPECT_NEAR(a.v10[i], a10[i], 1e-15) << i;
        EXPECT_NEAR(b.v10[i], b10[i], 1e-15) << i;
    }
    for (size_t j = 0; j < 3; ++j) {
        EXPECT_NEAR(a.v01[j], a01[j], 1e-15) << j;
        EXPECT_NEAR(b.v01[j], b01[j], 1e-15) << j;
    }
}

TEST(DeLong, SingleAurocVarianceOfTheHandCase) {
    const DelongAuc a = delong_auroc(kA, kLabel);
    EXPECT_EQ(a.positives, 4);
    EXPECT_EQ(a.negatives, 3);
    EXPECT_NEAR(a.auroc, 19.0 / 24, 1e-15);
    EXPECT_NEAR(a.variance, 11.0 / 288, 1e-15);
    EXPECT_NEAR(a.se, std::sqrt(11.0 / 288), 1e-15);    // 0.195434
    EXPECT_NEAR(a.lo, 19.0 / 24 - kZ95 * a.se, 1e-15);  // 0.408623
    EXPECT_EQ(a.hi, 1.0);                               // 1.17471 clipped
    const DelongAuc b = delong_auroc(kB, kLabel);
    EXPECT_NEAR(b.auroc, 13.0 / 24, 1e-15);
    EXPECT_NEAR(b.variance, 29.0 / 432, 1e-15);
    EXPECT_NEAR(b.lo, 0.033852, 1e-6);
    EXPECT_EQ(b.hi, 1.0);
    EXPECT_DOUBLE_EQ(a.auroc, auroc(kA, kLabel));  // the Mann-Whitney AUROC of io/metrics
}

TEST(DeLong, PairedTestOfTheHandCase) {
    const PairedDelong t = delong_paired_test(kA, kB, kLabel);
    EXPECT_NEAR(t.a.auroc, 19.0 / 24, 1e-15);
    EXPECT_NEAR(t.b.auroc, 13.0 / 24, 1e-15);
    EXPECT_NEAR(t.covariance, 5.0 / 576, 1e-15);
    EXPECT_NEAR(t.difference, 0.25, 1e-15);
    EXPECT_NEAR(t.variance, 19.0 / 216, 1e-15);
    EXPECT_NEAR(t.se, 0.2965855, 1e-7);
    EXPECT_NEAR(t.z, 0.8429272, 1e-7);
    EXPECT_NEAR(t.p_value, 0.3992691, 1e-7);
    EXPECT_NEAR(t.lo, -0.3312969, 1e-7);
    EXPECT_NEAR(t.hi, 0.8312969, 1e-7);
    // Swapping the models flips the sign of the difference only.
    const PairedDelong s = delong_paired_test(kB, kA, kLabel);
    EXPECT_NEAR(s.z, -t.z, 1e-15);
    EXPECT_NEAR(s.p_value, t.p_value, 1e-15);
    EXPECT_NEAR(s.lo, -t.hi, 1e-15);
}

// A second case by hand, where one model separates perfectly: labels
// (0, 0, 1, 1, 1), model A (0.1, 0.2, 0.6, 0.7, 0.8), model B
// (0.3, 0.6, 0.2, 0.7, 0.9). A: AUROC 1, all placements equal, variance 0;
// B has V10 = (0, 1, 1), V01 = (2/3, 2/3), AUROC 2/3, S10 = 1/3, S01 = 0,
// variance 1/9; covariance 0, so z = (1/3) / (1/3) = 1, p = erfc(1/sqrt 2).
TEST(DeLong, PairedTestAgainstAPerfectModel) {
    const std::vector<int> y = {0, 0, 1, 1, 1};
    const PairedDelong t =
        delong_paired_test({0.1, 0.2, 0.6, 0.7, 0.8}, {0.3, 0.6, 0.2, 0.7, 0.9}, y);
    EXPECT_NEAR(t.a.auroc, 1.0, 1e-15);
    EXPECT_NEAR(t.a.variance, 0.0, 1e-15);
    EXPECT_NEAR(t.b.auroc, 2.0 / 3, 1e-15);
    EXPECT_NEAR(t.b.variance, 1.0 / 9, 1e-15);
    EXPECT_NEAR(t.covariance, 0.0, 1e-15);
    EXPECT_NEAR(t.z, 1.0, 1e-14);
    EXPECT_NEAR(t.p_value, 0.3173105, 1e-7);
}

// Hanley & McNeil (1982), "The meaning and use of the area under a receiver
// operating characteristic (ROC) curve", Radiology 143:29-36, whose example
// has CT images rated 1
// (definitely normal) to 5 (definitely abnormal); 58 normal with counts
// (33, 6, 6, 11, 2), 51 abnormal with (3, 2, 2, 11, 33). Published area 0.893.
TEST(DeLong, AurocOfHanleyMcNeilRatings) {
    std::vector<double> s;
    std::vector<int> y;
    const int normal[5] = {33, 6, 6, 11, 2}, abnormal[5] = {3, 2, 2, 11, 33};
    for (int r = 0; r < 5; ++r) {
        for (int i = 0; i < normal[r]; ++i) s.push_back(r + 1), y.push_back(0);
        for (int i = 0; i < abnormal[r]; ++i) s.push_back(r + 1), y.push_back(1);
    }
    const DelongAuc d = delong_auroc(s, y);
    EXPECT_EQ(d.positives, 51);
    EXPECT_EQ(d.negatives, 58);
    EXPECT_NEAR(d.auroc, 0.893, 5e-4);
    EXPECT_GT(d.lo, 0.8);
    EXPECT_LT(d.hi, 0.96);
}

// The midrank algorithm agrees with the O(m n) definition on random scores
// with many ties, and its AUROC with io/metrics' Mann-Whitney AUROC.
TEST(DeLong, FastPlacementsMatchTheDefinition) {
    std::mt19937_64 gen(42);
    for (int n : {5, 37, 300}) {
        std::vector<double> s(static_cast<size_t>(n));
        std::vector<int> y(static_cast<size_t>(n));
        for (int i = 0; i < n; ++i) {
            y[size_t(i)] = int(gen() % 3 == 0);
            s[size_t(i)] = double(gen() % 20) / 20 + 0.1 * y[size_t(i)];  // ties across classes
        }
        y[0] = 1;
        y[1] = 0;
        const Placements fast = delong_placements(s, y), ref = placements_by_definition(s, y);
        ASSERT_EQ(fast.v10.size(), ref.v10.size());
        ASSERT_EQ(fast.v01.size(), ref.v01.size());
        for (size_t i = 0; i < ref.v10.size(); ++i) EXPECT_NEAR(fast.v10[i], ref.v10[i], 1e-12);
        for (size_t j = 0; j < ref.v01.size(); ++j) EXPECT_NEAR(fast.v01[j], ref.v01[j], 1e-12);
        EXPECT_NEAR(delong_auroc(s, y).auroc, auroc(s, y), 1e-12) << n;
    }
}

TEST(DeLong, IdenticalModelsAndTooFewSamples) {
    const PairedDelong same = delong_paired_test(kA, kA, kLabel);
    EXPECT_EQ(same.difference, 0.0);
    EXPECT_EQ(same.variance, 0.0);
    EXPECT_EQ(same.z, 0.0);
    EXPECT_EQ(same.p_value, 1.0);
    // One positive: an AUROC, but no variance.
    const DelongAuc one = delong_auroc({0.9, 0.2, 0.4}, {1, 0, 0});
    EXPECT_EQ(one.auroc, 1.0);
    EXPECT_TRUE(std::isnan(one.variance) && std::isnan(one.lo) && std::isnan(one.hi));
    // One class: nothing.
    EXPECT_TRUE(std::isnan(delong_auroc({0.9, 0.2}, {0, 0}).auroc));
    EXPECT_TRUE(std::isnan(delong_paired_test({0.9, 0.2}, {0.1, 0.3}, {1, 1}).p_value));
    EXPECT_THROW(delong_paired_test({0.9, 0.2}, {0.1}, {1, 0}), ContractError);
    EXPECT_THROW(delong_auroc({0.9, NAN}, {1, 0}), ContractError);
}

TEST(DeLong, TwoSidedP) {
    EXPECT_NEAR(two_sided_p(kZ95), 0.05, 1e-12);
    EXPECT_NEAR(two_sided_p(-kZ95), 0.05, 1e-12);
    EXPECT_EQ(two_sided_p(0.0), 1.0);
}

// Either interval on request; the bootstrap one is io/metrics' seeded one.
TEST(AurocInterval, DelongOrBootstrap) {
    std::mt19937_64 gen(9);
    std::vector<double> s(200);
    std::vector<int> y(200);
    for (size_t i = 0; i < s.size(); ++i) {
        y[i] = int(i % 3 == 0);
        s[i] = double(gen() % 1000) / 1000 + 0.3 * y[i];
    }
    const AurocEstimate d = auroc_with_interval(s, y, AurocInterval::DELONG);
    const DelongAuc ref = delong_auroc(s, y);
    EXPECT_EQ(d.method, AurocInterval::DELONG);
    EXPECT_EQ(d.auroc, ref.auroc);
    EXPECT_EQ(d.lo, ref.lo);
    EXPECT_EQ(d.hi, ref.hi);
    const AurocEstimate b = auroc_with_interval(s, y, AurocInterval::BOOTSTRAP, 300, 5);
    double lo, hi;
    auroc_bootstrap(s, y, 300, 5, lo, hi);
    EXPECT_EQ(b.method, AurocInterval::BOOTSTRAP);
    EXPECT_EQ(b.lo, lo);
    EXPECT_EQ(b.hi, hi);
    EXPECT_EQ(b.auroc, d.auroc);
    // Two estimates of one sampling spread: their widths agree to within 30%.
    EXPECT_NEAR((b.hi - b.lo) / (d.hi - d.lo), 1.0, 0.3);
}
