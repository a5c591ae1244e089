// CUDA batch normalisation (kernels/batchnorm.h). Statistics and backward
// sums are per-channel reductions mapped as kernels/cuda/channel_reduce_map.h
// describes (double partials, fixed summation order: deterministic). The
// variance is computed in a second pass over centred values, as the CPU
// reference does, for stability. The mean is kept in double and the
// normalisation is z = x * scale + shift with scale and shift formed in
// double (as on the CPU); the fused BN+swish forward saves them so that its
// backward recomputes z bit for bit.
#include "kernels/batchnorm.h"
#include "kernels/cuda/batchnorm_passes.h"
#include "kernels/cuda/channel_reduce_map.h"
#include "tensor/cuda_check.h"

namespace effnet::cuda {

namespace {

using namespace crmap;

enum class Sum { X, CENTRED_SQUARE, BACKWARD, BACKWARD_SWISH };

// partial_a/b[by][c]: sums over this block's rows of
//   X: x;  CENTRED_SQUARE: (x - mean)^2;  BACKWARD: a = dy, b = dy * (x - mean) * invstd;
//   BACKWARD_SWISH: the same with dy replaced by dz = dy * swish'(z) (affine = [scale, shift] needed).
template <Sum S>
__global__ void channel_partial_kernel(const float* __restrict__ x, const float* __restrict__ dy,
                                       const float* __restrict__ mean, const float* __restrict__ invstd,
                                       const float* __restrict__ affine, int64_t rows, int64_t C,
                                       double* __restrict__ partial_a, double* __restrict__ partial_b) {
    __shared__ double red_a[kRows][kChannels], red_b[kRows][kChannels];
    const int64_t c = channel(blockIdx.x, threadIdx.x);
    double a = 0, b = 0;
    if (c < C) {
        const bool backward = S == Sum::BACKWARD || S == Sum::BACKWARD_SWISH;
        const float m = S == Sum::X ? 0.0f : mean[c];
        const float is = backward ? invstd[c] : 1.0f;
        const float sc = S == Sum::BACKWARD_SWISH ? affine[c] : 0.0f, sh = S == Sum::BACKWARD_SWISH ? affine[C + c] : 0.0f;
        for (int64_t r = first_row(blockIdx.y, threadIdx.y); r < rows; r += row_step(gridDim.y)) {
            const float v = x[r * C + c];
            if (S == Sum::X) {
                a += v;
            } else if (S == Sum::CENTRED_SQUARE) {
                const double d = double(v) - m;
                a += d * d;
            } else {
                const float g = S == Sum::BACKWARD_SWISH ? bn_swish_grad(dy[r * C + c], v, sc, sh) : dy[r * C + c];
                a += g;
                b += double(g) * (double(v) - m) * is;
            }
        }
    }
    red_a[threadIdx.y][threadIdx.x] = a;
    red_b[threadIdx.y][threadIdx.x] = b;
    __syncthreads();
    if (threadIdx.y == 0 && c < C) {
        double sa = 0, sb = 0;
        for (int k = 0; k < kRows; ++k) {
            sa += red_a[k][threadIdx.x];
            sb += red_b[k][threadIdx.x];
        }
        partial_a[int64_t(blockIdx.y) * C + c] = sa;
        if (S == Sum::BACKWARD || S == Sum::BACKWARD_SWISH) partial_b[int64_t(blockIdx.y) * C + c] = sb;
    }
}

__device__ double sum_slices(const double* partial, int slices, int64_t C, int64_t c) {
    double s = 0;
    for (int k = 0; k < slices; ++k) s += partial[int64_t(k) * C + c];
    return s;
}

// One thread per channel: the mean, in float (saved) and double (for the affine map).
__global__ void mean_kernel(const double* __restrict__ partial, int slices, int64_t rows, int64_t C, float* __restrict__ mean,
                            double* __restrict__ mean_d) {
    const int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
    if (c >= C) return;
    mean_d[c] = sum_slices(partial, slices, C, c) / double(rows);
    mean[c] = float(mean_d[c]);
}

// One thread per channel: invstd, the affine map [scale, shift] and the
// running statistics (PyTorch's momentum rule).
__global__ void variance_kernel(const double* __restrict__ partial, int slices, int64_t rows, int64_t C, double eps,
                                double momentum, const double* __restrict__ mean_d, const float* __restrict__ gamma,
                                const float* __restrict__ beta, float* __restrict__ invstd, float* __restrict__ affine,
                                float* __restrict__ running_mean, float* __restrict__ running_var) {
    const int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
    if (c >= C) return;
    const double sq = sum_slices(partial, slices, C, c);
    const double is = 1.0 / sqrt(sq / double(rows) + eps);
    invstd[c] = float(is);
    affine[c] = float(double(gamma[c]) * is);
    affine[C + c] = float(double(beta[c]) - mean_d[c] * double(gamma[c]) * is);
    if (running_mean) {
        const double unbiased = rows > 1 ? sq / double(rows - 1) : sq;
        running_mean[c] = float((1.0 - momentum) * running_mean[c] + momentum * mean_d[c]);
        running_var[c] = float((1.0 - momentum) * running_var[c] + momentum * unbiased);
    }
}

// One thread per element: z = x * scale + shift; y = z, or swish(z) when fused.
template <bool SWISH>
__global__ void normalize_kernel(const float* __restrict__ x, const float* __restrict__ affine, float* __restrict__ y,
                                 int64_t n, int64_t C) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t c = i % C;
        const float z = x[i] * affine[c] + affine[C + c];
        y[i] = SWISH ? z * (1.0f / (1.0f + expf(-z))) : z;  // as swish_forward_kernel rounds
    }
}

