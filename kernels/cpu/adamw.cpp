// CPU reference for kernels/adamw.h, following torch.optim.adamw's
// single-tensor path operation by operation (float32 arithmetic for float).
#include <cmath>

#include "kernels/adamw.h"

namespace effnet::cpu {

template <class T>
void adamw_update(T* p, const T* g, T* m, T* v, int64_t n, const AdamWStep& s, CudaStream) {
    const double bc1 = 1.0 - std::pow(s.beta1, double(s.step));
    const double bc2 = 1.0 - std::pow(s.beta2, double(s.step));
    const T decay = T(1.0 - s.lr * s.weight_decay);
    const T b1 = T(s.beta1), b2 = T(s.beta2);
    const T step_size = T(s.lr / bc1);
    const T bc2_sqrt = T(std::sqrt(bc2));
    const T eps = T(s.eps);
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) {
        p[i] *= decay;
        m[i] = m[i] * b1 + g[i] * (T(1) - b1);
        v[i] = v[i] * b2 + g[i] * g[i] * (T(1) - b2);
        const T denom = std::sqrt(v[i]) / bc2_sqrt + eps;
        p[i] -= step_size * (m[i] / denom);
    }
}

template void adamw_update<float>(float*, const float*, float*, float*, int64_t, const AdamWStep&,
                                  CudaStream);
template void adamw_update<double>(double*, const double*, double*, double*, int64_t,
                                   const AdamWStep&, CudaStream);

}  // namespace effnet::cpu
