// Each fused inference kernel against a plain double-precision reference:
// odd sizes, batch 1 and more, 1-3 workers (every worker's share run in
// turn, so a share that is written twice or never is caught), outputs
// poisoned with NaN beforehand.
//
// Tolerance: |got - want| <= 1e-5 * (|want| + sum of |terms|), the float
// rounding bound of a sum of products scaled to its terms (1e-5 is ~100
// float ulps; a K=1152 dot product in float stays far below it).
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <string>

#include "common/gradcheck.h"
#include "infer/cpu/depthwise.h"
#include "infer/cpu/expand_depthwise.h"
#include "infer/cpu/gemm_microkernel.h"
#include "infer/cpu/pointwise.h"
#include "infer/cpu/squeeze_excite.h"
#include "infer/cpu/stem.h"
#include "infer/cpu/vector_math.h"
#include "kernels/cpu/swish_math.h"

using namespace effnet;
using namespace effnet::infer::cpu;
using namespace effnet::test;

namespace {

double swish_d(double z) { return z / (1.0 + std::exp(-z)); }
double sigmoid_d(double z) { return 1.0 / (1.0 + std::exp(-z)); }

// A value computed in double with the magnitude of what was summed.
struct Ref {
    double value = 0, scale = 0;
};

void expect_close(const std::vector<float>& got, const std::vector<Ref>& want,
                  const std::string& what) {
    ASSERT_EQ(got.size(), want.size()) << what;
    size_t worst = 0;
    double worst_excess = -1;
    for (size_t i = 0; i < got.size(); ++i) {
        const double tol = 1e-5 * (std::fabs(want[i].value) + want[i].scale);
        const double err = std::fabs(double(got[i]) - want[i].value);
        const double excess = std::isnan(err) ? INFINITY : err / tol;
        if (excess > worst_excess) {
            worst_excess = excess;
            worst = i;
        }
    }
    EXPECT_LE(worst_excess, 1.0) << what << ": worst element " << worst << " got " << got[worst]
                                 << ", want " << want[worst].value << " (tolerance "
                                 << 1e-5 * (std::fabs(want[worst].value) + want[worst].scale)
                                 << ")";
}

// Scratch for `threads` workers, each with its own pool slot.
struct Workers {
    std::vector<std::vector<float>> floats;
    std::vector<std::vector<double>> pools;
    std::vector<ThreadScratch> scratch;
    Workers(int threads, int64_t float_count, int64_t pool_count)
        : floats(size_t(threads)), pools(size_t(threads)), scratch(size_t(threads)) {
        for (int t = 0; t < threads; ++t) {
            // 64-byte alignment for the packed loads: over-allocate and align.
            floats[size_t(t)].assign(size_t(float_count + 16), NAN);
            float* base = floats[size_t(t)].data();
            while (reinterpret_cast<uintptr_t>(base) % 64) ++base;
            pools[size_t(t)].assign(size_t(std::max<int64_t>(1, pool_count)), NAN);
            scratch[size_t(t)].floats = base;
            scratch[size_t(t)].float_count = float_count;
            scratch[size_t(t)].pool = pools[size_t(t)].data();
            scratch[size_t(t)].pool_count = pool_count;
        }
    }
    int count() const { return int(scratch.size()); }
    Worker worker(int t) { return Worker{t, count(), &scratch[size_t(t)]}; }
    // Sum of every worker's pool slot.
    std::vector<double> pool_total(int64_t n) const {
        std::vector<double> s(size_t(n), 0.0);
        for (auto& p : pools)
            for (int64_t i = 0; i < n; ++i) s[size_t(i)] += p[size_t(i)];
        return s;
    }
    std::vector<const double*> slots() const {
        std::vector<const double*> s;
        for (auto& p : pools) s.push_back(p.data());
        return s;
    }
};

std::vector<float> pool_as_floats(const std::vector<double>& p) {
    return std::vector<float>(p.begin(), p.end());
}

// ---- pointwise ----------------------------------------------------------------

struct PwCase {
    int64_t batch, hw, k, n;
    Activation act;
    bool residual, pool, gate, store;
    int threads;
};
std::string pw_name(const ::testing::TestParamInfo<PwCase>& i) {
    const PwCase& c = i.param;
    return "n" + std::to_string(c.batch) + "_hw" + std::to_string(c.hw) + "_k" +
           std::to_string(c.k) + "_c" + std::to_string(c.n) +
           (c.act == Activation::SWISH ? "_swish" : "") + (c.residual ? "_res" : "") +
           (c.pool ? "_pool" : "") + (c.gate ? "_gate" : "") + (c.store ? "" : "_nostore") + "_t" +
           std::to_string(c.threads);
}
class PointwiseKernel : public ::testing::TestWithParam<PwCase> {};

}  // namespace

