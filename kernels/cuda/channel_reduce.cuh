// The two passes of the per-channel reductions of kernels/cuda/channel_reduce_map.h,
// shared by batch norm (kernels/cuda/batchnorm.cu) and squeeze-excite
// (kernels/cuda/squeeze_excite.cu). All sums are in double.
//
// channel_partial_kernel<KIND, V> writes, for each summed quantity q,
// partial[q*partial_count + partial_index(g, slice, c)]:
//   SUM:            q0 = sum a                               (SE pool)
//   PRODUCT:        q0 = sum a*b                             (SE gate gradient: a = dy, b = x)
//   MOMENTS:        q0 = sum (a - k), q1 = sum (a - k)^2     (BN statistics; the shift k_c is
//                   a[c], row 0 of the channel, so (a - k) is centred to within about one
//                   standard deviation and the variance S2/M - (S1/M)^2 does not cancel)
//   BACKWARD:       q0 = sum g, q1 = sum g * (a - mean) * invstd, g = b = dy
//   BACKWARD_SWISH: the same with g = dz = dy * swish'(a * scale + shift)
// sum_slices<Q>() is the final pass's fixed-order sum over slices.
#pragma once

#include "kernels/cuda/batchnorm_passes.h"
#include "kernels/cuda/channel_reduce_map.h"
#include "kernels/cuda/vector_load.h"
#include "tensor/cuda_check.h"

#include <cstdint>

