// Backend selection for the backend-neutral kernel functions: the only place
// that chooses CPU or CUDA, from where the tensors live (DESIGN.md §3).
#pragma once

#include "effnet_config.h"
#include "tensor/context.h"
#include "tensor/error.h"
#include "tensor/tensor.h"

namespace effnet::detail {
// Thrown when a CUDA tensor reaches an op without a CUDA implementation in this build.
[[noreturn]] void throw_no_cuda_kernel(const char* op);
// Thrown when a CUDA tensor reaches an op whose CUDA kernel is not written yet.
[[noreturn]] void throw_cuda_kernel_pending(const char* op);
}  // namespace effnet::detail

// Evaluates the CUDA call in CUDA builds; elsewhere refuses with a clear error.
#if EFFNET_WITH_CUDA
#define EFFNET_CUDA_ONLY(op, ...) __VA_ARGS__
#else
#define EFFNET_CUDA_ONLY(op, ...) ::effnet::detail::throw_no_cuda_kernel(op)
#endif

// All operands of an op must live on one device.
#define EFFNET_CHECK_SAME_DEVICE(op, a, b)                                                 \
    EFFNET_CHECK((a).device() == (b).device(), op << ": operands on " << device_name((a).device()) \
                                                   << " and " << device_name((b).device()))

// For ops that so far run on the CPU only.
#define EFFNET_REQUIRE_CPU(op, t)                                                          \
    do {                                                                                   \
        if ((t).is_cuda()) ::effnet::detail::throw_cuda_kernel_pending(op);                \
    } while (0)
