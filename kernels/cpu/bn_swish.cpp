// CPU reference for kernels/bn_swish.h, composed from the batch-norm and
// swish references for clarity (the fusion is the CUDA version's business).
#include <vector>

#include "kernels/activation.h"
#include "kernels/bn_swish.h"

namespace effnet::cpu {

template <class T>
void bn_swish_train_forward(const T* x, const T* gamma, const T* beta, T* y, T* save_mean, T* save_invstd, T* running_mean,
                            T* running_var, int64_t m, int64_t c, double eps, double momentum, void* stream) {
    std::vector<T> z(size_t(m * c));
    batchnorm_train_forward(x, gamma, beta, z.data(), save_mean, save_invstd, running_mean, running_var, m, c, eps, momentum,
                            stream);
    swish_forward(z.data(), y, m * c, stream);
}

template <class T>
void bn_swish_backward(const T* x, const T* dy, const T* gamma, const T* beta, const T* save_mean, const T* save_invstd,
                       T* dx, T* dgamma, T* dbeta, int64_t m, int64_t c, void* stream) {
    std::vector<T> z(size_t(m * c)), dz(size_t(m * c));
    for (int64_t r = 0; r < m; ++r)
        for (int64_t j = 0; j < c; ++j)
            z[size_t(r * c + j)] = (x[r * c + j] - save_mean[j]) * save_invstd[j] * gamma[j] + beta[j];
    swish_backward(z.data(), dy, dz.data(), m * c, stream);
    batchnorm_backward(x, dz.data(), gamma, save_mean, save_invstd, dx, dgamma, dbeta, m, c, stream);
}

#define EFFNET_INSTANTIATE(T)                                                                                         \
    template void bn_swish_train_forward<T>(const T*, const T*, const T*, T*, T*, T*, T*, T*, int64_t, int64_t, double, \
                                            double, void*);                                                           \
    template void bn_swish_backward<T>(const T*, const T*, const T*, const T*, const T*, const T*, T*, T*, T*, int64_t,   \
                                       int64_t, void*);
EFFNET_INSTANTIATE(float)
EFFNET_INSTANTIATE(double)
#undef EFFNET_INSTANTIATE

}  // namespace effnet::cpu
