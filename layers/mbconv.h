// MBConv blocks of EfficientNet, named as timm's efficientnet_b0 state dict.
//
// Inverted residual (expand_ratio > 1), mid = in * expand_ratio:
//   conv_pw 1x1 (in->mid), bn1+swish, conv_dw kxk/s, bn2+swish,
//   se (mid, reduced to in/4), conv_pwl 1x1 (mid->out), bn3
// Depthwise separable (expand_ratio == 1), timm's first block:
//   conv_dw kxk/s, bn1+swish, se (in, in/4), conv_pw 1x1 (in->out), bn2
// "bn+swish" is one fused layer (BatchNorm2d with BatchNormActivation::SWISH).
// Residual only when stride == 1 and in == out: y = x + drop_path(branch(x)),
// drop-path dropping whole samples with probability `drop_path` in TRAIN.
#pragma once

#include "layers/basic.h"

namespace effnet {

struct MBConvConfig {
    int64_t in = 0, out = 0;
    int64_t expand_ratio = 1;
    int64_t kernel = 3;
    int64_t stride = 1;
    double se_ratio = 0.25;  // of the block's input channels
    float drop_path = 0.0f;
    uint64_t tag = 0;  // distinguishes this block's drop-path masks
    double bn_eps = 1e-5;
    double bn_momentum = 0.1;
};

class MBConv : public Layer {
public:
    explicit MBConv(const MBConvConfig& cfg);
    const MBConvConfig& config() const { return cfg_; }
    bool has_residual() const { return residual_; }
    // Floats an arena slot needs for this block's inner gradients (after setup).
    int64_t grad_arena_floats() const;
    // Inner branch layers (all but the first, whose gradient leaves the block)
    // take their input gradients from `arena`, alternating slots so that a
    // layer never writes the slot it reads. Blocks run their backward one at a
    // time, so one arena serves them all.
    void use_grad_arena(const std::shared_ptr<GradArena>& arena);

protected:
    Shape setup_impl(const Shape& in) override;
    Tensor forward_impl(const Tensor& x, const RunState& run, Context& ctx) override;
    Tensor backward_impl(const Tensor& dy, Context& ctx) override;

private:
    MBConvConfig cfg_;
    bool residual_;
    Sequential branch_;
    Tensor out_, dropped_;  // dropped_: out_'s shape
    bool drop_active_ = false;
    uint64_t seed_ = 0, stream_ = 0, first_ = 0;
};

}  // namespace effnet
