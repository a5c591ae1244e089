// Classification losses, averaged over the batch.
//
// Softmax cross-entropy: logits [N, K], labels int32 [N] in [0, K).
//   p = softmax(z) (max-subtracted),  loss = -(1/N) sum_n log p[n, y_n]
//   dz = (p - onehot(y)) / N
// Binary cross-entropy with logits: logits [N] (one per sample), targets in {0,1}.
//   loss = (1/N) sum max(z,0) - z*t + log(1 + e^-|z|),  dz = (sigmoid(z) - t) / N
//
// Label smoothing eps in [0, 1) (--label-smoothing) replaces the one-hot
// target by q = (1 - eps) onehot(y) + eps / K for softmax, so
//   loss = -(1/N) sum_n sum_j q[n, j] log p[n, j],  dz = (p - q) / N,
// and the binary target t by (1 - eps) t + eps / 2 in both BCE formulas.
// eps = 0 gives the unsmoothed values exactly.
//
// Writes: probs, loss (one element) and dlogits are overwritten.
#pragma once

#include <cstdint>

#include "tensor/context.h"
#include "tensor/tensor.h"

namespace effnet {

// Returns the mean loss (also left in `loss`, a 1-element tensor on the logits' device).
float softmax_cross_entropy_forward(const Tensor& logits, const Tensor& labels, Tensor& probs,
                                    Tensor& loss, Context& ctx, float smoothing = 0);
void softmax_cross_entropy_backward(const Tensor& probs, const Tensor& labels, Tensor& dlogits,
                                    Context& ctx, float smoothing = 0);
float bce_with_logits_forward(const Tensor& logits, const Tensor& labels, Tensor& probs,
                              Tensor& loss, Context& ctx, float smoothing = 0);
// The same, leaving the loss in `loss` only: no host synchronisation, so a
// training step built on them can be captured in a CUDA graph.
void softmax_cross_entropy_forward_on_device(const Tensor& logits, const Tensor& labels,
                                             Tensor& probs, Tensor& loss, Context& ctx,
                                             float smoothing = 0);
void bce_with_logits_forward_on_device(const Tensor& logits, const Tensor& labels, Tensor& probs,
                                       Tensor& loss, Context& ctx, float smoothing = 0);
void bce_with_logits_backward(const Tensor& probs, const Tensor& labels, Tensor& dlogits,
                              Context& ctx, float smoothing = 0);

namespace cpu {
template <class T>
void softmax_cross_entropy_forward(const T* logits, const int32_t* labels, T* probs, T* loss,
                                   int64_t n, int64_t k, double smoothing, CudaStream stream);
template <class T>
void softmax_cross_entropy_backward(const T* probs, const int32_t* labels, T* dlogits, int64_t n,
                                    int64_t k, double smoothing, CudaStream stream);
template <class T>
void bce_with_logits_forward(const T* logits, const int32_t* labels, T* probs, T* loss, int64_t n,
                             double smoothing, CudaStream stream);
template <class T>
void bce_with_logits_backward(const T* probs, const int32_t* labels, T* dlogits, int64_t n,
                              double smoothing, CudaStream stream);
}  // namespace cpu

namespace cuda {
// `d_scratch` holds n floats (per-sample losses).
void softmax_cross_entropy_forward(const float* logits, const int32_t* labels, float* probs,
                                   float* loss, float* d_scratch, int64_t n, int64_t k,
                                   double smoothing, CudaStream stream);
void softmax_cross_entropy_backward(const float* probs, const int32_t* labels, float* dlogits,
                                    int64_t n, int64_t k, double smoothing, CudaStream stream);
void bce_with_logits_forward(const float* logits, const int32_t* labels, float* probs, float* loss,
                             float* d_scratch, int64_t n, double smoothing, CudaStream stream);
void bce_with_logits_backward(const float* probs, const int32_t* labels, float* dlogits, int64_t n,
                              double smoothing, CudaStream stream);
}  // namespace cuda

}  // namespace effnet
