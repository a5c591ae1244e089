// ParameterStore: all parameters of a model in one flat buffer, all their
// gradients in another (same order and offsets), so the optimizer updates
// one array and zeroing gradients is one memset. Every layer's parameter
// tensors are views into these buffers; buffers (BN running statistics) are
// allocated here too.
#pragma once

#include <string>
#include <vector>

#include "layers/layer.h"

namespace effnet {

struct ParamRange {
    std::string name;
    int64_t offset;
    int64_t count;
    bool decay;
};

class ParameterStore {
public:
    // Allocates and binds the parameters, gradients and buffers of `root` on `device`.
    ParameterStore(Layer& root, Device device);

    Tensor& values() { return values_; }
    Tensor& grads() { return grads_; }
    const std::vector<ParamRange>& ranges() const { return ranges_; }
    int64_t count() const { return values_.numel(); }
    // On the device stream for GPU parameters (the stream rule, tensor/tensor.h).
    void zero_grads() { grads_.zero(); }

private:
    Tensor values_, grads_;
    std::vector<ParamRange> ranges_;
};

}  // namespace effnet
