#include "train/ema.h"

#include <algorithm>
#include <cmath>

#include "kernels/elementwise.h"
#include "tensor/error.h"

namespace effnet {

namespace {
Tensor copy_of(const Tensor& t) {
    Tensor c = Tensor::empty(t.shape(), t.device(), t.dtype());
    c.copy_from(t);
    return c;
}

void swap_contents(Tensor& a, Tensor& b) {
    Tensor keep = copy_of(a);
    a.copy_from(b);
    b.copy_from(keep);
}
}  // namespace

WeightEma::WeightEma(Model& model, double decay) : model_(model), decay_(decay) {
    EFFNET_CHECK(decay >= 0 && decay < 1, "EMA decay " << decay << " outside [0, 1)");
    values_ = copy_of(model.store->values());
    std::vector<NamedBuffer> named;
    model.net->collect_buffers("", named);
    for (const NamedBuffer& b : named) {
        buffer_names_.push_back(b.name);
        buffers_.push_back({b.value, copy_of(*b.value), b.value->dtype() == DType::FLOAT32});
    }
}

double WeightEma::decay_at(double decay, int64_t step) {
    return std::min(decay, double(1 + step) / double(10 + step));
}

int64_t WeightEma::warmup_steps(double decay) {
    // (1 + t) / (10 + t) >= decay  <=>  t >= (10 decay - 1) / (1 - decay); the
    // loops settle the last unit as decay_at rounds.
    int64_t t = std::max<int64_t>(0, int64_t(std::ceil((10 * decay - 1) / (1 - decay))));
    while (t > 0 && decay_at(decay, t - 1) >= decay) --t;
    while (decay_at(decay, t) < decay) ++t;
    return t;
}

void WeightEma::update(int64_t step, Context& ctx) {
    const float d = float(decay_at(decay_, step));
    moving_average(values_, model_.store->values(), d, ctx);
    for (Buffer& b : buffers_) {
        if (b.averaged)
            moving_average(b.average, *b.model, d, ctx);
        else
            b.average.copy_from(*b.model);
    }
}

void WeightEma::reset_from_model() {
    values_.copy_from(model_.store->values());
    for (Buffer& b : buffers_) b.average.copy_from(*b.model);
}

void WeightEma::swap_with_model() {
    swap_contents(values_, model_.store->values());
    for (Buffer& b : buffers_) swap_contents(b.average, *b.model);
}

std::vector<SafetensorsView> WeightEma::tensor_views(const std::string& prefix,
                                                     std::vector<Tensor>& keepalive) const {
    // Parameters by the store's ranges (same names and order as the model's
    // parameters), shaped as the model's tensors; then the buffers.
    std::vector<NamedParam> params;
    model_.net->collect_params("", params);
    const std::vector<ParamRange>& ranges = model_.store->ranges();
    EFFNET_CHECK(params.size() == ranges.size(), "EMA: " << params.size() << " parameters for "
                                                         << ranges.size() << " store ranges");
    Tensor host_values = values_.is_cuda() ? values_.to(Device::CPU) : values_;
    keepalive.push_back(host_values);
    std::vector<SafetensorsView> views;
    for (size_t i = 0; i < params.size(); ++i) {
        EFFNET_CHECK(params[i].name == ranges[i].name, "EMA: parameter " << params[i].name
                                                                         << " where the store has "
                                                                         << ranges[i].name);
        Tensor v =
            host_values.narrow0(ranges[i].offset, ranges[i].count).view(params[i].value.shape());
        views.push_back({prefix + params[i].name, v.dtype(), v.shape().dims(), v.raw()});
    }
    for (size_t i = 0; i < buffers_.size(); ++i) {
        const Tensor& a = buffers_[i].average;
        Tensor host = a.is_cuda() ? a.to(Device::CPU) : a;
        keepalive.push_back(host);
        views.push_back({prefix + buffer_names_[i], host.dtype(), host.shape().dims(), host.raw()});
    }
    return views;
}

}  // namespace effnet
