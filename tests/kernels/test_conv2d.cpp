#include <gtest/gtest.h>

#include <algorithm>

#include "common/conv_geometry.h"
#include "common/gpu_test.h"
#include "common/gradcheck.h"
#include "common/tolerance.h"
#include "kernels/conv2d.h"

using namespace effnet;
using namespace effnet::test;

namespace {
// Straight from the definition, independent of im2col and GEMM.
std::vector<double> naive_conv(const std::vector<double>& x, const std::vector<double>& w,
                               const ConvGeometry& g) {
    std::vector<double> y(g.n * g.ho() * g.wo() * g.cout, 0.0);
    const int64_t cig = g.cin_per_group(), cog = g.cout_per_group();
    for (int64_t n = 0; n < g.n; ++n)
        for (int64_t oy = 0; oy < g.ho(); ++oy)
            for (int64_t ox = 0; ox < g.wo(); ++ox)
                for (int64_t co = 0; co < g.cout; ++co) {
                    double s = 0;
                    const int64_t grp = co / cog;
                    for (int64_t ci = 0; ci < cig; ++ci)
                        for (int64_t ky = 0; ky < g.kh; ++ky)
                            for (int64_t kx = 0; kx < g.kw; ++kx) {
                                int64_t iy = oy * g.stride - g.pad + ky,
                                        ix = ox * g.stride - g.pad + kx;
                                if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
                                s += x[((n * g.h + iy) * g.w + ix) * g.cin + grp * cig + ci] *
                                     w[((co * cig + ci) * g.kh + ky) * g.kw + kx];
                            }
                    y[((n * g.ho() + oy) * g.wo() + ox) * g.cout + co] = s;
                }
    return y;
}

class Conv2dTest : public ::testing::TestWithParam<ConvGeometry> {};
}  // namespace

TEST_P(Conv2dTest, ForwardMatchesDefinition) {
    const ConvGeometry g = GetParam();
    auto x = random_vector(g.n * g.h * g.w * g.cin, 1);
    auto w = random_vector(g.cout * g.cin_per_group() * g.kh * g.kw, 2);
    std::vector<double> y(g.n * g.ho() * g.wo() * g.cout, NAN);
    cpu::conv2d_forward(x.data(), w.data(), y.data(), g, nullptr);
    EXPECT_LT(gradient_error(y, naive_conv(x, w, g)), 1e-12);
}

TEST_P(Conv2dTest, BackwardMatchesFiniteDifferences) {
    const ConvGeometry g = GetParam();
    auto x = random_vector(g.n * g.h * g.w * g.cin, 3);
    auto w = random_vector(g.cout * g.cin_per_group() * g.kh * g.kw, 4);
    auto r = random_vector(g.n * g.ho() * g.wo() * g.cout, 5);
    std::vector<double> dx(x.size(), NAN), dw(w.size(), 0.25);  // dw accumulates onto 0.25
    cpu::conv2d_backward_input(r.data(), w.data(), dx.data(), g, nullptr);
    cpu::conv2d_backward_weight(x.data(), r.data(), dw.data(), g, nullptr);
    for (double& v : dw) v -= 0.25;
    auto loss_x = [&](const std::vector<double>& xv) {
        std::vector<double> y(r.size());
        cpu::conv2d_forward(xv.data(), w.data(), y.data(), g, nullptr);
        return dot(y, r);
    };
    auto loss_w = [&](const std::vector<double>& wv) {
        std::vector<double> y(r.size());
        cpu::conv2d_forward(x.data(), wv.data(), y.data(), g, nullptr);
        return dot(y, r);
    };
    EXPECT_LT(gradient_error(dx, numeric_gradient(x, loss_x)), kGradTolerance) << "input gradient";
    EXPECT_LT(gradient_error(dw, numeric_gradient(w, loss_w)), kGradTolerance) << "weight gradient";
}

