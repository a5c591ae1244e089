// Fused depthwise convolution for inference over NHWC activations, with the
// squeeze-excite pool accumulated in the same pass:
//
//   y[n][oy][ox][c] = swish(bias[c] + sum_{ky,kx} x[n][oy*s - k/2 + ky][ox*s - k/2 + kx][c] *
//   w[c][ky][kx]) pool[n][c]      = sum_{oy,ox} y[n][oy][ox][c]      (this thread's share only)
//
// Zero padding k/2 on every side, Ho = (H - 1)/s + 1 for odd k. Weights
// re-laid out at load tap-major, taps[(ky*k + kx)*C + c] (depthwise_taps),
// so every inner loop is unit-stride over channels.
//
// Work split: output rows (n, oy) across threads, or channel blocks when
// there are few rows (7x7 at batch 1). Each thread OVERWRITES its own pool
// slot [batch][C] (double; the engine sums the slots), and writes only its
// share of y.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "infer/cpu/worker.h"

namespace effnet::infer::cpu {

struct DepthwiseOp {
    int64_t batch = 1, h = 1, w = 1, c = 1, kernel = 3, stride = 1;
    const float* x = nullptr;     // [batch, h, w, c]
    const float* taps = nullptr;  // [kernel*kernel, c]
    const float* bias = nullptr;  // [c]
    float* out = nullptr;         // [batch, ho, wo, c]
    double* pool = nullptr;       // optional [batch, c]
    int64_t ho() const { return (h + 2 * (kernel / 2) - kernel) / stride + 1; }
    int64_t wo() const { return (w + 2 * (kernel / 2) - kernel) / stride + 1; }
};

constexpr int64_t kMaxDepthwiseKernel = 9;

void depthwise_forward(const DepthwiseOp& op, const Worker& w);

// The pieces depthwise_forward is made of, for passes that produce the
// depthwise input themselves (infer/cpu/expand_depthwise.h):
// one output row oy of one sample, channels [c0, c1), input row oy*s - k/2 + ky
// at in_rows[ky] (column 0, channel 0; rows outside the image are not read);
// adds the row's column sums to pool[c] when pool is set.
void depthwise_output_row(const DepthwiseOp& op, const float* const* in_rows, int64_t oy,
                          int64_t c0, int64_t c1, float* out_row, double* pool);
// Whether threads split channels (few output rows) rather than rows, and a
// thread's channel share (whole vectors).
bool depthwise_splits_channels(int64_t output_rows, int64_t channels, const Worker& w);
std::pair<int64_t, int64_t> depthwise_channel_share(int64_t channels, const Worker& w);

// [c, 1, k, k] (PyTorch) -> [k*k, c].
std::vector<float> depthwise_taps(const float* weight, int64_t c, int64_t k);

}  // namespace effnet::infer::cpu
