// EfficientNet (B0 by default; B1-B7 by width/depth multipliers), named and
// shaped exactly as timm's `efficientnet_b<k>` state dict:
//
//   conv_stem 3x3/2 -> bn1 -> swish -> blocks.S.B (MBConv, table below)
//   -> conv_head 1x1 -> bn2 -> swish -> global average pool -> dropout
//   -> classifier (linear to num_classes)
//
// Input NHWC [N, H, W, in_channels]; output logits [N, num_classes].
// Drop-path probability rises linearly over blocks: rate * index / count.
#pragma once

#include <array>
#include <string>

#include "layers/basic.h"
#include "layers/mbconv.h"

namespace effnet {

struct StageSpec {
    int64_t expand_ratio, kernel, stride, channels, repeats;
};

// EfficientNet-B0 stages, as timm's efficientnet_b0 (docs/design.md §5).
constexpr std::array<StageSpec, 7> kB0Stages = {{
    {1, 3, 1, 16, 1},
    {6, 3, 2, 24, 2},
    {6, 5, 2, 40, 2},
    {6, 3, 2, 80, 3},
    {6, 5, 1, 112, 3},
    {6, 5, 2, 192, 4},
    {6, 3, 1, 320, 1},
}};

struct EfficientNetConfig {
    double width = 1.0;  // channel multiplier
    double depth = 1.0;  // repeat multiplier
    int64_t num_classes = 2;
    int64_t in_channels = 3;  // 1 for a grey stem
    float dropout = 0.2f;
    float drop_path = 0.2f;
    int64_t stem_channels = 32;
    int64_t head_channels = 1280;
    double bn_eps = 1e-5;
    double bn_momentum = 0.1;

    // timm's efficientnet_b0 .. b7 (width, depth, dropout).
    static EfficientNetConfig variant(int b, int64_t num_classes);
};

// timm's round_channels: a multiple of 8, never below 90% of the scaled width.
int64_t round_channels(double channels, double multiplier);

class EfficientNet : public Sequential {
public:
    explicit EfficientNet(const EfficientNetConfig& cfg);
    const EfficientNetConfig& config() const { return cfg_; }
    // The block layers of the "blocks" child, in order ("blocks.S.B").
    std::vector<std::pair<std::string, Layer*>> block_list() const;
    // Every top-level layer in execution order with "blocks" expanded into its
    // MBConv blocks; unnamed layers (pool, dropout) have "" names.
    std::vector<std::pair<std::string, Layer*>> execution_order() const;
    // The last conv block's activations (after conv_head and bn2 with its swish) from
    // the last forward: [N, h, w, head_channels]. Used for class activation maps.
    const Tensor& head_features() const { return head_act_->last_output(); }
    // The classifier's weight [num_classes, head_channels].
    Tensor classifier_weight();

protected:
    // Plans every layer, then gives all MBConv blocks one shared arena for
    // their inner input gradients (MBConv::use_grad_arena).
    Shape setup_impl(const Shape& in) override;

private:
    EfficientNetConfig cfg_;
    Sequential* blocks_ = nullptr;
    Layer* head_act_ = nullptr;
    Layer* classifier_ = nullptr;
    std::shared_ptr<GradArena> grad_arena_;
};

}  // namespace effnet
