#include "infer/cpu/expand_depthwise.h"

#include <algorithm>
#include <tuple>

#include "infer/cpu/gemm_microkernel.h"

namespace effnet::infer::cpu {

namespace {
int64_t align16(int64_t n) { return (n + 15) / 16 * 16; }
}  // namespace

int64_t expand_depthwise_scratch_floats(const ExpandDepthwiseOp& op) {
    return align16(gemm_scratch_floats(op.dw.c)) + op.dw.kernel * align16(op.dw.w * op.dw.c);
}

void expand_depthwise_forward(const ExpandDepthwiseOp& op, const Worker& w) {
    const DepthwiseOp& d = op.dw;
    const int64_t k = d.kernel, pad = k / 2, C = d.c, cin = op.expand->k(), rows = d.batch * d.ho();
    EFFNET_CHECK(k <= kMaxDepthwiseKernel && op.expand->n() == C,
                 "expand+depthwise: kernel " << k << ", " << C << " channels");
    if (d.pool) std::fill(d.pool, d.pool + d.batch * C, 0.0);
    int64_t r0 = 0, r1 = rows, c0 = 0, c1 = C;
    if (depthwise_splits_channels(rows, C, w))
        std::tie(c0, c1) = depthwise_channel_share(C, w);
    else
        std::tie(r0, r1) = share(rows, w);
    if (r0 == r1 || c0 == c1) return;

    float* gemm_scratch = w.scratch->floats;
    float* ring = gemm_scratch + align16(gemm_scratch_floats(C));
    const int64_t slot_floats = align16(d.w * C);
    int64_t held[kMaxDepthwiseKernel];  // n*h + iy of the row in each slot, -1: none
    std::fill(held, held + k, int64_t(-1));
    const int64_t g0 = c0 / kGroup, g1 = (c1 + kGroup - 1) / kGroup;

    Epilogue ep;
    ep.bias = op.expand_bias;
    ep.act = Activation::SWISH;
    ep.ld = C;
    const float* in_rows[kMaxDepthwiseKernel];
    for (int64_t r = r0; r < r1; ++r) {
        const int64_t n = r / d.ho(), oy = r % d.ho();
        for (int64_t ky = 0; ky < k; ++ky) {
            const int64_t iy = oy * d.stride - pad + ky;
            in_rows[ky] = nullptr;
            if (iy < 0 || iy >= d.h) continue;
            float* slot = ring + (iy % k) * slot_floats;
            const int64_t id = n * d.h + iy;
            if (held[iy % k] != id) {
                ep.out = slot;
                gemm_rows(op.x + id * d.w * cin, cin, d.w, cin, op.expand->group(g0), g0, g1, C, ep,
                          gemm_scratch);
                held[iy % k] = id;
            }
            in_rows[ky] = slot;
        }
        depthwise_output_row(d, in_rows, oy, c0, c1, d.out + r * d.wo() * C,
                             d.pool ? d.pool + n * C : nullptr);
    }
}

}  // namespace effnet::infer::cpu
