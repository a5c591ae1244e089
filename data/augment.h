// Training augmentation that respects chest anatomy, seeded per sample.
//
// One affine resampling (bilinear, zero fill) combines a random resized crop
// (area fraction in [scale_min, scale_max], aspect ratio in [ratio_min,
// ratio_max]) and a rotation in [-rotate_deg, rotate_deg]; then brightness
// and contrast jitter. An area above 1 (scale_max > 1) is a window larger
// than the image: the film shrinks inside a black border (a zoom out, as a
// smaller patient or a longer source distance would show it); a draw of
// area <= 1 is a crop inside the image whatever scale_max is. Horizontal
// flips are OFF by default: the heart sits on the patient's left, and a
// flipped film is anatomically a different image.
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

// Test-time views (--tta N): the evaluator averages the logits of an image
// seen through views 0 .. N-1 of a fixed table. View 0 is the image itself;
// the others are small zooms (x1.03 to x1.10, the range of the training
// crops) and shifts (2.5% of the side) of it, never a flip or a rotation,
// chosen so that every view stays inside the image (0.5 / zoom + |shift| <=
// 0.5): no view shows a border the network never saw.
//
// A view maps output pixel centre u (normalised to [0, 1]) to the source at
//   (u - 0.5) / zoom + 0.5 - shift,
// so content moves by +shift (a fraction of the side: dx to the right, dy
// down) and is magnified by zoom about the centre; bilinear, `fill` outside
// the source. Deterministic: no randomness is involved.
struct ViewTransform {
    double zoom = 1, dx = 0, dy = 0;
};
constexpr int kMaxTtaViews = 8;
// View `view` of the table, 0 <= view < kMaxTtaViews (ContractError otherwise).
ViewTransform tta_view(int view);
// dst = src seen through t, for one NHWC image of width x height x channels
// floats; fill[c] is the value of channel c outside the source. The identity
// transform copies exactly. dst must not overlap src.
void apply_view(const float* src, float* dst, int width, int height, int channels,
                const float* fill, const ViewTransform& t);

}  // namespace effnet
