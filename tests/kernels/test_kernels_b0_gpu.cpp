// GPU kernels vs the CPU reference at EfficientNet-B0's real shapes at batch
// 32 (224 px: every distinct depthwise, batch-norm and squeeze-excite shape of
// the model, tests/common/b0_shapes.h), where the launch maps take their
// batch-32 grids (many slices, 32-bit fast variants); and gradient
// accumulation into non-zero buffers on small and odd shapes.
//
// Test names: the large cases contain "B0Batch32" (a GPU check can filter
// them out of a compute-sanitizer run); GradientAccumulationGpu is fast.
//
// Outputs that are overwritten are poisoned with NaN first; gradients that
// accumulate are pre-filled with random values (the same on both sides).
// FP32 thresholds, |gpu - cpu| <= atol + rtol*|cpu| for every element (the
// worst index is reported) and relative L2 error <= 1e-5:
//   - element-wise results and sums of at most 25 products (depthwise forward
//     and input gradient, batch-norm normalisation and dx, channel scale):
//     atol 1e-5, rtol 1e-5;
//   - reductions accumulated in double on both sides and rounded to float once
//     (SE pool and gate gradient, batch-norm statistics, dgamma, dbeta):
//     atol 1e-5, rtol 1e-5;
//   - the depthwise weight gradient, float sums over N*Ho*Wo products per
//     weight: atol = float_sum_atol(N*Ho*Wo, rms(x)*rms(dy))
//     (tests/common/tolerance.h), rtol 1e-5.
// Reductions are also run twice and must agree bit for bit (fixed order).
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <string>
#include <vector>

#include "common/b0_shapes.h"
#include "common/gpu_test.h"
#include "common/gradcheck.h"
#include "common/tolerance.h"
#include "kernels/batchnorm.h"
#include "kernels/bn_swish.h"
#include "kernels/depthwise_conv.h"
#include "kernels/linear.h"
#include "kernels/squeeze_excite.h"
#include "tensor/philox.h"

using namespace effnet;
using namespace effnet::test;

namespace {

constexpr double kAtol = 1e-5, kRtol = 1e-5, kRelL2 = 1e-5;

// random_floats (common/gradcheck.h), generated on all cores: the batch-32 tensors hold up to 38.5M floats.
std::vector<float> random_data(int64_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
    std::vector<float> v(static_cast<size_t>(n));
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) v[size_t(i)] = lo + (hi - lo) * philox_uniform(seed, 98, uint64_t(i));
    return v;
}
Tensor host(const Shape& s, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
    return Tensor::from_vector(s, random_data(s.numel(), seed, lo, hi));
}
// Uploads, fills and read-backs are ordered with the kernels by the stream
// rule (tensor/tensor.h): one device stream, read-backs synchronise it.
Tensor device(const Tensor& t) { return t.to(Device::CUDA); }
Tensor poisoned(const Shape& s) { return Tensor::full(s, NAN, Device::CUDA); }
std::vector<float> read(const Tensor& d) { return d.to_vector(); }
void expect_close(const std::vector<float>& got, const Tensor& want, const std::string& what, double atol = kAtol) {
    const Closeness c = compare(got, want.to_vector(), atol, kRtol);
    EXPECT_TRUE(c.ok && c.rel_l2 <= kRelL2) << what << ": " << c.str() << " (atol " << atol << ", rtol " << kRtol << ")";
}
std::string bn_name(const BnShape& s) {
    return std::string(s.swish ? "bn_swish" : "batchnorm") + " M=" + std::to_string(s.rows) + " C=" + std::to_string(s.c);
}
std::string se_name(const SeShape& s) {
    return "se_n" + std::to_string(s.n) + "_" + std::to_string(s.h) + "x" + std::to_string(s.w) + "_c" + std::to_string(s.c);
}

