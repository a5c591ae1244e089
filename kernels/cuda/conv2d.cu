// CUDA dense convolution (kernels/conv2d.h): pointwise convolutions are one
// cuBLAS GEMM over N*H*W rows; others (the 3x3/2 stem) go through im2col.
// Workspace layout: wr [Cout][k*k*Cin_g] (tap-major weights), then col
// [N*Ho*Wo][k*k*Cin_g]. Thread mappings: one thread per element written,
// grid-stride (im2col: per column entry; col2im: per input element, gathering
// every column entry that reads it, so no atomics).
#include "kernels/conv2d.h"
#include "kernels/cuda/gemm.h"
#include "tensor/cuda_check.h"

namespace effnet::cuda {

namespace {
constexpr int kThreads = 256;

__device__ __forceinline__ int64_t tap_index(const ConvGeometry& g, int64_t ky, int64_t kx,
                                             int64_t ci) {
    return (ky * g.kw + kx) * g.cin_per_group() + ci;
}

// wr[co][(ky*kw + kx)*cig + ci] = w[co][ci][ky][kx]  (or the reverse, accumulating, with `back`).
__global__ void relayout_kernel(const float* __restrict__ src, float* __restrict__ dst,
                                ConvGeometry g, bool back) {
    const int64_t cig = g.cin_per_group(), k = g.kh * g.kw * cig, total = g.cout * k;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
         i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t kx = i % g.kw, ky = (i / g.kw) % g.kh, ci = (i / (g.kw * g.kh)) % cig,
                      co = i / (g.kw * g.kh * cig);
        const int64_t r = co * k + tap_index(g, ky, kx, ci);
        if (back)
            dst[i] += src[r];  // dw (PyTorch order) += dwr (tap-major)
        else
            dst[r] = src[i];
    }
}

// col[(n, oy, ox)][tap] for one group.
__global__ void im2col_kernel(const float* __restrict__ x, float* __restrict__ col, ConvGeometry g,
                              int64_t group) {
    const int64_t cig = g.cin_per_group(), k = g.kh * g.kw * cig, total = g.n * g.ho() * g.wo() * k;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
         i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t t = i % k, row = i / k;
        const int64_t ci = t % cig, kx = (t / cig) % g.kw, ky = t / (cig * g.kw);
        const int64_t ox = row % g.wo(), oy = (row / g.wo()) % g.ho(), n = row / (g.wo() * g.ho());
        const int64_t iy = oy * g.stride - g.pad + ky, ix = ox * g.stride - g.pad + kx;
        col[i] = iy < 0 || iy >= g.h || ix < 0 || ix >= g.w
                     ? 0.0f
                     : x[((n * g.h + iy) * g.w + ix) * g.cin + group * cig + ci];
    }
}

// dx[n, iy, ix, group*cig + ci] = sum of the column entries that read it.
__global__ void col2im_kernel(const float* __restrict__ col, float* __restrict__ dx, ConvGeometry g,
                              int64_t group) {
    const int64_t cig = g.cin_per_group(), k = g.kh * g.kw * cig, total = g.n * g.h * g.w * cig;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
         i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t ci = i % cig, ix = (i / cig) % g.w, iy = (i / (cig * g.w)) % g.h,
                      n = i / (cig * g.w * g.h);
        float s = 0.0f;
        for (int64_t ky = 0; ky < g.kh; ++ky) {
            const int64_t ty = iy + g.pad - ky;
            if (ty < 0 || ty % g.stride) continue;
            const int64_t oy = ty / g.stride;
            if (oy >= g.ho()) continue;
            for (int64_t kx = 0; kx < g.kw; ++kx) {
                const int64_t tx = ix + g.pad - kx;
                if (tx < 0 || tx % g.stride) continue;
                const int64_t ox = tx / g.stride;
                if (ox >= g.wo()) continue;
                s += col[((n * g.ho() + oy) * g.wo() + ox) * k + tap_index(g, ky, kx, ci)];
            }
        }
        dx[((n * g.h + iy) * g.w + ix) * g.cin + group * cig + ci] = s;
    }
}

unsigned blocks(int64_t n) { return grid_stride_blocks(size_t(n), kThreads); }
int64_t taps(const ConvGeometry& g) { return g.kh * g.kw * g.cin_per_group(); }

