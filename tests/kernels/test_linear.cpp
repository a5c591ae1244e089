#include <gtest/gtest.h>

#include "common/gpu_test.h"
#include "common/gradcheck.h"
#include "kernels/linear.h"

using namespace effnet;
using namespace effnet::test;

TEST(Linear, ForwardKnownValues) {
    std::vector<double> x = {1, 2, 3, 4, 5, 6};         // [2, 3]
    std::vector<double> w = {1, 0, -1, 0.5, 0.5, 0.5};  // [2, 3]
    std::vector<double> b = {10, -10}, y(4);
    cpu::linear_forward(x.data(), w.data(), b.data(), y.data(), 2, 3, 2, nullptr);
    EXPECT_EQ(y, (std::vector<double>{8, -7, 8, -2.5}));
}

TEST(Linear, BackwardMatchesFiniteDifferences) {
    const int64_t n = 3, in = 7, out = 5;
    auto x = random_vector(n * in, 41), w = random_vector(out * in, 42), b = random_vector(out, 43);
    auto r = random_vector(n * out, 44);
    std::vector<double> dx(x.size(), NAN), dw(w.size(), 0), db(out, 0);
    cpu::linear_backward(x.data(), w.data(), r.data(), dx.data(), dw.data(), db.data(), n, in, out,
                         nullptr);
    auto loss = [&](const std::vector<double>& xv, const std::vector<double>& wv,
                    const std::vector<double>& bv) {
        std::vector<double> y(n * out);
        cpu::linear_forward(xv.data(), wv.data(), bv.data(), y.data(), n, in, out, nullptr);
        return dot(y, r);
    };
    EXPECT_LT(gradient_error(dx, numeric_gradient(x, [&](const auto& v) { return loss(v, w, b); })),
              kGradTolerance);
    EXPECT_LT(gradient_error(dw, numeric_gradient(w, [&](const auto& v) { return loss(x, v, b); })),
              kGradTolerance);
    EXPECT_LT(gradient_error(db, numeric_gradient(b, [&](const auto& v) { return loss(x, w, v); })),
              kGradTolerance);
}

// ---- GPU vs the CPU reference (helpers and tolerances: common/gpu_test.h) ----
// Forward, backward and accumulation of dW and db.

TEST(LinearGpu, MatchesCpu) {
    EFFNET_REQUIRE_GPU();
    Context g(Device::CUDA), c;
    for (auto [n, in, out] : {std::make_tuple(int64_t(32), int64_t(1280), int64_t(2)),
                              std::make_tuple(int64_t(3), int64_t(7), int64_t(5)),
                              std::make_tuple(int64_t(32), int64_t(672), int64_t(28))}) {
        Tensor x = random_tensor(Shape{n, in}, 71), w = random_tensor(Shape{out, in}, 72),
               b = random_tensor(Shape{out}, 73), dy = random_tensor(Shape{n, out}, 74);
        Tensor y = Tensor::empty(Shape{n, out}), dx = Tensor::empty(Shape{n, in}),
               dw = Tensor::zeros(Shape{out, in}), db = Tensor::zeros(Shape{out});
        linear_forward(x, w, b, y, c);
        linear_backward(x, w, dy, &dx, dw, db, c);
        Tensor yd = poisoned_gpu(Shape{n, out}), dxd = poisoned_gpu(Shape{n, in}),
               dwd = Tensor::zeros(Shape{out, in}, Device::CUDA),
               dbd = Tensor::zeros(Shape{out}, Device::CUDA);
        Tensor wd = to_gpu(w), xd = to_gpu(x);
        linear_forward(xd, wd, to_gpu(b), yd, g);
        linear_backward(xd, wd, to_gpu(dy), &dxd, dwd, dbd, g);
        expect_close(yd, y, "forward", kOpTolerance);
        expect_close(dxd, dx, "input gradient", kOpTolerance);
        expect_close(dwd, dw, "weight gradient", kOpTolerance);
        expect_close(dbd, db, "bias gradient", kOpTolerance);
    }
}

// dW and db accumulate (as GradientAccumulationGpu in test_depthwise_conv.cpp).
TEST(GradientAccumulationGpu, LinearWeightAndBiasAccumulate) {
    EFFNET_REQUIRE_GPU();
    Context gpu(Device::CUDA), c;
    for (auto [n, in, out] : {std::make_tuple(int64_t(32), int64_t(1280), int64_t(2)),
                              std::make_tuple(int64_t(3), int64_t(7), int64_t(5)),
                              std::make_tuple(int64_t(32), int64_t(672), int64_t(28))}) {
        SCOPED_TRACE("linear n=" + std::to_string(n) + " in=" + std::to_string(in) +
                     " out=" + std::to_string(out));
        Tensor x = random_tensor(Shape{n, in}, 821), w = random_tensor(Shape{out, in}, 822),
               dy = random_tensor(Shape{n, out}, 823);
        Tensor dw0 = random_tensor(Shape{out, in}, 824), db0 = random_tensor(Shape{out}, 825);
        Tensor dx = Tensor::empty(Shape{n, in}), dw = Tensor::empty(Shape{out, in}),
               db = Tensor::empty(Shape{out});
        dw.copy_from(dw0);
        db.copy_from(db0);
        Tensor xd = to_gpu(x), wd = to_gpu(w), dyd = to_gpu(dy), dxd = poisoned_gpu(Shape{n, in}),
               dwd = to_gpu(dw0), dbd = to_gpu(db0);
        for (int k = 0; k < 2; ++k) {
            linear_backward(x, w, dy, &dx, dw, db, c);
            linear_backward(xd, wd, dyd, &dxd, dwd, dbd, gpu);
        }
        // dW sums n products per weight, db n terms (cuBLAS, float): at most 32 here.
        expect_close(dwd.to_vector(), dw, "dW after two backward passes onto random values",
                     kB0Tolerance);
        expect_close(dbd.to_vector(), db, "db after two backward passes onto random values",
                     kB0Tolerance);
        expect_close(dxd.to_vector(), dx, "input gradient (overwritten)", kB0Tolerance);
    }
}
