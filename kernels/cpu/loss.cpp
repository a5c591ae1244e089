// CPU reference for kernels/loss.h. Sums in double.
#include <algorithm>
#include <cmath>

#include "kernels/loss.h"
#include "tensor/error.h"

namespace effnet::cpu {

template <class T>
void softmax_cross_entropy_forward(const T* logits, const int32_t* labels, T* probs, T* loss,
                                   int64_t n, int64_t k, double smoothing, CudaStream) {
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
        EFFNET_CHECK(labels[i] >= 0 && labels[i] < k,
                     "label " << labels[i] << " of sample " << i << " outside [0, " << k << ")");
        const T* z = logits + i * k;
        const double zmax = *std::max_element(z, z + k);
        double denom = 0;
        for (int64_t j = 0; j < k; ++j) denom += std::exp(double(z[j]) - zmax);
        for (int64_t j = 0; j < k; ++j) probs[i * k + j] = T(std::exp(double(z[j]) - zmax) / denom);
        const double log_denom = std::log(denom);
        const double nll = -(double(z[labels[i]]) - zmax - log_denom);
        if (smoothing == 0) {
            total += nll;
            continue;
        }
        // -sum_j log p_j, the cross-entropy against the uniform part of the target
        double uniform = 0;
        for (int64_t j = 0; j < k; ++j) uniform += -(double(z[j]) - zmax - log_denom);
        total += (1 - smoothing) * nll + smoothing / double(k) * uniform;
    }
    loss[0] = T(total / double(n));
}

template <class T>
void softmax_cross_entropy_backward(const T* probs, const int32_t* labels, T* dlogits, int64_t n,
                                    int64_t k, double smoothing, CudaStream) {
    const double inv_n = 1.0 / double(n), uniform = smoothing / double(k);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < k; ++j) {
            const double q = (j == labels[i] ? 1.0 - smoothing : 0.0) + uniform;
            dlogits[i * k + j] = T((double(probs[i * k + j]) - q) * inv_n);
        }
}

template <class T>
void bce_with_logits_forward(const T* logits, const int32_t* labels, T* probs, T* loss, int64_t n,
                             double smoothing, CudaStream) {
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
        EFFNET_CHECK(labels[i] == 0 || labels[i] == 1,
                     "binary label " << labels[i] << " of sample " << i);
        const double z = logits[i], t = (1 - smoothing) * labels[i] + smoothing / 2;
        total += std::max(z, 0.0) - z * t + std::log1p(std::exp(-std::fabs(z)));
        probs[i] = T(1.0 / (1.0 + std::exp(-z)));
    }
    loss[0] = T(total / double(n));
}

template <class T>
void bce_with_logits_backward(const T* probs, const int32_t* labels, T* dlogits, int64_t n,
                              double smoothing, CudaStream) {
    for (int64_t i = 0; i < n; ++i) {
        const double t = (1 - smoothing) * labels[i] + smoothing / 2;
        dlogits[i] = T((double(probs[i]) - t) / double(n));
    }
}

#define EFFNET_INSTANTIATE(T)                                                                   \
    template void softmax_cross_entropy_forward<T>(const T*, const int32_t*, T*, T*, int64_t,   \
                                                   int64_t, double, CudaStream);                \
    template void softmax_cross_entropy_backward<T>(const T*, const int32_t*, T*, int64_t,      \
                                                    int64_t, double, CudaStream);               \
    template void bce_with_logits_forward<T>(const T*, const int32_t*, T*, T*, int64_t, double, \
                                             CudaStream);                                       \
    template void bce_with_logits_backward<T>(const T*, const int32_t*, T*, int64_t, double,    \
                                              CudaStream);
EFFNET_INSTANTIATE(float)
EFFNET_INSTANTIATE(double)
#undef EFFNET_INSTANTIATE

}  // namespace effnet::cpu