// Depthwise forward, input gradient and weight gradient (accumulated onto `dw0`) at one shape.
void check_depthwise(const ConvGeometry& g, uint64_t seed, Context& gpu) {
    SCOPED_TRACE(describe(g));
    Context cpu_ctx;
    const Shape xs{g.n, g.h, g.w, g.cin}, ys{g.n, g.ho(), g.wo(), g.cin}, ws{g.cin, 1, g.kh, g.kw};
    Tensor x = host(xs, seed), w = host(ws, seed + 1), dy = host(ys, seed + 2), dw0 = host(ws, seed + 3);
    Tensor y = Tensor::empty(ys), dx = Tensor::empty(xs), dw = Tensor::empty(ws);
    dw.copy_from(dw0);
    depthwise_conv2d_forward(x, w, y, g, cpu_ctx);
    depthwise_conv2d_backward_input(dy, w, dx, g, cpu_ctx);
    depthwise_conv2d_backward_weight(x, dy, dw, g, cpu_ctx);
    Tensor xd = device(x), wd = device(w), dyd = device(dy), dwd = device(dw0);
    Tensor yd = poisoned(ys), dxd = poisoned(xs);
    depthwise_conv2d_forward(xd, wd, yd, g, gpu);
    depthwise_conv2d_backward_input(dyd, wd, dxd, g, gpu);
    depthwise_conv2d_backward_weight(xd, dyd, dwd, g, gpu);
    expect_close(read(yd), y, "forward");
    expect_close(read(dxd), dx, "input gradient");
    const std::vector<float> dw_gpu = read(dwd);
    const double atol = float_sum_atol(g.n * g.ho() * g.wo(), rms(x.to_vector()) * rms(dy.to_vector()));
    expect_close(dw_gpu, dw, "weight gradient (accumulated onto random values)", atol);
    {  // once more: a fixed summation order gives the same bits
        Tensor again = device(dw0);
        depthwise_conv2d_backward_weight(xd, dyd, again, g, gpu);
        EXPECT_EQ(read(again), dw_gpu) << "weight gradient not bit-reproducible";
    }
}

