#include "infer/cpu/depthwise.h"

#include <algorithm>
#include <tuple>

#include "infer/cpu/vector_math.h"
#include "kernels/cpu/swish_math.h"

namespace effnet::infer::cpu {

namespace {

// Channels per inner block of the portable row kernel.
constexpr int64_t kChannelBlock = 64;
// Below this many output rows per thread, threads split channels instead.
constexpr int64_t kMinRowsPerThread = 4;

// The rows of one output row's receptive field: in[ky] for ky in [ky0, ky1)
// (the rows inside the image), each pointing at column 0, channel 0.
struct RowWindow {
    const float* const* in;
    int64_t ky0, ky1;
};

// Portable: channels [c0, c1) of one output row.
void row_portable(const DepthwiseOp& op, const RowWindow& rw, int64_t c0, int64_t c1,
                  float* out_row, double* pool) {
    const int64_t C = op.c, k = op.kernel, pad = k / 2, wo = op.wo();
    for (int64_t cb = c0; cb < c1; cb += kChannelBlock) {
        const int64_t cn = std::min(kChannelBlock, c1 - cb);
        float rowsum[kChannelBlock] = {};
        for (int64_t ox = 0; ox < wo; ++ox) {
            const int64_t kx0 = std::max<int64_t>(0, pad - ox * op.stride);
            const int64_t kx1 = std::min<int64_t>(k, op.w + pad - ox * op.stride);
            float acc[kChannelBlock];
#pragma omp simd
            for (int64_t j = 0; j < cn; ++j) acc[j] = 0.0f;
            for (int64_t ky = rw.ky0; ky < rw.ky1; ++ky)
                for (int64_t kx = kx0; kx < kx1; ++kx) {
                    const float* in = rw.in[ky] + (ox * op.stride - pad + kx) * C + cb;
                    const float* wk = op.taps + (ky * k + kx) * C + cb;
#pragma omp simd
                    for (int64_t j = 0; j < cn; ++j) acc[j] += in[j] * wk[j];
                }
            float* out = out_row + ox * C + cb;
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

#if EFFNET_INFER_AVX2
// T output pixels x CV channel vectors, accumulators in registers. Reads
// columns [col, col + cols) (in pixels, from `in[ky] + offset`) of the
// window's rows against taps (ky, kx0 + kx): the caller clips the columns to
// the image for border pixels (T = 1 there).
template <int T, int CV>
inline void tile(const DepthwiseOp& op, const RowWindow& rw, int64_t offset, int64_t kx0,
                 int64_t cols, int64_t c, float* out, __m256* rowsum) {
    const int64_t C = op.c, step = op.stride * C, k = op.kernel;
    __m256 acc[T][CV];
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t)
#pragma GCC unroll 2
        for (int v = 0; v < CV; ++v) acc[t][v] = _mm256_setzero_ps();
    for (int64_t ky = rw.ky0; ky < rw.ky1; ++ky) {
        const float* ip = rw.in[ky] + offset;
        const float* wp = op.taps + (ky * k + kx0) * C + c;
        for (int64_t kx = 0; kx < cols; ++kx) {
            __m256 wv[CV];
#pragma GCC unroll 2
            for (int v = 0; v < CV; ++v) {
                wv[v] = _mm256_loadu_ps(wp + kx * C + v * 8);
                keep_in_register(wv[v]);
            }
#pragma GCC unroll 8
            for (int t = 0; t < T; ++t)
#pragma GCC unroll 2
                for (int v = 0; v < CV; ++v)
                    acc[t][v] = _mm256_fmadd_ps(_mm256_loadu_ps(ip + t * step + kx * C + v * 8),
                                                wv[v], acc[t][v]);
        }
    }
#pragma GCC unroll 2
    for (int v = 0; v < CV; ++v) {
        const __m256 b = _mm256_loadu_ps(op.bias + c + v * 8);
#pragma GCC unroll 8
        for (int t = 0; t < T; ++t) {
            const __m256 y = swish8(_mm256_add_ps(acc[t][v], b));
            _mm256_storeu_ps(out + t * C + v * 8, y);
            rowsum[v] = _mm256_add_ps(rowsum[v], y);
        }
    }
}

// Channels [c, c + 8*CV) of one output row: interior pixels in tiles of T,
// border pixels one by one with their taps clipped to the image.
template <int T, int CV>
void row_avx2(const DepthwiseOp& op, const RowWindow& rw, int64_t c, float* out_row, double* pool) {
    const int64_t C = op.c, k = op.kernel, pad = k / 2, s = op.stride, wo = op.wo();
    // Interior: every tap column inside the image.
    const int64_t lo = std::min<int64_t>(wo, (pad + s - 1) / s);
    const int64_t hi = std::max<int64_t>(
        lo, std::min<int64_t>(wo, op.w - k + pad >= 0 ? (op.w - k + pad) / s + 1 : 0));
    __m256 rowsum[CV];
    for (int v = 0; v < CV; ++v) rowsum[v] = _mm256_setzero_ps();
    auto border = [&](int64_t ox) {
        const int64_t kx0 = std::max<int64_t>(0, pad - ox * s),
                      kx1 = std::min<int64_t>(k, op.w + pad - ox * s);
        tile<1, CV>(op, rw, (ox * s - pad + kx0) * C + c, kx0, kx1 - kx0, c, out_row + ox * C + c,
                    rowsum);
    };
    for (int64_t ox = 0; ox < lo; ++ox) border(ox);
    int64_t ox = lo;
    for (; ox + T <= hi; ox += T)
        tile<T, CV>(op, rw, (ox * s - pad) * C + c, 0, k, c, out_row + ox * C + c, rowsum);
    for (; ox < hi; ++ox)
        tile<1, CV>(op, rw, (ox * s - pad) * C + c, 0, k, c, out_row + ox * C + c, rowsum);
    for (ox = hi; ox < wo; ++ox) border(ox);
    if (pool) {
        alignas(32) float sums[8 * CV];
        for (int v = 0; v < CV; ++v) _mm256_store_ps(sums + 8 * v, rowsum[v]);
        for (int j = 0; j < 8 * CV; ++j) pool[c + j] += double(sums[j]);
    }
}
#endif

}  // namespace

std::vector<float> depthwise_taps(const float* weight, int64_t c, int64_t k) {
    std::vector<float> taps(size_t(k * k * c));
    for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t t = 0; t < k * k; ++t) taps[size_t(t * c + ch)] = weight[ch * k * k + t];
    return taps;
}

void depthwise_output_row(const DepthwiseOp& op, const float* const* in_rows, int64_t oy,
                          int64_t c0, int64_t c1, float* out_row, double* pool) {
    const int64_t pad = op.kernel / 2, s = op.stride;
    const RowWindow rw{in_rows, std::max<int64_t>(0, pad - oy * s),
                       std::min<int64_t>(op.kernel, op.h + pad - oy * s)};
    int64_t c = c0;
#if EFFNET_INFER_AVX2
    for (; c + 16 <= c1; c += 16) row_avx2<4, 2>(op, rw, c, out_row, pool);
    for (; c + 8 <= c1; c += 8) row_avx2<8, 1>(op, rw, c, out_row, pool);
#endif
    if (c < c1) row_portable(op, rw, c, c1, out_row, pool);
}

std::pair<int64_t, int64_t> depthwise_channel_share(int64_t channels, const Worker& w) {
    // Whole vector pairs (16 channels) where there are enough of them.
    const int64_t unit = channels >= 16 * w.count ? 16 : 8, blocks = (channels + unit - 1) / unit;
    auto [b0, b1] = share(blocks, w);
    return {std::min(channels, b0 * unit), std::min(channels, b1 * unit)};
}

bool depthwise_splits_channels(int64_t output_rows, int64_t channels, const Worker& w) {
    return output_rows < kMinRowsPerThread * w.count && channels >= 8 * w.count;
}

void depthwise_forward(const DepthwiseOp& op, const Worker& w) {
    const int64_t rows = op.batch * op.ho(), k = op.kernel, pad = k / 2;
    if (op.pool) std::fill(op.pool, op.pool + op.batch * op.c, 0.0);
    int64_t r0 = 0, r1 = rows, c0 = 0, c1 = op.c;
    if (depthwise_splits_channels(rows, op.c, w))
        std::tie(c0, c1) = depthwise_channel_share(op.c, w);
    else
        std::tie(r0, r1) = share(rows, w);
    const float* in_rows[kMaxDepthwiseKernel];
    for (int64_t r = r0; r < r1; ++r) {
        const int64_t n = r / op.ho(), oy = r % op.ho();
        for (int64_t ky = 0; ky < k; ++ky) {
            const int64_t iy = oy * op.stride - pad + ky;
            in_rows[ky] = iy >= 0 && iy < op.h ? op.x + (n * op.h + iy) * op.w * op.c : nullptr;
        }
        depthwise_output_row(op, in_rows, oy, c0, c1, op.out + r * op.wo() * op.c,
                             op.pool ? op.pool + n * op.c : nullptr);
    }
}

}  // namespace effnet::infer::cpu
