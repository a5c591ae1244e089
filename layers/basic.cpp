#include "layers/basic.h"

#include <algorithm>
#include <cmath>

#include "kernels/activation.h"
#include "kernels/dropout.h"
#include "kernels/linear.h"
#include "kernels/squeeze_excite.h"
#include "tensor/nvtx.h"
#include "tensor/random.h"

namespace effnet {

uint64_t mask_stream(uint64_t tag, uint64_t step) { return mix64(mix64(tag) ^ step); }

// ---- Swish / Sigmoid -----------------------------------------------------------
Shape Swish::setup_impl(const Shape& in) {
    out_ = plan(in);
    return in;
}
Tensor Swish::forward_impl(const Tensor& x, const RunState&, Context& ctx) {
    x_ = x;
    Tensor y = rows(out_, batch_);
    swish_forward(x, y, ctx);
    return y;
}
Tensor Swish::backward_impl(const Tensor& dy, Context& ctx) {
    Tensor dx = grad_input(batch_);
    swish_backward(x_, dy, dx, ctx);
    return dx;
}

Shape Sigmoid::setup_impl(const Shape& in) {
    out_ = plan(in);
    return in;
}
Tensor Sigmoid::forward_impl(const Tensor& x, const RunState&, Context& ctx) {
    y_ = rows(out_, batch_);
    sigmoid_forward(x, y_, ctx);
    return y_;
}
Tensor Sigmoid::backward_impl(const Tensor& dy, Context& ctx) {
    Tensor dx = grad_input(batch_);
    sigmoid_backward(y_, dy, dx, ctx);
    return dx;
}

// ---- GlobalAvgPool -------------------------------------------------------------
Shape GlobalAvgPool::setup_impl(const Shape& in) {
    EFFNET_CHECK(in.rank() == 4, "GlobalAvgPool: input " << in << " is not NHWC");
    Shape out{in[0], in[3]};
    out_ = plan(out);
    return out;
}
Tensor GlobalAvgPool::forward_impl(const Tensor& x, const RunState&, Context& ctx) {
    Tensor y = rows(out_, batch_);
    global_avg_pool_forward(x, y, ctx);
    return y;
}
Tensor GlobalAvgPool::backward_impl(const Tensor& dy, Context& ctx) {
    Tensor dx = grad_input(batch_);
    global_avg_pool_backward(dy, dx, ctx);
    return dx;
}

// ---- Dropout -------------------------------------------------------------------
Shape Dropout::setup_impl(const Shape& in) {
    out_ = plan(in);
    return in;
}
Tensor Dropout::forward_impl(const Tensor& x, const RunState& run, Context& ctx) {
    active_ = run.mode == Mode::TRAIN && p_ > 0;
    if (!active_) return x;
    seed_ = run.seed;
    stream_ = mask_stream(tag_, run.step);
    Tensor y = rows(out_, batch_);
    first_ = uint64_t(run.sample_offset) * uint64_t(x.numel() / std::max<int64_t>(x.dim(0), 1));
    dropout_forward(x, y, p_, seed_, stream_, first_, ctx);
    return y;
}
Tensor Dropout::backward_impl(const Tensor& dy, Context& ctx) {
    if (!active_) return dy;
    Tensor dx = grad_input(batch_);
    dropout_backward(dy, dx, p_, seed_, stream_, first_, ctx);
    return dx;
}

// ---- Linear --------------------------------------------------------------------
Linear::Linear(int64_t in, int64_t out, LinearWeightShape shape)
    : Layer("Linear"),
      in_(in),
      out_features_(out),
      conv_shaped_(shape == LinearWeightShape::CONV_1X1) {
    add_param("weight", conv_shaped_ ? Shape{out, in, 1, 1} : Shape{out, in}, &weight_,
              &weight_grad_, WeightDecay::APPLIED);
    add_param("bias", Shape{out}, &b_, &b_grad_, WeightDecay::EXEMPT);
}
Shape Linear::setup_impl(const Shape& in) {
    EFFNET_CHECK(in.rank() == 2 && in[1] == in_,
                 "Linear(" << in_ << " -> " << out_features_ << "): input " << in);
    Shape out{in[0], out_features_};
    out_ = plan(out);
    return out;
}
Tensor Linear::forward_impl(const Tensor& x, const RunState&, Context& ctx) {
    x_ = x;
    Tensor y = rows(out_, batch_);
    linear_forward(x, weight_, b_, y, ctx);
    return y;
}
Tensor Linear::backward_impl(const Tensor& dy, Context& ctx) {
    Tensor dx = grad_input(batch_);
    linear_backward(x_, weight_, dy, &dx, weight_grad_, b_grad_, ctx);
    return dx;
}
void Linear::reset_own_parameters(uint64_t seed, uint64_t& stream) {
    if (conv_shaped_) {
        fill_normal(weight_, seed, stream++, 0.0f,
                    static_cast<float>(std::sqrt(2.0 / double(out_features_))));
    } else {
        // PyTorch's nn.Linear default, uniform(+-1/sqrt(fan_in)). timm's "goog"
        // init uses 1/sqrt(fan_out), which for a 2-class head is +-0.71 over
        // 1280 features: initial logits of std ~10 and a diverging first epoch.
        const float r = static_cast<float>(1.0 / std::sqrt(double(in_)));
        fill_uniform(weight_, seed, stream++, -r, r);
    }
    b_.zero();
}

// ---- Sequential ----------------------------------------------------------------
Layer& Sequential::append(std::unique_ptr<Layer> layer, const std::string& name) {
    Layer& ref = *layer;
    if (!name.empty()) add_child(name, &ref);
    layers_.emplace_back(name, std::move(layer));
    return ref;
}
Shape Sequential::setup_impl(const Shape& in) {
    Shape s = in;
    for (auto& [name, l] : layers_) s = l->setup(s, device_);
    return s;
}
Tensor Sequential::forward_impl(const Tensor& x, const RunState& run, Context& ctx) {
    Tensor h = x;
    for (auto& [name, l] : layers_) {
        EFFNET_NVTX_RANGE(name.empty() ? l->kind() : name);
        h = l->forward(h, run, ctx);
    }
    return h;
}
Tensor Sequential::backward_impl(const Tensor& dy, Context& ctx) {
    Tensor g = dy;
    for (auto it = layers_.rbegin(); it != layers_.rend(); ++it) {
        EFFNET_NVTX_RANGE((it->first.empty() ? it->second->kind() : it->first) + ".backward");
        g = it->second->backward(g, ctx);
    }
    return g;
}

}  // namespace effnet
