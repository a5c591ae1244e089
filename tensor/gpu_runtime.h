// The CUDA runtime seen through a CUDA-free header, so that every part of
// effnet can be compiled without CUDA. In the CPU-only build (EFFNET_CUDA=OFF)
// `compiled()` and `available()` are false and every other call throws.
//
// Stream handles are `void*` (a cudaStream_t underneath); nullptr is the
// default stream.
#pragma once

#include <cstddef>
#include <string>

namespace effnet::gpu {

// True when the CUDA backend is compiled into this build.
bool compiled();
// True when a CUDA device and driver are usable. Probed once, thread-safe.
bool available();
// One line: the device in use ("NVIDIA H100 80GB HBM3, sm_90, 79.1 GiB"), or why none is usable.
const std::string& status();
// Compute capability as major*10+minor, 0 when unavailable.
int compute_capability();

void* device_malloc(size_t bytes);  // throws OutOfMemoryError with the sizes involved
void device_free(void* p);
void* pinned_malloc(size_t bytes);  // page-locked host memory for async copies
void pinned_free(void* p);
size_t free_device_bytes();

enum class CopyKind { HOST_TO_DEVICE, DEVICE_TO_HOST, DEVICE_TO_DEVICE };
// Asynchronous on `stream`; host memory must be pinned for the copy to overlap.
void memcpy_async(void* dst, const void* src, size_t bytes, CopyKind kind, void* stream);
void memset_zero_async(void* dst, size_t bytes, void* stream);
void synchronize(void* stream);
void device_synchronize();

// Streams and library handles, owned by effnet::Context.
void* create_stream();
void destroy_stream(void* s);
void* create_cublas(void* stream);
void destroy_cublas(void* h);
void* create_cudnn(void* stream);
void destroy_cudnn(void* h);

// A CUDA graph recorded from `stream` between begin_capture and end_capture
// (global capture mode: a synchronising or allocating call inside fails the
// capture with its error), then replayed with launch. Kernel arguments are
// frozen at capture. Movable, not copyable.
class Graph {
public:
    Graph() = default;
    ~Graph();
    Graph(Graph&& o) noexcept;
    Graph& operator=(Graph&& o) noexcept;
    Graph(const Graph&) = delete;
    Graph& operator=(const Graph&) = delete;
    void begin_capture(void* stream);
    void end_capture(void* stream);
    // Ends a capture that failed part-way, discarding it, so the stream works again.
    void cancel_capture(void* stream);
    void launch(void* stream);
    bool ready() const { return exec_ != nullptr; }

private:
    [[maybe_unused]] void* graph_ = nullptr;  // cudaGraph_t (unused in the CPU-only build)
    void* exec_ = nullptr;   // cudaGraphExec_t
};

// Constant fill of `n` floats on the device (tensor/cuda/fill.cu).
void fill_f32(float* d_dst, size_t n, float value, void* stream);

}  // namespace effnet::gpu
