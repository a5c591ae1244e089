// An MBConv block's expansion and depthwise convolution in one pass, for
// the high-resolution blocks where the expanded activation (6x the block's
// input) would not stay in cache:
//
//   e[n][y][x][c]   = swish(expand_bias[c] + sum_ci in[n][y][x][ci] * W[c][ci])   (1x1, never
//   stored whole) out, pool       = the depthwise pass of infer/cpu/depthwise.h over e
//
// Each thread walks its output rows (or, with few rows, all rows of its
// channel share) and keeps the `kernel` expanded input rows the current
// output row reads in a ring in its scratch (row iy in slot iy % kernel):
// moving to the next output row expands only the rows that enter the
// window. Rows at the edges of a thread's share are expanded by both
// neighbours (kernel - stride rows per boundary).
//
// in: [batch, h, w, cin]; W: PyTorch's [c, cin] packed (PackedMatrix).
// out overwritten, pool slot overwritten, as depthwise_forward.
#pragma once

#include "infer/cpu/depthwise.h"
#include "infer/cpu/pointwise.h"

namespace effnet::infer::cpu {

struct ExpandDepthwiseOp {
    DepthwiseOp dw;  // batch, h, w, c, kernel, stride, taps, bias, out, pool (dw.x unused)
    const float* x = nullptr;  // the block's input [batch, h, w, cin]
    const PackedMatrix* expand = nullptr;
    const float* expand_bias = nullptr;
};

void expand_depthwise_forward(const ExpandDepthwiseOp& op, const Worker& w);
int64_t expand_depthwise_scratch_floats(const ExpandDepthwiseOp& op);

}  // namespace effnet::infer::cpu
