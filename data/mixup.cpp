#include "data/mixup.h"

#include <algorithm>
#include <cmath>

#include "tensor/error.h"
#include "tensor/philox.h"
#include "tensor/random.h"

namespace effnet {

float mixup_lambda(double alpha, uint64_t seed, uint64_t draw) {
    EFFNET_CHECK(alpha > 0 && alpha <= kMaxMixupAlpha,
                 "mixup alpha " << alpha << " outside (0, " << kMaxMixupAlpha << "]");
    // Johnk's method: with U, V uniform, X = U^(1/a) and Y = V^(1/a) give
    // X / (X + Y) ~ Beta(a, a) given X + Y <= 1. In logs, so that a small
    // alpha (U^(1/a) underflows) still divides correctly. Acceptance is
    // Gamma(a + 1)^2 / Gamma(2a + 1): 1/2 at a = 1, 0.95 at a = 0.2.
    const uint64_t stream = mix64(0x6d69787570ull);  // "mixup"
    for (uint64_t k = 0; k < 512; k += 2) {
        // Uniforms in (0, 1]: log never sees 0.
        const double u = 1.0 - double(philox_uniform(seed, stream, draw * 512 + k));
        const double v = 1.0 - double(philox_uniform(seed, stream, draw * 512 + k + 1));
        const double log_x = std::log(u) / alpha, log_y = std::log(v) / alpha;
        const double log_sum =
            std::max(log_x, log_y) + std::log1p(std::exp(-std::fabs(log_x - log_y)));
        if (log_sum <= 0) return float(1.0 / (1.0 + std::exp(log_y - log_x)));
    }
    return 0.5f;  // 256 rejections in a row: probability below 2^-256
}

int64_t mixup_partner(int64_t i, int64_t n, int64_t first) {
    const int64_t j = ((first + i) ^ 1) - first;
    return j >= 0 && j < n ? j : i;
}

void mix_pairs(float* images, const int32_t* labels, int32_t* partner_labels, int64_t n,
               int64_t per_image, int64_t first, float lambda) {
    const float mu = 1.0f - lambda;
    for (int64_t i = 0; i < n; ++i) {
        const int64_t j = mixup_partner(i, n, first);
        partner_labels[i] = labels[j];
        if (j <= i) continue;  // each pair blended once, from its first image
        float* a = images + i * per_image;
        float* b = images + j * per_image;
        for (int64_t p = 0; p < per_image; ++p) {
            const float x = a[p], y = b[p];
            a[p] = lambda * x + mu * y;
            b[p] = lambda * y + mu * x;
        }
    }
}

}  // namespace effnet
