// One training step, the loop body of every caller that trains: the trainer,
// effnet_bench's step timing, the CUDA-graph test and the timm parity test.
//
//   logits = net.forward(images)             (train mode: dropout, drop-path, BN batch statistics)
//   loss   = head.forward(logits, labels)    (stays on the device: head.loss())
//   grads  = net.backward(head.backward())   (the store's gradients, zeroed first)
//   before_update(ctx)                       (optional: the gradient all-reduce of a data-parallel run)
//   opt.step()                               (AdamW on the store's values)
//
// Everything is enqueued on ctx's stream and nothing is read back, so on the
// GPU the step is capturable in a CUDA graph and the host waits only when the
// caller reads the loss. The gradients stay in the store after the step.
#pragma once

#include <functional>

#include "layers/efficientnet.h"
#include "layers/parameters.h"
#include "optim/adamw.h"
#include "train/loss_head.h"

namespace effnet {

struct StepHooks {
    // Runs once the gradients are complete and before the update.
    std::function<void(Context&)> before_update;
    // dL/dlogits is multiplied by this before backward. A data-parallel rank
    // whose share of the global batch differs from the others' passes
    // n_rank * ranks / n_global, so that the average of the ranks' gradients
    // is the gradient of the global batch's mean loss (1: unchanged).
    float loss_scale = 1.0f;
};

// Returns the step's logits (the network's output buffer, valid until its
// next forward).
Tensor train_step(EfficientNet& net, ParameterStore& store, LossHead& head, AdamW& opt,
                  const Tensor& images, const Tensor& labels, const RunState& run, Context& ctx,
                  const StepHooks& hooks = {});

}  // namespace effnet
