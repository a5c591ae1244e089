// Fused batch norm + swish (kernels/bn_swish.h): the CPU kernels against the
// batch-norm and swish references composed, and finite differences in double.
#include <gtest/gtest.h>

#include <cmath>
#include <tuple>

#include "common/gpu_test.h"
#include "common/gradcheck.h"
#include "kernels/activation.h"
#include "kernels/batchnorm.h"
#include "kernels/bn_swish.h"

using namespace effnet;
using namespace effnet::test;

// Fused batch norm + swish: forward equals the two references in sequence,
// backward matches finite differences in double.
TEST(BnSwish, ForwardAndBackwardMatchTheComposition) {
    const int64_t m = 13, c = 6;
    auto x = random_vector(m * c, 81, -2, 3), gamma = random_vector(c, 82, 0.5, 1.5),
         beta = random_vector(c, 83);
    auto r = random_vector(m * c, 84);
    std::vector<double> y(m * c, NAN), mean(c), inv(c), affine(2 * c), z(m * c), want(m * c);
    cpu::bn_swish_train_forward(x.data(), gamma.data(), beta.data(), y.data(), mean.data(),
                                inv.data(), affine.data(), (double*)nullptr, (double*)nullptr, m, c,
                                1e-5, 0.1, nullptr);
    std::vector<double> m2(c), i2(c);
    cpu::batchnorm_train_forward(x.data(), gamma.data(), beta.data(), z.data(), m2.data(),
                                 i2.data(), (double*)nullptr, (double*)nullptr, m, c, 1e-5, 0.1,
                                 nullptr);
    cpu::swish_forward(z.data(), want.data(), m * c, nullptr);
    EXPECT_LT(gradient_error(y, want), 1e-14);
    std::vector<double> dx(m * c, NAN), dg(c, 0), db(c, 0);
    cpu::bn_swish_backward(x.data(), r.data(), gamma.data(), mean.data(), inv.data(), affine.data(),
                           dx.data(), dg.data(), db.data(), m, c, nullptr);
    auto loss = [&](const std::vector<double>& xv, const std::vector<double>& gv,
                    const std::vector<double>& bv) {
        std::vector<double> yv(m * c), mv(c), iv(c), av(2 * c);
        cpu::bn_swish_train_forward(xv.data(), gv.data(), bv.data(), yv.data(), mv.data(),
                                    iv.data(), av.data(), (double*)nullptr, (double*)nullptr, m, c,
                                    1e-5, 0.1, nullptr);
        return dot(yv, r);
    };
    EXPECT_LT(gradient_error(
                  dx, numeric_gradient(x, [&](const auto& v) { return loss(v, gamma, beta); })),
              kGradTolerance);
    {  // and the composition of the two backward references
        std::vector<double> dz(m * c), dx2(m * c), dg2(c, 0), db2(c, 0);
        cpu::swish_backward(z.data(), r.data(), dz.data(), m * c, nullptr);
        cpu::batchnorm_backward(x.data(), dz.data(), gamma.data(), mean.data(), inv.data(),
                                dx2.data(), dg2.data(), db2.data(), m, c, nullptr);
        EXPECT_LT(gradient_error(dx, dx2), 1e-12);
        EXPECT_LT(gradient_error(dg, dg2), 1e-12);
        EXPECT_LT(gradient_error(db, db2), 1e-12);
    }
    EXPECT_LT(gradient_error(
                  dg, numeric_gradient(gamma, [&](const auto& v) { return loss(x, v, beta); })),
              kGradTolerance);
    EXPECT_LT(gradient_error(
                  db, numeric_gradient(beta, [&](const auto& v) { return loss(x, gamma, v); })),
              kGradTolerance);
}

