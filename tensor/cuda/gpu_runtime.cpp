// CUDA implementation of tensor/gpu_runtime.h, and the error reporters behind
// tensor/cuda_check.h.
#include <cstdio>
#include <mutex>

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
        case CopyKind::HOST_TO_DEVICE: return cudaMemcpyHostToDevice;
        case CopyKind::DEVICE_TO_HOST: return cudaMemcpyDeviceToHost;
        case CopyKind::DEVICE_TO_DEVICE: return cudaMemcpyDeviceToDevice;
    }
    return cudaMemcpyDefault;
}
}  // namespace

bool compiled() { return true; }
bool available() { return probe().ok; }
const std::string& status() { return probe().status; }
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

void memcpy_async(void* dst, const void* src, size_t bytes, CopyKind kind, void* stream) {
    EFFNET_CUDA_CHECK_MSG(cudaMemcpyAsync(dst, src, bytes, to_cuda(kind), static_cast<cudaStream_t>(stream)),
                      "bytes=" << bytes);
}

void memset_zero_async(void* dst, size_t bytes, void* stream) {
    EFFNET_CUDA_CHECK_MSG(cudaMemsetAsync(dst, 0, bytes, static_cast<cudaStream_t>(stream)), "bytes=" << bytes);
}

void synchronize(void* stream) {
    EFFNET_CUDA_CHECK(cudaStreamSynchronize(static_cast<cudaStream_t>(stream)));
}

void device_synchronize() { EFFNET_CUDA_CHECK(cudaDeviceSynchronize()); }

void* create_stream() {
    cudaStream_t s = nullptr;
    EFFNET_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    return s;
}

void destroy_stream(void* s) {
    if (s) cudaStreamDestroy(static_cast<cudaStream_t>(s));
}

void* create_cublas(void* stream) {
    cublasHandle_t h = nullptr;
    EFFNET_CUBLAS_CHECK(cublasCreate(&h), "");
    EFFNET_CUBLAS_CHECK(cublasSetStream(h, static_cast<cudaStream_t>(stream)), "");
    // Exact FP32 unless a caller opts into TF32 explicitly.
    EFFNET_CUBLAS_CHECK(cublasSetMathMode(h, CUBLAS_PEDANTIC_MATH), "");
    return h;
}

void destroy_cublas(void* h) {
    if (h) cublasDestroy(static_cast<cublasHandle_t>(h));
}

void* create_cudnn(void* stream) {
    cudnnHandle_t h = nullptr;
    EFFNET_CUDNN_CHECK(cudnnCreate(&h), "");
    EFFNET_CUDNN_CHECK(cudnnSetStream(h, static_cast<cudaStream_t>(stream)), "");
    return h;
}

void destroy_cudnn(void* h) {
    if (h) cudnnDestroy(static_cast<cudnnHandle_t>(h));
}

}  // namespace effnet::gpu
