#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>

#include "common/b0_shapes.h"
#include "common/gpu_test.h"
#include "common/gradcheck.h"
#include "common/param_name.h"
#include "kernels/batchnorm.h"
#include "kernels/bn_swish.h"

using namespace effnet;
using namespace effnet::test;

TEST(BatchNorm, TrainForwardNormalisesAndUpdatesRunningStats) {
    const int64_t m = 6, c = 2;
    std::vector<double> x = {1, 10, 2, 20, 3, 30, 4, 40, 5, 50, 6, 60};
    std::vector<double> gamma = {2, 1}, beta = {0.5, -1}, y(m * c), mean(c), invstd(c);
    std::vector<double> rm = {0, 0}, rv = {1, 1};
    cpu::batchnorm_train_forward(x.data(), gamma.data(), beta.data(), y.data(), mean.data(),
                                 invstd.data(), rm.data(), rv.data(), m, c, 1e-5, 0.1, nullptr);
    // channel 0: mean 3.5, biased var 35/12, unbiased 3.5
    EXPECT_NEAR(mean[0], 3.5, 1e-12);
    EXPECT_NEAR(invstd[0], 1 / std::sqrt(35.0 / 12 + 1e-5), 1e-12);
    EXPECT_NEAR(rm[0], 0.35, 1e-12);
    EXPECT_NEAR(rv[0], 0.9 + 0.1 * 3.5, 1e-12);
    EXPECT_NEAR(rv[1], 0.9 + 0.1 * 350.0, 1e-9);
    EXPECT_NEAR(y[0], 2 * (1 - 3.5) * invstd[0] + 0.5, 1e-12);
    double s = 0;
    for (int64_t r = 0; r < m; ++r) s += y[r * c + 1];
    EXPECT_NEAR(s / m, -1.0, 1e-12);  // normalised mean is beta
}

TEST(BatchNorm, EvalUsesRunningStats) {
    std::vector<double> x = {3, -1}, gamma = {2, 1}, beta = {1, 0}, rm = {1, 0}, rv = {4, 1}, y(2);
    cpu::batchnorm_eval_forward(x.data(), gamma.data(), beta.data(), rm.data(), rv.data(), y.data(),
                                1, 2, 0.0, nullptr);
    EXPECT_NEAR(y[0], 2 * (3 - 1) / 2.0 + 1, 1e-12);
    EXPECT_NEAR(y[1], -1, 1e-12);
}

namespace {
// {rows M = N*H*W, channels} of a batch-norm gradient check, named "m10_c3".
struct RowsChannels {
    int64_t rows, channels;
};
std::string describe(const RowsChannels& s) {
    return "m" + std::to_string(s.rows) + "_c" + std::to_string(s.channels);
}
void PrintTo(const RowsChannels& s, std::ostream* os) { *os << describe(s); }

class BatchNormGrad : public ::testing::TestWithParam<RowsChannels> {};
}  // namespace

TEST_P(BatchNormGrad, BackwardMatchesFiniteDifferences) {
    const int64_t m = GetParam().rows,
                  c = GetParam().channels;  // not a structured binding: lambdas capture them
    auto x = random_vector(m * c, 21, -2, 3), gamma = random_vector(c, 22, 0.5, 1.5),
         beta = random_vector(c, 23);
    auto r = random_vector(m * c, 24);
    std::vector<double> y(m * c), mean(c), invstd(c), dx(m * c, NAN), dgamma(c, 0), dbeta(c, 0);
    cpu::batchnorm_train_forward(x.data(), gamma.data(), beta.data(), y.data(), mean.data(),
                                 invstd.data(), (double*)nullptr, (double*)nullptr, m, c, 1e-5, 0.1,
                                 nullptr);
    cpu::batchnorm_backward(x.data(), r.data(), gamma.data(), mean.data(), invstd.data(), dx.data(),
                            dgamma.data(), dbeta.data(), m, c, nullptr);
    auto loss = [&](const std::vector<double>& xv, const std::vector<double>& gv,
                    const std::vector<double>& bv) {
        std::vector<double> yv(m * c), mv(c), iv(c);
        cpu::batchnorm_train_forward(xv.data(), gv.data(), bv.data(), yv.data(), mv.data(),
                                     iv.data(), (double*)nullptr, (double*)nullptr, m, c, 1e-5, 0.1,
                                     nullptr);
        return dot(yv, r);
    };
    EXPECT_LT(gradient_error(
                  dx, numeric_gradient(x, [&](const auto& v) { return loss(v, gamma, beta); })),
              kGradTolerance);
    EXPECT_LT(gradient_error(
                  dgamma, numeric_gradient(gamma, [&](const auto& v) { return loss(x, v, beta); })),
              kGradTolerance);
    EXPECT_LT(gradient_error(
                  dbeta, numeric_gradient(beta, [&](const auto& v) { return loss(x, gamma, v); })),
              kGradTolerance);
}

