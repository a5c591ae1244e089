#include "infer/cpu/pointwise.h"

#include <algorithm>

#include "infer/cpu/gemm_microkernel.h"
#include "kernels/cpu/swish_math.h"

namespace effnet::infer::cpu {

namespace {

// The register block of the GEMM: kPanelRows rows of A x kPanelGroups
// column groups of W per micro-kernel call (4 x 24 columns: 12 accumulators).
constexpr int kPanelRows = 4;
constexpr int kPanelGroups = 3;
// Below this many rows per thread, threads split the output columns instead.
constexpr int64_t kMinRowsPerThread = 96;

template <int MR, int... NV>
constexpr std::array<MicroKernel, sizeof...(NV)> kernel_row() {
    return {&gemm_microkernel<MR, NV>...};
}

template <int... MR>
constexpr std::array<std::array<MicroKernel, kMaxGroups>, sizeof...(MR)> kernel_table() {
    return {kernel_row<MR, 1, 2, 3>()...};
}

// bias, activation, residual, store and pool for an mr x cw tile at column c0.
void apply_epilogue(const float* tile, int mr, int64_t c0, int cw, const Epilogue& ep) {
    float colsum[kTileStride] = {};
    for (int r = 0; r < mr; ++r) {
        const float* t = tile + r * kTileStride;
        float z[kTileStride];
#pragma omp simd
        for (int j = 0; j < cw; ++j) z[j] = t[j] + ep.bias[c0 + j];
        if (ep.act == Activation::SWISH) {
#pragma omp simd
            for (int j = 0; j < cw; ++j) z[j] = effnet::cpu::swish(z[j]);
        }
        if (ep.residual) {
            const float* res = ep.residual + r * ep.ld + c0;
#pragma omp simd
            for (int j = 0; j < cw; ++j) z[j] += res[j];
        }
        if (ep.out) {
            float* o = ep.out + r * ep.ld + c0;
#pragma omp simd
            for (int j = 0; j < cw; ++j) o[j] = z[j];
        }
        if (ep.pool) {
#pragma omp simd
            for (int j = 0; j < cw; ++j) colsum[j] += z[j];
        }
    }
    if (ep.pool)
        for (int j = 0; j < cw; ++j) ep.pool[c0 + j] += double(colsum[j]);
}

// Scratch offsets (floats), kept 16-float (64-byte) aligned for the packed loads.
constexpr int64_t kTileFloats = kMaxRows * kTileStride;
int64_t align16(int64_t n) { return (n + 15) / 16 * 16; }

}  // namespace

MicroKernel gemm_microkernel_for(int rows, int groups) {
    static constexpr auto table = kernel_table<1, 2, 3, 4, 5, 6>();
    return table[size_t(rows - 1)][size_t(groups - 1)];
}

PackedMatrix::PackedMatrix(const float* w, int64_t n, int64_t k) : n_(n), k_(k) {
    data_ = Tensor::zeros(Shape{std::max<int64_t>(1, groups() * k * kGroup)});
    float* d = data_.f32();
    for (int64_t c = 0; c < n; ++c)
        for (int64_t p = 0; p < k; ++p) d[((c / kGroup) * k + p) * kGroup + c % kGroup] = w[c * k + p];
}

void gemm_rows(const float* a, int64_t lda, int64_t rows, int64_t k, const float* b, int64_t g0, int64_t g1,
               int64_t n, const Epilogue& ep, float* tile) {
    const int64_t bstride = k * kGroup;
    for (int64_t g = g0; g < g1; g += kPanelGroups) {
        const int nv = int(std::min<int64_t>(kPanelGroups, g1 - g));
        const float* bp = b + (g - g0) * bstride;
        const int64_t c0 = g * kGroup;
        const int cw = int(std::min<int64_t>(nv * kGroup, n - c0));
        for (int64_t m = 0; m < rows; m += kPanelRows) {
            const int mr = int(std::min<int64_t>(kPanelRows, rows - m));
            gemm_microkernel_for(mr, nv)(k, a + m * lda, lda, bp, bstride, tile);
            Epilogue e = ep;
            if (e.out) e.out += m * ep.ld;
            if (e.residual) e.residual += m * ep.ld;
            apply_epilogue(tile, mr, c0, cw, e);
        }
    }
}

int64_t pointwise_scratch_floats(const PointwiseOp& op, int /*threads*/) {
    const int64_t scaled = op.column_scale ? op.w->groups() * kGroup * op.w->k() : 0;
    return kTileFloats + align16(scaled);
}

void pointwise_forward(const PointwiseOp& op, const Worker& w) {
    const PackedMatrix& W = *op.w;
    const int64_t k = W.k(), n = W.n(), groups = W.groups();
    const int64_t hw = op.rows_per_sample, rows = op.batch * hw;
    if (op.pool) std::fill(op.pool, op.pool + op.batch * n, 0.0);
    float* tile = w.scratch->floats;
    float* scaled = tile + kTileFloats;

    int64_t r0 = 0, r1 = rows, g0 = 0, g1 = groups;
    if (rows < kMinRowsPerThread * w.count && groups >= w.count)
        std::tie(g0, g1) = share(groups, w);
    else
        std::tie(r0, r1) = share(rows, w);
    if (g0 == g1) return;

    // Row ranges never cross a sample: a sample has one gate and one pool row.
    for (int64_t m = r0; m < r1;) {
        const int64_t s = m / hw, end = std::min(r1, (s + 1) * hw), count = end - m;
        const float* a = op.a + m * k;
        const float* b = W.group(g0);
        if (op.column_scale) {
            const float* scale = op.column_scale(s, w);
            if (count <= (g1 - g0) * kGroup) {
                for (int64_t r = 0; r < count; ++r)
#pragma omp simd
                    for (int64_t p = 0; p < k; ++p) scaled[r * k + p] = a[r * k + p] * scale[p];
                a = scaled;
            } else {
                for (int64_t g = g0; g < g1; ++g) {
                    const float* src = W.group(g);
                    float* dst = scaled + (g - g0) * k * kGroup;
                    for (int64_t p = 0; p < k; ++p)
#pragma omp simd
                        for (int j = 0; j < kGroup; ++j) dst[p * kGroup + j] = src[p * kGroup + j] * scale[p];
                }
                b = scaled;
            }
        }
        Epilogue ep;
        ep.bias = op.bias;
        ep.act = op.act;
        ep.residual = op.residual ? op.residual + m * n : nullptr;
        ep.out = op.out ? op.out + m * n : nullptr;
        ep.ld = n;
        ep.pool = op.pool ? op.pool + s * n : nullptr;
        gemm_rows(a, k, count, k, b, g0, g1, n, ep, tile);
        m = end;
    }
}

}  // namespace effnet::infer::cpu
