// CPU kernels for kernels/bn_swish.h: the batch-norm statistics and
// coefficients of kernels/cpu/batchnorm_affine.h with swish applied in the
// same pass, so neither direction stores or re-reads z.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/bn_swish.h"
#include "kernels/batchnorm.h"
#include "kernels/cpu/batchnorm_affine.h"
#include "kernels/cpu/swish_math.h"

namespace effnet::cpu {

template <class T>
void bn_swish_train_forward(const T* x, const T* gamma, const T* beta, T* y, T* save_mean,
                            T* save_invstd, T* save_affine, T* running_mean, T* running_var,
                            int64_t m, int64_t c, double eps, double momentum, CudaStream) {
    const auto a = batchnorm_train_affine(x, gamma, beta, save_mean, save_invstd, running_mean,
                                          running_var, m, c, eps, momentum);
    std::copy(a.scale.begin(), a.scale.end(), save_affine);
    std::copy(a.shift.begin(), a.shift.end(), save_affine + c);
    apply_channel_affine(x, a, y, m, c, [](T z) { return swish(z); });
}

template <class T>
void bn_swish_eval_forward(const T* x, const T* gamma, const T* beta, const T* running_mean,
                           const T* running_var, T* y, int64_t m, int64_t c, double eps,
                           CudaStream) {
    apply_channel_affine(x, batchnorm_eval_affine(gamma, beta, running_mean, running_var, c, eps),
                         y, m, c, [](T z) { return swish(z); });
}

template <class T>
void bn_swish_train_forward_synced(const T* x, const T* gamma, const T* beta, T* y, T* save_mean,
                                   T* save_invstd, T* save_affine, T* running_mean, T* running_var,
                                   int64_t m, int64_t c, double eps, double momentum,
                                   ChannelSumReducer& sync) {
    const auto a = batchnorm_train_affine(x, gamma, beta, save_mean, save_invstd, running_mean,
                                          running_var, m, c, eps, momentum, &sync);
    std::copy(a.scale.begin(), a.scale.end(), save_affine);
    std::copy(a.shift.begin(), a.shift.end(), save_affine + c);
    apply_channel_affine(x, a, y, m, c, [](T z) { return swish(z); });
}

namespace {
template <class T>
void bn_swish_backward_impl(const T* x, const T* dy, const T* gamma, const T* save_mean,
                            const T* save_invstd, const T* save_affine, T* dx, T* dgamma, T* dbeta,
                            int64_t m, int64_t c, ChannelSumReducer* sync) {
    // dz = dy * swish'(z), z being the forward's bit for bit, is parked in dx;
    // the batch-norm backward then turns it into dx in place (it reads each
    // element of its dy before writing the same element of dx). Three
    // vectorisable passes run faster here than one with exp in the sums loop.
    const T* scale = save_affine;
    const T* shift = save_affine + c;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < m; ++r)
#pragma omp simd
        for (int64_t j = 0; j < c; ++j)
            dx[r * c + j] = swish_grad(dy[r * c + j], x[r * c + j] * scale[j] + shift[j]);
    if (sync)
        batchnorm_backward_synced(x, dx, gamma, save_mean, save_invstd, dx, dgamma, dbeta, m, c,
                                  *sync);
    else
        batchnorm_backward(x, dx, gamma, save_mean, save_invstd, dx, dgamma, dbeta, m, c, nullptr);
}
}  // namespace

template <class T>
void bn_swish_backward(const T* x, const T* dy, const T* gamma, const T* save_mean,
                       const T* save_invstd, const T* save_affine, T* dx, T* dgamma, T* dbeta,
                       int64_t m, int64_t c, CudaStream) {
    bn_swish_backward_impl(x, dy, gamma, save_mean, save_invstd, save_affine, dx, dgamma, dbeta, m,
                           c, nullptr);
}

template <class T>
void bn_swish_backward_synced(const T* x, const T* dy, const T* gamma, const T* save_mean,
                              const T* save_invstd, const T* save_affine, T* dx, T* dgamma,
                              T* dbeta, int64_t m, int64_t c, ChannelSumReducer& sync) {
    bn_swish_backward_impl(x, dy, gamma, save_mean, save_invstd, save_affine, dx, dgamma, dbeta, m,
                           c, &sync);
}

#define EFFNET_INSTANTIATE(T)                                                                      \
    template void bn_swish_train_forward<T>(const T*, const T*, const T*, T*, T*, T*, T*, T*, T*,  \
                                            int64_t, int64_t, double, double, CudaStream);         \
    template void bn_swish_eval_forward<T>(const T*, const T*, const T*, const T*, const T*, T*,   \
                                           int64_t, int64_t, double, CudaStream);                  \
    template void bn_swish_backward<T>(const T*, const T*, const T*, const T*, const T*, const T*, \
                                       T*, T*, T*, int64_t, int64_t, CudaStream);                  \
    template void bn_swish_train_forward_synced<T>(const T*, const T*, const T*, T*, T*, T*, T*,   \
                                                   T*, T*, int64_t, int64_t, double, double,       \
                                                   ChannelSumReducer&);                            \
    template void bn_swish_backward_synced<T>(const T*, const T*, const T*, const T*, const T*,    \
                                              const T*, T*, T*, T*, int64_t, int64_t,              \
                                              ChannelSumReducer&);
EFFNET_INSTANTIATE(float)
EFFNET_INSTANTIATE(double)
#undef EFFNET_INSTANTIATE

}  // namespace effnet::cpu
