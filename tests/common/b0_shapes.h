// The distinct shapes at which EfficientNet-B0 (width and depth 1.0) runs its
// depthwise convolutions, squeeze-excite blocks and batch norms, derived from
// the stage table (kB0Stages, layers/efficientnet.h) and the MBConv layout
// (layers/mbconv.h), for the launch-walk and GPU kernel tests.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "common/conv_geometry.h"
#include "kernels/conv_shape.h"
#include "layers/efficientnet.h"

namespace effnet::test {

struct SeShape {
    int64_t n, h, w, c;
};
struct BnShape {
    int64_t rows, c;  // rows = N*H*W
    bool swish;       // fused BN+swish (else a plain batch norm: the blocks' projections)
};

// "se_n32_7x7_c1152"; "bn_swish_m25088_c144" (or "batchnorm_...").
inline std::string describe(const SeShape& s) {
    return "se_n" + std::to_string(s.n) + "_" + std::to_string(s.h) + "x" + std::to_string(s.w) +
           "_c" + std::to_string(s.c);
}
inline std::string describe(const BnShape& s) {
    return std::string(s.swish ? "bn_swish" : "batchnorm") + "_m" + std::to_string(s.rows) + "_c" +
           std::to_string(s.c);
}

struct B0Shapes {
    std::vector<ConvGeometry> depthwise;
    std::vector<SeShape> se;  // also the head's global pool (7x7x1280)
    std::vector<BnShape> batchnorm;
};

// Every distinct depthwise / SE / BN shape of B0 at `batch` images of image x image pixels.
inline B0Shapes b0_shapes(int64_t batch, int64_t image = 224) {
    B0Shapes s;
    auto add_dw = [&](const ConvGeometry& g) {
        auto same = [&](const ConvGeometry& o) {
            return std::tie(o.n, o.h, o.w, o.cin, o.kh, o.stride) ==
                   std::tie(g.n, g.h, g.w, g.cin, g.kh, g.stride);
        };
        if (std::none_of(s.depthwise.begin(), s.depthwise.end(), same)) s.depthwise.push_back(g);
    };
    auto add_se = [&](int64_t h, int64_t c) {
        auto same = [&](const SeShape& o) { return o.h == h && o.c == c; };
        if (std::none_of(s.se.begin(), s.se.end(), same)) s.se.push_back({batch, h, h, c});
    };
    auto add_bn = [&](int64_t h, int64_t c, bool swish) {
        auto same = [&](const BnShape& o) {
            return o.rows == batch * h * h && o.c == c && o.swish == swish;
        };
        if (std::none_of(s.batchnorm.begin(), s.batchnorm.end(), same))
            s.batchnorm.push_back({batch * h * h, c, swish});
    };
    const EfficientNetConfig cfg;
    int64_t h = (image + 2 - 3) / 2 + 1;  // the 3x3/2 stem, pad 1
    int64_t in = cfg.stem_channels;
    add_bn(h, in, true);
    for (const StageSpec& st : kB0Stages)
        for (int64_t r = 0; r < st.repeats; ++r) {
            const int64_t stride = r == 0 ? st.stride : 1, mid = in * st.expand_ratio;
            if (st.expand_ratio != 1) add_bn(h, mid, true);  // after the expanding 1x1
            const ConvGeometry g = depthwise_geometry(batch, h, h, mid, st.kernel, stride);
            add_dw(g);
            h = g.ho();
            add_bn(h, mid, true);  // after the depthwise convolution
            add_se(h, mid);
            add_bn(h, st.channels, false);  // after the projecting 1x1
            in = st.channels;
        }
    add_bn(h, cfg.head_channels, true);
    add_se(h, cfg.head_channels);  // the global average pool before the classifier
    return s;
}

}  // namespace effnet::test
