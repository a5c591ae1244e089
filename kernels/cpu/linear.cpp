// CPU reference for kernels/linear.h: Eigen GEMMs.
#include "kernels/cpu/gemm.h"
#include "kernels/linear.h"

namespace effnet::cpu {

template <class T>
void linear_forward(const T* x, const T* w, const T* b, T* y, int64_t n, int64_t in, int64_t out,
                    CudaStream) {
    gemm_nt<T>(n, out, in, x, in, w, in, y, out, false);
    if (b)
        for (int64_t i = 0; i < n; ++i)
            for (int64_t o = 0; o < out; ++o) y[i * out + o] += b[o];
}

template <class T>
void linear_backward(const T* x, const T* w, const T* dy, T* dx, T* dw, T* db, int64_t n,
                     int64_t in, int64_t out, CudaStream) {
    if (dx) gemm_nn<T>(n, in, out, dy, out, w, in, dx, in, false);
    gemm_tn<T>(out, in, n, dy, out, x, in, dw, in, true);
    if (db)
        for (int64_t o = 0; o < out; ++o) {
            double s = 0;
            for (int64_t i = 0; i < n; ++i) s += dy[i * out + o];
            db[o] += T(s);
        }
}

#define EFFNET_INSTANTIATE(T)                                                                    \
    template void linear_forward<T>(const T*, const T*, const T*, T*, int64_t, int64_t, int64_t, \
                                    CudaStream);                                                 \
    template void linear_backward<T>(const T*, const T*, const T*, T*, T*, T*, int64_t, int64_t, \
                                     int64_t, CudaStream);
EFFNET_INSTANTIATE(float)
EFFNET_INSTANTIATE(double)
#undef EFFNET_INSTANTIATE

}  // namespace effnet::cpu
