#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "common/b0_shapes.h"
#include "common/conv_geometry.h"
#include "common/gpu_test.h"
#include "common/gradcheck.h"
#include "common/tolerance.h"
#include "kernels/conv2d.h"
#include "kernels/depthwise_conv.h"

using namespace effnet;
using namespace effnet::test;

namespace {
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
    EXPECT_LT(gradient_error(dx, numeric_gradient(x, [&](const auto& xv) { return fwd(xv, w); })),
              kGradTolerance);
    EXPECT_LT(gradient_error(dw, numeric_gradient(w, [&](const auto& wv) { return fwd(x, wv); })),
              kGradTolerance);
}

INSTANTIATE_TEST_SUITE_P(
    Geometries, DepthwiseTest,
    ::testing::Values(depthwise_geometry(2, 7, 7, 5, 3, 1), depthwise_geometry(2, 7, 9, 3, 3, 2),
                      depthwise_geometry(1, 8, 6, 4, 5, 1), depthwise_geometry(1, 9, 9, 3, 5, 2),
                      depthwise_geometry(1, 1, 1, 6, 3, 1), depthwise_geometry(3, 2, 3, 9, 5, 2)),
    ParamName());

// ---- GPU vs the CPU reference (helpers and tolerances: common/gpu_test.h) ----

namespace {

// Depthwise forward, input gradient and weight gradient (accumulated onto `dw0`) at one shape.
void check_depthwise(const ConvGeometry& g, uint64_t seed, Context& gpu) {
    SCOPED_TRACE(describe(g));
    Context cpu_ctx;
    const Shape xs{g.n, g.h, g.w, g.cin}, ys{g.n, g.ho(), g.wo(), g.cin}, ws{g.cin, 1, g.kh, g.kw};
    Tensor x = random_tensor(xs, seed), w = random_tensor(ws, seed + 1),
           dy = random_tensor(ys, seed + 2);
    Tensor dw0 = random_tensor(ws, seed + 3);
    Tensor y = Tensor::empty(ys), dx = Tensor::empty(xs), dw = Tensor::empty(ws);
    dw.copy_from(dw0);
    depthwise_conv2d_forward(x, w, y, g, cpu_ctx);
    depthwise_conv2d_backward_input(dy, w, dx, g, cpu_ctx);
    depthwise_conv2d_backward_weight(x, dy, dw, g, cpu_ctx);
    Tensor xd = to_gpu(x), wd = to_gpu(w), dyd = to_gpu(dy), dwd = to_gpu(dw0);
    Tensor yd = poisoned_gpu(ys), dxd = poisoned_gpu(xs);
    depthwise_conv2d_forward(xd, wd, yd, g, gpu);
    depthwise_conv2d_backward_input(dyd, wd, dxd, g, gpu);
    depthwise_conv2d_backward_weight(xd, dyd, dwd, g, gpu);
    expect_close(yd.to_vector(), y, "forward", kB0Tolerance);
    expect_close(dxd.to_vector(), dx, "input gradient", kB0Tolerance);
    const std::vector<float> dw_gpu = dwd.to_vector();
    const double atol =
        float_sum_atol(g.n * g.ho() * g.wo(), rms(x.to_vector()) * rms(dy.to_vector()));
    expect_close(dw_gpu, dw, "weight gradient (accumulated onto random values)",
                 kB0Tolerance.with_atol(atol));
    {  // once more: a fixed summation order gives the same bits
        Tensor again = to_gpu(dw0);
        depthwise_conv2d_backward_weight(xd, dyd, again, g, gpu);
        EXPECT_EQ(again.to_vector(), dw_gpu) << "weight gradient not bit-reproducible";
    }
}

}  // namespace

