// Context: what an op needs besides its operands — the device, the stream,
// the cuBLAS and cuDNN handles, a reusable workspace, and run-time choices
// (which kernels, TF32). Passed explicitly; there are no global handles.
//
// A GPU context's stream is the process's device stream (the stream rule,
// tensor/tensor.h): every context on the GPU, and every Tensor device
// operation, enqueue on that one stream, and its cuBLAS and cuDNN handles are
// bound to it. A CPU context holds no CUDA state and can be created in any build;
// a GPU context needs a usable GPU (ContractError otherwise, always in the
// CPU-only build).
#pragma once

#include <cstddef>
#include <string>

#include "tensor/device.h"
#include "tensor/gpu_handles.h"
#include "tensor/tensor.h"

namespace effnet {

// Which implementation runs an op family on the GPU: effnet's own (hand-written
// kernels; im2col + cuBLAS for a dense convolution) or cuDNN's.
enum class KernelChoice { CUSTOM, CUDNN };

class Context {
public:
    explicit Context(Device device = Device::CPU);
    ~Context();
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;

    Device device() const { return device_; }
    // Null on the CPU (tensor/gpu_handles.h: each is the CUDA type itself).
    CudaStream stream() const { return stream_; }
    CublasHandle cublas() const { return cublas_; }
    CudnnHandle cudnn() const { return cudnn_; }
    // A scratch buffer of at least `bytes` on this context's device; grows and
    // keeps its size, so steady-state steps allocate nothing. Invalidated by
    // the next call. Growing it while the stream is captured into a CUDA graph
    // is an error (the graph would keep the freed buffer's address).
    void* workspace(size_t bytes);
    // Waits until the device work enqueued so far has completed (no-op on the CPU).
    void synchronize() const;
    // TF32 tensor cores for cuBLAS GEMMs and cuDNN convolutions (off: exact FP32).
    void set_allow_tf32(bool allow);
    bool allow_tf32() const { return allow_tf32_; }

    KernelChoice depthwise_kernels = KernelChoice::CUSTOM;
    KernelChoice batchnorm_kernels = KernelChoice::CUSTOM;
    // Dense convolutions with a kernel wider than 1x1 (the stem); 1x1
    // convolutions are always one cuBLAS GEMM.
    KernelChoice conv_kernels = KernelChoice::CUDNN;

private:
    bool allow_tf32_ = false;
    Device device_;
    CudaStream stream_ = nullptr;
    CublasHandle cublas_ = nullptr;
    CudnnHandle cudnn_ = nullptr;
    Tensor workspace_;
};

// Applies a kernel choice: "custom" or "cudnn" for every family, or a list
// such as "depthwise=cudnn,batchnorm=custom,stem=custom" (families:
// depthwise, batchnorm, stem). Throws ContractError naming a bad entry.
void apply_kernel_spec(Context& ctx, const std::string& spec);
// The choice in the list form, for logs and reports.
std::string kernel_spec(const Context& ctx);
constexpr const char* kDefaultKernelSpec = "depthwise=custom,batchnorm=custom,stem=cudnn";

// Resolves "auto" | "cpu" | "cuda" into a device. "auto" takes CUDA when a
// device is usable; "cuda" without one throws with the reason. Logs the
// choice once per process to stderr.
Device resolve_device(const std::string& request);

}  // namespace effnet
