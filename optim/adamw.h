// AdamW optimizer over a model's flat ParameterStore (update rule in
// kernels/adamw.h, PyTorch semantics).
//
// Decay applies to tensors marked `decay` (conv and linear weights); BN
// parameters and biases are not decayed unless `decay_all` is set.
// State: step count, first and second moments (flat, on the parameters'
// device), learning rate. The moments are saved in checkpoints.
#pragma once

#include <cstdint>

#include "kernels/adamw.h"
#include "layers/parameters.h"

namespace effnet {

// The kernel's hyperparameters with the reference recipe's defaults (lr 1e-5,
// weight decay 1e-3), and which tensors decay.
struct AdamWConfig : AdamWHyperparameters {
    AdamWConfig() {
        lr = 1e-5;
        weight_decay = 1e-3;
    }
    bool decay_all = false;  // also decay BN parameters and biases
};

class AdamW {
public:
    AdamW(ParameterStore& store, const AdamWConfig& cfg);

    // One update from the gradients in the store.
    void step(Context& ctx);
    double lr() const { return cfg_.lr; }
    void set_lr(double lr) { cfg_.lr = lr; }
    int64_t steps() const { return steps_; }
    void set_steps(int64_t s) { steps_ = s; }
    Tensor& exp_avg() { return m_; }
    Tensor& exp_avg_sq() { return v_; }
    const AdamWConfig& config() const { return cfg_; }

private:
    ParameterStore& store_;
    AdamWConfig cfg_;
    Tensor m_, v_;
    int64_t steps_ = 0;
};

}  // namespace effnet
