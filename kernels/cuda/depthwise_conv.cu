// CUDA depthwise convolution (kernels/depthwise_conv.h); mapping, per-thread
// loops and rationale in kernels/cuda/depthwise_map.h.
//
// Forward and input gradient first re-lay the weights out tap-major,
// wt[tap][C], so that a thread reads the k*k weights of its channel vector
// with one float4 load per tap. The weight gradient writes per-slice partials
// [slices][taps][C] and a second kernel adds them into dw in a fixed order.
#include "kernels/cuda/depthwise_map.h"
#include "kernels/cuda/device_query.h"
#include "kernels/depthwise_conv.h"
#include "tensor/cuda_check.h"

#include <type_traits>

namespace effnet::cuda {

namespace {

using namespace dwmap;

template <int V>
struct Vec;
template <>
struct Vec<4> {
    using T = float4;
    __device__ static T load(const float* p) { return __ldg(reinterpret_cast<const float4*>(p)); }
    __device__ static void store(float* p, T v) { *reinterpret_cast<float4*>(p) = v; }
    __device__ static T zero() { return make_float4(0, 0, 0, 0); }
    __device__ static void fma(T& acc, T a, T b) {
        acc.x = fmaf(a.x, b.x, acc.x);
        acc.y = fmaf(a.y, b.y, acc.y);
        acc.z = fmaf(a.z, b.z, acc.z);
        acc.w = fmaf(a.w, b.w, acc.w);
    }
};
template <>
struct Vec<1> {
    using T = float;
    __device__ static T load(const float* p) { return __ldg(p); }
    __device__ static void store(float* p, T v) { *p = v; }
    __device__ static T zero() { return 0.0f; }
    __device__ static void fma(T& acc, T a, T b) { acc = fmaf(a, b, acc); }
};

// wt[tap * C + c] = w[c * taps + tap]; one thread per weight.
__global__ void depthwise_relayout_kernel(const float* __restrict__ w, float* __restrict__ wt,
                                          int64_t c, int taps) {
    const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
    if (i >= c * taps) return;
    const int64_t ch = i / taps, tap = i % taps;
    wt[tap * c + ch] = w[i];
}

// Kernel side: K (3 or 5, square) as a template argument lets the tap loops
// unroll and the weight gradient keep its K*K accumulators in registers;
// K == 0 is the general case with the sides read from the geometry.
template <int K>
__device__ __forceinline__ int rows_of(const ConvGeometry& g) {
    return K > 0 ? K : int(g.kh);
}
template <int K>
__device__ __forceinline__ int cols_of(const ConvGeometry& g) {
    return K > 0 ? K : int(g.kw);
}

// One thread per (n, oy, ox, channel vector) of the output.
template <int V, int K>
__global__ void depthwise_forward_kernel(const float* __restrict__ x, const float* __restrict__ wt,
                                         float* __restrict__ y, ConvGeometry g) {
    const int64_t cvecs = g.cin / V, total = g.n * g.ho() * g.wo() * cvecs;
    const int kh = rows_of<K>(g), kw = cols_of<K>(g);
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
         i += int64_t(gridDim.x) * blockDim.x) {
        const Pixel o = unflatten(i, g.ho(), g.wo(), cvecs);
        typename Vec<V>::T acc = Vec<V>::zero();
#pragma unroll
        for (int ky = 0; ky < kh; ++ky) {
            const int64_t iy = input_row(g, o.y, ky);
            if (iy < 0 || iy >= g.h) continue;
#pragma unroll
            for (int kx = 0; kx < kw; ++kx) {
                const int64_t ix = input_col(g, o.x, kx);
                if (ix < 0 || ix >= g.w) continue;
                Vec<V>::fma(acc, Vec<V>::load(x + ((o.n * g.h + iy) * g.w + ix) * g.cin + o.cv * V),
                            Vec<V>::load(wt + (ky * kw + kx) * g.cin + o.cv * V));
            }
        }
        Vec<V>::store(y + i * V, acc);
    }
}

// One thread per (n, iy, ix, channel vector) of the input: gathers the
// outputs that read it (gather_input_grad), so no two threads write one
// element. K, S > 0: the fast variant (fixed side and stride, I = int32_t);
// 0: the generic one.
template <int V, int K, int S, class I>
__global__ void __launch_bounds__(kThreads)
    depthwise_backward_input_kernel(const float* __restrict__ dy, const float* __restrict__ wt,
                                    float* __restrict__ dx, Dims<I> d) {
    const I cvecs = d.c / V, total = d.n * d.h * d.w * cvecs;
    for (I i = I(blockIdx.x) * I(blockDim.x) + I(threadIdx.x); i < total;
         i += I(gridDim.x) * I(blockDim.x)) {
        const PixelOf<I> p = unflatten<I>(i, d.h, d.w, cvecs);
        float acc[V];
#pragma unroll
        for (int v = 0; v < V; ++v) acc[v] = 0.0f;
        gather_input_grad<V, K, S, I>(dy, wt, d, p.n, p.y, p.x, p.cv * V, acc);
        if constexpr (V == 4)
            *reinterpret_cast<float4*>(dx + i * V) = make_float4(acc[0], acc[1], acc[2], acc[3]);
        else
            dx[i] = acc[0];
    }
}

// Weight-gradient partials, mapping in depthwise_map.h: partial[by][tap][C].
// Thread (tx, ty) sums its channel's taps over its rows in registers
// (wgrad_accumulate_row); the block then adds its kWgRows row lanes per
// (tap, channel) in shared memory, in row-lane order.
template <int K, int S, class I>
__global__ void __launch_bounds__(kWgChannels* kWgRows)
    depthwise_backward_weight_kernel(const float* __restrict__ x, const float* __restrict__ dy,
                                     float* __restrict__ partial, Dims<I> d) {
    constexpr int kSlots = K > 0 ? K * K : kMaxSide * kMaxSide;
    __shared__ float red[kWgRows][kSlots][kWgChannels];
    float acc[kSlots];
#pragma unroll
    for (int t = 0; t < kSlots; ++t) acc[t] = 0.0f;
    const I c = I(wgrad_channel(blockIdx.x, threadIdx.x)), rows = d.n * d.ho;
    if (c < d.c)
        for (I r = I(wgrad_first_row(blockIdx.y, threadIdx.y)); r < rows;
             r += I(wgrad_row_step(gridDim.y))) {
            const I n = r / d.ho, oy = r - n * d.ho;
            if constexpr (K > 0)
                wgrad_accumulate_row<K, S, I>(x, dy, d, n, oy, c, acc);
            else
                wgrad_accumulate_row_generic<I>(x, dy, d, n, oy, c, acc);
        }
#pragma unroll
    for (int t = 0; t < kSlots; ++t) red[threadIdx.y][t][threadIdx.x] = acc[t];
    __syncthreads();
    // Thread e of the block sums entries (tap, lane) = (e / 32, e % 32), e += 256.
    const int taps = d.kh * d.kw;
    for (int e = int(threadIdx.y) * kWgChannels + int(threadIdx.x); e < taps * kWgChannels;
         e += kWgRows * kWgChannels) {
        const int tap = e / kWgChannels, lane = e % kWgChannels;
        const int64_t ch = wgrad_channel(blockIdx.x, unsigned(lane));
        if (ch >= int64_t(d.c)) continue;
        const int slot = wgrad_slot<K>(tap, d.kw);
        float s = 0.0f;
        for (int k = 0; k < kWgRows; ++k) s += red[k][slot][lane];
        partial[wgrad_partial_index(blockIdx.y, tap, taps, d.c, ch)] = s;
    }
}

// dw[c][tap] += the sum over slices of partial[slice][tap][c]. Block
// (kWgChannels, kWgReduceLanes), grid (channel tiles, taps): lane ty adds
// slices ty, ty + kWgReduceLanes, ... in order (double), then the block adds
// its lanes in order.
__global__ void __launch_bounds__(kWgChannels* kWgReduceLanes)
    depthwise_weight_reduce_kernel(const float* __restrict__ partial, float* __restrict__ dw,
                                   int64_t C, int taps, unsigned slices) {
    __shared__ double red[kWgReduceLanes][kWgChannels];
    const int64_t c = wgrad_channel(blockIdx.x, threadIdx.x);
    const int tap = int(blockIdx.y);
    double s = 0.0;
    if (c < C)
        for (unsigned k = threadIdx.y; k < slices; k += kWgReduceLanes)
            s += partial[wgrad_partial_index(k, tap, taps, C, c)];
    red[threadIdx.y][threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.y == 0 && c < C) {
        double t = 0.0;
        for (int k = 0; k < kWgReduceLanes; ++k) t += red[k][threadIdx.x];
        dw[c * taps + tap] += float(t);
    }
}

void relayout(const float* w, float* wt, const ConvGeometry& g, CudaStream stream) {
    const int64_t n = g.cin * g.kh * g.kw;
    depthwise_relayout_kernel<<<unsigned(ceil_div<int64_t>(n, kThreads)), kThreads, 0, stream>>>(
        w, wt, g.cin, int(g.kh * g.kw));
    EFFNET_CHECK_LAUNCH("depthwise_relayout_kernel", "C=" << g.cin << " k=" << g.kh);
}

std::string describe(const ConvGeometry& g) {
    std::ostringstream os;
    os << "N=" << g.n << " H=" << g.h << " W=" << g.w << " C=" << g.cin << " k=" << g.kh
       << " s=" << g.stride;
    return os.str();
}

}  // namespace

