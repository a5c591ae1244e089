#include <gtest/gtest.h>

#include <cmath>

#include "common/gpu_test.h"
#include "common/gradcheck.h"
#include "kernels/activation.h"
#include "kernels/cpu/vector_exp.h"

using namespace effnet;
using namespace effnet::test;

TEST(Swish, ForwardMatchesFormula) {
    std::vector<double> x = {-5, -1, 0, 0.5, 3}, y(5);
    cpu::swish_forward(x.data(), y.data(), 5, nullptr);
    for (int i = 0; i < 5; ++i) EXPECT_NEAR(y[i], x[i] / (1 + std::exp(-x[i])), 1e-15);
}

TEST(Swish, BackwardMatchesFiniteDifferences) {
    const size_t n = 37;
    auto x = random_vector(n, 1, -4, 4), r = random_vector(n, 2);
    std::vector<double> dx(n);
    cpu::swish_backward(x.data(), r.data(), dx.data(), n, nullptr);
    auto num = numeric_gradient(x, [&](const std::vector<double>& xv) {
        std::vector<double> y(n);
        cpu::swish_forward(xv.data(), y.data(), n, nullptr);
        return dot(y, r);
    });
    EXPECT_LT(gradient_error(dx, num), kGradTolerance);
}

TEST(Sigmoid, BackwardMatchesFiniteDifferences) {
    const size_t n = 29;
    auto x = random_vector(n, 3, -6, 6), r = random_vector(n, 4);
    std::vector<double> y(n), dx(n);
    cpu::sigmoid_forward(x.data(), y.data(), n, nullptr);
    cpu::sigmoid_backward(y.data(), r.data(), dx.data(), n, nullptr);
    auto num = numeric_gradient(x, [&](const std::vector<double>& xv) {
        std::vector<double> yv(n);
        cpu::sigmoid_forward(xv.data(), yv.data(), n, nullptr);
        return dot(yv, r);
    });
    EXPECT_LT(gradient_error(dx, num), kGradTolerance);
}

// GPU vs CPU reference: fresh random inputs, several sizes (odd, not a
// multiple of the block), outputs poisoned with NaN so unwritten elements fail.
TEST(SwishGpu, MatchesCpuReference) {
    EFFNET_REQUIRE_GPU();
    Context ctx(Device::CUDA), cpu_ctx(Device::CPU);
    for (int64_t n : {1, 255, 257, 100003}) {
        Tensor x = Tensor::from_vector(Shape{n}, random_floats(n, n, -8, 8));
        Tensor dy = Tensor::from_vector(Shape{n}, random_floats(n, n + 1));
        Tensor y_ref = Tensor::empty(x.shape()), dx_ref = Tensor::empty(x.shape());
        swish_forward(x, y_ref, cpu_ctx);
        swish_backward(x, dy, dx_ref, cpu_ctx);
        Tensor xd = x.to(Device::CUDA), dyd = dy.to(Device::CUDA);
        Tensor yd = Tensor::full(x.shape(), NAN, Device::CUDA),
               dxd = Tensor::full(x.shape(), NAN, Device::CUDA);
        swish_forward(xd, yd, ctx);
        swish_backward(xd, dyd, dxd, ctx);
        ctx.synchronize();
        auto c1 = compare(yd.to_vector(), y_ref.to_vector(), 1e-5, 1e-5);
        auto c2 = compare(dxd.to_vector(), dx_ref.to_vector(), 1e-5, 1e-5);
        EXPECT_TRUE(c1.ok && c1.rel_l2 <= 1e-5) << "forward n=" << n << ": " << c1.str();
        EXPECT_TRUE(c2.ok && c2.rel_l2 <= 1e-5) << "backward n=" << n << ": " << c2.str();
    }
}

TEST(SigmoidGpu, MatchesCpuReference) {
    EFFNET_REQUIRE_GPU();
    Context ctx(Device::CUDA), cpu_ctx(Device::CPU);
    for (int64_t n : {1, 333, 65537}) {
        Tensor x = Tensor::from_vector(Shape{n}, random_floats(n, n, -8, 8));
        Tensor dy = Tensor::from_vector(Shape{n}, random_floats(n, n + 1));
        Tensor y_ref = Tensor::empty(x.shape()), dx_ref = Tensor::empty(x.shape());
        sigmoid_forward(x, y_ref, cpu_ctx);
        sigmoid_backward(y_ref, dy, dx_ref, cpu_ctx);
        Tensor yd = Tensor::full(x.shape(), NAN, Device::CUDA),
               dxd = Tensor::full(x.shape(), NAN, Device::CUDA);
        Tensor xd = x.to(Device::CUDA), dyd = dy.to(Device::CUDA);
        sigmoid_forward(xd, yd, ctx);
        sigmoid_backward(yd, dyd, dxd, ctx);
        ctx.synchronize();
        auto c1 = compare(yd.to_vector(), y_ref.to_vector(), 1e-5, 1e-5);
        auto c2 = compare(dxd.to_vector(), dx_ref.to_vector(), 1e-5, 1e-5);
        EXPECT_TRUE(c1.ok) << c1.str();
        EXPECT_TRUE(c2.ok) << c2.str();
    }
}

// The vectorisable exp behind the CPU swish and sigmoid: within 1.5 ulp of
// exp over the whole float range it serves, NaN in -> NaN out (so a diverged
// loss is still caught), and clamped to finite values outside the range.
TEST(VectorExp, WithinOneAndAHalfUlpOverItsRange) {
    double worst = 0, at = 0;
    for (double x = -87.0; x <= 88.3; x += 3.7e-4) {
        const float xf = float(x);
        const double want = std::exp(double(xf)), ulp = std::ldexp(1.0, std::ilogb(want) - 23);
        const double e = std::fabs(double(cpu::vector_exp(xf)) - want) / ulp;
        if (e > worst) worst = e, at = xf;
    }
    EXPECT_LE(worst, 1.5) << "worst at x = " << at;
    EXPECT_TRUE(std::isnan(cpu::vector_exp(NAN)));
    EXPECT_GT(cpu::vector_exp(-1000.0f), 0.0f);
    EXPECT_LT(cpu::vector_exp(-1000.0f), 1.3e-38f);
    EXPECT_TRUE(std::isfinite(cpu::vector_exp(1000.0f)));
    EXPECT_EQ(cpu::vector_exp(0.0f), 1.0f);
}
