// The stem for inference: a dense k x k / stride convolution (padding k/2)
// over the NHWC image, + bias + swish, as one pass.
//
//   y[n][oy][ox][co] = swish(bias[co] + sum_{ky,kx,ci} x[n][oy*s-k/2+ky][ox*s-k/2+kx][ci] *
//   w[co][ci][ky][kx])
//
// Each thread takes whole output rows: it gathers the row's receptive fields
// (im2col, (ky, kx, ci) order, zeros outside the image) into its scratch and
// runs the pointwise GEMM kernel on them with the bias + swish epilogue. The
// weight is packed at load from stem_weight_rows(w) ([co][(ky*k + kx)*cin + ci]).
#pragma once

#include <cstdint>
#include <vector>

#include "infer/cpu/pointwise.h"

namespace effnet::infer::cpu {

struct StemOp {
    int64_t batch = 1, h = 1, w = 1, cin = 3, kernel = 3, stride = 2;
    const float* x = nullptr;              // [batch, h, w, cin]
    const PackedMatrix* weight = nullptr;  // [cout][kernel*kernel*cin], packed
    const float* bias = nullptr;           // [cout]
    float* out = nullptr;                  // [batch, ho, wo, cout]
    int64_t ho() const { return (h + 2 * (kernel / 2) - kernel) / stride + 1; }
    int64_t wo() const { return (w + 2 * (kernel / 2) - kernel) / stride + 1; }
};

void stem_forward(const StemOp& op, const Worker& w);
int64_t stem_scratch_floats(const StemOp& op);

// [cout, cin, k, k] (PyTorch) -> [cout][(ky*k + kx)*cin + ci].
std::vector<float> stem_weight_rows(const float* weight, int64_t cout, int64_t cin, int64_t k);

}  // namespace effnet::infer::cpu
