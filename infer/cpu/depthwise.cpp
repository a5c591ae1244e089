#include "infer/cpu/depthwise.h"

#include <algorithm>
#include <tuple>

#include "kernels/cpu/swish_math.h"

namespace effnet::infer::cpu {

namespace {

// Channels per inner block: accumulators for one output pixel stay in registers.
constexpr int64_t kChannelBlock = 64;
// Below this many output rows per thread, threads split channels instead.
constexpr int64_t kMinRowsPerThread = 4;

// One output row (n, oy), channels [c0, c1): y and the row's column sums.
void depthwise_row(const DepthwiseOp& op, int64_t n, int64_t oy, int64_t c0, int64_t c1, double* pool) {
    const int64_t C = op.c, k = op.kernel, pad = k / 2, wo = op.wo();
    const int64_t ky0 = std::max<int64_t>(0, pad - oy * op.stride);
    const int64_t ky1 = std::min<int64_t>(k, op.h + pad - oy * op.stride);
    for (int64_t cb = c0; cb < c1; cb += kChannelBlock) {
        const int64_t cn = std::min(kChannelBlock, c1 - cb);
        float rowsum[kChannelBlock] = {};
        for (int64_t ox = 0; ox < wo; ++ox) {
            const int64_t kx0 = std::max<int64_t>(0, pad - ox * op.stride);
            const int64_t kx1 = std::min<int64_t>(k, op.w + pad - ox * op.stride);
            float acc[kChannelBlock];
#pragma omp simd
            for (int64_t j = 0; j < cn; ++j) acc[j] = 0.0f;
            for (int64_t ky = ky0; ky < ky1; ++ky) {
                const int64_t iy = oy * op.stride - pad + ky;
                const float* row = op.x + ((n * op.h + iy) * op.w) * C + cb;
                for (int64_t kx = kx0; kx < kx1; ++kx) {
                    const float* in = row + (ox * op.stride - pad + kx) * C;
                    const float* wk = op.taps + (ky * k + kx) * C + cb;
#pragma omp simd
                    for (int64_t j = 0; j < cn; ++j) acc[j] += in[j] * wk[j];
                }
            }
            float* out = op.out + ((n * op.ho() + oy) * wo + ox) * C + cb;
#pragma omp simd
            for (int64_t j = 0; j < cn; ++j) {
                const float y = effnet::cpu::swish(acc[j] + op.bias[cb + j]);
                out[j] = y;
                rowsum[j] += y;
            }
        }
        if (pool)
            for (int64_t j = 0; j < cn; ++j) pool[cb + j] += double(rowsum[j]);
    }
}

}  // namespace

std::vector<float> depthwise_taps(const float* weight, int64_t c, int64_t k) {
    std::vector<float> taps(size_t(k * k * c));
    for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t t = 0; t < k * k; ++t) taps[size_t(t * c + ch)] = weight[ch * k * k + t];
    return taps;
}

void depthwise_forward(const DepthwiseOp& op, const Worker& w) {
    const int64_t rows = op.batch * op.ho();
    if (op.pool) std::fill(op.pool, op.pool + op.batch * op.c, 0.0);
    int64_t r0 = 0, r1 = rows, c0 = 0, c1 = op.c;
    const int64_t blocks = (op.c + 7) / 8;
    if (rows < kMinRowsPerThread * w.count && blocks >= w.count) {
        std::tie(c0, c1) = share(blocks, w);
        c0 *= 8;
        c1 = std::min(op.c, c1 * 8);
    } else {
        std::tie(r0, r1) = share(rows, w);
    }
    for (int64_t r = r0; r < r1; ++r) {
        const int64_t n = r / op.ho(), oy = r % op.ho();
        depthwise_row(op, n, oy, c0, c1, op.pool ? op.pool + n * op.c : nullptr);
    }
}

}  // namespace effnet::infer::cpu
