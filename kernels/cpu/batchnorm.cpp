// CPU reference for kernels/batchnorm.h: two passes (mean, then centred
// variance) in double for stability, then one normalising pass.
#include <cmath>
#include <vector>

#include "kernels/batchnorm.h"
#include "kernels/cpu/batchnorm_affine.h"

namespace effnet::cpu {

template <class T>
void batchnorm_train_forward(const T* x, const T* gamma, const T* beta, T* y, T* save_mean,
                             T* save_invstd, T* running_mean, T* running_var, int64_t m, int64_t c,
                             double eps, double momentum, CudaStream) {
    const auto a = batchnorm_train_affine(x, gamma, beta, save_mean, save_invstd, running_mean,
                                          running_var, m, c, eps, momentum);
    apply_channel_affine(x, a, y, m, c, [](T z) { return z; });
}

template <class T>
void batchnorm_train_forward_synced(const T* x, const T* gamma, const T* beta, T* y, T* save_mean,
                                    T* save_invstd, T* running_mean, T* running_var, int64_t m,
                                    int64_t c, double eps, double momentum,
                                    ChannelSumReducer& sync) {
    const auto a = batchnorm_train_affine(x, gamma, beta, save_mean, save_invstd, running_mean,
                                          running_var, m, c, eps, momentum, &sync);
    apply_channel_affine(x, a, y, m, c, [](T z) { return z; });
}

template <class T>
void batchnorm_eval_forward(const T* x, const T* gamma, const T* beta, const T* running_mean,
                            const T* running_var, T* y, int64_t m, int64_t c, double eps,
                            CudaStream) {
    apply_channel_affine(x, batchnorm_eval_affine(gamma, beta, running_mean, running_var, c, eps),
                         y, m, c, [](T z) { return z; });
}

namespace {
template <class T>
void batchnorm_backward_impl(const T* x, const T* dy, const T* gamma, const T* save_mean,
                             const T* save_invstd, T* dx, T* dgamma, T* dbeta, int64_t m, int64_t c,
                             ChannelSumReducer* sync) {
    std::vector<double> sum_dy, sum_dy_xhat;
    channel_sums2(
        m, c, [&](int64_t r, int64_t j) { return double(dy[r * c + j]); },
        [&](int64_t r, int64_t j) {
            return double(dy[r * c + j]) * (double(x[r * c + j]) - save_mean[j]) * save_invstd[j];
        },
        sum_dy, sum_dy_xhat);
    const auto k = batchnorm_backward_coefficients(sum_dy, sum_dy_xhat, gamma, save_invstd, dgamma,
                                                   dbeta, m, c, sync);
    const T *k_dy = k.k_dy.data(), *k_const = k.k_const.data(), *k_xhat = k.k_xhat.data();
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < m; ++r)
#pragma omp simd
        for (int64_t j = 0; j < c; ++j) {
            const T xhat = (x[r * c + j] - save_mean[j]) * save_invstd[j];
            dx[r * c + j] = k_dy[j] * dy[r * c + j] + k_const[j] + k_xhat[j] * xhat;
        }
}
}  // namespace

template <class T>
void batchnorm_backward(const T* x, const T* dy, const T* gamma, const T* save_mean,
                        const T* save_invstd, T* dx, T* dgamma, T* dbeta, int64_t m, int64_t c,
                        CudaStream) {
    batchnorm_backward_impl(x, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta, m, c, nullptr);
}

template <class T>
void batchnorm_backward_synced(const T* x, const T* dy, const T* gamma, const T* save_mean,
                               const T* save_invstd, T* dx, T* dgamma, T* dbeta, int64_t m,
                               int64_t c, ChannelSumReducer& sync) {
    batchnorm_backward_impl(x, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta, m, c, &sync);
}

#define EFFNET_INSTANTIATE(T)                                                                     \
    template void batchnorm_train_forward<T>(const T*, const T*, const T*, T*, T*, T*, T*, T*,    \
                                             int64_t, int64_t, double, double, CudaStream);       \
    template void batchnorm_eval_forward<T>(const T*, const T*, const T*, const T*, const T*, T*, \
                                            int64_t, int64_t, double, CudaStream);                \
    template void batchnorm_backward<T>(const T*, const T*, const T*, const T*, const T*, T*, T*, \
                                        T*, int64_t, int64_t, CudaStream);                        \
    template void batchnorm_train_forward_synced<T>(const T*, const T*, const T*, T*, T*, T*, T*, \
                                                    T*, int64_t, int64_t, double, double,         \
                                                    ChannelSumReducer&);                          \
    template void batchnorm_backward_synced<T>(const T*, const T*, const T*, const T*, const T*,  \
                                               T*, T*, T*, int64_t, int64_t, ChannelSumReducer&);
EFFNET_INSTANTIATE(float)
EFFNET_INSTANTIATE(double)
#undef EFFNET_INSTANTIATE

}  // namespace effnet::cpu