// Odd row counts, a single channel, channels not a multiple of 8.
INSTANTIATE_TEST_SUITE_P(Shapes, BatchNormGrad,
                         ::testing::Values(RowsChannels{10, 3}, RowsChannels{7, 1},
                                           RowsChannels{25, 11}),
                         ParamName());

// ---- GPU vs the CPU reference (helpers and tolerances: common/gpu_test.h) ----
// Batch norm and fused BN+swish at small shapes and
// at every B0 shape at batch 32 ("B0Batch32"), on both GPU paths.

namespace {

// Training forward, backward (dgamma, dbeta accumulated onto random values) and eval forward.
void check_batchnorm(const BnShape& s, uint64_t seed, Context& gpu) {
    SCOPED_TRACE(describe(s));
    Context c;
    const Shape xs{s.rows, s.c}, cs{s.c}, as{2, s.c};
    Tensor x = random_tensor(xs, seed, -2.0f, 3.0f),
           gamma = random_tensor(cs, seed + 1, 0.5f, 1.5f), beta = random_tensor(cs, seed + 2);
    Tensor dy = random_tensor(xs, seed + 3), rm0 = random_tensor(cs, seed + 4),
           rv0 = random_tensor(cs, seed + 5, 0.5f, 2.0f);
    Tensor dg0 = random_tensor(cs, seed + 6), db0 = random_tensor(cs, seed + 7);
    BatchNormParams p;
    Tensor y = Tensor::empty(xs), mean = Tensor::empty(cs), inv = Tensor::empty(cs),
           aff = Tensor::empty(as);
    Tensor rm = Tensor::empty(cs), rv = Tensor::empty(cs), dx = Tensor::empty(xs),
           dg = Tensor::empty(cs), db = Tensor::empty(cs);
    rm.copy_from(rm0);
    rv.copy_from(rv0);
    dg.copy_from(dg0);
    db.copy_from(db0);
    if (s.swish) {
        bn_swish_train_forward(x, gamma, beta, y, mean, inv, aff, rm, rv, p, c);
        bn_swish_backward(x, dy, gamma, mean, inv, aff, dx, dg, db, c);
    } else {
        batchnorm_train_forward(x, gamma, beta, y, mean, inv, rm, rv, p, c);
        batchnorm_backward(x, dy, gamma, mean, inv, dx, dg, db, c);
    }
    Tensor xd = to_gpu(x), gd = to_gpu(gamma), bd = to_gpu(beta), dyd = to_gpu(dy);
    // The GPU's training forward and backward into fresh outputs.
    struct Outputs {
        Tensor y, mean, inv, aff, rm, rv, dx, dg, db;
    };
    auto run_gpu = [&]() {
        Outputs o{poisoned_gpu(xs), poisoned_gpu(cs), poisoned_gpu(cs),
                  poisoned_gpu(as), to_gpu(rm0),      to_gpu(rv0),
                  poisoned_gpu(xs), to_gpu(dg0),      to_gpu(db0)};
        if (s.swish) {
            bn_swish_train_forward(xd, gd, bd, o.y, o.mean, o.inv, o.aff, o.rm, o.rv, p, gpu);
            bn_swish_backward(xd, dyd, gd, o.mean, o.inv, o.aff, o.dx, o.dg, o.db, gpu);
        } else {
            batchnorm_train_forward(xd, gd, bd, o.y, o.mean, o.inv, o.rm, o.rv, p, gpu);
            batchnorm_backward(xd, dyd, gd, o.mean, o.inv, o.dx, o.dg, o.db, gpu);
        }
        return o;
    };
    const Outputs o = run_gpu();
    if (s.swish) expect_close(o.aff.to_vector(), aff, "saved scale and shift", kB0Tolerance);
    const std::vector<float> mean_gpu = o.mean.to_vector(), inv_gpu = o.inv.to_vector(),
                             dg_gpu = o.dg.to_vector();
    expect_close(o.y.to_vector(), y, "train forward", kB0Tolerance);
    expect_close(mean_gpu, mean, "saved mean", kB0Tolerance);
    expect_close(inv_gpu, inv, "saved invstd", kB0Tolerance);
    expect_close(o.rm.to_vector(), rm, "running mean", kB0Tolerance);
    expect_close(o.rv.to_vector(), rv, "running var", kB0Tolerance);
    expect_close(o.dx.to_vector(), dx, "input gradient", kB0Tolerance);
    expect_close(dg_gpu, dg, "gamma gradient (accumulated onto random values)", kB0Tolerance);
    expect_close(o.db.to_vector(), db, "beta gradient (accumulated onto random values)",
                 kB0Tolerance);
    Tensor ye = Tensor::empty(xs), yed = poisoned_gpu(xs);
    if (s.swish) {
        bn_swish_eval_forward(x, gamma, beta, rm0, rv0, ye, p, c);
        bn_swish_eval_forward(xd, gd, bd, to_gpu(rm0), to_gpu(rv0), yed, p, gpu);
    } else {
        batchnorm_eval_forward(x, gamma, beta, rm0, rv0, ye, p, c);
        batchnorm_eval_forward(xd, gd, bd, to_gpu(rm0), to_gpu(rv0), yed, p, gpu);
    }
    expect_close(yed.to_vector(), ye, "eval forward", kB0Tolerance);
    {  // once more: a fixed summation order gives the same bits
        const Outputs again = run_gpu();
        EXPECT_EQ(again.mean.to_vector(), mean_gpu) << "statistics not bit-reproducible";
        EXPECT_EQ(again.inv.to_vector(), inv_gpu) << "statistics not bit-reproducible";
        EXPECT_EQ(again.dg.to_vector(), dg_gpu) << "gamma gradient not bit-reproducible";
    }
}

}  // namespace