INSTANTIATE_TEST_SUITE_P(
    Geometries, Conv2dTest,
    ::testing::Values(conv_geometry(2, 7, 5, 3, 4, 3, 2),     // stem-like 3x3/2, odd sizes
                      conv_geometry(1, 6, 6, 3, 5, 3, 1),     // batch 1
                      conv_geometry(2, 3, 5, 7, 6, 1, 1),     // pointwise (GEMM path)
                      conv_geometry(1, 5, 4, 6, 4, 3, 2, 2),  // grouped
                      conv_geometry(1, 9, 7, 2, 3, 5, 2)),    // 5x5/2
    ParamName());

TEST(Conv2d, ShapeMismatchThrowsWithShapes) {
    Context ctx;
    ConvGeometry g = conv_geometry(1, 4, 4, 3, 8, 3, 1);
    Tensor x = Tensor::zeros(Shape{1, 4, 4, 2}), w = Tensor::zeros(Shape{8, 3, 3, 3}),
           y = Tensor::zeros(Shape{1, 4, 4, 8});
    try {
        conv2d_forward(x, w, y, g, ctx);
        FAIL();
    } catch (const ContractError& e) {
        EXPECT_NE(std::string(e.what()).find("[1, 4, 4, 2]"), std::string::npos) << e.what();
    }
}

// ---- GPU vs the CPU reference (helpers and tolerances: common/gpu_test.h) ----
// Pointwise (one GEMM) and stem convolutions on both GPU paths.

TEST(Conv2dGpu, PointwiseAndStemMatchCpuOnBothPaths) {
    EFFNET_REQUIRE_GPU();
    Context g(Device::CUDA), c;
    for (const ConvGeometry& cg :
         {conv_geometry(4, 224, 224, 3, 32, 3, 2), conv_geometry(2, 7, 9, 3, 5, 3, 2),
          conv_geometry(4, 56, 56, 24, 144, 1, 1), conv_geometry(4, 7, 7, 320, 1280, 1, 1),
          conv_geometry(1, 5, 3, 7, 6, 1, 1)}) {
        SCOPED_TRACE(describe(cg));
        const Shape xs{cg.n, cg.h, cg.w, cg.cin}, ys{cg.n, cg.ho(), cg.wo(), cg.cout},
            ws{cg.cout, cg.cin, cg.kh, cg.kw};
        Tensor x = random_tensor(xs, 61), w = random_tensor(ws, 62), dy = random_tensor(ys, 63);
        Tensor y = Tensor::empty(ys), dx = Tensor::empty(xs), dw = Tensor::full(ws, 0.25f);
        conv2d_forward(x, w, y, cg, c);
        conv2d_backward_input(dy, w, dx, cg, c);
        conv2d_backward_weight(x, dy, dw, cg, c);
        // Both GPU paths of a dense convolution: im2col + cuBLAS (custom) and
        // cuDNN (the default for the stem); 1x1 convolutions take one GEMM in both.
        for (const char* spec : {"stem=custom", "stem=cudnn"}) {
            SCOPED_TRACE(spec);
            apply_kernel_spec(g, spec);
            Tensor yd = poisoned_gpu(ys), dxd = poisoned_gpu(xs),
                   dwd = Tensor::full(ws, 0.25f, Device::CUDA);
            conv2d_forward(to_gpu(x), to_gpu(w), yd, cg, g);
            conv2d_backward_input(to_gpu(dy), to_gpu(w), dxd, cg, g);
            conv2d_backward_weight(to_gpu(x), to_gpu(dy), dwd, cg, g);
            // cuBLAS/cuDNN sum in a different order than Eigen. A weight's
            // gradient sums K = N*Ho*Wo products (the stem at batch 4: 4*112*112
            // = 50,176), so its float error grows with sqrt(K):
            // atol = 64 * FLT_EPSILON * sqrt(K) * rms(x)*rms(dy) (derivation in
            // tests/common/tolerance.h; 5.7e-4 for the stem), rtol 1e-4.
            expect_close(yd, y, "forward", kOpTolerance);
            expect_close(dxd, dx, "input gradient", kOpTolerance);
            const double dw_atol = std::max(
                1e-4,
                float_sum_atol(cg.n * cg.ho() * cg.wo(), rms(x.to_vector()) * rms(dy.to_vector())));
            expect_close(dwd, dw, "weight gradient (accumulated)", kOpTolerance.with_atol(dw_atol));
        }
    }
}
