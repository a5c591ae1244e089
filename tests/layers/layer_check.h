// Directional finite-difference check of a whole layer in float32.
//
// L(x, theta) = sum r * layer(x; theta). For random unit-scale directions v
// the analytic <grad, v> from backward is compared with
// (L(+eps v) - L(-eps v)) / 2 eps. Float32 rounding (~1e-7 |L| / eps) and
// curvature (eps^2) make ~1e-3 relative agreement the best achievable, so
// the tolerance is 2e-2: a wrong backward (a missed term, a wrong saved
// tensor) is off by O(1). The double-precision per-kernel checks in
// tests/kernels are the tight ones.
#pragma once

#include <gtest/gtest.h>

#include <cmath>

#include "common/gradcheck.h"
#include "layers/parameters.h"
#include "tensor/random.h"

namespace effnet::test {

inline double dot_f(const std::vector<float>& a, const std::vector<float>& b) {
    double s = 0;
    for (size_t i = 0; i < a.size(); ++i) s += double(a[i]) * b[i];
    return s;
}

inline void check_layer_gradients(Layer& layer, ParameterStore& store, const Shape& in_shape,
                                  uint64_t seed, double eps = 1e-2, double tol = 2e-2) {
    Context ctx;
    RunState run{Mode::TRAIN, 5, 3};
    Shape out_shape = layer.setup(in_shape, Device::CPU);
    Tensor x = Tensor::from_vector(in_shape, random_floats(in_shape.numel(), seed));
    std::vector<float> r = random_floats(out_shape.numel(), seed + 1);
    auto loss = [&](const Tensor& xin) {
        return dot_f(layer.forward(xin, run, ctx).to_vector(), r);
    };

    layer.forward(x, run, ctx);
    store.zero_grads();
    Tensor dx = layer.backward(Tensor::from_vector(out_shape, r), ctx);
    std::vector<float> dxv = dx.to_vector(), gp = store.grads().to_vector();

    for (int trial = 0; trial < 3; ++trial) {
        std::vector<float> v = random_floats(in_shape.numel(), seed + 10 + trial);
        std::vector<float> xp = x.to_vector(), xm = xp;
        for (size_t i = 0; i < v.size(); ++i) {
            xp[i] += float(eps) * v[i];
            xm[i] -= float(eps) * v[i];
        }
        double numeric =
            (loss(Tensor::from_vector(in_shape, xp)) - loss(Tensor::from_vector(in_shape, xm))) /
            (2 * eps);
        double analytic = dot_f(dxv, v);
        EXPECT_NEAR(analytic, numeric, tol * std::max(1.0, std::fabs(numeric)))
            << layer.kind() << " input direction " << trial;
    }
    if (store.count() == 0) return;
    std::vector<float> theta = store.values().to_vector();
    for (int trial = 0; trial < 3; ++trial) {
        std::vector<float> v = random_floats(theta.size(), seed + 20 + trial);
        auto at = [&](double s) {
            std::vector<float> t = theta;
            for (size_t i = 0; i < t.size(); ++i) t[i] += float(s) * v[i];
            store.values().copy_from(Tensor::from_vector(store.values().shape(), t));
            return loss(x);
        };
        double numeric = (at(eps) - at(-eps)) / (2 * eps);
        at(0);
        double analytic = dot_f(gp, v);
        EXPECT_NEAR(analytic, numeric, tol * std::max(1.0, std::fabs(numeric)))
            << layer.kind() << " parameter direction " << trial;
    }
}

}  // namespace effnet::test
