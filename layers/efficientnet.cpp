#include "layers/efficientnet.h"

#include <cmath>

#include "layers/batchnorm.h"
#include "layers/conv.h"

namespace effnet {

namespace {
// Tags of the Philox streams of the network's random masks: the head's
// dropout, and each block's drop-path (block i draws from tag
// kFirstBlockRandomTag + i). Distinct tags give independent masks; changing
// one changes every seeded run.
constexpr uint64_t kHeadDropoutRandomTag = 1;
constexpr uint64_t kFirstBlockRandomTag = 1000;
}  // namespace

int64_t round_channels(double channels, double multiplier) {
    const double v = channels * multiplier;
    const int64_t divisor = 8;
    int64_t r =
        std::max<int64_t>(divisor, static_cast<int64_t>(v + divisor / 2.0) / divisor * divisor);
    if (r < 0.9 * v) r += divisor;
    return r;
}

EfficientNetConfig EfficientNetConfig::variant(int b, int64_t num_classes) {
    // (width, depth, dropout) from timm's efficientnet_b0..b7.
    static const double table[8][3] = {{1.0, 1.0, 0.2}, {1.0, 1.1, 0.2}, {1.1, 1.2, 0.3},
                                       {1.2, 1.4, 0.3}, {1.4, 1.8, 0.4}, {1.6, 2.2, 0.4},
                                       {1.8, 2.6, 0.5}, {2.0, 3.1, 0.5}};
    EFFNET_CHECK(b >= 0 && b <= 7, "EfficientNet-B" << b << " does not exist (B0..B7)");
    EfficientNetConfig c;
    c.width = table[b][0];
    c.depth = table[b][1];
    c.dropout = static_cast<float>(table[b][2]);
    c.num_classes = num_classes;
    return c;
}

EfficientNet::EfficientNet(const EfficientNetConfig& cfg) : cfg_(cfg) {
    EFFNET_CHECK(cfg.num_classes >= 1, "EfficientNet needs at least one class");
    const int64_t stem = round_channels(double(cfg.stem_channels), cfg.width);
    // The gradient with respect to the image is never used: the stem skips it.
    append(std::make_unique<Conv2d>(cfg.in_channels, stem, 3, 2), "conv_stem")
        .set_needs_input_grad(false);
    append(std::make_unique<BatchNorm2d>(stem, cfg.bn_eps, cfg.bn_momentum,
                                         BatchNormActivation::SWISH),
           "bn1");

    int64_t total_blocks = 0;
    for (const StageSpec& s : kB0Stages)
        total_blocks += static_cast<int64_t>(std::ceil(s.repeats * cfg.depth));

    auto blocks = std::make_unique<Sequential>();
    int64_t in = stem, index = 0;
    for (size_t si = 0; si < kB0Stages.size(); ++si) {
        const StageSpec& s = kB0Stages[si];
        auto stage = std::make_unique<Sequential>();
        const int64_t out = round_channels(double(s.channels), cfg.width);
        const int64_t repeats = static_cast<int64_t>(std::ceil(s.repeats * cfg.depth));
        for (int64_t r = 0; r < repeats; ++r, ++index) {
            MBConvConfig b;
            b.in = in;
            b.out = out;
            b.expand_ratio = s.expand_ratio;
            b.kernel = s.kernel;
            b.stride = r == 0 ? s.stride : 1;
            b.drop_path = cfg.drop_path * float(index) / float(total_blocks);
            b.tag = kFirstBlockRandomTag + static_cast<uint64_t>(index);
            b.bn_eps = cfg.bn_eps;
            b.bn_momentum = cfg.bn_momentum;
            stage->append(std::make_unique<MBConv>(b), std::to_string(r));
            in = out;
        }
        blocks->append(std::move(stage), std::to_string(si));
    }
    blocks_ = static_cast<Sequential*>(&append(std::move(blocks), "blocks"));

    const int64_t head = round_channels(double(cfg.head_channels), cfg.width);
    append(std::make_unique<Conv2d>(in, head, 1, 1), "conv_head");
    head_act_ = &append(std::make_unique<BatchNorm2d>(head, cfg.bn_eps, cfg.bn_momentum,
                                                      BatchNormActivation::SWISH),
                        "bn2");
    append(std::make_unique<GlobalAvgPool>());
    append(std::make_unique<Dropout>(cfg.dropout, kHeadDropoutRandomTag));
    classifier_ = &append(std::make_unique<Linear>(head, cfg.num_classes), "classifier");
}

Shape EfficientNet::setup_impl(const Shape& in) {
    const Shape out = Sequential::setup_impl(in);
    grad_arena_ = std::make_shared<GradArena>();
    grad_arena_->device = device_;
    for (auto& [name, block] : block_list())
        grad_arena_->floats =
            std::max(grad_arena_->floats, static_cast<MBConv*>(block)->grad_arena_floats());
    for (auto& [name, block] : block_list())
        static_cast<MBConv*>(block)->use_grad_arena(grad_arena_);
    return out;
}

std::vector<std::pair<std::string, Layer*>> EfficientNet::block_list() const {
    std::vector<std::pair<std::string, Layer*>> out;
    for (auto& [si, stage] : blocks_->layers())
        for (auto& [bi, block] : static_cast<Sequential*>(stage.get())->layers())
            out.emplace_back("blocks." + si + "." + bi, block.get());
    return out;
}

}  // namespace effnet

namespace effnet {

std::vector<std::pair<std::string, Layer*>> EfficientNet::execution_order() const {
    std::vector<std::pair<std::string, Layer*>> out;
    for (auto& [name, layer] : layers()) {
        if (name == "blocks") {
            for (auto& b : block_list()) out.push_back(b);
        } else {
            out.emplace_back(name, layer.get());
        }
    }
    return out;
}

Tensor EfficientNet::classifier_weight() {
    std::vector<NamedParam> ps;
    classifier_->collect_params("", ps);
    return ps.at(0).value;
}

}  // namespace effnet
