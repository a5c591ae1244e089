// Walks every (block, thread) of the depthwise CUDA launches on the CPU, with
// the same mapping functions the kernels use (kernels/cuda/depthwise_map.h):
// each output element is written exactly once, every read is in bounds, and
// vector accesses are aligned. Runs without a GPU.
#include <gtest/gtest.h>

#include <vector>

#include "kernels/cuda/depthwise_map.h"

using namespace effnet;
using namespace effnet::dwmap;

namespace {

ConvGeometry geom(int64_t n, int64_t h, int64_t w, int64_t c, int64_t k, int64_t s) {
    ConvGeometry g;
    g.n = n; g.h = h; g.w = w; g.cin = g.cout = g.groups = c; g.kh = g.kw = k; g.stride = s; g.pad = k / 2;
    return g;
}

// Every distinct depthwise layer of EfficientNet-B0 at 224x224 (batch 2), and odd shapes.
std::vector<ConvGeometry> shapes() {
    return {geom(2, 112, 112, 32, 3, 1), geom(2, 112, 112, 96, 3, 2), geom(2, 56, 56, 144, 3, 1),
            geom(2, 56, 56, 144, 5, 2),  geom(2, 28, 28, 240, 5, 1),  geom(2, 28, 28, 240, 3, 2),
            geom(2, 14, 14, 480, 3, 1),  geom(2, 14, 14, 480, 5, 1),  geom(2, 14, 14, 672, 5, 1),
            geom(2, 14, 14, 672, 5, 2),  geom(2, 7, 7, 1152, 5, 1),   geom(2, 7, 7, 1152, 3, 1),
            geom(1, 7, 9, 5, 3, 2),      geom(3, 5, 5, 6, 5, 1),      geom(1, 1, 1, 12, 3, 1),
            geom(1, 9, 4, 7, 5, 2)};
}

struct Walk {
    int64_t total, cvecs;
    int V;
};

template <class F>
void grid_stride(int64_t total, F visit) {
    const unsigned blocks = elementwise_blocks(total);
    for (unsigned b = 0; b < blocks; ++b)
        for (int t = 0; t < kThreads; ++t)
            for (int64_t i = int64_t(b) * kThreads + t; i < total; i += int64_t(blocks) * kThreads) visit(i);
}

}  // namespace

TEST(DepthwiseLaunch, ForwardWritesEachOutputOnceAndReadsInBounds) {
    for (const ConvGeometry& g : shapes()) {
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
                    ok &= xi >= 0 && xi + V <= in_size && xi % V == 0 && wi + V <= wt_size && wi % V == 0;
                }
            }
        });
        EXPECT_TRUE(ok) << "out-of-bounds or misaligned read, C=" << g.cin << " H=" << g.h;
        for (size_t i = 0; i < written.size(); ++i) ASSERT_EQ(written[i], 1) << "output vector " << i << ", C=" << g.cin;
    }
}

TEST(DepthwiseLaunch, BackwardInputGathersEveryInputOnceFromValidOutputs) {
    for (const ConvGeometry& g : shapes()) {
        const int V = vector_width(g.cin);
        const int64_t cvecs = g.cin / V, total = g.n * g.h * g.w * cvecs, out_size = g.n * g.ho() * g.wo() * g.cin;
        std::vector<uint8_t> written(size_t(total), 0);
        // Each (output, tap) pair must be used by exactly one input gather: the adjoint of forward.
        std::vector<uint16_t> uses(size_t(g.n * g.ho() * g.wo() * g.kh * g.kw), 0);
        bool ok = true;
        grid_stride(total, [&](int64_t i) {
            ++written[size_t(i)];
            const Pixel p = unflatten(i, g.h, g.w, cvecs);
            for (int ky = 0; ky < g.kh; ++ky) {
                const int64_t oy = output_row_from(g, p.y, ky);
                if (oy < 0) continue;
                for (int kx = 0; kx < g.kw; ++kx) {
                    const int64_t ox = output_col_from(g, p.x, kx);
                    if (ox < 0) continue;
                    const int64_t di = ((p.n * g.ho() + oy) * g.wo() + ox) * g.cin + p.cv * V;
                    ok &= di >= 0 && di + V <= out_size && di % V == 0;
                    ok &= input_row(g, oy, ky) == p.y && input_col(g, ox, kx) == p.x;
                    if (p.cv == 0) ++uses[size_t(((p.n * g.ho() + oy) * g.wo() + ox) * g.kh * g.kw + ky * g.kw + kx)];
                }
            }
        });
        EXPECT_TRUE(ok) << "bad gather, C=" << g.cin << " H=" << g.h;
        for (size_t i = 0; i < written.size(); ++i) ASSERT_EQ(written[i], 1) << "input vector " << i;
        // Every in-bounds (output, tap) of the forward is gathered exactly once.
        for (int64_t n = 0; n < g.n; ++n)
            for (int64_t oy = 0; oy < g.ho(); ++oy)
                for (int64_t ox = 0; ox < g.wo(); ++ox)
                    for (int ky = 0; ky < g.kh; ++ky)
                        for (int kx = 0; kx < g.kw; ++kx) {
                            const bool inside = input_row(g, oy, ky) >= 0 && input_row(g, oy, ky) < g.h &&
                                                input_col(g, ox, kx) >= 0 && input_col(g, ox, kx) < g.w;
                            ASSERT_EQ(uses[size_t(((n * g.ho() + oy) * g.wo() + ox) * g.kh * g.kw + ky * g.kw + kx)],
                                      inside ? 1 : 0);
                        }
    }
}

TEST(DepthwiseLaunch, WeightGradientCoversEveryRowAndChannelOnce) {
    for (const ConvGeometry& g : shapes()) {
        const int V = vector_width(g.cin);
        const int64_t cvecs = g.cin / V, rows = g.n * g.ho(), taps = g.kh * g.kw;
        const WgradGrid grid = wgrad_grid(g);
        ASSERT_LE(taps, kMaxTaps);
        std::vector<uint8_t> covered(size_t(rows * cvecs), 0);
        std::vector<uint8_t> partial(size_t(grid.y * taps * g.cin), 0);
        for (unsigned bx = 0; bx < grid.x; ++bx)
            for (unsigned by = 0; by < grid.y; ++by)
                for (int ty = 0; ty < kWgRows; ++ty)
                    for (int tx = 0; tx < kWgChannels; ++tx) {
                        const int64_t cv = int64_t(bx) * kWgChannels + tx;
                        if (cv >= cvecs) continue;
                        for (int64_t r = int64_t(by) * kWgRows + ty; r < rows; r += int64_t(grid.y) * kWgRows)
                            ++covered[size_t(r * cvecs + cv)];
                        if (ty == 0)
                            for (int64_t t = 0; t < taps; ++t)
                                for (int v = 0; v < V; ++v) ++partial[size_t((int64_t(by) * taps + t) * g.cin + cv * V + v)];
                    }
        for (size_t i = 0; i < covered.size(); ++i) ASSERT_EQ(covered[i], 1) << "row/channel " << i << ", C=" << g.cin;
        for (size_t i = 0; i < partial.size(); ++i) ASSERT_EQ(partial[i], 1) << "partial " << i << ", C=" << g.cin;
        // Shared memory of the block: kWgRows x kWgChannels*4 floats.
        EXPECT_LE(sizeof(float) * kWgRows * kWgChannels * 4, 48u * 1024);
    }
}
