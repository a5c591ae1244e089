#include "layers/conv.h"

#include <cmath>

#include "kernels/conv2d.h"
#include "kernels/depthwise_conv.h"
#include "tensor/random.h"

namespace effnet {

Conv2d::Conv2d(int64_t cin, int64_t cout, int64_t kernel, int64_t stride, int64_t groups)
    : Layer(groups > 1 ? "DepthwiseConv2d" : "Conv2d"),
      cin_(cin),
      cout_(cout),
      k_(kernel),
      stride_(stride),
      groups_(groups) {
    EFFNET_CHECK(
        groups == 1 || (groups == cin && cin == cout),
        "Conv2d supports dense (groups 1) or depthwise (groups = channels) convolution, got groups "
            << groups);
    add_param("weight", Shape{cout, cin / groups, kernel, kernel}, &weight_, &weight_grad_,
              WeightDecay::APPLIED);
}

ConvGeometry Conv2d::geometry(const Shape& in, int64_t batch) const {
    return conv_geometry(batch, in[1], in[2], in[3], cout_, k_, stride_, groups_);
}

Shape Conv2d::setup_impl(const Shape& in) {
    EFFNET_CHECK(in.rank() == 4 && in[3] == cin_,
                 kind() << ": input " << in << " needs NHWC with " << cin_ << " channels");
    const ConvGeometry g = geometry(in, in[0]);
    Shape out{in[0], g.ho(), g.wo(), cout_};
    out_ = plan(out);
    return out;
}

Tensor Conv2d::forward_impl(const Tensor& x, const RunState&, Context& ctx) {
    x_ = x;
    Tensor y = rows(out_, batch_);
    const ConvGeometry g = geometry(input_shape(), batch_);
    if (depthwise())
        depthwise_conv2d_forward(x, weight_, y, g, ctx);
    else
        conv2d_forward(x, weight_, y, g, ctx);
    return y;
}

Tensor Conv2d::backward_impl(const Tensor& dy, Context& ctx) {
    const ConvGeometry g = geometry(input_shape(), batch_);
    if (!needs_input_grad()) {
        (depthwise() ? depthwise_conv2d_backward_weight : conv2d_backward_weight)(
            x_, dy, weight_grad_, g, ctx);
        return Tensor();
    }
    Tensor dx = grad_input(batch_);
    if (depthwise()) {
        depthwise_conv2d_backward_weight(x_, dy, weight_grad_, g, ctx);
        depthwise_conv2d_backward_input(dy, weight_, dx, g, ctx);
    } else {
        conv2d_backward_weight(x_, dy, weight_grad_, g, ctx);
        conv2d_backward_input(dy, weight_, dx, g, ctx);
    }
    return dx;
}

void Conv2d::reset_own_parameters(uint64_t seed, uint64_t& stream) {
    const double fan_out = double(k_ * k_ * cout_ / groups_);
    fill_normal(weight_, seed, stream++, 0.0f, static_cast<float>(std::sqrt(2.0 / fan_out)));
}

}  // namespace effnet
