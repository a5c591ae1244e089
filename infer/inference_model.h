// InferenceModel: EfficientNet inference without the training graph, for a
// fixed input size and a largest batch chosen at load.
//
// Built from a network whose weights are loaded (or from its folded form):
// every batch norm is folded into the convolution before it, weights are
// re-laid out for the kernels, and one activation arena plus per-thread
// scratch is sized for `max_batch`; run() then allocates nothing. The
// network itself is not used afterwards and may be destroyed.
//
// run(x, n, logits): x is n images as NHWC floats [n, height, width,
// in_channels], already normalised as for training; logits [n, num_classes]
// are overwritten. Requires 1 <= n <= max_batch. Equals the training
// graph's EVAL forward up to float32 rounding: every logit within 1e-5 of
// its scale (|bias| + sum |weight * pooled feature|), as both are of a
// double-precision forward (tests/infer/test_inference_model.cpp). One call
// at a time per model (run is not re-entrant); it uses `threads` OpenMP threads.
//
// CPU only for now; the folded weights (infer/folded_model.h) are the
// hand-over point for another backend.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "infer/folded_model.h"

namespace effnet {

namespace infer::cpu {
class Engine;
}

struct InferenceShape {
    int64_t max_batch = 1;
    int64_t height = 224, width = 224;
    int threads = 0;  // 0: OpenMP's default (OMP_NUM_THREADS or all cores)
    // Tuning (0: the engine's default): activation floats a sample group may
    // hold (infer/cpu/engine.h, "Sample groups").
    int64_t group_floats = 0;
};

struct InferencePassTime {
    std::string name;
    double ms;
};

class InferenceModel {
public:
    InferenceModel(EfficientNet& net, const InferenceShape& shape);
    InferenceModel(const FoldedEfficientNet& folded, const InferenceShape& shape);
    ~InferenceModel();
    InferenceModel(InferenceModel&&) noexcept;
    InferenceModel& operator=(InferenceModel&&) noexcept;

    void run(const float* nhwc_batch, int64_t n, float* logits);
    // run(), also writing the head's activations (after conv_head, its folded
    // batch norm and swish; what Grad-CAM weighs) to `head_features`
    // [n, head_height, head_width, head_channels].
    void run(const float* nhwc_batch, int64_t n, float* logits, float* head_features);
    // run(), also timing each fused pass (for benchmarks).
    std::vector<InferencePassTime> run_profiled(const float* nhwc_batch, int64_t n, float* logits);

    const InferenceShape& shape() const { return shape_; }
    int64_t num_classes() const { return num_classes_; }
    int64_t in_channels() const { return in_channels_; }
    int64_t head_height() const;
    int64_t head_width() const;
    int64_t head_channels() const;
    // Bytes planned at load: packed weights, activation arena, scratch.
    int64_t planned_bytes() const;
    // How a batch goes through the network: segments and their sample groups.
    std::string plan() const;

private:
    InferenceShape shape_;
    int64_t num_classes_ = 0, in_channels_ = 0;
    std::unique_ptr<infer::cpu::Engine> engine_;
};

}  // namespace effnet