// Fused eval (running statistics) equals the eval reference followed by swish.
TEST(BnSwish, EvalMatchesTheComposition) {
    const int64_t m = 11, c = 9;
    auto x = random_vector(m * c, 85, -3, 3), gamma = random_vector(c, 86, 0.5, 1.5),
         beta = random_vector(c, 87);
    auto rm = random_vector(c, 88), rv = random_vector(c, 89, 0.5, 2);
    std::vector<double> y(m * c, NAN), z(m * c), want(m * c);
    cpu::bn_swish_eval_forward(x.data(), gamma.data(), beta.data(), rm.data(), rv.data(), y.data(),
                               m, c, 1e-5, nullptr);
    cpu::batchnorm_eval_forward(x.data(), gamma.data(), beta.data(), rm.data(), rv.data(), z.data(),
                                m, c, 1e-5, nullptr);
    cpu::swish_forward(z.data(), want.data(), m * c, nullptr);
    EXPECT_LT(gradient_error(y, want), 1e-14);
}

// The fused backward differentiates exactly the function its forward
// computed: z is recomputed bit for bit from the saved scale and shift, so in
// float32 it matches the composition that keeps z (BN forward, swish
// backward on that z, BN backward) to rounding of the last operations, even
// where a channel's mean dwarfs its spread (|mean| / std ~ 1e3). Recomputing
// z from the float-rounded mean instead would move it by ~1e-7 * |mean| / std.
TEST(BnSwish, Float32BackwardUsesTheForwardsZ) {
    const int64_t m = 4096, c = 8;
    std::vector<float> x = random_floats(m * c, 71, -1, 1), g = random_floats(c, 72, 0.5, 1.5),
                       b = random_floats(c, 73);
    std::vector<float> dy = random_floats(m * c, 74);
    for (int64_t i = 0; i < m * c; ++i) x[size_t(i)] += 100.0f * float(1 + i % c);
    std::vector<float> y(m * c), mean(c), inv(c), aff(2 * c), dx(m * c), dg(c, 0), db(c, 0);
    cpu::bn_swish_train_forward(x.data(), g.data(), b.data(), y.data(), mean.data(), inv.data(),
                                aff.data(), (float*)nullptr, (float*)nullptr, m, c, 1e-5, 0.1,
                                nullptr);
    cpu::bn_swish_backward(x.data(), dy.data(), g.data(), mean.data(), inv.data(), aff.data(),
                           dx.data(), dg.data(), db.data(), m, c, nullptr);
    std::vector<float> z(m * c), y2(m * c), m2(c), i2(c), dz(m * c), dx2(m * c), dg2(c, 0),
        db2(c, 0);
    cpu::batchnorm_train_forward(x.data(), g.data(), b.data(), z.data(), m2.data(), i2.data(),
                                 (float*)nullptr, (float*)nullptr, m, c, 1e-5, 0.1, nullptr);
    cpu::swish_forward(z.data(), y2.data(), m * c, nullptr);
    cpu::swish_backward(z.data(), dy.data(), dz.data(), m * c, nullptr);
    cpu::batchnorm_backward(x.data(), dz.data(), g.data(), m2.data(), i2.data(), dx2.data(),
                            dg2.data(), db2.data(), m, c, nullptr);
    for (auto [what, got, want] :
         {std::make_tuple("y", &y, &y2), std::make_tuple("dx", &dx, &dx2),
          std::make_tuple("dgamma", &dg, &dg2), std::make_tuple("dbeta", &db, &db2)}) {
        auto cmp = compare(*got, *want, 0, 0);
        EXPECT_LE(cmp.rel_l2, 1e-6) << what << ": " << cmp.str();
    }
}

// ---- GPU vs the CPU reference (helpers and tolerances: common/gpu_test.h) ----
// The fused kernels and the cuDNN composition.

