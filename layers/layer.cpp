#include "layers/layer.h"

#include "tensor/error.h"

namespace effnet {

Shape Layer::setup(const Shape& input, Device device) {
    device_ = device;
    in_shape_ = input;
    grad_in_ = Tensor();
    arena_.reset();
    out_shape_ = setup_impl(input);
    return out_shape_;
}

Tensor Layer::forward(const Tensor& x, const RunState& run, Context& ctx) {
    EFFNET_CHECK(in_shape_.rank() > 0, kind_ << ": forward before setup");
    EFFNET_CHECK(x.rank() == in_shape_.rank() && x.dim(0) <= in_shape_[0] && x.dim(0) > 0 &&
                     x.shape().with_dim0(in_shape_[0]) == in_shape_,
                 kind_ << ": input " << x.shape() << " does not fit the planned " << in_shape_
                       << " (batch may be smaller, other dims must match)");
    EFFNET_CHECK(x.device() == device_, kind_ << ": input on " << device_name(x.device())
                                              << ", layer on " << device_name(device_));
    batch_ = x.dim(0);
    last_out_ = forward_impl(x, run, ctx);
    return last_out_;
}

Tensor Layer::backward(const Tensor& dy, Context& ctx) {
    EFFNET_CHECK(batch_ > 0, kind_ << ": backward without a forward");
    EFFNET_CHECK(dy.shape() == out_shape_.with_dim0(batch_), kind_ << ": output gradient "
                                                                   << dy.shape() << ", expected "
                                                                   << out_shape_.with_dim0(batch_));
    return backward_impl(dy, ctx);
}

Tensor Layer::grad_input(int64_t batch) {
    if (!grad_in_.defined() || grad_in_.numel() == 0)
        grad_in_ = arena_ ? arena_->slot(arena_slot_).narrow0(0, in_shape_.numel()).view(in_shape_)
                          : plan(in_shape_);
    return rows(grad_in_, batch);
}

void Layer::share_grad_input(std::shared_ptr<GradArena> arena, int slot) {
    EFFNET_CHECK(arena && arena->floats >= in_shape_.numel(),
                 kind_ << ": a gradient arena of " << (arena ? arena->floats : 0)
                       << " floats cannot hold " << in_shape_);
    arena_ = std::move(arena);
    arena_slot_ = slot;
    grad_in_ = Tensor();
}

void Layer::add_param(const std::string& name, const Shape& shape, Tensor* value, Tensor* grad,
                      WeightDecay decay) {
    params_.push_back({name, shape, value, grad, decay == WeightDecay::APPLIED});
}

void Layer::add_buffer(const std::string& name, const Shape& shape, DType dtype, BufferHome home,
                       Tensor* value) {
    buffers_.push_back({name, shape, dtype, home == BufferHome::HOST, value});
}

void Layer::add_child(const std::string& name, Layer* child) {
    children_.emplace_back(name, child);
}

void Layer::collect_params(const std::string& prefix, std::vector<NamedParam>& out) {
    for (auto& p : params_) {
        EFFNET_CHECK(p.value->defined() && p.value->shape() == p.shape,
                     prefix + p.name << ": parameters not bound (call bind_parameters first)");
        out.push_back({prefix + p.name, *p.value, *p.grad, p.decay});
    }
    for (auto& [name, child] : children_) child->collect_params(prefix + name + ".", out);
}

void Layer::collect_buffers(const std::string& prefix, std::vector<NamedBuffer>& out) {
    for (auto& b : buffers_) out.push_back({prefix + b.name, b.value});
    for (auto& [name, child] : children_) child->collect_buffers(prefix + name + ".", out);
}

int64_t Layer::num_params() {
    int64_t n = 0;
    for (auto& p : params_) n += p.shape.numel();
    for (auto& [name, child] : children_) n += child->num_params();
    return n;
}

}  // namespace effnet

namespace effnet {

void Layer::collect_slots(const std::string& prefix,
                          std::vector<std::pair<std::string, ParamSlot*>>& out) {
    for (auto& p : params_) out.emplace_back(prefix + p.name, &p);
    for (auto& [name, child] : children_) child->collect_slots(prefix + name + ".", out);
}

void Layer::collect_buffer_slots(const std::string& prefix,
                                 std::vector<std::pair<std::string, BufferSlot*>>& out) {
    for (auto& b : buffers_) out.emplace_back(prefix + b.name, &b);
    for (auto& [name, child] : children_) child->collect_buffer_slots(prefix + name + ".", out);
}

void Layer::reset_parameters(uint64_t seed, uint64_t& stream) {
    reset_own_parameters(seed, stream);
    for (auto& [name, child] : children_) child->reset_parameters(seed, stream);
}

}  // namespace effnet
