#include "infer/cpu/stem.h"

#include <algorithm>

#include "infer/cpu/gemm_microkernel.h"

namespace effnet::infer::cpu {

std::vector<float> stem_weight_rows(const float* weight, int64_t cout, int64_t cin, int64_t k) {
    std::vector<float> rows(size_t(cout * k * k * cin));
    for (int64_t co = 0; co < cout; ++co)
        for (int64_t ci = 0; ci < cin; ++ci)
            for (int64_t t = 0; t < k * k; ++t)
                rows[size_t((co * k * k + t) * cin + ci)] = weight[(co * cin + ci) * k * k + t];
    return rows;
}

int64_t stem_scratch_floats(const StemOp& op) {
    return (gemm_scratch_floats(op.weight->n()) + 15) / 16 * 16 +
           op.wo() * op.kernel * op.kernel * op.cin;
}

void stem_forward(const StemOp& op, const Worker& w) {
    const int64_t k = op.kernel, pad = k / 2, ho = op.ho(), wo = op.wo(), taps = k * k * op.cin;
    const int64_t cout = op.weight->n();
    float* tile = w.scratch->floats;
    float* col = tile + (gemm_scratch_floats(cout) + 15) / 16 * 16;
    auto [r0, r1] = share(op.batch * ho, w);
    for (int64_t r = r0; r < r1; ++r) {
        const int64_t n = r / ho, oy = r % ho;
        for (int64_t ox = 0; ox < wo; ++ox) {
            float* dst = col + ox * taps;
            const int64_t ix0 = ox * op.stride - pad;
            // A receptive-field row (k pixels x cin channels) is contiguous in
            // NHWC: one copy per kernel row when it lies inside the image.
            const bool inside_x = ix0 >= 0 && ix0 + k <= op.w;
            for (int64_t ky = 0; ky < k; ++ky) {
                const int64_t iy = oy * op.stride - pad + ky;
                float* d = dst + ky * k * op.cin;
                if (iy < 0 || iy >= op.h) {
                    std::fill(d, d + k * op.cin, 0.0f);
                } else if (inside_x) {
                    const float* s = op.x + ((n * op.h + iy) * op.w + ix0) * op.cin;
                    std::copy(s, s + k * op.cin, d);
                } else {
                    for (int64_t kx = 0; kx < k; ++kx) {
                        const int64_t ix = ix0 + kx;
                        float* dk = d + kx * op.cin;
                        if (ix < 0 || ix >= op.w) {
                            std::fill(dk, dk + op.cin, 0.0f);
                        } else {
                            const float* s = op.x + ((n * op.h + iy) * op.w + ix) * op.cin;
                            std::copy(s, s + op.cin, dk);
                        }
                    }
                }
            }
        }
        Epilogue ep;
        ep.bias = op.bias;
        ep.act = Activation::SWISH;
        ep.out = op.out + r * wo * cout;
        ep.ld = cout;
        gemm_rows(col, taps, wo, taps, op.weight->group(0), 0, op.weight->groups(), cout, ep, tile);
    }
}

}  // namespace effnet::infer::cpu
