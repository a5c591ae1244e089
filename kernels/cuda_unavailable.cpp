// The CPU-only build's cuda:: kernel functions: each refuses with a clear
// error. A CUDA tensor cannot exist in this build (the device allocator
// throws first), so these are reached only through a programming error; they
// keep the dispatch code free of #ifdefs.
#include "kernels/activation.h"
#include "kernels/adamw.h"
#include "kernels/batchnorm.h"
#include "kernels/bn_swish.h"
#include "kernels/conv2d.h"
#include "kernels/cuda/cudnn_fallback.h"
#include "kernels/depthwise_conv.h"
#include "kernels/dispatch.h"
#include "kernels/dropout.h"
#include "kernels/elementwise.h"
#include "kernels/linear.h"
#include "kernels/loss.h"
#include "kernels/roofline.h"
#include "kernels/squeeze_excite.h"

namespace effnet::cuda {

#define EFFNET_NO_CUDA(name) ::effnet::detail::throw_no_cuda_kernel(#name)

void swish_forward(const float*, float*, int64_t, void*) { EFFNET_NO_CUDA(swish_forward); }
void swish_backward(const float*, const float*, float*, int64_t, void*) { EFFNET_NO_CUDA(swish_backward); }
void sigmoid_forward(const float*, float*, int64_t, void*) { EFFNET_NO_CUDA(sigmoid_forward); }
void sigmoid_backward(const float*, const float*, float*, int64_t, void*) { EFFNET_NO_CUDA(sigmoid_backward); }
void add(const float*, const float*, float*, int64_t, void*) { EFFNET_NO_CUDA(add); }
void add_inplace(float*, const float*, int64_t, void*) { EFFNET_NO_CUDA(add_inplace); }
void depthwise_conv2d_forward(const float*, const float*, float*, const ConvGeometry&, float*, void*) {
    EFFNET_NO_CUDA(depthwise_conv2d_forward);
}
void depthwise_conv2d_backward_input(const float*, const float*, float*, const ConvGeometry&, float*, void*) {
    EFFNET_NO_CUDA(depthwise_conv2d_backward_input);
}
void depthwise_conv2d_backward_weight(const float*, const float*, float*, const ConvGeometry&, float*, void*) {
    EFFNET_NO_CUDA(depthwise_conv2d_backward_weight);
}
size_t depthwise_weight_workspace_floats(const ConvGeometry&) { return 0; }
size_t batchnorm_workspace_bytes(int64_t, int64_t) { return 0; }
void batchnorm_train_forward(const float*, const float*, const float*, float*, float*, float*, float*, float*, int64_t,
                             int64_t, double, double, void*, void*) {
    EFFNET_NO_CUDA(batchnorm_train_forward);
}
void batchnorm_eval_forward(const float*, const float*, const float*, const float*, const float*, float*, int64_t, int64_t,
                            double, void*) {
    EFFNET_NO_CUDA(batchnorm_eval_forward);
}
void batchnorm_backward(const float*, const float*, const float*, const float*, const float*, float*, float*, float*, int64_t,
                        int64_t, void*, void*) {
    EFFNET_NO_CUDA(batchnorm_backward);
}
void bn_swish_train_forward(const float*, const float*, const float*, float*, float*, float*, float*, float*, float*, int64_t,
                            int64_t, double, double, void*, void*) {
    EFFNET_NO_CUDA(bn_swish_train_forward);
}
void bn_swish_eval_forward(const float*, const float*, const float*, const float*, const float*, float*, int64_t, int64_t,
                           double, void*) {
    EFFNET_NO_CUDA(bn_swish_eval_forward);
}
void bn_swish_backward(const float*, const float*, const float*, const float*, const float*, const float*, float*, float*,
                       float*, int64_t, int64_t, void*, void*) {
    EFFNET_NO_CUDA(bn_swish_backward);
}
void bn_affine_from_stats(const float*, const float*, const float*, const float*, float*, int64_t, void*) {
    EFFNET_NO_CUDA(bn_affine_from_stats);
}
void swish_grad_of_bn(const float*, const float*, const float*, float*, int64_t, int64_t, void*) {
    EFFNET_NO_CUDA(swish_grad_of_bn);
}
size_t squeeze_excite_workspace_bytes(int64_t, int64_t, int64_t) { return 0; }
void global_avg_pool_forward(const float*, float*, int64_t, int64_t, int64_t, void*, void*) {
    EFFNET_NO_CUDA(global_avg_pool_forward);
}
void global_avg_pool_backward(const float*, float*, int64_t, int64_t, int64_t, void*) { EFFNET_NO_CUDA(global_avg_pool_backward); }
void channel_scale_forward(const float*, const float*, float*, int64_t, int64_t, int64_t, void*) {
    EFFNET_NO_CUDA(channel_scale_forward);
}
void channel_scale_backward(const float*, const float*, const float*, float*, float*, int64_t, int64_t, int64_t, void*,
                            void*) {
    EFFNET_NO_CUDA(channel_scale_backward);
}
void softmax_cross_entropy_forward(const float*, const int32_t*, float*, float*, float*, int64_t, int64_t, void*) {
    EFFNET_NO_CUDA(softmax_cross_entropy_forward);
}
void softmax_cross_entropy_backward(const float*, const int32_t*, float*, int64_t, int64_t, void*) {
    EFFNET_NO_CUDA(softmax_cross_entropy_backward);
}
void bce_with_logits_forward(const float*, const int32_t*, float*, float*, float*, int64_t, void*) {
    EFFNET_NO_CUDA(bce_with_logits_forward);
}
void bce_with_logits_backward(const float*, const int32_t*, float*, int64_t, void*) { EFFNET_NO_CUDA(bce_with_logits_backward); }
void adamw_update(float*, const float*, float*, float*, int64_t, const AdamWStep&, void*) { EFFNET_NO_CUDA(adamw_update); }
void dropout_apply(const float*, float*, int64_t, float, uint64_t, uint64_t, void*) { EFFNET_NO_CUDA(dropout_apply); }
void drop_path_apply(const float*, float*, int64_t, int64_t, float, uint64_t, uint64_t, void*) { EFFNET_NO_CUDA(drop_path_apply); }
void linear_forward(const float*, const float*, const float*, float*, int64_t, int64_t, int64_t, void*, void*) {
    EFFNET_NO_CUDA(linear_forward);
}
void linear_backward(const float*, const float*, const float*, float*, float*, float*, int64_t, int64_t, int64_t, void*, void*) {
    EFFNET_NO_CUDA(linear_backward);
}
size_t conv2d_workspace_floats(const ConvGeometry&) { return 0; }
void conv2d_forward(const float*, const float*, float*, const ConvGeometry&, float*, void*, void*) {
    EFFNET_NO_CUDA(conv2d_forward);
}
void conv2d_backward_input(const float*, const float*, float*, const ConvGeometry&, float*, void*, void*) {
    EFFNET_NO_CUDA(conv2d_backward_input);
}
void conv2d_backward_weight(const float*, const float*, float*, const ConvGeometry&, float*, void*, void*) {
    EFFNET_NO_CUDA(conv2d_backward_weight);
}

std::vector<std::string> cudnn_nondeterministic_choices() { return {}; }
double measure_copy_gb_per_s(void*, int) { EFFNET_NO_CUDA(measure_copy_gb_per_s); }
double measure_fma_gflop_per_s(void*) { EFFNET_NO_CUDA(measure_fma_gflop_per_s); }
void conv2d_weight_to_krsc(const float*, float*, const ConvGeometry&, void*) { EFFNET_NO_CUDA(conv2d_weight_to_krsc); }
void conv2d_weight_from_krsc_add(const float*, float*, const ConvGeometry&, void*) {
    EFFNET_NO_CUDA(conv2d_weight_from_krsc_add);
}
size_t conv2d_krsc_floats(const ConvGeometry&) { return 0; }
void cudnn_conv2d_forward(void*, const float*, const float*, float*, const ConvGeometry&, float*, bool, void*) {
    EFFNET_NO_CUDA(cudnn_conv2d_forward);
}
void cudnn_conv2d_backward_input(void*, const float*, const float*, float*, const ConvGeometry&, float*, bool, void*) {
    EFFNET_NO_CUDA(cudnn_conv2d_backward_input);
}
void cudnn_conv2d_backward_weight(void*, const float*, const float*, float*, const ConvGeometry&, float*, bool, void*) {
    EFFNET_NO_CUDA(cudnn_conv2d_backward_weight);
}
void cudnn_depthwise_forward(void*, const float*, const float*, float*, const ConvGeometry&) {
    EFFNET_NO_CUDA(cudnn_depthwise_forward);
}
void cudnn_depthwise_backward_input(void*, const float*, const float*, float*, const ConvGeometry&) {
    EFFNET_NO_CUDA(cudnn_depthwise_backward_input);
}
void cudnn_depthwise_backward_weight(void*, const float*, const float*, float*, const ConvGeometry&) {
    EFFNET_NO_CUDA(cudnn_depthwise_backward_weight);
}
void cudnn_batchnorm_train_forward(void*, const float*, const float*, const float*, float*, float*, float*, float*, float*,
                                   int64_t, int64_t, double, double) {
    EFFNET_NO_CUDA(cudnn_batchnorm_train_forward);
}
void cudnn_batchnorm_eval_forward(void*, const float*, const float*, const float*, const float*, const float*, float*, int64_t,
                                  int64_t, double) {
    EFFNET_NO_CUDA(cudnn_batchnorm_eval_forward);
}
void cudnn_batchnorm_backward(void*, const float*, const float*, const float*, const float*, const float*, float*, float*, float*,
                              int64_t, int64_t, double) {
    EFFNET_NO_CUDA(cudnn_batchnorm_backward);
}

}  // namespace effnet::cuda
