// An exponential moving average of a model's weights (--ema DECAY), kept
// beside the weights the optimizer trains, as timm's ModelEmaV2 keeps it:
//
//   after every training step:   ema = decay * ema + (1 - decay) * w
//
// for every parameter and every floating-point buffer: the batch-norm running
// mean and variance are averaged like the weights (ModelEmaV2 averages the
// whole state dict), not recomputed. Integer buffers (batch-norm's
// num_batches_tracked counter) are copied. The average starts as a copy of the
// model when it is made (after --init). Its decay warms up as TensorFlow's
// num_updates rule does, d_t = min(decay, (1 + t) / (10 + t)) after step t,
// so that the random initial weights do not hold it at chance for the first
// epochs: `decay` itself applies only from warmup_steps(decay) on (0.995:
// step 1,790; 0.998: 4,490, past the end of a 40-epoch run of 3,000 images at
// batch 32, whose whole average is then the warm-up's and the same for every
// larger decay). The run's log says where the warm-up ends.
//
// The average lives on the parameters' device; update() enqueues its work on
// the context's stream and reads nothing back (the stream rule), so it can
// follow train_step (train/step.h) in the same loop without a synchronisation.
//
// How a run uses it (train/epoch.cpp, train/checkpoint.h): the average is
// validated beside the trained weights every epoch and drives the best-epoch,
// plateau and early-stopping decisions; checkpoints hold it as the model's
// tensors, and the trained weights as training state ("optimizer.raw.<name>"),
// so every reader of weights (effnet_eval, effnet_predict, the export, --init)
// gets the average without knowing about it.
#pragma once

#include <string>
#include <vector>

#include "io/safetensors.h"
#include "train/model_spec.h"

namespace effnet {

class WeightEma {
public:
    // A copy of `model`'s parameters and buffers. `decay` in [0, 1).
    WeightEma(Model& model, double decay);

    double decay() const { return decay_; }
    // d_t above.
    static double decay_at(double decay, int64_t step);
    // The first step t whose d_t is `decay` itself: the end of the warm-up.
    static int64_t warmup_steps(double decay);
    // The averaging step after training step `step` (the run's global step,
    // counted from 0), from the model's current weights.
    void update(int64_t step, Context& ctx);
    // Makes the average a copy of the model's current weights.
    void reset_from_model();
    // Exchanges the average and the model's weights (bit-exact; twice restores).
    void swap_with_model();

    // The average's tensors with the model's names, `prefix` prepended, as
    // host views for writing (device tensors copied into `keepalive`).
    std::vector<SafetensorsView> tensor_views(const std::string& prefix,
                                              std::vector<Tensor>& keepalive) const;

private:
    struct Buffer {
        Tensor* model;  // the model's buffer
        Tensor average;
        bool averaged;  // floating point: averaged; otherwise copied
    };
    Model& model_;
    double decay_;
    Tensor values_;  // the same layout as the model's ParameterStore values
    std::vector<std::string> buffer_names_;
    std::vector<Buffer> buffers_;
};

// The prefix under which a checkpoint keeps the trained weights when the
// model's tensors hold their average.
inline const std::string kTrainedWeightsPrefix = "optimizer.raw.";

}  // namespace effnet
