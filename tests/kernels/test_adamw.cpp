#include <gtest/gtest.h>

#include <cmath>

#include "common/gpu_test.h"
#include "kernels/adamw.h"

using namespace effnet;
using namespace effnet::test;

// Two steps computed by hand from the update rule in kernels/adamw.h.
TEST(AdamW, TwoStepsMatchClosedForm) {
    AdamWStep s;
    s.lr = 0.1;
    s.weight_decay = 0.01;
    std::vector<double> p = {1.0, -2.0}, m = {0, 0}, v = {0, 0};
    std::vector<double> g = {0.5, -0.25};
    s.step = 1;
    cpu::adamw_update(p.data(), g.data(), m.data(), v.data(), 2, s, nullptr);
    // step 1: m = 0.1 g, v = 0.001 g^2, mhat = g, vhat = g^2 -> p = p(1 - 0.001) - 0.1 * g / (|g| + 1e-8)
    EXPECT_NEAR(p[0], 1.0 * 0.999 - 0.1 * 0.5 / (0.5 + 1e-8), 1e-12);
    EXPECT_NEAR(p[1], -2.0 * 0.999 + 0.1 * 0.25 / (0.25 + 1e-8), 1e-12);
    const double p0 = p[0];
    s.step = 2;
    std::vector<double> g2 = {-1.0, 0.0};
    cpu::adamw_update(p.data(), g2.data(), m.data(), v.data(), 2, s, nullptr);
    const double m2 = 0.9 * 0.05 + 0.1 * -1.0;        // -0.055
    const double v2 = 0.999 * 0.00025 + 0.001 * 1.0;  // 0.00124975
    const double bc1 = 1 - 0.81, bc2 = 1 - 0.999 * 0.999;
    EXPECT_NEAR(m[0], m2, 1e-15);
    EXPECT_NEAR(v[0], v2, 1e-15);
    EXPECT_NEAR(p[0], p0 * 0.999 - (0.1 / bc1) * m2 / (std::sqrt(v2) / std::sqrt(bc2) + 1e-8),
                1e-12);
}

TEST(AdamW, FloatAgreesWithDouble) {
    AdamWStep s;
    s.lr = 1e-3;
    s.weight_decay = 1e-3;
    std::vector<float> pf = {0.3f, -0.7f}, mf(2, 0), vf(2, 0), gf = {0.01f, -2.0f};
    std::vector<double> pd = {0.3f, -0.7f}, md(2, 0), vd(2, 0), gd = {0.01f, -2.0f};
    for (int t = 1; t <= 5; ++t) {
        s.step = t;
        cpu::adamw_update(pf.data(), gf.data(), mf.data(), vf.data(), 2, s, nullptr);
        cpu::adamw_update(pd.data(), gd.data(), md.data(), vd.data(), 2, s, nullptr);
    }
    EXPECT_NEAR(pf[0], pd[0], 1e-6);
    EXPECT_NEAR(pf[1], pd[1], 1e-6);
}

// ---- GPU vs the CPU reference (helpers and tolerances: common/gpu_test.h) ----
// Several steps over an interior range.

TEST(AdamWGpu, MatchesCpuOverSeveralSteps) {
    EFFNET_REQUIRE_GPU();
    Context g(Device::CUDA), c;
    const int64_t n = 100003;
    Tensor p = random_tensor(Shape{n}, 31), m = Tensor::zeros(Shape{n}),
           v = Tensor::zeros(Shape{n});
    Tensor pd = to_gpu(p), md = to_gpu(m), vd = to_gpu(v);
    AdamWStep s;
    s.lr = 1e-3;
    s.weight_decay = 1e-2;
    for (int t = 1; t <= 3; ++t) {
        Tensor grad = random_tensor(Shape{n}, 40 + uint64_t(t));
        s.step = t;
        adamw_update(p, grad, m, v, 5, n - 10, s,
                     c);  // an interior range: the ends must stay untouched
        adamw_update(pd, to_gpu(grad), md, vd, 5, n - 10, s, g);
    }
    expect_close(pd, p, "parameters", kOpTolerance);
    expect_close(md, m, "first moments", kOpTolerance);
    expect_close(vd, v, "second moments", kOpTolerance);
}