TEST_P(PointwiseKernel, MatchesPlainReference) {
    const PwCase c = GetParam();
    const int64_t rows = c.batch * c.hw;
    const auto a = random_floats(size_t(rows * c.k), 1);
    const auto w = random_floats(size_t(c.n * c.k), 2);
    const auto bias = random_floats(size_t(c.n), 3);
    const auto gate = random_floats(size_t(c.batch * c.k), 4, 0.0f, 1.0f);
    const auto res0 = random_floats(size_t(rows * c.n), 5);

    // Reference.
    std::vector<Ref> want(size_t(rows * c.n)), want_pool(size_t(c.batch * c.n));
    for (int64_t m = 0; m < rows; ++m)
        for (int64_t j = 0; j < c.n; ++j) {
            double z = bias[size_t(j)], scale = std::fabs(z);
            for (int64_t p = 0; p < c.k; ++p) {
                const double av = double(a[size_t(m * c.k + p)]) *
                                  (c.gate ? gate[size_t((m / c.hw) * c.k + p)] : 1.0);
                z += av * w[size_t(j * c.k + p)];
                scale += std::fabs(av * w[size_t(j * c.k + p)]);
            }
            double y = c.act == Activation::SWISH ? swish_d(z) : z;
            if (c.residual) y += res0[size_t(m * c.n + j)];
            want[size_t(m * c.n + j)] = {y, scale};
            Ref& pr = want_pool[size_t((m / c.hw) * c.n + j)];
            pr.value += y;
            pr.scale += std::fabs(y) + scale;
        }

    const PackedMatrix packed(w.data(), c.n, c.k);
    std::vector<float> out(size_t(rows * c.n), NAN);
    if (c.residual) out = res0;  // the engine adds the residual in place
    PointwiseOp op;
    op.batch = c.batch;
    op.rows_per_sample = c.hw;
    op.a = a.data();
    op.w = &packed;
    op.bias = bias.data();
    op.act = c.act;
    op.residual = c.residual ? out.data() : nullptr;
    op.out = c.store ? out.data() : nullptr;
    if (c.gate) op.column_scale = [&](int64_t s, const Worker&) { return gate.data() + s * c.k; };
    Workers workers(c.threads, pointwise_scratch_floats(op, c.threads), c.batch * c.n);
    for (int t = 0; t < c.threads; ++t) {
        Worker wk = workers.worker(t);
        PointwiseOp mine = op;
        if (c.pool) mine.pool = wk.scratch->pool;
        pointwise_forward(mine, wk);
    }
    if (c.store) expect_close(out, want, "output");
    if (c.pool) expect_close(pool_as_floats(workers.pool_total(c.batch * c.n)), want_pool, "pool");
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, PointwiseKernel,
    ::testing::Values(
        // B0's shapes at batch 1 (few rows: columns split) and some rows.
        PwCase{1, 49, 1152, 320, Activation::NONE, false, false, true, true, 2},
        PwCase{1, 49, 192, 1152, Activation::SWISH, false, false, false, true, 2},
        PwCase{1, 49, 320, 1280, Activation::SWISH, false, true, false, false, 2},
        PwCase{1, 196, 672, 112, Activation::NONE, true, false, true, true, 2},
        PwCase{2, 196, 80, 480, Activation::SWISH, false, false, false, true, 2},
        PwCase{1, 3136, 144, 24, Activation::NONE, true, false, true, true, 2},
        // Odd sizes: rows, k and columns not multiples of the blocks; 1..3 workers.
        PwCase{1, 1, 1, 1, Activation::NONE, false, false, false, true, 1},
        PwCase{3, 7, 3, 5, Activation::SWISH, true, true, true, true, 3},
        PwCase{3, 13, 17, 23, Activation::NONE, false, true, true, true, 2},
        PwCase{2, 50, 9, 25, Activation::SWISH, false, true, false, true, 3},
        PwCase{1, 97, 31, 49, Activation::NONE, true, false, true, true, 1},
        PwCase{3, 33, 40, 8, Activation::SWISH, false, true, true, false, 2},
        PwCase{5, 100, 16, 96, Activation::SWISH, false, false, false, true, 3}),
    pw_name);

