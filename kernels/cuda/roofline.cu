// Ceilings for kernels/roofline.h. The FMA kernel runs 8 independent chains
// per thread (enough instruction-level parallelism to hide the FMA latency)
// on 8 blocks of 256 threads per SM and stores one value per thread so the
// chains cannot be optimised away.
#include "kernels/roofline.h"
#include "tensor/cuda_check.h"

namespace effnet::cuda {

namespace {
constexpr int kChains = 8;

__global__ void fma_chains_kernel(float* __restrict__ out, int iterations, float a, float b) {
    float v[kChains];
#pragma unroll
    for (int k = 0; k < kChains; ++k) v[k] = float(threadIdx.x + k);
    for (int i = 0; i < iterations; ++i) {
#pragma unroll
        for (int k = 0; k < kChains; ++k) v[k] = fmaf(v[k], a, b);
    }
    float s = 0;
#pragma unroll
    for (int k = 0; k < kChains; ++k) s += v[k];
    out[blockIdx.x * blockDim.x + threadIdx.x] = s;
}

// Milliseconds of `fn` (enqueued `repeats` times on `stream`), by CUDA events.
template <class F>
float time_ms(CudaStream stream, int repeats, F fn) {
    cudaEvent_t start, stop;
    EFFNET_CUDA_CHECK(cudaEventCreate(&start));
    EFFNET_CUDA_CHECK(cudaEventCreate(&stop));
    fn();  // warm-up
    EFFNET_CUDA_CHECK(cudaEventRecord(start, stream));
    for (int i = 0; i < repeats; ++i) fn();
    EFFNET_CUDA_CHECK(cudaEventRecord(stop, stream));
    EFFNET_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    EFFNET_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    return ms / float(repeats);
}
}  // namespace

double measure_copy_gb_per_s(CudaStream stream, int repeats) {
    const size_t bytes = size_t(1) << 30;
    void *a = nullptr, *b = nullptr;
    EFFNET_CUDA_CHECK(cudaMalloc(&a, bytes));
    EFFNET_CUDA_CHECK(cudaMalloc(&b, bytes));
    EFFNET_CUDA_CHECK(cudaMemsetAsync(a, 0, bytes, stream));
    const float ms = time_ms(stream, repeats, [&] {
        EFFNET_CUDA_CHECK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, stream));
    });
    cudaFree(a);
    cudaFree(b);
    return 2.0 * double(bytes) / (double(ms) * 1e6);
}

double measure_fma_gflop_per_s(CudaStream stream) {
    int device = 0, sms = 0;
    EFFNET_CUDA_CHECK(cudaGetDevice(&device));
    EFFNET_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
    const int threads = 256, blocks = sms * 8, iterations = 1 << 14;
    float* out = nullptr;
    EFFNET_CUDA_CHECK(cudaMalloc(&out, sizeof(float) * size_t(blocks) * threads));
    const float ms = time_ms(stream, 5, [&] {
        fma_chains_kernel<<<blocks, threads, 0, stream>>>(out, iterations, 0.999f, 0.001f);
        EFFNET_CHECK_LAUNCH("fma_chains_kernel", "blocks=" << blocks);
    });
    cudaFree(out);
    const double flops = 2.0 * kChains * double(iterations) * threads * blocks;
    return flops / (double(ms) * 1e6);
}

}  // namespace effnet::cuda