// Training forward, backward (dgamma, dbeta accumulated onto random values) and eval forward.
void check_batchnorm(const BnShape& s, uint64_t seed, Context& gpu) {
    SCOPED_TRACE(bn_name(s));
    Context c;
    const Shape xs{s.rows, s.c}, cs{s.c}, as{2, s.c};
    Tensor x = host(xs, seed, -2.0f, 3.0f), gamma = host(cs, seed + 1, 0.5f, 1.5f), beta = host(cs, seed + 2);
    Tensor dy = host(xs, seed + 3), rm0 = host(cs, seed + 4), rv0 = host(cs, seed + 5, 0.5f, 2.0f);
    Tensor dg0 = host(cs, seed + 6), db0 = host(cs, seed + 7);
    BatchNormParams p;
    Tensor y = Tensor::empty(xs), mean = Tensor::empty(cs), inv = Tensor::empty(cs), aff = Tensor::empty(as);
    Tensor rm = Tensor::empty(cs), rv = Tensor::empty(cs), dx = Tensor::empty(xs), dg = Tensor::empty(cs), db = Tensor::empty(cs);
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
    Tensor xd = device(x), gd = device(gamma), bd = device(beta), dyd = device(dy);
    // The GPU's training forward and backward into fresh outputs.
    struct Outputs {
        Tensor y, mean, inv, aff, rm, rv, dx, dg, db;
    };
    auto run_gpu = [&]() {
        Outputs o{poisoned(xs), poisoned(cs), poisoned(cs), poisoned(as), device(rm0), device(rv0), poisoned(xs), device(dg0),
                  device(db0)};
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
    if (s.swish) expect_close(read(o.aff), aff, "saved scale and shift");
    const std::vector<float> mean_gpu = read(o.mean), inv_gpu = read(o.inv), dg_gpu = read(o.dg);
    expect_close(read(o.y), y, "train forward");
    expect_close(mean_gpu, mean, "saved mean");
    expect_close(inv_gpu, inv, "saved invstd");
    expect_close(read(o.rm), rm, "running mean");
    expect_close(read(o.rv), rv, "running var");
    expect_close(read(o.dx), dx, "input gradient");
    expect_close(dg_gpu, dg, "gamma gradient (accumulated onto random values)");
    expect_close(read(o.db), db, "beta gradient (accumulated onto random values)");
    Tensor ye = Tensor::empty(xs), yed = poisoned(xs);
    if (s.swish) {
        bn_swish_eval_forward(x, gamma, beta, rm0, rv0, ye, p, c);
        bn_swish_eval_forward(xd, gd, bd, device(rm0), device(rv0), yed, p, gpu);
    } else {
        batchnorm_eval_forward(x, gamma, beta, rm0, rv0, ye, p, c);
        batchnorm_eval_forward(xd, gd, bd, device(rm0), device(rv0), yed, p, gpu);
    }
    expect_close(read(yed), ye, "eval forward");
    {  // once more: a fixed summation order gives the same bits
        const Outputs again = run_gpu();
        EXPECT_EQ(read(again.mean), mean_gpu) << "statistics not bit-reproducible";
        EXPECT_EQ(read(again.inv), inv_gpu) << "statistics not bit-reproducible";
        EXPECT_EQ(read(again.dg), dg_gpu) << "gamma gradient not bit-reproducible";
    }
}

// Pool forward/backward and channel scale forward/backward (gate gradient) at one shape.
void check_squeeze_excite(const SeShape& s, uint64_t seed, Context& g) {
    SCOPED_TRACE(se_name(s));
    Context c;
    const Shape xs{s.n, s.h, s.w, s.c}, ps{s.n, s.c};
    Tensor x = host(xs, seed), gate = host(ps, seed + 1, 0.0f, 1.0f), dy = host(xs, seed + 2), dp = host(ps, seed + 3);
    Tensor xd = device(x), gated = device(gate), dyd = device(dy);
    Tensor pool = Tensor::empty(ps), poold = poisoned(ps);
    global_avg_pool_forward(x, pool, c);
    global_avg_pool_forward(xd, poold, g);
    const std::vector<float> pool_gpu = read(poold);
    expect_close(pool_gpu, pool, "pool");
    Tensor dx = Tensor::empty(xs), dxd = poisoned(xs);
    global_avg_pool_backward(dp, dx, c);
    global_avg_pool_backward(device(dp), dxd, g);
    expect_close(read(dxd), dx, "pool backward");
    Tensor y = Tensor::empty(xs), yd = poisoned(xs);
    channel_scale_forward(x, gate, y, c);
    channel_scale_forward(xd, gated, yd, g);
    expect_close(read(yd), y, "channel scale");
    Tensor dgate = Tensor::empty(ps), dgated = poisoned(ps), dx2d = poisoned(xs);
    channel_scale_backward(x, gate, dy, dx, dgate, c);
    channel_scale_backward(xd, gated, dyd, dx2d, dgated, g);
    const std::vector<float> dgate_gpu = read(dgated);
    expect_close(read(dx2d), dx, "channel scale input gradient");
    expect_close(dgate_gpu, dgate, "gate gradient");
    {  // once more: a fixed summation order gives the same bits
        Tensor p2 = poisoned(ps), dg2 = poisoned(ps), dx3 = poisoned(xs);
        global_avg_pool_forward(xd, p2, g);
        channel_scale_backward(xd, gated, dyd, dx3, dg2, g);
        EXPECT_EQ(read(p2), pool_gpu) << "pool not bit-reproducible";
        EXPECT_EQ(read(dg2), dgate_gpu) << "gate gradient not bit-reproducible";
    }
}

}  // namespace

TEST(DepthwiseGpu, B0Batch32MatchesCpu) {
    EFFNET_REQUIRE_GPU();
    Context gpu(Device::CUDA);
    uint64_t seed = 100;
    for (const ConvGeometry& g : b0_shapes(32).depthwise) check_depthwise(g, seed += 10, gpu);
}

TEST(BatchNormGpu, B0Batch32MatchesCpu) {
    EFFNET_REQUIRE_GPU();
    Context gpu(Device::CUDA);
    uint64_t seed = 300;
    for (const BnShape& s : b0_shapes(32).batchnorm) check_batchnorm(s, seed += 10, gpu);
}

