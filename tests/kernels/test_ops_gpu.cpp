// GPU kernels vs the CPU reference for batch norm, squeeze-excite pooling and
// scaling, losses, AdamW, dropout/drop-path, dense convolution (pointwise
// GEMM and im2col) and linear layers. Fresh random inputs, several shapes
// including odd sizes and B0's, outputs poisoned with NaN.
// FP32 bound: relative L2 error <= 1e-5, except where stated.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "common/gpu_test.h"
#include "common/gradcheck.h"
#include "common/tolerance.h"
#include "kernels/adamw.h"
#include "kernels/batchnorm.h"
#include "kernels/bn_swish.h"
#include "kernels/conv2d.h"
#include "kernels/dropout.h"
#include "kernels/linear.h"
#include "kernels/loss.h"
#include "kernels/roofline.h"
#include "kernels/squeeze_excite.h"

using namespace effnet;
using namespace effnet::test;

namespace {
Tensor rnd(const Shape& s, uint64_t seed, float lo = -1, float hi = 1) {
    return Tensor::from_vector(s, random_floats(s.numel(), seed, lo, hi));
}
Tensor poisoned(const Shape& s) { return Tensor::full(s, NAN, Device::CUDA); }
void expect_close(const Tensor& gpu, const Tensor& cpu, const std::string& what, double rel_l2 = 1e-5,
                  double atol = 1e-4) {
    auto c = compare(gpu.to_vector(), cpu.to_vector(), atol, 1e-4);
    EXPECT_TRUE(c.ok && c.rel_l2 <= rel_l2) << what << ": " << c.str() << " (atol " << atol << ")";
}
Tensor dev(const Tensor& t) { return t.to(Device::CUDA); }
}  // namespace

TEST(BatchNormGpu, TrainEvalAndBackwardMatchCpu) {
    EFFNET_REQUIRE_GPU();
    Context g(Device::CUDA), c;
    for (auto [rows, ch] : {std::make_pair(int64_t(2 * 112 * 112), int64_t(32)), std::make_pair(int64_t(7), int64_t(5)),
                            std::make_pair(int64_t(32 * 49), int64_t(1280)), std::make_pair(int64_t(1000), int64_t(35))}) {
        SCOPED_TRACE("M=" + std::to_string(rows) + " C=" + std::to_string(ch));
        const Shape xs{rows, ch}, cs{ch};
        Tensor x = rnd(xs, 1, -2, 3), gamma = rnd(cs, 2, 0.5, 1.5), beta = rnd(cs, 3), dy = rnd(xs, 4);
        Tensor rm = rnd(cs, 5), rv = rnd(cs, 6, 0.5, 2);
        BatchNormParams p;
        Tensor y = Tensor::empty(xs), mean = Tensor::empty(cs), inv = Tensor::empty(cs), rm_c = Tensor::empty(cs), rv_c = Tensor::empty(cs);
        rm_c.copy_from(rm);
        rv_c.copy_from(rv);
        batchnorm_train_forward(x, gamma, beta, y, mean, inv, rm_c, rv_c, p, c);
        Tensor yd = poisoned(xs), meand = poisoned(cs), invd = poisoned(cs), rmd = dev(rm), rvd = dev(rv);
        batchnorm_train_forward(dev(x), dev(gamma), dev(beta), yd, meand, invd, rmd, rvd, p, g);
        expect_close(yd, y, "train forward");
        expect_close(meand, mean, "saved mean");
        expect_close(invd, inv, "saved invstd");
        expect_close(rmd, rm_c, "running mean");
        expect_close(rvd, rv_c, "running var");
        Tensor dx = Tensor::empty(xs), dgam = Tensor::full(cs, 0.5f), dbet = Tensor::full(cs, 0.5f);
        batchnorm_backward(x, dy, gamma, mean, inv, dx, dgam, dbet, c);
        Tensor dxd = poisoned(xs), dgamd = Tensor::full(cs, 0.5f, Device::CUDA), dbetd = Tensor::full(cs, 0.5f, Device::CUDA);
        batchnorm_backward(dev(x), dev(dy), dev(gamma), meand, invd, dxd, dgamd, dbetd, g);
        expect_close(dxd, dx, "input gradient");
        expect_close(dgamd, dgam, "gamma gradient (accumulated)");
        expect_close(dbetd, dbet, "beta gradient (accumulated)");
        Tensor ye = Tensor::empty(xs), yed = poisoned(xs);
        batchnorm_eval_forward(x, gamma, beta, rm, rv, ye, p, c);
        batchnorm_eval_forward(dev(x), dev(gamma), dev(beta), dev(rm), dev(rv), yed, p, g);
        expect_close(yed, ye, "eval forward");
        // The cuDNN path (--kernels cudnn) against the CPU reference too.
        Context vendor(Device::CUDA);
        vendor.batchnorm_kernels = KernelChoice::CUDNN;
        Tensor yv = poisoned(xs), meanv = poisoned(cs), invv = poisoned(cs), rmv = dev(rm), rvv = dev(rv);
        batchnorm_train_forward(dev(x), dev(gamma), dev(beta), yv, meanv, invv, rmv, rvv, p, vendor);
        expect_close(yv, y, "cuDNN train forward");
        expect_close(rmv, rm_c, "cuDNN running mean");
        expect_close(rvv, rv_c, "cuDNN running var");
        Tensor dxv = poisoned(xs), dgv = Tensor::full(cs, 0.5f, Device::CUDA), dbv = Tensor::full(cs, 0.5f, Device::CUDA);
        batchnorm_backward(dev(x), dev(dy), dev(gamma), meanv, invv, dxv, dgv, dbv, vendor, p.eps);
        expect_close(dxv, dx, "cuDNN input gradient");
        expect_close(dgv, dgam, "cuDNN gamma gradient");
        expect_close(dbv, dbet, "cuDNN beta gradient");
    }
}

