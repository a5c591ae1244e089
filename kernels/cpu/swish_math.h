// Element formulas of sigmoid and swish shared by the CPU activation kernels
// and the fused batch norm + swish, so that fused and unfused models round
// alike (the same expressions, in the same order, as PyTorch's).
#pragma once

#include "kernels/cpu/vector_exp.h"

namespace effnet::cpu {

template <class T>
inline T sigmoid(T z) {
    return T(1) / (T(1) + vector_exp(-z));
}
template <class T>
inline T swish(T z) {
    return z * sigmoid(z);
}
// dL/dz for y = swish(z): dy * s * (1 + z * (1 - s)), s = sigmoid(z).
template <class T>
inline T swish_grad(T dy, T z) {
    const T s = sigmoid(z);
    return dy * s * (T(1) + z * (T(1) - s));
}

}  // namespace effnet::cpu
