// The loss head with mixup (train/loss_head.h): the mixed loss and gradient
// are those of the mixed target lambda * onehot(a) + (1 - lambda) * onehot(b),
// checked against that formula in double, whose gradient is itself checked
// by central differences.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "common/gradcheck.h"
#include "tensor/error.h"
#include "train/loss_head.h"

using namespace effnet;
using namespace effnet::test;

namespace {
constexpr int64_t kN = 7;
const std::vector<int32_t> kLabelsA = {0, 1, 1, 0, 1, 0, 0}, kLabelsB = {1, 1, 0, 0, 0, 1, 0};

Tensor labels_tensor(const std::vector<int32_t>& v) {
    Tensor t = Tensor::empty(Shape{int64_t(v.size())}, Device::CPU, DType::INT32);
    for (size_t i = 0; i < v.size(); ++i) t.i32()[i] = v[i];
    return t;
}

// Mean over the batch of -sum_j q_j log p_j with q the mixed target: softmax
// over k logits a row, or (k = 1) the binary cross-entropy of one logit.
double mixed_loss(const std::vector<double>& z, int64_t k, double lambda) {
    double total = 0;
    for (int64_t i = 0; i < kN; ++i) {
        const double qa = lambda, qb = 1 - lambda;
        if (k == 1) {
            const double t = qa * kLabelsA[size_t(i)] + qb * kLabelsB[size_t(i)], x = z[size_t(i)];
            total += std::max(x, 0.0) - x * t + std::log1p(std::exp(-std::fabs(x)));
            continue;
        }
        double m = z[size_t(i * k)];
        for (int64_t j = 1; j < k; ++j) m = std::max(m, z[size_t(i * k + j)]);
        double s = 0;
        for (int64_t j = 0; j < k; ++j) s += std::exp(z[size_t(i * k + j)] - m);
        auto log_p = [&](int32_t j) { return z[size_t(i * k + j)] - m - std::log(s); };
        total -= qa * log_p(kLabelsA[size_t(i)]) + qb * log_p(kLabelsB[size_t(i)]);
    }
    return total / kN;
}

// Analytic dL/dz of mixed_loss: (p - q) / N.
std::vector<double> mixed_grad(const std::vector<double>& z, int64_t k, double lambda) {
    std::vector<double> g(z.size());
    for (int64_t i = 0; i < kN; ++i) {
        if (k == 1) {
            const double t = lambda * kLabelsA[size_t(i)] + (1 - lambda) * kLabelsB[size_t(i)];
            g[size_t(i)] = (1 / (1 + std::exp(-z[size_t(i)])) - t) / kN;
            continue;
        }
        double m = z[size_t(i * k)], s = 0;
        for (int64_t j = 1; j < k; ++j) m = std::max(m, z[size_t(i * k + j)]);
        for (int64_t j = 0; j < k; ++j) s += std::exp(z[size_t(i * k + j)] - m);
        for (int64_t j = 0; j < k; ++j) {
            const double q =
                lambda * (kLabelsA[size_t(i)] == j) + (1 - lambda) * (kLabelsB[size_t(i)] == j);
            g[size_t(i * k + j)] = (std::exp(z[size_t(i * k + j)] - m) / s - q) / kN;
        }
    }
    return g;
}
}  // namespace

TEST(LossHeadMixup, TheMixedTargetsFormulaHasTheGradientItClaims) {
    for (int64_t k : {1, 2, 3}) {
        std::vector<double> z(size_t(kN * k));
        const std::vector<float> r = random_floats(z.size(), 21);
        for (size_t i = 0; i < z.size(); ++i) z[i] = 2.0 * r[i];
        const std::vector<double> g = mixed_grad(z, k, 0.3);
        for (size_t i = 0; i < z.size(); ++i) {
            std::vector<double> up = z, down = z;
            up[i] += 1e-6;
            down[i] -= 1e-6;
            const double fd = (mixed_loss(up, k, 0.3) - mixed_loss(down, k, 0.3)) / 2e-6;
            EXPECT_NEAR(g[i], fd, 1e-8) << "k " << k << " logit " << i;
        }
    }
}

