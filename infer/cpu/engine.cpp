#include "infer/cpu/engine.h"

#include <omp.h>

#include <algorithm>
#include <chrono>

#include "infer/cpu/depthwise.h"
#include "infer/cpu/expand_depthwise.h"
#include "infer/cpu/stem.h"

namespace effnet::infer::cpu {

namespace {

int64_t align16(int64_t n) { return (n + 15) / 16 * 16; }
// Blocks whose expanded activation has at least this many floats per sample
// expand and run the depthwise convolution in one pass (it would not stay in
// cache between two; below, splitting the rows of a fused pass between
// threads re-expands too large a share of them).
constexpr int64_t kFuseFloats = 150000;
// The floats of activations one sample group may hold in a segment (4 MiB:
// the L3 share that stays ours on a busy machine): groups are as large as
// fit, up to the batch, at least one sample.
constexpr int64_t kGroupFloats = 1 << 20;
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

Engine::Engine(const FoldedEfficientNet& m, const EngineOptions& o)
    : max_batch_(o.max_batch),
      height_(o.height),
      width_(o.width),
      in_channels_(m.in_channels),
      num_classes_(m.num_classes),
      group_floats_(o.group_floats > 0 ? o.group_floats : kGroupFloats),
      fuse_floats_(o.fuse_floats > 0 ? o.fuse_floats : kFuseFloats),
      threads_(o.threads > 0 ? o.threads : omp_get_max_threads()) {
    EFFNET_CHECK(max_batch_ >= 1 && height_ >= 1 && width_ >= 1,
                 "inference engine: batch " << max_batch_ << " and size " << height_ << "x"
                                            << width_ << " must be positive");
    EFFNET_CHECK(m.stem.kernel % 2 == 1 && m.stem.cin == m.in_channels,
                 "inference engine: the stem needs an odd kernel and " << m.in_channels
                                                                       << " input channels");
    stem_cin_ = m.stem.cin;
    stem_kernel_ = m.stem.kernel;
    stem_stride_ = m.stem.stride;
    const std::vector<float> stem_rows =
        stem_weight_rows(m.stem.weight.data(), m.stem.cout, m.stem.cin, m.stem.kernel);
    stem_weight_ =
        PackedMatrix(stem_rows.data(), m.stem.cout, m.stem.kernel * m.stem.kernel * m.stem.cin);
    stem_bias_ = m.stem.bias;
    stem_ho_ = conv_out(height_, m.stem.kernel, m.stem.stride);
    stem_wo_ = conv_out(width_, m.stem.kernel, m.stem.stride);

    int64_t h = stem_ho_, w = stem_wo_;
    vector_floats_ = m.head.cout;
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
        EFFNET_CHECK(b.kernel % 2 == 1 && b.kernel <= kMaxDepthwiseKernel,
                     b.name << ": depthwise kernel " << b.kernel << " is not odd or above "
                            << kMaxDepthwiseKernel);
        if (f.has_expand) {
            b.expand = PackedMatrix(f.expand.weight.data(), f.expand.cout, f.expand.cin);
            b.expand_bias = f.expand.bias;
            b.fused = h * w * b.mid >= fuse_floats_;
        }
        b.taps = depthwise_taps(f.depthwise.weight.data(), b.mid, b.kernel);
        b.dw_bias = f.depthwise.bias;
        b.project = PackedMatrix(f.project.weight.data(), f.project.cout, f.project.cin);
        b.project_bias = f.project.bias;
        b.se_reduce_w = f.se.reduce_weight;
        b.se_reduce_b = f.se.reduce_bias;
        b.se_expand_w_t =
            se_expand_transposed(f.se.expand_weight.data(), f.se.channels, f.se.reduced);
        b.se_expand_b = f.se.expand_bias;
        vector_floats_ = std::max(vector_floats_, b.mid);
        h = b.ho;
        w = b.wo;
        blocks_.push_back(std::move(b));
    }
    head_h_ = h;
    head_w_ = w;
    head_hw_ = h * w;
    head_weight_ = PackedMatrix(m.head.weight.data(), m.head.cout, m.head.cin);
    head_bias_ = m.head.bias;
    classifier_weight_ = m.classifier_weight;
    classifier_bias_ = m.classifier_bias;

    plan_segments();
    plan_arena();
    plan_passes();

