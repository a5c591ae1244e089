// Read-only loads of one float or of a short vector, as __host__ __device__
// functions: through the read-only data cache (__ldg) on the GPU, plain loads
// when CPU tests run a kernel's per-thread loop.
#pragma once

#include "tensor/launch.h"

namespace effnet::cuda {

EFFNET_HD inline float load_ro(const float* p) {
#if defined(__CUDA_ARCH__)
    return __ldg(p);
#else
    return *p;
#endif
}

// V consecutive floats (V == 4: one 16-byte load; p must be 16-byte aligned).
template <int V>
EFFNET_HD inline void load_vec(const float* p, float (&v)[V]) {
#if defined(__CUDA_ARCH__)
    if constexpr (V == 4) {
        const float4 q = __ldg(reinterpret_cast<const float4*>(p));
        v[0] = q.x;
        v[1] = q.y;
        v[2] = q.z;
        v[3] = q.w;
    } else {
        for (int i = 0; i < V; ++i) v[i] = __ldg(p + i);
    }
#else
    for (int i = 0; i < V; ++i) v[i] = p[i];
#endif
}

}  // namespace effnet::cuda
