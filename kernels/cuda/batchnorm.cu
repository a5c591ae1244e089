// CUDA batch normalisation (kernels/batchnorm.h).
//
// Training forward: one pass over x for the statistics, one to normalise.
// The statistics pass sums, per channel and in double, d = x - k and d^2
// with the shift k_c = x[row 0, c] (kernels/cuda/channel_reduce.cuh, kind
// MOMENTS; thread mapping and fixed summation order in
// kernels/cuda/channel_reduce_map.h: deterministic). Its final pass forms
//   mean = k + S1/M (double),  sum (x - mean)^2 = S2 - S1^2/M,  var = that / M,
// then invstd, the running statistics and the affine map z = x*scale + shift
// with scale = gamma*invstd and shift = beta - mean*gamma*invstd formed in
// double from the double mean, as the CPU reference does; the fused BN+swish
// forward saves [scale, shift] so that its backward recomputes z bit for bit.
// Backward: the sums of g and g*xhat (same mapping, kind BACKWARD), their
// final pass (dgamma, dbeta accumulate), then one pass for dx.
#include "kernels/batchnorm.h"
#include "kernels/cuda/batchnorm_passes.h"
#include "kernels/cuda/channel_reduce.cuh"
#include "kernels/cuda/device_query.h"
#include "tensor/cuda_check.h"

#include <algorithm>
#include <cstdint>

namespace effnet::cuda {

namespace {

using reduce::Kind;

// Final pass of the statistics; thread (tx, 0) of block bx finishes channel
// final_channel(bx, tx). partial = [S1 | S2].
__global__ void __launch_bounds__(crmap::kFinalChannels* crmap::kFinalLanes)
    statistics_kernel(crmap::Map m, const double* __restrict__ partial, const float* __restrict__ x,
                      double eps, double momentum, const float* __restrict__ gamma,
                      const float* __restrict__ beta, float* __restrict__ mean,
                      float* __restrict__ invstd, float* __restrict__ affine,
                      float* __restrict__ running_mean, float* __restrict__ running_var) {
    double s[2];
    reduce::sum_slices<2>(m, partial, s);
    const int64_t c = crmap::final_channel(blockIdx.x, threadIdx.x), C = m.channels;
    if (threadIdx.y != 0 || c >= C) return;
    const double rows = double(m.rows), shifted_mean = s[0] / rows;
    const double mean_d = double(x[c]) + shifted_mean;        // x[c]: the shift of the partial pass
    const double sq = fmax(s[1] - s[0] * shifted_mean, 0.0);  // sum (x - mean)^2
    const double is = 1.0 / sqrt(sq / rows + eps);
    mean[c] = float(mean_d);
    invstd[c] = float(is);
    affine[c] = float(double(gamma[c]) * is);
    affine[C + c] = float(double(beta[c]) - mean_d * double(gamma[c]) * is);
    if (running_mean) {
        const double unbiased = m.rows > 1 ? sq / (rows - 1.0) : sq;
        running_mean[c] = float((1.0 - momentum) * running_mean[c] + momentum * mean_d);
        running_var[c] = float((1.0 - momentum) * running_var[c] + momentum * unbiased);
    }
}

// One thread per element: z = x * scale + shift; y = z, or swish(z) when fused.
template <bool SWISH>
__global__ void normalize_kernel(const float* __restrict__ x, const float* __restrict__ affine,
                                 float* __restrict__ y, int64_t n, int64_t C) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
         i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t c = i % C;
        const float z = x[i] * affine[c] + affine[C + c];
        y[i] = SWISH ? z * (1.0f / (1.0f + expf(-z))) : z;  // as swish_forward_kernel rounds
    }
}

// One thread per element, running statistics: the eval-mode affine map, then swish when fused.
template <bool SWISH>
__global__ void eval_kernel(const float* __restrict__ x, const float* __restrict__ gamma,
                            const float* __restrict__ beta, const float* __restrict__ rm,
                            const float* __restrict__ rv, float* __restrict__ y, int64_t n,
                            int64_t C, float eps) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
         i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t c = i % C;
        const float scale = gamma[c] * rsqrtf(rv[c] + eps);
        const float z = x[i] * scale + (beta[c] - rm[c] * scale);
        y[i] = SWISH ? z * (1.0f / (1.0f + expf(-z))) : z;  // as swish_forward_kernel rounds
    }
}