// Every micro-kernel shape on its own (rows 1..6, column groups 1..4), raw accumulators.
TEST(GemmMicrokernel, EveryShapeMatchesReference) {
    const int64_t k = 37, lda = 41;
    const auto a = random_floats(size_t(kMaxRows * lda), 7);
    const auto w = random_floats(size_t(kMaxGroups * kGroup * k), 8);
    const PackedMatrix packed(w.data(), kMaxGroups * kGroup, k);
    for (int mr = 1; mr <= kMaxRows; ++mr)
        for (int nv = 1; nv <= kMaxGroups; ++nv) {
            alignas(64) float tile[kMaxRows * kTileStride];
            std::fill(std::begin(tile), std::end(tile), NAN);
            gemm_microkernel_for(mr, nv)(k, a.data(), lda, packed.group(0), k * kGroup,
                                         TileEpilogue{}, tile);
            std::vector<float> got;
            std::vector<Ref> want;
            for (int r = 0; r < mr; ++r)
                for (int j = 0; j < nv * kGroup; ++j) {
                    Ref ref;
                    for (int64_t p = 0; p < k; ++p) {
                        const double t = double(a[size_t(r * lda + p)]) * w[size_t(j * k + p)];
                        ref.value += t;
                        ref.scale += std::fabs(t);
                    }
                    got.push_back(tile[r * kTileStride + j]);
                    want.push_back(ref);
                }
            expect_close(got, want,
                         "micro-kernel " + std::to_string(mr) + "x" + std::to_string(nv * kGroup));
        }
}

// ---- depthwise ----------------------------------------------------------------

namespace {
struct DwCase {
    int64_t batch, h, w, c, kernel, stride;
    int threads;
};
std::string dw_name(const ::testing::TestParamInfo<DwCase>& i) {
    const DwCase& c = i.param;
    return "dw" + std::to_string(c.kernel) + "x" + std::to_string(c.kernel) + "s" +
           std::to_string(c.stride) + "_n" + std::to_string(c.batch) + "_" + std::to_string(c.h) +
           "x" + std::to_string(c.w) + "_c" + std::to_string(c.c) + "_t" +
           std::to_string(c.threads);
}
class DepthwiseKernel : public ::testing::TestWithParam<DwCase> {};
}  // namespace

TEST_P(DepthwiseKernel, MatchesPlainReferenceWithPool) {
    const DwCase c = GetParam();
    DepthwiseOp op;
    op.batch = c.batch;
    op.h = c.h;
    op.w = c.w;
    op.c = c.c;
    op.kernel = c.kernel;
    op.stride = c.stride;
    const int64_t ho = op.ho(), wo = op.wo(), k = c.kernel, pad = k / 2;
    const auto x = random_floats(size_t(c.batch * c.h * c.w * c.c), 11);
    const auto weight = random_floats(size_t(c.c * k * k), 12);  // [c, 1, k, k]
    const auto bias = random_floats(size_t(c.c), 13);

    std::vector<Ref> want(size_t(c.batch * ho * wo * c.c)), want_pool(size_t(c.batch * c.c));
    for (int64_t n = 0; n < c.batch; ++n)
        for (int64_t oy = 0; oy < ho; ++oy)
            for (int64_t ox = 0; ox < wo; ++ox)
                for (int64_t ch = 0; ch < c.c; ++ch) {
                    double z = bias[size_t(ch)], scale = std::fabs(z);
                    for (int64_t ky = 0; ky < k; ++ky)
                        for (int64_t kx = 0; kx < k; ++kx) {
                            const int64_t iy = oy * c.stride - pad + ky,
                                          ix = ox * c.stride - pad + kx;
                            if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
                            const double t =
                                double(x[size_t(((n * c.h + iy) * c.w + ix) * c.c + ch)]) *
                                weight[size_t((ch * k + ky) * k + kx)];
                            z += t;
                            scale += std::fabs(t);
                        }
                    const double y = swish_d(z);
                    want[size_t(((n * ho + oy) * wo + ox) * c.c + ch)] = {y, scale};
                    want_pool[size_t(n * c.c + ch)].value += y;
                    want_pool[size_t(n * c.c + ch)].scale += std::fabs(y) + scale;
                }

    const std::vector<float> taps = depthwise_taps(weight.data(), c.c, k);
    std::vector<float> out(want.size(), NAN);
    op.x = x.data();
    op.taps = taps.data();
    op.bias = bias.data();
    op.out = out.data();
    Workers workers(c.threads, 16, c.batch * c.c);
    for (int t = 0; t < c.threads; ++t) {
        Worker wk = workers.worker(t);
        DepthwiseOp mine = op;
        mine.pool = wk.scratch->pool;
        depthwise_forward(mine, wk);
    }
    expect_close(out, want, "output");
    expect_close(pool_as_floats(workers.pool_total(c.batch * c.c)), want_pool, "pool");
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, DepthwiseKernel,
    ::testing::Values(DwCase{1, 7, 7, 1152, 5, 1, 2}, DwCase{1, 14, 14, 480, 3, 1, 2},
                      DwCase{1, 14, 14, 672, 5, 2, 2}, DwCase{2, 28, 28, 144, 5, 2, 2},
                      DwCase{1, 56, 56, 96, 3, 2, 2}, DwCase{1, 1, 1, 8, 3, 1, 1},
                      DwCase{2, 7, 5, 13, 3, 1, 3}, DwCase{3, 9, 13, 70, 5, 1, 2},
                      DwCase{1, 6, 11, 130, 5, 2, 3}, DwCase{2, 4, 3, 1, 3, 2, 2},
                      DwCase{1, 2, 2, 24, 5, 1, 3}),
    dw_name);

