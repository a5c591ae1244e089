// Synchronised batch norm (--sync-bn; kernels/batchnorm.h): ranks that each
// hold rows of a batch and add their sums through a ChannelSumReducer
// normalise, back-propagate and update running statistics as one process
// holding the whole batch does. Ranks are threads here (ThreadRanks); the
// reducer over real processes is dist/'s, tested under mpirun.
#include <gtest/gtest.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "common/gpu_test.h"
#include "common/gradcheck.h"
#include "kernels/batchnorm.h"
#include "kernels/bn_swish.h"

using namespace effnet;
using namespace effnet::test;

namespace {

// `n` threads standing in for `n` ranks: sum() waits until every rank has
// called it, then gives each the element-wise sum, added in rank order.
class ThreadRanks {
public:
    explicit ThreadRanks(int n) : n_(n), parts_(size_t(n)) {
        for (int r = 0; r < n; ++r) ranks_.push_back(Rank(this, r));
    }
    ChannelSumReducer& rank(int r) { return ranks_[size_t(r)]; }
    // Runs body(r) on one thread per rank.
    void run(const std::function<void(int)>& body) {
        std::vector<std::thread> threads;
        for (int r = 0; r < n_; ++r) threads.emplace_back(body, r);
        for (auto& t : threads) t.join();
    }

private:
    struct Rank final : ChannelSumReducer {
        Rank(ThreadRanks* g, int r) : group(g), index(r) {}
        void sum(double* v, size_t n) override { group->sum(index, v, n); }
        ThreadRanks* group;
        int index;
    };
    void sum(int r, double* v, size_t n) {
        std::unique_lock<std::mutex> lock(mu_);
        const int generation = generation_;
        parts_[size_t(r)].assign(v, v + n);
        if (++arrived_ == n_) {
            result_.assign(n, 0.0);
            for (const auto& p : parts_)
                for (size_t k = 0; k < n; ++k) result_[k] += p[k];
            arrived_ = 0;
            ++generation_;
            cv_.notify_all();
        } else {
            cv_.wait(lock, [&] { return generation_ != generation; });
        }
        std::copy(result_.begin(), result_.end(), v);
    }
    int n_, arrived_ = 0, generation_ = 0;
    std::vector<std::vector<double>> parts_;
    std::vector<double> result_;
    std::vector<Rank> ranks_;
    std::mutex mu_;
    std::condition_variable cv_;
};

// One rank that sums with nobody: the synchronised path must then be the plain one, bit for bit.
struct Alone final : ChannelSumReducer {
    void sum(double*, size_t) override {}
};

struct BnState {
    std::vector<double> y, mean, invstd, affine, rm, rv, dx, dgamma, dbeta;
    BnState(int64_t m, int64_t c)
        : y(size_t(m * c)),
          mean(size_t(c)),
          invstd(size_t(c)),
          affine(size_t(2 * c)),
          rm(size_t(c), 0.1),
          rv(size_t(c), 2.0),
          dx(size_t(m * c)),
          dgamma(size_t(c), 0.5),
          dbeta(size_t(c), -0.25) {}
};

void expect_close(const double* got, const double* want, size_t n, const char* what) {
    // Double sums in another order: agreement to ~1e-15 relative; 1e-12 leaves room.
    for (size_t i = 0; i < n; ++i)
        ASSERT_NEAR(got[i], want[i], 1e-12 * (1 + std::abs(want[i]))) << what << "[" << i << "]";
}

// Rows [0, m) split over ranks at `cuts`; every rank runs forward then
// backward on its rows (fused with swish or not) against one process on all rows.
void check_ranks_match_one_process(const std::vector<int64_t>& cuts, bool swish) {
    const int64_t c = 5, m = cuts.back();
    const int n = int(cuts.size()) - 1;
    // A large channel mean over a small spread, as after a ReLU-like layer.
    std::vector<double> x = random_vector(size_t(m * c), 11, 3.0, 5.0),
                        dy = random_vector(size_t(m * c), 12);
    const std::vector<double> gamma = random_vector(size_t(c), 13, 0.5, 1.5),
                              beta = random_vector(size_t(c), 14);
    BnState whole(m, c);
    if (swish) {
        cpu::bn_swish_train_forward(x.data(), gamma.data(), beta.data(), whole.y.data(),
                                    whole.mean.data(), whole.invstd.data(), whole.affine.data(),
                                    whole.rm.data(), whole.rv.data(), m, c, 1e-5, 0.1, nullptr);
        cpu::bn_swish_backward(x.data(), dy.data(), gamma.data(), whole.mean.data(),
                               whole.invstd.data(), whole.affine.data(), whole.dx.data(),
                               whole.dgamma.data(), whole.dbeta.data(), m, c, nullptr);
    } else {
        cpu::batchnorm_train_forward(x.data(), gamma.data(), beta.data(), whole.y.data(),
                                     whole.mean.data(), whole.invstd.data(), whole.rm.data(),
                                     whole.rv.data(), m, c, 1e-5, 0.1, nullptr);
        cpu::batchnorm_backward(x.data(), dy.data(), gamma.data(), whole.mean.data(),
                                whole.invstd.data(), whole.dx.data(), whole.dgamma.data(),
                                whole.dbeta.data(), m, c, nullptr);
    }
    ThreadRanks ranks(n);
    std::vector<BnState> part;
    for (int r = 0; r < n; ++r) part.emplace_back(cuts[size_t(r) + 1] - cuts[size_t(r)], c);
    ranks.run([&](int r) {
        BnState& s = part[size_t(r)];
        const int64_t rows = cuts[size_t(r) + 1] - cuts[size_t(r)];
        const double *xr = x.data() + cuts[size_t(r)] * c, *dyr = dy.data() + cuts[size_t(r)] * c;
        // Each rank's dgamma/dbeta start from its share of the same initial values.
        std::fill(s.dgamma.begin(), s.dgamma.end(), 0.5 / n);
        std::fill(s.dbeta.begin(), s.dbeta.end(), -0.25 / n);
        if (swish) {
            cpu::bn_swish_train_forward_synced(
                xr, gamma.data(), beta.data(), s.y.data(), s.mean.data(), s.invstd.data(),
                s.affine.data(), s.rm.data(), s.rv.data(), rows, c, 1e-5, 0.1, ranks.rank(r));
            cpu::bn_swish_backward_synced(xr, dyr, gamma.data(), s.mean.data(), s.invstd.data(),
                                          s.affine.data(), s.dx.data(), s.dgamma.data(),
                                          s.dbeta.data(), rows, c, ranks.rank(r));
        } else {
            cpu::batchnorm_train_forward_synced(xr, gamma.data(), beta.data(), s.y.data(),
                                                s.mean.data(), s.invstd.data(), s.rm.data(),
                                                s.rv.data(), rows, c, 1e-5, 0.1, ranks.rank(r));
            cpu::batchnorm_backward_synced(xr, dyr, gamma.data(), s.mean.data(), s.invstd.data(),
                                           s.dx.data(), s.dgamma.data(), s.dbeta.data(), rows, c,
                                           ranks.rank(r));
        }
    });
    std::vector<double> dgamma(size_t(c), 0.0), dbeta(size_t(c), 0.0);
    for (int r = 0; r < n; ++r) {
        const BnState& s = part[size_t(r)];
        const size_t at = size_t(cuts[size_t(r)] * c);
        expect_close(s.y.data(), whole.y.data() + at, s.y.size(), "y");
        expect_close(s.dx.data(), whole.dx.data() + at, s.dx.size(), "dx");
        expect_close(s.mean.data(), whole.mean.data(), size_t(c), "saved mean");
        expect_close(s.invstd.data(), whole.invstd.data(), size_t(c), "saved invstd");
        expect_close(s.rm.data(), whole.rm.data(), size_t(c), "running mean");
        expect_close(s.rv.data(), whole.rv.data(), size_t(c),
                     "running var (unbiased over the global batch)");
        for (int64_t j = 0; j < c; ++j) {
            dgamma[size_t(j)] += s.dgamma[size_t(j)];
            dbeta[size_t(j)] += s.dbeta[size_t(j)];
        }
    }
    // Each rank's dgamma/dbeta hold its own rows' sums: their sum (N x the average) is the whole batch's.
    expect_close(dgamma.data(), whole.dgamma.data(), size_t(c), "dgamma summed over ranks");
    expect_close(dbeta.data(), whole.dbeta.data(), size_t(c), "dbeta summed over ranks");
}

}  // namespace

