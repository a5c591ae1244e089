// The CPU inference engine: a FoldedEfficientNet planned for a fixed input
// size and a largest batch.
//
// At construction it packs every weight into the layout its kernel reads,
// sizes one activation arena (two block input/output buffers that alternate,
// one for the expanded activations, one for the depthwise output) and every
// thread's scratch for the largest batch, and lists the passes:
//
//   stem (conv 3x3/2 + bias + swish)
//   per MBConv block: [expand GEMM + bias + swish]
//                     depthwise + bias + swish, SE pool in the same pass
//                     SE FCs + gate, folded into the projection GEMM's input,
//                     + bias (+ residual, in place over the block's input)
//   head GEMM + bias + swish + pool (the head activations are never stored)
//   classifier
//
// run() allocates nothing; it executes all passes in one OpenMP parallel
// region with a barrier between passes. Not thread-safe: one run at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "infer/cpu/pointwise.h"
#include "infer/cpu/squeeze_excite.h"
#include "infer/folded_model.h"
#include "tensor/tensor.h"

namespace effnet::infer::cpu {

struct PassTime {
    std::string name;
    double ms;
};

class Engine {
public:
    Engine(const FoldedEfficientNet& model, int64_t max_batch, int64_t height, int64_t width, int threads);

    // x: [n, height, width, in_channels] NHWC floats; logits: [n, num_classes].
    void run(const float* x, int64_t n, float* logits);
    // run(), also returning each pass's wall time (thread 0, up to the barrier
    // that ends the pass, so it includes load imbalance).
    std::vector<PassTime> run_profiled(const float* x, int64_t n, float* logits);

    int64_t max_batch() const { return max_batch_; }
    int threads() const { return threads_; }
    // Bytes of everything planned at load: packed weights, arena, scratch.
    int64_t planned_bytes() const;

private:
    struct Block {
        std::string name;
        int64_t h = 0, w = 0, ho = 0, wo = 0, in = 0, mid = 0, out = 0, kernel = 3, stride = 1;
        bool has_expand = false, fused = false, residual = false;
        PackedMatrix expand, project;
        std::vector<float> expand_bias, taps, dw_bias, project_bias;
        std::vector<float> se_reduce_w, se_reduce_b, se_expand_w_t, se_expand_b;
        SqueezeExciteGate gate() const;
    };
    struct Pass {
        std::string name;
        std::function<void(int64_t batch, const Worker&)> run;
    };

    void plan_passes();
    void plan_block(const Block& b, const float* in, float* out);
    void add_pass(std::string name, std::function<void(int64_t, const Worker&)> run);
    void execute(const float* x, int64_t n, float* logits, std::vector<double>* stamps);
    PoolPartials partials(int64_t channels) const;
    float* thread_floats(const Worker& w, int64_t offset) const;

    int64_t max_batch_, height_, width_, in_channels_, num_classes_;
    int threads_;
    // Weights in kernel layouts.
    PackedMatrix stem_weight_, head_weight_;
    std::vector<float> stem_bias_, head_bias_, classifier_weight_, classifier_bias_;
    int64_t stem_cin_ = 3, stem_kernel_ = 3, stem_stride_ = 2;
    int64_t stem_ho_ = 0, stem_wo_ = 0, head_hw_ = 0;
    std::vector<Block> blocks_;
    // Arena and per-thread memory.
    Tensor arena_, scratch_, pools_;
    float *io_[2] = {nullptr, nullptr}, *expanded_ = nullptr, *depthwise_ = nullptr;
    std::vector<ThreadScratch> thread_;
    std::vector<const double*> pool_slots_;
    int64_t scratch_floats_ = 0, gemm_scratch_floats_ = 0;
    std::vector<Pass> passes_;
    // Set by run() for the passes.
    const float* input_ = nullptr;
    float* logits_ = nullptr;
};

}  // namespace effnet::infer::cpu
