// CUDA depthwise convolution vs the CPU reference, on fresh random inputs
// over every distinct B0 depthwise shape (batch 4; batch 32 in
// test_kernels_b0_gpu.cpp) and odd ones; outputs poisoned with NaN. FP32
// bounds: atol 1e-4, rtol 1e-4, relative L2 error <= 1e-5 (sums of at most 25
// terms for forward/input gradient); the weight gradient sums N*Ho*Wo products
// per weight in float where the CPU accumulates in double: atol
// float_sum_atol(N*Ho*Wo, rms(x)*rms(dy)) (tests/common/tolerance.h), twice
// that against cuDNN (both sides round).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "common/gpu_test.h"
#include "common/gradcheck.h"
#include "common/tolerance.h"
#include "kernels/depthwise_conv.h"

using namespace effnet;
using namespace effnet::test;

namespace {
ConvGeometry geom(int64_t n, int64_t h, int64_t w, int64_t c, int64_t k, int64_t s) {
    ConvGeometry g;
    g.n = n; g.h = h; g.w = w; g.cin = g.cout = g.groups = c; g.kh = g.kw = k; g.stride = s; g.pad = k / 2;
    return g;
}
}  // namespace

TEST(DepthwiseGpu, MatchesCpuReference) {
    EFFNET_REQUIRE_GPU();
    Context gpu(Device::CUDA), cpu_ctx;
    for (const ConvGeometry& g : {geom(4, 112, 112, 32, 3, 1), geom(4, 112, 112, 96, 3, 2), geom(4, 56, 56, 144, 5, 2),
                                  geom(4, 28, 28, 240, 5, 1), geom(4, 14, 14, 672, 5, 2), geom(4, 7, 7, 1152, 3, 1),
                                  geom(1, 7, 9, 5, 3, 2), geom(3, 5, 5, 6, 5, 1), geom(1, 1, 1, 12, 3, 1)}) {
        SCOPED_TRACE("C=" + std::to_string(g.cin) + " H=" + std::to_string(g.h) + " k=" + std::to_string(g.kh) +
                     " s=" + std::to_string(g.stride));
        const Shape xs{g.n, g.h, g.w, g.cin}, ys{g.n, g.ho(), g.wo(), g.cin}, ws{g.cin, 1, g.kh, g.kw};
        Tensor x = Tensor::from_vector(xs, random_floats(xs.numel(), 1 + g.cin));
        Tensor w = Tensor::from_vector(ws, random_floats(ws.numel(), 2 + g.cin));
        Tensor dy = Tensor::from_vector(ys, random_floats(ys.numel(), 3 + g.cin));
        Tensor y = Tensor::empty(ys), dx = Tensor::empty(xs), dw = Tensor::zeros(ws);
        depthwise_conv2d_forward(x, w, y, g, cpu_ctx);
        depthwise_conv2d_backward_input(dy, w, dx, g, cpu_ctx);
        depthwise_conv2d_backward_weight(x, dy, dw, g, cpu_ctx);
        Tensor xd = x.to(Device::CUDA), wd = w.to(Device::CUDA), dyd = dy.to(Device::CUDA);
        Tensor yd = Tensor::full(ys, NAN, Device::CUDA), dxd = Tensor::full(xs, NAN, Device::CUDA);
        Tensor dwd = Tensor::zeros(ws, Device::CUDA);
        depthwise_conv2d_forward(xd, wd, yd, g, gpu);
        depthwise_conv2d_backward_input(dyd, wd, dxd, g, gpu);
        depthwise_conv2d_backward_weight(xd, dyd, dwd, g, gpu);
        gpu.synchronize();
        const double dw_atol = std::max(1e-4, float_sum_atol(g.n * g.ho() * g.wo(), rms(x.to_vector()) * rms(dy.to_vector())));
        for (auto [got, want, what, atol] : {std::make_tuple(yd.to_vector(), y.to_vector(), "forward", 1e-4),
                                             std::make_tuple(dxd.to_vector(), dx.to_vector(), "input gradient", 1e-4),
                                             std::make_tuple(dwd.to_vector(), dw.to_vector(), "weight gradient", dw_atol)}) {
            auto c = compare(got, want, atol, 1e-4);
            EXPECT_TRUE(c.ok && c.rel_l2 <= 1e-5) << what << ": " << c.str();
        }
        // The cuDNN path (--kernels cudnn) must agree with the hand-written kernels.
        Context vendor(Device::CUDA);
        vendor.depthwise_kernels = KernelChoice::CUDNN;
        Tensor yv = Tensor::full(ys, NAN, Device::CUDA), dxv = Tensor::full(xs, NAN, Device::CUDA), dwv = Tensor::zeros(ws, Device::CUDA);
        depthwise_conv2d_forward(xd, wd, yv, g, vendor);
        depthwise_conv2d_backward_input(dyd, wd, dxv, g, vendor);
        depthwise_conv2d_backward_weight(xd, dyd, dwv, g, vendor);
        vendor.synchronize();
        for (auto [got, want, what, atol] : {std::make_tuple(yv.to_vector(), yd.to_vector(), "cuDNN forward", 1e-4),
                                             std::make_tuple(dxv.to_vector(), dxd.to_vector(), "cuDNN input gradient", 1e-4),
                                             std::make_tuple(dwv.to_vector(), dwd.to_vector(), "cuDNN weight gradient", 2 * dw_atol)}) {
            auto c = compare(got, want, atol, 1e-4);
            EXPECT_TRUE(c.ok && c.rel_l2 <= 1e-5) << what << " vs custom: " << c.str();
        }
    }
}