namespace {
// Calls launch(V, K) with the vector width and kernel side as template constants.
template <class Launch>
void dispatch(const ConvGeometry& g, Launch launch) {
    const bool v4 = vector_width(g.cin) == 4;
    auto with_k = [&](auto v) {
        if (g.kh == 3 && g.kw == 3)
            launch(v, std::integral_constant<int, 3>());
        else if (g.kh == 5 && g.kw == 5)
            launch(v, std::integral_constant<int, 5>());
        else
            launch(v, std::integral_constant<int, 0>());
    };
    if (v4)
        with_k(std::integral_constant<int, 4>());
    else
        with_k(std::integral_constant<int, 1>());
}
}  // namespace

void depthwise_conv2d_forward(const float* x, const float* w, float* y, const ConvGeometry& g,
                              float* d_wt, CudaStream stream) {
    relayout(w, d_wt, g, stream);
    const int64_t total = g.n * g.ho() * g.wo() * g.cin;
    dispatch(g, [&](auto v, auto k) {
        depthwise_forward_kernel<v(), k()>
            <<<elementwise_blocks(total / v()), kThreads, 0, stream>>>(x, d_wt, y, g);
    });
    EFFNET_CHECK_LAUNCH("depthwise_forward_kernel", describe(g));
}

void depthwise_conv2d_backward_input(const float* dy, const float* w, float* dx,
                                     const ConvGeometry& g, float* d_wt, CudaStream stream) {
    relayout(w, d_wt, g, stream);
    const int64_t total = g.n * g.h * g.w * g.cin;
    const bool v4 = vector_width(g.cin) == 4;
    dispatch_backward(g, [&](auto k, auto s, auto index) {
        using I = typename decltype(index)::type;
        const Dims<I> d = dims_of<I>(g);
        const unsigned blocks = elementwise_blocks(total / (v4 ? 4 : 1));
        if (v4)
            depthwise_backward_input_kernel<4, k(), s(), I>
                <<<blocks, kThreads, 0, stream>>>(dy, d_wt, dx, d);
        else
            depthwise_backward_input_kernel<1, k(), s(), I>
                <<<blocks, kThreads, 0, stream>>>(dy, d_wt, dx, d);
    });
    EFFNET_CHECK_LAUNCH("depthwise_backward_input_kernel",
                        describe(g) << (fast_backward(g) ? "" : " (generic)"));
}

