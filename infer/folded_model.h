// FoldedEfficientNet: the inference weights of an EfficientNet with every
// batch norm folded into the convolution before it, independent of any
// backend (the CPU engine packs them; a GPU engine could upload them).
//
// Folding (eval-mode batch norm with eps from the network's config), in double:
//   s[c]  = gamma[c] / sqrt(running_var[c] + eps)
//   W'[c] = W[c] * s[c]                      (every weight of output channel c)
//   b'[c] = beta[c] - running_mean[c] * s[c]
// so that conv(x, W') + b' == BN(conv(x, W)) up to float rounding.
//
// Layouts are PyTorch's (timm's state dict): dense conv [Cout, Cin, k, k],
// depthwise [C, 1, k, k], linear and SE 1x1 convs [out, in].
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "layers/efficientnet.h"

namespace effnet {

struct FoldedConv {
    int64_t cin = 0, cout = 0, kernel = 1, stride = 1;
    bool depthwise = false;
    std::vector<float> weight;  // [cout, depthwise ? 1 : cin, kernel, kernel]
    std::vector<float> bias;    // [cout]
};

// Squeeze-excite's two biased 1x1 convolutions on the pooled vector.
struct FoldedSqueezeExcite {
    int64_t channels = 0, reduced = 0;
    std::vector<float> reduce_weight, reduce_bias;  // [reduced, channels], [reduced]
    std::vector<float> expand_weight, expand_bias;  // [channels, reduced], [channels]
};

// One MBConv block: [expand (1x1 + swish)] -> depthwise (+ swish) -> SE gate
// -> project (1x1, no activation) [+ the block's input].
struct FoldedBlock {
    std::string name;  // "blocks.S.B"
    bool has_expand = false, residual = false;
    FoldedConv expand, depthwise, project;
    FoldedSqueezeExcite se;
};

struct FoldedEfficientNet {
    int64_t in_channels = 3, num_classes = 0;
    FoldedConv stem;  // 3x3/2 (+ swish)
    std::vector<FoldedBlock> blocks;
    FoldedConv head;  // 1x1 (+ swish), then global average pool
    std::vector<float> classifier_weight, classifier_bias;  // [classes, head], [classes]

    // Reads the parameters and running statistics of `net` (any device) by
    // their timm names and folds them. The network is left unchanged.
    static FoldedEfficientNet from_network(EfficientNet& net);
};

}  // namespace effnet
