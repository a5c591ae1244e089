// Layer: the one interface of every building block of the network.
//
// Life cycle:
//   1. construct: the layer declares its parameters (timm names and PyTorch
//      shapes), buffers and children;
//   2. the owning model binds all parameters and gradients to two flat
//      buffers (bind_parameters), so the optimizer sees one array;
//   3. setup(input_shape, device) plans the layer for the largest batch and
//      allocates its output buffer: no allocation happens in a step;
//   4. forward(x, run) returns a view of the layer's own output for x's batch
//      (any batch up to the planned one) and saves what backward needs;
//   5. backward(dy) consumes exactly what the last forward saved, returns a
//      view of the layer's input-gradient buffer (overwritten: its own, or a
//      slot of a GradArena its owner shares between layers whose gradients
//      are never alive at once), and ACCUMULATES parameter gradients (the
//      trainer zeroes them per step). A backward must not read its
//      input-gradient buffer before writing it.
//
// Outputs and gradients returned by a layer stay valid until its next
// forward/backward. A thin public method checks shapes, then calls the
// virtual *_impl.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tensor/context.h"
#include "tensor/tensor.h"

namespace effnet {

enum class Mode { TRAIN, EVAL };

// Two flat input-gradient buffers shared by layers whose gradients are dead
// as soon as the next layer down has read them (the inner layers of MBConv
// blocks; see MBConv::use_grad_arena). Allocated on first use, so inference
// never pays for them.
struct GradArena {
    int64_t floats = 0;
    Device device = Device::CPU;
    Tensor slots[2];
    Tensor slot(int i) {
        if (!slots[i].defined()) slots[i] = Tensor::empty(Shape{floats}, device);
        return slots[i];
    }
};

class ChannelSumReducer;  // kernels/batchnorm.h

// Per-step facts for stochastic layers (dropout, drop-path): masks are drawn
// from Philox(seed, stream derived from the layer and step).
struct RunState {
    Mode mode = Mode::EVAL;
    uint64_t seed = 0;
    uint64_t step = 0;
    // Data-parallel runs: the position of this batch's first row in the global
    // batch, so that masks are those of the same rows in a 1-process run.
    int64_t sample_offset = 0;
    // TRAIN with --sync-bn: batch norm normalises with the statistics of the
    // global batch (sums through this reducer) in forward and in backward.
    // Null: each process's own batch (the default, as PyTorch DDP).
    ChannelSumReducer* sync_bn = nullptr;
};

// A parameter as the optimizer and the weight files see it.
// Whether AdamW's decoupled weight decay applies to a parameter: to
// convolution and linear weights, not to batch-norm parameters and biases
// (unless --decay-all).
enum class WeightDecay { APPLIED, EXEMPT };
// Where a buffer lives: with the layer (running statistics), or always on the
// host (a counter the host updates).
enum class BufferHome { LAYER_DEVICE, HOST };

struct ParamSlot {
    std::string name;  // relative to the layer that owns it ("weight")
    Shape shape;
    Tensor* value;
    Tensor* grad;
    bool decay;  // weight decay applies (conv/linear weights), not to BN and biases
};

// A non-trained tensor saved with the weights (BN running statistics).
// Buffers are allocated by bind_parameters; `host` ones (counters) stay on the CPU.
struct BufferSlot {
    std::string name;
    Shape shape;
    DType dtype;
    bool host;
    Tensor* value;
};

// A fully named view, from the root of the model ("blocks.1.0.conv_dw.weight").
struct NamedParam {
    std::string name;
    Tensor value;
    Tensor grad;
    bool decay;
};
struct NamedBuffer {
    std::string name;
    Tensor* value;
};

class Layer {
public:
    explicit Layer(std::string kind) : kind_(std::move(kind)) {}
    virtual ~Layer() = default;
    Layer(const Layer&) = delete;
    Layer& operator=(const Layer&) = delete;

    const std::string& kind() const { return kind_; }

    // Plans for inputs of `input` (dim 0 = the largest batch); returns the output shape.
    Shape setup(const Shape& input, Device device);
    Tensor forward(const Tensor& x, const RunState& run, Context& ctx);
    Tensor backward(const Tensor& dy, Context& ctx);

    // The output of the last forward (a view of the layer's buffer).
    const Tensor& last_output() const { return last_out_; }
    const Shape& input_shape() const { return in_shape_; }
    const Shape& output_shape() const { return out_shape_; }

    // Parameters and buffers of this layer and its descendants, named from `prefix`.
    void collect_params(const std::string& prefix, std::vector<NamedParam>& out);
    void collect_buffers(const std::string& prefix, std::vector<NamedBuffer>& out);
    int64_t num_params();
    // Every parameter slot of the subtree, named from `prefix`, in a fixed order (for binding).
    void collect_slots(const std::string& prefix,
                       std::vector<std::pair<std::string, ParamSlot*>>& out);
    void collect_buffer_slots(const std::string& prefix,
                              std::vector<std::pair<std::string, BufferSlot*>>& out);
    // Initialises parameters and buffers (timm's EfficientNet scheme); each
    // parameter draws from its own Philox stream, numbered in tree order.
    void reset_parameters(uint64_t seed, uint64_t& stream);
    const std::vector<std::pair<std::string, Layer*>>& children() const { return children_; }
    // Makes this layer's input gradient a view of `arena` slot `slot` instead
    // of a buffer of its own (valid until the next setup). The caller
    // guarantees that no two gradients alive at once share a slot.
    virtual void share_grad_input(std::shared_ptr<GradArena> arena, int slot);
    // False for a network's first layer: nothing consumes the gradient with
    // respect to the input image, so backward skips it and returns an empty
    // tensor (only the parameter gradients are computed). Honoured by Conv2d,
    // the only first layer there is (the stem).
    void set_needs_input_grad(bool needed) { needs_input_grad_ = needed; }
    bool needs_input_grad() const { return needs_input_grad_; }

protected:
    virtual Shape setup_impl(const Shape& input) = 0;
    virtual Tensor forward_impl(const Tensor& x, const RunState& run, Context& ctx) = 0;
    virtual Tensor backward_impl(const Tensor& dy, Context& ctx) = 0;
    // Initialises this layer's own parameters (children are handled by reset_parameters).
    virtual void reset_own_parameters(uint64_t /*seed*/, uint64_t& /*stream*/) {}

    void add_param(const std::string& name, const Shape& shape, Tensor* value, Tensor* grad,
                   WeightDecay decay);
    void add_buffer(const std::string& name, const Shape& shape, DType dtype, BufferHome home,
                    Tensor* value);
    void add_child(const std::string& name, Layer* child);
    // A planned activation buffer of `shape` on the layer's device.
    Tensor plan(const Shape& shape) const { return Tensor::empty(shape, device_); }
    // The leading `batch` rows of a planned buffer.
    static Tensor rows(const Tensor& planned, int64_t batch) { return planned.narrow0(0, batch); }
    // This layer's input-gradient buffer for `batch` (allocated on first use:
    // inference never pays for it).
    Tensor grad_input(int64_t batch);

    Device device_ = Device::CPU;
    int64_t batch_ = 0;  // batch of the last forward

private:
    std::string kind_;
    Shape in_shape_, out_shape_;
    Tensor grad_in_, last_out_;
    std::shared_ptr<GradArena> arena_;
    int arena_slot_ = 0;
    bool needs_input_grad_ = true;
    std::vector<ParamSlot> params_;
    std::vector<BufferSlot> buffers_;
    std::vector<std::pair<std::string, Layer*>> children_;
};

}  // namespace effnet
