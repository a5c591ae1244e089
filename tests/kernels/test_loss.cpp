#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "common/gpu_test.h"
#include "common/gradcheck.h"
#include "kernels/loss.h"

using namespace effnet;
using namespace effnet::test;

TEST(SoftmaxCrossEntropy, KnownValue) {
    std::vector<double> z = {0, 0, 1000, 0}, p(4), loss(1);  // huge logit: must not overflow
    std::vector<int32_t> y = {1, 0};
    cpu::softmax_cross_entropy_forward(z.data(), y.data(), p.data(), loss.data(), 2, 2, 0.0,
                                       nullptr);
    // sample 0: logits (0, 0), label 1 -> log 2; sample 1: (1000, 0), label 0 -> 0
    EXPECT_NEAR(loss[0], std::log(2.0) / 2, 1e-12);
    EXPECT_NEAR(p[2], 1.0, 1e-12);
}

TEST(SoftmaxCrossEntropy, BackwardMatchesFiniteDifferences) {
    const int64_t n = 4, k = 3;
    auto z = random_vector(n * k, 61, -3, 3);
    std::vector<int32_t> y = {0, 2, 1, 2};
    std::vector<double> p(n * k), loss(1), dz(n * k);
    cpu::softmax_cross_entropy_forward(z.data(), y.data(), p.data(), loss.data(), n, k, 0.0,
                                       nullptr);
    cpu::softmax_cross_entropy_backward(p.data(), y.data(), dz.data(), n, k, 0.0, nullptr);
    auto num = numeric_gradient(z, [&](const std::vector<double>& zv) {
        std::vector<double> pv(n * k), lv(1);
        cpu::softmax_cross_entropy_forward(zv.data(), y.data(), pv.data(), lv.data(), n, k, 0.0,
                                           nullptr);
        return lv[0];
    });
    EXPECT_LT(gradient_error(dz, num), kGradTolerance);
}

TEST(SoftmaxCrossEntropy, RejectsOutOfRangeLabel) {
    std::vector<float> z(4), p(4), loss(1);
    std::vector<int32_t> y = {0, 2};
    EXPECT_THROW(cpu::softmax_cross_entropy_forward(z.data(), y.data(), p.data(), loss.data(), 2, 2,
                                                    0.0, nullptr),
                 ContractError);
}

TEST(BceWithLogits, KnownValueAndGradient) {
    const int64_t n = 5;
    auto z = random_vector(n, 62, -30, 30);
    std::vector<int32_t> y = {0, 1, 1, 0, 1};
    std::vector<double> p(n), loss(1), dz(n);
    cpu::bce_with_logits_forward(z.data(), y.data(), p.data(), loss.data(), n, 0.0, nullptr);
    double want = 0;
    // -log sigmoid(z) = log1p(e^-z) and -log(1 - sigmoid(z)) = log1p(e^z), written independently of the kernel.
    for (int64_t i = 0; i < n; ++i)
        want += y[i] ? std::log1p(std::exp(-z[i])) : std::log1p(std::exp(z[i]));
    EXPECT_NEAR(loss[0], want / n, 1e-9);
    cpu::bce_with_logits_backward(p.data(), y.data(), dz.data(), n, 0.0, nullptr);
    auto num = numeric_gradient(z, [&](const std::vector<double>& zv) {
        std::vector<double> pv(n), lv(1);
        cpu::bce_with_logits_forward(zv.data(), y.data(), pv.data(), lv.data(), n, 0.0, nullptr);
        return lv[0];
    });
    EXPECT_LT(gradient_error(dz, num), kGradTolerance);
}

// Label smoothing: the target is (1 - eps) onehot(y) + eps / K (softmax) or
// (1 - eps) y + eps / 2 (BCE). The loss is checked against the cross-entropy
// of that target written out here, the gradient against finite differences.
TEST(LabelSmoothing, SoftmaxLossIsTheCrossEntropyOfTheSmoothedTargetAndItsGradient) {
    const int64_t n = 5, k = 3;
    const double eps = 0.1;
    auto z = random_vector(n * k, 63, -4, 4);
    std::vector<int32_t> y = {0, 2, 1, 1, 0};
    std::vector<double> p(n * k), loss(1), dz(n * k);
    cpu::softmax_cross_entropy_forward(z.data(), y.data(), p.data(), loss.data(), n, k, eps,
                                       nullptr);
    double want = 0;
    for (int64_t i = 0; i < n; ++i) {
        double den = 0;
        for (int64_t j = 0; j < k; ++j) den += std::exp(z[size_t(i * k + j)]);
        for (int64_t j = 0; j < k; ++j) {
            const double q = (j == y[size_t(i)] ? 1 - eps : 0) + eps / double(k);
            want -= q * (z[size_t(i * k + j)] - std::log(den));
        }
    }
    EXPECT_NEAR(loss[0], want / double(n), 1e-12);
    cpu::softmax_cross_entropy_backward(p.data(), y.data(), dz.data(), n, k, eps, nullptr);
    auto num = numeric_gradient(z, [&](const std::vector<double>& zv) {
        std::vector<double> pv(n * k), lv(1);
        cpu::softmax_cross_entropy_forward(zv.data(), y.data(), pv.data(), lv.data(), n, k, eps,
                                           nullptr);
        return lv[0];
    });
    EXPECT_LT(gradient_error(dz, num), kGradTolerance);
    // Smoothing raises the loss of a confident, correct prediction: no zero loss any more.
    std::vector<double> zc = {20, -20}, pc(2), lc(1);
    std::vector<int32_t> yc = {0};
    cpu::softmax_cross_entropy_forward(zc.data(), yc.data(), pc.data(), lc.data(), 1, 2, eps,
                                       nullptr);
    EXPECT_NEAR(
        lc[0],
        (1 - eps / 2) * std::log1p(std::exp(-40.0)) + eps / 2 * (40 + std::log1p(std::exp(-40.0))),
        1e-9);
}