TEST(BnSwishGpu, FusedKernelsMatchCpu) {
    EFFNET_REQUIRE_GPU();
    Context g(Device::CUDA), c;
    for (auto [rows, ch] : {std::make_pair(int64_t(2 * 56 * 56), int64_t(144)),
                            std::make_pair(int64_t(9), int64_t(7))}) {
        SCOPED_TRACE("M=" + std::to_string(rows) + " C=" + std::to_string(ch));
        const Shape xs{rows, ch}, cs{ch};
        Tensor x = random_tensor(xs, 91, -2, 3), gamma = random_tensor(cs, 92, 0.5, 1.5),
               beta = random_tensor(cs, 93), dy = random_tensor(xs, 94);
        BatchNormParams p;
        const Shape as{2, ch};
        Tensor y = Tensor::empty(xs), mean = Tensor::empty(cs), inv = Tensor::empty(cs),
               aff = Tensor::empty(as), rm = Tensor::zeros(cs), rv = Tensor::full(cs, 1);
        bn_swish_train_forward(x, gamma, beta, y, mean, inv, aff, rm, rv, p, c);
        Tensor yd = poisoned_gpu(xs), md = poisoned_gpu(cs), id = poisoned_gpu(cs),
               ad = poisoned_gpu(as), rmd = Tensor::zeros(cs, Device::CUDA),
               rvd = Tensor::full(cs, 1, Device::CUDA);
        bn_swish_train_forward(to_gpu(x), to_gpu(gamma), to_gpu(beta), yd, md, id, ad, rmd, rvd, p,
                               g);
        expect_close(ad, aff, "saved scale and shift", kOpTolerance);
        expect_close(yd, y, "fused forward", kOpTolerance);
        expect_close(rvd, rv, "running var", kOpTolerance);
        Tensor dx = Tensor::empty(xs), dgam = Tensor::zeros(cs), dbet = Tensor::zeros(cs);
        bn_swish_backward(x, dy, gamma, mean, inv, aff, dx, dgam, dbet, c);
        Tensor dxd = poisoned_gpu(xs), dgd = Tensor::zeros(cs, Device::CUDA),
               dbd = Tensor::zeros(cs, Device::CUDA);
        bn_swish_backward(to_gpu(x), to_gpu(dy), to_gpu(gamma), md, id, ad, dxd, dgd, dbd, g);
        expect_close(dxd, dx, "fused input gradient", kOpTolerance);
        expect_close(dgd, dgam, "gamma gradient", kOpTolerance);
        expect_close(dbd, dbet, "beta gradient", kOpTolerance);
        Tensor rmr = random_tensor(cs, 95), rvr = random_tensor(cs, 96, 0.5, 2),
               ye = Tensor::empty(xs), yed = poisoned_gpu(xs);
        bn_swish_eval_forward(x, gamma, beta, rmr, rvr, ye, p, c);
        bn_swish_eval_forward(to_gpu(x), to_gpu(gamma), to_gpu(beta), to_gpu(rmr), to_gpu(rvr), yed,
                              p, g);
        expect_close(yed, ye, "fused eval forward", kOpTolerance);
        // --kernels cudnn: cuDNN's batch norm with swish apart, same results.
        Context vendor(Device::CUDA);
        vendor.batchnorm_kernels = KernelChoice::CUDNN;
        Tensor yv = poisoned_gpu(xs), mv = poisoned_gpu(cs), iv = poisoned_gpu(cs),
               av = poisoned_gpu(as), rmv = Tensor::zeros(cs, Device::CUDA),
               rvv = Tensor::full(cs, 1, Device::CUDA);
        bn_swish_train_forward(to_gpu(x), to_gpu(gamma), to_gpu(beta), yv, mv, iv, av, rmv, rvv, p,
                               vendor);
        expect_close(yv, y, "cuDNN composition forward", kOpTolerance);
        expect_close(rvv, rv, "cuDNN composition running var", kOpTolerance);
        Tensor dxv = poisoned_gpu(xs), dgv = Tensor::zeros(cs, Device::CUDA),
               dbv = Tensor::zeros(cs, Device::CUDA);
        bn_swish_backward(to_gpu(x), to_gpu(dy), to_gpu(gamma), mv, iv, av, dxv, dgv, dbv, vendor,
                          p.eps);
        expect_close(dxv, dx, "cuDNN composition input gradient", kOpTolerance);
        expect_close(dgv, dgam, "cuDNN composition gamma gradient", kOpTolerance);
        expect_close(dbv, dbet, "cuDNN composition beta gradient", kOpTolerance);
        Tensor yev = poisoned_gpu(xs);
        bn_swish_eval_forward(to_gpu(x), to_gpu(gamma), to_gpu(beta), to_gpu(rmr), to_gpu(rvr), yev,
                              p, vendor);
        expect_close(yev, ye, "cuDNN composition eval forward", kOpTolerance);
    }
}