TEST(SqueezeExciteGpu, B0Batch32MatchesCpu) {
    EFFNET_REQUIRE_GPU();
    Context gpu(Device::CUDA);
    uint64_t seed = 500;
    for (const SeShape& s : b0_shapes(32).se) check_squeeze_excite(s, seed += 10, gpu);
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
    for (const BnShape& s : {BnShape{4 * 28 * 28, 40, false}, BnShape{4 * 28 * 28, 40, true}, BnShape{777, 13, true}}) {
        SCOPED_TRACE(bn_name(s));
        const Shape xs{s.rows, s.c}, cs{s.c}, as{2, s.c};
        Tensor x = host(xs, 701, 998.0f, 1003.0f), gamma = host(cs, 702, 0.5f, 1.5f), beta = host(cs, 703);
        Tensor rm0 = host(cs, 704), rv0 = host(cs, 705, 0.5f, 2.0f);
        BatchNormParams p;
        Tensor y = Tensor::empty(xs), mean = Tensor::empty(cs), inv = Tensor::empty(cs), aff = Tensor::empty(as),
               rm = Tensor::empty(cs), rv = Tensor::empty(cs);
        rm.copy_from(rm0);
        rv.copy_from(rv0);
        Tensor yd = poisoned(xs), md = poisoned(cs), id = poisoned(cs), ad = poisoned(as), rmd = device(rm0), rvd = device(rv0);
        if (s.swish) {
            bn_swish_train_forward(x, gamma, beta, y, mean, inv, aff, rm, rv, p, c);
            bn_swish_train_forward(device(x), device(gamma), device(beta), yd, md, id, ad, rmd, rvd, p, gpu);
            expect_close(read(ad), aff, "saved scale and shift");
        } else {
            batchnorm_train_forward(x, gamma, beta, y, mean, inv, rm, rv, p, c);
            batchnorm_train_forward(device(x), device(gamma), device(beta), yd, md, id, rmd, rvd, p, gpu);
        }
        expect_close(read(md), mean, "saved mean");
        expect_close(read(id), inv, "saved invstd");
        expect_close(read(rmd), rm, "running mean");
        expect_close(read(rvd), rv, "running var");
        const std::vector<float> inv_host = inv.to_vector(), gamma_host = gamma.to_vector();
        double max_product = 0;
        for (int64_t j = 0; j < s.c; ++j) max_product = std::max(max_product, 1003.0 * gamma_host[size_t(j)] * inv_host[size_t(j)]);
        expect_close(read(yd), y, "normalised output", 4 * double(FLT_EPSILON) * max_product);
    }
}

// Parameter gradients ACCUMULATE: backward twice onto random values gives
// prefill + 2 * gradient, on both sides. Small and odd shapes (fast enough
// for compute-sanitizer).
TEST(GradientAccumulationGpu, DepthwiseWeightGradientAccumulates) {
    EFFNET_REQUIRE_GPU();
    Context gpu(Device::CUDA), c;
    for (const ConvGeometry& g : {depthwise_geometry(2, 14, 14, 48, 5, 2), depthwise_geometry(3, 7, 9, 5, 3, 1),
                                  depthwise_geometry(1, 9, 4, 7, 5, 2), depthwise_geometry(2, 6, 6, 8, 7, 1)}) {
        SCOPED_TRACE(describe(g));
        const Shape xs{g.n, g.h, g.w, g.cin}, ys{g.n, g.ho(), g.wo(), g.cin}, ws{g.cin, 1, g.kh, g.kw};
        Tensor x = host(xs, 801), dy = host(ys, 802), dw0 = host(ws, 803), dw = Tensor::empty(ws);
        if (g.kh > 5) {  // the hand-written weight gradient stops at 5x5 and says so
            Tensor dwd = device(dw0);
            EXPECT_THROW(depthwise_conv2d_backward_weight(device(x), device(dy), dwd, g, gpu), ContractError);
            continue;
        }
        dw.copy_from(dw0);
        Tensor xd = device(x), dyd = device(dy), dwd = device(dw0);
        for (int k = 0; k < 2; ++k) {
            depthwise_conv2d_backward_weight(x, dy, dw, g, c);
            depthwise_conv2d_backward_weight(xd, dyd, dwd, g, gpu);
        }
        expect_close(read(dwd), dw, "dw after two backward passes onto random values",
                     2 * float_sum_atol(g.n * g.ho() * g.wo(), rms(x.to_vector()) * rms(dy.to_vector())));
    }
}

