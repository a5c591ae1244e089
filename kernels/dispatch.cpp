#include "kernels/dispatch.h"

#include <string>

namespace effnet::detail {
void throw_no_cuda_kernel(const char* op) {
    throw CudaError(std::string(op) + ": no CUDA implementation in this build (EFFNET_CUDA=OFF); use --device cpu");
}
}  // namespace effnet::detail

#include <iostream>
#include <mutex>
#include <set>

namespace effnet {
void log_kernel_choice_once(const char* family, const char* path) {
    static std::mutex mu;
    static std::set<std::string> said;
    std::lock_guard<std::mutex> lock(mu);
    if (said.insert(family).second) std::cerr << "effnet: " << family << " runs on " << path << "\n";
}
}  // namespace effnet