TEST(BnSwishGpu, FusedKernelsMatchCpu) {
    EFFNET_REQUIRE_GPU();
    Context g(Device::CUDA), c;
    for (auto [rows, ch] : {std::make_pair(int64_t(2 * 56 * 56), int64_t(144)), std::make_pair(int64_t(9), int64_t(7))}) {
        SCOPED_TRACE("M=" + std::to_string(rows) + " C=" + std::to_string(ch));
        const Shape xs{rows, ch}, cs{ch};
        Tensor x = rnd(xs, 91, -2, 3), gamma = rnd(cs, 92, 0.5, 1.5), beta = rnd(cs, 93), dy = rnd(xs, 94);
        BatchNormParams p;
        const Shape as{2, ch};
        Tensor y = Tensor::empty(xs), mean = Tensor::empty(cs), inv = Tensor::empty(cs), aff = Tensor::empty(as),
               rm = Tensor::zeros(cs), rv = Tensor::full(cs, 1);
        bn_swish_train_forward(x, gamma, beta, y, mean, inv, aff, rm, rv, p, c);
        Tensor yd = poisoned(xs), md = poisoned(cs), id = poisoned(cs), ad = poisoned(as), rmd = Tensor::zeros(cs, Device::CUDA),
               rvd = Tensor::full(cs, 1, Device::CUDA);
        bn_swish_train_forward(dev(x), dev(gamma), dev(beta), yd, md, id, ad, rmd, rvd, p, g);
        expect_close(ad, aff, "saved scale and shift");
        expect_close(yd, y, "fused forward");
        expect_close(rvd, rv, "running var");
        Tensor dx = Tensor::empty(xs), dgam = Tensor::zeros(cs), dbet = Tensor::zeros(cs);
        bn_swish_backward(x, dy, gamma, mean, inv, aff, dx, dgam, dbet, c);
        Tensor dxd = poisoned(xs), dgd = Tensor::zeros(cs, Device::CUDA), dbd = Tensor::zeros(cs, Device::CUDA);
        bn_swish_backward(dev(x), dev(dy), dev(gamma), md, id, ad, dxd, dgd, dbd, g);
        expect_close(dxd, dx, "fused input gradient");
        expect_close(dgd, dgam, "gamma gradient");
        expect_close(dbd, dbet, "beta gradient");
        Tensor rmr = rnd(cs, 95), rvr = rnd(cs, 96, 0.5, 2), ye = Tensor::empty(xs), yed = poisoned(xs);
        bn_swish_eval_forward(x, gamma, beta, rmr, rvr, ye, p, c);
        bn_swish_eval_forward(dev(x), dev(gamma), dev(beta), dev(rmr), dev(rvr), yed, p, g);
        expect_close(yed, ye, "fused eval forward");
        // --kernels cudnn: cuDNN's batch norm with swish apart, same results.
        Context vendor(Device::CUDA);
        vendor.batchnorm_kernels = KernelChoice::CUDNN;
        Tensor yv = poisoned(xs), mv = poisoned(cs), iv = poisoned(cs), av = poisoned(as), rmv = Tensor::zeros(cs, Device::CUDA),
               rvv = Tensor::full(cs, 1, Device::CUDA);
        bn_swish_train_forward(dev(x), dev(gamma), dev(beta), yv, mv, iv, av, rmv, rvv, p, vendor);
        expect_close(yv, y, "cuDNN composition forward");
        expect_close(rvv, rv, "cuDNN composition running var");
        Tensor dxv = poisoned(xs), dgv = Tensor::zeros(cs, Device::CUDA), dbv = Tensor::zeros(cs, Device::CUDA);
        bn_swish_backward(dev(x), dev(dy), dev(gamma), mv, iv, av, dxv, dgv, dbv, vendor, p.eps);
        expect_close(dxv, dx, "cuDNN composition input gradient");
        expect_close(dgv, dgam, "cuDNN composition gamma gradient");
        expect_close(dbv, dbet, "cuDNN composition beta gradient");
        Tensor yev = poisoned(xs);
        bn_swish_eval_forward(dev(x), dev(gamma), dev(beta), dev(rmr), dev(rvr), yev, p, vendor);
        expect_close(yev, ye, "cuDNN composition eval forward");
    }
}

