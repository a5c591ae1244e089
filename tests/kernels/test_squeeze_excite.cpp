#include <gtest/gtest.h>

#include "common/b0_shapes.h"
#include "common/gpu_test.h"
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
    auto x = random_vector(n * hw * c, 33), gate = random_vector(n * c, 34, 0, 1),
         r = random_vector(n * hw * c, 35);
    std::vector<double> dx(x.size(), NAN), dgate(gate.size(), NAN);
    cpu::channel_scale_backward(x.data(), gate.data(), r.data(), dx.data(), dgate.data(), n, hw, c,
                                nullptr);
    auto loss = [&](const std::vector<double>& xv, const std::vector<double>& gv) {
        std::vector<double> y(xv.size());
        cpu::channel_scale_forward(xv.data(), gv.data(), y.data(), n, hw, c, nullptr);
        return dot(y, r);
    };
    EXPECT_LT(gradient_error(dx, numeric_gradient(x, [&](const auto& v) { return loss(v, gate); })),
              kGradTolerance);
    EXPECT_LT(
        gradient_error(dgate, numeric_gradient(gate, [&](const auto& v) { return loss(x, v); })),
        kGradTolerance);
}

// ---- GPU vs the CPU reference (helpers and tolerances: common/gpu_test.h) ----
// Pooling and channel scale, small and B0 batch-32 shapes.

namespace {

// Pool forward/backward and channel scale forward/backward (gate gradient) at one shape.
void check_squeeze_excite(const SeShape& s, uint64_t seed, Context& g) {
    SCOPED_TRACE(describe(s));
    Context c;
    const Shape xs{s.n, s.h, s.w, s.c}, ps{s.n, s.c};
    Tensor x = random_tensor(xs, seed), gate = random_tensor(ps, seed + 1, 0.0f, 1.0f),
           dy = random_tensor(xs, seed + 2), dp = random_tensor(ps, seed + 3);
    Tensor xd = to_gpu(x), gated = to_gpu(gate), dyd = to_gpu(dy);
    Tensor pool = Tensor::empty(ps), poold = poisoned_gpu(ps);
    global_avg_pool_forward(x, pool, c);
    global_avg_pool_forward(xd, poold, g);
    const std::vector<float> pool_gpu = poold.to_vector();
    expect_close(pool_gpu, pool, "pool", kB0Tolerance);
    Tensor dx = Tensor::empty(xs), dxd = poisoned_gpu(xs);
    global_avg_pool_backward(dp, dx, c);
    global_avg_pool_backward(to_gpu(dp), dxd, g);
    expect_close(dxd.to_vector(), dx, "pool backward", kB0Tolerance);
    Tensor y = Tensor::empty(xs), yd = poisoned_gpu(xs);
    channel_scale_forward(x, gate, y, c);
    channel_scale_forward(xd, gated, yd, g);
    expect_close(yd.to_vector(), y, "channel scale", kB0Tolerance);
    Tensor dgate = Tensor::empty(ps), dgated = poisoned_gpu(ps), dx2d = poisoned_gpu(xs);
    channel_scale_backward(x, gate, dy, dx, dgate, c);
    channel_scale_backward(xd, gated, dyd, dx2d, dgated, g);
    const std::vector<float> dgate_gpu = dgated.to_vector();
    expect_close(dx2d.to_vector(), dx, "channel scale input gradient", kB0Tolerance);
    expect_close(dgate_gpu, dgate, "gate gradient", kB0Tolerance);
    {  // once more: a fixed summation order gives the same bits
        Tensor p2 = poisoned_gpu(ps), dg2 = poisoned_gpu(ps), dx3 = poisoned_gpu(xs);
        global_avg_pool_forward(xd, p2, g);
        channel_scale_backward(xd, gated, dyd, dx3, dg2, g);
        EXPECT_EQ(p2.to_vector(), pool_gpu) << "pool not bit-reproducible";
        EXPECT_EQ(dg2.to_vector(), dgate_gpu) << "gate gradient not bit-reproducible";
    }
}

}  // namespace

TEST(SqueezeExciteGpu, PoolAndScaleMatchCpu) {
    EFFNET_REQUIRE_GPU();
    Context g(Device::CUDA), c;
    for (Shape xs :
         {Shape{2, 112, 112, 32}, Shape{3, 7, 7, 1152}, Shape{1, 3, 5, 7}, Shape{5, 1, 1, 40}}) {
        SCOPED_TRACE(xs.str());
        const Shape ps{xs[0], xs[3]};
        Tensor x = random_tensor(xs, 11), gate = random_tensor(ps, 12, 0, 1),
               dy = random_tensor(xs, 13), dp = random_tensor(ps, 14);
        Tensor pool = Tensor::empty(ps), poold = poisoned_gpu(ps);
        global_avg_pool_forward(x, pool, c);
        global_avg_pool_forward(to_gpu(x), poold, g);
        expect_close(poold, pool, "pool", kOpTolerance);
        Tensor dx = Tensor::empty(xs), dxd = poisoned_gpu(xs);
        global_avg_pool_backward(dp, dx, c);
        global_avg_pool_backward(to_gpu(dp), dxd, g);
        expect_close(dxd, dx, "pool backward", kOpTolerance);
        Tensor y = Tensor::empty(xs), yd = poisoned_gpu(xs);
        channel_scale_forward(x, gate, y, c);
        channel_scale_forward(to_gpu(x), to_gpu(gate), yd, g);
        expect_close(yd, y, "channel scale", kOpTolerance);
        Tensor dgate = Tensor::empty(ps), dgated = poisoned_gpu(ps), dx2d = poisoned_gpu(xs);
        channel_scale_backward(x, gate, dy, dx, dgate, c);
        channel_scale_backward(to_gpu(x), to_gpu(gate), to_gpu(dy), dx2d, dgated, g);
        expect_close(dx2d, dx, "channel scale input gradient", kOpTolerance);
        expect_close(dgated, dgate, "gate gradient", kOpTolerance);
    }
}

TEST(SqueezeExciteGpu, B0Batch32MatchesCpu) {
    EFFNET_REQUIRE_GPU();
    Context gpu(Device::CUDA);
    uint64_t seed = 500;
    for (const SeShape& s : b0_shapes(32).se) check_squeeze_excite(s, seed += 10, gpu);
}
