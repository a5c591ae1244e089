// cuDNN implementations of convolution (depthwise, and the dense stem) and
// batch normalisation, selectable at run time (`--kernels`,
// Context::depthwise_kernels / batchnorm_kernels / conv_kernels) so every
// hand-written kernel can be checked and timed against the vendor library.
//
// Layout: NHWC tensors (cuDNN dims are given as N, C, H, W with the NHWC
// format) and NHWC (KRSC) filters: dense weights are relaid from PyTorch's
// order into scratch; a depthwise filter [C, 1, k, k] is the same bytes in
// both orders.
// Batch norm uses cuDNN's spatial mode: its saved mean / inverse std and its
// running-average rule (unbiased variance, factor = momentum) are PyTorch's.
//
// The legacy descriptor API is deprecated in cuDNN 9 but still shipped; it is
// far shorter than the graph API for these two fixed ops, so the deprecation
// warning is silenced for this file only. Convolution descriptors, algorithms
// and workspace sizes are chosen once per shape and cached.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

#include "kernels/cuda/cudnn.h"

#include "kernels/conv2d.h"
#include "kernels/dispatch.h"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <vector>

#include "tensor/cuda_check.h"
#include "tensor/tensor.h"

namespace effnet::cuda {

namespace {

std::string shape_of(const ConvGeometry& g) {
    std::ostringstream os;
    os << "cuDNN convolution N=" << g.n << " H=" << g.h << " W=" << g.w << " Cin=" << g.cin
       << " Cout=" << g.cout << " k=" << g.kh << " s=" << g.stride << " groups=" << g.groups;
    return os.str();
}

struct TensorDesc {
    cudnnTensorDescriptor_t d = nullptr;
    TensorDesc(int64_t n, int64_t c, int64_t h, int64_t w) {
        EFFNET_CUDNN_CHECK(cudnnCreateTensorDescriptor(&d), "");
        EFFNET_CUDNN_CHECK(cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT,
                                                      int(n), int(c), int(h), int(w)),
                           "NHWC " << n << "x" << h << "x" << w << "x" << c);
    }
    ~TensorDesc() { cudnnDestroyTensorDescriptor(d); }
};

// Any grouped 2-D convolution: NHWC activations, filter in NHWC (KRSC) order
// [Cout][kH][kW][Cin/g]. A depthwise filter [C, 1, k, k] is already in that
// order. Math: CUDNN_FMA_MATH (exact FP32) unless TF32 is allowed;
// CUDNN_DEFAULT_MATH would permit TF32 tensor cores on sm_80 and later.
struct ConvDescs {
    TensorDesc x, y;
    cudnnFilterDescriptor_t w = nullptr;
    cudnnConvolutionDescriptor_t conv = nullptr;
    ConvDescs(const ConvGeometry& g, bool tf32)
        : x(g.n, g.cin, g.h, g.w), y(g.n, g.cout, g.ho(), g.wo()) {
        EFFNET_CUDNN_CHECK(cudnnCreateFilterDescriptor(&w), "");
        EFFNET_CUDNN_CHECK(
            cudnnSetFilter4dDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NHWC, int(g.cout),
                                       int(g.cin_per_group()), int(g.kh), int(g.kw)),
            "filter " << g.cout << "x" << g.cin_per_group() << "x" << g.kh << "x" << g.kw);
        EFFNET_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv), "");
        EFFNET_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(
                               conv, int(g.pad), int(g.pad), int(g.stride), int(g.stride), 1, 1,
                               CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
                           "stride " << g.stride);
        EFFNET_CUDNN_CHECK(cudnnSetConvolutionGroupCount(conv, int(g.groups)),
                           "groups " << g.groups);
        EFFNET_CUDNN_CHECK(
            cudnnSetConvolutionMathType(conv, tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH), "");
    }
    ~ConvDescs() {
        cudnnDestroyConvolutionDescriptor(conv);
        cudnnDestroyFilterDescriptor(w);
    }
};

