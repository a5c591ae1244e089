// CPU reference for kernels/depthwise_conv.h.
//
// Weights are re-laid out tap-major (wt[(ky*k + kx)*C + c]) so every inner
// loop is a unit-stride multiply-add over channels. Threads split output rows
// (forward), input rows (backward_input, a gather: no write conflicts) and
// output rows with private double accumulators (backward_weight).
#include <omp.h>

#include <vector>

#include "kernels/depthwise_conv.h"

namespace effnet::cpu {

namespace {
template <class T>
void tap_major(const T* w, std::vector<T>& wt, const ConvGeometry& g) {
    const int64_t taps = g.kh * g.kw;
    wt.resize(taps * g.cin);
    for (int64_t c = 0; c < g.cin; ++c)
        for (int64_t t = 0; t < taps; ++t) wt[t * g.cin + c] = w[c * taps + t];
}
}  // namespace

template <class T>
void depthwise_conv2d_forward(const T* x, const T* w, T* y, const ConvGeometry& g, CudaStream) {
    thread_local std::vector<T> wt;
    tap_major(w, wt, g);
    const int64_t ho = g.ho(), wo = g.wo(), C = g.cin;
    const T* wtp = wt.data();
#pragma omp parallel for schedule(static)
    for (int64_t row = 0; row < g.n * ho; ++row) {
        const int64_t n = row / ho, oy = row % ho;
        for (int64_t ox = 0; ox < wo; ++ox) {
            T* out = y + ((n * ho + oy) * wo + ox) * C;
            for (int64_t c = 0; c < C; ++c) out[c] = T(0);
            for (int64_t ky = 0; ky < g.kh; ++ky) {
                const int64_t iy = oy * g.stride - g.pad + ky;
                if (iy < 0 || iy >= g.h) continue;
                for (int64_t kx = 0; kx < g.kw; ++kx) {
                    const int64_t ix = ox * g.stride - g.pad + kx;
                    if (ix < 0 || ix >= g.w) continue;
                    const T* in = x + ((n * g.h + iy) * g.w + ix) * C;
                    const T* wk = wtp + (ky * g.kw + kx) * C;
#pragma omp simd
                    for (int64_t c = 0; c < C; ++c) out[c] += in[c] * wk[c];
                }
            }
        }
    }
}

template <class T>
void depthwise_conv2d_backward_input(const T* dy, const T* w, T* dx, const ConvGeometry& g,
                                     CudaStream) {
    thread_local std::vector<T> wt;
    tap_major(w, wt, g);
    const int64_t ho = g.ho(), wo = g.wo(), C = g.cin;
    const T* wtp = wt.data();
#pragma omp parallel for schedule(static)
    for (int64_t row = 0; row < g.n * g.h; ++row) {
        const int64_t n = row / g.h, iy = row % g.h;
        for (int64_t ix = 0; ix < g.w; ++ix) {
            T* out = dx + ((n * g.h + iy) * g.w + ix) * C;
            for (int64_t c = 0; c < C; ++c) out[c] = T(0);
            // Output (oy, ox) reads input (iy, ix) through tap (ky, kx) when oy*s - p + ky == iy.
            for (int64_t ky = 0; ky < g.kh; ++ky) {
                const int64_t ty = iy + g.pad - ky;
                if (ty < 0 || ty % g.stride) continue;
                const int64_t oy = ty / g.stride;
                if (oy >= ho) continue;
                for (int64_t kx = 0; kx < g.kw; ++kx) {
                    const int64_t tx = ix + g.pad - kx;
                    if (tx < 0 || tx % g.stride) continue;
                    const int64_t ox = tx / g.stride;
                    if (ox >= wo) continue;
                    const T* gy = dy + ((n * ho + oy) * wo + ox) * C;
                    const T* wk = wtp + (ky * g.kw + kx) * C;
#pragma omp simd
                    for (int64_t c = 0; c < C; ++c) out[c] += gy[c] * wk[c];
                }
            }
        }
    }
}

template <class T>
void depthwise_conv2d_backward_weight(const T* x, const T* dy, T* dw, const ConvGeometry& g,
                                      CudaStream) {
    const int64_t ho = g.ho(), wo = g.wo(), C = g.cin, taps = g.kh * g.kw;
    // Per-thread partial sums (tap-major), combined in thread order so the
    // result is bit-reproducible for a given thread count.
    const int threads = omp_get_max_threads();
    std::vector<std::vector<double>> partial(threads);
#pragma omp parallel num_threads(threads)
    {
        std::vector<double>& acc = partial[omp_get_thread_num()];
        acc.assign(taps * C, 0.0);
#pragma omp for schedule(static)
        for (int64_t row = 0; row < g.n * ho; ++row) {
            const int64_t n = row / ho, oy = row % ho;
            for (int64_t ox = 0; ox < wo; ++ox) {
                const T* gy = dy + ((n * ho + oy) * wo + ox) * C;
                for (int64_t ky = 0; ky < g.kh; ++ky) {
                    const int64_t iy = oy * g.stride - g.pad + ky;
                    if (iy < 0 || iy >= g.h) continue;
                    for (int64_t kx = 0; kx < g.kw; ++kx) {
                        const int64_t ix = ox * g.stride - g.pad + kx;
                        if (ix < 0 || ix >= g.w) continue;
                        const T* in = x + ((n * g.h + iy) * g.w + ix) * C;
                        double* a = acc.data() + (ky * g.kw + kx) * C;
#pragma omp simd
                        for (int64_t c = 0; c < C; ++c) a[c] += double(in[c]) * double(gy[c]);
                    }
                }
            }
        }
    }
    std::vector<double> total(taps * C, 0.0);
    for (auto& acc : partial)
        for (size_t i = 0; i < acc.size(); ++i) total[i] += acc[i];
    for (int64_t c = 0; c < C; ++c)
        for (int64_t t = 0; t < taps; ++t) dw[c * taps + t] += T(total[t * C + c]);
}

#define EFFNET_INSTANTIATE(T)                                                                      \
    template void depthwise_conv2d_forward<T>(const T*, const T*, T*, const ConvGeometry&,         \
                                              CudaStream);                                         \
    template void depthwise_conv2d_backward_input<T>(const T*, const T*, T*, const ConvGeometry&,  \
                                                     CudaStream);                                  \
    template void depthwise_conv2d_backward_weight<T>(const T*, const T*, T*, const ConvGeometry&, \
                                                      CudaStream);
EFFNET_INSTANTIATE(float)
EFFNET_INSTANTIATE(double)
#undef EFFNET_INSTANTIATE

}  // namespace effnet::cpu
