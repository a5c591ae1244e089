// Backend selection for the backend-neutral kernel functions: the only place
// that chooses CPU or CUDA, from where the tensors live (DESIGN.md §3).
#pragma once

#include "effnet_config.h"
#include "tensor/context.h"
#include "tensor/error.h"
#include "tensor/tensor.h"

namespace effnet::detail {
// Thrown when a CUDA tensor reaches an op in a build without CUDA.
[[noreturn]] void throw_no_cuda_kernel(const char* op);
}  // namespace effnet::detail

namespace effnet {
// Logs "<family> runs on <path>" to stderr the first time a family takes a non-default path.
void log_kernel_choice_once(const char* family, const char* path);
}  // namespace effnet

// In the CPU-only build every cuda:: kernel function exists as a stub that
// throws (kernels/cuda_unavailable.cpp), so dispatch code calls cuda::
// directly in both builds.

// All operands of an op must live on one device.
#define EFFNET_CHECK_SAME_DEVICE(op, a, b)                                                 \
    EFFNET_CHECK((a).device() == (b).device(), op << ": operands on " << device_name((a).device()) \
                                                   << " and " << device_name((b).device()))
