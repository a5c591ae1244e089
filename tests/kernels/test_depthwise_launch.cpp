// Walks every (block, thread) of the depthwise CUDA launches on the CPU, with
// the same mapping functions the kernels use (kernels/cuda/depthwise_map.h):
// each output element is written exactly once, every read is in bounds, and
// vector accesses are aligned. The backward passes' per-thread loops (the
// analytic output range of the input gradient, the sliding window of the
// weight gradient) run here too, on inputs framed by NaN guard zones, and
// must reproduce the CPU reference: a read outside the tensor poisons the
// result. Launch sizes are those of a 132-SM GPU (H100/H200); at B0's
// batch-32 shapes the weight gradient must give at least 2 blocks per SM.
// Runs without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "common/b0_shapes.h"
#include "common/conv_geometry.h"
#include "common/gpu_test.h"
#include "common/gradcheck.h"
#include "common/tolerance.h"
#include "kernels/cuda/depthwise_map.h"
#include "kernels/depthwise_conv.h"

using namespace effnet;
using namespace effnet::dwmap;

namespace {

constexpr int kSms = 132;

// Odd shapes: channels not a multiple of 4 or 32, tiny images, non-square ones.
std::vector<ConvGeometry> odd_shapes() {
    return {depthwise_geometry(1, 7, 9, 5, 3, 2),  depthwise_geometry(3, 5, 5, 6, 5, 1),
            depthwise_geometry(1, 1, 1, 12, 3, 1), depthwise_geometry(1, 9, 4, 7, 5, 2),
            depthwise_geometry(2, 2, 3, 33, 5, 2), depthwise_geometry(1, 6, 6, 40, 3, 1)};
}
// B0's depthwise layers at `batch`, and the odd shapes.
std::vector<ConvGeometry> shapes(int64_t batch) {
    std::vector<ConvGeometry> v = test::b0_shapes(batch).depthwise;
    for (const ConvGeometry& g : odd_shapes()) v.push_back(g);
    return v;
}

template <class F>
void grid_stride(int64_t total, F visit) {
    const unsigned blocks = elementwise_blocks(total);
    for (unsigned b = 0; b < blocks; ++b)
        for (int t = 0; t < kThreads; ++t)
            for (int64_t i = int64_t(b) * kThreads + t; i < total; i += int64_t(blocks) * kThreads)
                visit(i);
}

// A tensor of n random floats between two NaN guard zones.
struct Guarded {
    static constexpr size_t kGuard = size_t(1) << 16;
    std::vector<float> v;
    Guarded(size_t n, uint64_t seed) : v(n + 2 * kGuard, NAN) {
        const std::vector<float> r = test::random_floats(n, seed);
        std::copy(r.begin(), r.end(), v.begin() + kGuard);
    }
    const float* data() const { return v.data() + kGuard; }
    std::vector<float> inner() const {
        return std::vector<float>(v.begin() + kGuard, v.end() - kGuard);
    }
};

// Tap-major weights wt[tap][C], as the relayout kernel writes them.
std::vector<float> tap_major(const std::vector<float>& w, const ConvGeometry& g) {
    const int64_t taps = g.kh * g.kw;
    std::vector<float> wt(w.size());
    for (int64_t c = 0; c < g.cin; ++c)
        for (int64_t t = 0; t < taps; ++t) wt[size_t(t * g.cin + c)] = w[size_t(c * taps + t)];
    return wt;
}

// The generic variant's constants, for running it on shapes the launcher sends to a fast one.
template <class F>
void generic_variant(F f) {
    f(std::integral_constant<int, 0>(), std::integral_constant<int, 0>(), IndexType<int64_t>());
}

// Runs the input-gradient loop of variant (K, S, I) with vectors of V floats for every input vector.
template <int V, int K, int S, class I>
std::vector<float> emulate_input_grad(const float* dy, const float* wt, const ConvGeometry& g) {
    const Dims<I> d = dims_of<I>(g);
    const I cvecs = I(g.cin / V), total = I(g.n * g.h * g.w) * cvecs;
    std::vector<float> dx(size_t(total) * V, NAN);
    for (I i = 0; i < total; ++i) {
        const PixelOf<I> p = unflatten<I>(i, d.h, d.w, cvecs);
        float acc[V] = {};
        gather_input_grad<V, K, S, I>(dy, wt, d, p.n, p.y, p.x, p.cv * V, acc);
        for (int v = 0; v < V; ++v) dx[size_t(i) * V + v] = acc[v];
    }
    return dx;
}

// Runs the weight-gradient launch of variant (K, S, I) on the CPU: every
// block's threads (wgrad_accumulate_row), the block's shared-memory sum in
// row-lane order, the partials, then the reduction kernel's order. Adds into dw.
template <int K, int S, class I>
void emulate_weight_grad(const float* x, const float* dy, std::vector<float>& dw,
                         const ConvGeometry& g) {
    constexpr int kSlots = K > 0 ? K * K : kMaxSide * kMaxSide;
    const Dims<I> d = dims_of<I>(g);
    const WgradGrid grid = wgrad_grid(g, kSms);
    const int taps = int(g.kh * g.kw);
    std::vector<float> partial(wgrad_partial_floats(g, kSms), NAN);
    std::vector<float> red(size_t(kWgRows) * kSlots * kWgChannels);
    const I rows = d.n * d.ho;
    for (unsigned bx = 0; bx < grid.x; ++bx)
        for (unsigned by = 0; by < grid.y; ++by) {
            for (unsigned ty = 0; ty < unsigned(kWgRows); ++ty)
                for (unsigned tx = 0; tx < unsigned(kWgChannels); ++tx) {
                    float acc[kSlots] = {};
                    const I c = I(wgrad_channel(bx, tx));
                    if (c < d.c)
                        for (I r = I(wgrad_first_row(by, ty)); r < rows;
                             r += I(wgrad_row_step(grid.y))) {
                            const I n = r / d.ho, oy = r - n * d.ho;
                            if constexpr (K > 0)
                                wgrad_accumulate_row<K, S, I>(x, dy, d, n, oy, c, acc);
                            else
                                wgrad_accumulate_row_generic<I>(x, dy, d, n, oy, c, acc);
                        }
                    for (int t = 0; t < kSlots; ++t)
                        red[(size_t(ty) * kSlots + t) * kWgChannels + tx] = acc[t];
                }
            for (int e = 0; e < taps * kWgChannels; ++e) {
                const int tap = e / kWgChannels, lane = e % kWgChannels;
                const int64_t ch = wgrad_channel(bx, unsigned(lane));
                if (ch >= g.cin) continue;
                float s = 0.0f;
                for (int k = 0; k < kWgRows; ++k)
                    s += red[(size_t(k) * kSlots + wgrad_slot<K>(tap, int(g.kw))) * kWgChannels +
                             lane];
                partial[size_t(wgrad_partial_index(by, tap, taps, g.cin, ch))] = s;
            }
        }
    for (int64_t c = 0; c < g.cin; ++c)
        for (int tap = 0; tap < taps; ++tap) {
            double lanes[kWgReduceLanes] = {};
            for (unsigned k = 0; k < grid.y; ++k)
                lanes[k % kWgReduceLanes] +=
                    partial[size_t(wgrad_partial_index(k, tap, taps, g.cin, c))];
            double t = 0.0;
            for (double l : lanes) t += l;
            dw[size_t(c * taps + tap)] += float(t);
        }
}

// FP32 thresholds. atol: 1e-5 for the input gradient (at most 25 products
// per element); for the weight gradient, a sum of N*Ho*Wo products per weight,
// float_sum_atol (tests/common/tolerance.h). rtol 1e-5, relative L2 1e-6.
void expect_matches(const std::vector<float>& got, const std::vector<float>& want, double atol,
                    const std::string& what) {
    const test::Closeness c = test::compare(got, want, atol, 1e-5);
    EXPECT_TRUE(c.ok && c.rel_l2 <= 1e-6) << what << ": " << c.str() << " (atol " << atol << ")";
}

}  // namespace

