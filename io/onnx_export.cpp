#include "io/onnx_export.h"

#include <cmath>
#include <cstdio>
#include <map>

#include "effnet_config.h"
#include "layers/batchnorm.h"
#include "layers/conv.h"
#include "layers/squeeze_excite.h"
#include "tensor/error.h"

namespace effnet {

namespace {

std::string join(const std::vector<std::string>& parts) {
    std::string s;
    for (auto& p : parts) s += (s.empty() ? "" : ",") + p;
    return s;
}

std::string number(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.7g", v);
    return b;
}

// Builds the graph node by node. Every value gets a unique name derived from
// the layer that makes it ("blocks.1.0.conv_dw/swish"), so a runtime's error
// or profile names the effnet layer.
class GraphBuilder {
public:
    explicit GraphBuilder(EfficientNet& net) {
        std::vector<NamedParam> params;
        net.collect_params("", params);
        for (auto& p : params) params_[p.name] = p.value;
        std::vector<NamedBuffer> buffers;
        net.collect_buffers("", buffers);
        for (auto& b : buffers) params_[b.name] = *b.value;
    }

    OnnxGraph& graph() { return g_; }

    // Emits `layers` (named from `prefix`) on value `x`; returns the output value.
    std::string sequence(const std::vector<std::pair<std::string, Layer*>>& layers,
                         const std::string& prefix, std::string x) {
        for (size_t i = 0; i < layers.size(); ++i) {
            const std::string name = prefix + layers[i].first;
            Layer* l = layers[i].second;
            if (auto* conv = dynamic_cast<Conv2d*>(l)) {
                auto* bn = i + 1 < layers.size() ? dynamic_cast<BatchNorm2d*>(layers[i + 1].second)
                                                 : nullptr;
                if (!bn) {
                    x = conv_node(name, *conv, x, value(name + ".weight"), nullptr);
                    continue;
                }
                x = conv_bn(name, *conv, prefix + layers[i + 1].first, *bn, x);
                ++i;
            } else if (auto* block = dynamic_cast<MBConv*>(l)) {
                const std::string y = sequence(block->children(), name + ".", x);
                x = block->has_residual() ? node("Add", name + "/residual", {x, y}) : y;
            } else if (dynamic_cast<SqueezeExcite*>(l)) {
                x = squeeze_excite(name, x);
            } else if (dynamic_cast<GlobalAvgPool*>(l)) {
                x = node("GlobalAveragePool", name + "/pool", {x});
                x = node("Flatten", name + "/flatten", {x}, {OnnxAttribute::of_int("axis", 1)});
            } else if (dynamic_cast<Dropout*>(l)) {
                // the identity at inference
            } else if (dynamic_cast<Linear*>(l)) {
                x = gemm(name, x);
            } else if (dynamic_cast<Swish*>(l)) {
                x = swish(name, x);
            } else if (dynamic_cast<Sigmoid*>(l)) {
                x = node("Sigmoid", name + "/sigmoid", {x});
            } else {
                throw ContractError("ONNX export: no mapping for layer '" + name + "' (" +
                                    l->kind() + ")");
            }
        }
        return x;
    }

    // Renames the value `from` to `to` (the graph output) where it was produced.
    void rename_output(const std::string& from, const std::string& to) {
        for (auto& n : g_.nodes)
            for (auto& o : n.outputs)
                if (o == from) o = to;
    }

private:
    const Tensor& tensor(const std::string& name) const {
        auto it = params_.find(name);
        EFFNET_CHECK(it != params_.end(), "ONNX export: the model has no tensor '" << name << "'");
        return it->second;
    }
    std::vector<float> value(const std::string& name) const { return tensor(name).to_vector(); }

    std::string initializer(const std::string& name, const Shape& shape, std::vector<float> data) {
        OnnxTensor t;
        t.name = name;
        for (int i = 0; i < shape.rank(); ++i) t.dims.push_back(shape[i]);
        t.data = std::move(data);
        g_.initializers.push_back(std::move(t));
        return name;
    }

