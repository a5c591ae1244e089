// CPU reference for kernels/elementwise.h.
#include "kernels/elementwise.h"

namespace effnet::cpu {

template <class T>
void add(const T* a, const T* b, T* y, int64_t n, CudaStream) {
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

template <class T>
void add_inplace(T* y, const T* a, int64_t n, CudaStream) {
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) y[i] += a[i];
}

template <class T>
void moving_average(T* y, const T* x, T decay, int64_t n, CudaStream) {
    const T keep = T(1) - decay;
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) y[i] = decay * y[i] + keep * x[i];
}

template void add<float>(const float*, const float*, float*, int64_t, CudaStream);
template void add<double>(const double*, const double*, double*, int64_t, CudaStream);
template void add_inplace<float>(float*, const float*, int64_t, CudaStream);
template void add_inplace<double>(double*, const double*, int64_t, CudaStream);
template void moving_average<float>(float*, const float*, float, int64_t, CudaStream);
template void moving_average<double>(double*, const double*, double, int64_t, CudaStream);

}  // namespace effnet::cpu
