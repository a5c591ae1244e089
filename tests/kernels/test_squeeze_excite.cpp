#include <gtest/gtest.h>

#include "common/gradcheck.h"
#include "kernels/squeeze_excite.h"

using namespace effnet;
using namespace effnet::test;

TEST(GlobalAvgPool, ForwardAndBackward) {
    const int64_t n = 2, hw = 5, c = 3;
    auto x = random_vector(n * hw * c, 31), r = random_vector(n * c, 32);
    std::vector<double> y(n * c, NAN), dx(x.size(), NAN);
    cpu::global_avg_pool_forward(x.data(), y.data(), n, hw, c, nullptr);
    double s = 0;
    for (int64_t p = 0; p < hw; ++p) s += x[(1 * hw + p) * c + 2];
    EXPECT_NEAR(y[1 * c + 2], s / hw, 1e-14);
    cpu::global_avg_pool_backward(r.data(), dx.data(), n, hw, c, nullptr);
    auto num = numeric_gradient(x, [&](const std::vector<double>& xv) {
        std::vector<double> yv(n * c);
        cpu::global_avg_pool_forward(xv.data(), yv.data(), n, hw, c, nullptr);
        return dot(yv, r);
    });
    EXPECT_LT(gradient_error(dx, num), kGradTolerance);
}

TEST(ChannelScale, BackwardMatchesFiniteDifferences) {
    const int64_t n = 3, hw = 7, c = 5;
    auto x = random_vector(n * hw * c, 33), gate = random_vector(n * c, 34, 0, 1), r = random_vector(n * hw * c, 35);
    std::vector<double> dx(x.size(), NAN), dgate(gate.size(), NAN);
    cpu::channel_scale_backward(x.data(), gate.data(), r.data(), dx.data(), dgate.data(), n, hw, c, nullptr);
    auto loss = [&](const std::vector<double>& xv, const std::vector<double>& gv) {
        std::vector<double> y(xv.size());
        cpu::channel_scale_forward(xv.data(), gv.data(), y.data(), n, hw, c, nullptr);
        return dot(y, r);
    };
    EXPECT_LT(gradient_error(dx, numeric_gradient(x, [&](const auto& v) { return loss(v, gate); })), kGradTolerance);
    EXPECT_LT(gradient_error(dgate, numeric_gradient(gate, [&](const auto& v) { return loss(x, v); })), kGradTolerance);
}
