// CUDA implementation of tensor/gpu_runtime.h, and the error reporters behind
// tensor/cuda_check.h.
#include <cstdio>
#include <mutex>
#include <sstream>
#include <unordered_map>
#include <utility>

#include "tensor/cuda_check.h"
#include "tensor/gpu_runtime.h"

namespace effnet::detail {

static std::string where(const char* call, const char* file, int line, const std::string& ctx) {
    std::ostringstream os;
    os << call;
    if (!ctx.empty()) os << " (" << ctx << ")";
    os << " at " << file << ":" << line;
    return os.str();
}

void throw_cuda(cudaError_t err, const char* call, const char* file, int line,
                const std::string& context) {
    cudaGetLastError();  // clear a sticky-free error so later calls can report their own
    std::string msg = "CUDA error " + std::string(cudaGetErrorName(err)) + ": " +
                      cudaGetErrorString(err) + " in " + where(call, file, line, context);
    if (err == cudaErrorMemoryAllocation) throw OutOfMemoryError(msg);
    throw CudaError(msg);
}

void throw_cublas(cublasStatus_t st, const char* call, const char* file, int line,
                  const std::string& context) {
    throw CudaError("cuBLAS error " + std::string(cublasGetStatusName(st)) + ": " +
                    cublasGetStatusString(st) + " in " + where(call, file, line, context));
}

void throw_cudnn(cudnnStatus_t st, const char* call, const char* file, int line,
                 const std::string& context) {
    char last[512] = {0};
    cudnnGetLastErrorString(last, sizeof last);
    throw CudaError("cuDNN error " + std::string(cudnnGetErrorString(st)) + " in " +
                    where(call, file, line, context) + (last[0] ? std::string(": ") + last : ""));
}

}  // namespace effnet::detail

namespace effnet::gpu {

namespace {
struct Probe {
    bool ok = false;
    int cc = 0;
    std::string status;
};

const Probe& probe() {
    static const Probe p = [] {
        Probe r;
        int n = 0;
        cudaError_t e = cudaGetDeviceCount(&n);
        if (e != cudaSuccess) {
            r.status = std::string("no usable CUDA device (") + cudaGetErrorString(e) + ")";
            cudaGetLastError();
            return r;
        }
        if (n == 0) {
            r.status = "no CUDA device present";
            return r;
        }
        cudaDeviceProp prop{};
        if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) {
            r.status = "CUDA device 0 could not be queried";
            cudaGetLastError();
            return r;
        }
        r.ok = true;
        r.cc = prop.major * 10 + prop.minor;
        char buf[512];
        std::snprintf(buf, sizeof buf, "sm_%d%d, %.1f GiB", prop.major, prop.minor,
                      static_cast<double>(prop.totalGlobalMem) / (1u << 30));
        r.status = std::string(prop.name) + ", " + buf;
        return r;
    }();
    return p;
}

cudaMemcpyKind to_cuda(CopyKind k) {
    switch (k) {
        case CopyKind::HOST_TO_DEVICE:
            return cudaMemcpyHostToDevice;
        case CopyKind::DEVICE_TO_HOST:
            return cudaMemcpyDeviceToHost;
        case CopyKind::DEVICE_TO_DEVICE:
            return cudaMemcpyDeviceToDevice;
    }
    return cudaMemcpyDefault;
}
}  // namespace

bool probe_available() { return probe().ok; }
const std::string& probe_status() { return probe().status; }
int compute_capability() { return probe().cc; }

void* device_malloc(size_t bytes) {
    void* p = nullptr;
    cudaError_t e = cudaMalloc(&p, bytes);
    if (e != cudaSuccess) {
        cudaGetLastError();
        size_t free_b = 0, total_b = 0;
        cudaMemGetInfo(&free_b, &total_b);
        std::ostringstream os;
        os << "CUDA out of memory: requested " << bytes << " bytes with " << free_b << " of "
           << total_b << " bytes free (" << cudaGetErrorString(e)
           << "); try a smaller --batch-size or --image-size";
        throw OutOfMemoryError(os.str(), bytes, free_b, total_b);
    }
    return p;
}

void device_free(void* p) { EFFNET_CUDA_CHECK(cudaFree(p)); }

void* pinned_malloc(size_t bytes) {
    void* p = nullptr;
    EFFNET_CUDA_CHECK_MSG(cudaMallocHost(&p, bytes), "bytes=" << bytes);
    return p;
}

void pinned_free(void* p) { EFFNET_CUDA_CHECK(cudaFreeHost(p)); }

size_t free_device_bytes() {
    size_t free_b = 0, total_b = 0;
    EFFNET_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
    return free_b;
}

namespace {
CudaStream checked_stream(CudaStream stream, const char* op) {
    // The stream rule (tensor/tensor.h): device work never goes to the legacy default stream.
    EFFNET_CHECK(stream != nullptr,
                 op << ": no stream given; device work runs on gpu::device_stream()");
    return stream;
}
}  // namespace

CudaStream device_stream() {
    static CudaStream s = [] {
        EFFNET_CHECK(available(), "the device stream needs a usable GPU: " << status());
        CudaStream made = nullptr;
        EFFNET_CUDA_CHECK(cudaStreamCreateWithFlags(&made, cudaStreamNonBlocking));
        return made;  // never destroyed: it lives as long as the process's device work
    }();
    return s;
}

