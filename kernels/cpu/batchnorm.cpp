// CPU reference for kernels/batchnorm.h: two passes (mean, then centred
// variance) in double for stability, then one normalising pass.
#include <cmath>
#include <vector>

#include "kernels/batchnorm.h"
#include "kernels/cpu/channel_sums.h"

namespace effnet::cpu {

template <class T>
void batchnorm_train_forward(const T* x, const T* gamma, const T* beta, T* y, T* save_mean, T* save_invstd,
                             T* running_mean, T* running_var, int64_t m, int64_t c, double eps, double momentum,
                             void*) {
    std::vector<double> sum, unused;
    channel_sums2(m, c, [&](int64_t r, int64_t j) { return double(x[r * c + j]); },
                  [](int64_t, int64_t) { return 0.0; }, sum, unused);
    std::vector<double> mean(c);
    for (int64_t j = 0; j < c; ++j) mean[j] = sum[j] / double(m);
    std::vector<double> sq;
    channel_sums2(m, c, [&](int64_t r, int64_t j) { double d = x[r * c + j] - mean[j]; return d * d; },
                  [](int64_t, int64_t) { return 0.0; }, sq, unused);
    std::vector<T> scale(c), shift(c);
    for (int64_t j = 0; j < c; ++j) {
        const double var = sq[j] / double(m);
        const double invstd = 1.0 / std::sqrt(var + eps);
        save_mean[j] = T(mean[j]);
        save_invstd[j] = T(invstd);
        scale[j] = T(double(gamma[j]) * invstd);
        shift[j] = T(double(beta[j]) - mean[j] * double(gamma[j]) * invstd);
        if (running_mean) {
            const double unbiased = m > 1 ? sq[j] / double(m - 1) : sq[j];
            running_mean[j] = T((1.0 - momentum) * running_mean[j] + momentum * mean[j]);
            running_var[j] = T((1.0 - momentum) * running_var[j] + momentum * unbiased);
        }
    }
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < m; ++r)
#pragma omp simd
        for (int64_t j = 0; j < c; ++j) y[r * c + j] = x[r * c + j] * scale[j] + shift[j];
}

template <class T>
void batchnorm_eval_forward(const T* x, const T* gamma, const T* beta, const T* running_mean, const T* running_var,
                            T* y, int64_t m, int64_t c, double eps, void*) {
    std::vector<T> scale(c), shift(c);
    for (int64_t j = 0; j < c; ++j) {
        const double invstd = 1.0 / std::sqrt(double(running_var[j]) + eps);
        scale[j] = T(double(gamma[j]) * invstd);
        shift[j] = T(double(beta[j]) - double(running_mean[j]) * double(gamma[j]) * invstd);
    }
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < m; ++r)
#pragma omp simd
        for (int64_t j = 0; j < c; ++j) y[r * c + j] = x[r * c + j] * scale[j] + shift[j];
}

template <class T>
void batchnorm_backward(const T* x, const T* dy, const T* gamma, const T* save_mean, const T* save_invstd, T* dx,
                        T* dgamma, T* dbeta, int64_t m, int64_t c, void*) {
    std::vector<double> sum_dy, sum_dy_xhat;
    channel_sums2(
        m, c, [&](int64_t r, int64_t j) { return double(dy[r * c + j]); },
        [&](int64_t r, int64_t j) {
            return double(dy[r * c + j]) * (double(x[r * c + j]) - save_mean[j]) * save_invstd[j];
        },
        sum_dy, sum_dy_xhat);
    std::vector<T> k_dy(c), k_const(c), k_xhat(c), mean(c), invstd(c);
    for (int64_t j = 0; j < c; ++j) {
        dbeta[j] += T(sum_dy[j]);
        dgamma[j] += T(sum_dy_xhat[j]);
        // dx = a*dy - a/M*sum_dy - a/M*xhat*sum_dy_xhat with a = gamma*invstd
        const double a = double(gamma[j]) * save_invstd[j];
        k_dy[j] = T(a);
        k_const[j] = T(-a * sum_dy[j] / double(m));
        k_xhat[j] = T(-a * sum_dy_xhat[j] / double(m));
        mean[j] = save_mean[j];
        invstd[j] = save_invstd[j];
    }
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < m; ++r)
#pragma omp simd
        for (int64_t j = 0; j < c; ++j) {
            const T xhat = (x[r * c + j] - mean[j]) * invstd[j];
            dx[r * c + j] = k_dy[j] * dy[r * c + j] + k_const[j] + k_xhat[j] * xhat;
        }
}

#define EFFNET_INSTANTIATE(T)                                                                                 \
    template void batchnorm_train_forward<T>(const T*, const T*, const T*, T*, T*, T*, T*, T*, int64_t,       \
                                             int64_t, double, double, void*);                                 \
    template void batchnorm_eval_forward<T>(const T*, const T*, const T*, const T*, const T*, T*, int64_t,    \
                                            int64_t, double, void*);                                          \
    template void batchnorm_backward<T>(const T*, const T*, const T*, const T*, const T*, T*, T*, T*, int64_t, \
                                        int64_t, void*);
EFFNET_INSTANTIATE(float)
EFFNET_INSTANTIATE(double)
#undef EFFNET_INSTANTIATE

}  // namespace effnet::cpu
