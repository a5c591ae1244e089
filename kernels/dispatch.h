// Shared dispatch helpers for the backend-neutral kernel functions. The
// backend choice itself lives in each family's kernels/<op>.cpp (its operand
// checks, then CPU or CUDA from where the operands live):
//
//   void swish_forward(const Tensor& x, Tensor& y, Context& ctx) {
//       check_same_numel("swish_forward", ctx, {{x, "x"}, {y, "y"}});
//       if constexpr (kWithCuda) {
//           if (x.is_cuda()) return cuda::swish_forward(x.f32(), y.f32(), x.numel(), ctx.stream());
//       }
//       cpu::swish_forward(x.f32(), y.f32(), x.numel(), ctx.stream());
//   }
//
// The CPU-only build discards the CUDA branch (kWithCuda, effnet_config.h),
// so the cuda:: functions it calls need no definition there; it cannot make a
// CUDA tensor or context either (tensor/tensor.h), so the branch is never
// missed. Every entry point checks all its operands with check_operands
// (directly or through the shape helpers below): each is defined, has the
// expected dtype and lives on the context's device, so a GPU op always runs
// with the context's stream and handles.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <utility>

#include "effnet_config.h"
#include "kernels/conv_shape.h"
#include "tensor/context.h"
#include "tensor/error.h"
#include "tensor/tensor.h"

namespace effnet {

// Logs "<family> runs on <path>" to stderr the first time a family takes a non-default path.
void log_kernel_choice_once(const char* family, const char* path);

namespace detail {

// An operand of an op, with its name for error messages.
struct Operand {
    const Tensor& tensor;
    const char* name;
};
using Operands = std::initializer_list<Operand>;

// Each operand is defined, has `dtype` and lives on ctx.device().
void check_operands(const char* op, const Context& ctx, Operands operands,
                    DType dtype = DType::FLOAT32);
// check_operands, and every operand has the element count of the first.
void check_same_numel(const char* op, const Context& ctx, Operands operands);
// Each operand has `numel` elements (`what` says what they are).
void check_numel(const char* op, Operands operands, int64_t numel, const char* what);

// {rows, channels} of an activation whose last dimension is channels.
std::pair<int64_t, int64_t> rows_channels(const Tensor& t);
// A per-channel op over an activation (batch norm, BN+swish): `like_x`
// starts with x and holds the tensors shaped like it, `per_channel` the
// vectors of one value per channel; all are checked. Returns {rows, channels}.
std::pair<int64_t, int64_t> check_rows_channels(const char* op, const Context& ctx, Operands like_x,
                                                Operands per_channel);
// Whether batch norm (plain and fused with swish) runs on cuDNN in this
// context (Context::batchnorm_kernels); logs the choice once.
bool use_cudnn_batchnorm(const Context& ctx);
// Synchronised batch norm (a ChannelSumReducer given) runs on host tensors only.
void check_sync_bn_on_host(const char* op, const Tensor& x, const void* sync);

// A convolution's x [N,H,W,Cin], w [Cout,Cin/groups,kH,kW] and y [N,Ho,Wo,Cout]
// (or their gradients), and for a depthwise one groups = Cin = Cout.
void check_conv_operands(const char* op, const Context& ctx, const Tensor& x, const Tensor& w,
                         const Tensor& y, const ConvGeometry& g, bool depthwise);

}  // namespace detail
}  // namespace effnet
