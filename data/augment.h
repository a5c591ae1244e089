// Training augmentation that respects chest anatomy, seeded per sample.
//
// One affine resampling (bilinear, zero fill) combines a random resized crop
// (area fraction in [scale_min, scale_max], aspect ratio in [ratio_min,
// ratio_max]) and a rotation in [-rotate_deg, rotate_deg]; then brightness
// and contrast jitter. Horizontal flips are OFF by default: the heart sits on
// the patient's left, and a flipped film is anatomically a different image.
// Every random draw comes from Philox(seed, stream), so a sample gets the
// same augmentation whatever thread or worker count produced it.
#pragma once

#include <cstdint>

#include "data/preprocess.h"

namespace effnet {

struct AugmentConfig {
    bool enabled = false;
    double scale_min = 0.85, scale_max = 1.0;
    double ratio_min = 0.9, ratio_max = 1.1;
    double rotate_deg = 10.0;
    double brightness = 0.1;  // additive, as a fraction of 255
    double contrast = 0.1;    // multiplicative around the mean: 1 +- contrast
    bool hflip = false;
};

Plane augment(const Plane& src, const AugmentConfig& cfg, uint64_t seed, uint64_t stream);

}  // namespace effnet