TEST(SqueezeExciteGpu, PoolAndScaleMatchCpu) {
    EFFNET_REQUIRE_GPU();
    Context g(Device::CUDA), c;
    for (Shape xs : {Shape{2, 112, 112, 32}, Shape{3, 7, 7, 1152}, Shape{1, 3, 5, 7}, Shape{5, 1, 1, 40}}) {
        SCOPED_TRACE(xs.str());
        const Shape ps{xs[0], xs[3]};
        Tensor x = rnd(xs, 11), gate = rnd(ps, 12, 0, 1), dy = rnd(xs, 13), dp = rnd(ps, 14);
        Tensor pool = Tensor::empty(ps), poold = poisoned(ps);
        global_avg_pool_forward(x, pool, c);
        global_avg_pool_forward(dev(x), poold, g);
        expect_close(poold, pool, "pool");
        Tensor dx = Tensor::empty(xs), dxd = poisoned(xs);
        global_avg_pool_backward(dp, dx, c);
        global_avg_pool_backward(dev(dp), dxd, g);
        expect_close(dxd, dx, "pool backward");
        Tensor y = Tensor::empty(xs), yd = poisoned(xs);
        channel_scale_forward(x, gate, y, c);
        channel_scale_forward(dev(x), dev(gate), yd, g);
        expect_close(yd, y, "channel scale");
        Tensor dgate = Tensor::empty(ps), dgated = poisoned(ps), dx2d = poisoned(xs);
        channel_scale_backward(x, gate, dy, dx, dgate, c);
        channel_scale_backward(dev(x), dev(gate), dev(dy), dx2d, dgated, g);
        expect_close(dx2d, dx, "channel scale input gradient");
        expect_close(dgated, dgate, "gate gradient");
    }
}