// One thread per element, running statistics: the eval-mode affine map, then swish when fused.
template <bool SWISH>
__global__ void eval_kernel(const float* __restrict__ x, const float* __restrict__ gamma, const float* __restrict__ beta,
                            const float* __restrict__ rm, const float* __restrict__ rv, float* __restrict__ y, int64_t n,
                            int64_t C, float eps) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t c = i % C;
        const float scale = gamma[c] * rsqrtf(rv[c] + eps);
        const float z = x[i] * scale + (beta[c] - rm[c] * scale);
        y[i] = SWISH ? z * (1.0f / (1.0f + expf(-z))) : z;  // as swish_forward_kernel rounds
    }
}

// One thread per channel: finish the backward sums; dgamma and dbeta accumulate.
__global__ void backward_sums_kernel(const double* __restrict__ pa, const double* __restrict__ pb, int slices, int64_t C,
                                     float* __restrict__ sum_dy, float* __restrict__ sum_dy_xhat, float* __restrict__ dgamma,
                                     float* __restrict__ dbeta) {
    const int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
    if (c >= C) return;
    const double a = sum_slices(pa, slices, C, c), b = sum_slices(pb, slices, C, c);
    sum_dy[c] = float(a);
    sum_dy_xhat[c] = float(b);
    dbeta[c] += float(a);
    dgamma[c] += float(b);
}

// One thread per element: dx = gamma*invstd * (g - sum_g/M - xhat * sum_g_xhat/M), g = dy or,
// fused with swish, dz = dy * swish'(z).
template <bool SWISH>
__global__ void backward_dx_kernel(const float* __restrict__ x, const float* __restrict__ dy, const float* __restrict__ gamma,
                                   const float* __restrict__ affine, const float* __restrict__ mean,
                                   const float* __restrict__ invstd, const float* __restrict__ sum_dy,
                                   const float* __restrict__ sum_dy_xhat, float* __restrict__ dx, int64_t n, int64_t C,
                                   float inv_rows) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t c = i % C;
        const float xhat = (x[i] - mean[c]) * invstd[c];
        const float g = SWISH ? bn_swish_grad(dy[i], x[i], affine[c], affine[C + c]) : dy[i];
        dx[i] = gamma[c] * invstd[c] * (g - sum_dy[c] * inv_rows - xhat * sum_dy_xhat[c] * inv_rows);
    }
}

