// CPU reference for kernels/dropout.h.
#include "kernels/dropout.h"
#include "tensor/philox.h"

namespace effnet::cpu {

template <class T>
void dropout_apply(const T* x, T* y, int64_t n, float p, uint64_t seed, uint64_t stream,
                   uint64_t first, CudaStream) {
    const T scale = T(1.0 / (1.0 - double(p)));
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i)
        y[i] = philox_uniform(seed, stream, first + uint64_t(i)) >= p ? x[i] * scale : T(0);
}

template <class T>
void drop_path_apply(const T* x, T* y, int64_t batch, int64_t per_sample, float p, uint64_t seed,
                     uint64_t stream, uint64_t first, CudaStream) {
    const T scale = T(1.0 / (1.0 - double(p)));
    for (int64_t s = 0; s < batch; ++s) {
        const T f = philox_uniform(seed, stream, first + uint64_t(s)) >= p ? scale : T(0);
        const T* in = x + s * per_sample;
        T* out = y + s * per_sample;
#pragma omp parallel for simd schedule(static)
        for (int64_t i = 0; i < per_sample; ++i) out[i] = in[i] * f;
    }
}

#define EFFNET_INSTANTIATE(T)                                                                   \
    template void dropout_apply<T>(const T*, T*, int64_t, float, uint64_t, uint64_t, uint64_t,  \
                                   CudaStream);                                                 \
    template void drop_path_apply<T>(const T*, T*, int64_t, int64_t, float, uint64_t, uint64_t, \
                                     uint64_t, CudaStream);
EFFNET_INSTANTIATE(float)
EFFNET_INSTANTIATE(double)
#undef EFFNET_INSTANTIATE

}  // namespace effnet::cpu