TEST(LossGpu, CrossEntropyAndBceMatchCpu) {
    EFFNET_REQUIRE_GPU();
    Context g(Device::CUDA), c;
    for (int64_t n : {1, 7, 32, 300}) {
        Tensor z = rnd(Shape{n, 2}, 21, -5, 5), labels = Tensor::empty(Shape{n}, Device::CPU, DType::INT32);
        for (int64_t i = 0; i < n; ++i) labels.i32()[i] = int32_t((i * 7) % 2);
        Tensor p = Tensor::empty(Shape{n, 2}), l = Tensor::empty(Shape{1}), dz = Tensor::empty(Shape{n, 2});
        const float loss = softmax_cross_entropy_forward(z, labels, p, l, c);
        softmax_cross_entropy_backward(p, labels, dz, c);
        Tensor pd = poisoned(Shape{n, 2}), ld = poisoned(Shape{1}), dzd = poisoned(Shape{n, 2}), labd = labels.to(Device::CUDA);
        const float lossd = softmax_cross_entropy_forward(dev(z), labd, pd, ld, g);
        softmax_cross_entropy_backward(pd, labd, dzd, g);
        EXPECT_NEAR(lossd, loss, 1e-6 * std::max(1.0f, loss)) << "n=" << n;
        expect_close(pd, p, "probabilities");
        expect_close(dzd, dz, "logit gradient");
        Tensor zb = rnd(Shape{n, 1}, 22, -30, 30), pb = Tensor::empty(Shape{n, 1}), db = Tensor::empty(Shape{n, 1});
        const float bl = bce_with_logits_forward(zb, labels, pb, l, c);
        bce_with_logits_backward(pb, labels, db, c);
        Tensor pbd = poisoned(Shape{n, 1}), dbd = poisoned(Shape{n, 1});
        EXPECT_NEAR(bce_with_logits_forward(dev(zb), labd, pbd, ld, g), bl, 1e-6 * std::max(1.0f, bl));
        bce_with_logits_backward(pbd, labd, dbd, g);
        expect_close(dbd, db, "BCE gradient");
    }
}

TEST(AdamWGpu, MatchesCpuOverSeveralSteps) {
    EFFNET_REQUIRE_GPU();
    Context g(Device::CUDA), c;
    const int64_t n = 100003;
    Tensor p = rnd(Shape{n}, 31), m = Tensor::zeros(Shape{n}), v = Tensor::zeros(Shape{n});
    Tensor pd = dev(p), md = dev(m), vd = dev(v);
    AdamWStep s;
    s.lr = 1e-3;
    s.weight_decay = 1e-2;
    for (int t = 1; t <= 3; ++t) {
        Tensor grad = rnd(Shape{n}, 40 + uint64_t(t));
        s.step = t;
        adamw_update(p, grad, m, v, 5, n - 10, s, c);  // an interior range: the ends must stay untouched
        adamw_update(pd, dev(grad), md, vd, 5, n - 10, s, g);
    }
    expect_close(pd, p, "parameters");
    expect_close(md, m, "first moments");
    expect_close(vd, v, "second moments");
}

TEST(DropoutGpu, SameMasksAsCpu) {
    EFFNET_REQUIRE_GPU();
    Context g(Device::CUDA), c;
    Tensor x = rnd(Shape{4, 9, 9, 13}, 51), y = Tensor::empty(x.shape()), yd = poisoned(x.shape());
    dropout_forward(x, y, 0.3f, 7, 99, c);
    dropout_forward(dev(x), yd, 0.3f, 7, 99, g);
    EXPECT_EQ(yd.to_vector(), y.to_vector()) << "Philox masks must agree bit for bit";
    drop_path_forward(x, y, 0.5f, 7, 100, c);
    drop_path_forward(dev(x), yd, 0.5f, 7, 100, g);
    EXPECT_EQ(yd.to_vector(), y.to_vector());
}

