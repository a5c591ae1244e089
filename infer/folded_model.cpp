#include "infer/folded_model.h"

#include <cmath>
#include <map>

#include "layers/mbconv.h"

namespace effnet {

namespace {

// The network's tensors by dotted name, copied to the host as floats.
class NamedTensors {
public:
    explicit NamedTensors(EfficientNet& net) {
        std::vector<NamedParam> params;
        net.collect_params("", params);
        for (auto& p : params) values_[p.name] = p.value.to_vector();
        std::vector<NamedBuffer> buffers;
        net.collect_buffers("", buffers);
        for (auto& b : buffers)
            if (b.value->dtype() == DType::FLOAT32) values_[b.name] = b.value->to_vector();
    }
    const std::vector<float>& at(const std::string& name) const {
        auto it = values_.find(name);
        EFFNET_CHECK(it != values_.end(),
                     "FoldedEfficientNet: the network has no tensor '" << name << "'");
        return it->second;
    }

private:
    std::map<std::string, std::vector<float>> values_;
};

// Convolution `conv` followed by batch norm `bn` (prefixes of timm names).
FoldedConv fold_conv_bn(const NamedTensors& t, const std::string& conv, const std::string& bn,
                        int64_t cin, int64_t cout, int64_t kernel, int64_t stride, bool depthwise,
                        double eps) {
    FoldedConv f;
    f.cin = cin;
    f.cout = cout;
    f.kernel = kernel;
    f.stride = stride;
    f.depthwise = depthwise;
    const std::vector<float>& w = t.at(conv + ".weight");
    const std::vector<float>& gamma = t.at(bn + ".weight");
    const std::vector<float>& beta = t.at(bn + ".bias");
    const std::vector<float>& mean = t.at(bn + ".running_mean");
    const std::vector<float>& var = t.at(bn + ".running_var");
    const int64_t per_channel = (depthwise ? 1 : cin) * kernel * kernel;
    EFFNET_CHECK(int64_t(w.size()) == cout * per_channel && int64_t(gamma.size()) == cout,
                 "FoldedEfficientNet: " << conv << " has " << w.size() << " weights, expected "
                                        << cout * per_channel);
    f.weight.resize(w.size());
    f.bias.resize(size_t(cout));
    for (int64_t c = 0; c < cout; ++c) {
        const double s = double(gamma[c]) / std::sqrt(double(var[c]) + eps);
        for (int64_t i = 0; i < per_channel; ++i)
            f.weight[c * per_channel + i] = float(double(w[c * per_channel + i]) * s);
        f.bias[c] = float(double(beta[c]) - double(mean[c]) * s);
    }
    return f;
}

FoldedSqueezeExcite squeeze_excite(const NamedTensors& t, const std::string& se, int64_t channels) {
    FoldedSqueezeExcite f;
    f.channels = channels;
    f.reduce_weight = t.at(se + ".conv_reduce.weight");
    f.reduce_bias = t.at(se + ".conv_reduce.bias");
    f.expand_weight = t.at(se + ".conv_expand.weight");
    f.expand_bias = t.at(se + ".conv_expand.bias");
    f.reduced = int64_t(f.reduce_bias.size());
    EFFNET_CHECK(int64_t(f.reduce_weight.size()) == f.reduced * channels &&
                     int64_t(f.expand_weight.size()) == f.reduced * channels &&
                     int64_t(f.expand_bias.size()) == channels,
                 "FoldedEfficientNet: " << se << " does not match " << channels << " channels");
    return f;
}

}  // namespace

FoldedEfficientNet FoldedEfficientNet::from_network(EfficientNet& net) {
    const NamedTensors t(net);
    const EfficientNetConfig& cfg = net.config();
    const double eps = cfg.bn_eps;
    FoldedEfficientNet f;
    f.in_channels = cfg.in_channels;
    f.num_classes = cfg.num_classes;
    const int64_t stem = int64_t(t.at("bn1.weight").size());
    f.stem = fold_conv_bn(t, "conv_stem", "bn1", cfg.in_channels, stem, 3, 2, false, eps);

    for (auto& [name, layer] : net.block_list()) {
        const MBConvConfig& c = static_cast<const MBConv*>(layer)->config();
        FoldedBlock b;
        b.name = name;
        b.has_expand = c.expand_ratio != 1;
        b.residual = static_cast<const MBConv*>(layer)->has_residual();
        const int64_t mid = c.in * c.expand_ratio;
        const std::string p = name + ".";
        if (b.has_expand) {
            b.expand = fold_conv_bn(t, p + "conv_pw", p + "bn1", c.in, mid, 1, 1, false, eps);
            b.depthwise =
                fold_conv_bn(t, p + "conv_dw", p + "bn2", mid, mid, c.kernel, c.stride, true, eps);
            b.project = fold_conv_bn(t, p + "conv_pwl", p + "bn3", mid, c.out, 1, 1, false, eps);
        } else {
            b.depthwise =
                fold_conv_bn(t, p + "conv_dw", p + "bn1", mid, mid, c.kernel, c.stride, true, eps);
            b.project = fold_conv_bn(t, p + "conv_pw", p + "bn2", mid, c.out, 1, 1, false, eps);
        }
        b.se = squeeze_excite(t, p + "se", mid);
        f.blocks.push_back(std::move(b));
    }

    const int64_t last = f.blocks.empty() ? stem : f.blocks.back().project.cout;
    const int64_t head = int64_t(t.at("bn2.weight").size());
    f.head = fold_conv_bn(t, "conv_head", "bn2", last, head, 1, 1, false, eps);
    f.classifier_weight = t.at("classifier.weight");
    f.classifier_bias = t.at("classifier.bias");
    EFFNET_CHECK(
        int64_t(f.classifier_weight.size()) == f.num_classes * head,
        "FoldedEfficientNet: classifier.weight does not match " << f.num_classes << " x " << head);
    return f;
}

}  // namespace effnet