// ---- stem ---------------------------------------------------------------------

TEST(StemKernel, MatchesPlainReference) {
    struct S {
        int64_t batch, h, w, cin, cout;
        int threads;
    };
    for (S s : {S{1, 224, 224, 3, 32, 2}, S{2, 33, 17, 3, 32, 3}, S{1, 9, 8, 1, 13, 2},
                S{3, 5, 6, 3, 40, 1}}) {
        const int64_t k = 3, pad = 1, stride = 2;
        StemOp op;
        op.batch = s.batch;
        op.h = s.h;
        op.w = s.w;
        op.cin = s.cin;
        op.kernel = k;
        op.stride = stride;
        const int64_t ho = op.ho(), wo = op.wo();
        const auto x = random_floats(size_t(s.batch * s.h * s.w * s.cin), 21);
        const auto weight = random_floats(size_t(s.cout * s.cin * k * k), 22);  // [cout, cin, k, k]
        const auto bias = random_floats(size_t(s.cout), 23);
        std::vector<Ref> want(size_t(s.batch * ho * wo * s.cout));
        for (int64_t n = 0; n < s.batch; ++n)
            for (int64_t oy = 0; oy < ho; ++oy)
                for (int64_t ox = 0; ox < wo; ++ox)
                    for (int64_t co = 0; co < s.cout; ++co) {
                        double z = bias[size_t(co)], scale = std::fabs(z);
                        for (int64_t ci = 0; ci < s.cin; ++ci)
                            for (int64_t ky = 0; ky < k; ++ky)
                                for (int64_t kx = 0; kx < k; ++kx) {
                                    const int64_t iy = oy * stride - pad + ky,
                                                  ix = ox * stride - pad + kx;
                                    if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) continue;
                                    const double t =
                                        double(
                                            x[size_t(((n * s.h + iy) * s.w + ix) * s.cin + ci)]) *
                                        weight[size_t(((co * s.cin + ci) * k + ky) * k + kx)];
                                    z += t;
                                    scale += std::fabs(t);
                                }
                        want[size_t(((n * ho + oy) * wo + ox) * s.cout + co)] = {swish_d(z), scale};
                    }
        const std::vector<float> rows = stem_weight_rows(weight.data(), s.cout, s.cin, k);
        const PackedMatrix packed(rows.data(), s.cout, k * k * s.cin);
        std::vector<float> out(want.size(), NAN);
        op.x = x.data();
        op.weight = &packed;
        op.bias = bias.data();
        op.out = out.data();
        Workers workers(s.threads, stem_scratch_floats(op), 0);
        for (int t = 0; t < s.threads; ++t) stem_forward(op, workers.worker(t));
        expect_close(out, want,
                     "stem " + std::to_string(s.h) + "x" + std::to_string(s.w) + "x" +
                         std::to_string(s.cin));
    }
}

