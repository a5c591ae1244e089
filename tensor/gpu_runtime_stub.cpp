// The CPU-only build's stand-in for tensor/cuda/gpu_runtime.cpp: reports "no
// CUDA" and refuses every device operation with a clear error.
#include "tensor/error.h"
#include "tensor/gpu_runtime.h"
#include "tensor/random.h"

namespace effnet::gpu {
namespace {
[[noreturn]] void no_cuda(const char* what) {
    throw CudaError(std::string(what) +
                    ": this effnet was built without CUDA (EFFNET_CUDA=OFF); use --device cpu");
}
}  // namespace

bool compiled() { return false; }
bool available() { return false; }
const std::string& status() {
    static const std::string s = "built without CUDA (EFFNET_CUDA=OFF)";
    return s;
}
int compute_capability() { return 0; }
void* device_stream() { no_cuda("device_stream"); }
bool is_capturing(void*) { return false; }
void* device_malloc(size_t) { no_cuda("device_malloc"); }
void device_free(void*) { no_cuda("device_free"); }
void* pinned_malloc(size_t) { no_cuda("pinned_malloc"); }
void pinned_free(void*) { no_cuda("pinned_free"); }
size_t free_device_bytes() { return 0; }
void memcpy_async(void*, const void*, size_t, CopyKind, void*) { no_cuda("memcpy_async"); }
void memset_zero_async(void*, size_t, void*) { no_cuda("memset_zero_async"); }
void fill_f32(float*, size_t, float, void*) { no_cuda("fill_f32"); }
void synchronize(void*) { no_cuda("synchronize"); }
Event::~Event() {}
Event::Event(Event&&) noexcept {}
Event& Event::operator=(Event&&) noexcept { return *this; }
void Event::record(void*) { no_cuda("Event::record"); }
void Event::wait() {}
void* create_cublas(void*, bool) { no_cuda("create_cublas"); }
void set_cublas_tf32(void*, bool) { no_cuda("set_cublas_tf32"); }
void destroy_cublas(void*) {}
void* create_cudnn(void*) { no_cuda("create_cudnn"); }
void destroy_cudnn(void*) {}
Graph::~Graph() {}
Graph::Graph(Graph&&) noexcept {}
Graph& Graph::operator=(Graph&&) noexcept { return *this; }
void Graph::begin_capture(void*) { no_cuda("Graph::begin_capture"); }
void Graph::end_capture(void*) { no_cuda("Graph::end_capture"); }
void Graph::cancel_capture(void*) {}
void Graph::launch(void*) { no_cuda("Graph::launch"); }

}  // namespace effnet::gpu

namespace effnet::cuda {
void fill_uniform(float*, size_t, uint64_t, uint64_t, float, float, void*) {
    throw CudaError("fill_uniform: this effnet was built without CUDA (EFFNET_CUDA=OFF)");
}
void fill_normal(float*, size_t, uint64_t, uint64_t, float, float, void*) {
    throw CudaError("fill_normal: this effnet was built without CUDA (EFFNET_CUDA=OFF)");
}
}  // namespace effnet::cuda
