// Convolution layers over NHWC activations, without bias (each is followed by
// batch norm in EfficientNet).
//
// Conv2d(cin, cout, k, stride, groups): k x k convolution, padding k/2.
//   groups == 1: dense (the stem 3x3/2 and every 1x1 pointwise conv);
//   groups == cin == cout: depthwise, one filter per channel (DepthwiseConv2d).
//   Parameter: weight [Cout, Cin/groups, k, k] (decayed). Saves its input.
//   Output [N, Ho, Wo, Cout] with Ho = (H + 2*(k/2) - k)/stride + 1.
// Init (timm, "goog"): normal(0, sqrt(2 / (k*k*Cout/groups))).
#pragma once

#include "kernels/conv_shape.h"
#include "layers/layer.h"

namespace effnet {

class Conv2d : public Layer {
public:
    Conv2d(int64_t cin, int64_t cout, int64_t kernel, int64_t stride, int64_t groups = 1);
    int64_t kernel() const { return k_; }
    int64_t stride() const { return stride_; }
    int64_t groups() const { return groups_; }

protected:
    Shape setup_impl(const Shape& input) override;
    Tensor forward_impl(const Tensor& x, const RunState& run, Context& ctx) override;
    Tensor backward_impl(const Tensor& dy, Context& ctx) override;
    void reset_own_parameters(uint64_t seed, uint64_t& stream) override;

private:
    bool depthwise() const { return groups_ > 1; }
    ConvGeometry geometry(const Shape& in, int64_t batch) const;
    int64_t cin_, cout_, k_, stride_, groups_;
    Tensor weight_, weight_grad_, out_, x_;
};

// Depthwise k x k convolution over `channels` channels.
class DepthwiseConv2d : public Conv2d {
public:
    DepthwiseConv2d(int64_t channels, int64_t kernel, int64_t stride)
        : Conv2d(channels, channels, kernel, stride, channels) {}
};

}  // namespace effnet