TEST(BatchNormGpu, TrainEvalAndBackwardMatchCpu) {
    EFFNET_REQUIRE_GPU();
    Context g(Device::CUDA), c;
    for (auto [rows, ch] :
         {std::make_pair(int64_t(2 * 112 * 112), int64_t(32)),
          std::make_pair(int64_t(7), int64_t(5)), std::make_pair(int64_t(32 * 49), int64_t(1280)),
          std::make_pair(int64_t(1000), int64_t(35))}) {
        SCOPED_TRACE("M=" + std::to_string(rows) + " C=" + std::to_string(ch));
        const Shape xs{rows, ch}, cs{ch};
        Tensor x = random_tensor(xs, 1, -2, 3), gamma = random_tensor(cs, 2, 0.5, 1.5),
               beta = random_tensor(cs, 3), dy = random_tensor(xs, 4);
        Tensor rm = random_tensor(cs, 5), rv = random_tensor(cs, 6, 0.5, 2);
        BatchNormParams p;
        Tensor y = Tensor::empty(xs), mean = Tensor::empty(cs), inv = Tensor::empty(cs),
               rm_c = Tensor::empty(cs), rv_c = Tensor::empty(cs);
        rm_c.copy_from(rm);
        rv_c.copy_from(rv);
        batchnorm_train_forward(x, gamma, beta, y, mean, inv, rm_c, rv_c, p, c);
        Tensor yd = poisoned_gpu(xs), meand = poisoned_gpu(cs), invd = poisoned_gpu(cs),
               rmd = to_gpu(rm), rvd = to_gpu(rv);
        batchnorm_train_forward(to_gpu(x), to_gpu(gamma), to_gpu(beta), yd, meand, invd, rmd, rvd,
                                p, g);
        expect_close(yd, y, "train forward", kOpTolerance);
        expect_close(meand, mean, "saved mean", kOpTolerance);
        expect_close(invd, inv, "saved invstd", kOpTolerance);
        expect_close(rmd, rm_c, "running mean", kOpTolerance);
        expect_close(rvd, rv_c, "running var", kOpTolerance);
        Tensor dx = Tensor::empty(xs), dgam = Tensor::full(cs, 0.5f), dbet = Tensor::full(cs, 0.5f);
        batchnorm_backward(x, dy, gamma, mean, inv, dx, dgam, dbet, c);
        Tensor dxd = poisoned_gpu(xs), dgamd = Tensor::full(cs, 0.5f, Device::CUDA),
               dbetd = Tensor::full(cs, 0.5f, Device::CUDA);
        batchnorm_backward(to_gpu(x), to_gpu(dy), to_gpu(gamma), meand, invd, dxd, dgamd, dbetd, g);
        expect_close(dxd, dx, "input gradient", kOpTolerance);
        expect_close(dgamd, dgam, "gamma gradient (accumulated)", kOpTolerance);
        expect_close(dbetd, dbet, "beta gradient (accumulated)", kOpTolerance);
        Tensor ye = Tensor::empty(xs), yed = poisoned_gpu(xs);
        batchnorm_eval_forward(x, gamma, beta, rm, rv, ye, p, c);
        batchnorm_eval_forward(to_gpu(x), to_gpu(gamma), to_gpu(beta), to_gpu(rm), to_gpu(rv), yed,
                               p, g);
        expect_close(yed, ye, "eval forward", kOpTolerance);
        // The cuDNN path (--kernels cudnn) against the CPU reference too.
        Context vendor(Device::CUDA);
        vendor.batchnorm_kernels = KernelChoice::CUDNN;
        Tensor yv = poisoned_gpu(xs), meanv = poisoned_gpu(cs), invv = poisoned_gpu(cs),
               rmv = to_gpu(rm), rvv = to_gpu(rv);
        batchnorm_train_forward(to_gpu(x), to_gpu(gamma), to_gpu(beta), yv, meanv, invv, rmv, rvv,
                                p, vendor);
        expect_close(yv, y, "cuDNN train forward", kOpTolerance);
        expect_close(rmv, rm_c, "cuDNN running mean", kOpTolerance);
        expect_close(rvv, rv_c, "cuDNN running var", kOpTolerance);
        Tensor dxv = poisoned_gpu(xs), dgv = Tensor::full(cs, 0.5f, Device::CUDA),
               dbv = Tensor::full(cs, 0.5f, Device::CUDA);
        batchnorm_backward(to_gpu(x), to_gpu(dy), to_gpu(gamma), meanv, invv, dxv, dgv, dbv, vendor,
                           p.eps);
        expect_close(dxv, dx, "cuDNN input gradient", kOpTolerance);
        expect_close(dgv, dgam, "cuDNN gamma gradient", kOpTolerance);
        expect_close(dbv, dbet, "cuDNN beta gradient", kOpTolerance);
    }
}