bool is_capturing(CudaStream stream) {
    cudaStreamCaptureStatus st = cudaStreamCaptureStatusNone;
    EFFNET_CUDA_CHECK(cudaStreamIsCapturing(checked_stream(stream, "is_capturing"), &st));
    return st != cudaStreamCaptureStatusNone;
}

void memcpy_async(void* dst, const void* src, size_t bytes, CopyKind kind, CudaStream stream) {
    EFFNET_CUDA_CHECK_MSG(
        cudaMemcpyAsync(dst, src, bytes, to_cuda(kind), checked_stream(stream, "memcpy_async")),
        "bytes=" << bytes);
}

void memset_zero_async(void* dst, size_t bytes, CudaStream stream) {
    EFFNET_CUDA_CHECK_MSG(
        cudaMemsetAsync(dst, 0, bytes, checked_stream(stream, "memset_zero_async")),
        "bytes=" << bytes);
}

void synchronize(CudaStream stream) {
    EFFNET_CUDA_CHECK(cudaStreamSynchronize(checked_stream(stream, "synchronize")));
}

void Event::destroy() {
    if (event_) cudaEventDestroy(event_);
}

void Event::record(CudaStream stream) {
    if (!event_) {
        cudaEvent_t e = nullptr;
        EFFNET_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
        event_ = e;
    }
    EFFNET_CUDA_CHECK(cudaEventRecord(event_, checked_stream(stream, "Event::record")));
    recorded_ = true;
}

void Event::synchronize_recorded() { EFFNET_CUDA_CHECK(cudaEventSynchronize(event_)); }

namespace {
// cuBLAS workspaces by handle: set explicitly so that cuBLAS never allocates
// inside a step (which a CUDA-graph capture would reject).
std::mutex cublas_workspace_mutex;
std::unordered_map<CublasHandle, void*> cublas_workspaces;
constexpr size_t kCublasWorkspaceBytes = size_t(32) << 20;
}  // namespace

CublasHandle create_cublas(CudaStream stream, bool tf32) {
    CublasHandle h = nullptr;
    EFFNET_CUBLAS_CHECK(cublasCreate(&h), "");
    EFFNET_CUBLAS_CHECK(cublasSetStream(h, checked_stream(stream, "create_cublas")), "");
    set_cublas_tf32(h, tf32);
    void* ws = device_malloc(kCublasWorkspaceBytes);
    EFFNET_CUBLAS_CHECK(cublasSetWorkspace(h, ws, kCublasWorkspaceBytes), "32 MiB workspace");
    std::lock_guard<std::mutex> lock(cublas_workspace_mutex);
    cublas_workspaces[h] = ws;
    return h;
}

// The handle's math mode is set here and nowhere else (the GEMM wrappers never
// touch it). CUBLAS_DEFAULT_MATH keeps FP32 GEMMs in FP32 (it never lowers the
// requested precision; PyTorch uses it when TF32 matmuls are disallowed);
// TF32 tensor cores only with CUBLAS_TF32_TENSOR_OP_MATH (--tf32).
void set_cublas_tf32(CublasHandle h, bool tf32) {
    EFFNET_CUBLAS_CHECK(
        cublasSetMathMode(h, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH), "math mode");
}

void destroy_cublas(CublasHandle h) {
    if (!h) return;
    cublasDestroy(h);
    std::lock_guard<std::mutex> lock(cublas_workspace_mutex);
    if (auto it = cublas_workspaces.find(h); it != cublas_workspaces.end()) {
        cudaFree(it->second);
        cublas_workspaces.erase(it);
    }
}

void Graph::destroy() {
    if (exec_) cudaGraphExecDestroy(exec_);
    if (graph_) cudaGraphDestroy(graph_);
}

void Graph::begin_capture(CudaStream stream) {
    EFFNET_CUDA_CHECK(cudaStreamBeginCapture(checked_stream(stream, "Graph::begin_capture"),
                                             cudaStreamCaptureModeGlobal));
}

void Graph::end_capture(CudaStream stream) {
    cudaGraph_t g = nullptr;
    EFFNET_CUDA_CHECK(cudaStreamEndCapture(checked_stream(stream, "Graph::end_capture"), &g));
    cudaGraphExec_t e = nullptr;
    const cudaError_t err = cudaGraphInstantiate(&e, g, 0);
    if (err != cudaSuccess) {
        cudaGraphDestroy(g);
        EFFNET_CUDA_CHECK(err);
    }
    Graph fresh;
    fresh.graph_ = g;
    fresh.exec_ = e;
    *this = std::move(fresh);
}

void Graph::cancel_capture(CudaStream stream) {
    cudaGraph_t g = nullptr;
    cudaStreamEndCapture(checked_stream(stream, "Graph::cancel_capture"),
                         &g);  // reports the capture's error; already known
    if (g) cudaGraphDestroy(g);
    cudaGetLastError();
}

void Graph::launch(CudaStream stream) {
    EFFNET_CHECK(exec_ != nullptr, "CUDA graph launched before a capture ended");
    EFFNET_CUDA_CHECK(cudaGraphLaunch(exec_, checked_stream(stream, "Graph::launch")));
}

CudnnHandle create_cudnn(CudaStream stream) {
    CudnnHandle h = nullptr;
    EFFNET_CUDNN_CHECK(cudnnCreate(&h), "");
    EFFNET_CUDNN_CHECK(cudnnSetStream(h, checked_stream(stream, "create_cudnn")), "");
    return h;
}

void destroy_cudnn(CudnnHandle h) {
    if (h) cudnnDestroy(h);
}

}  // namespace effnet::gpu
