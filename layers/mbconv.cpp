#include "layers/mbconv.h"

#include <cmath>

#include "kernels/dropout.h"
#include "kernels/elementwise.h"
#include "layers/batchnorm.h"
#include "layers/conv.h"
#include "layers/squeeze_excite.h"

namespace effnet {

namespace {
// Every batch norm followed by swish runs fused (timm's BatchNormAct2d).
constexpr BatchNormActivation kSwish = BatchNormActivation::SWISH;
}  // namespace

MBConv::MBConv(const MBConvConfig& cfg)
    : Layer("MBConv"), cfg_(cfg), residual_(cfg.stride == 1 && cfg.in == cfg.out) {
    const int64_t mid = cfg.in * cfg.expand_ratio;
    const int64_t reduced =
        std::max<int64_t>(1, static_cast<int64_t>(std::lround(cfg.in * cfg.se_ratio)));
    auto add = [this](std::unique_ptr<Layer> l, const std::string& name) {
        Layer& ref = branch_.append(std::move(l), "");
        if (!name.empty()) add_child(name, &ref);
    };
    if (cfg.expand_ratio != 1) {
        add(std::make_unique<Conv2d>(cfg.in, mid, 1, 1), "conv_pw");
        add(std::make_unique<BatchNorm2d>(mid, cfg.bn_eps, cfg.bn_momentum, kSwish), "bn1");
        add(std::make_unique<DepthwiseConv2d>(mid, cfg.kernel, cfg.stride), "conv_dw");
        add(std::make_unique<BatchNorm2d>(mid, cfg.bn_eps, cfg.bn_momentum, kSwish), "bn2");
        add(std::make_unique<SqueezeExcite>(mid, reduced), "se");
        add(std::make_unique<Conv2d>(mid, cfg.out, 1, 1), "conv_pwl");
        add(std::make_unique<BatchNorm2d>(cfg.out, cfg.bn_eps, cfg.bn_momentum), "bn3");
    } else {
        add(std::make_unique<DepthwiseConv2d>(cfg.in, cfg.kernel, cfg.stride), "conv_dw");
        add(std::make_unique<BatchNorm2d>(cfg.in, cfg.bn_eps, cfg.bn_momentum, kSwish), "bn1");
        add(std::make_unique<SqueezeExcite>(cfg.in, reduced), "se");
        add(std::make_unique<Conv2d>(cfg.in, cfg.out, 1, 1), "conv_pw");
        add(std::make_unique<BatchNorm2d>(cfg.out, cfg.bn_eps, cfg.bn_momentum), "bn2");
    }
}

Shape MBConv::setup_impl(const Shape& in) {
    Shape out = branch_.setup(in, device_);
    if (residual_) {
        out_ = plan(out);
        dropped_ =
            Tensor();  // allocated by the first forward that drops paths (inference never needs it)
    }
    return out;
}

int64_t MBConv::grad_arena_floats() const {
    int64_t n = 0;
    const auto& layers = branch_.layers();
    for (size_t i = 1; i < layers.size(); ++i)
        n = std::max(n, layers[i].second->input_shape().numel());
    return n;
}

void MBConv::use_grad_arena(const std::shared_ptr<GradArena>& arena) {
    const auto& layers = branch_.layers();
    for (size_t i = 1; i < layers.size(); ++i)
        layers[i].second->share_grad_input(arena, int((layers.size() - 1 - i) % 2));
}

Tensor MBConv::forward_impl(const Tensor& x, const RunState& run, Context& ctx) {
    Tensor h = branch_.forward(x, run, ctx);
    if (!residual_) return h;
    drop_active_ = run.mode == Mode::TRAIN && cfg_.drop_path > 0;
    if (drop_active_) {
        seed_ = run.seed;
        stream_ = mask_stream(cfg_.tag, run.step);
        first_ = uint64_t(run.sample_offset);
        if (!dropped_.defined()) dropped_ = plan(out_.shape());
        Tensor d = rows(dropped_, batch_);
        drop_path_forward(h, d, cfg_.drop_path, seed_, stream_, first_, ctx);
        h = d;
    }
    Tensor y = rows(out_, batch_);
    add(x, h, y, ctx);
    return y;
}

Tensor MBConv::backward_impl(const Tensor& dy, Context& ctx) {
    Tensor g = dy;
    if (residual_ && drop_active_) {
        g = rows(dropped_, batch_);  // the forward's copy is no longer needed
        drop_path_backward(dy, g, cfg_.drop_path, seed_, stream_, first_, ctx);
    }
    Tensor dx = branch_.backward(g, ctx);
    if (!residual_) return dx;
    Tensor out = grad_input(batch_);
    add(dx, dy, out, ctx);
    return out;
}

}  // namespace effnet
