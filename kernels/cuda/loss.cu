// CUDA losses (kernels/loss.h). Batches are small (N <= a few hundred), so the
// per-sample work is one thread per sample and the mean is one block that
// sums the per-sample losses in a fixed order. Labels are checked on the
// device: an out-of-range label makes the loss NaN, which the trainer reports.
#include <cmath>

#include "kernels/loss.h"
#include "tensor/cuda_check.h"
#include "tensor/launch.h"

namespace effnet::cuda {

namespace {
constexpr int kThreads = 256;

__global__ void softmax_ce_kernel(const float* __restrict__ z, const int32_t* __restrict__ y,
                                  float* __restrict__ probs, float* __restrict__ per_sample,
                                  int64_t n, int64_t k, double smoothing) {
    const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
    if (i >= n) return;
    const float* row = z + i * k;
    float mx = row[0];
    for (int64_t j = 1; j < k; ++j) mx = fmaxf(mx, row[j]);
    double den = 0;
    for (int64_t j = 0; j < k; ++j) den += exp(double(row[j]) - mx);
    for (int64_t j = 0; j < k; ++j) probs[i * k + j] = float(exp(double(row[j]) - mx) / den);
    const int32_t label = y[i];
    if (label < 0 || label >= k) {
        per_sample[i] = NAN;
        return;
    }
    const double log_den = log(den), nll = -(double(row[label]) - mx - log_den);
    if (smoothing == 0) {
        per_sample[i] = float(nll);
        return;
    }
    double uniform = 0;  // -sum_j log p_j
    for (int64_t j = 0; j < k; ++j) uniform += -(double(row[j]) - mx - log_den);
    per_sample[i] = float((1 - smoothing) * nll + smoothing / double(k) * uniform);
}

__global__ void bce_kernel(const float* __restrict__ z, const int32_t* __restrict__ y,
                           float* __restrict__ probs, float* __restrict__ per_sample, int64_t n,
                           double smoothing) {
    const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
    if (i >= n) return;
    const double v = z[i], t = (1 - smoothing) * y[i] + smoothing / 2;
    per_sample[i] =
        y[i] == 0 || y[i] == 1 ? float(fmax(v, 0.0) - v * t + log1p(exp(-fabs(v)))) : NAN;
    probs[i] = float(1.0 / (1.0 + exp(-v)));
}

// One block: loss[0] = mean of per_sample, summed in thread order then tree order.
__global__ void mean_kernel(const float* __restrict__ per_sample, float* __restrict__ loss,
                            int64_t n) {
    __shared__ double red[kThreads];
    double s = 0;
    for (int64_t i = threadIdx.x; i < n; i += kThreads) s += per_sample[i];
    red[threadIdx.x] = s;
    __syncthreads();
    for (int w = kThreads / 2; w > 0; w /= 2) {
        if (threadIdx.x < w) red[threadIdx.x] += red[threadIdx.x + w];
        __syncthreads();
    }
    if (threadIdx.x == 0) loss[0] = float(red[0] / double(n));
}

__global__ void softmax_ce_backward_kernel(const float* __restrict__ probs,
                                           const int32_t* __restrict__ y, float* __restrict__ dz,
                                           int64_t n, int64_t k, double smoothing) {
    const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
    if (i >= n * k) return;
    const int64_t s = i / k, j = i % k;
    const double q = (j == y[s] ? 1.0 - smoothing : 0.0) + smoothing / double(k);
    dz[i] = float((double(probs[i]) - q) / double(n));
}

__global__ void bce_backward_kernel(const float* __restrict__ probs, const int32_t* __restrict__ y,
                                    float* __restrict__ dz, int64_t n, double smoothing) {
    const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
    if (i < n)
        dz[i] = float((double(probs[i]) - ((1 - smoothing) * y[i] + smoothing / 2)) / double(n));
}

unsigned blocks(int64_t n) { return unsigned(ceil_div<int64_t>(n < 1 ? 1 : n, kThreads)); }
}  // namespace

void softmax_cross_entropy_forward(const float* logits, const int32_t* labels, float* probs,
                                   float* loss, float* d_scratch, int64_t n, int64_t k,
                                   double smoothing, CudaStream stream) {
    softmax_ce_kernel<<<blocks(n), kThreads, 0, stream>>>(logits, labels, probs, d_scratch, n, k,
                                                          smoothing);
    EFFNET_CHECK_LAUNCH("softmax_ce_kernel", "N=" << n << " K=" << k);
    mean_kernel<<<1, kThreads, 0, stream>>>(d_scratch, loss, n);
    EFFNET_CHECK_LAUNCH("mean_kernel", "N=" << n);
}

void softmax_cross_entropy_backward(const float* probs, const int32_t* labels, float* dlogits,
                                    int64_t n, int64_t k, double smoothing, CudaStream stream) {
    softmax_ce_backward_kernel<<<blocks(n * k), kThreads, 0, stream>>>(probs, labels, dlogits, n, k,
                                                                       smoothing);
    EFFNET_CHECK_LAUNCH("softmax_ce_backward_kernel", "N=" << n << " K=" << k);
}

void bce_with_logits_forward(const float* logits, const int32_t* labels, float* probs, float* loss,
                             float* d_scratch, int64_t n, double smoothing, CudaStream stream) {
    bce_kernel<<<blocks(n), kThreads, 0, stream>>>(logits, labels, probs, d_scratch, n, smoothing);
    EFFNET_CHECK_LAUNCH("bce_kernel", "N=" << n);
    mean_kernel<<<1, kThreads, 0, stream>>>(d_scratch, loss, n);
    EFFNET_CHECK_LAUNCH("mean_kernel", "N=" << n);
}

void bce_with_logits_backward(const float* probs, const int32_t* labels, float* dlogits, int64_t n,
                              double smoothing, CudaStream stream) {
    bce_backward_kernel<<<blocks(n), kThreads, 0, stream>>>(probs, labels, dlogits, n, smoothing);
    EFFNET_CHECK_LAUNCH("bce_backward_kernel", "N=" << n);
}

}  // namespace effnet::cuda
