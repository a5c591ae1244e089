// Mixup (Zhang et al., "mixup: Beyond Empirical Risk Minimization", ICLR
// 2018) of one training batch, done by the loader's workers (data/loader.h).
//
// Images pair up by their position p in the global batch: p with p ^ 1 (0
// with 1, 2 with 3, ...; the order is already a seeded shuffle). Image i of
// a pair becomes x_i' = lambda * x_i + (1 - lambda) * x_j and its target
// lambda * onehot(y_i) + (1 - lambda) * onehot(y_j), which the loss head
// forms by mixing two losses (train/loss_head.h). An image whose partner is
// not in the batch (the last of an odd batch, or of a data-parallel share
// that starts or ends mid-pair) is its own partner and stays as it was, so N
// ranks with even shares pair exactly as one process does. One lambda per
// batch, lambda ~ Beta(alpha, alpha), drawn from (seed, draw) alone, where
// the loader's draw is (epoch, batch): a resumed run draws the same values,
// whatever thread, worker or rank count.
#pragma once

#include <cstdint>

namespace effnet {

// Largest alpha accepted: the sampler (Johnk's method) needs alpha <= 1 to
// accept a draw at least half the time; mixup's usual values are 0.1 to 1.
constexpr double kMaxMixupAlpha = 1.0;

// lambda ~ Beta(alpha, alpha), the draw-th of the stream of `seed`;
// 0 < alpha <= 1 (ContractError otherwise).
float mixup_lambda(double alpha, uint64_t seed, uint64_t draw);

// Index in [0, n) of the partner of image i of a batch whose image 0 sits at
// position `first` of the global batch: i itself when the partner is outside.
int64_t mixup_partner(int64_t i, int64_t n, int64_t first);

// Blends the n images (per_image floats each, NHWC) with their partners in
// place and writes each image's partner label; labels are not changed.
void mix_pairs(float* images, const int32_t* labels, int32_t* partner_labels, int64_t n,
               int64_t per_image, int64_t first, float lambda);

}  // namespace effnet
