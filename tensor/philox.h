// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
// SC 2011): a counter-based generator. Element i of the stream (seed, stream)
// is a pure function of (seed, stream, i), so CPU and GPU fills, any thread
// count and any launch geometry give the same numbers.
//
// Uniforms are bit-identical across devices (integer arithmetic, exact
// conversion). Normals use Box-Muller with logf/sinf/cosf, which can differ by
// a few ulps between host and device maths libraries.
#pragma once

#include <cmath>
#include <cstdint>

#include "tensor/launch.h"

namespace effnet {

struct Philox4 {
    uint32_t v[4];
};

EFFNET_HD inline uint32_t philox_mulhilo(uint32_t a, uint32_t b, uint32_t* hi) {
    uint64_t p = static_cast<uint64_t>(a) * b;
    *hi = static_cast<uint32_t>(p >> 32);
    return static_cast<uint32_t>(p);
}

EFFNET_HD inline Philox4 philox4x32_10(Philox4 ctr, uint32_t k0, uint32_t k1) {
    constexpr uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
    constexpr uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
    for (int round = 0; round < 10; ++round) {
        uint32_t hi0, hi1;
        uint32_t lo0 = philox_mulhilo(M0, ctr.v[0], &hi0);
        uint32_t lo1 = philox_mulhilo(M1, ctr.v[2], &hi1);
        ctr = Philox4{{hi1 ^ ctr.v[1] ^ k0, lo1, hi0 ^ ctr.v[3] ^ k1, lo0}};
        k0 += W0;
        k1 += W1;
    }
    return ctr;
}

// The 4 words of block `block` in stream (seed, stream).
EFFNET_HD inline Philox4 philox_block(uint64_t seed, uint64_t stream, uint64_t block) {
    Philox4 ctr{{static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32),
                 static_cast<uint32_t>(stream), static_cast<uint32_t>(stream >> 32)}};
    return philox4x32_10(ctr, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

// 24 random bits to a float in [0, 1), exactly representable.
EFFNET_HD inline float philox_to_unit(uint32_t x) {
    return static_cast<float>(x >> 8) * (1.0f / 16777216.0f);
}

// Element i of the uniform [0, 1) stream.
EFFNET_HD inline float philox_uniform(uint64_t seed, uint64_t stream, uint64_t i) {
    return philox_to_unit(philox_block(seed, stream, i >> 2).v[i & 3]);
}

// Element i of the standard normal stream (Box-Muller on words 0 and 1 of block i).
EFFNET_HD inline float philox_normal(uint64_t seed, uint64_t stream, uint64_t i) {
    Philox4 r = philox_block(seed, stream ^ 0x6E6F726D616CULL /* "normal" */, i);
    float u1 = (static_cast<float>(r.v[0] >> 8) + 1.0f) * (1.0f / 16777216.0f);  // (0, 1]
    float u2 = philox_to_unit(r.v[1]);
    return sqrtf(-2.0f * logf(u1)) * cosf(6.28318530717958647692f * u2);
}

}  // namespace effnet
