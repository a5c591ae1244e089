// The CUDA runtime seen through a CUDA-free header, so that every part of
// effnet compiles without CUDA. Implemented by tensor/cuda/gpu_runtime.cpp and
// tensor/cuda/fill.cu (the effnet_gpu_runtime library) in the CUDA build; the
// fake-runtime tests link tests/tensor/fake_gpu_runtime.cpp in its place.
//
// The CPU-only build (EFFNET_CUDA=OFF) has no definition of the non-inline
// functions below. Code compiled in both builds calls them only inside
// `if constexpr (kWithCuda)` (effnet_config.h): a function odr-used only in a
// discarded statement needs no definition, so the CUDA branches compile away
// instead of reaching hand-written stubs. What that build still answers is
// inline here: compiled() and available() are false, status() says why, and
// the Event and Graph classes can be held, moved and destroyed. It cannot make
// a device tensor or a GPU Context (tensor/tensor.h, tensor/context.h), so no
// device operation is missed there.
//
// Streams: all device work of the process runs on ONE stream,
// `device_stream()` (the stream rule, tensor/tensor.h). The functions below
// that enqueue work take the stream explicitly and refuse a null stream: the
// legacy default stream is never used, so nothing can run unordered with
// effnet's kernels. Streams and library handles are typed (tensor/gpu_handles.h).
#pragma once

#include <cstddef>
#include <string>
#include <utility>

#include "effnet_config.h"
#include "tensor/gpu_handles.h"

namespace effnet::gpu {

// The CUDA build's device probe (once, thread-safe): usable or not, and the
// one-line description returned by status().
bool probe_available();
const std::string& probe_status();

// True when the CUDA backend is compiled into this build.
constexpr bool compiled() { return kWithCuda; }
// True when a CUDA device and driver are usable (always false in the CPU-only build).
inline bool available() {
    if constexpr (kWithCuda)
        return probe_available();
    else
        return false;
}
// One line: the device in use ("NVIDIA H100 80GB HBM3, sm_90, 79.1 GiB"), or why none is usable.
inline const std::string& status() {
    if constexpr (kWithCuda) {
        return probe_status();
    } else {
        static const std::string reason = "built without CUDA (EFFNET_CUDA=OFF)";
        return reason;
    }
}
// Compute capability as major*10+minor, 0 when unavailable.
int compute_capability();

// The one stream of every device operation of this process: created on
// first use with cudaStreamNonBlocking (it never waits for, and is never
// waited for by, the legacy default stream). Every GPU Context returns it.
CudaStream device_stream();
// True while `stream` is being captured into a CUDA graph (below).
bool is_capturing(CudaStream stream);

void* device_malloc(size_t bytes);  // throws OutOfMemoryError with the sizes involved
void device_free(void* p);
void* pinned_malloc(size_t bytes);  // page-locked host memory for async copies
void pinned_free(void* p);
size_t free_device_bytes();

enum class CopyKind { HOST_TO_DEVICE, DEVICE_TO_HOST, DEVICE_TO_DEVICE };
// Enqueued on `stream` (never null) and returns at once; the host side of the
// copy must stay valid and unchanged until the stream has reached it.
void memcpy_async(void* dst, const void* src, size_t bytes, CopyKind kind, CudaStream stream);
void memset_zero_async(void* dst, size_t bytes, CudaStream stream);
// Constant fill of `n` floats on the device (tensor/cuda/fill.cu).
void fill_f32(float* d_dst, size_t n, float value, CudaStream stream);
// Waits on the host until everything enqueued on `stream` has completed.
void synchronize(CudaStream stream);

// A marker in a stream: record() marks the work enqueued so far, wait()
// blocks the host until that work has completed. A never-recorded event is
// complete (every event of the CPU-only build). Used to release pinned
// staging buffers only after the asynchronous copy that reads them
// (data/loader.h). Movable, not copyable.
class Event {
public:
    Event() = default;
    ~Event() {
        if constexpr (kWithCuda) destroy();
    }
    Event(Event&& o) noexcept
        : event_(std::exchange(o.event_, nullptr)), recorded_(std::exchange(o.recorded_, false)) {}
    Event& operator=(Event&& o) noexcept {
        std::swap(event_, o.event_);
        std::swap(recorded_, o.recorded_);
        return *this;
    }
    Event(const Event&) = delete;
    Event& operator=(const Event&) = delete;
    void record(CudaStream stream);
    void wait() {
        if (!recorded_) return;
        if constexpr (kWithCuda) synchronize_recorded();
        recorded_ = false;
    }
    bool recorded() const { return recorded_; }

private:
    void destroy();               // releases event_, if created
    void synchronize_recorded();  // blocks until the recorded work has completed

    CUevent_st* event_ = nullptr;  // a cudaEvent_t, created on first record
    bool recorded_ = false;
};

// Library handles, owned by effnet::Context and bound to its stream.
CublasHandle create_cublas(CudaStream stream, bool tf32);
// Exact FP32 GEMMs, or TF32 tensor cores when `tf32`.
void set_cublas_tf32(CublasHandle handle, bool tf32);
void destroy_cublas(CublasHandle h);
CudnnHandle create_cudnn(CudaStream stream);
void destroy_cudnn(CudnnHandle h);

// A CUDA graph recorded from `stream` between begin_capture and end_capture
// (global capture mode: a synchronising or allocating call inside fails the
// capture with its error), then replayed with launch. Kernel arguments are
// frozen at capture. Movable, not copyable; captured only in the CUDA build.
class Graph {
public:
    Graph() = default;
    ~Graph() {
        if constexpr (kWithCuda) destroy();
    }
    Graph(Graph&& o) noexcept
        : graph_(std::exchange(o.graph_, nullptr)), exec_(std::exchange(o.exec_, nullptr)) {}
    Graph& operator=(Graph&& o) noexcept {
        std::swap(graph_, o.graph_);
        std::swap(exec_, o.exec_);
        return *this;
    }
    Graph(const Graph&) = delete;
    Graph& operator=(const Graph&) = delete;
    void begin_capture(CudaStream stream);
    void end_capture(CudaStream stream);
    // Ends a capture that failed part-way, discarding it, so the stream works again.
    void cancel_capture(CudaStream stream);
    void launch(CudaStream stream);
    bool ready() const { return exec_ != nullptr; }

private:
    void destroy();  // releases graph_ and exec_, if made

    [[maybe_unused]] CUgraph_st* graph_ = nullptr;  // a cudaGraph_t (unused in the CPU-only build)
    CUgraphExec_st* exec_ = nullptr;                // a cudaGraphExec_t
};

}  // namespace effnet::gpu