TEST(LabelSmoothing, BceLossAndGradient) {
    const int64_t n = 6;
    const double eps = 0.2;
    auto z = random_vector(n, 64, -20, 20);
    std::vector<int32_t> y = {0, 1, 1, 0, 1, 0};
    std::vector<double> p(n), loss(1), dz(n);
    cpu::bce_with_logits_forward(z.data(), y.data(), p.data(), loss.data(), n, eps, nullptr);
    double want = 0;
    for (int64_t i = 0; i < n; ++i) {
        const double t = (1 - eps) * y[size_t(i)] + eps / 2, zi = z[size_t(i)];
        want += t * std::log1p(std::exp(-zi)) + (1 - t) * std::log1p(std::exp(zi));
    }
    EXPECT_NEAR(loss[0], want / double(n), 1e-9);
    cpu::bce_with_logits_backward(p.data(), y.data(), dz.data(), n, eps, nullptr);
    auto num = numeric_gradient(z, [&](const std::vector<double>& zv) {
        std::vector<double> pv(n), lv(1);
        cpu::bce_with_logits_forward(zv.data(), y.data(), pv.data(), lv.data(), n, eps, nullptr);
        return lv[0];
    });
    EXPECT_LT(gradient_error(dz, num), kGradTolerance);
}

TEST(LabelSmoothing, OutOfRangeSmoothingIsRefused) {
    Context ctx;
    Tensor z = Tensor::zeros(Shape{2, 2}), p = Tensor::empty(Shape{2, 2}),
           l = Tensor::empty(Shape{1});
    Tensor y = Tensor::zeros(Shape{2}, Device::CPU, DType::INT32);
    EXPECT_THROW(softmax_cross_entropy_forward(z, y, p, l, ctx, 1.0f), ContractError);
    EXPECT_THROW(softmax_cross_entropy_backward(p, y, p, ctx, -0.1f), ContractError);
}

// ---- GPU vs the CPU reference (helpers and tolerances: common/gpu_test.h) ----
// Softmax cross-entropy and BCE, several batch sizes.

TEST(LossGpu, CrossEntropyAndBceMatchCpu) {
    EFFNET_REQUIRE_GPU();
    Context g(Device::CUDA), c;
    for (const float eps : {0.0f, 0.1f})
        for (int64_t n : {1, 7, 32, 300}) {
            Tensor z = random_tensor(Shape{n, 2}, 21, -5, 5),
                   labels = Tensor::empty(Shape{n}, Device::CPU, DType::INT32);
            for (int64_t i = 0; i < n; ++i) labels.i32()[i] = int32_t((i * 7) % 2);
            Tensor p = Tensor::empty(Shape{n, 2}), l = Tensor::empty(Shape{1}),
                   dz = Tensor::empty(Shape{n, 2});
            const float loss = softmax_cross_entropy_forward(z, labels, p, l, c, eps);
            softmax_cross_entropy_backward(p, labels, dz, c, eps);
            Tensor pd = poisoned_gpu(Shape{n, 2}), ld = poisoned_gpu(Shape{1}),
                   dzd = poisoned_gpu(Shape{n, 2}), labd = labels.to(Device::CUDA);
            const float lossd = softmax_cross_entropy_forward(to_gpu(z), labd, pd, ld, g, eps);
            softmax_cross_entropy_backward(pd, labd, dzd, g, eps);
            EXPECT_NEAR(lossd, loss, 1e-6 * std::max(1.0f, loss))
                << "n=" << n << " smoothing " << eps;
            expect_close(pd, p, "probabilities", kOpTolerance);
            expect_close(dzd, dz, "logit gradient", kOpTolerance);
            Tensor zb = random_tensor(Shape{n, 1}, 22, -30, 30), pb = Tensor::empty(Shape{n, 1}),
                   db = Tensor::empty(Shape{n, 1});
            const float bl = bce_with_logits_forward(zb, labels, pb, l, c, eps);
            bce_with_logits_backward(pb, labels, db, c, eps);
            Tensor pbd = poisoned_gpu(Shape{n, 1}), dbd = poisoned_gpu(Shape{n, 1});
            EXPECT_NEAR(bce_with_logits_forward(to_gpu(zb), labd, pbd, ld, g, eps), bl,
                        1e-6 * std::max(1.0f, bl));
            bce_with_logits_backward(pbd, labd, dbd, g, eps);
            expect_close(dbd, db, "BCE gradient", kOpTolerance);
        }
}
