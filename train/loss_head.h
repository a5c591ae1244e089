// The loss at the end of the network, planned for the largest batch:
// softmax cross-entropy over num_classes logits, or binary cross-entropy with
// one logit. forward returns the mean loss; backward writes dL/dlogits.
// `smoothing` is the label smoothing of --label-smoothing (kernels/loss.h);
// the head that scores validation has none, so validation losses stay the
// negative log-likelihood whatever the training recipe.
//
// Mixup (--mixup, data/mixup.h): a head built with `mixup` set plans the
// second loss and gradient up front; after set_mix(labels_b, lambda),
// forward and backward score the batch against both label vectors and mix
// them,
//   loss = lambda * L(labels) + (1 - lambda) * L(labels_b), dL/dz likewise,
// which is the loss of the mixed target lambda * onehot(y) + (1 - lambda) *
// onehot(y_b) (both are linear in the target); built from the plain loss
// kernels and moving_average, so every backend has it. clear_mix() ends it.
// A mixed step is not capturable in a CUDA graph as it stands: lambda goes
// to the kernels as a host value and labels_b is a new buffer every step.
#pragma once

#include "train/model_spec.h"
#include "tensor/context.h"

namespace effnet {

class LossHead {
public:
    LossHead(LossKind kind, int64_t max_batch, int64_t num_classes, Device device,
             float smoothing = 0, bool mixup = false);
    float forward(const Tensor& logits, const Tensor& labels, Context& ctx);
    // forward without reading the loss back (capturable in a CUDA graph); the
    // loss stays in loss().
    void forward_on_device(const Tensor& logits, const Tensor& labels, Context& ctx);
    const Tensor& loss() const { return loss_; }
    // dL/dlogits of the mean loss, times `scale`.
    const Tensor& backward(Context& ctx, float scale = 1.0f);
    // Number of correct predictions (argmax, or logit >= 0 for BCE) in the last
    // forward; with mixup, against the label of the larger weight.
    int64_t correct() const;

    // labels_b: int32 [n] on the logits' device, kept until clear_mix();
    // lambda in [0, 1]. Only on a head built with `mixup`.
    void set_mix(const Tensor& labels_b, float lambda);
    void clear_mix();

private:
    void plain_forward(const Tensor& logits, const Tensor& labels, Tensor& probs, Tensor& loss,
                       Context& ctx);
    void plain_backward(const Tensor& probs, const Tensor& labels, Tensor& dlogits, Context& ctx);

    LossKind kind_;
    float smoothing_;
    Tensor probs_, loss_, dlogits_, dlogits_view_, labels_, logits_;
    // Mixup: the partner labels, their loss and gradient, and lambda.
    bool mixing_ = false;
    float lambda_ = 1;
    Tensor labels_b_, loss_b_, dlogits_b_;
};

}  // namespace effnet
