// Convolution layers over NHWC activations, without bias (each is followed by
// batch norm in EfficientNet).
//
// Conv2d: dense k x k convolution (stem 3x3/2, every 1x1 pointwise conv).
//   Parameter: weight [Cout, Cin, k, k] (decayed). Saves its input.
// DepthwiseConv2d: one k x k filter per channel, padding k/2.
//   Parameter: weight [C, 1, k, k] (decayed). Saves its input.
// Both: output [N, Ho, Wo, Cout] with Ho = (H + 2*(k/2) - k)/stride + 1.
// Init (timm, "goog"): normal(0, sqrt(2 / (k*k*Cout/groups))).
#pragma once

#include "kernels/conv_shape.h"
#include "layers/layer.h"

namespace effnet {

class Conv2d : public Layer {
public:
    Conv2d(int64_t cin, int64_t cout, int64_t kernel, int64_t stride);

protected:
    Shape setup_impl(const Shape& input) override;
    Tensor forward_impl(const Tensor& x, const RunState& run, Context& ctx) override;
    Tensor backward_impl(const Tensor& dy, Context& ctx) override;
    void reset_own_parameters(uint64_t seed, uint64_t& stream) override;

private:
    ConvGeometry geometry(int64_t batch) const;
    int64_t cin_, cout_, k_, stride_;
    Tensor weight_, weight_grad_, out_, x_;
};

class DepthwiseConv2d : public Layer {
public:
    DepthwiseConv2d(int64_t channels, int64_t kernel, int64_t stride);

protected:
    Shape setup_impl(const Shape& input) override;
    Tensor forward_impl(const Tensor& x, const RunState& run, Context& ctx) override;
    Tensor backward_impl(const Tensor& dy, Context& ctx) override;
    void reset_own_parameters(uint64_t seed, uint64_t& stream) override;

private:
    ConvGeometry geometry(int64_t batch) const;
    int64_t c_, k_, stride_;
    Tensor weight_, weight_grad_, out_, x_;
};

}  // namespace effnet
