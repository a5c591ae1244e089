// BatchNorm2d over NHWC activations (PyTorch semantics; formulas in
// kernels/batchnorm.h).
//
// Parameters: weight (gamma) [C], init 1; bias (beta) [C], init 0; not decayed
// by default. Buffers: running_mean [C] (0), running_var [C] (1),
// num_batches_tracked (int64 scalar, counts training forwards).
// TRAIN: normalises with batch statistics, updates the running statistics
// (momentum 0.1: new = 0.9*old + 0.1*batch, unbiased variance), saves the
// input, mean and invstd. EVAL: normalises with the running statistics.
// Backward is defined for TRAIN forwards (batch statistics).
//
// With BatchNormActivation::SWISH the layer is timm's BatchNormAct2d with
// SiLU: y = swish(BN(x)), through the fused kernels of kernels/bn_swish.h
// (one pass each way, z never stored). Parameter names are unchanged.
#pragma once

#include "kernels/batchnorm.h"
#include "kernels/bn_swish.h"
#include "layers/layer.h"

namespace effnet {

enum class BatchNormActivation { NONE, SWISH };

class BatchNorm2d : public Layer {
public:
    explicit BatchNorm2d(int64_t channels, double eps = 1e-5, double momentum = 0.1,
                         BatchNormActivation act = BatchNormActivation::NONE);
    double eps() const { return p_.eps; }
    bool fused_swish() const { return swish_; }

protected:
    Shape setup_impl(const Shape& input) override;
    Tensor forward_impl(const Tensor& x, const RunState& run, Context& ctx) override;
    Tensor backward_impl(const Tensor& dy, Context& ctx) override;
    void reset_own_parameters(uint64_t seed, uint64_t& stream) override;

private:
    int64_t c_;
    BatchNormParams p_;
    bool swish_;
    Tensor gamma_, gamma_grad_, beta_, beta_grad_;
    Tensor running_mean_, running_var_, num_batches_;
    Tensor save_mean_, save_invstd_, save_affine_, out_, x_;
    bool saved_train_ = false;
};

}  // namespace effnet
