// Geometry of a 2-D convolution over NHWC activations with PyTorch-shaped
// weights [Cout, Cin/groups, kH, kW]. Shared by dense and depthwise convolution.
#pragma once

#include <cstdint>

#include "tensor/launch.h"

namespace effnet {

struct ConvGeometry {
    int64_t n = 1, h = 1, w = 1, cin = 1, cout = 1;
    int64_t kh = 1, kw = 1, stride = 1, pad = 0, groups = 1;

    EFFNET_HD int64_t ho() const { return (h + 2 * pad - kh) / stride + 1; }
    EFFNET_HD int64_t wo() const { return (w + 2 * pad - kw) / stride + 1; }
    EFFNET_HD int64_t cin_per_group() const { return cin / groups; }
    EFFNET_HD int64_t cout_per_group() const { return cout / groups; }
    EFFNET_HD bool is_pointwise() const { return kh == 1 && kw == 1 && stride == 1 && pad == 0 && groups == 1; }
};

}  // namespace effnet
