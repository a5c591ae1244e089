// Small layers: activations, pooling, dropout, linear, and Sequential.
//
// Swish:   y = x * sigmoid(x), any shape; saves its input.
// Sigmoid: y = 1/(1+e^-x), any shape; saves its output.
// GlobalAvgPool: [N,H,W,C] -> [N,C], mean over H*W.
// Dropout(p): TRAIN zeroes each element with probability p and scales the
//   rest by 1/(1-p) (mask from Philox(run.seed, stream(tag, run.step)));
//   EVAL is the identity.
// Linear(in, out, shape): y = x W^T + b on [N, in] -> [N, out].
//   weight [out, in] (the classifier), or [out, in, 1, 1] with CONV_1X1 (SE's
//   1x1 convolutions on pooled features, stored as timm stores them),
//   decayed; bias [out], not decayed. Init: classifier uniform(+-1/sqrt(in))
//   (PyTorch's default); conv-shaped normal(0, sqrt(2/out)) (timm); bias 0.
// Sequential: runs its layers in order; backward in reverse. Named entries
//   are children (their parameters are named "<name>.<param>").
#pragma once

#include <string>
#include <vector>

#include "layers/layer.h"

namespace effnet {

class Swish : public Layer {
public:
    Swish() : Layer("Swish") {}

protected:
    Shape setup_impl(const Shape& in) override;
    Tensor forward_impl(const Tensor& x, const RunState& run, Context& ctx) override;
    Tensor backward_impl(const Tensor& dy, Context& ctx) override;

private:
    Tensor out_, x_;
};

class Sigmoid : public Layer {
public:
    Sigmoid() : Layer("Sigmoid") {}

protected:
    Shape setup_impl(const Shape& in) override;
    Tensor forward_impl(const Tensor& x, const RunState& run, Context& ctx) override;
    Tensor backward_impl(const Tensor& dy, Context& ctx) override;

private:
    Tensor out_, y_;
};

class GlobalAvgPool : public Layer {
public:
    GlobalAvgPool() : Layer("GlobalAvgPool") {}

protected:
    Shape setup_impl(const Shape& in) override;
    Tensor forward_impl(const Tensor& x, const RunState& run, Context& ctx) override;
    Tensor backward_impl(const Tensor& dy, Context& ctx) override;

private:
    Tensor out_;
};

class Dropout : public Layer {
public:
    Dropout(float p, uint64_t tag) : Layer("Dropout"), p_(p), tag_(tag) {}

protected:
    Shape setup_impl(const Shape& in) override;
    Tensor forward_impl(const Tensor& x, const RunState& run, Context& ctx) override;
    Tensor backward_impl(const Tensor& dy, Context& ctx) override;

private:
    float p_;
    uint64_t tag_, seed_ = 0, stream_ = 0, first_ = 0;
    bool active_ = false;
    Tensor out_;
};

enum class LinearWeightShape { MATRIX, CONV_1X1 };

class Linear : public Layer {
public:
    Linear(int64_t in, int64_t out, LinearWeightShape shape = LinearWeightShape::MATRIX);

protected:
    Shape setup_impl(const Shape& in) override;
    Tensor forward_impl(const Tensor& x, const RunState& run, Context& ctx) override;
    Tensor backward_impl(const Tensor& dy, Context& ctx) override;
    void reset_own_parameters(uint64_t seed, uint64_t& stream) override;

private:
    int64_t in_, out_features_;
    bool conv_shaped_;
    Tensor weight_, weight_grad_, b_, b_grad_, out_, x_;
};

class Sequential : public Layer {
public:
    Sequential() : Layer("Sequential") {}
    // Appends a layer; a non-empty name makes it a named child.
    Layer& append(std::unique_ptr<Layer> layer, const std::string& name = "");
    const std::vector<std::pair<std::string, std::unique_ptr<Layer>>>& layers() const {
        return layers_;
    }

protected:
    Shape setup_impl(const Shape& in) override;
    Tensor forward_impl(const Tensor& x, const RunState& run, Context& ctx) override;
    Tensor backward_impl(const Tensor& dy, Context& ctx) override;

private:
    std::vector<std::pair<std::string, std::unique_ptr<Layer>>> layers_;
};

// The Philox stream of a stochastic layer's mask at a training step.
uint64_t mask_stream(uint64_t tag, uint64_t step);

}  // namespace effnet