// ---- squeeze-excite gate and classifier -----------------------------------------

TEST(SqueezeExciteGate, MatchesPlainReferenceFromPartialSlots) {
    for (int64_t C : {int64_t(1), int64_t(13), int64_t(96), int64_t(1152)})
        for (int64_t R : {int64_t(1), int64_t(5), int64_t(48)}) {
            const int64_t batch = 2, hw = 49, sample = 1;
            const int threads = 3;
            Workers workers(threads, 0, batch * C);
            for (int t = 0; t < threads; ++t) {
                const auto v = random_floats(size_t(batch * C), 30 + uint64_t(t), -5.0f, 20.0f);
                std::copy(v.begin(), v.end(), workers.pools[size_t(t)].begin());
            }
            const auto rw = random_floats(size_t(R * C), 41), rb = random_floats(size_t(R), 42);
            const auto ew = random_floats(size_t(C * R), 43), eb = random_floats(size_t(C), 44);
            const auto ewt = se_expand_transposed(ew.data(), C, R);
            const auto sum = workers.pool_total(batch * C);
            std::vector<double> mean(static_cast<size_t>(C)), hidden(static_cast<size_t>(R)),
                hidden_scale(static_cast<size_t>(R));
            for (int64_t c = 0; c < C; ++c)
                mean[size_t(c)] = sum[size_t(sample * C + c)] / double(hw);
            for (int64_t j = 0; j < R; ++j) {
                double z = rb[size_t(j)], scale = std::fabs(z);
                for (int64_t c = 0; c < C; ++c) {
                    z += rw[size_t(j * C + c)] * mean[size_t(c)];
                    scale += std::fabs(rw[size_t(j * C + c)] * mean[size_t(c)]);
                }
                hidden[size_t(j)] = swish_d(z);
                hidden_scale[size_t(j)] = scale;  // swish' <= 1.1 carries the reduce FC's rounding
            }
            std::vector<Ref> want(static_cast<size_t>(C));
            for (int64_t c = 0; c < C; ++c) {
                double z = eb[size_t(c)], scale = std::fabs(z);
                for (int64_t j = 0; j < R; ++j) {
                    z += ew[size_t(c * R + j)] * hidden[size_t(j)];
                    scale += std::fabs(ew[size_t(c * R + j)]) *
                             (std::fabs(hidden[size_t(j)]) + 1.1 * hidden_scale[size_t(j)]);
                }
                want[size_t(c)] = {sigmoid_d(z), scale};
            }
            SqueezeExciteGate se{C, R, rw.data(), rb.data(), ewt.data(), eb.data()};
            const auto slots = workers.slots();
            PoolPartials parts{slots.data(), threads, C};
            std::vector<float> scratch(size_t(C + R), NAN), gate(static_cast<size_t>(C), NAN);
            se_gate(se, parts, sample, hw, scratch.data(), gate.data());
            expect_close(gate, want, "SE gate C=" + std::to_string(C) + " R=" + std::to_string(R));
        }
}

TEST(Classifier, MatchesPlainReferenceFromPartialSlots) {
    const int64_t C = 1283, classes = 3, batch = 2, hw = 7 * 7;
    const int threads = 2;
    Workers workers(threads, 0, batch * C);
    for (int t = 0; t < threads; ++t) {
        const auto v = random_floats(size_t(batch * C), 50 + uint64_t(t), -10.0f, 30.0f);
        std::copy(v.begin(), v.end(), workers.pools[size_t(t)].begin());
    }
    const auto w = random_floats(size_t(classes * C), 51), b = random_floats(size_t(classes), 52);
    const auto sum = workers.pool_total(batch * C);
    const auto slots = workers.slots();
    PoolPartials parts{slots.data(), threads, C};
    for (int64_t s = 0; s < batch; ++s) {
        std::vector<Ref> want(static_cast<size_t>(classes));
        for (int64_t o = 0; o < classes; ++o) {
            want[size_t(o)].value = b[size_t(o)];
            for (int64_t c = 0; c < C; ++c) {
                const double t = w[size_t(o * C + c)] * (sum[size_t(s * C + c)] / double(hw));
                want[size_t(o)].value += t;
                want[size_t(o)].scale += std::fabs(t);
            }
        }
        std::vector<float> scratch(size_t(C), NAN), logits(static_cast<size_t>(classes), NAN);
        classifier_forward(w.data(), b.data(), classes, parts, s, hw, scratch.data(),
                           logits.data());
        expect_close(logits, want, "classifier sample " + std::to_string(s));
    }
}