TEST(GradientAccumulationGpu, BatchNormAndBnSwishGammaBetaAccumulate) {
    EFFNET_REQUIRE_GPU();
    Context gpu(Device::CUDA), c;
    for (const BnShape& s : {BnShape{2 * 14 * 14, 24, false}, BnShape{2 * 14 * 14, 24, true}, BnShape{37, 5, false},
                             BnShape{37, 5, true}, BnShape{300, 130, true}}) {
        SCOPED_TRACE(bn_name(s));
        const Shape xs{s.rows, s.c}, cs{s.c}, as{2, s.c};
        Tensor x = host(xs, 811, -2, 3), gamma = host(cs, 812, 0.5f, 1.5f), beta = host(cs, 813), dy = host(xs, 814);
        Tensor dg0 = host(cs, 815), db0 = host(cs, 816);
        BatchNormParams p;
        Tensor y = Tensor::empty(xs), mean = Tensor::empty(cs), inv = Tensor::empty(cs), aff = Tensor::empty(as),
               rm = Tensor::zeros(cs), rv = Tensor::full(cs, 1.0f), dx = Tensor::empty(xs), dg = Tensor::empty(cs),
               db = Tensor::empty(cs);
        dg.copy_from(dg0);
        db.copy_from(db0);
        Tensor xd = device(x), gd = device(gamma), bd = device(beta), dyd = device(dy);
        Tensor yd = poisoned(xs), md = poisoned(cs), id = poisoned(cs), ad = poisoned(as), rmd = device(rm), rvd = device(rv),
               dxd = poisoned(xs), dgd = device(dg0), dbd = device(db0);
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
        expect_close(read(dgd), dg, "dgamma after two backward passes onto random values");
        expect_close(read(dbd), db, "dbeta after two backward passes onto random values");
        expect_close(read(dxd), dx, "input gradient (overwritten)");
    }
}

TEST(GradientAccumulationGpu, LinearWeightAndBiasAccumulate) {
    EFFNET_REQUIRE_GPU();
    Context gpu(Device::CUDA), c;
    for (auto [n, in, out] : {std::make_tuple(int64_t(32), int64_t(1280), int64_t(2)), std::make_tuple(int64_t(3), int64_t(7), int64_t(5)),
                              std::make_tuple(int64_t(32), int64_t(672), int64_t(28))}) {
        SCOPED_TRACE("linear n=" + std::to_string(n) + " in=" + std::to_string(in) + " out=" + std::to_string(out));
        Tensor x = host(Shape{n, in}, 821), w = host(Shape{out, in}, 822), dy = host(Shape{n, out}, 823);
        Tensor dw0 = host(Shape{out, in}, 824), db0 = host(Shape{out}, 825);
        Tensor dx = Tensor::empty(Shape{n, in}), dw = Tensor::empty(Shape{out, in}), db = Tensor::empty(Shape{out});
        dw.copy_from(dw0);
        db.copy_from(db0);
        Tensor xd = device(x), wd = device(w), dyd = device(dy), dxd = poisoned(Shape{n, in}), dwd = device(dw0),
               dbd = device(db0);
        for (int k = 0; k < 2; ++k) {
            linear_backward(x, w, dy, &dx, dw, db, c);
            linear_backward(xd, wd, dyd, &dxd, dwd, dbd, gpu);
        }
        // dW sums n products per weight, db n terms (cuBLAS, float): at most 32 here.
        expect_close(read(dwd), dw, "dW after two backward passes onto random values");
        expect_close(read(dbd), db, "db after two backward passes onto random values");
        expect_close(read(dxd), dx, "input gradient (overwritten)");
    }
}