// Algorithm choice for one shape: the first algorithm cuDNN's heuristics rank
// that is supported (and, in exact mode, does not use tensor cores).
struct Algos {
    cudnnConvolutionFwdAlgo_t fwd;
    cudnnConvolutionBwdDataAlgo_t data;
    cudnnConvolutionBwdFilterAlgo_t filter;
    size_t workspace;
};

std::mutex nondeterministic_mu;
std::vector<std::string> nondeterministic;  // guarded by nondeterministic_mu

// Deterministic algorithms first (some backward-filter algorithms sum with
// atomics, so two identical steps would differ); a non-deterministic one only
// when cuDNN offers nothing else, and then said once and remembered
// (cudnn_nondeterministic_choices).
template <class Perf>
auto first_usable(const Perf* p, int found, bool tf32, const char* what, const std::string& shape) {
    auto usable = [&](const Perf& q) {
        return q.status == CUDNN_STATUS_SUCCESS &&
               (tf32 || q.mathType == CUDNN_FMA_MATH || q.mathType == CUDNN_DEFAULT_MATH);
    };
    for (int i = 0; i < found; ++i)
        if (usable(p[i]) && p[i].determinism == CUDNN_DETERMINISTIC) return p[i].algo;
    for (int i = 0; i < found; ++i)
        if (usable(p[i])) {
            log_kernel_choice_once((std::string("cuDNN ") + what).c_str(),
                                   "a non-deterministic algorithm (no other offered)");
            std::lock_guard<std::mutex> lock(nondeterministic_mu);
            nondeterministic.push_back(std::string(what) + " of " + shape);
            return p[i].algo;
        }
    throw CudaError(std::string("cuDNN offers no ") + what +
                    " algorithm for this convolution in exact FP32");
}