// The kernels under real OpenMP threads (the engine's way of calling them).
TEST(PointwiseKernel, SameResultUnderOpenMPThreads) {
    const int64_t rows = 3 * 49, k = 96, n = 40;
    const auto a = random_floats(size_t(rows * k), 61), w = random_floats(size_t(n * k), 62),
               b = random_floats(size_t(n), 63);
    const PackedMatrix packed(w.data(), n, k);
    PointwiseOp op;
    op.batch = 3;
    op.rows_per_sample = 49;
    op.a = a.data();
    op.w = &packed;
    op.bias = b.data();
    op.act = Activation::SWISH;
    std::vector<float> serial(size_t(rows * n), NAN), parallel(size_t(rows * n), NAN);
    const int threads = 2;
    Workers ws(threads, pointwise_scratch_floats(op, threads), 0),
        wp(threads, pointwise_scratch_floats(op, threads), 0);
    op.out = serial.data();
    for (int t = 0; t < threads; ++t) pointwise_forward(op, ws.worker(t));
    op.out = parallel.data();
#pragma omp parallel num_threads(threads)
    {
        Worker me = wp.worker(omp_get_thread_num());
        me.count = omp_get_num_threads();
        pointwise_forward(op, me);
    }
    EXPECT_EQ(serial, parallel);
}

// ---- expand + depthwise ---------------------------------------------------------

namespace {
struct EdCase {
    int64_t batch, h, w, cin, c, kernel, stride;
    int threads;
};
std::string ed_name(const ::testing::TestParamInfo<EdCase>& i) {
    const EdCase& c = i.param;
    return "dw" + std::to_string(c.kernel) + "s" + std::to_string(c.stride) + "_n" +
           std::to_string(c.batch) + "_" + std::to_string(c.h) + "x" + std::to_string(c.w) +
           "_cin" + std::to_string(c.cin) + "_c" + std::to_string(c.c) + "_t" +
           std::to_string(c.threads);
}
class ExpandDepthwiseKernel : public ::testing::TestWithParam<EdCase> {};
}  // namespace

