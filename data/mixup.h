// Mixup (Zhang et al., "mixup: Beyond Empirical Risk Minimization", ICLR
// 2018) of one training batch, on the host before it goes to the device.
//
// Image i of a batch of n is blended with the batch reversed (timm's batch
// mode): x_i' = lambda * x_i + (1 - lambda) * x_{n-1-i}; the middle image of
// an odd batch is its own partner and stays as it was. Its target becomes
// lambda * onehot(y_i) + (1 - lambda) * onehot(y_{n-1-i}), which the loss
// head forms by mixing two losses (train/loss_head.h). One lambda per step,
// lambda ~ Beta(alpha, alpha), drawn from (seed, step) alone: a resumed run
// draws the same values, whatever thread or worker count.
//
// On N data-parallel ranks each rank mixes within its own share of the
// global batch (shares are contiguous slices of it), so the pairs, not the
// lambdas, differ from one process's.
#pragma once

#include <cstdint>

namespace effnet {

// Largest alpha accepted: Johnk's sampler below needs alpha <= 1 to accept
// a draw at least half the time (mixup's usual values are 0.1 to 1).
constexpr double kMaxMixupAlpha = 1.0;

// lambda ~ Beta(alpha, alpha) for training step `step`, 0 < alpha <= 1
// (ContractError otherwise).
float mixup_lambda(double alpha, uint64_t seed, uint64_t step);

// images: n NHWC images of per_image floats each, blended in place as above.
void mix_with_reversed(float* images, int64_t n, int64_t per_image, float lambda);

// out[i] = labels[n - 1 - i]: the partner's label of each image.
void reversed_labels(const int32_t* labels, int32_t* out, int64_t n);

}  // namespace effnet
