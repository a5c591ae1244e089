// Squeeze-and-excite (timm's efficientnet SqueezeExcite):
//
//   s = mean_{h,w} x                      [N, C]     (squeeze)
//   g = sigmoid(W_e swish(W_r s + b_r) + b_e)        (excite; W_r [Cr, C, 1, 1], W_e [C, Cr, 1, 1])
//   y = x * g  (per sample and channel)
//
// Children: conv_reduce, conv_expand (biased 1x1 convs on the pooled vector).
// Cr is a quarter of the *block's input* channels. Saves x and the gate.
// Backward: dx = dy * g + (1/HW) * d(s) broadcast over H, W.
#pragma once

#include "layers/basic.h"

namespace effnet {

class SqueezeExcite : public Layer {
public:
    SqueezeExcite(int64_t channels, int64_t reduced);
    // The pool's full-size input gradient goes to the other slot: the one
    // holding this layer's output gradient, dead once the channel scale's
    // backward has read it.
    void share_grad_input(std::shared_ptr<GradArena> arena, int slot) override;

protected:
    Shape setup_impl(const Shape& in) override;
    Tensor forward_impl(const Tensor& x, const RunState& run, Context& ctx) override;
    Tensor backward_impl(const Tensor& dy, Context& ctx) override;

private:
    GlobalAvgPool pool_;
    Linear reduce_, expand_;
    Swish act_;
    Sigmoid gate_act_;
    Tensor out_, x_, gate_, dgate_;
};

}  // namespace effnet