size_t depthwise_weight_workspace_floats(const ConvGeometry& g) {
    return wgrad_partial_floats(g, multiprocessor_count());
}

void depthwise_conv2d_backward_weight(const float* x, const float* dy, float* dw,
                                      const ConvGeometry& g, float* d_partial, CudaStream stream) {
    EFFNET_CHECK(g.kh <= kMaxSide && g.kw <= kMaxSide,
                 "depthwise weight gradient supports kernels up to "
                     << kMaxSide << "x" << kMaxSide << ", got " << g.kh << "x" << g.kw);
    const WgradGrid grid = wgrad_grid(g, multiprocessor_count());
    dispatch_backward(g, [&](auto k, auto s, auto index) {
        using I = typename decltype(index)::type;
        depthwise_backward_weight_kernel<k(), s(), I>
            <<<dim3(grid.x, grid.y), dim3(kWgChannels, kWgRows), 0, stream>>>(x, dy, d_partial,
                                                                              dims_of<I>(g));
    });
    EFFNET_CHECK_LAUNCH("depthwise_backward_weight_kernel",
                        describe(g) << " grid " << grid.x << "x" << grid.y
                                    << (fast_backward(g) ? "" : " (generic)"));
    const int taps = int(g.kh * g.kw);
    depthwise_weight_reduce_kernel<<<dim3(grid.x, unsigned(taps)),
                                     dim3(kWgChannels, kWgReduceLanes), 0, stream>>>(
        d_partial, dw, g.cin, taps, grid.y);
    EFFNET_CHECK_LAUNCH("depthwise_weight_reduce_kernel", describe(g));
}

}  // namespace effnet::cuda
