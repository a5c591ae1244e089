// Swish and sigmoid on eight floats at once for the AVX2 inference kernels,
// which apply them to accumulators still in registers.
//
// The same algorithm, constants and operation order as the scalar
// kernels/cpu/vector_exp.h and swish_math.h (which the training graph uses);
// the compiler may contract multiply-adds differently in the two, so results
// agree to a few ulp, not bit for bit (tests/infer/test_infer_kernels.cpp:
// VectorMath.*).
#pragma once

// The AVX2 kernels of infer/cpu are compiled where the target has AVX2 and
// FMA (EFFNET_NATIVE on such a CPU); the portable loops everywhere else.
#if defined(__AVX2__) && defined(__FMA__)
#define EFFNET_INFER_AVX2 1
#else
#define EFFNET_INFER_AVX2 0
#endif

#if EFFNET_INFER_AVX2
#include <immintrin.h>

namespace effnet::infer::cpu {

// Pins a loaded value to a register: GCC otherwise folds the load into each
// FMA that uses it (a memory operand per FMA), and a micro-kernel that reuses
// one operand for several FMAs becomes bound by loads instead of FMAs.
inline void keep_in_register(__m256& v) { __asm__("" : "+x"(v)); }

inline __m256 exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.37f));
    const __m256 shifter = _mm256_set1_ps(12582912.0f);
    const __m256 n = _mm256_sub_ps(
        _mm256_add_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), shifter), shifter);
    const __m256 r = _mm256_sub_ps(_mm256_sub_ps(x, _mm256_mul_ps(n, _mm256_set1_ps(0.693359375f))),
                                   _mm256_mul_ps(n, _mm256_set1_ps(-2.12194440e-4f)));
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(5.0000001201e-1f));
    const __m256 er = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(_mm256_mul_ps(p, r), r), r),
                                    _mm256_set1_ps(1.0f));
    const __m256i bits =
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(er, _mm256_castsi256_ps(bits));
}

inline __m256 sigmoid8(__m256 z) {
    const __m256 one = _mm256_set1_ps(1.0f);
    return _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), z))));
}

// z / (1 + e^-z): one division instead of a reciprocal and a product.
inline __m256 swish8(__m256 z) {
    return _mm256_div_ps(
        z, _mm256_add_ps(_mm256_set1_ps(1.0f), exp8(_mm256_sub_ps(_mm256_setzero_ps(), z))));
}

}  // namespace effnet::infer::cpu

#endif