    // Per-thread scratch: [GEMM tiles and scaled operands | gate | SE/classifier vectors];
    // pool slots for the largest group (doubles: two floats each).
    int64_t group = 1;
    for (const Segment& sg : segments_) group = std::max(group, sg.group);
    scratch_floats_ =
        align16(gemm_scratch_floats_) + align16(vector_floats_) + align16(2 * vector_floats_);
    scratch_ = Tensor::empty(Shape{scratch_floats_ * threads_});
    pools_ = Tensor::empty(Shape{2 * group * vector_floats_ * threads_});
    thread_.resize(size_t(threads_));
    pool_slots_.resize(size_t(threads_));
    for (int t = 0; t < threads_; ++t) {
        ThreadScratch& s = thread_[size_t(t)];
        s.floats = scratch_.f32() + t * scratch_floats_;
        s.float_count = scratch_floats_;
        s.pool = reinterpret_cast<double*>(pools_.f32()) + t * group * vector_floats_;
        s.pool_count = group * vector_floats_;
        pool_slots_[size_t(t)] = s.pool;
    }
}

int64_t Engine::Block::working_floats() const {
    return h * w * in + ho * wo * out + (has_expand && !fused ? h * w * mid : 0) + ho * wo * mid;
}

void Engine::plan_segments() {
    // Units: runs of blocks starting at a block without a residual (a stage's
    // first block), each with the group that keeps its working set in budget.
    const int64_t budget = group_floats_;
    auto group_for = [&](int64_t floats) {
        return std::clamp<int64_t>(budget / std::max<int64_t>(1, floats), 1, max_batch_);
    };
    int64_t stem_floats = height_ * width_ * in_channels_ + stem_ho_ * stem_wo_ * stem_weight_.n();
    int64_t floats = stem_floats;
    size_t first = 0;
    auto close_unit = [&](size_t end) {
        const int64_t g = group_for(floats);
        if (!segments_.empty() && segments_.back().group == g)
            segments_.back().end_block = end;
        else
            segments_.push_back({first, end, g, 0, 0});
        first = end;
        floats = 0;
    };
    for (size_t i = 0; i < blocks_.size(); ++i) {
        if (i > first && !blocks_[i].residual) close_unit(i);
        floats = std::max(floats, blocks_[i].working_floats());
    }
    floats = std::max(floats, head_hw_ * head_weight_.k());
    close_unit(blocks_.size());
}

void Engine::plan_arena() {
    int64_t io = 0, expanded = 0, depthwise = 0, between = 0;
    for (size_t s = 0; s < segments_.size(); ++s) {
        const Segment& sg = segments_[s];
        if (s == 0) io = sg.group * stem_ho_ * stem_wo_ * stem_weight_.n();
        if (s > 0)
            between = std::max(between, max_batch_ * blocks_[sg.first_block].h *
                                            blocks_[sg.first_block].w * blocks_[sg.first_block].in);
        for (size_t i = sg.first_block; i < sg.end_block; ++i) {
            const Block& b = blocks_[i];
            io = std::max(io, sg.group * std::max(b.h * b.w * b.in, b.ho * b.wo * b.out));
            if (b.has_expand && !b.fused)
                expanded = std::max(expanded, sg.group * b.h * b.w * b.mid);
            depthwise = std::max(depthwise, sg.group * b.ho * b.wo * b.mid);
        }
    }
    const int64_t sizes[6] = {align16(io),        align16(io),      align16(expanded),
                              align16(depthwise), align16(between), align16(between)};
    int64_t total = 0;
    for (int64_t v : sizes) total += v;
    arena_ = Tensor::empty(Shape{std::max<int64_t>(1, total)});
    float* p = arena_.f32();
    float** slots[6] = {&io_[0], &io_[1], &expanded_, &depthwise_, &between_[0], &between_[1]};
    for (int i = 0; i < 6; ++i) {
        *slots[i] = p;
        p += sizes[i];
    }
}

std::string Engine::segments() const {
    std::string out;
    for (size_t s = 0; s < segments_.size(); ++s) {
        const Segment& sg = segments_[s];
        const std::string from = s == 0 ? "stem" : blocks_[sg.first_block].name;
        const std::string to = s + 1 == segments_.size() ? "head" : blocks_[sg.end_block - 1].name;
        out += (s ? ", " : "") + from + ".." + to + " x" + std::to_string(sg.group);
    }
    return out;
}

PoolPartials Engine::partials(int64_t channels, const Worker& w) const {
    // The slots of the threads OpenMP gave (a pass fills only those).
    PoolPartials p;
    p.slots = pool_slots_.data();
    p.count = w.count;
    p.channels = channels;
    return p;
}

void Engine::add_pass(std::string name, PassFn run) {
    passes_.push_back({std::move(name), std::move(run)});
}

float* Engine::vectors(const Worker& w) const {
    return w.scratch->floats + align16(gemm_scratch_floats_);
}

void Engine::plan_passes() {
    Buf cur;
    for (size_t s = 0; s < segments_.size(); ++s) {
        Segment& sg = segments_[s];
        sg.first_pass = passes_.size();
        if (s == 0) {
            StemOp stem;
            stem.h = height_;
            stem.w = width_;
            stem.cin = stem_cin_;
            stem.kernel = stem_kernel_;
            stem.stride = stem_stride_;
            stem.weight = &stem_weight_;
            stem.bias = stem_bias_.data();
            stem.out = io_[0];
            cur = Buf{io_[0], stem_ho_ * stem_wo_ * stem_weight_.n(), false};
            gemm_scratch_floats_ = std::max(gemm_scratch_floats_, stem_scratch_floats(stem));
            add_pass("conv_stem+bn1+swish", [this, stem](const Group& g, const Worker& w) {
                StemOp op = stem;
                op.batch = g.count;
                op.x = input_ + g.first * height_ * width_ * stem_cin_;
                stem_forward(op, w);
            });
        } else {
            const Block& b = blocks_[sg.first_block];
            cur = Buf{between_[(s - 1) % 2], b.h * b.w * b.in, true};
        }
        for (size_t i = sg.first_block; i < sg.end_block; ++i) {
            const Block& b = blocks_[i];
            const int64_t floats = b.ho * b.wo * b.out;
            Buf out;
            if (i + 1 == sg.end_block && s + 1 < segments_.size())
                out = Buf{between_[s % 2], floats, true};  // the next segment's input
            else if (b.residual)
                out = cur;  // in place
            else
                out = Buf{cur.base == io_[0] ? io_[1] : io_[0], floats, false};
            plan_block(b, cur, out);
            cur = out;
        }
        sg.end_pass = passes_.size();
    }

    PointwiseOp head;
    head.rows_per_sample = head_hw_;
    head.w = &head_weight_;
    head.bias = head_bias_.data();
    head.act = Activation::SWISH;
    gemm_scratch_floats_ = std::max(gemm_scratch_floats_, pointwise_scratch_floats(head, threads_));
    add_pass("conv_head+bn2+swish+pool", [this, head, cur](const Group& g, const Worker& w) {
        PointwiseOp op = head;
        op.batch = g.count;
        op.a = cur.at(g);
        op.out = head_features_ ? head_features_ + g.first * head_hw_ * head_weight_.n() : nullptr;
        op.pool = w.scratch->pool;
        pointwise_forward(op, w);
    });
    add_pass("classifier", [this](const Group& g, const Worker& w) {
        const PoolPartials p = partials(head_weight_.n(), w);
        auto [s0, s1] = share(g.count, w);
        for (int64_t s = s0; s < s1; ++s)
            classifier_forward(classifier_weight_.data(), classifier_bias_.data(), num_classes_, p,
                               s, head_hw_, vectors(w), logits_ + (g.first + s) * num_classes_);
    });
    segments_.back().end_pass = passes_.size();
}

void Engine::plan_block(const Block& b, const Buf& in, const Buf& out) {
    DepthwiseOp d;
    d.h = b.h;
    d.w = b.w;
    d.c = b.mid;
    d.kernel = b.kernel;
    d.stride = b.stride;
    d.taps = b.taps.data();
    d.bias = b.dw_bias.data();
    d.out = depthwise_;
    if (b.fused) {
        ExpandDepthwiseOp f;
        f.dw = d;
        f.expand = &b.expand;
        f.expand_bias = b.expand_bias.data();
        gemm_scratch_floats_ = std::max(gemm_scratch_floats_, expand_depthwise_scratch_floats(f));
        add_pass(b.name + ".expand+depthwise", [f, in](const Group& g, const Worker& w) {
            ExpandDepthwiseOp op = f;
            op.dw.batch = g.count;
            op.dw.pool = w.scratch->pool;
            op.x = in.at(g);
            expand_depthwise_forward(op, w);
        });
    } else {
        bool from_expanded = false;
        if (b.has_expand) {
            PointwiseOp e;
            e.rows_per_sample = b.h * b.w;
            e.w = &b.expand;
            e.bias = b.expand_bias.data();
            e.act = Activation::SWISH;
            e.out = expanded_;
            gemm_scratch_floats_ =
                std::max(gemm_scratch_floats_, pointwise_scratch_floats(e, threads_));
            add_pass(b.name + ".expand", [e, in](const Group& g, const Worker& w) {
                PointwiseOp op = e;
                op.batch = g.count;
                op.a = in.at(g);
                pointwise_forward(op, w);
            });
            from_expanded = true;
        }
        add_pass(b.name + ".depthwise",
                 [this, d, in, from_expanded](const Group& g, const Worker& w) {
                     DepthwiseOp op = d;
                     op.batch = g.count;
                     op.x = from_expanded ? expanded_ : in.at(g);
                     op.pool = w.scratch->pool;
                     depthwise_forward(op, w);
                 });
    }

    // SE gate (from the pool partials) folded into the projection's A operand,
    // + bias (+ the block's input).
    PointwiseOp p;
    p.rows_per_sample = b.ho * b.wo;
    p.a = depthwise_;
    p.w = &b.project;
    p.bias = b.project_bias.data();
    const int64_t hw = b.ho * b.wo;
    const SqueezeExciteGate gate = b.gate();
    p.column_scale = [this, gate, hw](int64_t sample, const Worker& w) -> const float* {
        float* g = vectors(w);
        se_gate(gate, partials(gate.channels, w), sample, hw, g + align16(gate.channels), g);
        return g;
    };
    gemm_scratch_floats_ = std::max(gemm_scratch_floats_, pointwise_scratch_floats(p, threads_));
    const bool residual = b.residual;
    add_pass(b.name + ".se+project", [p, in, out, residual](const Group& g, const Worker& w) {
        PointwiseOp op = p;
        op.batch = g.count;
        op.residual = residual ? in.at(g) : nullptr;
        op.out = out.at(g);
        pointwise_forward(op, w);
    });
}

void Engine::execute(const float* x, int64_t n, float* logits, float* head_features,
                     std::vector<double>* times) {
    EFFNET_CHECK(n >= 1 && n <= max_batch_,
                 "inference engine: batch " << n << " outside 1.." << max_batch_ << " (planned)");
    EFFNET_CHECK(x && logits, "inference engine: null input or output");
    input_ = x;
    logits_ = logits;
    head_features_ = head_features;
    using Clock = std::chrono::steady_clock;
#pragma omp parallel num_threads(threads_)
    {
        Worker w;
        w.index = omp_get_thread_num();
        w.count = omp_get_num_threads();
        w.scratch = &thread_[size_t(w.index)];
#pragma omp single
        barrier_.reset(w.count);
        auto last = Clock::now();
        for (const Segment& sg : segments_)
            for (int64_t first = 0; first < n; first += sg.group) {
                const Group g{first, std::min(sg.group, n - first)};
                for (size_t i = sg.first_pass; i < sg.end_pass; ++i) {
                    passes_[i].run(g, w);
                    barrier_.wait();
                    if (times && w.index == 0) {
                        const auto now = Clock::now();
                        (*times)[i] +=
                            std::chrono::duration<double, std::milli>(now - last).count();
                        last = now;
                    }
                }
            }
    }
}

void Engine::run(const float* x, int64_t n, float* logits, float* head_features) {
    execute(x, n, logits, head_features, nullptr);
}

std::vector<PassTime> Engine::run_profiled(const float* x, int64_t n, float* logits) {
    std::vector<double> times(passes_.size(), 0.0);
    execute(x, n, logits, nullptr, &times);
    std::vector<PassTime> out;
    for (size_t i = 0; i < passes_.size(); ++i) out.push_back({passes_[i].name, times[i]});
    return out;
}

int64_t Engine::planned_bytes() const {
    int64_t floats = arena_.numel() + scratch_.numel() + pools_.numel();
    floats +=
        (stem_weight_.groups() * stem_weight_.k() + head_weight_.groups() * head_weight_.k()) * 8;
    for (const Block& b : blocks_)
        floats += (b.expand.groups() * b.expand.k() + b.project.groups() * b.project.k()) * 8 +
                  int64_t(b.taps.size()) + int64_t(b.se_reduce_w.size() + b.se_expand_w_t.size());
    return floats * int64_t(sizeof(float));
}

}  // namespace effnet::infer::cpu
