// cuDNN implementations of depthwise convolution and batch normalisation,
// selectable at run time (`--kernels cudnn`, Context::depthwise_kernels /
// batchnorm_kernels) so every hand-written kernel can be checked and timed
// against the vendor library.
//
// Layout: NHWC tensors (cuDNN dims are given as N, C, H, W with the NHWC
// format). A depthwise filter [C, 1, k, k] is the same bytes in NCHW and NHWC
// filter order (one input channel per group), so it is declared NHWC.
// Batch norm uses cuDNN's spatial mode: its saved mean / inverse std and its
// running-average rule (unbiased variance, factor = momentum) are PyTorch's.
//
// The legacy descriptor API is deprecated in cuDNN 9 but still shipped; it is
// far shorter than the graph API for these two fixed ops, so the deprecation
// warning is silenced for this file only. Algorithms and workspace sizes are
// chosen once per shape and cached.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

#include "kernels/cuda/cudnn_fallback.h"

#include <map>
#include <mutex>
#include <tuple>

#include "tensor/caching_allocator.h"
#include "tensor/cuda_check.h"

namespace effnet::cuda {

namespace {

cudnnHandle_t handle_of(void* h) { return static_cast<cudnnHandle_t>(h); }

struct TensorDesc {
    cudnnTensorDescriptor_t d = nullptr;
    TensorDesc(int64_t n, int64_t c, int64_t h, int64_t w) {
        EFFNET_CUDNN_CHECK(cudnnCreateTensorDescriptor(&d), "");
        EFFNET_CUDNN_CHECK(cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, int(n), int(c), int(h), int(w)),
                           "NHWC " << n << "x" << h << "x" << w << "x" << c);
    }
    ~TensorDesc() { cudnnDestroyTensorDescriptor(d); }
};

struct DepthwiseDescs {
    TensorDesc x, y;
    cudnnFilterDescriptor_t w = nullptr;
    cudnnConvolutionDescriptor_t conv = nullptr;
    explicit DepthwiseDescs(const ConvGeometry& g) : x(g.n, g.cin, g.h, g.w), y(g.n, g.cin, g.ho(), g.wo()) {
        EFFNET_CUDNN_CHECK(cudnnCreateFilterDescriptor(&w), "");
        EFFNET_CUDNN_CHECK(cudnnSetFilter4dDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NHWC, int(g.cin), 1, int(g.kh), int(g.kw)),
                           "depthwise filter C=" << g.cin << " k=" << g.kh);
        EFFNET_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv), "");
        EFFNET_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(conv, int(g.pad), int(g.pad), int(g.stride), int(g.stride), 1, 1,
                                                           CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
                           "stride " << g.stride);
        EFFNET_CUDNN_CHECK(cudnnSetConvolutionGroupCount(conv, int(g.cin)), "groups " << g.cin);
        EFFNET_CUDNN_CHECK(cudnnSetConvolutionMathType(conv, CUDNN_DEFAULT_MATH), "");  // FP32, no TF32
    }
    ~DepthwiseDescs() {
        cudnnDestroyConvolutionDescriptor(conv);
        cudnnDestroyFilterDescriptor(w);
    }
};

// Per-shape algorithm choice (fastest exact-FP32 algorithm cuDNN's heuristics rank first).
struct Algos {
    cudnnConvolutionFwdAlgo_t fwd;
    cudnnConvolutionBwdDataAlgo_t data;
    cudnnConvolutionBwdFilterAlgo_t filter;
    size_t workspace;
};

Algos algos_for(cudnnHandle_t h, const ConvGeometry& g, const DepthwiseDescs& d) {
    static std::mutex mu;
    static std::map<std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t>, Algos> cache;
    const auto key = std::make_tuple(g.n, g.h, g.w, g.cin, g.kh, g.stride);
    std::lock_guard<std::mutex> lock(mu);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
    Algos a{};
    int found = 0;
    cudnnConvolutionFwdAlgoPerf_t fp[8];
    EFFNET_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, d.x.d, d.w, d.conv, d.y.d, 8, &found, fp), "fwd algo");
    a.fwd = fp[0].algo;
    cudnnConvolutionBwdDataAlgoPerf_t dp[8];
    EFFNET_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d.w, d.y.d, d.conv, d.x.d, 8, &found, dp), "data algo");
    a.data = dp[0].algo;
    cudnnConvolutionBwdFilterAlgoPerf_t bp[8];
    EFFNET_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, d.x.d, d.y.d, d.conv, d.w, 8, &found, bp), "filter algo");
    a.filter = bp[0].algo;
    size_t s1 = 0, s2 = 0, s3 = 0;
    EFFNET_CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(h, d.x.d, d.w, d.conv, d.y.d, a.fwd, &s1), "");
    EFFNET_CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(h, d.w, d.y.d, d.conv, d.x.d, a.data, &s2), "");
    EFFNET_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(h, d.x.d, d.y.d, d.conv, d.w, a.filter, &s3), "");
    a.workspace = std::max({s1, s2, s3, size_t(1)});
    cache.emplace(key, a);
    return a;
}

// Scratch for cuDNN, from the caching allocator (returned at scope exit).
struct Scratch {
    void* p;
    explicit Scratch(size_t bytes) : p(device_allocator().allocate(bytes)) {}
    ~Scratch() { device_allocator().deallocate(p); }
};

