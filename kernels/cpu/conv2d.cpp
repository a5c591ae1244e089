// CPU reference for kernels/conv2d.h: im2col + Eigen GEMM per group, with a
// direct GEMM for pointwise convolutions (no im2col copy).
//
// im2col row m = (n, oy, ox) holds the receptive field in (ky, kx, ci) order,
// matching the re-laid-out weight wr[co][(ky*kW + kx)*Cin_g + ci].
#include <utility>
#include <vector>

#include "kernels/conv2d.h"
#include "kernels/cpu/gemm.h"

namespace effnet::cpu {

namespace {

template <class T>
std::vector<T>& scratch(int slot) {
    // Grows to the largest layer once, then is reused: no allocation per step.
    thread_local std::vector<T> buffers[2];
    return buffers[slot];
}

// wr[co][(ky*kw + kx)*cig + ci] = w[co][ci][ky][kx]
template <class T>
void relayout_weight(const T* w, T* wr, const ConvGeometry& g) {
    const int64_t cig = g.cin_per_group();
    for (int64_t co = 0; co < g.cout; ++co)
        for (int64_t ci = 0; ci < cig; ++ci)
            for (int64_t ky = 0; ky < g.kh; ++ky)
                for (int64_t kx = 0; kx < g.kw; ++kx)
                    wr[co * g.kh * g.kw * cig + (ky * g.kw + kx) * cig + ci] =
                        w[((co * cig + ci) * g.kh + ky) * g.kw + kx];
}

template <class T>
void im2col(const T* x, T* col, const ConvGeometry& g, int64_t group) {
    const int64_t ho = g.ho(), wo = g.wo(), cig = g.cin_per_group(), k = g.kh * g.kw * cig;
#pragma omp parallel for schedule(static)
    for (int64_t row = 0; row < g.n * ho; ++row) {
        const int64_t n = row / ho, oy = row % ho;
        for (int64_t ox = 0; ox < wo; ++ox) {
            T* dst = col + (row * wo + ox) * k;
            for (int64_t ky = 0; ky < g.kh; ++ky) {
                const int64_t iy = oy * g.stride - g.pad + ky;
                for (int64_t kx = 0; kx < g.kw; ++kx) {
                    const int64_t ix = ox * g.stride - g.pad + kx;
                    T* d = dst + (ky * g.kw + kx) * cig;
                    if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) {
                        for (int64_t ci = 0; ci < cig; ++ci) d[ci] = T(0);
                    } else {
                        const T* s = x + ((n * g.h + iy) * g.w + ix) * g.cin + group * cig;
                        for (int64_t ci = 0; ci < cig; ++ci) d[ci] = s[ci];
                    }
                }
            }
        }
    }
}

// dx (+)= col2im(dcol). Parallel over images, so no two threads touch one pixel.
template <class T>
void col2im_add(const T* col, T* dx, const ConvGeometry& g, int64_t group) {
    const int64_t ho = g.ho(), wo = g.wo(), cig = g.cin_per_group(), k = g.kh * g.kw * cig;
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < g.n; ++n)
        for (int64_t oy = 0; oy < ho; ++oy)
            for (int64_t ox = 0; ox < wo; ++ox) {
                const T* src = col + ((n * ho + oy) * wo + ox) * k;
                for (int64_t ky = 0; ky < g.kh; ++ky) {
                    const int64_t iy = oy * g.stride - g.pad + ky;
                    if (iy < 0 || iy >= g.h) continue;
                    for (int64_t kx = 0; kx < g.kw; ++kx) {
                        const int64_t ix = ox * g.stride - g.pad + kx;
                        if (ix < 0 || ix >= g.w) continue;
                        T* d = dx + ((n * g.h + iy) * g.w + ix) * g.cin + group * cig;
                        const T* s = src + (ky * g.kw + kx) * cig;
                        for (int64_t ci = 0; ci < cig; ++ci) d[ci] += s[ci];
                    }
                }
            }
}

int64_t taps(const ConvGeometry& g) { return g.kh * g.kw * g.cin_per_group(); }