// Final pass of the backward sums (partial = [sum g | sum g*xhat]);
// dgamma and dbeta accumulate.
__global__ void __launch_bounds__(crmap::kFinalChannels* crmap::kFinalLanes)
    backward_sums_kernel(crmap::Map m, const double* __restrict__ partial,
                         float* __restrict__ sum_g, float* __restrict__ sum_g_xhat,
                         float* __restrict__ dgamma, float* __restrict__ dbeta) {
    double s[2];
    reduce::sum_slices<2>(m, partial, s);
    const int64_t c = crmap::final_channel(blockIdx.x, threadIdx.x);
    if (threadIdx.y != 0 || c >= m.channels) return;
    sum_g[c] = float(s[0]);
    sum_g_xhat[c] = float(s[1]);
    dbeta[c] += float(s[0]);
    dgamma[c] += float(s[1]);
}

// One thread per element: dx = gamma*invstd * (g - sum_g/M - xhat * sum_g_xhat/M), g = dy or,
// fused with swish, dz = dy * swish'(z).
template <bool SWISH>
__global__ void backward_dx_kernel(const float* __restrict__ x, const float* __restrict__ dy,
                                   const float* __restrict__ gamma,
                                   const float* __restrict__ affine, const float* __restrict__ mean,
                                   const float* __restrict__ invstd,
                                   const float* __restrict__ sum_dy,
                                   const float* __restrict__ sum_dy_xhat, float* __restrict__ dx,
                                   int64_t n, int64_t C, float inv_rows) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
         i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t c = i % C;
        const float xhat = (x[i] - mean[c]) * invstd[c];
        const float g = SWISH ? bn_swish_grad(dy[i], x[i], affine[c], affine[C + c]) : dy[i];
        dx[i] =
            gamma[c] * invstd[c] * (g - sum_dy[c] * inv_rows - xhat * sum_dy_xhat[c] * inv_rows);
    }
}

constexpr int kThreads = 256;

crmap::Map bn_map(int64_t rows, int64_t C, int vec) {
    EFFNET_CHECK(rows >= 1 && C >= 1,
                 "batch norm over " << rows << " rows of " << C << " channels");
    return crmap::make_map(1, rows, C, vec, multiprocessor_count());
}
// The larger partial array of the two vector widths a call may take.
size_t max_partial_count(int64_t rows, int64_t C) {
    size_t n = crmap::partial_count(bn_map(rows, C, 1));
    if (C % 4 == 0) n = std::max(n, crmap::partial_count(bn_map(rows, C, 4)));
    return n;
}

}  // namespace

// Workspace: the double partials [2][max_partial_count], then sum_g,
// sum_g_xhat [C] float and the affine map [2][C] float of a plain
// (unfused) batch norm.
size_t batchnorm_workspace_bytes(int64_t rows, int64_t C) {
    return 2 * max_partial_count(rows, C) * sizeof(double) + 4 * size_t(C) * sizeof(float);
}