std::string shape_of(const ConvGeometry& g) {
    std::ostringstream os;
    os << "cuDNN depthwise N=" << g.n << " H=" << g.h << " W=" << g.w << " C=" << g.cin << " k=" << g.kh << " s=" << g.stride;
    return os.str();
}

}  // namespace

void cudnn_depthwise_forward(void* h, const float* x, const float* w, float* y, const ConvGeometry& g) {
    DepthwiseDescs d(g);
    const Algos a = algos_for(handle_of(h), g, d);
    Scratch ws(a.workspace);
    const float one = 1.0f, zero = 0.0f;
    EFFNET_CUDNN_CHECK(cudnnConvolutionForward(handle_of(h), &one, d.x.d, x, d.w, w, d.conv, a.fwd, ws.p, a.workspace, &zero,
                                               d.y.d, y),
                       shape_of(g));
}

void cudnn_depthwise_backward_input(void* h, const float* dy, const float* w, float* dx, const ConvGeometry& g) {
    DepthwiseDescs d(g);
    const Algos a = algos_for(handle_of(h), g, d);
    Scratch ws(a.workspace);
    const float one = 1.0f, zero = 0.0f;
    EFFNET_CUDNN_CHECK(cudnnConvolutionBackwardData(handle_of(h), &one, d.w, w, d.y.d, dy, d.conv, a.data, ws.p, a.workspace,
                                                    &zero, d.x.d, dx),
                       shape_of(g));
}

void cudnn_depthwise_backward_weight(void* h, const float* x, const float* dy, float* dw, const ConvGeometry& g) {
    DepthwiseDescs d(g);
    const Algos a = algos_for(handle_of(h), g, d);
    Scratch ws(a.workspace);
    const float one = 1.0f;  // beta = 1: parameter gradients accumulate
    EFFNET_CUDNN_CHECK(cudnnConvolutionBackwardFilter(handle_of(h), &one, d.x.d, x, d.y.d, dy, d.conv, a.filter, ws.p,
                                                      a.workspace, &one, d.w, dw),
                       shape_of(g));
}

namespace {
struct BnDescs {
    TensorDesc x;
    cudnnTensorDescriptor_t p = nullptr;
    BnDescs(int64_t m, int64_t c) : x(m, c, 1, 1) {
        EFFNET_CUDNN_CHECK(cudnnCreateTensorDescriptor(&p), "");
        EFFNET_CUDNN_CHECK(cudnnDeriveBNTensorDescriptor(p, x.d, CUDNN_BATCHNORM_SPATIAL), "BN C=" << c);
    }
    ~BnDescs() { cudnnDestroyTensorDescriptor(p); }
};
}  // namespace

// Rows M = N*H*W are presented to cuDNN as an M x C x 1 x 1 NHWC tensor: the
// per-channel statistics over all rows are the same.
void cudnn_batchnorm_train_forward(void* h, const float* x, const float* gamma, const float* beta, float* y, float* save_mean,
                                   float* save_invstd, float* running_mean, float* running_var, int64_t m, int64_t c,
                                   double eps, double momentum) {
    BnDescs d(m, c);
    const float one = 1.0f, zero = 0.0f;
    EFFNET_CUDNN_CHECK(cudnnBatchNormalizationForwardTraining(handle_of(h), CUDNN_BATCHNORM_SPATIAL, &one, &zero, d.x.d, x,
                                                              d.x.d, y, d.p, gamma, beta, momentum, running_mean, running_var,
                                                              eps, save_mean, save_invstd),
                       "cuDNN batch norm M=" << m << " C=" << c);
}

void cudnn_batchnorm_eval_forward(void* h, const float* x, const float* gamma, const float* beta, const float* running_mean,
                                  const float* running_var, float* y, int64_t m, int64_t c, double eps) {
    BnDescs d(m, c);
    const float one = 1.0f, zero = 0.0f;
    EFFNET_CUDNN_CHECK(cudnnBatchNormalizationForwardInference(handle_of(h), CUDNN_BATCHNORM_SPATIAL, &one, &zero, d.x.d, x,
                                                               d.x.d, y, d.p, gamma, beta, running_mean, running_var, eps),
                       "cuDNN batch norm (eval) M=" << m << " C=" << c);
}

void cudnn_batchnorm_backward(void* h, const float* x, const float* dy, const float* gamma, const float* save_mean,
                              const float* save_invstd, float* dx, float* dgamma, float* dbeta, int64_t m, int64_t c, double eps) {
    BnDescs d(m, c);
    const float one = 1.0f, zero = 0.0f;
    // dx overwritten (beta 0); dgamma/dbeta accumulate (beta 1).
    EFFNET_CUDNN_CHECK(cudnnBatchNormalizationBackward(handle_of(h), CUDNN_BATCHNORM_SPATIAL, &one, &zero, &one, &one, d.x.d, x,
                                                       d.x.d, dy, d.x.d, dx, d.p, gamma, dgamma, dbeta, eps, save_mean,
                                                       save_invstd),
                       "cuDNN batch norm backward M=" << m << " C=" << c);
}

}  // namespace effnet::cuda