TEST(Conv2dGpu, PointwiseAndStemMatchCpuOnBothPaths) {
    EFFNET_REQUIRE_GPU();
    Context g(Device::CUDA), c;
    auto geom = [](int64_t n, int64_t h, int64_t w, int64_t cin, int64_t cout, int64_t k, int64_t s) {
        ConvGeometry x;
        x.n = n; x.h = h; x.w = w; x.cin = cin; x.cout = cout; x.kh = x.kw = k; x.stride = s; x.pad = k / 2;
        return x;
    };
    for (const ConvGeometry& cg : {geom(4, 224, 224, 3, 32, 3, 2), geom(2, 7, 9, 3, 5, 3, 2), geom(4, 56, 56, 24, 144, 1, 1),
                                   geom(4, 7, 7, 320, 1280, 1, 1), geom(1, 5, 3, 7, 6, 1, 1)}) {
        SCOPED_TRACE("Cin=" + std::to_string(cg.cin) + " Cout=" + std::to_string(cg.cout) + " k=" + std::to_string(cg.kh));
        const Shape xs{cg.n, cg.h, cg.w, cg.cin}, ys{cg.n, cg.ho(), cg.wo(), cg.cout}, ws{cg.cout, cg.cin, cg.kh, cg.kw};
        Tensor x = rnd(xs, 61), w = rnd(ws, 62), dy = rnd(ys, 63);
        Tensor y = Tensor::empty(ys), dx = Tensor::empty(xs), dw = Tensor::full(ws, 0.25f);
        conv2d_forward(x, w, y, cg, c);
        conv2d_backward_input(dy, w, dx, cg, c);
        conv2d_backward_weight(x, dy, dw, cg, c);
        // Both GPU paths of a dense convolution: im2col + cuBLAS (custom) and
        // cuDNN (the default for the stem); 1x1 convolutions take one GEMM in both.
        for (const char* spec : {"stem=custom", "stem=cudnn"}) {
            SCOPED_TRACE(spec);
            apply_kernel_spec(g, spec);
            Tensor yd = poisoned(ys), dxd = poisoned(xs), dwd = Tensor::full(ws, 0.25f, Device::CUDA);
            conv2d_forward(dev(x), dev(w), yd, cg, g);
            conv2d_backward_input(dev(dy), dev(w), dxd, cg, g);
            conv2d_backward_weight(dev(x), dev(dy), dwd, cg, g);
            // cuBLAS/cuDNN sum in a different order than Eigen. A weight's
            // gradient sums K = N*Ho*Wo products (the stem at batch 4: 4*112*112
            // = 50,176), so its float error grows with sqrt(K):
            // atol = 64 * FLT_EPSILON * sqrt(K) * rms(x)*rms(dy) (derivation in
            // tests/common/tolerance.h; 5.7e-4 for the stem), rtol 1e-4.
            expect_close(yd, y, "forward");
            expect_close(dxd, dx, "input gradient");
            expect_close(dwd, dw, "weight gradient (accumulated)", 1e-5,
                         std::max(1e-4, float_sum_atol(cg.n * cg.ho() * cg.wo(), rms(x.to_vector()) * rms(dy.to_vector()))));
        }
    }
}

TEST(LinearGpu, MatchesCpu) {
    EFFNET_REQUIRE_GPU();
    Context g(Device::CUDA), c;
    for (auto [n, in, out] : {std::make_tuple(int64_t(32), int64_t(1280), int64_t(2)), std::make_tuple(int64_t(3), int64_t(7), int64_t(5)),
                              std::make_tuple(int64_t(32), int64_t(672), int64_t(28))}) {
        Tensor x = rnd(Shape{n, in}, 71), w = rnd(Shape{out, in}, 72), b = rnd(Shape{out}, 73), dy = rnd(Shape{n, out}, 74);
        Tensor y = Tensor::empty(Shape{n, out}), dx = Tensor::empty(Shape{n, in}), dw = Tensor::zeros(Shape{out, in}),
               db = Tensor::zeros(Shape{out});
        linear_forward(x, w, b, y, c);
        linear_backward(x, w, dy, &dx, dw, db, c);
        Tensor yd = poisoned(Shape{n, out}), dxd = poisoned(Shape{n, in}), dwd = Tensor::zeros(Shape{out, in}, Device::CUDA),
               dbd = Tensor::zeros(Shape{out}, Device::CUDA);
        Tensor wd = dev(w), xd = dev(x);
        linear_forward(xd, wd, dev(b), yd, g);
        linear_backward(xd, wd, dev(dy), &dxd, dwd, dbd, g);
        expect_close(yd, y, "forward");
        expect_close(dxd, dx, "input gradient");
        expect_close(dwd, dw, "weight gradient");
        expect_close(dbd, db, "bias gradient");
    }
}

// The ceilings effnet_bench divides by (kernels/roofline.h) are measurements,
// not results with a CPU reference: they must at least come out finite and
// above what any sm_80+ GPU delivers at the least (10 GB/s, 100 GFLOP/s).
TEST(RooflineGpu, CeilingsArePlausible) {
    EFFNET_REQUIRE_GPU();
    Context g(Device::CUDA);
    const double copy = measure_copy_gb_per_s(g, 3), fma = measure_fma_gflop_per_s(g);
    EXPECT_TRUE(std::isfinite(copy) && copy > 10) << copy << " GB/s";
    EXPECT_TRUE(std::isfinite(fma) && fma > 100) << fma << " GFLOP/s";
}
