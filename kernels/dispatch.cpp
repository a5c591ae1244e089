#include "kernels/dispatch.h"

#include <iostream>
#include <mutex>
#include <set>
#include <string>

namespace effnet {

void log_kernel_choice_once(const char* family, const char* path) {
    static std::mutex mu;
    static std::set<std::string> said;
    std::lock_guard<std::mutex> lock(mu);
    if (said.insert(family).second)
        std::cerr << "effnet: " << family << " runs on " << path << "\n";
}

namespace detail {

void check_operands(const char* op, const Context& ctx, Operands operands, DType dtype) {
    for (const Operand& o : operands) {
        EFFNET_CHECK(o.tensor.defined(), op << ": " << o.name << " is an undefined tensor");
        EFFNET_CHECK(o.tensor.dtype() == dtype, op << ": " << o.name << " is "
                                                   << dtype_name(o.tensor.dtype()) << ", expected "
                                                   << dtype_name(dtype));
        EFFNET_CHECK(o.tensor.device() == ctx.device(),
                     op << ": " << o.name << " is on " << device_name(o.tensor.device())
                        << ", the context on " << device_name(ctx.device()));
    }
}

void check_same_numel(const char* op, const Context& ctx, Operands operands) {
    check_operands(op, ctx, operands);
    const Operand& first = *operands.begin();
    for (const Operand& o : operands)
        EFFNET_CHECK(o.tensor.numel() == first.tensor.numel(),
                     op << ": " << o.name << " " << o.tensor.shape() << " and " << first.name << " "
                        << first.tensor.shape() << " differ in element count");
}

void check_numel(const char* op, Operands operands, int64_t numel, const char* what) {
    for (const Operand& o : operands)
        EFFNET_CHECK(o.tensor.numel() == numel, op << ": " << o.name << " has shape "
                                                   << o.tensor.shape() << ", expected " << numel
                                                   << " " << what);
}

std::pair<int64_t, int64_t> rows_channels(const Tensor& t) {
    const int64_t c = t.rank() ? t.dim(t.rank() - 1) : 1;
    return {c ? t.numel() / c : 0, c};
}

std::pair<int64_t, int64_t> check_rows_channels(const char* op, const Context& ctx, Operands like_x,
                                                Operands per_channel) {
    check_same_numel(op, ctx, like_x);
    check_operands(op, ctx, per_channel);
    const auto mc = rows_channels(like_x.begin()->tensor);
    check_numel(op, per_channel, mc.second, "channels");
    return mc;
}

bool use_cudnn_batchnorm(const Context& ctx) {
    if (ctx.batchnorm_kernels != KernelChoice::CUDNN) return false;
    log_kernel_choice_once("batch norm", "cuDNN (--kernels cudnn)");
    return true;
}

void check_sync_bn_on_host(const char* op, const Tensor& x, const void* sync) {
    EFFNET_CHECK(!sync || !x.is_cuda(),
                 op << ": --sync-bn (batch-norm statistics over ranks) is implemented for CPU "
                       "training only; on GPUs train without it (per-rank statistics)");
}

void check_conv_operands(const char* op, const Context& ctx, const Tensor& x, const Tensor& w,
                         const Tensor& y, const ConvGeometry& g, bool depthwise) {
    check_operands(op, ctx, {{x, "input"}, {w, "weight"}, {y, "output"}});
    EFFNET_CHECK(x.shape() == (Shape{g.n, g.h, g.w, g.cin}),
                 op << ": input " << x.shape() << ", expected NHWC [" << g.n << ", " << g.h << ", "
                    << g.w << ", " << g.cin << "]");
    EFFNET_CHECK(y.shape() == (Shape{g.n, g.ho(), g.wo(), g.cout}),
                 op << ": output " << y.shape() << ", expected [" << g.n << ", " << g.ho() << ", "
                    << g.wo() << ", " << g.cout << "]");
    EFFNET_CHECK(w.shape() == (Shape{g.cout, g.cin_per_group(), g.kh, g.kw}),
                 op << ": weight " << w.shape() << " does not match the geometry");
    EFFNET_CHECK(!depthwise || (g.groups == g.cin && g.cin == g.cout),
                 op << ": not a depthwise geometry");
}

}  // namespace detail
}  // namespace effnet