namespace effnet::cuda::reduce {

enum class Kind { SUM, PRODUCT, MOMENTS, BACKWARD, BACKWARD_SWISH };

template <Kind K>
constexpr int kQuantities = K == Kind::SUM || K == Kind::PRODUCT ? 1 : 2;

// Operands of the partial pass; only those the kind reads need to be set.
// mean, invstd and affine ([scale (C), shift (C)]) are per channel.
struct Operands {
    const float* a = nullptr;
    const float* b = nullptr;
    const float* mean = nullptr;
    const float* invstd = nullptr;
    const float* affine = nullptr;
};

// Thread mapping: kernels/cuda/channel_reduce_map.h (block kThreads, grid
// (tiles, slices, groups)). `partial` holds kQuantities<KIND> arrays of
// partial_count(m) doubles.
template <Kind KIND, int V>
__global__ void __launch_bounds__(crmap::kThreads, crmap::kBlocksPerSm)
    channel_partial_kernel(Operands op, crmap::Map m, double* __restrict__ partial) {
    constexpr int Q = kQuantities<KIND>;
    __shared__ double red[Q][crmap::kThreads * V];
    const crmap::Lane l = crmap::lane(m, blockIdx.x, threadIdx.x);
    double acc[Q][V];
#pragma unroll
    for (int q = 0; q < Q; ++q)
#pragma unroll
        for (int v = 0; v < V; ++v) acc[q][v] = 0.0;
    if (l.loads) {
        const int64_t c0 = l.cv * V;  // first channel of this thread's vector
        float k[V], m1[V], is[V], sc[V], sh[V];
#pragma unroll
        for (int v = 0; v < V; ++v) {
            k[v] = KIND == Kind::MOMENTS ? op.a[c0 + v] : 0.0f;
            m1[v] = KIND == Kind::BACKWARD || KIND == Kind::BACKWARD_SWISH ? op.mean[c0 + v] : 0.0f;
            is[v] =
                KIND == Kind::BACKWARD || KIND == Kind::BACKWARD_SWISH ? op.invstd[c0 + v] : 0.0f;
            sc[v] = KIND == Kind::BACKWARD_SWISH ? op.affine[c0 + v] : 0.0f;
            sh[v] = KIND == Kind::BACKWARD_SWISH ? op.affine[m.channels + c0 + v] : 0.0f;
        }
        for (int64_t r = crmap::first_row(m, blockIdx.y, l.row_lane); r < m.rows;
             r += crmap::row_step(m)) {
            const int64_t i = crmap::element(m, blockIdx.z, r, l.cv);
            float a[V], b[V];
            load_vec<V>(op.a + i, a);
            if constexpr (KIND != Kind::SUM && KIND != Kind::MOMENTS) load_vec<V>(op.b + i, b);
#pragma unroll
            for (int v = 0; v < V; ++v) {
                if constexpr (KIND == Kind::SUM) {
                    acc[0][v] += double(a[v]);
                } else if constexpr (KIND == Kind::PRODUCT) {
                    acc[0][v] += double(a[v]) * double(b[v]);
                } else if constexpr (KIND == Kind::MOMENTS) {
                    const double d = double(a[v]) - double(k[v]);
                    acc[0][v] += d;
                    acc[1][v] += d * d;
                } else {
                    const float g = KIND == Kind::BACKWARD_SWISH
                                        ? bn_swish_grad(b[v], a[v], sc[v], sh[v])
                                        : b[v];
                    acc[0][v] += double(g);
                    acc[1][v] += double(g) * (double(a[v]) - double(m1[v])) * double(is[v]);
                }
            }
        }
    }
    // Every thread of the layout writes its slots (zeros past the last channel vector).
    if (l.row_lane < m.row_lanes)
#pragma unroll
        for (int q = 0; q < Q; ++q)
#pragma unroll
            for (int v = 0; v < V; ++v)
                red[q][crmap::shared_slot(m, l.row_lane, l.local * V + v)] = acc[q][v];
    __syncthreads();
    const int j = threadIdx.x;
    const int64_t c = crmap::block_channel(m, blockIdx.x, j);
    if (j < m.tile * V && c < m.channels) {
        const size_t count = crmap::partial_count(m);
#pragma unroll
        for (int q = 0; q < Q; ++q) {
            double s = 0.0;
            for (int rl = 0; rl < m.row_lanes; ++rl) s += red[q][crmap::shared_slot(m, rl, j)];
            partial[q * count + crmap::partial_index(m, blockIdx.z, blockIdx.y, c)] = s;
        }
    }
}

// Final pass, block (kFinalChannels, kFinalLanes), grid (final_blocks_x, groups):
// total[q] of channel final_channel(blockIdx.x, threadIdx.x), group blockIdx.y,
// summed over the slices in a fixed order. Valid in threads with
// threadIdx.y == 0 (0 elsewhere). Every thread of the block must call it.
template <int Q>
__device__ void sum_slices(const crmap::Map& m, const double* __restrict__ partial,
                           double (&total)[Q]) {
    __shared__ double red[Q][crmap::kFinalLanes][crmap::kFinalChannels];
    const int64_t c = crmap::final_channel(blockIdx.x, threadIdx.x);
    const size_t count = crmap::partial_count(m);
    double s[Q];
#pragma unroll
    for (int q = 0; q < Q; ++q) s[q] = 0.0;
    if (c < m.channels)
        for (unsigned slice = threadIdx.y; slice < m.slices; slice += crmap::kFinalLanes)
#pragma unroll
            for (int q = 0; q < Q; ++q)
                s[q] += partial[q * count + crmap::partial_index(m, blockIdx.y, slice, c)];
#pragma unroll
    for (int q = 0; q < Q; ++q) red[q][threadIdx.y][threadIdx.x] = s[q];
    __syncthreads();
#pragma unroll
    for (int q = 0; q < Q; ++q) {
        total[q] = 0.0;
        if (threadIdx.y == 0)
            for (int k = 0; k < crmap::kFinalLanes; ++k) total[q] += red[q][k][threadIdx.x];
    }
}

inline bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }
inline dim3 final_block() { return dim3(crmap::kFinalChannels, crmap::kFinalLanes); }

// Launches the partial pass with the map's vector width.
template <Kind KIND>
void launch_partial(const Operands& op, const crmap::Map& m, double* partial, CudaStream stream,
                    const char* what) {
    const dim3 grid(m.tiles, m.slices, unsigned(m.groups));
    if (m.vec == 4)
        channel_partial_kernel<KIND, 4><<<grid, crmap::kThreads, 0, stream>>>(op, m, partial);
    else
        channel_partial_kernel<KIND, 1><<<grid, crmap::kThreads, 0, stream>>>(op, m, partial);
    EFFNET_CHECK_LAUNCH(what, "groups=" << m.groups << " rows=" << m.rows << " C=" << m.channels
                                        << " vec=" << m.vec << " grid=" << m.tiles << "x"
                                        << m.slices << "x" << m.groups);
}

}  // namespace effnet::cuda::reduce
