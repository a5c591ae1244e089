// tests/tensor/fake_gpu_runtime.h: the deferred, recording runtime.
#include "tests/tensor/fake_gpu_runtime.h"

#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>

#include "tensor/error.h"
#include "tensor/gpu_runtime.h"
#include "tensor/random.h"

namespace effnet::fake_gpu {
namespace {
struct Op {
    uint64_t seq;
    std::function<void()> run;
};
struct State {
    std::mutex mu;
    std::vector<Call> calls;
    std::deque<Op> queue;  // one stream: the device stream
    uint64_t enqueued = 0;
    bool capturing = false;
};
State& state() {
    static State s;
    return s;
}
}  // namespace
}  // namespace effnet::fake_gpu

// The fake's device stream and library handles: objects of CUDA's opaque
// types, which only their addresses identify.
struct CUstream_st {};
struct cublasContext {};
struct cudnnContext {};

namespace effnet::fake_gpu {
namespace {
CUstream_st stream_object;
cublasContext cublas_object;
cudnnContext cudnn_object;
CudaStream the_stream() { return &stream_object; }

void log(const std::string& op, CudaStream stream) { state().calls.push_back({op, stream}); }

// Enqueues `run` on `stream`; the fake has one stream, and anything else
// (null included) is logged and refused as the real runtime refuses it.
void enqueue(const std::string& op, CudaStream stream, std::function<void()> run) {
    std::lock_guard<std::mutex> lock(state().mu);
    log(op, stream);
    EFFNET_CHECK(stream == the_stream(),
                 op << " enqueued on stream " << stream << ", not the device stream");
    state().queue.push_back({++state().enqueued, std::move(run)});
}

// Runs queued operations with sequence numbers <= `upto`.
void run_until(uint64_t upto) {
    for (;;) {
        std::function<void()> f;
        {
            std::lock_guard<std::mutex> lock(state().mu);
            if (state().queue.empty() || state().queue.front().seq > upto) return;
            f = std::move(state().queue.front().run);
            state().queue.pop_front();
        }
        f();
    }
}
}  // namespace

const std::vector<Call>& calls() { return state().calls; }
void reset_calls() { state().calls.clear(); }
size_t pending() {
    std::lock_guard<std::mutex> lock(state().mu);
    return state().queue.size();
}

void set_capturing(bool capturing) { state().capturing = capturing; }

void discard_pending() {
    std::lock_guard<std::mutex> lock(state().mu);
    state().queue.clear();
}

}  // namespace effnet::fake_gpu

namespace effnet::gpu {
using namespace effnet::fake_gpu;

bool probe_available() { return true; }
const std::string& probe_status() {
    static const std::string s = "fake deferred device (tests/tensor/fake_gpu_runtime.h)";
    return s;
}
int compute_capability() { return 90; }
CudaStream device_stream() { return the_stream(); }
bool is_capturing(CudaStream) { return state().capturing; }

void* device_malloc(size_t bytes) {
    void* p = std::malloc(bytes ? bytes : 1);
    std::memset(p, kPoison, bytes);
    return p;
}
void device_free(void* p) { std::free(p); }
void* pinned_malloc(size_t bytes) { return std::malloc(bytes ? bytes : 1); }
void pinned_free(void* p) { std::free(p); }
size_t free_device_bytes() { return size_t(1) << 30; }

void memcpy_async(void* dst, const void* src, size_t bytes, CopyKind kind, CudaStream stream) {
    const char* op = kind == CopyKind::HOST_TO_DEVICE   ? "memcpy_h2d"
                     : kind == CopyKind::DEVICE_TO_HOST ? "memcpy_d2h"
                                                        : "memcpy_d2d";
    // The source is read when the copy runs, as a DMA from pinned memory does;
    // a host destination holds poison until then.
    if (kind == CopyKind::DEVICE_TO_HOST) std::memset(dst, kPoison, bytes);
    enqueue(op, stream, [=] { std::memcpy(dst, src, bytes); });
}
void memset_zero_async(void* dst, size_t bytes, CudaStream stream) {
    enqueue("memset", stream, [=] { std::memset(dst, 0, bytes); });
}
void fill_f32(float* d_dst, size_t n, float value, CudaStream stream) {
    enqueue("fill", stream, [=] {
        for (size_t i = 0; i < n; ++i) d_dst[i] = value;
    });
}
void synchronize(CudaStream stream) {
    {
        std::lock_guard<std::mutex> lock(state().mu);
        log("sync", stream);
    }
    if (stream == the_stream()) run_until(UINT64_MAX);
}

// event_ holds the sequence number of the last operation before the record.
void Event::destroy() {}
void Event::record(CudaStream stream) {
    std::lock_guard<std::mutex> lock(state().mu);
    log("event_record", stream);
    EFFNET_CHECK(stream == the_stream(),
                 "event recorded on stream " << stream << ", not the device stream");
    event_ = reinterpret_cast<CUevent_st*>(uintptr_t(state().enqueued));
    recorded_ = true;
}
void Event::synchronize_recorded() {
    {
        std::lock_guard<std::mutex> lock(state().mu);
        log("event_wait", the_stream());
    }
    run_until(uint64_t(reinterpret_cast<uintptr_t>(event_)));
}

CublasHandle create_cublas(CudaStream stream, bool) {
    log("create_cublas", stream);
    return &cublas_object;
}
void set_cublas_tf32(CublasHandle, bool) {}
void destroy_cublas(CublasHandle) {}
CudnnHandle create_cudnn(CudaStream stream) {
    log("create_cudnn", stream);
    return &cudnn_object;
}
void destroy_cudnn(CudnnHandle) {}

void Graph::destroy() {}
void Graph::begin_capture(CudaStream) { throw CudaError("the fake runtime has no graphs"); }
void Graph::end_capture(CudaStream) {}
void Graph::cancel_capture(CudaStream) {}
void Graph::launch(CudaStream) {}

}  // namespace effnet::gpu

namespace effnet::cuda {
// Device random fills: the CPU fill, deferred like every device operation.
void fill_uniform(float* d_dst, size_t n, uint64_t seed, uint64_t stream_id, float lo, float hi,
                  CudaStream stream) {
    fake_gpu::enqueue("random", stream,
                      [=] { cpu::fill_uniform(d_dst, n, seed, stream_id, lo, hi, nullptr); });
}
void fill_normal(float* d_dst, size_t n, uint64_t seed, uint64_t stream_id, float mean,
                 float stddev, CudaStream stream) {
    fake_gpu::enqueue("random", stream,
                      [=] { cpu::fill_normal(d_dst, n, seed, stream_id, mean, stddev, nullptr); });
}
}  // namespace effnet::cuda
