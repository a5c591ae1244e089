#include "kernels/dispatch.h"

#include <string>

namespace effnet::detail {
void throw_no_cuda_kernel(const char* op) {
    throw CudaError(std::string(op) + ": no CUDA implementation in this build (EFFNET_CUDA=OFF); use --device cpu");
}
}  // namespace effnet::detail
