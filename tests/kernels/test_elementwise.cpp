#include <gtest/gtest.h>

#include <cmath>

#include "common/gpu_test.h"
#include "common/gradcheck.h"
#include "kernels/elementwise.h"

using namespace effnet;
using namespace effnet::test;

TEST(Elementwise, AddAndAddInplace) {
    Context ctx;
    Tensor a = Tensor::from_vector(Shape{3}, {1, 2, 3}),
           b = Tensor::from_vector(Shape{3}, {10, 20, 30});
    Tensor y = Tensor::full(Shape{3}, NAN);
    add(a, b, y, ctx);
    EXPECT_EQ(y.to_vector(), (std::vector<float>{11, 22, 33}));
    add_inplace(y, a, ctx);
    EXPECT_EQ(y.to_vector(), (std::vector<float>{12, 24, 36}));
    Tensor wrong = Tensor::zeros(Shape{4});
    EXPECT_THROW(add(a, wrong, y, ctx), ContractError);
}

TEST(Elementwise, MovingAverage) {
    Context ctx;
    Tensor y = Tensor::from_vector(Shape{3}, {1, -2, 4}),
           x = Tensor::from_vector(Shape{3}, {3, 2, 4});
    moving_average(y, x, 0.75f, ctx);
    // 0.75 y + 0.25 x, exact in binary
    EXPECT_EQ(y.to_vector(), (std::vector<float>{1.5f, -1.0f, 4.0f}));
    moving_average(y, x, 0.0f, ctx);  // decay 0: the new value
    EXPECT_EQ(y.to_vector(), x.to_vector());
    moving_average(y, Tensor::zeros(Shape{3}), 1.0f, ctx);  // decay 1: unchanged
    EXPECT_EQ(y.to_vector(), x.to_vector());
    EXPECT_THROW(moving_average(y, x, 1.5f, ctx), ContractError);
    Tensor wrong = Tensor::zeros(Shape{4});
    EXPECT_THROW(moving_average(y, wrong, 0.5f, ctx), ContractError);
}

TEST(ElementwiseGpu, MatchesCpuReference) {
    EFFNET_REQUIRE_GPU();
    Context ctx(Device::CUDA), cpu_ctx;
    for (int64_t n : {1, 257, 99991}) {
        Tensor a = Tensor::from_vector(Shape{n}, random_floats(n, 5)),
               b = Tensor::from_vector(Shape{n}, random_floats(n, 6));
        Tensor ref = Tensor::empty(a.shape());
        add(a, b, ref, cpu_ctx);
        Tensor ad = a.to(Device::CUDA), bd = b.to(Device::CUDA),
               yd = Tensor::full(a.shape(), NAN, Device::CUDA);
        add(ad, bd, yd, ctx);
        auto c = compare(yd.to_vector(), ref.to_vector(), 0, 0);  // exact: one rounding either side
        EXPECT_TRUE(c.ok) << c.str();
        add_inplace(yd, ad, ctx);
        add_inplace(ref, a, cpu_ctx);
        c = compare(yd.to_vector(), ref.to_vector(), 0, 0);
        EXPECT_TRUE(c.ok) << c.str();
        // Two products and a sum: the CPU compiler may fuse them into one FMA
        // (one rounding fewer), so allow a few float roundings, 1e-6 relative.
        moving_average(yd, ad, 0.998f, ctx);
        moving_average(ref, a, 0.998f, cpu_ctx);
        c = compare(yd.to_vector(), ref.to_vector(), 1e-6, 1e-6);
        EXPECT_TRUE(c.ok) << c.str();
    }
}
