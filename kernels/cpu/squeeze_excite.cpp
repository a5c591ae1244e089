// CPU reference for kernels/squeeze_excite.h. Threads split images; sums over
// H*W are accumulated in double.
#include <vector>

#include "kernels/squeeze_excite.h"

namespace effnet::cpu {

template <class T>
void global_avg_pool_forward(const T* x, T* y, int64_t n, int64_t hw, int64_t c, CudaStream) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
        std::vector<double> acc(c, 0.0);
        for (int64_t p = 0; p < hw; ++p) {
            const T* row = x + (i * hw + p) * c;
            for (int64_t j = 0; j < c; ++j) acc[j] += row[j];
        }
        for (int64_t j = 0; j < c; ++j) y[i * c + j] = T(acc[j] / double(hw));
    }
}

template <class T>
void global_avg_pool_backward(const T* dy, T* dx, int64_t n, int64_t hw, int64_t c, CudaStream) {
    const T inv = T(1.0 / double(hw));
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < n * hw; ++r) {
        const T* g = dy + (r / hw) * c;
#pragma omp simd
        for (int64_t j = 0; j < c; ++j) dx[r * c + j] = g[j] * inv;
    }
}

template <class T>
void channel_scale_forward(const T* x, const T* gate, T* y, int64_t n, int64_t hw, int64_t c,
                           CudaStream) {
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < n * hw; ++r) {
        const T* g = gate + (r / hw) * c;
#pragma omp simd
        for (int64_t j = 0; j < c; ++j) y[r * c + j] = x[r * c + j] * g[j];
    }
}

template <class T>
void channel_scale_backward(const T* x, const T* gate, const T* dy, T* dx, T* dgate, int64_t n,
                            int64_t hw, int64_t c, CudaStream) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
        std::vector<double> acc(c, 0.0);
        const T* g = gate + i * c;
        for (int64_t p = 0; p < hw; ++p) {
            const int64_t off = (i * hw + p) * c;
            for (int64_t j = 0; j < c; ++j) {
                dx[off + j] = dy[off + j] * g[j];
                acc[j] += double(dy[off + j]) * double(x[off + j]);
            }
        }
        for (int64_t j = 0; j < c; ++j) dgate[i * c + j] = T(acc[j]);
    }
}

#define EFFNET_INSTANTIATE(T)                                                                      \
    template void global_avg_pool_forward<T>(const T*, T*, int64_t, int64_t, int64_t, CudaStream); \
    template void global_avg_pool_backward<T>(const T*, T*, int64_t, int64_t, int64_t,             \
                                              CudaStream);                                         \
    template void channel_scale_forward<T>(const T*, const T*, T*, int64_t, int64_t, int64_t,      \
                                           CudaStream);                                            \
    template void channel_scale_backward<T>(const T*, const T*, const T*, T*, T*, int64_t,         \
                                            int64_t, int64_t, CudaStream);
EFFNET_INSTANTIATE(float)
EFFNET_INSTANTIATE(double)
#undef EFFNET_INSTANTIATE

}  // namespace effnet::cpu
