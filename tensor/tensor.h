// Tensor: a dense, contiguous array with a Shape, a DType and a Device.
//
// Layout conventions (docs/design.md §2):
//   - activations are NHWC (channels last): element (n, h, w, c) of a
//     {N, H, W, C} tensor sits at ((n*H + h)*W + w)*C + c;
//   - parameters keep PyTorch's shapes so they map to safetensors by name.
//
// A Tensor is a handle: copying it shares the storage (like a view). Owning
// tensors come from `empty`/`zeros`; `view`, `narrow0` and `wrap` make
// non-owning views. Host memory is 64-byte aligned; `pinned` host memory is
// page-locked for asynchronous device copies; CUDA memory comes from the
// caching allocator. Copies between devices are explicit (`to`, `copy_from`).
// The CPU-only build (EFFNET_CUDA=OFF) cannot make a CUDA tensor: `empty`,
// `zeros`, `full` and `wrap` on Device::CUDA throw CudaError ("built without
// CUDA; use --device cpu"), and `pinned` gives plain host memory.
//
// The stream rule. All device work of the process runs on ONE stream,
// gpu::device_stream(), which every GPU Context also returns, so kernels,
// cuBLAS/cuDNN calls and the fills and copies below are ordered as issued:
//   - `fill`, `zero`, `zeros`, `full` and device-to-device copies are enqueued
//     on it: ordered before the kernels enqueued after them;
//   - a host read of device data (`to_vector`, `to(CPU)`, `copy_from` into host
//     memory) and every copy from host memory synchronise it before returning,
//     so a read never sees stale memory and a host source may change at once;
//   - the one asynchronous host-to-device copy is `copy_from_host_async`: its
//     (pinned) source must not change until the Event it records completes
//     (the loader releases a staging buffer only then);
//   - a device block freed by a Tensor may be handed out again at once by the
//     caching allocator: its next user is enqueued after all its past users.
// No device operation takes or uses the legacy default stream.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "tensor/device.h"
#include "tensor/gpu_runtime.h"
#include "tensor/shape.h"

namespace effnet {

class Storage;

class Tensor {
public:
    Tensor() = default;

    static Tensor empty(const Shape& shape, Device device = Device::CPU,
                        DType dtype = DType::FLOAT32);
    static Tensor zeros(const Shape& shape, Device device = Device::CPU,
                        DType dtype = DType::FLOAT32);
    static Tensor full(const Shape& shape, float value, Device device = Device::CPU);
    // Page-locked host tensor (plain aligned host memory when CUDA is unavailable).
    static Tensor pinned(const Shape& shape, DType dtype = DType::FLOAT32);
    // A host float32 tensor holding `values` (numel must match).
    static Tensor from_vector(const Shape& shape, const std::vector<float>& values);
    // Non-owning view of memory someone else keeps alive.
    static Tensor wrap(void* data, const Shape& shape, Device device, DType dtype = DType::FLOAT32);

    bool defined() const { return data_ != nullptr || shape_.numel() == 0; }
    const Shape& shape() const { return shape_; }
    int64_t dim(int i) const { return shape_[i]; }
    int rank() const { return shape_.rank(); }
    int64_t numel() const { return shape_.numel(); }
    size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
    DType dtype() const { return dtype_; }
    Device device() const { return device_; }
    bool is_cuda() const { return device_ == Device::CUDA; }
    bool is_pinned() const;

    void* raw() const { return data_; }
    // Typed access; checks the dtype (float32 for `f32`).
    float* f32() const;
    int32_t* i32() const;

    // Same memory, new shape with the same element count.
    Tensor view(const Shape& shape) const;
    // Rows [start, start+len) of dimension 0, sharing memory.
    Tensor narrow0(int64_t start, int64_t len) const;

    // A copy on `device`; returns when host memory involved is done with (the stream rule).
    Tensor to(Device device) const;
    // Copies src's elements into this tensor (same numel and dtype; any
    // devices). Device-to-device copies are enqueued on the device stream; a
    // copy with a host side returns when it has completed.
    void copy_from(const Tensor& src);
    // Enqueues a copy from host tensor `src` (pinned, for the copy to overlap)
    // into this device tensor, records `src_read` after it and returns at once.
    // `src` must stay unchanged until `src_read` has completed.
    void copy_from_host_async(const Tensor& src, gpu::Event& src_read);
    // Device tensors: enqueued on the device stream.
    void fill(float value);
    void zero();
    // Host copy of all elements as floats (synchronises the device stream).
    std::vector<float> to_vector() const;

private:
    std::shared_ptr<Storage> storage_;
    void* data_ = nullptr;
    Shape shape_;
    DType dtype_ = DType::FLOAT32;
    Device device_ = Device::CPU;
};

// 64-byte-aligned host allocation (cache lines, AVX-512 loads).
void* aligned_host_alloc(size_t bytes);
void aligned_host_free(void* p);

}  // namespace effnet
