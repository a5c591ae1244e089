// Mixup's pieces (data/mixup.h): lambda ~ Beta(alpha, alpha), drawn from
// (seed, draw) alone; images paired by position and blended; the partners'
// labels.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "data/mixup.h"
#include "tensor/error.h"

using namespace effnet;

namespace {
struct Moments {
    double mean = 0, var = 0, below_quarter = 0;
};
Moments lambda_moments(double alpha, int steps) {
    Moments m;
    double sum = 0, sq = 0;
    for (int t = 0; t < steps; ++t) {
        const double l = mixup_lambda(alpha, 11, uint64_t(t));
        EXPECT_GE(l, 0.0);
        EXPECT_LE(l, 1.0);
        sum += l;
        sq += l * l;
        m.below_quarter += l < 0.25;
    }
    m.mean = sum / steps;
    m.var = sq / steps - m.mean * m.mean;
    m.below_quarter /= steps;
    return m;
}
}  // namespace

// Beta(a, a) has mean 1/2 and variance 1 / (4 (2a + 1)); Beta(1, 1) is
// uniform. 20,000 draws: standard errors of about 0.003 (mean) and 0.0006
// (variance); the tolerances are 4 and 5 of them.
TEST(Mixup, LambdaFollowsBetaAlphaAlpha) {
    for (double alpha : {0.2, 0.4, 1.0}) {
        const Moments m = lambda_moments(alpha, 20000);
        EXPECT_NEAR(m.mean, 0.5, 0.012) << "alpha " << alpha;
        EXPECT_NEAR(m.var, 1 / (4 * (2 * alpha + 1)), 0.003) << "alpha " << alpha;
    }
    // The uniform case pins the shape, not only two moments.
    EXPECT_NEAR(lambda_moments(1.0, 20000).below_quarter, 0.25, 0.012);
    // A small alpha puts most draws near 0 or 1: P(lambda < 1/4) = 0.414 at
    // 0.2 (the Beta CDF integrated numerically), against 0.25 for uniform.
    EXPECT_NEAR(lambda_moments(0.2, 20000).below_quarter, 0.414, 0.015);
}

TEST(Mixup, LambdaIsAFunctionOfSeedAndDraw) {
    EXPECT_EQ(mixup_lambda(0.2, 3, 17), mixup_lambda(0.2, 3, 17));
    EXPECT_NE(mixup_lambda(0.2, 3, 17), mixup_lambda(0.2, 3, 18));
    EXPECT_NE(mixup_lambda(0.2, 3, 17), mixup_lambda(0.2, 4, 17));
    EXPECT_THROW(mixup_lambda(0, 3, 17), ContractError);
    EXPECT_THROW(mixup_lambda(1.5, 3, 17), ContractError);
    EXPECT_THROW(mixup_lambda(NAN, 3, 17), ContractError);
}

TEST(Mixup, PairsFollowThePositionInTheGlobalBatch) {
    // A whole batch of 5 from position 0: (0, 1), (2, 3), 4 alone.
    const std::vector<int64_t> whole = {1, 0, 3, 2, 4};
    for (int64_t i = 0; i < 5; ++i) EXPECT_EQ(mixup_partner(i, 5, 0), whole[size_t(i)]) << i;
    // A share of 4 from position 3: 3 (partner 2 elsewhere) alone, (4, 5), 6 (partner 7
    // elsewhere) alone.
    const std::vector<int64_t> share = {0, 2, 1, 3};
    for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(mixup_partner(i, 4, 3), share[size_t(i)]) << i;
}

TEST(Mixup, BlendsEachPairAndNamesThePartnersLabels) {
    // 5 images of 2 values: image i holds (i, 10 i).
    std::vector<float> x;
    for (int i = 0; i < 5; ++i) x.insert(x.end(), {float(i), float(10 * i)});
    const std::vector<int32_t> labels = {0, 1, 1, 1, 0};
    std::vector<float> mixed = x;
    std::vector<int32_t> partners(5, -1);
    mix_pairs(mixed.data(), labels.data(), partners.data(), 5, 2, 0, 0.75f);
    for (int64_t i = 0; i < 5; ++i) {
        const int64_t j = mixup_partner(i, 5, 0);
        EXPECT_EQ(partners[size_t(i)], labels[size_t(j)]) << "image " << i;
        for (int64_t p = 0; p < 2; ++p)
            EXPECT_FLOAT_EQ(mixed[size_t(2 * i + p)],
                            0.75f * x[size_t(2 * i + p)] + 0.25f * x[size_t(2 * j + p)])
                << "image " << i << " value " << p;
    }
    EXPECT_EQ(mixed[8], 4.0f) << "an image without a partner stays as it was";
    std::vector<float> same = x, swapped = x;
    mix_pairs(same.data(), labels.data(), partners.data(), 5, 2, 0, 1.0f);
    EXPECT_EQ(same, x);
    mix_pairs(swapped.data(), labels.data(), partners.data(), 5, 2, 0, 0.0f);
    for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(swapped[size_t(2 * i)], float(i ^ 1));
}
