// CPU reference for kernels/activation.h. Plain loops the compiler vectorises.
#include <cmath>

#include "kernels/activation.h"
#include "kernels/cpu/swish_math.h"

namespace effnet::cpu {

template <class T>
void swish_forward(const T* x, T* y, int64_t n, CudaStream) {
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) y[i] = swish(x[i]);
}

template <class T>
void swish_backward(const T* x, const T* dy, T* dx, int64_t n, CudaStream) {
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) dx[i] = swish_grad(dy[i], x[i]);
}

template <class T>
void sigmoid_forward(const T* x, T* y, int64_t n, CudaStream) {
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) y[i] = sigmoid(x[i]);
}

template <class T>
void sigmoid_backward(const T* y, const T* dy, T* dx, int64_t n, CudaStream) {
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * y[i] * (T(1) - y[i]);
}

#define EFFNET_INSTANTIATE(T)                                                     \
    template void swish_forward<T>(const T*, T*, int64_t, CudaStream);            \
    template void swish_backward<T>(const T*, const T*, T*, int64_t, CudaStream); \
    template void sigmoid_forward<T>(const T*, T*, int64_t, CudaStream);          \
    template void sigmoid_backward<T>(const T*, const T*, T*, int64_t, CudaStream);
EFFNET_INSTANTIATE(float)
EFFNET_INSTANTIATE(double)
#undef EFFNET_INSTANTIATE

}  // namespace effnet::cpu
