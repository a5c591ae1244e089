// CUDA squeeze-excite pieces (kernels/squeeze_excite.h).
//
// Per-(image, channel) sums over H*W use the channel-reduction mapping of
// kernels/cuda/channel_reduce_map.h with one row slice per image
// (gridDim.y = N): block (bx, n) sums rows p = threadIdx.y + k*kRows of image
// n for channels bx*kChannels + threadIdx.x. No partials are needed. The
// element-wise parts are grid-stride loops, one element per thread.
#include "kernels/cuda/channel_reduce_map.h"
#include "kernels/squeeze_excite.h"
#include "tensor/cuda_check.h"

namespace effnet::cuda {

namespace {

using namespace crmap;
constexpr int kThreads = 256;

// out[n][c] = scale * sum_p a[n,p,c] (* b[n,p,c] when b is given), summed in
// double as the CPU reference does: the gate gradient sum_p dy*x cancels
// (the batch norm after the block makes dy average to ~0 per channel), so
// float partials over 112x112 pixels would lose digits that matter.
__global__ void image_channel_sum_kernel(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ out,
                                         int64_t hw, int64_t C, double scale) {
    __shared__ double red[kRows][kChannels];
    const int64_t c = channel(blockIdx.x, threadIdx.x), n = blockIdx.y;
    double s = 0.0;
    if (c < C)
        for (int64_t p = threadIdx.y; p < hw; p += kRows) {
            const int64_t i = (n * hw + p) * C + c;
            s += b ? double(a[i]) * double(b[i]) : double(a[i]);
        }
    red[threadIdx.y][threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.y == 0 && c < C) {
        double t = 0.0;
        for (int k = 0; k < kRows; ++k) t += red[k][threadIdx.x];
        out[n * C + c] = float(t * scale);
    }
}

// dx[n,p,c] = g[n,c] * scale (pool backward: g = dy, scale 1/HW; channel scale: y = x * g).
__global__ void broadcast_kernel(const float* __restrict__ x, const float* __restrict__ g, float* __restrict__ y, int64_t n,
                                 int64_t hw, int64_t C, float scale) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t c = i % C, img = i / (hw * C);
        const float v = g[img * C + c] * scale;
        y[i] = x ? x[i] * v : v;
    }
}

cudaStream_t as_stream(void* s) { return static_cast<cudaStream_t>(s); }

void image_channel_sum(const float* a, const float* b, float* out, int64_t n, int64_t hw, int64_t c, double scale,
                       void* stream, const char* what) {
    image_channel_sum_kernel<<<dim3(unsigned(ceil_div<int64_t>(c, kChannels)), unsigned(n)), dim3(kChannels, kRows), 0,
                               as_stream(stream)>>>(a, b, out, hw, c, scale);
    EFFNET_CHECK_LAUNCH(what, "N=" << n << " HW=" << hw << " C=" << c);
}

}  // namespace

void global_avg_pool_forward(const float* x, float* y, int64_t n, int64_t hw, int64_t c, void* stream) {
    image_channel_sum(x, nullptr, y, n, hw, c, 1.0 / double(hw), stream, "image_channel_sum_kernel (pool)");
}

void global_avg_pool_backward(const float* dy, float* dx, int64_t n, int64_t hw, int64_t c, void* stream) {
    broadcast_kernel<<<grid_stride_blocks(size_t(n * hw * c), kThreads), kThreads, 0, as_stream(stream)>>>(
        nullptr, dy, dx, n * hw * c, hw, c, 1.0f / float(hw));
    EFFNET_CHECK_LAUNCH("broadcast_kernel (pool backward)", "N=" << n << " HW=" << hw << " C=" << c);
}

void channel_scale_forward(const float* x, const float* gate, float* y, int64_t n, int64_t hw, int64_t c, void* stream) {
    broadcast_kernel<<<grid_stride_blocks(size_t(n * hw * c), kThreads), kThreads, 0, as_stream(stream)>>>(x, gate, y, n * hw * c,
                                                                                                         hw, c, 1.0f);
    EFFNET_CHECK_LAUNCH("broadcast_kernel (channel scale)", "N=" << n << " HW=" << hw << " C=" << c);
}

void channel_scale_backward(const float* x, const float* gate, const float* dy, float* dx, float* dgate, int64_t n, int64_t hw,
                            int64_t c, void* stream) {
    channel_scale_forward(dy, gate, dx, n, hw, c, stream);
    image_channel_sum(dy, x, dgate, n, hw, c, 1.0, stream, "image_channel_sum_kernel (gate gradient)");
}

}  // namespace effnet::cuda