TEST(BatchNormSync, TwoRanksMatchOneProcess) { check_ranks_match_one_process({0, 12, 24}, false); }
TEST(BatchNormSync, ThreeUnevenRanksMatchOneProcess) {
    check_ranks_match_one_process({0, 5, 12, 20}, false);
}
TEST(BatchNormSync, FusedSwishTwoRanksMatchOneProcess) {
    check_ranks_match_one_process({0, 12, 24}, true);
}
TEST(BatchNormSync, FusedSwishThreeUnevenRanksMatchOneProcess) {
    check_ranks_match_one_process({0, 7, 9, 20}, true);
}

TEST(BatchNormSync, OneRankIsThePlainKernelBitForBit) {
    const int64_t m = 37, c = 19;
    const std::vector<float> x = random_floats(size_t(m * c), 21, 2.0f, 4.0f),
                             dy = random_floats(size_t(m * c), 22);
    const std::vector<float> gamma = random_floats(size_t(c), 23),
                             beta = random_floats(size_t(c), 24);
    for (bool swish : {false, true}) {
        std::vector<float> y[2], mean[2], invstd[2], affine[2], rm[2], rv[2], dx[2], dg[2], db[2];
        for (int k = 0; k < 2; ++k) {
            y[k].resize(size_t(m * c));
            dx[k].resize(size_t(m * c));
            mean[k].resize(size_t(c));
            invstd[k].resize(size_t(c));
            affine[k].resize(size_t(2 * c));
            rm[k].assign(size_t(c), 0.0f);
            rv[k].assign(size_t(c), 1.0f);
            dg[k].assign(size_t(c), 0.0f);
            db[k].assign(size_t(c), 0.0f);
        }
        Alone alone;
        if (swish) {
            cpu::bn_swish_train_forward(x.data(), gamma.data(), beta.data(), y[0].data(),
                                        mean[0].data(), invstd[0].data(), affine[0].data(),
                                        rm[0].data(), rv[0].data(), m, c, 1e-5, 0.1, nullptr);
            cpu::bn_swish_train_forward_synced(x.data(), gamma.data(), beta.data(), y[1].data(),
                                               mean[1].data(), invstd[1].data(), affine[1].data(),
                                               rm[1].data(), rv[1].data(), m, c, 1e-5, 0.1, alone);
            for (int k = 0; k < 2; ++k) {
                if (k == 0)
                    cpu::bn_swish_backward(x.data(), dy.data(), gamma.data(), mean[0].data(),
                                           invstd[0].data(), affine[0].data(), dx[0].data(),
                                           dg[0].data(), db[0].data(), m, c, nullptr);
                else
                    cpu::bn_swish_backward_synced(x.data(), dy.data(), gamma.data(), mean[1].data(),
                                                  invstd[1].data(), affine[1].data(), dx[1].data(),
                                                  dg[1].data(), db[1].data(), m, c, alone);
            }
        } else {
            cpu::batchnorm_train_forward(x.data(), gamma.data(), beta.data(), y[0].data(),
                                         mean[0].data(), invstd[0].data(), rm[0].data(),
                                         rv[0].data(), m, c, 1e-5, 0.1, nullptr);
            cpu::batchnorm_train_forward_synced(x.data(), gamma.data(), beta.data(), y[1].data(),
                                                mean[1].data(), invstd[1].data(), rm[1].data(),
                                                rv[1].data(), m, c, 1e-5, 0.1, alone);
            cpu::batchnorm_backward(x.data(), dy.data(), gamma.data(), mean[0].data(),
                                    invstd[0].data(), dx[0].data(), dg[0].data(), db[0].data(), m,
                                    c, nullptr);
            cpu::batchnorm_backward_synced(x.data(), dy.data(), gamma.data(), mean[1].data(),
                                           invstd[1].data(), dx[1].data(), dg[1].data(),
                                           db[1].data(), m, c, alone);
        }
        EXPECT_EQ(y[0], y[1]) << "swish " << swish;
        EXPECT_EQ(dx[0], dx[1]) << "swish " << swish;
        EXPECT_EQ(rv[0], rv[1]) << "swish " << swish;
        EXPECT_EQ(dg[0], dg[1]) << "swish " << swish;
    }
}