constexpr int kThreads = 256;
cudaStream_t as_stream(void* s) { return static_cast<cudaStream_t>(s); }
unsigned per_channel_blocks(int64_t C) { return unsigned(ceil_div<int64_t>(C, kThreads)); }

}  // namespace

// Workspace: partial_a, partial_b [slices][C] double, mean_d [C] double,
// then sum_g, sum_g_xhat [C] float and the affine map [2][C] float of a plain
// (unfused) batch norm.
size_t batchnorm_workspace_bytes(int64_t rows, int64_t C) {
    const Grid g = grid_for(rows, C);
    return (2 * size_t(g.y) + 1) * C * sizeof(double) + 4 * C * sizeof(float);
}

namespace {
struct Workspace {
    double *pa, *pb, *mean_d;
    float *sum_g, *sum_g_xhat, *affine;
    Workspace(void* w, int64_t rows, int64_t C) {
        const size_t slices = grid_for(rows, C).y;
        pa = static_cast<double*>(w);
        pb = pa + slices * C;
        mean_d = pb + slices * C;
        sum_g = reinterpret_cast<float*>(mean_d + C);
        sum_g_xhat = sum_g + C;
        affine = sum_g_xhat + C;
    }
};

// `affine` null: a plain batch norm (the map stays in the workspace).
template <bool SWISH>
void train_forward(const float* x, const float* gamma, const float* beta, float* y, float* save_mean, float* save_invstd,
                   float* affine, float* running_mean, float* running_var, int64_t m, int64_t c, double eps, double momentum,
                   void* workspace, void* stream) {
    const Grid g = grid_for(m, c);
    Workspace ws(workspace, m, c);
    if (!affine) affine = ws.affine;
    const dim3 grid(g.x, g.y), block(kChannels, kRows);
    channel_partial_kernel<Sum::X><<<grid, block, 0, as_stream(stream)>>>(x, nullptr, nullptr, nullptr, nullptr, m, c, ws.pa,
                                                                           nullptr);
    EFFNET_CHECK_LAUNCH("channel_partial_kernel<X>", "M=" << m << " C=" << c);
    mean_kernel<<<per_channel_blocks(c), kThreads, 0, as_stream(stream)>>>(ws.pa, int(g.y), m, c, save_mean, ws.mean_d);
    EFFNET_CHECK_LAUNCH("mean_kernel", "C=" << c);
    channel_partial_kernel<Sum::CENTRED_SQUARE><<<grid, block, 0, as_stream(stream)>>>(x, nullptr, save_mean, nullptr, nullptr,
                                                                                       m, c, ws.pa, nullptr);
    EFFNET_CHECK_LAUNCH("channel_partial_kernel<CENTRED_SQUARE>", "M=" << m << " C=" << c);
    variance_kernel<<<per_channel_blocks(c), kThreads, 0, as_stream(stream)>>>(
        ws.pa, int(g.y), m, c, eps, momentum, ws.mean_d, gamma, beta, save_invstd, affine, running_mean, running_var);
    EFFNET_CHECK_LAUNCH("variance_kernel", "C=" << c);
    normalize_kernel<SWISH><<<grid_stride_blocks(size_t(m * c), kThreads), kThreads, 0, as_stream(stream)>>>(x, affine, y,
                                                                                                            m * c, c);
    EFFNET_CHECK_LAUNCH("normalize_kernel", "M=" << m << " C=" << c << " swish=" << SWISH);
}

template <bool SWISH>
void backward(const float* x, const float* dy, const float* gamma, const float* affine, const float* save_mean,
              const float* save_invstd, float* dx, float* dgamma, float* dbeta, int64_t m, int64_t c, void* workspace,
              void* stream) {
    const Grid g = grid_for(m, c);
    Workspace ws(workspace, m, c);
    constexpr Sum kSum = SWISH ? Sum::BACKWARD_SWISH : Sum::BACKWARD;
    channel_partial_kernel<kSum><<<dim3(g.x, g.y), dim3(kChannels, kRows), 0, as_stream(stream)>>>(
        x, dy, save_mean, save_invstd, affine, m, c, ws.pa, ws.pb);
    EFFNET_CHECK_LAUNCH("channel_partial_kernel<BACKWARD>", "M=" << m << " C=" << c << " swish=" << SWISH);
    backward_sums_kernel<<<per_channel_blocks(c), kThreads, 0, as_stream(stream)>>>(ws.pa, ws.pb, int(g.y), c, ws.sum_g,
                                                                                   ws.sum_g_xhat, dgamma, dbeta);
    EFFNET_CHECK_LAUNCH("backward_sums_kernel", "C=" << c);
    backward_dx_kernel<SWISH><<<grid_stride_blocks(size_t(m * c), kThreads), kThreads, 0, as_stream(stream)>>>(
        x, dy, gamma, affine, save_mean, save_invstd, ws.sum_g, ws.sum_g_xhat, dx, m * c, c, 1.0f / float(m));
    EFFNET_CHECK_LAUNCH("backward_dx_kernel", "M=" << m << " C=" << c << " swish=" << SWISH);
}

template <bool SWISH>
void eval_forward(const float* x, const float* gamma, const float* beta, const float* running_mean, const float* running_var,
                  float* y, int64_t m, int64_t c, double eps, void* stream) {
    eval_kernel<SWISH><<<grid_stride_blocks(size_t(m * c), kThreads), kThreads, 0, as_stream(stream)>>>(
        x, gamma, beta, running_mean, running_var, y, m * c, c, float(eps));
    EFFNET_CHECK_LAUNCH("eval_kernel", "M=" << m << " C=" << c << " swish=" << SWISH);
}

}  // namespace

