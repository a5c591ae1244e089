// Fused pointwise (1x1) convolution for inference over NHWC activations: one
// GEMM whose epilogue applies everything that follows the convolution.
//
//   z[m][c] = sum_k a[m][k] * s_n[k] * W[c][k] + bias[c]     (s_n: optional
//             per-sample scale of A's columns, the squeeze-excite gate)
//   y[m][c] = act(z[m][c]) (+ residual[m][c])
//   out[m][c] = y   (when out is set; may be the residual buffer itself)
//   pool[n][c] += sum over the rows m of sample n of y   (when pool is set)
//
// a: [batch * rows_per_sample, k], row-major; W: PyTorch's [n, k] (a 1x1 conv
// weight), packed at load (PackedMatrix); out/residual: [rows, n].
//
// Work split: rows across threads, or output columns when there are too few
// rows per thread (7x7 layers at batch 1). A thread handles a sample's gate
// by scaling whichever operand is smaller for its share: its rows of A, or
// its columns of W (into its scratch); the other is read in place.
#pragma once

#include <cstdint>
#include <functional>

#include "infer/cpu/worker.h"
#include "tensor/tensor.h"

namespace effnet::infer::cpu {

// W [n][k] row-major, packed for the micro-kernel as [ceil(n/8)][k][8]
// (group g holds columns 8g..8g+7, zero past n), 64-byte aligned.
class PackedMatrix {
public:
    PackedMatrix() = default;
    PackedMatrix(const float* w, int64_t n, int64_t k);
    int64_t n() const { return n_; }
    int64_t k() const { return k_; }
    int64_t groups() const { return (n_ + 7) / 8; }
    const float* group(int64_t g) const { return data_.f32() + g * k_ * 8; }

private:
    int64_t n_ = 0, k_ = 0;
    Tensor data_;
};

enum class Activation { NONE, SWISH };

// What follows the K sum, for a block of rows: out, residual (row stride ld)
// and pool point at the block's first row and at its sample's column sums.
struct Epilogue {
    const float* bias = nullptr;  // [n]
    Activation act = Activation::NONE;
    const float* residual = nullptr;  // added after the activation; may alias out
    float* out = nullptr;             // null: not stored (the head only pools)
    int64_t ld = 0;
    double* pool = nullptr;  // += column sums of y over the block's rows
};

struct PointwiseOp {
    int64_t batch = 1, rows_per_sample = 1;
    const float* a = nullptr;  // [batch * rows_per_sample, k]
    const PackedMatrix* w = nullptr;
    const float* bias = nullptr;
    Activation act = Activation::NONE;
    const float* residual = nullptr;  // optional [rows, n]
    float* out = nullptr;             // optional [rows, n]
    double* pool = nullptr;  // optional [batch, n]: this thread's partial sums (overwritten)
    // Optional: the scale of A's columns for a sample (k floats), computed by
    // the calling thread into memory of its own; called once per sample a thread touches.
    std::function<const float*(int64_t sample, const Worker&)> column_scale;
};

// This thread's share of `op`; its scratch needs pointwise_scratch_floats(op, threads).
void pointwise_forward(const PointwiseOp& op, const Worker& w);
int64_t pointwise_scratch_floats(const PointwiseOp& op, int threads);

// One thread, no split: rows [0, rows) x column groups [g0, g1) (columns
// 8*g0 .. min(8*g1, n)) of a GEMM. `b` points at group g0 of a [groups][k][8]
// matrix; `scratch` holds gemm_scratch_floats(n) floats.
void gemm_rows(const float* a, int64_t lda, int64_t rows, int64_t k, const float* b, int64_t g0,
               int64_t g1, int64_t n, const Epilogue& ep, float* scratch);
int64_t gemm_scratch_floats(int64_t n);

}  // namespace effnet::infer::cpu