TEST(BatchNormGpu, B0Batch32MatchesCpu) {
    EFFNET_REQUIRE_GPU();
    Context gpu(Device::CUDA);
    uint64_t seed = 300;
    for (const BnShape& s : b0_shapes(32).batchnorm) check_batchnorm(s, seed += 10, gpu);
}

// Batch-norm statistics where a channel's mean dwarfs its spread (x in
// [998, 1003]): the GPU's one-pass shifted sums must give the CPU's two-pass
// mean and variance. Thresholds as above for the statistics; the normalised
// output z = x*scale + shift cancels (|x*scale| ~ 1000, |z| < 2) and the GPU
// contracts it into one FMA where the CPU rounds the product first, so z may
// differ by half an ulp of x*scale: atol 4 * FLT_EPSILON * max|x*scale|.
TEST(BatchNormGpu, LargeMeanSmallSpreadStatisticsMatchCpu) {
    EFFNET_REQUIRE_GPU();
    Context gpu(Device::CUDA), c;
    for (const BnShape& s : {BnShape{4 * 28 * 28, 40, false}, BnShape{4 * 28 * 28, 40, true},
                             BnShape{777, 13, true}}) {
        SCOPED_TRACE(describe(s));
        const Shape xs{s.rows, s.c}, cs{s.c}, as{2, s.c};
        Tensor x = random_tensor(xs, 701, 998.0f, 1003.0f),
               gamma = random_tensor(cs, 702, 0.5f, 1.5f), beta = random_tensor(cs, 703);
        Tensor rm0 = random_tensor(cs, 704), rv0 = random_tensor(cs, 705, 0.5f, 2.0f);
        BatchNormParams p;
        Tensor y = Tensor::empty(xs), mean = Tensor::empty(cs), inv = Tensor::empty(cs),
               aff = Tensor::empty(as), rm = Tensor::empty(cs), rv = Tensor::empty(cs);
        rm.copy_from(rm0);
        rv.copy_from(rv0);
        Tensor yd = poisoned_gpu(xs), md = poisoned_gpu(cs), id = poisoned_gpu(cs),
               ad = poisoned_gpu(as), rmd = to_gpu(rm0), rvd = to_gpu(rv0);
        if (s.swish) {
            bn_swish_train_forward(x, gamma, beta, y, mean, inv, aff, rm, rv, p, c);
            bn_swish_train_forward(to_gpu(x), to_gpu(gamma), to_gpu(beta), yd, md, id, ad, rmd, rvd,
                                   p, gpu);
            expect_close(ad.to_vector(), aff, "saved scale and shift", kB0Tolerance);
        } else {
            batchnorm_train_forward(x, gamma, beta, y, mean, inv, rm, rv, p, c);
            batchnorm_train_forward(to_gpu(x), to_gpu(gamma), to_gpu(beta), yd, md, id, rmd, rvd, p,
                                    gpu);
        }
        expect_close(md.to_vector(), mean, "saved mean", kB0Tolerance);
        expect_close(id.to_vector(), inv, "saved invstd", kB0Tolerance);
        expect_close(rmd.to_vector(), rm, "running mean", kB0Tolerance);
        expect_close(rvd.to_vector(), rv, "running var", kB0Tolerance);
        const std::vector<float> inv_host = inv.to_vector(), gamma_host = gamma.to_vector();
        double max_product = 0;
        for (int64_t j = 0; j < s.c; ++j)
            max_product =
                std::max(max_product, 1003.0 * gamma_host[size_t(j)] * inv_host[size_t(j)]);
        expect_close(yd.to_vector(), y, "normalised output",
                     kB0Tolerance.with_atol(4 * double(FLT_EPSILON) * max_product));
    }
}

