// Thread-to-data mapping of the depthwise-convolution CUDA kernels, and the
// per-thread loops of the two backward passes, as __host__ __device__
// functions: the kernels call them, and CPU tests walk every (block, thread)
// of the launches actually used and run the per-thread loops on the CPU
// against the reference (tests/kernels/test_depthwise_launch.cpp).
//
// forward: one thread per (n, oy, ox, channel vector) of the output,
//   grid-stride; vectors of `vec` floats (4 when C % 4 == 0: one float4 load
//   per tap, coalesced along the innermost NHWC dimension).
// backward_input: one thread per (n, iy, ix, channel vector) of the input,
//   grid-stride. The outputs whose windows read input row iy are the oy with
//   0 <= iy + pad - oy*s < k, an interval found with two divisions by the
//   stride (output_range), not a test of every tap; with k and s template
//   constants (3x3 / 5x5, stride 1 / 2) those are shifts and the loops unroll
//   to ceil(k/s) outputs per axis, indices 32-bit (fits_int32). Anything else
//   takes the generic variant: run-time k and s, 64-bit indices.
// backward_weight: block (kWgChannels, kWgRows), one channel per lane:
//   thread (tx, ty) of block (bx, by) owns channel c = bx*kWgChannels + tx
//   and output rows r = by*kWgRows + ty + j*gridDim.y*kWgRows (j = 0, 1,
//   ...; a row is one (n, oy)), keeping the k*k tap sums of its channel in
//   registers. Along a row it slides the k x k input window right by s
//   columns per output (wgrad_accumulate_row), loading s*k inputs per output
//   instead of k*k. Scalar channel lanes keep all 32 lanes busy at C = 32
//   (a float4 lane would leave 24 idle) and hold 2*k*k floats for 5x5 where
//   float4 accumulators held 4*k*k. The block adds its kWgRows row lanes in
//   shared memory in order and writes one partial per (slice by, tap,
//   channel); a second kernel adds the slices in order (double), so the
//   result is deterministic on a given GPU. The slice count follows the SM
//   count (wgrad_grid).
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "kernels/conv_shape.h"
#include "kernels/cuda/vector_load.h"
#include "tensor/launch.h"

#if defined(__CUDA_ARCH__)
#define EFFNET_DW_UNROLL _Pragma("unroll")
#else
#define EFFNET_DW_UNROLL
#endif

