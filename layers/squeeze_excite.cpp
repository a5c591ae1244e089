#include "layers/squeeze_excite.h"

#include "kernels/elementwise.h"
#include "kernels/squeeze_excite.h"

namespace effnet {

SqueezeExcite::SqueezeExcite(int64_t channels, int64_t reduced)
    : Layer("SqueezeExcite"),
      reduce_(channels, reduced, LinearWeightShape::CONV_1X1),
      expand_(reduced, channels, LinearWeightShape::CONV_1X1) {
    add_child("conv_reduce", &reduce_);
    add_child("conv_expand", &expand_);
}

Shape SqueezeExcite::setup_impl(const Shape& in) {
    Shape pooled = pool_.setup(in, device_);
    Shape r = reduce_.setup(pooled, device_);
    act_.setup(r, device_);
    Shape e = expand_.setup(r, device_);
    gate_act_.setup(e, device_);
    out_ = plan(in);
    dgate_ = plan(pooled);
    return in;
}

Tensor SqueezeExcite::forward_impl(const Tensor& x, const RunState& run, Context& ctx) {
    x_ = x;
    Tensor s = pool_.forward(x, run, ctx);
    Tensor a = act_.forward(reduce_.forward(s, run, ctx), run, ctx);
    gate_ = gate_act_.forward(expand_.forward(a, run, ctx), run, ctx);
    Tensor y = rows(out_, batch_);
    channel_scale_forward(x, gate_, y, ctx);
    return y;
}

void SqueezeExcite::share_grad_input(std::shared_ptr<GradArena> arena, int slot) {
    pool_.share_grad_input(arena, 1 - slot);
    Layer::share_grad_input(std::move(arena), slot);
}

Tensor SqueezeExcite::backward_impl(const Tensor& dy, Context& ctx) {
    Tensor dx = grad_input(batch_);
    Tensor dgate = rows(dgate_, batch_);
    channel_scale_backward(x_, gate_, dy, dx, dgate, ctx);
    Tensor ds = reduce_.backward(
        act_.backward(expand_.backward(gate_act_.backward(dgate, ctx), ctx), ctx), ctx);
    add_inplace(dx, pool_.backward(ds, ctx), ctx);
    return dx;
}

}  // namespace effnet
