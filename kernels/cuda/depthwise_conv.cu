// CUDA depthwise convolution (kernels/depthwise_conv.h); mapping and
// rationale in kernels/cuda/depthwise_map.h.
//
// Weights are first re-laid out tap-major, wt[tap][C], so that a thread
// reads the k*k weights of its channel vector with one float4 load per tap.
#include "kernels/cuda/depthwise_map.h"
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
__global__ void depthwise_relayout_kernel(const float* __restrict__ w, float* __restrict__ wt, int64_t c, int taps) {
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
__global__ void depthwise_forward_kernel(const float* __restrict__ x, const float* __restrict__ wt, float* __restrict__ y,
                                         ConvGeometry g) {
    const int64_t cvecs = g.cin / V, total = g.n * g.ho() * g.wo() * cvecs;
    const int kh = rows_of<K>(g), kw = cols_of<K>(g);
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
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
// outputs that read it, so no two threads write one element.
template <int V, int K>
__global__ void depthwise_backward_input_kernel(const float* __restrict__ dy, const float* __restrict__ wt,
                                                float* __restrict__ dx, ConvGeometry g) {
    const int64_t cvecs = g.cin / V, total = g.n * g.h * g.w * cvecs;
    const int kh = rows_of<K>(g), kw = cols_of<K>(g);
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        const Pixel p = unflatten(i, g.h, g.w, cvecs);
        typename Vec<V>::T acc = Vec<V>::zero();
#pragma unroll
        for (int ky = 0; ky < kh; ++ky) {
            const int64_t oy = output_row_from(g, p.y, ky);
            if (oy < 0) continue;
#pragma unroll
            for (int kx = 0; kx < kw; ++kx) {
                const int64_t ox = output_col_from(g, p.x, kx);
                if (ox < 0) continue;
                Vec<V>::fma(acc, Vec<V>::load(dy + ((p.n * g.ho() + oy) * g.wo() + ox) * g.cin + p.cv * V),
                            Vec<V>::load(wt + (ky * kw + kx) * g.cin + p.cv * V));
            }
        }
        Vec<V>::store(dx + i * V, acc);
    }
}

// Partial weight gradients: see depthwise_map.h. partial[by][tap][C]. With
// K fixed the tap loops unroll, so acc[] is indexed by constants and lives in
// registers (K*K*V floats: 100 for 5x5 float4).
template <int V, int K>
__global__ void depthwise_backward_weight_kernel(const float* __restrict__ x, const float* __restrict__ dy,
                                                 float* __restrict__ partial, ConvGeometry g) {
    __shared__ float red[kWgRows][kWgChannels * V];
    constexpr int kAcc = (K > 0 ? K * K : kMaxTaps) * V;
    const int64_t cvecs = g.cin / V, rows = g.n * g.ho();
    const int64_t cv = int64_t(blockIdx.x) * kWgChannels + threadIdx.x;
    const int kh = rows_of<K>(g), kw = cols_of<K>(g), taps = kh * kw;
    float acc[kAcc];
#pragma unroll
    for (int t = 0; t < kAcc; ++t) acc[t] = 0.0f;
    if (cv < cvecs) {
        for (int64_t r = int64_t(blockIdx.y) * kWgRows + threadIdx.y; r < rows; r += int64_t(gridDim.y) * kWgRows) {
            const int64_t n = r / g.ho(), oy = r % g.ho();
            for (int64_t ox = 0; ox < g.wo(); ++ox) {
                const float* gy = dy + ((n * g.ho() + oy) * g.wo() + ox) * g.cin + cv * V;
                float d[V];
#pragma unroll
                for (int v = 0; v < V; ++v) d[v] = __ldg(gy + v);
#pragma unroll
                for (int ky = 0; ky < kh; ++ky) {
                    const int64_t iy = input_row(g, oy, ky);
                    if (iy < 0 || iy >= g.h) continue;
#pragma unroll
                    for (int kx = 0; kx < kw; ++kx) {
                        const int64_t ix = input_col(g, ox, kx);
                        if (ix < 0 || ix >= g.w) continue;
                        const float* in = x + ((n * g.h + iy) * g.w + ix) * g.cin + cv * V;
                        const int t = ky * kw + kx;
#pragma unroll
                        for (int v = 0; v < V; ++v) acc[t * V + v] = fmaf(__ldg(in + v), d[v], acc[t * V + v]);
                    }
                }
            }
        }
    }
    // Sum the kWgRows row groups of the block, one tap at a time, in a fixed order.
#pragma unroll
    for (int t = 0; t < (K > 0 ? K * K : kMaxTaps); ++t) {
        if (t >= taps) break;
#pragma unroll
        for (int v = 0; v < V; ++v) red[threadIdx.y][threadIdx.x * V + v] = acc[t * V + v];
        __syncthreads();
        if (threadIdx.y == 0 && cv < cvecs) {
            for (int v = 0; v < V; ++v) {
                float s = 0.0f;
                for (int r = 0; r < kWgRows; ++r) s += red[r][threadIdx.x * V + v];
                partial[(int64_t(blockIdx.y) * taps + t) * g.cin + cv * V + v] = s;
            }
        }
        __syncthreads();
    }
}

// dw[c][tap] += sum over slices of partial[slice][tap][c]; one thread per weight.
__global__ void depthwise_weight_reduce_kernel(const float* __restrict__ partial, float* __restrict__ dw, int64_t c,
                                               int taps, int slices) {
    const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
    if (i >= c * taps) return;
    const int64_t ch = i / taps, tap = i % taps;
    float s = 0.0f;
    for (int k = 0; k < slices; ++k) s += partial[(int64_t(k) * taps + tap) * c + ch];
    dw[i] += s;
}

cudaStream_t as_stream(void* s) { return static_cast<cudaStream_t>(s); }

void relayout(const float* w, float* wt, const ConvGeometry& g, void* stream) {
    const int64_t n = g.cin * g.kh * g.kw;
    depthwise_relayout_kernel<<<unsigned(ceil_div<int64_t>(n, kThreads)), kThreads, 0, as_stream(stream)>>>(w, wt, g.cin,
                                                                                                           int(g.kh * g.kw));
    EFFNET_CHECK_LAUNCH("depthwise_relayout_kernel", "C=" << g.cin << " k=" << g.kh);
}

std::string describe(const ConvGeometry& g) {
    std::ostringstream os;
    os << "N=" << g.n << " H=" << g.h << " W=" << g.w << " C=" << g.cin << " k=" << g.kh << " s=" << g.stride;
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

void depthwise_conv2d_forward(const float* x, const float* w, float* y, const ConvGeometry& g, float* d_wt, void* stream) {
    relayout(w, d_wt, g, stream);
    const int64_t total = g.n * g.ho() * g.wo() * g.cin;
    dispatch(g, [&](auto v, auto k) {
        depthwise_forward_kernel<v(), k()>
            <<<elementwise_blocks(total / v()), kThreads, 0, as_stream(stream)>>>(x, d_wt, y, g);
    });
    EFFNET_CHECK_LAUNCH("depthwise_forward_kernel", describe(g));
}

void depthwise_conv2d_backward_input(const float* dy, const float* w, float* dx, const ConvGeometry& g, float* d_wt,
                                     void* stream) {
    relayout(w, d_wt, g, stream);
    const int64_t total = g.n * g.h * g.w * g.cin;
    dispatch(g, [&](auto v, auto k) {
        depthwise_backward_input_kernel<v(), k()>
            <<<elementwise_blocks(total / v()), kThreads, 0, as_stream(stream)>>>(dy, d_wt, dx, g);
    });
    EFFNET_CHECK_LAUNCH("depthwise_backward_input_kernel", describe(g));
}

size_t depthwise_weight_workspace_floats(const ConvGeometry& g) { return size_t(wgrad_grid(g).y) * g.kh * g.kw * g.cin; }

void depthwise_conv2d_backward_weight(const float* x, const float* dy, float* dw, const ConvGeometry& g, float* d_partial,
                                      void* stream) {
    EFFNET_CHECK(g.kh * g.kw <= kMaxTaps, "depthwise weight gradient supports up to 25 taps (5x5), got " << g.kh << "x" << g.kw);
    const WgradGrid grid = wgrad_grid(g);
    const dim3 block(kWgChannels, kWgRows);
    dispatch(g, [&](auto v, auto k) {
        depthwise_backward_weight_kernel<v(), k()>
            <<<dim3(grid.x, grid.y), block, 0, as_stream(stream)>>>(x, dy, d_partial, g);
    });
    EFFNET_CHECK_LAUNCH("depthwise_backward_weight_kernel", describe(g));
    const int64_t n = g.cin * g.kh * g.kw;
    depthwise_weight_reduce_kernel<<<unsigned(ceil_div<int64_t>(n, kThreads)), kThreads, 0, as_stream(stream)>>>(
        d_partial, dw, g.cin, int(g.kh * g.kw), int(grid.y));
    EFFNET_CHECK_LAUNCH("depthwise_weight_reduce_kernel", describe(g));
}

}  // namespace effnet::cuda
