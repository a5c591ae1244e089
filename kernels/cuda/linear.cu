// CUDA fully connected layer (kernels/linear.h): cuBLAS GEMMs, plus a bias
// add (one thread per output element) and a bias gradient (one thread per
// output feature, summing its column over the batch in order).
#include "kernels/cuda/gemm.h"
#include "kernels/linear.h"
#include "tensor/cuda_check.h"
#include "tensor/launch.h"

namespace effnet::cuda {

namespace {
constexpr int kThreads = 256;

__global__ void add_bias_kernel(float* __restrict__ y, const float* __restrict__ b, int64_t n,
                                int64_t out) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n * out;
         i += int64_t(gridDim.x) * blockDim.x)
        y[i] += b[i % out];
}

__global__ void bias_grad_kernel(const float* __restrict__ dy, float* __restrict__ db, int64_t n,
                                 int64_t out) {
    const int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
    if (o >= out) return;
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += dy[i * out + o];
    db[o] += float(s);
}

}  // namespace

void linear_forward(const float* x, const float* w, const float* b, float* y, int64_t n, int64_t in,
                    int64_t out, CublasHandle cublas, CudaStream stream) {
    gemm_nt(cublas, n, out, in, x, in, w, in, y, out, false);
    if (b) {
        add_bias_kernel<<<grid_stride_blocks(size_t(n * out), kThreads), kThreads, 0, stream>>>(
            y, b, n, out);
        EFFNET_CHECK_LAUNCH("add_bias_kernel", "N=" << n << " out=" << out);
    }
}

void linear_backward(const float* x, const float* w, const float* dy, float* dx, float* dw,
                     float* db, int64_t n, int64_t in, int64_t out, CublasHandle cublas,
                     CudaStream stream) {
    if (dx) gemm_nn(cublas, n, in, out, dy, out, w, in, dx, in, false);
    gemm_tn(cublas, out, in, n, dy, out, x, in, dw, in, true);
    if (db) {
        bias_grad_kernel<<<unsigned(ceil_div<int64_t>(out, kThreads)), kThreads, 0, stream>>>(
            dy, db, n, out);
        EFFNET_CHECK_LAUNCH("bias_grad_kernel", "N=" << n << " out=" << out);
    }
}

}  // namespace effnet::cuda