namespace {
struct Workspace {
    double* partial;
    float *sum_g, *sum_g_xhat, *affine;
    Workspace(void* w, int64_t rows, int64_t C) {
        partial = static_cast<double*>(w);
        sum_g = reinterpret_cast<float*>(partial + 2 * max_partial_count(rows, C));
        sum_g_xhat = sum_g + C;
        affine = sum_g_xhat + C;
    }
};

// `affine` null: a plain batch norm (the map stays in the workspace).
template <bool SWISH>
void train_forward(const float* x, const float* gamma, const float* beta, float* y,
                   float* save_mean, float* save_invstd, float* affine, float* running_mean,
                   float* running_var, int64_t m, int64_t c, double eps, double momentum,
                   void* workspace, CudaStream stream) {
    const crmap::Map map = bn_map(m, c, crmap::vector_width(c, reduce::aligned16(x)));
    Workspace ws(workspace, m, c);
    if (!affine) affine = ws.affine;
    reduce::Operands op;
    op.a = x;
    reduce::launch_partial<Kind::MOMENTS>(op, map, ws.partial, stream,
                                          "channel_partial_kernel<MOMENTS>");
    statistics_kernel<<<dim3(crmap::final_blocks_x(map), 1), reduce::final_block(), 0, stream>>>(
        map, ws.partial, x, eps, momentum, gamma, beta, save_mean, save_invstd, affine,
        running_mean, running_var);
    EFFNET_CHECK_LAUNCH("statistics_kernel", "M=" << m << " C=" << c);
    normalize_kernel<SWISH><<<grid_stride_blocks(size_t(m * c), kThreads), kThreads, 0, stream>>>(
        x, affine, y, m * c, c);
    EFFNET_CHECK_LAUNCH("normalize_kernel", "M=" << m << " C=" << c << " swish=" << SWISH);
}

template <bool SWISH>
void backward(const float* x, const float* dy, const float* gamma, const float* affine,
              const float* save_mean, const float* save_invstd, float* dx, float* dgamma,
              float* dbeta, int64_t m, int64_t c, void* workspace, CudaStream stream) {
    const crmap::Map map =
        bn_map(m, c, crmap::vector_width(c, reduce::aligned16(x) && reduce::aligned16(dy)));
    Workspace ws(workspace, m, c);
    reduce::Operands op;
    op.a = x;
    op.b = dy;
    op.mean = save_mean;
    op.invstd = save_invstd;
    op.affine = affine;
    reduce::launch_partial<SWISH ? Kind::BACKWARD_SWISH : Kind::BACKWARD>(
        op, map, ws.partial, stream, "channel_partial_kernel<BACKWARD>");
    backward_sums_kernel<<<dim3(crmap::final_blocks_x(map), 1), reduce::final_block(), 0, stream>>>(
        map, ws.partial, ws.sum_g, ws.sum_g_xhat, dgamma, dbeta);
    EFFNET_CHECK_LAUNCH("backward_sums_kernel", "M=" << m << " C=" << c);
    backward_dx_kernel<SWISH><<<grid_stride_blocks(size_t(m * c), kThreads), kThreads, 0, stream>>>(
        x, dy, gamma, affine, save_mean, save_invstd, ws.sum_g, ws.sum_g_xhat, dx, m * c, c,
        1.0f / float(m));
    EFFNET_CHECK_LAUNCH("backward_dx_kernel", "M=" << m << " C=" << c << " swish=" << SWISH);
}

template <bool SWISH>
void eval_forward(const float* x, const float* gamma, const float* beta, const float* running_mean,
                  const float* running_var, float* y, int64_t m, int64_t c, double eps,
                  CudaStream stream) {
    eval_kernel<SWISH><<<grid_stride_blocks(size_t(m * c), kThreads), kThreads, 0, stream>>>(
        x, gamma, beta, running_mean, running_var, y, m * c, c, float(eps));
    EFFNET_CHECK_LAUNCH("eval_kernel", "M=" << m << " C=" << c << " swish=" << SWISH);
}

}  // namespace

void batchnorm_pass_train_forward(bool swish, const float* x, const float* gamma, const float* beta,
                                  float* y, float* save_mean, float* save_invstd, float* affine,
                                  float* running_mean, float* running_var, int64_t m, int64_t c,
                                  double eps, double momentum, void* workspace, CudaStream stream) {
    (swish ? train_forward<true> : train_forward<false>)(x, gamma, beta, y, save_mean, save_invstd,
                                                         affine, running_mean, running_var, m, c,
                                                         eps, momentum, workspace, stream);
}
void batchnorm_pass_eval_forward(bool swish, const float* x, const float* gamma, const float* beta,
                                 const float* running_mean, const float* running_var, float* y,
                                 int64_t m, int64_t c, double eps, CudaStream stream) {
    (swish ? eval_forward<true> : eval_forward<false>)(x, gamma, beta, running_mean, running_var, y,
                                                       m, c, eps, stream);
}
void batchnorm_pass_backward(bool swish, const float* x, const float* dy, const float* gamma,
                             const float* affine, const float* save_mean, const float* save_invstd,
                             float* dx, float* dgamma, float* dbeta, int64_t m, int64_t c,
                             void* workspace, CudaStream stream) {
    (swish ? backward<true> : backward<false>)(x, dy, gamma, affine, save_mean, save_invstd, dx,
                                               dgamma, dbeta, m, c, workspace, stream);
}

void batchnorm_train_forward(const float* x, const float* gamma, const float* beta, float* y,
                             float* save_mean, float* save_invstd, float* running_mean,
                             float* running_var, int64_t m, int64_t c, double eps, double momentum,
                             void* workspace, CudaStream stream) {
    train_forward<false>(x, gamma, beta, y, save_mean, save_invstd, nullptr, running_mean,
                         running_var, m, c, eps, momentum, workspace, stream);
}

void batchnorm_eval_forward(const float* x, const float* gamma, const float* beta,
                            const float* running_mean, const float* running_var, float* y,
                            int64_t m, int64_t c, double eps, CudaStream stream) {
    eval_forward<false>(x, gamma, beta, running_mean, running_var, y, m, c, eps, stream);
}

void batchnorm_backward(const float* x, const float* dy, const float* gamma, const float* save_mean,
                        const float* save_invstd, float* dx, float* dgamma, float* dbeta, int64_t m,
                        int64_t c, void* workspace, CudaStream stream) {
    backward<false>(x, dy, gamma, nullptr, save_mean, save_invstd, dx, dgamma, dbeta, m, c,
                    workspace, stream);
}

}  // namespace effnet::cuda
