// The CPU inference engine: a FoldedEfficientNet planned for a fixed input
// size and a largest batch.
//
// At construction it packs every weight into the layout its kernel reads,
// lists the passes, and sizes one activation arena and every thread's
// scratch for the largest batch:
//
//   stem (conv 3x3/2 + bias + swish)
//   per MBConv block: [expand GEMM + bias + swish]
//                     depthwise + bias + swish, SE pool in the same pass
//                     (the two in one pass for high-resolution blocks)
//                     SE FCs + gate, folded into the projection GEMM's input,
//                     + bias (+ residual)
//   head GEMM + bias + swish + pool (the head activations are never stored)
//   classifier
//
// Sample groups: a batch runs through the network in segments (runs of
// stages); within a segment it goes a group of samples at a time, the group
// sized so that the segment's activations for one group stay in cache (one
// sample in the high-resolution stages, several in the late ones, whose
// weights would otherwise be re-read per sample). Only the activations
// between segments are stored for the whole batch; at batch 1 there is one
// group of one.
//
// run() allocates nothing; it executes all passes in one OpenMP parallel
// region with a barrier (infer/cpu/barrier.h) after each pass. Not thread-safe: one run at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "infer/cpu/barrier.h"
#include "infer/cpu/pointwise.h"
#include "infer/cpu/squeeze_excite.h"
#include "infer/folded_model.h"
#include "tensor/tensor.h"

namespace effnet::infer::cpu {

struct PassTime {
    std::string name;
    double ms;
};

struct EngineOptions {
    int64_t max_batch = 1, height = 224, width = 224;
    int threads = 0;           // 0: OpenMP's default
    int64_t group_floats = 0;  // activation floats a sample group may hold (0: 1M floats, 4 MiB)
    // Expanded floats per sample from which expand and depthwise fuse (0: 150000).
    int64_t fuse_floats = 0;
};

class Engine {
public:
    Engine(const FoldedEfficientNet& model, const EngineOptions& options);

    // x: [n, height, width, in_channels] NHWC floats; logits: [n, num_classes].
    // With `head_features`, also the head's activations (after its bias and
    // swish, before the pool) [n, head_height, head_width, head_channels],
    // which the head pass then stores besides pooling them.
    void run(const float* x, int64_t n, float* logits, float* head_features = nullptr);
    // run(), also returning each pass's wall time summed over its sample
    // groups (thread 0, up to the barrier that ends the pass, so it includes
    // load imbalance).
    std::vector<PassTime> run_profiled(const float* x, int64_t n, float* logits);

    int64_t max_batch() const { return max_batch_; }
    int64_t head_height() const { return head_h_; }
    int64_t head_width() const { return head_w_; }
    int64_t head_channels() const { return head_weight_.n(); }
    int threads() const { return threads_; }
    // Bytes of everything planned at load: packed weights, arena, scratch.
    int64_t planned_bytes() const;
    // "stem..blocks.2.1 x1, blocks.3.0..head x8": the segments and their group sizes.
    std::string segments() const;

private:
    // The samples a pass runs on.
    struct Group {
        int64_t first = 0, count = 1;
    };
    // An activation buffer: whole-batch buffers (the image, the activations
    // between segments) are indexed by the group's first sample; the others
    // hold one group from offset 0.
    struct Buf {
        float* base = nullptr;
        int64_t per_sample = 0;
        bool whole_batch = false;
        float* at(const Group& g) const { return base + (whole_batch ? g.first * per_sample : 0); }
    };
    struct Block {
        std::string name;
        int64_t h = 0, w = 0, ho = 0, wo = 0, in = 0, mid = 0, out = 0, kernel = 3, stride = 1;
        bool has_expand = false, fused = false, residual = false;
        PackedMatrix expand, project;
        std::vector<float> expand_bias, taps, dw_bias, project_bias;
        std::vector<float> se_reduce_w, se_reduce_b, se_expand_w_t, se_expand_b;
        SqueezeExciteGate gate() const;
        // Floats per sample held while the block runs (input, output, expanded, depthwise output).
        int64_t working_floats() const;
    };
    using PassFn = std::function<void(const Group&, const Worker&)>;
    struct Pass {
        std::string name;
        PassFn run;
    };
    struct Segment {
        size_t first_block = 0, end_block = 0;  // blocks [first, end); the first segment also runs
                                                // the stem, the last the head
        int64_t group = 1;
        size_t first_pass = 0, end_pass = 0;
    };

    void plan_segments();
    void plan_arena();
    void plan_passes();
    void plan_block(const Block& b, const Buf& in, const Buf& out);
    void add_pass(std::string name, PassFn run);
    void execute(const float* x, int64_t n, float* logits, float* head_features,
                 std::vector<double>* times);
    PoolPartials partials(int64_t channels, const Worker& w) const;
    float* vectors(const Worker& w) const;

    int64_t max_batch_, height_, width_, in_channels_, num_classes_, group_floats_, fuse_floats_;
    int threads_;
    // Weights in kernel layouts.
    PackedMatrix stem_weight_, head_weight_;
    std::vector<float> stem_bias_, head_bias_, classifier_weight_, classifier_bias_;
    int64_t stem_cin_ = 3, stem_kernel_ = 3, stem_stride_ = 2;
    int64_t stem_ho_ = 0, stem_wo_ = 0, head_h_ = 0, head_w_ = 0, head_hw_ = 0, vector_floats_ = 0;
    std::vector<Block> blocks_;
    std::vector<Segment> segments_;
    // Arena (group buffers, then the two alternating between-segment buffers) and per-thread
    // memory.
    Tensor arena_, scratch_, pools_;
    float *io_[2] = {nullptr, nullptr}, *expanded_ = nullptr, *depthwise_ = nullptr,
          *between_[2] = {nullptr, nullptr};
    std::vector<ThreadScratch> thread_;
    std::vector<const double*> pool_slots_;
    int64_t scratch_floats_ = 0, gemm_scratch_floats_ = 0;
    std::vector<Pass> passes_;
    SpinBarrier barrier_;
    // Set by run() for the passes.
    const float* input_ = nullptr;
    float* logits_ = nullptr;
    float* head_features_ = nullptr;
};

}  // namespace effnet::infer::cpu
