#include "infer/cpu/pointwise.h"

#include <algorithm>
#include <array>
#include <climits>
#include <tuple>

#include "infer/cpu/gemm_microkernel.h"
#include "kernels/cpu/swish_math.h"

namespace effnet::infer::cpu {

namespace {

// Below this many rows per thread, threads split the output columns instead.
constexpr int64_t kMinRowsPerThread = 96;
// A thread's share of W up to this size stays in L1/L2 while its rows stream
// past it once (row blocks outside, column panels inside); a larger share is
// swept one column panel at a time (panels outside), re-reading A instead.
constexpr int64_t kRowsOuterMaxBytes = 128 << 10;

template <int MR, int... NV>
constexpr std::array<MicroKernel, sizeof...(NV)> kernel_row() {
    return {&gemm_microkernel<MR, NV>...};
}

template <int... MR>
constexpr std::array<std::array<MicroKernel, kMaxGroups>, sizeof...(MR)> kernel_table() {
    return {kernel_row<MR, 1, 2, 3, 4>()...};
}

// The register block for `rows` x `groups`: the candidate with the fewest
// estimated cycles per k step over all its blocks, tails included. A block
// costs its FMAs or its loads, whichever is more (two of each per cycle);
// its loads are one broadcast per row and one load per column group, or one
// per FMA when the block does not fit the 16 ymm registers with its b
// operands (the compiler then reads b from memory in every FMA).
struct BlockShape {
    int rows, groups;
};
int64_t block_cost(int64_t mr, int64_t nv) {
    const int64_t loads = mr * nv + nv + 1 <= 16 ? mr + nv : mr + mr * nv;
    return std::max(mr * nv, loads);
}
BlockShape choose_block(int64_t rows, int64_t groups) {
    static constexpr BlockShape candidates[] = {{4, 3}, {6, 2}, {3, 4}};
    BlockShape best = candidates[0];
    int64_t best_cost = INT64_MAX;
    for (BlockShape c : candidates) {
        const int64_t fr = rows / c.rows, tr = rows % c.rows, fg = groups / c.groups,
                      tg = groups % c.groups;
        int64_t total = fr * fg * block_cost(c.rows, c.groups);
        if (tg) total += fr * block_cost(c.rows, tg);
        if (tr) total += fg * block_cost(tr, c.groups) + (tg ? block_cost(tr, tg) : 0);
        if (total < best_cost) {
            best_cost = total;
            best = c;
        }
    }
    return best;
}

// The epilogue of a tile whose last columns do not exist (n not a multiple
// of 8): `raw` holds mr x cw accumulators; out/residual point at its row 0.
void tail_epilogue(const float* raw, int mr, int64_t c0, int cw, const Epilogue& ep, int64_t row,
                   float* colsum) {
    for (int r = 0; r < mr; ++r)
        for (int j = 0; j < cw; ++j) {
            float z = raw[r * kTileStride + j] + ep.bias[c0 + j];
            if (ep.act == Activation::SWISH) z = effnet::cpu::swish(z);
            if (ep.residual) z += ep.residual[(row + r) * ep.ld + c0 + j];
            if (ep.out) ep.out[(row + r) * ep.ld + c0 + j] = z;
            if (colsum) colsum[c0 + j] += z;
        }
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
        for (int64_t p = 0; p < k; ++p)
            d[((c / kGroup) * k + p) * kGroup + c % kGroup] = w[c * k + p];
}

int64_t gemm_scratch_floats(int64_t n) { return kTileFloats + align16(n); }

void gemm_rows(const float* a, int64_t lda, int64_t rows, int64_t k, const float* b, int64_t g0,
               int64_t g1, int64_t n, const Epilogue& ep, float* scratch) {
    const int64_t bstride = k * kGroup;
    float* raw = scratch;
    float* colsum = ep.pool ? scratch + kTileFloats : nullptr;
    const int64_t c_begin = g0 * kGroup, c_end = std::min(n, g1 * kGroup);
    if (colsum) std::fill(colsum + c_begin, colsum + c_end, 0.0f);
    const BlockShape shape = choose_block(rows, g1 - g0);

    auto tile = [&](int64_t m, int64_t g) {
        const int mr = int(std::min<int64_t>(shape.rows, rows - m));
        const int nv = int(std::min<int64_t>(shape.groups, g1 - g));
        const int64_t c0 = g * kGroup;
        TileEpilogue te;
        te.bias = ep.bias + c0;
        te.swish = ep.act == Activation::SWISH;
        te.residual = ep.residual ? ep.residual + m * ep.ld + c0 : nullptr;
        te.out = ep.out ? ep.out + m * ep.ld + c0 : nullptr;
        te.ld = ep.ld;
        te.colsum = colsum ? colsum + c0 : nullptr;
        const MicroKernel kernel = gemm_microkernel_for(mr, nv);
        const float* bp = b + (g - g0) * bstride;
        if (c0 + nv * kGroup <= n) {
            kernel(k, a + m * lda, lda, bp, bstride, te, nullptr);
        } else {
            kernel(k, a + m * lda, lda, bp, bstride, te, raw);
            tail_epilogue(raw, mr, c0, int(n - c0), ep, m, colsum);
        }
    };
    if ((g1 - g0) * bstride * int64_t(sizeof(float)) <= kRowsOuterMaxBytes) {
        for (int64_t m = 0; m < rows; m += shape.rows)
            for (int64_t g = g0; g < g1; g += shape.groups) tile(m, g);
    } else {
        for (int64_t g = g0; g < g1; g += shape.groups)
            for (int64_t m = 0; m < rows; m += shape.rows) tile(m, g);
    }
    if (colsum)
        for (int64_t c = c_begin; c < c_end; ++c) ep.pool[c] += double(colsum[c]);
}

int64_t pointwise_scratch_floats(const PointwiseOp& op, int /*threads*/) {
    const int64_t scaled = op.column_scale ? op.w->groups() * kGroup * op.w->k() : 0;
    return align16(gemm_scratch_floats(op.w->n())) + align16(scaled);
}

void pointwise_forward(const PointwiseOp& op, const Worker& w) {
    const PackedMatrix& W = *op.w;
    const int64_t k = W.k(), n = W.n(), groups = W.groups();
    const int64_t hw = op.rows_per_sample, rows = op.batch * hw;
    if (op.pool) std::fill(op.pool, op.pool + op.batch * n, 0.0);
    float* tile = w.scratch->floats;
    float* scaled = tile + align16(gemm_scratch_floats(n));

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
                        for (int j = 0; j < kGroup; ++j)
                            dst[p * kGroup + j] = src[p * kGroup + j] * scale[p];
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
