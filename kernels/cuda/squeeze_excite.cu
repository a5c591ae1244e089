// CUDA squeeze-excite pieces (kernels/squeeze_excite.h).
//
// Per-(image, channel) sums over H*W (the pool, and the gate gradient
// sum_p dy*x) are the two-pass channel reduction of
// kernels/cuda/channel_reduce_map.h with one group per image: the partial
// pass splits each image's pixels into slices (so that stage 1's 32 images
// of 32 channels still give several blocks per SM), the final pass adds the
// slices in a fixed order and scales. Sums are in double, as in the CPU
// reference: the gate gradient sum_p dy*x cancels (the batch norm after the
// block makes dy average to ~0 per channel), so float partials over 112x112
// pixels would lose digits that matter. The element-wise parts are
// grid-stride loops, one element per thread.
#include "kernels/cuda/channel_reduce.cuh"
#include "kernels/cuda/device_query.h"
#include "kernels/squeeze_excite.h"
#include "tensor/cuda_check.h"

#include <algorithm>

namespace effnet::cuda {

namespace {

using reduce::Kind;
constexpr int kThreads = 256;

crmap::Map image_map(int64_t n, int64_t hw, int64_t c, int vec) {
    EFFNET_CHECK(
        n >= 1 && n <= crmap::kMaxGridYZ && hw >= 1 && c >= 1,
        "squeeze-excite sums over N=" << n << " images of HW=" << hw << " pixels, C=" << c);
    return crmap::make_map(n, hw, c, vec, multiprocessor_count());
}

// Final pass: out[n][c] = scale * (sum over slices); thread (tx, 0) of block (bx, n).
__global__ void __launch_bounds__(crmap::kFinalChannels* crmap::kFinalLanes)
    image_channel_total_kernel(crmap::Map m, const double* __restrict__ partial, double scale,
                               float* __restrict__ out) {
    double s[1];
    reduce::sum_slices<1>(m, partial, s);
    const int64_t c = crmap::final_channel(blockIdx.x, threadIdx.x);
    if (threadIdx.y == 0 && c < m.channels)
        out[int64_t(blockIdx.y) * m.channels + c] = float(s[0] * scale);
}

// dx[n,p,c] = g[n,c] * scale (pool backward: g = dy, scale 1/HW; channel scale: y = x * g).
__global__ void broadcast_kernel(const float* __restrict__ x, const float* __restrict__ g,
                                 float* __restrict__ y, int64_t n, int64_t hw, int64_t C,
                                 float scale) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
         i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t c = i % C, img = i / (hw * C);
        const float v = g[img * C + c] * scale;
        y[i] = x ? x[i] * v : v;
    }
}

// out[n][c] = scale * sum_p a[n,p,c] (* b[n,p,c] when b is given).
void image_channel_sum(const float* a, const float* b, float* out, int64_t n, int64_t hw, int64_t c,
                       double scale, void* workspace, CudaStream stream, const char* what) {
    const bool aligned = reduce::aligned16(a) && (!b || reduce::aligned16(b));
    const crmap::Map m = image_map(n, hw, c, crmap::vector_width(c, aligned));
    double* partial = static_cast<double*>(workspace);
    reduce::Operands op;
    op.a = a;
    op.b = b;
    if (b)
        reduce::launch_partial<Kind::PRODUCT>(op, m, partial, stream, what);
    else
        reduce::launch_partial<Kind::SUM>(op, m, partial, stream, what);
    image_channel_total_kernel<<<dim3(crmap::final_blocks_x(m), unsigned(n)), reduce::final_block(),
                                 0, stream>>>(m, partial, scale, out);
    EFFNET_CHECK_LAUNCH("image_channel_total_kernel",
                        what << " N=" << n << " HW=" << hw << " C=" << c);
}

}  // namespace

// The partials of the larger of the two vector widths a call may take.
size_t squeeze_excite_workspace_bytes(int64_t n, int64_t hw, int64_t c) {
    size_t count = crmap::partial_count(image_map(n, hw, c, 1));
    if (c % 4 == 0) count = std::max(count, crmap::partial_count(image_map(n, hw, c, 4)));
    return count * sizeof(double);
}

void global_avg_pool_forward(const float* x, float* y, int64_t n, int64_t hw, int64_t c,
                             void* workspace, CudaStream stream) {
    image_channel_sum(x, nullptr, y, n, hw, c, 1.0 / double(hw), workspace, stream,
                      "channel_partial_kernel<SUM> (pool)");
}

void global_avg_pool_backward(const float* dy, float* dx, int64_t n, int64_t hw, int64_t c,
                              CudaStream stream) {
    broadcast_kernel<<<grid_stride_blocks(size_t(n * hw * c), kThreads), kThreads, 0, stream>>>(
        nullptr, dy, dx, n * hw * c, hw, c, 1.0f / float(hw));
    EFFNET_CHECK_LAUNCH("broadcast_kernel (pool backward)",
                        "N=" << n << " HW=" << hw << " C=" << c);
}

void channel_scale_forward(const float* x, const float* gate, float* y, int64_t n, int64_t hw,
                           int64_t c, CudaStream stream) {
    broadcast_kernel<<<grid_stride_blocks(size_t(n * hw * c), kThreads), kThreads, 0, stream>>>(
        x, gate, y, n * hw * c, hw, c, 1.0f);
    EFFNET_CHECK_LAUNCH("broadcast_kernel (channel scale)",
                        "N=" << n << " HW=" << hw << " C=" << c);
}

void channel_scale_backward(const float* x, const float* gate, const float* dy, float* dx,
                            float* dgate, int64_t n, int64_t hw, int64_t c, void* workspace,
                            CudaStream stream) {
    channel_scale_forward(dy, gate, dx, n, hw, c, stream);
    image_channel_sum(dy, x, dgate, n, hw, c, 1.0, workspace, stream,
                      "channel_partial_kernel<PRODUCT> (gate gradient)");
}

}  // namespace effnet::cuda
