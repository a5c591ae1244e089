// Per-channel coefficients shared by the batch-norm and fused BN+swish CPU
// kernels: every normalising pass is y = x * scale + shift, every backward
// pass dx = k_dy * g + k_const + k_xhat * xhat (g = dy, or dz when fused).
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/batchnorm.h"
#include "kernels/cpu/channel_sums.h"

namespace effnet::cpu {

template <class T>
struct ChannelAffine {
    std::vector<T> scale, shift;
};

// --sync-bn: adds every rank's sums (and row counts, appended as the last
// value) in place; null leaves this process's own. Returns the global row count.
inline double sum_over_ranks(ChannelSumReducer* sync, std::vector<double>& sums, double rows) {
    if (!sync) return rows;
    sums.push_back(rows);
    sync->sum(sums.data(), sums.size());
    const double total = sums.back();
    sums.pop_back();
    return total;
}

// Batch statistics (two passes in double: mean, then centred squares), the
// saved mean/invstd, the running statistics (skipped when null) and the affine
// map. With `sync`, the statistics are the global batch's: the sums of both
// passes are added over the ranks before they are divided.
template <class T>
ChannelAffine<T> batchnorm_train_affine(const T* x, const T* gamma, const T* beta, T* save_mean,
                                        T* save_invstd, T* running_mean, T* running_var, int64_t m,
                                        int64_t c, double eps, double momentum,
                                        ChannelSumReducer* sync = nullptr) {
    std::vector<double> sum, unused;
    channel_sums2(
        m, c, [&](int64_t r, int64_t j) { return double(x[r * c + j]); },
        [](int64_t, int64_t) { return 0.0; }, sum, unused);
    const double rows = sum_over_ranks(sync, sum, double(m));
    std::vector<double> mean(c);
    for (int64_t j = 0; j < c; ++j) mean[j] = sum[j] / rows;
    std::vector<double> sq;
    channel_sums2(
        m, c,
        [&](int64_t r, int64_t j) {
            double d = x[r * c + j] - mean[j];
            return d * d;
        },
        [](int64_t, int64_t) { return 0.0; }, sq, unused);
    sum_over_ranks(sync, sq, double(m));
    ChannelAffine<T> a{std::vector<T>(c), std::vector<T>(c)};
    for (int64_t j = 0; j < c; ++j) {
        const double var = sq[j] / rows;
        const double invstd = 1.0 / std::sqrt(var + eps);
        save_mean[j] = T(mean[j]);
        save_invstd[j] = T(invstd);
        a.scale[j] = T(double(gamma[j]) * invstd);
        a.shift[j] = T(double(beta[j]) - mean[j] * double(gamma[j]) * invstd);
        if (running_mean) {
            const double unbiased = rows > 1 ? sq[j] / (rows - 1) : sq[j];
            running_mean[j] = T((1.0 - momentum) * running_mean[j] + momentum * mean[j]);
            running_var[j] = T((1.0 - momentum) * running_var[j] + momentum * unbiased);
        }
    }
    return a;
}

// The eval-mode affine map from the running statistics.
template <class T>
ChannelAffine<T> batchnorm_eval_affine(const T* gamma, const T* beta, const T* running_mean,
                                       const T* running_var, int64_t c, double eps) {
    ChannelAffine<T> a{std::vector<T>(c), std::vector<T>(c)};
    for (int64_t j = 0; j < c; ++j) {
        const double invstd = 1.0 / std::sqrt(double(running_var[j]) + eps);
        a.scale[j] = T(double(gamma[j]) * invstd);
        a.shift[j] = T(double(beta[j]) - double(running_mean[j]) * double(gamma[j]) * invstd);
    }
    return a;
}

// y = post(x * scale + shift) over [M, C] rows on OpenMP threads (post: the
// identity for a batch norm, swish for the fused layer).
template <class T, class Post>
void apply_channel_affine(const T* x, const ChannelAffine<T>& a, T* y, int64_t m, int64_t c,
                          Post post) {
    const T* scale = a.scale.data();
    const T* shift = a.shift.data();
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < m; ++r)
#pragma omp simd
        for (int64_t j = 0; j < c; ++j) y[r * c + j] = post(x[r * c + j] * scale[j] + shift[j]);
}

template <class T>
struct BackwardCoefficients {
    std::vector<T> k_dy, k_const, k_xhat;
};

// From the channel sums of g and g * xhat: accumulates dbeta and dgamma and
// returns dx = k_dy*g + k_const + k_xhat*xhat, i.e. a*g - a/M*sum_g - a/M*xhat*sum_g_xhat, a = gamma*invstd.
// With `sync` (the forward's), dgamma and dbeta take this rank's own sums (the
// gradient all-reduce averages them), dx the global batch's sums and M.
template <class T>
BackwardCoefficients<T> batchnorm_backward_coefficients(std::vector<double> sum_g,
                                                        std::vector<double> sum_g_xhat,
                                                        const T* gamma, const T* save_invstd,
                                                        T* dgamma, T* dbeta, int64_t m, int64_t c,
                                                        ChannelSumReducer* sync = nullptr) {
    BackwardCoefficients<T> k{std::vector<T>(c), std::vector<T>(c), std::vector<T>(c)};
    for (int64_t j = 0; j < c; ++j) {
        dbeta[j] += T(sum_g[j]);
        dgamma[j] += T(sum_g_xhat[j]);
    }
    double rows = double(m);
    if (sync) {
        sum_g.insert(sum_g.end(), sum_g_xhat.begin(), sum_g_xhat.end());
        rows = sum_over_ranks(sync, sum_g, rows);
        sum_g_xhat.assign(sum_g.begin() + c, sum_g.end());
        sum_g.resize(size_t(c));
    }
    for (int64_t j = 0; j < c; ++j) {
        const double a = double(gamma[j]) * save_invstd[j];
        k.k_dy[j] = T(a);
        k.k_const[j] = T(-a * sum_g[j] / rows);
        k.k_xhat[j] = T(-a * sum_g_xhat[j] / rows);
    }
    return k;
}

}  // namespace effnet::cpu
