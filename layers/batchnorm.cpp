#include "layers/batchnorm.h"

namespace effnet {

BatchNorm2d::BatchNorm2d(int64_t channels, double eps, double momentum, BatchNormActivation act)
    : Layer(act == BatchNormActivation::SWISH ? "BatchNormAct2d" : "BatchNorm2d"),
      c_(channels),
      swish_(act == BatchNormActivation::SWISH) {
    p_.eps = eps;
    p_.momentum = momentum;
    add_param("weight", Shape{channels}, &gamma_, &gamma_grad_, WeightDecay::EXEMPT);
    add_param("bias", Shape{channels}, &beta_, &beta_grad_, WeightDecay::EXEMPT);
    add_buffer("running_mean", Shape{channels}, DType::FLOAT32, BufferHome::LAYER_DEVICE,
               &running_mean_);
    add_buffer("running_var", Shape{channels}, DType::FLOAT32, BufferHome::LAYER_DEVICE,
               &running_var_);
    add_buffer("num_batches_tracked", Shape{}, DType::INT64, BufferHome::HOST, &num_batches_);
}

Shape BatchNorm2d::setup_impl(const Shape& in) {
    EFFNET_CHECK(in[in.rank() - 1] == c_,
                 "BatchNorm2d(" << c_ << "): input " << in << " has other channels");
    out_ = plan(in);
    save_mean_ = plan(Shape{c_});
    save_invstd_ = plan(Shape{c_});
    if (swish_) save_affine_ = plan(Shape{2, c_});
    return in;
}

Tensor BatchNorm2d::forward_impl(const Tensor& x, const RunState& run, Context& ctx) {
    Tensor y = rows(out_, batch_);
    saved_train_ = run.mode == Mode::TRAIN;
    p_.sync = saved_train_ ? run.sync_bn : nullptr;  // backward synchronises where its forward did
    if (saved_train_) {
        x_ = x;
        if (swish_)
            bn_swish_train_forward(x, gamma_, beta_, y, save_mean_, save_invstd_, save_affine_,
                                   running_mean_, running_var_, p_, ctx);
        else
            batchnorm_train_forward(x, gamma_, beta_, y, save_mean_, save_invstd_, running_mean_,
                                    running_var_, p_, ctx);
        static_cast<int64_t*>(num_batches_.raw())[0] += 1;
    } else if (swish_) {
        bn_swish_eval_forward(x, gamma_, beta_, running_mean_, running_var_, y, p_, ctx);
    } else {
        batchnorm_eval_forward(x, gamma_, beta_, running_mean_, running_var_, y, p_, ctx);
    }
    return y;
}

Tensor BatchNorm2d::backward_impl(const Tensor& dy, Context& ctx) {
    EFFNET_CHECK(saved_train_, "BatchNorm2d: backward after an EVAL forward is not supported");
    Tensor dx = grad_input(batch_);
    if (swish_)
        bn_swish_backward(x_, dy, gamma_, save_mean_, save_invstd_, save_affine_, dx, gamma_grad_,
                          beta_grad_, ctx, p_.eps, p_.sync);
    else
        batchnorm_backward(x_, dy, gamma_, save_mean_, save_invstd_, dx, gamma_grad_, beta_grad_,
                           ctx, p_.eps, p_.sync);
    return dx;
}

void BatchNorm2d::reset_own_parameters(uint64_t, uint64_t&) {
    gamma_.fill(1.0f);
    beta_.zero();
    running_mean_.zero();
    running_var_.fill(1.0f);
    num_batches_.zero();
}

}  // namespace effnet
