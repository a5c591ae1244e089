// The end of a run: the best weights evaluated on the test split (or on val
// when there is none), with the decision threshold chosen on val.
#include <filesystem>

#include "io/metrics.h"
#include "io/weights.h"
#include "train/evaluate.h"
#include "train/training_run.h"

namespace effnet {

namespace fs = std::filesystem;

void final_report(TrainingRun& run) {
    const TrainConfig& cfg = run.cfg;
    if (fs::exists(run.best_path)) {
        load_weights(read_safetensors(run.best_path), *run.model.net, WeightsMatch::EXACT, run.best_path, {"optimizer."});
        run.log.line("restored the best weights (epoch " + std::to_string(run.early.best_epoch()) + ") from " +
                     run.best_path);
    }
    EvalResult val = evaluate(run.model, run.val_loader, run.head, run.ctx);
    const double threshold = youden_threshold(val.prob, val.label);
    const bool has_test = run.ds.count(Split::TEST) > 0;
    EvalResult final_eval = val;
    if (has_test) {
        Loader test_loader(run.ds.split(Split::TEST), run.eval_pipeline, run.eval_loader_config, &run.bad_files);
        final_eval = evaluate(run.model, test_loader, run.head, run.ctx);
    }
    const std::string split = has_test ? "test" : "val";
    const EvaluationReport rep = evaluation_report(
        "effnet report: EfficientNet-B" + std::to_string(cfg.model.variant) + " on " + run.ds.source + ", " + split +
            " split (" + std::to_string(final_eval.prob.size()) + " images), best epoch " +
            std::to_string(run.early.best_epoch()),
        final_eval, threshold, "chosen on val (Youden's J)", cfg.bootstrap, cfg.seed + 17, run.bad_files);
    write_file_atomic((fs::path(cfg.out) / "report.txt").string(), rep.text);
    write_file_atomic((fs::path(cfg.out) / "metrics.json").string(), metrics_json(split, rep, run.early.best_epoch()));
    run.log.line("\n" + rep.text);
    run.log.line("outputs in " + cfg.out +
                 ": best.safetensors last.safetensors history.csv curves.png report.txt metrics.json");
}

}  // namespace effnet
