#include <gtest/gtest.h>

#include "common/gradcheck.h"
#include "kernels/conv2d.h"
#include "kernels/depthwise_conv.h"

using namespace effnet;
using namespace effnet::test;

namespace {
ConvGeometry dw_geom(int64_t n, int64_t h, int64_t w, int64_t c, int64_t k, int64_t s) {
    ConvGeometry g;
    g.n = n; g.h = h; g.w = w; g.cin = g.cout = g.groups = c; g.kh = g.kw = k; g.stride = s; g.pad = k / 2;
    return g;
}
class DepthwiseTest : public ::testing::TestWithParam<ConvGeometry> {};
}  // namespace

// Cross-check against the dense convolution with groups = channels, a
// different code path (im2col + GEMM per group).
TEST_P(DepthwiseTest, ForwardMatchesGroupedDenseConvolution) {
    const ConvGeometry g = GetParam();
    auto x = random_vector(g.n * g.h * g.w * g.cin, 11);
    auto w = random_vector(g.cin * g.kh * g.kw, 12);
    std::vector<double> y(g.n * g.ho() * g.wo() * g.cin, NAN), ref(y.size(), NAN);
    cpu::depthwise_conv2d_forward(x.data(), w.data(), y.data(), g, nullptr);
    cpu::conv2d_forward(x.data(), w.data(), ref.data(), g, nullptr);
    EXPECT_LT(gradient_error(y, ref), 1e-12);
}

TEST_P(DepthwiseTest, BackwardMatchesFiniteDifferences) {
    const ConvGeometry g = GetParam();
    auto x = random_vector(g.n * g.h * g.w * g.cin, 13);
    auto w = random_vector(g.cin * g.kh * g.kw, 14);
    auto r = random_vector(g.n * g.ho() * g.wo() * g.cin, 15);
    std::vector<double> dx(x.size(), NAN), dw(w.size(), -0.5);
    cpu::depthwise_conv2d_backward_input(r.data(), w.data(), dx.data(), g, nullptr);
    cpu::depthwise_conv2d_backward_weight(x.data(), r.data(), dw.data(), g, nullptr);
    for (double& v : dw) v += 0.5;  // it accumulated onto -0.5
    auto fwd = [&](const std::vector<double>& xv, const std::vector<double>& wv) {
        std::vector<double> y(r.size());
        cpu::depthwise_conv2d_forward(xv.data(), wv.data(), y.data(), g, nullptr);
        return dot(y, r);
    };
    EXPECT_LT(gradient_error(dx, numeric_gradient(x, [&](const auto& xv) { return fwd(xv, w); })), kGradTolerance);
    EXPECT_LT(gradient_error(dw, numeric_gradient(w, [&](const auto& wv) { return fwd(x, wv); })), kGradTolerance);
}

INSTANTIATE_TEST_SUITE_P(Geometries, DepthwiseTest,
                         ::testing::Values(dw_geom(2, 7, 7, 5, 3, 1), dw_geom(2, 7, 9, 3, 3, 2),
                                           dw_geom(1, 8, 6, 4, 5, 1), dw_geom(1, 9, 9, 3, 5, 2),
                                           dw_geom(1, 1, 1, 6, 3, 1), dw_geom(3, 2, 3, 9, 5, 2)));