// dgamma and dbeta accumulate (as GradientAccumulationGpu in test_depthwise_conv.cpp).
TEST(GradientAccumulationGpu, BatchNormAndBnSwishGammaBetaAccumulate) {
    EFFNET_REQUIRE_GPU();
    Context gpu(Device::CUDA), c;
    for (const BnShape& s :
         {BnShape{2 * 14 * 14, 24, false}, BnShape{2 * 14 * 14, 24, true}, BnShape{37, 5, false},
          BnShape{37, 5, true}, BnShape{300, 130, true}}) {
        SCOPED_TRACE(describe(s));
        const Shape xs{s.rows, s.c}, cs{s.c}, as{2, s.c};
        Tensor x = random_tensor(xs, 811, -2, 3), gamma = random_tensor(cs, 812, 0.5f, 1.5f),
               beta = random_tensor(cs, 813), dy = random_tensor(xs, 814);
        Tensor dg0 = random_tensor(cs, 815), db0 = random_tensor(cs, 816);
        BatchNormParams p;
        Tensor y = Tensor::empty(xs), mean = Tensor::empty(cs), inv = Tensor::empty(cs),
               aff = Tensor::empty(as), rm = Tensor::zeros(cs), rv = Tensor::full(cs, 1.0f),
               dx = Tensor::empty(xs), dg = Tensor::empty(cs), db = Tensor::empty(cs);
        dg.copy_from(dg0);
        db.copy_from(db0);
        Tensor xd = to_gpu(x), gd = to_gpu(gamma), bd = to_gpu(beta), dyd = to_gpu(dy);
        Tensor yd = poisoned_gpu(xs), md = poisoned_gpu(cs), id = poisoned_gpu(cs),
               ad = poisoned_gpu(as), rmd = to_gpu(rm), rvd = to_gpu(rv), dxd = poisoned_gpu(xs),
               dgd = to_gpu(dg0), dbd = to_gpu(db0);
        if (s.swish) {
            bn_swish_train_forward(x, gamma, beta, y, mean, inv, aff, rm, rv, p, c);
            bn_swish_train_forward(xd, gd, bd, yd, md, id, ad, rmd, rvd, p, gpu);
        } else {
            batchnorm_train_forward(x, gamma, beta, y, mean, inv, rm, rv, p, c);
            batchnorm_train_forward(xd, gd, bd, yd, md, id, rmd, rvd, p, gpu);
        }
        for (int k = 0; k < 2; ++k) {
            if (s.swish) {
                bn_swish_backward(x, dy, gamma, mean, inv, aff, dx, dg, db, c);
                bn_swish_backward(xd, dyd, gd, md, id, ad, dxd, dgd, dbd, gpu);
            } else {
                batchnorm_backward(x, dy, gamma, mean, inv, dx, dg, db, c);
                batchnorm_backward(xd, dyd, gd, md, id, dxd, dgd, dbd, gpu);
            }
        }
        expect_close(dgd.to_vector(), dg, "dgamma after two backward passes onto random values",
                     kB0Tolerance);
        expect_close(dbd.to_vector(), db, "dbeta after two backward passes onto random values",
                     kB0Tolerance);
        expect_close(dxd.to_vector(), dx, "input gradient (overwritten)", kB0Tolerance);
    }
}
