#include <gtest/gtest.h>

#include <cmath>

#include "common/gradcheck.h"
#include "kernels/loss.h"

using namespace effnet;
using namespace effnet::test;

TEST(SoftmaxCrossEntropy, KnownValue) {
    std::vector<double> z = {0, 0, 1000, 0}, p(4), loss(1);  // huge logit: must not overflow
    std::vector<int32_t> y = {1, 0};
    cpu::softmax_cross_entropy_forward(z.data(), y.data(), p.data(), loss.data(), 2, 2, nullptr);
    // sample 0: logits (0, 0), label 1 -> log 2; sample 1: (1000, 0), label 0 -> 0
    EXPECT_NEAR(loss[0], std::log(2.0) / 2, 1e-12);
    EXPECT_NEAR(p[2], 1.0, 1e-12);
}

TEST(SoftmaxCrossEntropy, BackwardMatchesFiniteDifferences) {
    const int64_t n = 4, k = 3;
    auto z = random_vector(n * k, 61, -3, 3);
    std::vector<int32_t> y = {0, 2, 1, 2};
    std::vector<double> p(n * k), loss(1), dz(n * k);
    cpu::softmax_cross_entropy_forward(z.data(), y.data(), p.data(), loss.data(), n, k, nullptr);
    cpu::softmax_cross_entropy_backward(p.data(), y.data(), dz.data(), n, k, nullptr);
    auto num = numeric_gradient(z, [&](const std::vector<double>& zv) {
        std::vector<double> pv(n * k), lv(1);
        cpu::softmax_cross_entropy_forward(zv.data(), y.data(), pv.data(), lv.data(), n, k, nullptr);
        return lv[0];
    });
    EXPECT_LT(gradient_error(dz, num), kGradTolerance);
}

TEST(SoftmaxCrossEntropy, RejectsOutOfRangeLabel) {
    std::vector<float> z(4), p(4), loss(1);
    std::vector<int32_t> y = {0, 2};
    EXPECT_THROW(cpu::softmax_cross_entropy_forward(z.data(), y.data(), p.data(), loss.data(), 2, 2, nullptr),
                 ContractError);
}

TEST(BceWithLogits, KnownValueAndGradient) {
    const int64_t n = 5;
    auto z = random_vector(n, 62, -30, 30);
    std::vector<int32_t> y = {0, 1, 1, 0, 1};
    std::vector<double> p(n), loss(1), dz(n);
    cpu::bce_with_logits_forward(z.data(), y.data(), p.data(), loss.data(), n, nullptr);
    double want = 0;
    // -log sigmoid(z) = log1p(e^-z) and -log(1 - sigmoid(z)) = log1p(e^z), written independently of the kernel.
    for (int64_t i = 0; i < n; ++i) want += y[i] ? std::log1p(std::exp(-z[i])) : std::log1p(std::exp(z[i]));
    EXPECT_NEAR(loss[0], want / n, 1e-9);
    cpu::bce_with_logits_backward(p.data(), y.data(), dz.data(), n, nullptr);
    auto num = numeric_gradient(z, [&](const std::vector<double>& zv) {
        std::vector<double> pv(n), lv(1);
        cpu::bce_with_logits_forward(zv.data(), y.data(), pv.data(), lv.data(), n, nullptr);
        return lv[0];
    });
    EXPECT_LT(gradient_error(dz, num), kGradTolerance);
}