// The scratch pair of forward and backward_input: weights re-laid out
// tap-major, and a column buffer sized for the im2col matrix.
template <class T>
std::pair<std::vector<T>&, std::vector<T>&> relaid_weight_and_columns(const T* w,
                                                                      const ConvGeometry& g) {
    std::vector<T>& wr = scratch<T>(0);
    std::vector<T>& col = scratch<T>(1);
    wr.resize(size_t(g.cout * taps(g)));
    col.resize(size_t(g.n * g.ho() * g.wo() * taps(g)));
    relayout_weight(w, wr.data(), g);
    return {wr, col};
}

}  // namespace

template <class T>
void conv2d_forward(const T* x, const T* w, T* y, const ConvGeometry& g, CudaStream) {
    const int64_t m = g.n * g.ho() * g.wo();
    if (g.is_pointwise()) {
        gemm_nt<T>(m, g.cout, g.cin, x, g.cin, w, g.cin, y, g.cout, false);
        return;
    }
    const int64_t cog = g.cout_per_group(), k = taps(g);
    auto [wr, col] = relaid_weight_and_columns(w, g);
    for (int64_t grp = 0; grp < g.groups; ++grp) {
        im2col(x, col.data(), g, grp);
        gemm_nt<T>(m, cog, k, col.data(), k, wr.data() + grp * cog * k, k, y + grp * cog, g.cout,
                   false);
    }
}

template <class T>
void conv2d_backward_input(const T* dy, const T* w, T* dx, const ConvGeometry& g, CudaStream) {
    const int64_t m = g.n * g.ho() * g.wo();
    if (g.is_pointwise()) {
        gemm_nn<T>(m, g.cin, g.cout, dy, g.cout, w, g.cin, dx, g.cin, false);
        return;
    }
    const int64_t cog = g.cout_per_group(), k = taps(g);
    auto [wr, col] = relaid_weight_and_columns(w, g);
    std::fill(dx, dx + g.n * g.h * g.w * g.cin, T(0));
    for (int64_t grp = 0; grp < g.groups; ++grp) {
        gemm_nn<T>(m, k, cog, dy + grp * cog, g.cout, wr.data() + grp * cog * k, k, col.data(), k,
                   false);
        col2im_add(col.data(), dx, g, grp);
    }
}

template <class T>
void conv2d_backward_weight(const T* x, const T* dy, T* dw, const ConvGeometry& g, CudaStream) {
    const int64_t m = g.n * g.ho() * g.wo();
    if (g.is_pointwise()) {
        gemm_tn<T>(g.cout, g.cin, m, dy, g.cout, x, g.cin, dw, g.cin, true);
        return;
    }
    const int64_t cig = g.cin_per_group(), cog = g.cout_per_group(), k = g.kh * g.kw * cig;
    std::vector<T>& dwr = scratch<T>(0);
    std::vector<T>& col = scratch<T>(1);
    dwr.resize(g.cout * k);
    col.resize(m * k);
    for (int64_t grp = 0; grp < g.groups; ++grp) {
        im2col(x, col.data(), g, grp);
        gemm_tn<T>(cog, k, m, dy + grp * cog, g.cout, col.data(), k, dwr.data() + grp * cog * k, k,
                   false);
    }
    for (int64_t co = 0; co < g.cout; ++co)
        for (int64_t ci = 0; ci < cig; ++ci)
            for (int64_t ky = 0; ky < g.kh; ++ky)
                for (int64_t kx = 0; kx < g.kw; ++kx)
                    dw[((co * cig + ci) * g.kh + ky) * g.kw + kx] +=
                        dwr[co * k + (ky * g.kw + kx) * cig + ci];
}

#define EFFNET_INSTANTIATE(T)                                                                 \
    template void conv2d_forward<T>(const T*, const T*, T*, const ConvGeometry&, CudaStream); \
    template void conv2d_backward_input<T>(const T*, const T*, T*, const ConvGeometry&,       \
                                           CudaStream);                                       \
    template void conv2d_backward_weight<T>(const T*, const T*, T*, const ConvGeometry&,      \
                                            CudaStream);
EFFNET_INSTANTIATE(float)
EFFNET_INSTANTIATE(double)
#undef EFFNET_INSTANTIATE

}  // namespace effnet::cpu
