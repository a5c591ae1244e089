#include "layers/conv.h"

#include <cmath>

#include "kernels/conv2d.h"
#include "kernels/depthwise_conv.h"
#include "tensor/nvtx.h"
#include "tensor/random.h"

namespace effnet {

namespace {
ConvGeometry make_geometry(const Shape& in, int64_t batch, int64_t cout, int64_t k, int64_t stride, int64_t groups) {
    ConvGeometry g;
    g.n = batch;
    g.h = in[1];
    g.w = in[2];
    g.cin = in[3];
    g.cout = cout;
    g.kh = g.kw = k;
    g.stride = stride;
    g.pad = k / 2;
    g.groups = groups;
    return g;
}

void init_goog_conv(Tensor& w, int64_t fan_out, uint64_t seed, uint64_t& stream) {
    fill_normal(w, seed, stream++, 0.0f, static_cast<float>(std::sqrt(2.0 / double(fan_out))));
}
}  // namespace

// ---- Conv2d ------------------------------------------------------------------
Conv2d::Conv2d(int64_t cin, int64_t cout, int64_t kernel, int64_t stride)
    : Layer("Conv2d"), cin_(cin), cout_(cout), k_(kernel), stride_(stride) {
    add_param("weight", Shape{cout, cin, kernel, kernel}, &weight_, &weight_grad_, true);
}

ConvGeometry Conv2d::geometry(int64_t batch) const {
    return make_geometry(input_shape(), batch, cout_, k_, stride_, 1);
}

Shape Conv2d::setup_impl(const Shape& in) {
    EFFNET_CHECK(in.rank() == 4 && in[3] == cin_, "Conv2d: input " << in << " needs NHWC with " << cin_ << " channels");
    ConvGeometry g = make_geometry(in, in[0], cout_, k_, stride_, 1);
    Shape out{in[0], g.ho(), g.wo(), cout_};
    out_ = plan(out);
    return out;
}

Tensor Conv2d::forward_impl(const Tensor& x, const RunState&, Context& ctx) {
    x_ = x;
    Tensor y = rows(out_, batch_);
    conv2d_forward(x, weight_, y, geometry(batch_), ctx);
    return y;
}

Tensor Conv2d::backward_impl(const Tensor& dy, Context& ctx) {
    const ConvGeometry g = geometry(batch_);
    conv2d_backward_weight(x_, dy, weight_grad_, g, ctx);
    Tensor dx = grad_input(batch_);
    conv2d_backward_input(dy, weight_, dx, g, ctx);
    return dx;
}

void Conv2d::reset_own_parameters(uint64_t seed, uint64_t& stream) {
    init_goog_conv(weight_, k_ * k_ * cout_, seed, stream);
}

// ---- DepthwiseConv2d ---------------------------------------------------------
DepthwiseConv2d::DepthwiseConv2d(int64_t channels, int64_t kernel, int64_t stride)
    : Layer("DepthwiseConv2d"), c_(channels), k_(kernel), stride_(stride) {
    add_param("weight", Shape{channels, 1, kernel, kernel}, &weight_, &weight_grad_, true);
}

ConvGeometry DepthwiseConv2d::geometry(int64_t batch) const {
    return make_geometry(input_shape(), batch, c_, k_, stride_, c_);
}

Shape DepthwiseConv2d::setup_impl(const Shape& in) {
    EFFNET_CHECK(in.rank() == 4 && in[3] == c_, "DepthwiseConv2d: input " << in << " needs NHWC with " << c_ << " channels");
    ConvGeometry g = make_geometry(in, in[0], c_, k_, stride_, c_);
    Shape out{in[0], g.ho(), g.wo(), c_};
    out_ = plan(out);
    return out;
}

Tensor DepthwiseConv2d::forward_impl(const Tensor& x, const RunState&, Context& ctx) {
    x_ = x;
    Tensor y = rows(out_, batch_);
    depthwise_conv2d_forward(x, weight_, y, geometry(batch_), ctx);
    return y;
}

Tensor DepthwiseConv2d::backward_impl(const Tensor& dy, Context& ctx) {
    const ConvGeometry g = geometry(batch_);
    depthwise_conv2d_backward_weight(x_, dy, weight_grad_, g, ctx);
    Tensor dx = grad_input(batch_);
    depthwise_conv2d_backward_input(dy, weight_, dx, g, ctx);
    return dx;
}

void DepthwiseConv2d::reset_own_parameters(uint64_t seed, uint64_t& stream) {
    init_goog_conv(weight_, k_ * k_, seed, stream);  // fan_out = k*k*C/groups
}

}  // namespace effnet