    std::string node(const std::string& op, const std::string& out, std::vector<std::string> inputs,
                     std::vector<OnnxAttribute> attrs = {}) {
        OnnxNode n;
        n.op_type = op;
        n.name = out;
        n.inputs = std::move(inputs);
        n.outputs = {out};
        n.attributes = std::move(attrs);
        g_.nodes.push_back(std::move(n));
        return out;
    }

    std::string swish(const std::string& name, const std::string& x) {
        const std::string s = node("Sigmoid", name + "/sigmoid", {x});
        return node("Mul", name + "/swish", {x, s});
    }

    // A Conv node with `weight` (the layer's shape) and an optional bias.
    std::string conv_node(const std::string& name, Conv2d& conv, const std::string& x,
                          std::vector<float> weight, std::vector<float>* bias) {
        const Shape& wshape = tensor(name + ".weight").shape();
        std::vector<std::string> inputs = {
            x, initializer(name + ".weight", wshape, std::move(weight))};
        if (bias) inputs.push_back(initializer(name + ".bias", Shape{wshape[0]}, std::move(*bias)));
        const int64_t k = conv.kernel(), s = conv.stride(), p = k / 2;
        return node("Conv", name, inputs,
                    {OnnxAttribute::of_ints("kernel_shape", {k, k}),
                     OnnxAttribute::of_ints("strides", {s, s}),
                     OnnxAttribute::of_ints("pads", {p, p, p, p}),
                     OnnxAttribute::of_int("group", conv.groups())});
    }

    std::string conv_bn(const std::string& conv_name, Conv2d& conv, const std::string& bn_name,
                        BatchNorm2d& bn, const std::string& x) {
        std::vector<float> w = value(conv_name + ".weight");
        const std::vector<float> gamma = value(bn_name + ".weight"),
                                 beta = value(bn_name + ".bias"),
                                 mean = value(bn_name + ".running_mean"),
                                 var = value(bn_name + ".running_var");
        const size_t cout = gamma.size(), per_out = w.size() / cout;
        EFFNET_CHECK(per_out * cout == w.size(),
                     "ONNX export: " << bn_name << " does not match " << conv_name);
        std::vector<float> bias(cout);
        for (size_t c = 0; c < cout; ++c) {
            const double scale = double(gamma[c]) / std::sqrt(double(var[c]) + bn.eps());
            for (size_t j = 0; j < per_out; ++j)
                w[c * per_out + j] = float(double(w[c * per_out + j]) * scale);
            bias[c] = float(double(beta[c]) - double(mean[c]) * scale);
        }
        const std::string y = conv_node(conv_name, conv, x, std::move(w), &bias);
        return bn.fused_swish() ? swish(bn_name, y) : y;
    }

    // A biased 1x1 convolution on pooled [N, C, 1, 1] features (SE's conv-shaped Linear).
    std::string pointwise(const std::string& name, const std::string& x) {
        const std::string w = initializer(name + ".weight", tensor(name + ".weight").shape(),
                                          value(name + ".weight"));
        const std::string b =
            initializer(name + ".bias", tensor(name + ".bias").shape(), value(name + ".bias"));
        return node("Conv", name, {x, w, b}, {OnnxAttribute::of_ints("kernel_shape", {1, 1})});
    }

    std::string squeeze_excite(const std::string& name, const std::string& x) {
        std::string s = node("GlobalAveragePool", name + "/pool", {x});
        s = swish(name + ".conv_reduce", pointwise(name + ".conv_reduce", s));
        s = node("Sigmoid", name + "/gate", {pointwise(name + ".conv_expand", s)});
        return node("Mul", name + "/scale", {x, s});
    }

    std::string gemm(const std::string& name, const std::string& x) {
        const Shape& ws = tensor(name + ".weight").shape();
        EFFNET_CHECK(ws.rank() == 2, "ONNX export: Linear '"
                                         << name << "' outside squeeze-excite has weight " << ws);
        std::vector<std::string> inputs = {
            x, initializer(name + ".weight", ws, value(name + ".weight"))};
        if (params_.count(name + ".bias"))
            inputs.push_back(initializer(name + ".bias", Shape{ws[0]}, value(name + ".bias")));
        return node("Gemm", name, inputs, {OnnxAttribute::of_int("transB", 1)});
    }

