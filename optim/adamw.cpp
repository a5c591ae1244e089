#include "optim/adamw.h"

#include "tensor/nvtx.h"

namespace effnet {

AdamW::AdamW(ParameterStore& store, const AdamWConfig& cfg) : store_(store), cfg_(cfg) {
    m_ = Tensor::zeros(store.values().shape(), store.values().device());
    v_ = Tensor::zeros(store.values().shape(), store.values().device());
}

void AdamW::step(Context& ctx) {
    EFFNET_NVTX_RANGE("optimizer.step");
    ++steps_;
    AdamWStep s;
    static_cast<AdamWHyperparameters&>(s) = cfg_;
    s.step = steps_;
    // Runs of equal decay setting share one launch (padding between tensors is harmless: zero gradients).
    const auto& ranges = store_.ranges();
    size_t i = 0;
    while (i < ranges.size()) {
        const bool decay = ranges[i].decay || cfg_.decay_all;
        size_t j = i;
        while (j + 1 < ranges.size() && (ranges[j + 1].decay || cfg_.decay_all) == decay) ++j;
        const int64_t begin = ranges[i].offset, end = ranges[j].offset + ranges[j].count;
        s.weight_decay = decay ? cfg_.weight_decay : 0.0;
        adamw_update(store_.values(), store_.grads(), m_, v_, begin, end - begin, s, ctx);
        i = j + 1;
    }
}

}  // namespace effnet
