#include <gtest/gtest.h>

#include <cmath>

#include "common/gradcheck.h"
#include "kernels/batchnorm.h"

using namespace effnet;
using namespace effnet::test;

TEST(BatchNorm, TrainForwardNormalisesAndUpdatesRunningStats) {
    const int64_t m = 6, c = 2;
    std::vector<double> x = {1, 10, 2, 20, 3, 30, 4, 40, 5, 50, 6, 60};
    std::vector<double> gamma = {2, 1}, beta = {0.5, -1}, y(m * c), mean(c), invstd(c);
    std::vector<double> rm = {0, 0}, rv = {1, 1};
    cpu::batchnorm_train_forward(x.data(), gamma.data(), beta.data(), y.data(), mean.data(), invstd.data(), rm.data(),
                                 rv.data(), m, c, 1e-5, 0.1, nullptr);
    // channel 0: mean 3.5, biased var 35/12, unbiased 3.5
    EXPECT_NEAR(mean[0], 3.5, 1e-12);
    EXPECT_NEAR(invstd[0], 1 / std::sqrt(35.0 / 12 + 1e-5), 1e-12);
    EXPECT_NEAR(rm[0], 0.35, 1e-12);
    EXPECT_NEAR(rv[0], 0.9 + 0.1 * 3.5, 1e-12);
    EXPECT_NEAR(rv[1], 0.9 + 0.1 * 350.0, 1e-9);
    EXPECT_NEAR(y[0], 2 * (1 - 3.5) * invstd[0] + 0.5, 1e-12);
    double s = 0;
    for (int64_t r = 0; r < m; ++r) s += y[r * c + 1];
    EXPECT_NEAR(s / m, -1.0, 1e-12);  // normalised mean is beta
}

TEST(BatchNorm, EvalUsesRunningStats) {
    std::vector<double> x = {3, -1}, gamma = {2, 1}, beta = {1, 0}, rm = {1, 0}, rv = {4, 1}, y(2);
    cpu::batchnorm_eval_forward(x.data(), gamma.data(), beta.data(), rm.data(), rv.data(), y.data(), 1, 2, 0.0, nullptr);
    EXPECT_NEAR(y[0], 2 * (3 - 1) / 2.0 + 1, 1e-12);
    EXPECT_NEAR(y[1], -1, 1e-12);
}

class BatchNormGrad : public ::testing::TestWithParam<std::pair<int64_t, int64_t>> {};

TEST_P(BatchNormGrad, BackwardMatchesFiniteDifferences) {
    const int64_t m = GetParam().first, c = GetParam().second;  // not a structured binding: lambdas capture them
    auto x = random_vector(m * c, 21, -2, 3), gamma = random_vector(c, 22, 0.5, 1.5), beta = random_vector(c, 23);
    auto r = random_vector(m * c, 24);
    std::vector<double> y(m * c), mean(c), invstd(c), dx(m * c, NAN), dgamma(c, 0), dbeta(c, 0);
    cpu::batchnorm_train_forward(x.data(), gamma.data(), beta.data(), y.data(), mean.data(), invstd.data(),
                                 (double*)nullptr, (double*)nullptr, m, c, 1e-5, 0.1, nullptr);
    cpu::batchnorm_backward(x.data(), r.data(), gamma.data(), mean.data(), invstd.data(), dx.data(), dgamma.data(),
                            dbeta.data(), m, c, nullptr);
    auto loss = [&](const std::vector<double>& xv, const std::vector<double>& gv, const std::vector<double>& bv) {
        std::vector<double> yv(m * c), mv(c), iv(c);
        cpu::batchnorm_train_forward(xv.data(), gv.data(), bv.data(), yv.data(), mv.data(), iv.data(),
                                     (double*)nullptr, (double*)nullptr, m, c, 1e-5, 0.1, nullptr);
        return dot(yv, r);
    };
    EXPECT_LT(gradient_error(dx, numeric_gradient(x, [&](const auto& v) { return loss(v, gamma, beta); })), kGradTolerance);
    EXPECT_LT(gradient_error(dgamma, numeric_gradient(gamma, [&](const auto& v) { return loss(x, v, beta); })), kGradTolerance);
    EXPECT_LT(gradient_error(dbeta, numeric_gradient(beta, [&](const auto& v) { return loss(x, gamma, v); })), kGradTolerance);
}

// {rows M = N*H*W, channels}: odd counts, a single channel, channels not a multiple of 8.
INSTANTIATE_TEST_SUITE_P(Shapes, BatchNormGrad,
                         ::testing::Values(std::make_pair(int64_t(10), int64_t(3)), std::make_pair(int64_t(7), int64_t(1)),
                                           std::make_pair(int64_t(25), int64_t(11))));