// Batch 4 at every distinct B0 depthwise shape, and odd shapes; the
// weight gradient sums N*Ho*Wo products per weight in float where the CPU
// accumulates in double: atol float_sum_atol(N*Ho*Wo, rms(x)*rms(dy)), twice
// that against cuDNN (both sides round).
TEST(DepthwiseGpu, MatchesCpuReference) {
    EFFNET_REQUIRE_GPU();
    Context gpu(Device::CUDA), cpu_ctx;
    for (const ConvGeometry& g :
         {depthwise_geometry(4, 112, 112, 32, 3, 1), depthwise_geometry(4, 112, 112, 96, 3, 2),
          depthwise_geometry(4, 56, 56, 144, 5, 2), depthwise_geometry(4, 28, 28, 240, 5, 1),
          depthwise_geometry(4, 14, 14, 672, 5, 2), depthwise_geometry(4, 7, 7, 1152, 3, 1),
          depthwise_geometry(1, 7, 9, 5, 3, 2), depthwise_geometry(3, 5, 5, 6, 5, 1),
          depthwise_geometry(1, 1, 1, 12, 3, 1)}) {
        SCOPED_TRACE(describe(g));
        const Shape xs{g.n, g.h, g.w, g.cin}, ys{g.n, g.ho(), g.wo(), g.cin},
            ws{g.cin, 1, g.kh, g.kw};
        Tensor x = random_tensor(xs, 1 + g.cin), w = random_tensor(ws, 2 + g.cin),
               dy = random_tensor(ys, 3 + g.cin);
        Tensor y = Tensor::empty(ys), dx = Tensor::empty(xs), dw = Tensor::zeros(ws);
        depthwise_conv2d_forward(x, w, y, g, cpu_ctx);
        depthwise_conv2d_backward_input(dy, w, dx, g, cpu_ctx);
        depthwise_conv2d_backward_weight(x, dy, dw, g, cpu_ctx);
        Tensor xd = to_gpu(x), wd = to_gpu(w), dyd = to_gpu(dy);
        Tensor yd = poisoned_gpu(ys), dxd = poisoned_gpu(xs), dwd = Tensor::zeros(ws, Device::CUDA);
        depthwise_conv2d_forward(xd, wd, yd, g, gpu);
        depthwise_conv2d_backward_input(dyd, wd, dxd, g, gpu);
        depthwise_conv2d_backward_weight(xd, dyd, dwd, g, gpu);
        const double dw_atol = std::max(
            1e-4, float_sum_atol(g.n * g.ho() * g.wo(), rms(x.to_vector()) * rms(dy.to_vector())));
        expect_close(yd, y, "forward", kOpTolerance);
        expect_close(dxd, dx, "input gradient", kOpTolerance);
        expect_close(dwd, dw, "weight gradient", kOpTolerance.with_atol(dw_atol));
        // The cuDNN path (--kernels cudnn) must agree with the hand-written kernels.
        Context vendor(Device::CUDA);
        vendor.depthwise_kernels = KernelChoice::CUDNN;
        Tensor yv = poisoned_gpu(ys), dxv = poisoned_gpu(xs), dwv = Tensor::zeros(ws, Device::CUDA);
        depthwise_conv2d_forward(xd, wd, yv, g, vendor);
        depthwise_conv2d_backward_input(dyd, wd, dxv, g, vendor);
        depthwise_conv2d_backward_weight(xd, dyd, dwv, g, vendor);
        expect_close(yv, yd, "cuDNN forward vs custom", kOpTolerance);
        expect_close(dxv, dxd, "cuDNN input gradient vs custom", kOpTolerance);
        expect_close(dwv, dwd, "cuDNN weight gradient vs custom",
                     kOpTolerance.with_atol(2 * dw_atol));
    }
}

TEST(DepthwiseGpu, B0Batch32MatchesCpu) {
    EFFNET_REQUIRE_GPU();
    Context gpu(Device::CUDA);
    uint64_t seed = 100;
    for (const ConvGeometry& g : b0_shapes(32).depthwise) check_depthwise(g, seed += 10, gpu);
}

// Parameter gradients ACCUMULATE: backward twice onto random values gives
// prefill + 2 * gradient, on both sides. Small and odd shapes (fast enough
// for compute-sanitizer).
TEST(GradientAccumulationGpu, DepthwiseWeightGradientAccumulates) {
    EFFNET_REQUIRE_GPU();
    Context gpu(Device::CUDA), c;
    for (const ConvGeometry& g :
         {depthwise_geometry(2, 14, 14, 48, 5, 2), depthwise_geometry(3, 7, 9, 5, 3, 1),
          depthwise_geometry(1, 9, 4, 7, 5, 2), depthwise_geometry(2, 6, 6, 8, 7, 1)}) {
        SCOPED_TRACE(describe(g));
        const Shape xs{g.n, g.h, g.w, g.cin}, ys{g.n, g.ho(), g.wo(), g.cin},
            ws{g.cin, 1, g.kh, g.kw};
        Tensor x = random_tensor(xs, 801), dy = random_tensor(ys, 802),
               dw0 = random_tensor(ws, 803), dw = Tensor::empty(ws);
        if (g.kh > 5) {  // the hand-written weight gradient stops at 5x5 and says so
            Tensor dwd = to_gpu(dw0);
            EXPECT_THROW(depthwise_conv2d_backward_weight(to_gpu(x), to_gpu(dy), dwd, g, gpu),
                         ContractError);
            continue;
        }
        dw.copy_from(dw0);
        Tensor xd = to_gpu(x), dyd = to_gpu(dy), dwd = to_gpu(dw0);
        for (int k = 0; k < 2; ++k) {
            depthwise_conv2d_backward_weight(x, dy, dw, g, c);
            depthwise_conv2d_backward_weight(xd, dyd, dwd, g, gpu);
        }
        const double atol =
            2 * float_sum_atol(g.n * g.ho() * g.wo(), rms(x.to_vector()) * rms(dy.to_vector()));
        expect_close(dwd, dw, "dw after two backward passes onto random values",
                     kB0Tolerance.with_atol(atol));
    }
}
