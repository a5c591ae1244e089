// AdamW update with PyTorch's semantics (torch.optim.AdamW, non-fused,
// amsgrad off), over one contiguous run of parameters:
//
//   p  <- p * (1 - lr * weight_decay)                      (decoupled decay)
//   m  <- beta1 * m + (1 - beta1) * g
//   v  <- beta2 * v + (1 - beta2) * g^2
//   bc1 = 1 - beta1^t,  bc2 = 1 - beta2^t                  (t = step, from 1)
//   p  <- p - (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps)
//
// p, m and v are updated in place; g is read only.
#pragma once

#include <cstdint>

#include "tensor/context.h"
#include "tensor/tensor.h"

namespace effnet {

struct AdamWHyperparameters {
    double lr = 1e-3;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 0.0;
};

// One update's arguments: the hyperparameters and the step count.
struct AdamWStep : AdamWHyperparameters {
    int64_t step = 1;  // 1 for the first update
};

// Updates elements [offset, offset + count) of the flat buffers.
void adamw_update(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, int64_t offset,
                  int64_t count, const AdamWStep& s, Context& ctx);

namespace cpu {
template <class T>
void adamw_update(T* p, const T* g, T* m, T* v, int64_t n, const AdamWStep& s, CudaStream stream);
}  // namespace cpu

namespace cuda {
void adamw_update(float* p, const float* g, float* m, float* v, int64_t n, const AdamWStep& s,
                  CudaStream stream);
}  // namespace cuda

}  // namespace effnet
