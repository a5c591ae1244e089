// Names of convolution geometries (built with conv_geometry and
// depthwise_geometry, kernels/conv_shape.h) for the tests. Names are valid
// gtest parameter names, so a parametrised test
// reads "Geometries/Conv2dTest.ForwardMatchesDefinition/conv3x3s2_n2_7x5_c3to4"
// and a depthwise one ".../dw5x5s2_n32_28x28_c240" instead of a byte dump
// (INSTANTIATE_TEST_SUITE_P(..., ParamName()), common/param_name.h).
#pragma once

#include <ostream>
#include <string>

#include "common/param_name.h"
#include "kernels/conv_shape.h"

// In ConvGeometry's namespace, for argument-dependent lookup (ParamName, gtest).
namespace effnet {

// "dw5x5s2_n32_28x28_c240" (depthwise), "conv3x3s2_n2_7x5_c3to4" (dense),
// "conv3x3s2g2_n1_5x4_c6to4" (grouped); padding other than k/2 is appended ("_p0").
inline std::string describe(const ConvGeometry& g) {
    const bool depthwise = g.groups == g.cin && g.cin == g.cout && g.groups > 1;
    std::string s = (depthwise ? "dw" : "conv") + std::to_string(g.kh) + "x" +
                    std::to_string(g.kw) + "s" + std::to_string(g.stride);
    if (!depthwise && g.groups != 1) s += "g" + std::to_string(g.groups);
    s += "_n" + std::to_string(g.n) + "_" + std::to_string(g.h) + "x" + std::to_string(g.w) + "_c" +
         std::to_string(g.cin);
    if (!depthwise) s += "to" + std::to_string(g.cout);
    if (g.pad != g.kh / 2) s += "_p" + std::to_string(g.pad);
    return s;
}

// gtest prints a ConvGeometry parameter by its name.
inline void PrintTo(const ConvGeometry& g, std::ostream* os) { *os << describe(g); }

}  // namespace effnet
