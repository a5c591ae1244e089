// CUDA, cuBLAS and cuDNN call checks (include only from CUDA-enabled sources).
//
//   EFFNET_CUDA_CHECK(cudaMalloc(&p, n));
//   EFFNET_CUDA_CHECK_MSG(cudaMemcpyAsync(..., stream), "bytes=" << n);
//   EFFNET_CUBLAS_CHECK(cublasSgemm(...), "pointwise conv M=" << m);
//   kernel<<<g, b, 0, s>>>(...); EFFNET_CHECK_LAUNCH("swish_forward_kernel", "n=" << n);
//
// Each throws effnet::CudaError naming the call, the op's shapes (when given),
// file:line and the library's own message. With EFFNET_SYNC_DEBUG the launch
// check also synchronises, so an asynchronous fault is reported at its kernel.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <sstream>

#include "effnet_config.h"
#include "tensor/error.h"

namespace effnet::detail {
[[noreturn]] void throw_cuda(cudaError_t err, const char* call, const char* file, int line,
                             const std::string& context);
[[noreturn]] void throw_cublas(cublasStatus_t st, const char* call, const char* file, int line,
                               const std::string& context);
[[noreturn]] void throw_cudnn(cudnnStatus_t st, const char* call, const char* file, int line,
                              const std::string& context);
}  // namespace effnet::detail

#define EFFNET_DETAIL_CTX(ctx) \
    ([&] {                     \
        std::ostringstream o_; \
        o_ << ctx;             \
        return o_.str();       \
    }())

// `ctx` is a stream expression describing the op and its shapes ("M=" << m).
#define EFFNET_CUDA_CHECK_MSG(call, ctx)                                       \
    do {                                                                       \
        cudaError_t effnet_e_ = (call);                                        \
        if (effnet_e_ != cudaSuccess)                                          \
            ::effnet::detail::throw_cuda(effnet_e_, #call, __FILE__, __LINE__, \
                                         EFFNET_DETAIL_CTX(ctx));              \
    } while (0)
#define EFFNET_CUDA_CHECK(call) EFFNET_CUDA_CHECK_MSG(call, "")

#define EFFNET_CUBLAS_CHECK(call, ctx)                                           \
    do {                                                                         \
        cublasStatus_t effnet_s_ = (call);                                       \
        if (effnet_s_ != CUBLAS_STATUS_SUCCESS)                                  \
            ::effnet::detail::throw_cublas(effnet_s_, #call, __FILE__, __LINE__, \
                                           EFFNET_DETAIL_CTX(ctx));              \
    } while (0)

#define EFFNET_CUDNN_CHECK(call, ctx)                                           \
    do {                                                                        \
        cudnnStatus_t effnet_s_ = (call);                                       \
        if (effnet_s_ != CUDNN_STATUS_SUCCESS)                                  \
            ::effnet::detail::throw_cudnn(effnet_s_, #call, __FILE__, __LINE__, \
                                          EFFNET_DETAIL_CTX(ctx));              \
    } while (0)

// After a kernel launch: `name` is the kernel, `ctx` a stream expression of its shapes.
#define EFFNET_CHECK_LAUNCH(name, ctx)                                                          \
    do {                                                                                        \
        cudaError_t effnet_e_ = cudaGetLastError();                                             \
        if (effnet_e_ == cudaSuccess && EFFNET_SYNC_DEBUG) effnet_e_ = cudaDeviceSynchronize(); \
        if (effnet_e_ != cudaSuccess)                                                           \
            ::effnet::detail::throw_cuda(effnet_e_, name, __FILE__, __LINE__,                   \
                                         EFFNET_DETAIL_CTX(ctx));                               \
    } while (0)
