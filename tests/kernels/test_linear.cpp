#include <gtest/gtest.h>

#include "common/gradcheck.h"
#include "kernels/linear.h"

using namespace effnet;
using namespace effnet::test;

TEST(Linear, ForwardKnownValues) {
    std::vector<double> x = {1, 2, 3, 4, 5, 6};        // [2, 3]
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
    cpu::linear_backward(x.data(), w.data(), r.data(), dx.data(), dw.data(), db.data(), n, in, out, nullptr);
    auto loss = [&](const std::vector<double>& xv, const std::vector<double>& wv, const std::vector<double>& bv) {
        std::vector<double> y(n * out);
        cpu::linear_forward(xv.data(), wv.data(), bv.data(), y.data(), n, in, out, nullptr);
        return dot(y, r);
    };
    EXPECT_LT(gradient_error(dx, numeric_gradient(x, [&](const auto& v) { return loss(v, w, b); })), kGradTolerance);
    EXPECT_LT(gradient_error(dw, numeric_gradient(w, [&](const auto& v) { return loss(x, v, b); })), kGradTolerance);
    EXPECT_LT(gradient_error(db, numeric_gradient(b, [&](const auto& v) { return loss(x, w, v); })), kGradTolerance);
}