// The fused pass against the plain reference of its two halves: a 1x1
// convolution + bias + swish, then the depthwise convolution + bias + swish + pool.
TEST_P(ExpandDepthwiseKernel, MatchesPlainReferenceWithPool) {
    const EdCase c = GetParam();
    const int64_t k = c.kernel, pad = k / 2;
    const auto x = random_floats(size_t(c.batch * c.h * c.w * c.cin), 71);
    const auto we = random_floats(size_t(c.c * c.cin), 72), be = random_floats(size_t(c.c), 73);
    const auto wd = random_floats(size_t(c.c * k * k), 74), bd = random_floats(size_t(c.c), 75);
    // Expanded activations in double, with their magnitude bound.
    std::vector<Ref> e(size_t(c.batch * c.h * c.w * c.c));
    for (int64_t p = 0; p < c.batch * c.h * c.w; ++p)
        for (int64_t j = 0; j < c.c; ++j) {
            double z = be[size_t(j)], scale = std::fabs(z);
            for (int64_t i = 0; i < c.cin; ++i) {
                const double t = double(x[size_t(p * c.cin + i)]) * we[size_t(j * c.cin + i)];
                z += t;
                scale += std::fabs(t);
            }
            e[size_t(p * c.c + j)] = {swish_d(z), 1.1 * scale};
        }
    DepthwiseOp d;
    d.batch = c.batch;
    d.h = c.h;
    d.w = c.w;
    d.c = c.c;
    d.kernel = k;
    d.stride = c.stride;
    const int64_t ho = d.ho(), wo = d.wo();
    std::vector<Ref> want(size_t(c.batch * ho * wo * c.c)), want_pool(size_t(c.batch * c.c));
    for (int64_t n = 0; n < c.batch; ++n)
        for (int64_t oy = 0; oy < ho; ++oy)
            for (int64_t ox = 0; ox < wo; ++ox)
                for (int64_t ch = 0; ch < c.c; ++ch) {
                    double z = bd[size_t(ch)], scale = std::fabs(z);
                    for (int64_t ky = 0; ky < k; ++ky)
                        for (int64_t kx = 0; kx < k; ++kx) {
                            const int64_t iy = oy * c.stride - pad + ky,
                                          ix = ox * c.stride - pad + kx;
                            if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
                            const Ref& in = e[size_t(((n * c.h + iy) * c.w + ix) * c.c + ch)];
                            const double wt = wd[size_t((ch * k + ky) * k + kx)];
                            z += in.value * wt;
                            scale += std::fabs(wt) * (std::fabs(in.value) + in.scale);
                        }
                    const double y = swish_d(z);
                    want[size_t(((n * ho + oy) * wo + ox) * c.c + ch)] = {y, scale};
                    want_pool[size_t(n * c.c + ch)].value += y;
                    want_pool[size_t(n * c.c + ch)].scale += std::fabs(y) + scale;
                }

    const PackedMatrix packed(we.data(), c.c, c.cin);
    const std::vector<float> taps = depthwise_taps(wd.data(), c.c, k);
    std::vector<float> out(want.size(), NAN);
    ExpandDepthwiseOp op;
    op.dw = d;
    op.dw.taps = taps.data();
    op.dw.bias = bd.data();
    op.dw.out = out.data();
    op.x = x.data();
    op.expand = &packed;
    op.expand_bias = be.data();
    Workers workers(c.threads, expand_depthwise_scratch_floats(op), c.batch * c.c);
    for (int t = 0; t < c.threads; ++t) {
        Worker wk = workers.worker(t);
        ExpandDepthwiseOp mine = op;
        mine.dw.pool = wk.scratch->pool;
        expand_depthwise_forward(mine, wk);
    }
    expect_close(out, want, "output");
    expect_close(pool_as_floats(workers.pool_total(c.batch * c.c)), want_pool, "pool");
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, ExpandDepthwiseKernel,
    ::testing::Values(EdCase{1, 112, 112, 16, 96, 3, 2, 2}, EdCase{1, 56, 56, 24, 144, 3, 1, 2},
                      EdCase{1, 56, 56, 24, 144, 5, 2, 2}, EdCase{2, 14, 14, 80, 480, 3, 1, 2},
                      EdCase{1, 7, 7, 192, 1152, 5, 1, 2}, EdCase{3, 9, 11, 5, 13, 3, 1, 3},
                      EdCase{2, 8, 5, 7, 40, 5, 2, 3}, EdCase{1, 3, 2, 3, 24, 5, 1, 1},
                      EdCase{2, 13, 6, 9, 72, 3, 2, 2}),
    ed_name);

// ---- vector math ----------------------------------------------------------------

// The AVX2 swish/sigmoid agree with the scalar ones of the training graph
// (kernels/cpu/swish_math.h) to a few ulp over the whole range, saturation included.
TEST(VectorMath, MatchesScalarSwishAndSigmoid) {
#if EFFNET_INFER_AVX2
    double worst_swish = 0, worst_sigmoid = 0;
    for (int i = -200000; i <= 200000; i += 8) {
        alignas(32) float z[8], s[8], g[8];
        for (int j = 0; j < 8; ++j) z[j] = float(i + j) * 5e-4f;  // [-100, 100]
        _mm256_store_ps(s, swish8(_mm256_load_ps(z)));
        _mm256_store_ps(g, sigmoid8(_mm256_load_ps(z)));
        for (int j = 0; j < 8; ++j) {
            const float want_s = effnet::cpu::swish(z[j]), want_g = effnet::cpu::sigmoid(z[j]);
            const double ulp_s = std::fabs(double(std::nextafter(want_s, INFINITY)) - want_s);
            const double ulp_g = std::fabs(double(std::nextafter(want_g, INFINITY)) - want_g);
            if (ulp_s > 0)
                worst_swish = std::max(worst_swish, std::fabs(double(s[j]) - want_s) / ulp_s);
            worst_sigmoid = std::max(worst_sigmoid, std::fabs(double(g[j]) - want_g) / ulp_g);
        }
    }
    EXPECT_LE(worst_swish, 4.0) << "ulp";
    EXPECT_LE(worst_sigmoid, 4.0) << "ulp";
#else
    GTEST_SKIP() << "built without AVX2 + FMA (EFFNET_NATIVE off or another CPU): no vector "
                    "kernels to check";
#endif
}
