// The small fully connected parts of inference: the squeeze-excite gate
// and the classifier, both fed by channel sums that the producing kernel
// (depthwise, head GEMM) left in per-thread partial slots.
//
//   mean[c]   = (sum over slots t of partial_t[sample][c]) / hw      (double)
//   SE:   hidden[j] = swish(reduce_b[j] + sum_c reduce_w[j][c] * mean[c])
//         gate[c]   = sigmoid(expand_b[c] + sum_j expand_w[c][j] * hidden[j])
//   classifier: logits[sample][o] = b[o] + sum_c w[o][c] * mean[c]
//
// Weights in PyTorch's [out, in] layout, except expand_w, which is kept
// transposed ([reduced][channels], se_expand_transposed) so the gate loop is
// unit-stride over channels.
#pragma once

#include <cstdint>
#include <vector>

namespace effnet::infer::cpu {

// Channel sums of one sample across the threads' partial slots.
struct PoolPartials {
    const double* const* slots = nullptr;  // one [batch][channels] array per thread
    int count = 0;
    int64_t channels = 0;
};

struct SqueezeExciteGate {
    int64_t channels = 0, reduced = 0;
    const float* reduce_w = nullptr;    // [reduced][channels]
    const float* reduce_b = nullptr;    // [reduced]
    const float* expand_w_t = nullptr;  // [reduced][channels]
    const float* expand_b = nullptr;    // [channels]
};

// mean[c] of `sample` (channels floats).
void pool_mean(const PoolPartials& p, int64_t sample, int64_t hw, float* mean);

// gate (channels floats) of `sample`; `scratch` holds channels + reduced floats.
void se_gate(const SqueezeExciteGate& se, const PoolPartials& p, int64_t sample, int64_t hw,
             float* scratch, float* gate);

// logits [classes] of `sample`; `scratch` holds channels floats.
void classifier_forward(const float* w, const float* b, int64_t classes, const PoolPartials& p,
                        int64_t sample, int64_t hw, float* scratch, float* logits);

// [channels][reduced] -> [reduced][channels].
std::vector<float> se_expand_transposed(const float* expand_w, int64_t channels, int64_t reduced);

}  // namespace effnet::infer::cpu
