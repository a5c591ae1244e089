#include "train/step.h"

namespace effnet {

Tensor train_step(EfficientNet& net, ParameterStore& store, LossHead& head, AdamW& opt,
                  const Tensor& images, const Tensor& labels, const RunState& run, Context& ctx,
                  const StepHooks& hooks) {
    Tensor logits = net.forward(images, run, ctx);
    head.forward_on_device(logits, labels, ctx);
    const Tensor& dlogits = head.backward(ctx, hooks.loss_scale);
    store.zero_grads();
    net.backward(dlogits, ctx);
    if (hooks.before_update) hooks.before_update(ctx);
    opt.step(ctx);
    return logits;
}

}  // namespace effnet