TEST(DepthwiseLaunch, ForwardWritesEachOutputOnceAndReadsInBounds) {
    for (const ConvGeometry& g : shapes(2)) {
        const int V = vector_width(g.cin);
        const int64_t cvecs = g.cin / V, total = g.n * g.ho() * g.wo() * cvecs;
        std::vector<uint8_t> written(size_t(total), 0);
        const int64_t in_size = g.n * g.h * g.w * g.cin, wt_size = g.kh * g.kw * g.cin;
        bool ok = true;
        grid_stride(total, [&](int64_t i) {
            ++written[size_t(i)];
            const Pixel o = unflatten(i, g.ho(), g.wo(), cvecs);
            ok &= o.n < g.n && o.y < g.ho() && o.x < g.wo() && o.cv < cvecs;
            for (int ky = 0; ky < g.kh; ++ky) {
                const int64_t iy = input_row(g, o.y, ky);
                if (iy < 0 || iy >= g.h) continue;
                for (int kx = 0; kx < g.kw; ++kx) {
                    const int64_t ix = input_col(g, o.x, kx);
                    if (ix < 0 || ix >= g.w) continue;
                    const int64_t xi = ((o.n * g.h + iy) * g.w + ix) * g.cin + o.cv * V;
                    const int64_t wi = (ky * g.kw + kx) * g.cin + o.cv * V;
                    ok &= xi >= 0 && xi + V <= in_size && xi % V == 0 && wi + V <= wt_size &&
                          wi % V == 0;
                }
            }
        });
        EXPECT_TRUE(ok) << "out-of-bounds or misaligned read, " << describe(g);
        for (size_t i = 0; i < written.size(); ++i)
            ASSERT_EQ(written[i], 1) << "output vector " << i << ", " << describe(g);
    }
}

