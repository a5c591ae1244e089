#include "train/evaluate.h"

#include <cmath>

#include "data/augment.h"
#include "io/fault_point.h"
#include "io/safetensors.h"
#include "io/weights.h"
#include "tensor/error.h"
#include "tensor/nvtx.h"

namespace effnet {

namespace {

// The normalised value of a black pixel per channel: what a view shows where
// it looks past the image's edge (as the training augmentation's zero fill).
std::array<float, 3> black_after_normalisation(const ModelSpec& spec) {
    const ChannelNormalisation n = channel_normalisation(spec.pipeline());
    std::array<float, 3> fill{};
    for (size_t c = 0; c < 3; ++c) fill[c] = -n.mean[c] / n.std[c];
    return fill;
}

// `images` (host, NHWC) seen through test-time view `view`, on `device`.
Tensor view_batch(const Tensor& images, int view, const std::array<float, 3>& fill, Device device) {
    const int64_t n = images.dim(0), h = images.dim(1), w = images.dim(2), c = images.dim(3);
    Tensor out = Tensor::empty(images.shape(), Device::CPU);
    const ViewTransform t = tta_view(view);
    for (int64_t i = 0; i < n; ++i)
        apply_view(images.f32() + i * h * w * c, out.f32() + i * h * w * c, int(w), int(h), int(c),
                   fill.data(), t);
    return device == Device::CPU ? out : out.to(device);
}

// Mean cross-entropy of `labels` given logits / T, summed in double (the
// head's formulas, kernels/loss.h, without smoothing).
double mean_nll(const std::vector<float>& logits, int64_t k, const std::vector<int>& labels,
                double t) {
    double total = 0;
    for (size_t i = 0; i < labels.size(); ++i) {
        const float* z = &logits[i * size_t(k)];
        if (k == 1) {
            const double m = double(z[0]) / t;
            total += std::max(m, 0.0) - m * labels[i] + std::log1p(std::exp(-std::fabs(m)));
            continue;
        }
        double mx = double(z[0]) / t;
        for (int64_t j = 1; j < k; ++j) mx = std::max(mx, double(z[j]) / t);
        double den = 0;
        for (int64_t j = 0; j < k; ++j) den += std::exp(double(z[j]) / t - mx);
        total += -(double(z[labels[i]]) / t - mx - std::log(den));
    }
    return labels.empty() ? NAN : total / double(labels.size());
}

}  // namespace

std::vector<std::string> subgroup_tags(const Sample& s) {
    std::vector<std::string> tags;
    for (const auto& [key, value] : s.metadata)
        tags.push_back(key == "age" ? age_tag(parse_age_years(value)) : key + "=" + value);
    return tags;
}

EvalResult evaluate(Model& model, Loader& loader, LossHead& head, Context& ctx, int views) {
    EFFNET_NVTX_RANGE("evaluate");
    EFFNET_CHECK(views >= 1 && views <= kMaxTtaViews,
                 "evaluate: " << views << " views (1 to " << kMaxTtaViews << ")");
    EvalResult r;
    r.views = views;
    const Device dev = model.store->values().device();
    const std::array<float, 3> fill = black_after_normalisation(model.spec);
    loader.start_epoch(0);
    Batch b;
    double loss_sum = 0;
    int64_t correct = 0, n = 0;
    while (loader.next(b)) {
        if (b.size() == 0) continue;
        const DeviceBatch d = to_device(b, dev);
        Tensor logits = model.net->forward(d.images, RunState{Mode::EVAL, 0, 0}, ctx);
        const int64_t k = logits.dim(1);
        std::vector<float> z = logits.to_vector();
        if (views > 1) {
            // Each view's logits are added in double and averaged; the head
            // then scores the average.
            std::vector<double> sum(z.begin(), z.end());
            for (int v = 1; v < views; ++v) {
                Tensor lv = model.net->forward(view_batch(b.images, v, fill, dev),
                                               RunState{Mode::EVAL, 0, 0}, ctx);
                const std::vector<float> zv = lv.to_vector();
                for (size_t j = 0; j < zv.size(); ++j) sum[j] += zv[j];
            }
            for (size_t j = 0; j < z.size(); ++j) z[j] = float(sum[j] / views);
            Tensor mean = Tensor::from_vector(logits.shape(), z);
            logits = dev == Device::CPU ? mean : mean.to(dev);
        }
        loss_sum += double(head.forward(logits, d.labels, ctx)) * double(b.size());
        correct += head.correct();
        n += b.size();
        r.classes = k;
        r.logits.insert(r.logits.end(), z.begin(), z.end());
        for (int64_t i = 0; i < b.size(); ++i) {
            const Sample& s = *b.samples[size_t(i)];
            r.prob.push_back(finite_probability(&z[size_t(i * k)], k, s.path));
            r.label.push_back(b.labels.i32()[i]);
            r.index.push_back(int64_t(b.samples[size_t(i)] - loader.samples().data()));
            r.paths.push_back(s.path);
            r.tags.push_back(subgroup_tags(s));
        }
        fault_point("evaluate");
    }
    r.loss_sum = loss_sum;
    r.correct = correct;
    r.loss = n ? loss_sum / double(n) : NAN;
    r.accuracy = n ? double(correct) / double(n) : NAN;
    return r;
}

EvalResult with_temperature(const EvalResult& r, double temperature) {
    EFFNET_CHECK(temperature > 0 && std::isfinite(temperature),
                 "temperature " << temperature << " is not positive");
    if (temperature == r.temperature) return r;
    EFFNET_CHECK(r.temperature == 1,
                 "with_temperature: the result is already at temperature " << r.temperature);
    EvalResult out = r;
    out.temperature = temperature;
    std::vector<float> scaled(r.logits.size());
    for (size_t j = 0; j < scaled.size(); ++j) scaled[j] = float(double(r.logits[j]) / temperature);
    for (size_t i = 0; i < r.prob.size(); ++i)
        out.prob[i] = finite_probability(&scaled[i * size_t(r.classes)], r.classes, r.paths[i]);
    out.loss = mean_nll(r.logits, r.classes, r.label, temperature);
    return out;
}

TemperatureFit fit_temperature(const EvalResult& r) {
    if (r.classes != 1 && r.classes != 2)
        throw ContractError(
            "temperature scaling needs one or two logits per image; this model has " +
            std::to_string(r.classes));
    return fit_temperature(logit_margins(r.logits, int(r.classes)), r.label);
}

WeightsUnderTest load_for_evaluation(const std::string& path, Device device, int64_t batch) {
    WeightsUnderTest w;
    w.path = path;
    SafetensorsFile f = read_safetensors(path);
    const ModelSpec spec = ModelSpec::from_metadata(f.metadata, path);
    w.decision = read_decision_settings(f.metadata, path);
    if (auto it = f.metadata.find("effnet.weights"); it != f.metadata.end() && it->second == "ema")
        w.weights = "ema";
    w.model = std::make_unique<Model>(spec, device, 0);
    load_weights(f, *w.model->net, WeightsMatch::EXACT, path, {"optimizer."});
    w.model->plan(batch, device);
    w.head = std::make_unique<LossHead>(spec.loss, batch, spec.num_classes, device);
    return w;
}

EvalResult evaluate_samples(WeightsUnderTest& w, const std::vector<Sample>& samples,
                            const LoaderConfig& lc, int views, BadFileLog* bad, Context& ctx) {
    Loader loader(samples, w.model->spec.pipeline(), lc, bad);
    return evaluate(*w.model, loader, *w.head, ctx, views);
}

DecisionThreshold decision_threshold(const DecisionSettings& stored, const EvalResult* val,
                                     const OperatingPointSpec& rule) {
    DecisionThreshold d;
    if (stored.has_threshold) {
        d.value = stored.threshold;
        d.rule = stored.threshold_rule.empty() ? "threshold=" + fmt("%g", stored.threshold)
                                               : stored.threshold_rule;
        d.from = "stored with the weights (" + d.rule + ")";
    } else if (val) {
        d.value = choose_threshold(val->prob, val->label, rule);
        d.rule = to_string(rule);
        d.from = "chosen on val (" +
                 (rule.rule == OperatingRule::YOUDEN ? std::string("Youden's J") : d.rule) + ")";
    } else {
        d.rule = "threshold=0.5";
        d.from = "by default (no val split to choose on, none stored with the weights)";
    }
    return d;
}

}  // namespace effnet
