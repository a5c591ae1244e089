#include "infer/cpu/squeeze_excite.h"

#include "kernels/cpu/swish_math.h"

namespace effnet::infer::cpu {

void pool_mean(const PoolPartials& p, int64_t sample, int64_t hw, float* mean) {
    const double inv = 1.0 / double(hw);
    const int64_t C = p.channels;
    for (int64_t c = 0; c < C; ++c) {
        double s = 0;
        for (int t = 0; t < p.count; ++t) s += p.slots[t][sample * C + c];
        mean[c] = float(s * inv);
    }
}

void se_gate(const SqueezeExciteGate& se, const PoolPartials& p, int64_t sample, int64_t hw,
             float* scratch, float* gate) {
    const int64_t C = se.channels, R = se.reduced;
    float* mean = scratch;
    float* hidden = scratch + C;
    pool_mean(p, sample, hw, mean);
    for (int64_t j = 0; j < R; ++j) {
        const float* wr = se.reduce_w + j * C;
        float s = 0;
#pragma omp simd reduction(+ : s)
        for (int64_t c = 0; c < C; ++c) s += wr[c] * mean[c];
        hidden[j] = effnet::cpu::swish(s + se.reduce_b[j]);
    }
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) gate[c] = se.expand_b[c];
    for (int64_t j = 0; j < R; ++j) {
        const float* we = se.expand_w_t + j * C;
        const float h = hidden[j];
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) gate[c] += we[c] * h;
    }
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) gate[c] = effnet::cpu::sigmoid(gate[c]);
}

void classifier_forward(const float* w, const float* b, int64_t classes, const PoolPartials& p,
                        int64_t sample, int64_t hw, float* scratch, float* logits) {
    const int64_t C = p.channels;
    pool_mean(p, sample, hw, scratch);
    for (int64_t o = 0; o < classes; ++o) {
        const float* wo = w + o * C;
        float s = 0;
#pragma omp simd reduction(+ : s)
        for (int64_t c = 0; c < C; ++c) s += wo[c] * scratch[c];
        logits[o] = s + b[o];
    }
}

std::vector<float> se_expand_transposed(const float* expand_w, int64_t channels, int64_t reduced) {
    std::vector<float> t(size_t(channels * reduced));
    for (int64_t c = 0; c < channels; ++c)
        for (int64_t j = 0; j < reduced; ++j)
            t[size_t(j * channels + c)] = expand_w[c * reduced + j];
    return t;
}

}  // namespace effnet::infer::cpu