// Writes the tap-major weights to the start of the workspace; returns them.
float* relaid_weights(const float* w, float* ws, const ConvGeometry& g, CudaStream stream) {
    const int64_t k = taps(g);
    relayout_kernel<<<blocks(g.cout * k), kThreads, 0, stream>>>(w, ws, g, false);
    EFFNET_CHECK_LAUNCH("relayout_kernel", "Cout=" << g.cout << " K=" << k);
    return ws;
}

}  // namespace

void conv2d_weight_to_krsc(const float* w, float* wr, const ConvGeometry& g, CudaStream stream) {
    relaid_weights(w, wr, g, stream);
}

void conv2d_weight_from_krsc_add(const float* wr, float* w, const ConvGeometry& g,
                                 CudaStream stream) {
    relayout_kernel<<<blocks(g.cout * taps(g)), kThreads, 0, stream>>>(wr, w, g, true);
    EFFNET_CHECK_LAUNCH("relayout_kernel (back)", "Cout=" << g.cout << " K=" << taps(g));
}

size_t conv2d_workspace_floats(const ConvGeometry& g) {
    if (g.is_pointwise()) return 1;
    return size_t(g.cout * taps(g) + g.n * g.ho() * g.wo() * taps(g));
}

void conv2d_forward(const float* x, const float* w, float* y, const ConvGeometry& g, float* ws,
                    CublasHandle cublas, CudaStream stream) {
    const int64_t m = g.n * g.ho() * g.wo();
    if (g.is_pointwise()) {
        gemm_nt(cublas, m, g.cout, g.cin, x, g.cin, w, g.cin, y, g.cout, false);
        return;
    }
    const int64_t k = taps(g), cog = g.cout_per_group();
    const float* wr = relaid_weights(w, ws, g, stream);
    float* col = ws + g.cout * k;
    for (int64_t grp = 0; grp < g.groups; ++grp) {
        im2col_kernel<<<blocks(m * k), kThreads, 0, stream>>>(x, col, g, grp);
        EFFNET_CHECK_LAUNCH("im2col_kernel", "M=" << m << " K=" << k);
        gemm_nt(cublas, m, cog, k, col, k, wr + grp * cog * k, k, y + grp * cog, g.cout, false);
    }
}

void conv2d_backward_input(const float* dy, const float* w, float* dx, const ConvGeometry& g,
                           float* ws, CublasHandle cublas, CudaStream stream) {
    const int64_t m = g.n * g.ho() * g.wo();
    if (g.is_pointwise()) {
        gemm_nn(cublas, m, g.cin, g.cout, dy, g.cout, w, g.cin, dx, g.cin, false);
        return;
    }
    const int64_t k = taps(g), cog = g.cout_per_group();
    const float* wr = relaid_weights(w, ws, g, stream);
    float* col = ws + g.cout * k;
    for (int64_t grp = 0; grp < g.groups; ++grp) {
        gemm_nn(cublas, m, k, cog, dy + grp * cog, g.cout, wr + grp * cog * k, k, col, k, false);
        col2im_kernel<<<blocks(g.n * g.h * g.w * g.cin_per_group()), kThreads, 0, stream>>>(col, dx,
                                                                                            g, grp);
        EFFNET_CHECK_LAUNCH("col2im_kernel", "N=" << g.n << " H=" << g.h << " W=" << g.w);
    }
}

void conv2d_backward_weight(const float* x, const float* dy, float* dw, const ConvGeometry& g,
                            float* ws, CublasHandle cublas, CudaStream stream) {
    const int64_t m = g.n * g.ho() * g.wo();
    if (g.is_pointwise()) {
        gemm_tn(cublas, g.cout, g.cin, m, dy, g.cout, x, g.cin, dw, g.cin, true);
        return;
    }
    const int64_t k = taps(g), cog = g.cout_per_group();
    float *dwr = ws, *col = ws + g.cout * k;
    for (int64_t grp = 0; grp < g.groups; ++grp) {
        im2col_kernel<<<blocks(m * k), kThreads, 0, stream>>>(x, col, g, grp);
        EFFNET_CHECK_LAUNCH("im2col_kernel", "M=" << m << " K=" << k);
        gemm_tn(cublas, cog, k, m, dy + grp * cog, g.cout, col, k, dwr + grp * cog * k, k, false);
    }
    conv2d_weight_from_krsc_add(dwr, dw, g, stream);
}

}  // namespace effnet::cuda
