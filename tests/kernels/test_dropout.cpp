#include <gtest/gtest.h>

#include "common/gpu_test.h"
#include "common/gradcheck.h"
#include "kernels/dropout.h"

using namespace effnet;
using namespace effnet::test;

TEST(Dropout, DropsAboutPAndScalesKept) {
    const int64_t n = 100000;
    std::vector<float> x(n, 1.0f), y(n);
    cpu::dropout_apply(x.data(), y.data(), n, 0.2f, 7, 3, 0, nullptr);
    int64_t zeros = 0;
    for (float v : y) {
        if (v == 0)
            ++zeros;
        else
            EXPECT_FLOAT_EQ(v, 1.25f);
    }
    EXPECT_NEAR(double(zeros) / n, 0.2, 0.01);
}

TEST(Dropout, BackwardUsesTheForwardMaskAndIsLinear) {
    const int64_t n = 50;
    auto x = random_vector(n, 51), r = random_vector(n, 52);
    std::vector<double> y(n), dx(n);
    cpu::dropout_apply(x.data(), y.data(), n, 0.3f, 9, 1, 0, nullptr);
    cpu::dropout_apply(r.data(), dx.data(), n, 0.3f, 9, 1, 0, nullptr);  // backward = same mask
    auto num = numeric_gradient(x, [&](const std::vector<double>& xv) {
        std::vector<double> yv(n);
        cpu::dropout_apply(xv.data(), yv.data(), n, 0.3f, 9, 1, 0, nullptr);
        return dot(yv, r);
    });
    EXPECT_LT(gradient_error(dx, num), kGradTolerance);
    std::vector<double> other(n);
    cpu::dropout_apply(x.data(), other.data(), n, 0.3f, 10, 1, 0, nullptr);
    EXPECT_NE(y, other) << "a different seed must give a different mask";
}

TEST(DropPath, DropsWholeSamples) {
    const int64_t batch = 64, per = 10;
    std::vector<float> x(batch * per, 2.0f), y(batch * per);
    cpu::drop_path_apply(x.data(), y.data(), batch, per, 0.5f, 1, 2, 0, nullptr);
    int dropped = 0;
    for (int64_t s = 0; s < batch; ++s) {
        for (int64_t i = 1; i < per; ++i)
            ASSERT_EQ(y[s * per + i], y[s * per]) << "sample " << s << " partly dropped";
        if (y[s * per] == 0)
            ++dropped;
        else
            EXPECT_FLOAT_EQ(y[s * per], 4.0f);
    }
    EXPECT_GT(dropped, 10);
    EXPECT_LT(dropped, 54);
}

TEST(Dropout, FirstPlacesRowsInALargerBatch) {
    // Two halves with `first` at their offset draw the whole batch's masks:
    // data-parallel ranks drop exactly what one process would.
    const int64_t n = 64, batch = 8, per = n / batch;
    std::vector<float> x(n, 1.0f), whole(n), halves(n), shifted(n);
    cpu::dropout_apply(x.data(), whole.data(), n, 0.5f, 3, 4, 0, nullptr);
    cpu::dropout_apply(x.data(), halves.data(), n / 2, 0.5f, 3, 4, 0, nullptr);
    cpu::dropout_apply(x.data() + n / 2, halves.data() + n / 2, n / 2, 0.5f, 3, 4, uint64_t(n / 2),
                       nullptr);
    EXPECT_EQ(halves, whole);
    cpu::dropout_apply(x.data() + n / 2, shifted.data() + n / 2, n / 2, 0.5f, 3, 4, 0, nullptr);
    EXPECT_NE(std::vector<float>(shifted.begin() + n / 2, shifted.end()),
              std::vector<float>(whole.begin() + n / 2, whole.end()));
    cpu::drop_path_apply(x.data(), whole.data(), batch, per, 0.5f, 3, 5, 0, nullptr);
    cpu::drop_path_apply(x.data(), halves.data(), batch / 2, per, 0.5f, 3, 5, 0, nullptr);
    cpu::drop_path_apply(x.data() + n / 2, halves.data() + n / 2, batch / 2, per, 0.5f, 3, 5,
                         uint64_t(batch / 2), nullptr);
    EXPECT_EQ(halves, whole);
}

TEST(Dropout, ZeroProbabilityIsIdentity) {
    std::vector<float> x = {1, -2, 3}, y(3);
    cpu::dropout_apply(x.data(), y.data(), 3, 0.0f, 1, 1, 0, nullptr);
    EXPECT_EQ(x, y);
}

// ---- GPU vs the CPU reference (helpers and tolerances: common/gpu_test.h) ----
// Bit-identical masks on both devices.

TEST(DropoutGpu, SameMasksAsCpu) {
    EFFNET_REQUIRE_GPU();
    Context g(Device::CUDA), c;
    Tensor x = random_tensor(Shape{4, 9, 9, 13}, 51), y = Tensor::empty(x.shape()),
           yd = poisoned_gpu(x.shape());
    dropout_forward(x, y, 0.3f, 7, 99, 0, c);
    dropout_forward(to_gpu(x), yd, 0.3f, 7, 99, 0, g);
    EXPECT_EQ(yd.to_vector(), y.to_vector()) << "Philox masks must agree bit for bit";
    drop_path_forward(x, y, 0.5f, 7, 100, 0, c);
    drop_path_forward(to_gpu(x), yd, 0.5f, 7, 100, 0, g);
    EXPECT_EQ(yd.to_vector(), y.to_vector());
}
