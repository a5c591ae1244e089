#include "train/evaluate.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "io/fault_point.h"
#include "io/json.h"
#include "tensor/nvtx.h"

namespace effnet {

EvalResult evaluate(Model& model, Loader& loader, LossHead& head, Context& ctx) {
    EFFNET_NVTX_RANGE("evaluate");
    EvalResult r;
    const Device dev = model.store->values().device();
    loader.start_epoch(0);
    Batch b;
    double loss_sum = 0;
    int64_t correct = 0, n = 0;
    while (loader.next(b)) {
        const DeviceBatch d = to_device(b, dev);
        const Tensor &x = d.images, &y = d.labels;
        Tensor logits = model.net->forward(x, RunState{Mode::EVAL, 0, 0}, ctx);
        loss_sum += double(head.forward(logits, y, ctx)) * double(b.size());
        correct += head.correct();
        n += b.size();
        std::vector<float> z = logits.to_vector();
        const int64_t k = logits.dim(1);
        for (int64_t i = 0; i < b.size(); ++i) {
            r.prob.push_back(finite_probability(&z[size_t(i * k)], k, b.samples[size_t(i)]->path));
            r.label.push_back(b.labels.i32()[i]);
            r.paths.push_back(b.samples[size_t(i)]->path);
        }
        fault_point("evaluate");
    }
    r.loss = n ? loss_sum / double(n) : NAN;
    r.accuracy = n ? double(correct) / double(n) : NAN;
    return r;
}

}  // namespace effnet

namespace effnet {

std::string fmt(const char* format, double v) {
    char b[64];
    std::snprintf(b, sizeof b, format, v);
    return b;
}

namespace {
std::string fixed4(double v) { return fmt("%.4f", v); }
}  // namespace

EvaluationReport evaluation_report(const std::string& title, const EvalResult& r, double threshold,
                                   const std::string& threshold_from, int bootstrap, uint64_t seed,
                                   const BadFileLog& bad_files) {
    EvaluationReport out;
    out.at_half = binary_report(r.prob, r.label, 0.5, bootstrap, seed);
    out.at_threshold = binary_report(r.prob, r.label, threshold, 0, seed);
    std::ostringstream rep;
    rep << title << "\n\n"
        << "classification report (predicted class = argmax, i.e. threshold 0.5):\n"
        << classification_report(out.at_half) << "\n"
        << confusion_matrix_text(out.at_half) << "\n"
        << "AUROC " << fixed4(out.at_half.auroc) << " (95% bootstrap CI " << fixed4(out.at_half.auroc_lo) << "-"
        << fixed4(out.at_half.auroc_hi) << ", " << bootstrap << " resamples)\n"
        << "threshold " << threshold_from << ": " << fixed4(threshold) << "  sensitivity "
        << fixed4(out.at_threshold.sensitivity) << "  specificity " << fixed4(out.at_threshold.specificity) << "\n"
        << "loss " << fixed4(r.loss) << "\n";
    if (bad_files.count()) {
        rep << "\nskipped files (" << bad_files.count() << "):\n";
        for (auto& [path, why] : bad_files.entries()) rep << "  " << path << ": " << why << "\n";
    }
    out.text = rep.str();
    out.threshold_from = threshold_from;
    out.loss = r.loss;
    out.skipped_files = bad_files.count();
    return out;
}

std::string metrics_json(const std::string& split, const EvaluationReport& rep, int best_epoch) {
    return json::Object()
               .text("split", split)
               .integer("images", rep.at_half.n)
               .num("loss", rep.loss)
               .raw("best_epoch", best_epoch > 0 ? std::to_string(best_epoch) : "null")
               .text("threshold_from", rep.threshold_from)
               .integer("skipped_files", rep.skipped_files)
               .raw("argmax", report_json(rep.at_half))
               .raw("at_threshold", report_json(rep.at_threshold))
               .str() +
           "\n";
}

}  // namespace effnet