// float32 head against the double formula: relative 1e-5 on the loss and
// 1e-5 of the largest gradient (a few float roundings over a handful of terms).
TEST(LossHeadMixup, LossAndGradientAreThoseOfTheMixedTarget) {
    Context ctx(Device::CPU);
    const Tensor a = labels_tensor(kLabelsA), b = labels_tensor(kLabelsB);
    for (LossKind kind : {LossKind::CROSS_ENTROPY, LossKind::BCE}) {
        const int64_t k = kind == LossKind::BCE ? 1 : 2;
        const Shape shape = k == 1 ? Shape{kN} : Shape{kN, k};
        const std::vector<float> zf = random_floats(size_t(kN * k), 5);
        const Tensor logits = Tensor::from_vector(shape, zf);
        const std::vector<double> z(zf.begin(), zf.end());
        for (float lambda : {0.0f, 0.3f, 0.5f, 1.0f}) {
            LossHead head(kind, kN + 3, k, Device::CPU, 0, true);
            head.set_mix(b, lambda);
            const double loss = head.forward(logits, a, ctx);
            const double want = mixed_loss(z, k, lambda);
            EXPECT_NEAR(loss, want, 1e-5 * std::fabs(want)) << "k " << k << " lambda " << lambda;
            const std::vector<float> dz = head.backward(ctx).to_vector();
            const std::vector<double> want_dz = mixed_grad(z, k, lambda);
            ASSERT_EQ(dz.size(), want_dz.size());
            for (size_t i = 0; i < dz.size(); ++i)
                EXPECT_NEAR(dz[i], want_dz[i], 1e-5 / kN)
                    << "k " << k << " lambda " << lambda << " logit " << i;
            // Scaled as a data-parallel share asks.
            const std::vector<float> dz2 = head.backward(ctx, 2.0f).to_vector();
            for (size_t i = 0; i < dz.size(); ++i) EXPECT_FLOAT_EQ(dz2[i], 2 * dz[i]);
        }
    }
}

TEST(LossHeadMixup, ClearingTheMixScoresThePlainLabelsAgain) {
    Context ctx(Device::CPU);
    const Tensor a = labels_tensor(kLabelsA), b = labels_tensor(kLabelsB);
    const Tensor logits = Tensor::from_vector(Shape{kN, 2}, random_floats(size_t(kN * 2), 9));
    LossHead plain(LossKind::CROSS_ENTROPY, kN, 2, Device::CPU),
        mixed(LossKind::CROSS_ENTROPY, kN, 2, Device::CPU, 0, true);
    const float want = plain.forward(logits, a, ctx);
    const std::vector<float> want_dz = plain.backward(ctx).to_vector();
    mixed.set_mix(b, 0.4f);
    EXPECT_NE(mixed.forward(logits, a, ctx), want);
    mixed.clear_mix();
    EXPECT_EQ(mixed.forward(logits, a, ctx), want);
    EXPECT_EQ(mixed.backward(ctx).to_vector(), want_dz);
    // A head planned without mixup has no room for the second loss.
    EXPECT_THROW(plain.set_mix(b, 0.4f), ContractError);
}

// Training accuracy under mixup counts a prediction right when it names the
// label that carries the larger weight.
TEST(LossHeadMixup, AccuracyCountsTheLabelOfTheLargerWeight) {
    Context ctx(Device::CPU);
    const Tensor a = labels_tensor(kLabelsA), b = labels_tensor(kLabelsB);
    std::vector<float> z;
    for (int32_t y : kLabelsB) z.insert(z.end(), {y == 0 ? 1.0f : -1.0f, y == 1 ? 1.0f : -1.0f});
    const Tensor logits = Tensor::from_vector(Shape{kN, 2}, z);  // predicts b exactly
    LossHead head(LossKind::CROSS_ENTROPY, kN, 2, Device::CPU, 0, true);
    head.set_mix(b, 0.2f);
    head.forward(logits, a, ctx);
    EXPECT_EQ(head.correct(), kN);
    head.set_mix(b, 0.8f);
    head.forward(logits, a, ctx);
    int64_t agree = 0;
    for (int64_t i = 0; i < kN; ++i) agree += kLabelsA[size_t(i)] == kLabelsB[size_t(i)];
    EXPECT_EQ(head.correct(), agree);
}