void batchnorm_pass_train_forward(bool swish, const float* x, const float* gamma, const float* beta, float* y, float* save_mean,
                   float* save_invstd, float* affine, float* running_mean, float* running_var, int64_t m, int64_t c,
                   double eps, double momentum, void* workspace, void* stream) {
    (swish ? train_forward<true> : train_forward<false>)(x, gamma, beta, y, save_mean, save_invstd, affine, running_mean,
                                                         running_var, m, c, eps, momentum, workspace, stream);
}
void batchnorm_pass_eval_forward(bool swish, const float* x, const float* gamma, const float* beta, const float* running_mean,
                  const float* running_var, float* y, int64_t m, int64_t c, double eps, void* stream) {
    (swish ? eval_forward<true> : eval_forward<false>)(x, gamma, beta, running_mean, running_var, y, m, c, eps, stream);
}
void batchnorm_pass_backward(bool swish, const float* x, const float* dy, const float* gamma, const float* affine, const float* save_mean,
              const float* save_invstd, float* dx, float* dgamma, float* dbeta, int64_t m, int64_t c, void* workspace,
              void* stream) {
    (swish ? backward<true> : backward<false>)(x, dy, gamma, affine, save_mean, save_invstd, dx, dgamma, dbeta, m, c,
                                               workspace, stream);
}

void batchnorm_train_forward(const float* x, const float* gamma, const float* beta, float* y, float* save_mean,
                             float* save_invstd, float* running_mean, float* running_var, int64_t m, int64_t c, double eps,
                             double momentum, void* workspace, void* stream) {
    train_forward<false>(x, gamma, beta, y, save_mean, save_invstd, nullptr, running_mean, running_var, m, c, eps, momentum,
                         workspace, stream);
}

void batchnorm_eval_forward(const float* x, const float* gamma, const float* beta, const float* running_mean,
                            const float* running_var, float* y, int64_t m, int64_t c, double eps, void* stream) {
    eval_forward<false>(x, gamma, beta, running_mean, running_var, y, m, c, eps, stream);
}

void batchnorm_backward(const float* x, const float* dy, const float* gamma, const float* save_mean, const float* save_invstd,
                        float* dx, float* dgamma, float* dbeta, int64_t m, int64_t c, void* workspace, void* stream) {
    backward<false>(x, dy, gamma, nullptr, save_mean, save_invstd, dx, dgamma, dbeta, m, c, workspace, stream);
}

}  // namespace effnet::cuda