// B0 runs every depthwise backward on the fast variants (fixed side and
// stride, 32-bit indices); a tensor past 2^31 elements falls back to 64-bit.
TEST(DepthwiseLaunch, B0Batch32TakesTheFastBackwardVariants) {
    for (const ConvGeometry& g : test::b0_shapes(32).depthwise)
        EXPECT_TRUE(fast_backward(g)) << describe(g);
    EXPECT_FALSE(fits_int32(depthwise_geometry(2048, 112, 112, 96, 3, 1)));
    EXPECT_FALSE(fast_backward(depthwise_geometry(2, 9, 9, 8, 7, 1)));
    EXPECT_FALSE(fast_backward(depthwise_geometry(2, 9, 9, 8, 3, 3)));
}

// Grid-stride coverage at batch 32 in the kernel's index type: every input
// vector is written by exactly one thread.
TEST(DepthwiseLaunch, BackwardInputB0Batch32WritesEveryInputOnce) {
    for (const ConvGeometry& g : shapes(32)) {
        const int64_t cvecs = g.cin / vector_width(g.cin), total = g.n * g.h * g.w * cvecs;
        ASSERT_TRUE(fits_int32(g));
        std::vector<uint8_t> written(size_t(total), 0);
        grid_stride(total, [&](int64_t i) { ++written[size_t(int32_t(i))]; });
        for (size_t i = 0; i < written.size(); ++i)
            ASSERT_EQ(written[i], 1) << "input vector " << i << ", " << describe(g);
    }
}

// The analytic output range is the adjoint of the forward: each in-bounds
// (output, tap) pair of the forward is gathered by exactly one input, at the
// tap that connects them.
TEST(DepthwiseLaunch, BackwardInputRangesGatherEveryOutputTapOnce) {
    for (const ConvGeometry& g : shapes(2)) {
        std::vector<uint16_t> uses(size_t(g.n * g.ho() * g.wo() * g.kh * g.kw), 0);
        bool ok = true;
        for (int64_t n = 0; n < g.n; ++n)
            for (int64_t iy = 0; iy < g.h; ++iy)
                for (int64_t ix = 0; ix < g.w; ++ix) {
                    const Range<int64_t> ry =
                        output_range<int64_t>(iy, g.pad, g.kh, g.stride, g.ho());
                    const Range<int64_t> rx =
                        output_range<int64_t>(ix, g.pad, g.kw, g.stride, g.wo());
                    ok &= ry.lo >= 0 && ry.hi < g.ho() && rx.lo >= 0 && rx.hi < g.wo();
                    for (int64_t oy = ry.lo; oy <= ry.hi; ++oy)
                        for (int64_t ox = rx.lo; ox <= rx.hi; ++ox) {
                            const int64_t ky = iy + g.pad - oy * g.stride,
                                          kx = ix + g.pad - ox * g.stride;
                            ok &= ky >= 0 && ky < g.kh && kx >= 0 && kx < g.kw;
                            ok &= input_row(g, oy, ky) == iy && input_col(g, ox, kx) == ix;
                            ++uses[size_t(((n * g.ho() + oy) * g.wo() + ox) * g.kh * g.kw +
                                          ky * g.kw + kx)];
                        }
                }
        EXPECT_TRUE(ok) << "bad range, " << describe(g);
        for (int64_t n = 0; n < g.n; ++n)
            for (int64_t oy = 0; oy < g.ho(); ++oy)
                for (int64_t ox = 0; ox < g.wo(); ++ox)
                    for (int ky = 0; ky < g.kh; ++ky)
                        for (int kx = 0; kx < g.kw; ++kx) {
                            const bool inside =
                                input_row(g, oy, ky) >= 0 && input_row(g, oy, ky) < g.h &&
                                input_col(g, ox, kx) >= 0 && input_col(g, ox, kx) < g.w;
                            ASSERT_EQ(uses[size_t(((n * g.ho() + oy) * g.wo() + ox) * g.kh * g.kw +
                                                  ky * g.kw + kx)],
                                      inside ? 1 : 0)
                                << describe(g);
                        }
    }
}