namespace effnet::dwmap {

using cuda::load_ro;
using cuda::load_vec;

constexpr int kThreads = 256;
constexpr int kMaxSide = 5;        // widest kernel side of the weight gradient (5x5)
constexpr int kWgChannels = 32;    // channel lanes per weight-gradient block
constexpr int kWgRows = 8;         // row lanes per weight-gradient block
constexpr int kWgBlocksPerSm = 3;  // what fits at once for 5x5 (registers x 256 threads)
constexpr int kWgReduceLanes = 8;  // slice lanes of the weight-gradient reduction

EFFNET_HD inline int vector_width(int64_t channels) { return channels % 4 == 0 ? 4 : 1; }

template <class I>
struct PixelOf {
    I n, y, x, cv;  // image, row, column, channel vector
};
using Pixel = PixelOf<int64_t>;

// Linear index over [n][y][x][cv] of an H x W image with `cvecs` channel vectors.
template <class I>
EFFNET_HD inline PixelOf<I> unflatten(I i, I h, I w, I cvecs) {
    PixelOf<I> p;
    p.cv = i % cvecs;
    i /= cvecs;
    p.x = i % w;
    i /= w;
    p.y = i % h;
    p.n = i / h;
    return p;
}

// Output pixel (oy, ox) reads input (oy*s - pad + ky, ox*s - pad + kx).
EFFNET_HD inline int64_t input_row(const ConvGeometry& g, int64_t oy, int64_t ky) {
    return oy * g.stride - g.pad + ky;
}
EFFNET_HD inline int64_t input_col(const ConvGeometry& g, int64_t ox, int64_t kx) {
    return ox * g.stride - g.pad + kx;
}

// Grid of the element-wise (forward / backward_input) kernels.
inline unsigned elementwise_blocks(int64_t elements) {
    return grid_stride_blocks(size_t(elements), kThreads);
}

// ---- sizes in a kernel's index type ---------------------------------------

template <class I>
struct Dims {
    I n, h, w, c, ho, wo, stride, pad;
    int kh, kw;
};
template <class I>
inline Dims<I> dims_of(const ConvGeometry& g) {
    return Dims<I>{I(g.n),    I(g.h),      I(g.w),   I(g.cin),  I(g.ho()),
                   I(g.wo()), I(g.stride), I(g.pad), int(g.kh), int(g.kw)};
}

// 32-bit indices suffice when every element index of x and dy, plus the last
// increment of a grid-stride loop (< 2^27: 65535*4 blocks of 256 threads),
// stays below 2^31.
inline bool fits_int32(const ConvGeometry& g) {
    const int64_t in = g.n * g.h * g.w * g.cin, out = g.n * g.ho() * g.wo() * g.cin;
    const int64_t limit = (int64_t(1) << 31) - 1 - (int64_t(1) << 27);
    return in <= limit && out <= limit;
}

// The fast backward variants: square 3x3 / 5x5 kernels, stride 1 or 2, 32-bit indices.
inline bool fast_backward(const ConvGeometry& g) {
    return g.kh == g.kw && (g.kh == 3 || g.kh == 5) && (g.stride == 1 || g.stride == 2) &&
           fits_int32(g);
}

template <class I>
struct IndexType {
    using type = I;
};
// Calls f(K, S, IndexType<I>()) with K, S as integral constants: the fast
// variant's side and stride with int32_t, or (0, 0, int64_t) for the generic
// one. The launchers and the CPU tests choose through this one function.
template <class F>
void dispatch_backward(const ConvGeometry& g, F f) {
    using std::integral_constant;
    if (!fast_backward(g)) {
        f(integral_constant<int, 0>(), integral_constant<int, 0>(), IndexType<int64_t>());
    } else if (g.kh == 3) {
        if (g.stride == 1)
            f(integral_constant<int, 3>(), integral_constant<int, 1>(), IndexType<int32_t>());
        else
            f(integral_constant<int, 3>(), integral_constant<int, 2>(), IndexType<int32_t>());
    } else {
        if (g.stride == 1)
            f(integral_constant<int, 5>(), integral_constant<int, 1>(), IndexType<int32_t>());
        else
            f(integral_constant<int, 5>(), integral_constant<int, 2>(), IndexType<int32_t>());
    }
}

// ---- backward_input -------------------------------------------------------

template <class I>
struct Range {
    I lo, hi;  // inclusive; empty when lo > hi
};
// Along one axis: the outputs o in [0, out) whose window reads input i, i.e.
// 0 <= i + pad - o*stride < k. With k and stride constants the divisions
// compile to shifts (stride 1, 2).
template <class I>
EFFNET_HD inline Range<I> output_range(I i, I pad, I k, I stride, I out) {
    const I top = i + pad;         // o*stride <= top
    const I bottom = top - k + 1;  // o*stride >= bottom
    Range<I> r;
    r.lo = bottom <= 0 ? I(0) : (bottom + stride - 1) / stride;
    r.hi = top < 0 ? I(-1) : top / stride;
    if (r.hi > out - 1) r.hi = out - 1;
    return r;
}

// acc += dy[n, oy, ox, c0 .. c0+V) * wt[tap][c0 .. c0+V)
template <int V, class I>
EFFNET_HD inline void fma_tap(const float* dy, const float* wt, const Dims<I>& d, I n, I oy, I ox,
                              I tap, I c0, float (&acc)[V]) {
    float g[V], w[V];
    load_vec<V>(dy + ((n * d.ho + oy) * d.wo + ox) * d.c + c0, g);
    load_vec<V>(wt + tap * d.c + c0, w);
    EFFNET_DW_UNROLL
    for (int v = 0; v < V; ++v) acc[v] = fmaf(g[v], w[v], acc[v]);
}

// acc[v] += dx of channel c0 + v of input pixel (n, iy, ix): the sum over the
// outputs whose windows read it of dy * w at the connecting tap. wt is
// tap-major, [kh*kw][C]. K, S > 0 are the fixed side and stride (the loops
// unroll to ceil(K/S) outputs per axis); 0 takes them from d.
template <int V, int K, int S, class I>
EFFNET_HD inline void gather_input_grad(const float* dy, const float* wt, const Dims<I>& d, I n,
                                        I iy, I ix, I c0, float (&acc)[V]) {
    const I kh = K > 0 ? I(K) : I(d.kh), kw = K > 0 ? I(K) : I(d.kw), s = S > 0 ? I(S) : d.stride;
    const Range<I> ry = output_range<I>(iy, d.pad, kh, s, d.ho),
                   rx = output_range<I>(ix, d.pad, kw, s, d.wo);
    if constexpr (K > 0 && S > 0) {
        constexpr int kMost = (K + S - 1) / S;
        EFFNET_DW_UNROLL
        for (int j = 0; j < kMost; ++j) {
            const I oy = ry.lo + j;
            if (oy > ry.hi) break;
            const I ky = iy + d.pad - oy * S;
            EFFNET_DW_UNROLL
            for (int i = 0; i < kMost; ++i) {
                const I ox = rx.lo + i;
                if (ox > rx.hi) break;
                fma_tap<V, I>(dy, wt, d, n, oy, ox, ky * K + (ix + d.pad - ox * S), c0, acc);
            }
        }
    } else {
        for (I oy = ry.lo; oy <= ry.hi; ++oy)
            for (I ox = rx.lo; ox <= rx.hi; ++ox)
                fma_tap<V, I>(dy, wt, d, n, oy, ox,
                              (iy + d.pad - oy * s) * kw + (ix + d.pad - ox * s), c0, acc);
    }
}

// ---- backward_weight ------------------------------------------------------

// Grid (channel tiles, row slices): at least kWgBlocksPerSm blocks per SM
// where the rows allow, with the rows split evenly (each thread gets
// floor(rows / (kWgRows * wanted slices)) rows or one more).
struct WgradGrid {
    unsigned x, y;
};
inline WgradGrid wgrad_grid(const ConvGeometry& g, int sms) {
    WgradGrid grid;
    grid.x = unsigned(ceil_div<int64_t>(g.cin, kWgChannels));
    const int64_t rows = g.n * g.ho();
    const int64_t wanted = ceil_div<int64_t>(int64_t(kWgBlocksPerSm) * sms, int64_t(grid.x));
    int64_t per_thread = rows / (int64_t(kWgRows) * wanted);
    if (per_thread < 1) per_thread = 1;
    int64_t slices = ceil_div<int64_t>(rows, kWgRows * per_thread);
    if (slices > 65535) slices = 65535;
    grid.y = unsigned(slices < 1 ? 1 : slices);
    return grid;
}
inline size_t wgrad_partial_floats(const ConvGeometry& g, int sms) {
    return size_t(wgrad_grid(g, sms).y) * size_t(g.kh * g.kw) * size_t(g.cin);
}

EFFNET_HD inline int64_t wgrad_channel(unsigned bx, unsigned tx) {
    return int64_t(bx) * kWgChannels + tx;
}
EFFNET_HD inline int64_t wgrad_first_row(unsigned by, unsigned ty) {
    return int64_t(by) * kWgRows + ty;
}
EFFNET_HD inline int64_t wgrad_row_step(unsigned slices) { return int64_t(slices) * kWgRows; }
// partial[slice][tap][C]
EFFNET_HD inline int64_t wgrad_partial_index(unsigned slice, int tap, int taps, int64_t channels,
                                             int64_t c) {
    return (int64_t(slice) * taps + tap) * channels + c;
}
// Register slot of tap (ky*kw + kx): the tap itself for a fixed side K, ky*kMaxSide + kx for the generic variant.
template <int K>
EFFNET_HD inline int wgrad_slot(int tap, int kw) {
    return K > 0 ? tap : (tap / kw) * kMaxSide + tap % kw;
}

// x of channel c at column ix of the input row whose first element of channel c is at `row`, or 0 in the padding (row < 0: a padding row).
template <class I>
EFFNET_HD inline float x_or_zero(const float* x, I row, I ix, const Dims<I>& d) {
    return row >= 0 && ix >= 0 && ix < d.w ? load_ro(x + row + ix * d.c) : 0.0f;
}

// acc[ky*K + kx] += sum over ox of x[n, oy*S-pad+ky, ox*S-pad+kx, c] * dy[n, oy, ox, c]
// for output row (n, oy) and channel c. The K x K input window lives in
// registers (win, indexed by constants once the loops unroll); moving one
// output right shifts it S columns and loads S*K new inputs.
template <int K, int S, class I>
EFFNET_HD inline void wgrad_accumulate_row(const float* x, const float* dy, const Dims<I>& d, I n,
                                           I oy, I c, float (&acc)[K * K]) {
    static_assert(S >= 1 && S <= K, "the window shift needs 1 <= stride <= side");
    I row[K];
    EFFNET_DW_UNROLL
    for (int ky = 0; ky < K; ++ky) {
        const I iy = oy * S - d.pad + ky;
        row[ky] = iy >= 0 && iy < d.h ? (n * d.h + iy) * d.w * d.c + c : I(-1);
    }
    float win[K][K];
    EFFNET_DW_UNROLL
    for (int ky = 0; ky < K; ++ky) EFFNET_DW_UNROLL
    for (int kx = 0; kx < K; ++kx) win[ky][kx] = x_or_zero<I>(x, row[ky], I(kx) - d.pad, d);
    const float* g = dy + (n * d.ho + oy) * d.wo * d.c + c;
    for (I ox = 0; ox < d.wo; ++ox) {
        if (ox > 0) {
            EFFNET_DW_UNROLL
            for (int ky = 0; ky < K; ++ky) {
                EFFNET_DW_UNROLL
                for (int kx = 0; kx < K - S; ++kx) win[ky][kx] = win[ky][kx + S];
                EFFNET_DW_UNROLL
                for (int kx = K - S; kx < K; ++kx)
                    win[ky][kx] = x_or_zero<I>(x, row[ky], ox * S - d.pad + kx, d);
            }
        }
        const float gv = load_ro(g + ox * d.c);
        EFFNET_DW_UNROLL
        for (int ky = 0; ky < K; ++ky) EFFNET_DW_UNROLL
        for (int kx = 0; kx < K; ++kx) acc[ky * K + kx] = fmaf(win[ky][kx], gv, acc[ky * K + kx]);
    }
}

// The generic variant (run-time sides up to kMaxSide and stride, 64-bit
// indices): one load per in-bounds tap; tap (ky, kx) sums into acc[ky*kMaxSide + kx].
template <class I>
EFFNET_HD inline void wgrad_accumulate_row_generic(const float* x, const float* dy,
                                                   const Dims<I>& d, I n, I oy, I c,
                                                   float (&acc)[kMaxSide * kMaxSide]) {
    for (I ox = 0; ox < d.wo; ++ox) {
        const float gv = load_ro(dy + ((n * d.ho + oy) * d.wo + ox) * d.c + c);
        EFFNET_DW_UNROLL
        for (int ky = 0; ky < kMaxSide; ++ky) {
            const I iy = oy * d.stride - d.pad + ky;
            if (ky >= d.kh || iy < 0 || iy >= d.h) continue;
            EFFNET_DW_UNROLL
            for (int kx = 0; kx < kMaxSide; ++kx) {
                const I ix = ox * d.stride - d.pad + kx;
                if (kx >= d.kw || ix < 0 || ix >= d.w) continue;
                acc[ky * kMaxSide + kx] = fmaf(load_ro(x + ((n * d.h + iy) * d.w + ix) * d.c + c),
                                               gv, acc[ky * kMaxSide + kx]);
            }
        }
    }
}

}  // namespace effnet::dwmap