    OnnxGraph g_;
    std::map<std::string, Tensor> params_;
};

}  // namespace

std::vector<std::pair<std::string, std::string>> onnx_metadata(const EfficientNet& net,
                                                               const OnnxExportOptions& o) {
    const PipelineConfig& p = o.pipeline;
    const int64_t classes = net.config().num_classes, channels = net.config().in_channels;
    EFFNET_CHECK(channels == p.channels, "ONNX export: the model's stem takes "
                                             << channels << " channels, the pipeline makes "
                                             << p.channels);
    std::vector<std::string> names = o.class_names;
    if (names.empty() && classes <= 2) names = {"no_cardiomegaly", "cardiomegaly"};
    for (int64_t k = int64_t(names.size()); k < classes; ++k) names.push_back(std::to_string(k));
    EFFNET_CHECK(int64_t(names.size()) == std::max<int64_t>(classes, 2),
                 "ONNX export: " << names.size() << " class names for " << classes << " outputs");
    const ChannelNormalisation norm = channel_normalisation(p);
    std::vector<std::string> mean, stdev;
    for (int64_t c = 0; c < channels; ++c) {
        mean.push_back(number(norm.mean[size_t(c)]));
        stdev.push_back(number(norm.std[size_t(c)]));
    }
    const std::string size = std::to_string(p.image_size);
    const std::string equalization = p.clahe ? "clahe" : p.equalize ? "histogram" : "none";
    std::vector<std::pair<std::string, std::string>> m = {
        {"effnet.arch", o.arch},
        {"input.name", "input"},
        {"input.layout", "NCHW"},
        {"input.dtype", "float32"},
        {"input.channels", std::to_string(channels)},
        {"input.height", size},
        {"input.width", size},
        {"input.channel_source", channels == 1 ? "grey" : "grey replicated to 3 channels"},
        {"preprocess.order", "decode to 8-bit grey -> equalization -> resize to " + size + "x" +
                                 size +
                                 ", rounded to 8 bits -> x = (pixel / 255 - mean[c]) / std[c]"},
        {"preprocess.equalization", equalization},
    };
    if (p.clahe) {
        m.emplace_back("preprocess.clahe_tiles", std::to_string(p.clahe_tiles));
        m.emplace_back("preprocess.clahe_clip", number(p.clahe_clip));
    }
    m.insert(m.end(),
             {
                 {"preprocess.resize",
                  "area averaging when shrinking, bilinear (half-pixel centres) when enlarging"},
                 {"normalize.mean", join(mean)},
                 {"normalize.std", join(stdev)},
                 {"output.name", "logits"},
                 {"output.activation", classes == 1 ? "sigmoid" : "softmax"},
                 {"output.positive_class", "1"},
                 {"classes", join(names)},
             });
    if (o.temperature) m.emplace_back("output.temperature", number(*o.temperature));
    if (o.threshold) m.emplace_back("threshold", number(*o.threshold));
    m.emplace_back("batchnorm", "folded into the preceding Conv (weight and bias)");
    return m;
}

OnnxModel efficientnet_to_onnx(EfficientNet& net, const OnnxExportOptions& opts) {
    OnnxModel model;
    model.producer_name = "effnet";
    model.producer_version = EFFNET_VERSION;
    model.doc_string =
        opts.arch + " exported by effnet" + (opts.source.empty() ? "" : " from " + opts.source);
    model.metadata = onnx_metadata(net, opts);

    GraphBuilder b(net);
    const std::string out = b.sequence(net.execution_order(), "", "input");
    b.rename_output(out, "logits");
    OnnxGraph& g = b.graph();
    g.name = opts.arch;
    const int64_t size = opts.pipeline.image_size;
    g.inputs.push_back({"input",
                        OnnxElemType::FLOAT,
                        {{0, "batch"}, {net.config().in_channels, ""}, {size, ""}, {size, ""}}});
    g.outputs.push_back(
        {"logits", OnnxElemType::FLOAT, {{0, "batch"}, {net.config().num_classes, ""}}});
    model.graph = std::move(g);
    return model;
}

}  // namespace effnet
