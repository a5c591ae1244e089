// Mixup's pieces (data/mixup.h): lambda ~ Beta(alpha, alpha), drawn from
// (seed, step) alone; the batch blended with itself reversed; the partners'
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
// uniform. 20,000 draws: standard errors of about 0.003 (mean) and 0.001-0.002
// (variance); the tolerances are several of them.
TEST(Mixup, LambdaFollowsBetaAlphaAlpha) {
    for (double alpha : {0.2, 0.4, 1.0}) {
        const Moments m = lambda_moments(alpha, 20000);
        EXPECT_NEAR(m.mean, 0.5, 0.012) << "alpha " << alpha;
        EXPECT_NEAR(m.var, 1 / (4 * (2 * alpha + 1)), 0.008) << "alpha " << alpha;
    }
    // The uniform case pins the shape, not only two moments.
    EXPECT_NEAR(lambda_moments(1.0, 20000).below_quarter, 0.25, 0.012);
    // A small alpha puts most draws near 0 or 1: P(lambda < 1/4) = 0.414 at
    // 0.2 (the Beta CDF integrated numerically), against 0.25 for uniform.
    EXPECT_NEAR(lambda_moments(0.2, 20000).below_quarter, 0.414, 0.015);
}

TEST(Mixup, LambdaIsAFunctionOfSeedAndStep) {
    EXPECT_EQ(mixup_lambda(0.2, 3, 17), mixup_lambda(0.2, 3, 17));
    EXPECT_NE(mixup_lambda(0.2, 3, 17), mixup_lambda(0.2, 3, 18));
    EXPECT_NE(mixup_lambda(0.2, 3, 17), mixup_lambda(0.2, 4, 17));
    EXPECT_THROW(mixup_lambda(0, 3, 17), ContractError);
    EXPECT_THROW(mixup_lambda(1.5, 3, 17), ContractError);
    EXPECT_THROW(mixup_lambda(NAN, 3, 17), ContractError);
}

TEST(Mixup, BlendsEachImageWithItsMirrorInTheBatch) {
    // 5 images of 2 values: image i holds (i, 10 i).
    std::vector<float> x;
    for (int i = 0; i < 5; ++i) x.insert(x.end(), {float(i), float(10 * i)});
    std::vector<float> mixed = x;
    mix_with_reversed(mixed.data(), 5, 2, 0.75f);
    for (int i = 0; i < 5; ++i)
        for (int p = 0; p < 2; ++p)
            EXPECT_FLOAT_EQ(mixed[size_t(2 * i + p)],
                            0.75f * x[size_t(2 * i + p)] + 0.25f * x[size_t(2 * (4 - i) + p)])
                << "image " << i << " value " << p;
    EXPECT_EQ(mixed[4], 2.0f) << "the middle image of an odd batch is its own partner";
    std::vector<float> same = x, swapped = x;
    mix_with_reversed(same.data(), 5, 2, 1.0f);
    EXPECT_EQ(same, x);
    mix_with_reversed(swapped.data(), 5, 2, 0.0f);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(swapped[size_t(2 * i)], float(4 - i));

    const std::vector<int32_t> labels = {0, 0, 1, 1, 1, 0};
    std::vector<int32_t> partners(6, -1);
    reversed_labels(labels.data(), partners.data(), 6);
    EXPECT_EQ(partners, (std::vector<int32_t>{0, 1, 1, 1, 0, 0}));
}