TEST(BatchNormSync, DispatchTakesTheReducerForHostTensors) {
    // Through the backend-neutral entry point: the reducer is called (sums of
    // x, then of the centred squares: two calls) and, alone, changes nothing.
    struct Counting final : ChannelSumReducer {
        int calls = 0;
        void sum(double*, size_t) override { ++calls; }
    } counting;
    Context ctx;
    Tensor x = Tensor::from_vector(Shape{4, 3}, random_floats(12, 31)),
           g = Tensor::full(Shape{3}, 1.0f);
    Tensor b = Tensor::zeros(Shape{3}), y = Tensor::zeros(Shape{4, 3}),
           y0 = Tensor::zeros(Shape{4, 3});
    Tensor mean = Tensor::zeros(Shape{3}), invstd = Tensor::zeros(Shape{3});
    Tensor rm = Tensor::zeros(Shape{3}), rv = Tensor::full(Shape{3}, 1.0f);
    BatchNormParams p;
    batchnorm_train_forward(x, g, b, y0, mean, invstd, rm, rv, p, ctx);
    p.sync = &counting;
    batchnorm_train_forward(x, g, b, y, mean, invstd, rm, rv, p, ctx);
    EXPECT_EQ(counting.calls, 2);
    EXPECT_EQ(y.to_vector(), y0.to_vector());
}

TEST(BatchNormSyncGpu, RefusedOnGpuTensorsWithAReason) {
    EFFNET_REQUIRE_GPU();
    Alone alone;
    Context ctx(Device::CUDA);
    Tensor x = Tensor::zeros(Shape{4, 3}, Device::CUDA),
           y = Tensor::zeros(Shape{4, 3}, Device::CUDA);
    Tensor g = Tensor::full(Shape{3}, 1.0f, Device::CUDA),
           b = Tensor::zeros(Shape{3}, Device::CUDA);
    Tensor mean = Tensor::zeros(Shape{3}, Device::CUDA),
           invstd = Tensor::zeros(Shape{3}, Device::CUDA);
    Tensor rm = Tensor::zeros(Shape{3}, Device::CUDA),
           rv = Tensor::full(Shape{3}, 1.0f, Device::CUDA);
    BatchNormParams p;
    p.sync = &alone;
    try {
        batchnorm_train_forward(x, g, b, y, mean, invstd, rm, rv, p, ctx);
        FAIL() << "synchronised batch norm accepted device tensors";
    } catch (const ContractError& e) {
        EXPECT_NE(std::string(e.what()).find("--sync-bn"), std::string::npos) << e.what();
    }
}