Algos choose_algos(cudnnHandle_t h, const ConvDescs& d, bool tf32, const std::string& shape) {
    Algos a{};
    int found = 0;
    cudnnConvolutionFwdAlgoPerf_t fp[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    EFFNET_CUDNN_CHECK(
        cudnnGetConvolutionForwardAlgorithm_v7(h, d.x.d, d.w, d.conv, d.y.d,
                                               CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &found, fp),
        "fwd algo");
    a.fwd = first_usable(fp, found, tf32, "forward", shape);
    cudnnConvolutionBwdDataAlgoPerf_t dp[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    EFFNET_CUDNN_CHECK(
        cudnnGetConvolutionBackwardDataAlgorithm_v7(
            h, d.w, d.y.d, d.conv, d.x.d, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &found, dp),
        "data algo");
    a.data = first_usable(dp, found, tf32, "backward-data", shape);
    cudnnConvolutionBwdFilterAlgoPerf_t bp[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    EFFNET_CUDNN_CHECK(
        cudnnGetConvolutionBackwardFilterAlgorithm_v7(
            h, d.x.d, d.y.d, d.conv, d.w, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &found, bp),
        "filter algo");
    a.filter = first_usable(bp, found, tf32, "backward-filter", shape);
    size_t s1 = 0, s2 = 0, s3 = 0;
    EFFNET_CUDNN_CHECK(
        cudnnGetConvolutionForwardWorkspaceSize(h, d.x.d, d.w, d.conv, d.y.d, a.fwd, &s1), "");
    EFFNET_CUDNN_CHECK(
        cudnnGetConvolutionBackwardDataWorkspaceSize(h, d.w, d.y.d, d.conv, d.x.d, a.data, &s2),
        "");
    EFFNET_CUDNN_CHECK(
        cudnnGetConvolutionBackwardFilterWorkspaceSize(h, d.x.d, d.y.d, d.conv, d.w, a.filter, &s3),
        "");
    a.workspace = std::max({s1, s2, s3, size_t(1)});
    return a;
}

// Descriptors, algorithms and workspace of one convolution shape, built on
// first use and kept: a step only looks them up. The workspace belongs to the
// plan for the life of the process, so a CUDA graph that captured its address
// stays valid and an out-of-memory retry (which releases the allocator's
// cached blocks) cannot free it. Plans are shared by every Context: they all
// run on the one device stream, so the workspace is used in stream order.
struct ConvPlan {
    ConvDescs d;
    Algos a;
    Tensor workspace;
    ConvPlan(cudnnHandle_t h, const ConvGeometry& g, bool tf32)
        : d(g, tf32),
          a(choose_algos(h, d, tf32, shape_of(g))),
          workspace(Tensor::empty(Shape{int64_t((a.workspace + sizeof(float) - 1) / sizeof(float))},
                                  Device::CUDA)) {}
};

const ConvPlan& plan_for(cudnnHandle_t h, const ConvGeometry& g, bool tf32) {
    static std::mutex mu;
    static std::map<std::vector<int64_t>, std::unique_ptr<ConvPlan>> cache;
    const std::vector<int64_t> key{g.n,  g.h,      g.w,   g.cin,    g.cout,       g.kh,
                                   g.kw, g.stride, g.pad, g.groups, int64_t(tf32)};
    std::lock_guard<std::mutex> lock(mu);
    auto& plan = cache[key];
    if (!plan) plan = std::make_unique<ConvPlan>(h, g, tf32);
    return *plan;
}

// The three cuDNN calls on a filter in KRSC order; the filter gradient is
// written with beta = `accumulate`.
void conv_forward(cudnnHandle_t h, const float* x, const float* w_krsc, float* y,
                  const ConvGeometry& g, bool tf32) {
    const ConvPlan& plan = plan_for(h, g, tf32);
    const ConvDescs& d = plan.d;
    const Algos& a = plan.a;
    const float one = 1.0f, zero = 0.0f;
    EFFNET_CUDNN_CHECK(cudnnConvolutionForward(h, &one, d.x.d, x, d.w, w_krsc, d.conv, a.fwd,
                                               plan.workspace.raw(), a.workspace, &zero, d.y.d, y),
                       shape_of(g));
}

void conv_backward_data(cudnnHandle_t h, const float* dy, const float* w_krsc, float* dx,
                        const ConvGeometry& g, bool tf32) {
    const ConvPlan& plan = plan_for(h, g, tf32);
    const ConvDescs& d = plan.d;
    const Algos& a = plan.a;
    const float one = 1.0f, zero = 0.0f;
    EFFNET_CUDNN_CHECK(
        cudnnConvolutionBackwardData(h, &one, d.w, w_krsc, d.y.d, dy, d.conv, a.data,
                                     plan.workspace.raw(), a.workspace, &zero, d.x.d, dx),
        shape_of(g));
}

void conv_backward_filter(cudnnHandle_t h, const float* x, const float* dy, float* dw_krsc,
                          const ConvGeometry& g, bool tf32, bool accumulate) {
    const ConvPlan& plan = plan_for(h, g, tf32);
    const ConvDescs& d = plan.d;
    const Algos& a = plan.a;
    const float one = 1.0f, beta = accumulate ? 1.0f : 0.0f;
    EFFNET_CUDNN_CHECK(
        cudnnConvolutionBackwardFilter(h, &one, d.x.d, x, d.y.d, dy, d.conv, a.filter,
                                       plan.workspace.raw(), a.workspace, &beta, d.w, dw_krsc),
        shape_of(g));
}

}  // namespace

std::vector<std::string> cudnn_nondeterministic_choices() {
    std::lock_guard<std::mutex> lock(nondeterministic_mu);
    return nondeterministic;
}

// Depthwise: the PyTorch filter bytes are already KRSC.
void cudnn_depthwise_forward(CudnnHandle h, const float* x, const float* w, float* y,
                             const ConvGeometry& g) {
    conv_forward(h, x, w, y, g, false);
}

void cudnn_depthwise_backward_input(CudnnHandle h, const float* dy, const float* w, float* dx,
                                    const ConvGeometry& g) {
    conv_backward_data(h, dy, w, dx, g, false);
}

void cudnn_depthwise_backward_weight(CudnnHandle h, const float* x, const float* dy, float* dw,
                                     const ConvGeometry& g) {
    conv_backward_filter(h, x, dy, dw, g, false, true);  // parameter gradients accumulate
}

// Dense: the filter goes through `krsc` (conv2d_krsc_floats(g) floats of device scratch).
size_t conv2d_krsc_floats(const ConvGeometry& g) {
    return size_t(g.cout * g.kh * g.kw * g.cin_per_group());
}

void cudnn_conv2d_forward(CudnnHandle h, const float* x, const float* w, float* y,
                          const ConvGeometry& g, float* krsc, bool tf32, CudaStream stream) {
    conv2d_weight_to_krsc(w, krsc, g, stream);
    conv_forward(h, x, krsc, y, g, tf32);
}

void cudnn_conv2d_backward_input(CudnnHandle h, const float* dy, const float* w, float* dx,
                                 const ConvGeometry& g, float* krsc, bool tf32, CudaStream stream) {
    conv2d_weight_to_krsc(w, krsc, g, stream);
    conv_backward_data(h, dy, krsc, dx, g, tf32);
}

void cudnn_conv2d_backward_weight(CudnnHandle h, const float* x, const float* dy, float* dw,
                                  const ConvGeometry& g, float* krsc, bool tf32,
                                  CudaStream stream) {
    conv_backward_filter(h, x, dy, krsc, g, tf32, false);
    conv2d_weight_from_krsc_add(krsc, dw, g, stream);
}

namespace {
struct BnDescs {
    TensorDesc x;
    cudnnTensorDescriptor_t p = nullptr;
    BnDescs(int64_t m, int64_t c) : x(m, c, 1, 1) {
        EFFNET_CUDNN_CHECK(cudnnCreateTensorDescriptor(&p), "");
        EFFNET_CUDNN_CHECK(cudnnDeriveBNTensorDescriptor(p, x.d, CUDNN_BATCHNORM_SPATIAL),
                           "BN C=" << c);
    }
    ~BnDescs() { cudnnDestroyTensorDescriptor(p); }
};
}  // namespace

// Rows M = N*H*W are presented to cuDNN as an M x C x 1 x 1 NHWC tensor: the
// per-channel statistics over all rows are the same.
void cudnn_batchnorm_train_forward(CudnnHandle h, const float* x, const float* gamma,
                                   const float* beta, float* y, float* save_mean,
                                   float* save_invstd, float* running_mean, float* running_var,
                                   int64_t m, int64_t c, double eps, double momentum) {
    BnDescs d(m, c);
    const float one = 1.0f, zero = 0.0f;
    EFFNET_CUDNN_CHECK(cudnnBatchNormalizationForwardTraining(
                           h, CUDNN_BATCHNORM_SPATIAL, &one, &zero, d.x.d, x, d.x.d, y, d.p, gamma,
                           beta, momentum, running_mean, running_var, eps, save_mean, save_invstd),
                       "cuDNN batch norm M=" << m << " C=" << c);
}

void cudnn_batchnorm_eval_forward(CudnnHandle h, const float* x, const float* gamma,
                                  const float* beta, const float* running_mean,
                                  const float* running_var, float* y, int64_t m, int64_t c,
                                  double eps) {
    BnDescs d(m, c);
    const float one = 1.0f, zero = 0.0f;
    EFFNET_CUDNN_CHECK(cudnnBatchNormalizationForwardInference(
                           h, CUDNN_BATCHNORM_SPATIAL, &one, &zero, d.x.d, x, d.x.d, y, d.p, gamma,
                           beta, running_mean, running_var, eps),
                       "cuDNN batch norm (eval) M=" << m << " C=" << c);
}

void cudnn_batchnorm_backward(CudnnHandle h, const float* x, const float* dy, const float* gamma,
                              const float* save_mean, const float* save_invstd, float* dx,
                              float* dgamma, float* dbeta, int64_t m, int64_t c, double eps) {
    BnDescs d(m, c);
    const float one = 1.0f, zero = 0.0f;
    // dx overwritten (beta 0); dgamma/dbeta accumulate (beta 1).
    EFFNET_CUDNN_CHECK(cudnnBatchNormalizationBackward(
                           h, CUDNN_BATCHNORM_SPATIAL, &one, &zero, &one, &one, d.x.d, x, d.x.d, dy,
                           d.x.d, dx, d.p, gamma, dgamma, dbeta, eps, save_mean, save_invstd),
                       "cuDNN batch norm backward M=" << m << " C=" << c);
}

}  // namespace effnet::cuda
