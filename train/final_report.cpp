// The end of a run: the best weights evaluated on the test split (or on val
// when there is none), with the temperature (--calibrate) and the decision
// threshold chosen on val, both then stored in best.safetensors. On N ranks
// rank 0 restores the weights and broadcasts them, every rank evaluates its
// shares, and rank 0 reports on the gathered predictions.
#include <filesystem>

#include "io/metrics.h"
#include "io/weights.h"
#include "train/data_parallel.h"
#include "train/evaluate.h"
#include "train/training_run.h"

namespace effnet {

namespace fs = std::filesystem;

void final_report(TrainingRun& run) {
    const TrainConfig& cfg = run.cfg;
    int32_t restored = run.comm.is_root() && fs::exists(run.best_path);
    if (restored) {
        // With --ema the file's model tensors are the weight average.
        load_weights(read_safetensors(run.best_path), *run.model.net, WeightsMatch::EXACT,
                     run.best_path, {"optimizer."});
        run.log.line("restored the best " + std::string(run.ema ? "weight average" : "weights") +
                     " (epoch " + std::to_string(run.early.best_epoch()) + ") from " +
                     run.best_path);
    }
    run.comm.broadcast_bytes(&restored, sizeof restored);
    if (restored && run.comm.size() > 1) {
        run.comm.broadcast(run.model.store->values(), run.ctx);
        broadcast_buffers(run.comm, run.model, run.ctx);
    }
    EvalResult val = gather_evaluation(
        run.comm, evaluate(run.model, run.val_loader, run.eval_head, run.ctx, cfg.tta),
        run.val_loader);
    const bool has_test = run.ds.count(Split::TEST) > 0;
    EvalResult final_eval = val;
    if (has_test) {
        Loader test_loader(run.ds.split(Split::TEST), run.eval_pipeline, run.eval_loader_config,
                           &run.bad_files);
        final_eval = gather_evaluation(
            run.comm, evaluate(run.model, test_loader, run.eval_head, run.ctx, cfg.tta),
            test_loader);
    }
    if (!run.comm.is_root()) return;

    ReportInput in;
    DecisionSettings decision;
    if (cfg.calibrate) {
        in.fit = fit_temperature(val);
        in.temperature_from = "fitted on val";
        decision.temperature = in.fit->temperature;
        decision.has_temperature = true;
        val = with_temperature(val, decision.temperature);
        final_eval = with_temperature(final_eval, decision.temperature);
    }
    const OperatingPointSpec rule =
        cfg.operating_points.empty() ? OperatingPointSpec{} : cfg.operating_points[0];
    const DecisionThreshold threshold = decision_threshold(DecisionSettings{}, &val, rule);
    decision.threshold = threshold.value;
    decision.has_threshold = true;
    decision.threshold_rule = threshold.rule + " on val";
    const std::string split = has_test ? "test" : "val";
    in.title = "effnet report: EfficientNet-B" + std::to_string(cfg.model.variant) + " on " +
               run.ds.source + ", " + split + " split (" + std::to_string(final_eval.prob.size()) +
               " images), best epoch " + std::to_string(run.early.best_epoch()) +
               (run.ema ? ", weight average (EMA)" : "");
    in.split = split;
    in.best_epoch = run.early.best_epoch();
    in.weights = run.ema ? "ema" : "trained";
    in.evaluated = final_eval;
    in.chooser = val;
    in.threshold = threshold.value;
    in.threshold_rule = threshold.rule;
    in.threshold_from = threshold.from;
    ReportSettings settings;
    settings.operating_points = cfg.operating_points;
    settings.interval = cfg.auroc_interval;
    settings.bootstrap = cfg.bootstrap;
    settings.seed = cfg.seed + 17;
    const EvaluationReport rep = evaluation_report(in, settings, run.bad_files);
    write_report_files(rep, cfg.out);
    if (fs::exists(run.best_path)) store_decision_settings(run.best_path, decision);
    run.log.line("\n" + rep.text);
    run.log.line(
        "decision threshold " + fmt("%.4f", decision.threshold) +
        (cfg.calibrate ? " and temperature " + fmt("%.4f", decision.temperature) : std::string()) +
        " stored in " + run.best_path);
    run.log.line("outputs in " + cfg.out +
                 ": best.safetensors last.safetensors history.csv curves.png report.txt "
                 "metrics.json reliability.png");
}

}  // namespace effnet
