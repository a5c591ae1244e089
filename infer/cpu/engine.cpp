#include "infer/cpu/engine.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "infer/cpu/depthwise.h"
#include "infer/cpu/expand_depthwise.h"
#include "infer/cpu/stem.h"

namespace effnet::infer::cpu {

namespace {

int64_t align16(int64_t n) { return (n + 15) / 16 * 16; }
// Blocks whose expanded activation has at least this many floats per sample
// expand and run the depthwise convolution in one pass (it would not stay in
// cache between two).
int64_t fuse_min_floats() {
    const char* e = std::getenv("EFFNET_FUSE_MIN");
    return e ? std::atoll(e) : 100000;
}
int64_t conv_out(int64_t in, int64_t k, int64_t s) { return (in + 2 * (k / 2) - k) / s + 1; }

}  // namespace

SqueezeExciteGate Engine::Block::gate() const {
    SqueezeExciteGate g;
    g.channels = mid;
    g.reduced = int64_t(se_reduce_b.size());
    g.reduce_w = se_reduce_w.data();
    g.reduce_b = se_reduce_b.data();
    g.expand_w_t = se_expand_w_t.data();
    g.expand_b = se_expand_b.data();
    return g;
}

Engine::Engine(const FoldedEfficientNet& m, int64_t max_batch, int64_t height, int64_t width, int threads)
    : max_batch_(max_batch),
      height_(height),
      width_(width),
      in_channels_(m.in_channels),
      num_classes_(m.num_classes),
      threads_(threads > 0 ? threads : omp_get_max_threads()) {
    EFFNET_CHECK(max_batch >= 1 && height >= 1 && width >= 1,
                 "inference engine: batch " << max_batch << " and size " << height << "x" << width << " must be positive");
    EFFNET_CHECK(m.stem.kernel % 2 == 1 && m.stem.cin == m.in_channels,
                 "inference engine: the stem needs an odd kernel and " << m.in_channels << " input channels");
    stem_cin_ = m.stem.cin;
    stem_kernel_ = m.stem.kernel;
    stem_stride_ = m.stem.stride;
    const std::vector<float> stem_rows = stem_weight_rows(m.stem.weight.data(), m.stem.cout, m.stem.cin, m.stem.kernel);
    stem_weight_ = PackedMatrix(stem_rows.data(), m.stem.cout, m.stem.kernel * m.stem.kernel * m.stem.cin);
    stem_bias_ = m.stem.bias;
    stem_ho_ = conv_out(height, m.stem.kernel, m.stem.stride);
    stem_wo_ = conv_out(width, m.stem.kernel, m.stem.stride);

    // Floats per sample of each arena buffer, and the widest channel vector.
    int64_t io = stem_ho_ * stem_wo_ * m.stem.cout, expanded = 0, depthwise = 0;
    int64_t h = stem_ho_, w = stem_wo_, vector_floats = m.head.cout;
    for (const FoldedBlock& f : m.blocks) {
        Block b;
        b.name = f.name;
        b.h = h;
        b.w = w;
        b.kernel = f.depthwise.kernel;
        b.stride = f.depthwise.stride;
        b.ho = conv_out(h, b.kernel, b.stride);
        b.wo = conv_out(w, b.kernel, b.stride);
        b.in = f.has_expand ? f.expand.cin : f.depthwise.cin;
        b.mid = f.depthwise.cout;
        b.out = f.project.cout;
        b.has_expand = f.has_expand;
        b.residual = f.residual;
        EFFNET_CHECK(b.kernel % 2 == 1, b.name << ": depthwise kernel " << b.kernel << " is not odd");
        if (f.has_expand) {
            b.expand = PackedMatrix(f.expand.weight.data(), f.expand.cout, f.expand.cin);
            b.expand_bias = f.expand.bias;
            b.fused = h * w * b.mid >= fuse_min_floats() && b.kernel <= kMaxDepthwiseKernel;
            if (!b.fused) expanded = std::max(expanded, h * w * b.mid);
        }
        b.taps = depthwise_taps(f.depthwise.weight.data(), b.mid, b.kernel);
        b.dw_bias = f.depthwise.bias;
        b.project = PackedMatrix(f.project.weight.data(), f.project.cout, f.project.cin);
        b.project_bias = f.project.bias;
        b.se_reduce_w = f.se.reduce_weight;
        b.se_reduce_b = f.se.reduce_bias;
        b.se_expand_w_t = se_expand_transposed(f.se.expand_weight.data(), f.se.channels, f.se.reduced);
        b.se_expand_b = f.se.expand_bias;
        depthwise = std::max(depthwise, b.ho * b.wo * b.mid);
        io = std::max(io, b.ho * b.wo * b.out);
        vector_floats = std::max(vector_floats, b.mid);
        h = b.ho;
        w = b.wo;
        blocks_.push_back(std::move(b));
    }
    head_hw_ = h * w;
    head_weight_ = PackedMatrix(m.head.weight.data(), m.head.cout, m.head.cin);
    head_bias_ = m.head.bias;
    classifier_weight_ = m.classifier_weight;
    classifier_bias_ = m.classifier_bias;

    // One arena: block input/output ping-pong, expanded, depthwise output.
    const int64_t B = max_batch;
    const int64_t sizes[4] = {align16(B * io), align16(B * io), align16(B * expanded), align16(B * depthwise)};
    arena_ = Tensor::empty(Shape{sizes[0] + sizes[1] + sizes[2] + sizes[3]});
    io_[0] = arena_.f32();
    io_[1] = io_[0] + sizes[0];
    expanded_ = io_[1] + sizes[1];
    depthwise_ = expanded_ + sizes[2];

    plan_passes();

    // Per-thread scratch: [GEMM tiles and scaled operands | gate | SE/classifier vectors].
    scratch_floats_ = align16(gemm_scratch_floats_) + align16(vector_floats) + align16(2 * vector_floats);
    scratch_ = Tensor::empty(Shape{scratch_floats_ * threads_});
    // The pool slots hold doubles: two floats each.
    pools_ = Tensor::empty(Shape{2 * B * vector_floats * threads_});
    thread_.resize(size_t(threads_));
    pool_slots_.resize(size_t(threads_));
    for (int t = 0; t < threads_; ++t) {
        ThreadScratch& s = thread_[size_t(t)];
        s.floats = scratch_.f32() + t * scratch_floats_;
        s.float_count = scratch_floats_;
        s.pool = reinterpret_cast<double*>(pools_.f32()) + t * B * vector_floats;
        s.pool_count = B * vector_floats;
        pool_slots_[size_t(t)] = s.pool;
    }
}

PoolPartials Engine::partials(int64_t channels) const {
    PoolPartials p;
    p.slots = pool_slots_.data();
    p.count = threads_;
    p.channels = channels;
    return p;
}

float* Engine::thread_floats(const Worker& w, int64_t offset) const { return w.scratch->floats + offset; }

void Engine::add_pass(std::string name, std::function<void(int64_t, const Worker&)> run) {
    passes_.push_back({std::move(name), std::move(run)});
}

void Engine::plan_passes() {
    StemOp stem;
    stem.h = height_;
    stem.w = width_;
    stem.cin = stem_cin_;
    stem.kernel = stem_kernel_;
    stem.stride = stem_stride_;
    stem.weight = &stem_weight_;
    stem.bias = stem_bias_.data();
    stem.out = io_[0];
    gemm_scratch_floats_ = std::max(gemm_scratch_floats_, stem_scratch_floats(stem));
    add_pass("conv_stem+bn1+swish", [this, stem](int64_t n, const Worker& w) {
        StemOp op = stem;
        op.batch = n;
        op.x = input_;
        stem_forward(op, w);
    });

    int cur = 0;
    for (const Block& b : blocks_) {
        float* in = io_[cur];
        if (!b.residual) cur = 1 - cur;
        plan_block(b, in, b.residual ? in : io_[cur]);
    }

    PointwiseOp head;
    head.rows_per_sample = head_hw_;
    head.a = io_[cur];
    head.w = &head_weight_;
    head.bias = head_bias_.data();
    head.act = Activation::SWISH;
    gemm_scratch_floats_ = std::max(gemm_scratch_floats_, pointwise_scratch_floats(head, threads_));
    add_pass("conv_head+bn2+swish+pool", [head](int64_t n, const Worker& w) {
        PointwiseOp op = head;
        op.batch = n;
        op.pool = w.scratch->pool;
        pointwise_forward(op, w);
    });
    add_pass("classifier", [this](int64_t n, const Worker& w) {
        const PoolPartials p = partials(head_weight_.n());
        float* tmp = thread_floats(w, align16(gemm_scratch_floats_));
        auto [s0, s1] = share(n, w);
        for (int64_t s = s0; s < s1; ++s)
            classifier_forward(classifier_weight_.data(), classifier_bias_.data(), num_classes_, p, s, head_hw_, tmp,
                               logits_ + s * num_classes_);
    });
}

void Engine::plan_block(const Block& b, const float* in, float* out) {
    DepthwiseOp d;
    d.h = b.h;
    d.w = b.w;
    d.c = b.mid;
    d.kernel = b.kernel;
    d.stride = b.stride;
    d.x = in;
    d.taps = b.taps.data();
    d.bias = b.dw_bias.data();
    d.out = depthwise_;
    if (b.fused) {
        ExpandDepthwiseOp f;
        f.dw = d;
        f.x = in;
        f.expand = &b.expand;
        f.expand_bias = b.expand_bias.data();
        gemm_scratch_floats_ = std::max(gemm_scratch_floats_, expand_depthwise_scratch_floats(f));
        add_pass(b.name + ".expand+depthwise", [f](int64_t n, const Worker& w) {
            ExpandDepthwiseOp op = f;
            op.dw.batch = n;
            op.dw.pool = w.scratch->pool;
            expand_depthwise_forward(op, w);
        });
    } else {
        if (b.has_expand) {
            PointwiseOp e;
            e.rows_per_sample = b.h * b.w;
            e.a = in;
            e.w = &b.expand;
            e.bias = b.expand_bias.data();
            e.act = Activation::SWISH;
            e.out = expanded_;
            gemm_scratch_floats_ = std::max(gemm_scratch_floats_, pointwise_scratch_floats(e, threads_));
            add_pass(b.name + ".expand", [e](int64_t n, const Worker& w) {
                PointwiseOp op = e;
                op.batch = n;
                pointwise_forward(op, w);
            });
            d.x = expanded_;
        }
        add_pass(b.name + ".depthwise", [d](int64_t n, const Worker& w) {
            DepthwiseOp op = d;
            op.batch = n;
            op.pool = w.scratch->pool;
            depthwise_forward(op, w);
        });
    }

    // SE gate (from the pool partials) folded into the projection's A operand,
    // + bias (+ the block's input, in place).
    PointwiseOp p;
    p.rows_per_sample = b.ho * b.wo;
    p.a = depthwise_;
    p.w = &b.project;
    p.bias = b.project_bias.data();
    p.residual = b.residual ? in : nullptr;
    p.out = out;
    const int64_t hw = b.ho * b.wo;
    const SqueezeExciteGate gate = b.gate();
    p.column_scale = [this, gate, hw](int64_t sample, const Worker& w) -> const float* {
        float* g = thread_floats(w, align16(gemm_scratch_floats_));
        float* tmp = g + align16(gate.channels);
        se_gate(gate, partials(gate.channels), sample, hw, tmp, g);
        return g;
    };
    gemm_scratch_floats_ = std::max(gemm_scratch_floats_, pointwise_scratch_floats(p, threads_));
    add_pass(b.name + ".se+project", [p](int64_t n, const Worker& w) {
        PointwiseOp op = p;
        op.batch = n;
        pointwise_forward(op, w);
    });
}

void Engine::execute(const float* x, int64_t n, float* logits, std::vector<double>* stamps) {
    EFFNET_CHECK(n >= 1 && n <= max_batch_, "inference engine: batch " << n << " outside 1.." << max_batch_ << " (planned)");
    EFFNET_CHECK(x && logits, "inference engine: null input or output");
    input_ = x;
    logits_ = logits;
    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
#pragma omp parallel num_threads(threads_)
    {
        Worker w;
        w.index = omp_get_thread_num();
        w.count = omp_get_num_threads();
        w.scratch = &thread_[size_t(w.index)];
        for (size_t i = 0; i < passes_.size(); ++i) {
            passes_[i].run(n, w);
#pragma omp barrier
            if (stamps && w.index == 0) (*stamps)[i] = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        }
    }
}

void Engine::run(const float* x, int64_t n, float* logits) { execute(x, n, logits, nullptr); }

std::vector<PassTime> Engine::run_profiled(const float* x, int64_t n, float* logits) {
    std::vector<double> stamps(passes_.size(), 0.0);
    execute(x, n, logits, &stamps);
    std::vector<PassTime> out;
    double prev = 0;
    for (size_t i = 0; i < passes_.size(); ++i) {
        out.push_back({passes_[i].name, stamps[i] - prev});
        prev = stamps[i];
    }
    return out;
}

int64_t Engine::planned_bytes() const {
    int64_t floats = arena_.numel() + scratch_.numel() + pools_.numel();
    floats += (stem_weight_.groups() * stem_weight_.k() + head_weight_.groups() * head_weight_.k()) * 8;
    for (const Block& b : blocks_)
        floats += (b.expand.groups() * b.expand.k() + b.project.groups() * b.project.k()) * 8 + int64_t(b.taps.size()) +
                  int64_t(b.se_reduce_w.size() + b.se_expand_w_t.size());
    return floats * int64_t(sizeof(float));
}

}  // namespace effnet::infer::cpu