// The kernels' gather loop, run on the CPU for the launched variant and the
// generic one, with float4 and scalar vectors: equal to the reference.
TEST(DepthwiseLaunch, BackwardInputLoopsMatchCpuReference) {
    for (const ConvGeometry& g : shapes(2)) {
        SCOPED_TRACE(describe(g));
        const Guarded dy(size_t(g.n * g.ho() * g.wo() * g.cin), 3),
            w(size_t(g.cin * g.kh * g.kw), 2);
        const std::vector<float> wt_host = tap_major(w.inner(), g);
        Guarded wt(wt_host.size(), 0);
        std::copy(wt_host.begin(), wt_host.end(), wt.v.begin() + Guarded::kGuard);
        std::vector<float> want(size_t(g.n * g.h * g.w * g.cin), NAN);
        const std::vector<float> w_host = w.inner(), dy_host = dy.inner();
        cpu::depthwise_conv2d_backward_input(dy_host.data(), w_host.data(), want.data(), g,
                                             nullptr);
        auto check = [&](auto k, auto s, auto index, const char* which) {
            using I = typename decltype(index)::type;
            constexpr int K = decltype(k)::value, S = decltype(s)::value;
            if (g.cin % 4 == 0)
                expect_matches(emulate_input_grad<4, K, S, I>(dy.data(), wt.data(), g), want, 1e-5,
                               which);
            expect_matches(emulate_input_grad<1, K, S, I>(dy.data(), wt.data(), g), want, 1e-5,
                           which);
        };
        dispatch_backward(
            g, [&](auto k, auto s, auto index) { check(k, s, index, "launched variant"); });
        generic_variant([&](auto k, auto s, auto index) { check(k, s, index, "generic variant"); });
    }
}

