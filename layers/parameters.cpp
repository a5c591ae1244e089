#include "layers/parameters.h"

namespace effnet {

ParameterStore::ParameterStore(Layer& root, Device device) {
    std::vector<std::pair<std::string, ParamSlot*>> slots;
    root.collect_slots("", slots);
    int64_t total = 0;
    for (auto& [name, slot] : slots) {
        // Start each tensor on a 16-float (64-byte) boundary for aligned vector access.
        total = (total + 15) / 16 * 16;
        ranges_.push_back({name, total, slot->shape.numel(), slot->decay});
        total += slot->shape.numel();
    }
    values_ = Tensor::zeros(Shape{total}, device);
    grads_ = Tensor::zeros(Shape{total}, device);
    for (size_t i = 0; i < slots.size(); ++i) {
        ParamSlot* s = slots[i].second;
        *s->value = values_.narrow0(ranges_[i].offset, ranges_[i].count).view(s->shape);
        *s->grad = grads_.narrow0(ranges_[i].offset, ranges_[i].count).view(s->shape);
    }
    std::vector<std::pair<std::string, BufferSlot*>> buffers;
    root.collect_buffer_slots("", buffers);
    for (auto& [name, b] : buffers)
        *b->value = Tensor::zeros(b->shape, b->host ? Device::CPU : device, b->dtype);
}

}  // namespace effnet
