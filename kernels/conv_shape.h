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
    EFFNET_HD bool is_pointwise() const {
        return kh == 1 && kw == 1 && stride == 1 && pad == 0 && groups == 1;
    }
};

// A square k x k convolution of `groups` groups over NHWC [n, h, w, cin] to
// cout channels, padded by k/2 (size-preserving for odd k at stride 1): the
// convolutions effnet builds.
inline ConvGeometry conv_geometry(int64_t n, int64_t h, int64_t w, int64_t cin, int64_t cout,
                                  int64_t k, int64_t stride, int64_t groups = 1) {
    ConvGeometry g;
    g.n = n;
    g.h = h;
    g.w = w;
    g.cin = cin;
    g.cout = cout;
    g.kh = g.kw = k;
    g.stride = stride;
    g.pad = k / 2;
    g.groups = groups;
    return g;
}

// A depthwise one: groups = cin = cout = c.
inline ConvGeometry depthwise_geometry(int64_t n, int64_t h, int64_t w, int64_t c, int64_t k,
                                       int64_t stride) {
    return conv_geometry(n, h, w, c, c, k, stride, c);
}

}  // namespace effnet
