// Random EfficientNet weights that behave like trained ones, for tests that
// need logits which depend on the image.
#pragma once

#include <string>
#include <vector>

#include "common/gradcheck.h"
#include "layers/efficientnet.h"
#include "layers/parameters.h"
#include "tensor/context.h"

namespace effnet::test {

// `config` with what make_trained_like needs: batch-norm momentum 1 (one
// training-mode forward sets the running statistics) and no drop-path
// (every block sees its input). Neither changes the EVAL forward.
inline EfficientNetConfig trained_like_config(EfficientNetConfig config) {
    config.bn_momentum = 1.0;
    config.drop_path = 0;
    return config;
}

// "blocks.1.0.bn2.weight" -> true: the tensor belongs to a batch norm.
inline bool is_batchnorm(const std::string& name) {
    const size_t last = name.rfind('.');
    const size_t prev = name.rfind('.', last - 1);
    const std::string owner = name.substr(prev == std::string::npos ? 0 : prev + 1,
                                          last - (prev == std::string::npos ? 0 : prev + 1));
    return owner.rfind("bn", 0) == 0;
}

inline void fill_uniform(Tensor& t, uint64_t seed, float lo, float hi) {
    const std::vector<float> v = random_floats(size_t(t.numel()), seed, lo, hi);
    std::copy(v.begin(), v.end(), t.f32());
}

// Weights like a trained network's: timm's initialisation, batch-norm affine
// parameters away from identity and non-zero biases, then every batch norm's
// running statistics set to those of the test images (one training-mode
// forward with momentum 1). The statistics are then far from the identity
// (means of either sign, variances other than 1), so every term of the
// folding matters, and they match the activations, as a trained network's
// do: activations keep their scale through the blocks and the logits depend
// on the image. (Random statistics instead make the activations drift, layer
// after layer, to logits in the thousands or to a constant.)
// `net` is built from trained_like_config(...) and has its parameters bound
// (a ParameterStore) on the CPU; `x` is a batch of NHWC images.
inline void make_trained_like(EfficientNet& net, const Tensor& x) {
    uint64_t stream = 0;
    net.reset_parameters(7, stream);
    std::vector<NamedParam> params;
    net.collect_params("", params);
    uint64_t seed = 1000;
    for (NamedParam& p : params) {
        const bool bias = p.name.size() > 5 && p.name.compare(p.name.size() - 5, 5, ".bias") == 0;
        if (is_batchnorm(p.name))
            fill_uniform(p.value, ++seed, bias ? -0.2f : 0.6f, bias ? 0.2f : 1.4f);
        else if (bias)
            fill_uniform(p.value, ++seed, -0.1f, 0.1f);
    }
    net.setup(x.shape(), Device::CPU);
    Context ctx(Device::CPU);
    net.forward(x, RunState{Mode::TRAIN, 1, 0}, ctx);
}

}  // namespace effnet::test