TEST(DepthwiseLaunch, WeightGradientB0Batch32CoversEveryRowAndChannelOnce) {
    for (const ConvGeometry& g : shapes(32)) {
        SCOPED_TRACE(describe(g));
        const int64_t rows = g.n * g.ho(), taps = g.kh * g.kw;
        const WgradGrid grid = wgrad_grid(g, kSms);
        ASSERT_LE(g.kh, kMaxSide);
        ASSERT_LE(g.kw, kMaxSide);
        ASSERT_GE(grid.y, 1u);
        ASSERT_LE(int64_t(grid.y - 1) * kWgRows, rows - 1) << "a slice with no rows";
        std::vector<uint8_t> covered(size_t(rows * g.cin), 0);
        std::vector<uint8_t> partial(wgrad_partial_floats(g, kSms), 0), read(partial.size(), 0);
        for (unsigned bx = 0; bx < grid.x; ++bx)
            for (unsigned by = 0; by < grid.y; ++by) {
                for (unsigned ty = 0; ty < unsigned(kWgRows); ++ty)
                    for (unsigned tx = 0; tx < unsigned(kWgChannels); ++tx) {
                        const int64_t c = wgrad_channel(bx, tx);
                        if (c >= g.cin) continue;
                        for (int64_t r = wgrad_first_row(by, ty); r < rows;
                             r += wgrad_row_step(grid.y))
                            ++covered[size_t(r * g.cin + c)];
                    }
                // The block's summing loop: entry e = (tap, lane), e += 256.
                for (int first = 0; first < kWgRows * kWgChannels; ++first)
                    for (int e = first; e < taps * kWgChannels; e += kWgRows * kWgChannels) {
                        const int64_t ch = wgrad_channel(bx, unsigned(e % kWgChannels));
                        const int slot = wgrad_slot<0>(e / kWgChannels, int(g.kw));
                        ASSERT_LT(slot, kMaxSide * kMaxSide);
                        if (ch < g.cin)
                            ++partial[size_t(
                                wgrad_partial_index(by, e / kWgChannels, int(taps), g.cin, ch))];
                    }
            }
        for (size_t i = 0; i < covered.size(); ++i) ASSERT_EQ(covered[i], 1) << "row/channel " << i;
        for (size_t i = 0; i < partial.size(); ++i) ASSERT_EQ(partial[i], 1) << "partial " << i;
        // The reduction: block (bx, tap), lanes (tx, ty).
        std::vector<uint8_t> dw(size_t(g.cin * taps), 0);
        for (unsigned bx = 0; bx < grid.x; ++bx)
            for (int tap = 0; tap < taps; ++tap)
                for (unsigned ty = 0; ty < unsigned(kWgReduceLanes); ++ty)
                    for (unsigned tx = 0; tx < unsigned(kWgChannels); ++tx) {
                        const int64_t c = wgrad_channel(bx, tx);
                        if (c >= g.cin) continue;
                        for (unsigned k = ty; k < grid.y; k += kWgReduceLanes)
                            ++read[size_t(wgrad_partial_index(k, tap, int(taps), g.cin, c))];
                        if (ty == 0) ++dw[size_t(c * taps + tap)];
                    }
        for (size_t i = 0; i < read.size(); ++i)
            ASSERT_EQ(read[i], 1) << "partial " << i << " read by the reduction";
        for (size_t i = 0; i < dw.size(); ++i) ASSERT_EQ(dw[i], 1) << "weight " << i;
        // Shared memory of the widest block: kWgRows x 25 taps x kWgChannels floats.
        EXPECT_LE(sizeof(float) * kWgRows * kMaxSide * kMaxSide * kWgChannels, 48u * 1024);
    }
}

TEST(DepthwiseLaunch, WeightGradientB0Batch32GivesTwoBlocksPerSm) {
    unsigned fewest = ~0u;
    std::string where;
    for (const ConvGeometry& g : test::b0_shapes(32).depthwise) {
        const WgradGrid grid = wgrad_grid(g, kSms);
        EXPECT_GE(grid.x * grid.y, 2u * kSms)
            << describe(g) << ": grid " << grid.x << "x" << grid.y;
        if (grid.x * grid.y < fewest) {
            fewest = grid.x * grid.y;
            where = describe(g);
        }
    }
    std::printf("fewest weight-gradient blocks over B0 batch-32 depthwise layers: %u (%s)\n",
                fewest, where.c_str());
}

// The kernel's per-thread loops and block/slice sums, run on the CPU for the
// launched variant and the generic one, accumulating onto a non-zero dw:
// equal to the reference.
TEST(DepthwiseLaunch, WeightGradientLoopsMatchCpuReference) {
    for (const ConvGeometry& g : shapes(2)) {
        SCOPED_TRACE(describe(g));
        const Guarded x(size_t(g.n * g.h * g.w * g.cin), 1),
            dy(size_t(g.n * g.ho() * g.wo() * g.cin), 3);
        const std::vector<float> prefill = test::random_floats(size_t(g.cin * g.kh * g.kw), 4);
        std::vector<float> want = prefill;
        const std::vector<float> x_host = x.inner(), dy_host = dy.inner();
        const double atol =
            test::float_sum_atol(g.n * g.ho() * g.wo(), test::rms(x_host) * test::rms(dy_host));
        cpu::depthwise_conv2d_backward_weight(x_host.data(), dy_host.data(), want.data(), g,
                                              nullptr);
        auto check = [&](auto k, auto s, auto index, const char* which) {
            using I = typename decltype(index)::type;
            std::vector<float> got = prefill;
            emulate_weight_grad<decltype(k)::value, decltype(s)::value, I>(x.data(), dy.data(), got,
                                                                           g);
            expect_matches(got, want, atol, which);
        };
        dispatch_backward(
            g, [&](auto k, auto s, auto index) { check(k, s, index, "launched variant"); });
        generic_variant([&](auto k, auto s, auto index) { check(k, s, index, "generic variant"); });
    }
}
