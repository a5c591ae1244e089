// effnet_eval: the classification report of saved weights on a dataset split.
#include <filesystem>
#include <iostream>

#include "train/cli.h"
#include "train/evaluate.h"
#include "data/augment.h"
#include "data/dicom.h"

using namespace effnet;

int main(int argc, char** argv) {
    return cli::run_main("effnet_eval", [&] {
        std::string weights, data, split = "test", out, device = "auto", compare,
                                   auroc_ci = "delong";
        std::vector<std::string> operating_points;
        int workers = 2, bootstrap = 1000, tta = 1;
        int64_t batch = 32;
        DatasetOptions dopts;
        cli::Parser p(
            "effnet_eval",
            "Evaluate weights (best.safetensors) on a split: classification report, "
            "confusion matrix, AUROC with 95% CI, calibration, operating points, subgroups.\n"
            "Probabilities use the temperature and labels the threshold stored with the "
            "weights (effnet_train writes them).\n" +
                dicom_support());
        p.option("--weights", &weights,
                 "checkpoint or weights file written by effnet_train (required)");
        p.option("--data", &data, "dataset folder or CSV, as for effnet_train (required)");
        p.choice("--split", &split, {"train", "val", "test"}, "split to evaluate");
        p.option("--image-root", &dopts.image_root, "image folder for NIH/CheXpert CSVs");
        p.option("--test-fraction", &dopts.test_fraction,
                 "test share carved from train when the data has no test split");
        p.option("--out", &out, "also write report.txt, metrics.json and reliability.png here");
        p.option("--batch-size", &batch, "images per forward pass");
        p.option("--workers", &workers, "loader threads");
        p.option("--tta", &tta, "test-time views averaged per image (1: the image only)");
        p.list("--operating-point", &operating_points,
               "a threshold rule chosen on val: sens=0.90, spec=0.90, threshold=X");
        p.option("--compare", &compare,
                 "other weights: both models on the same images, paired DeLong test");
        p.choice("--auroc-ci", &auroc_ci, {"delong", "bootstrap"},
                 "how the AUROC 95% interval is computed");
        p.option("--bootstrap", &bootstrap,
                 "bootstrap resamples for the AUROC interval (--auroc-ci bootstrap)");
        p.choice("--device", &device, {"auto", "cpu", "cuda"}, "where to run");
        if (!p.parse(argc, argv)) return 0;
        if (weights.empty() || data.empty())
            throw cli::UsageError("--weights and --data are required");
        if (tta < 1 || tta > kMaxTtaViews)
            throw cli::UsageError("--tta must be in [1, " + std::to_string(kMaxTtaViews) + "]");
        ReportSettings settings;
        settings.interval =
            auroc_ci == "bootstrap" ? AurocInterval::BOOTSTRAP : AurocInterval::DELONG;
        settings.bootstrap = bootstrap;
        for (const std::string& text : operating_points) {
            try {
                settings.operating_points.push_back(parse_operating_point(text));
            } catch (const ContractError& e) {
                throw cli::UsageError(std::string("--operating-point: ") + e.what());
            }
        }
        // As in effnet_train: "auto" stays on the CPU until a GPU run has
        // verified the CUDA backend (docs/status.md); "cuda" opts in.
        const Device dev = resolve_device(device == "cuda" ? "cuda" : "cpu");
        Context ctx(dev);

        WeightsUnderTest model = load_for_evaluation(weights, dev, batch);
        Dataset ds = load_dataset(data, dopts);
        const Split s = split == "train" ? Split::TRAIN : split == "val" ? Split::VAL : Split::TEST;
        if (ds.count(s) == 0)
            throw IoError(data + ": the " + split +
                          " split is empty (use --split or --test-fraction)");
        LoaderConfig lc;
        lc.batch_size = batch;
        lc.workers = workers;
        lc.pinned = dev == Device::CUDA;
        BadFileLog bad;
        const double t = model.decision.temperature;
        ReportInput in;
        in.split = split;
        in.weights = model.weights;
        in.temperature_from = model.decision.has_temperature ? "stored with the weights" : "none";
        in.evaluated =
            with_temperature(evaluate_samples(model, ds.split(s), lc, tta, &bad, ctx), t);
        if (s != Split::VAL && ds.count(Split::VAL) > 0)
            in.chooser = with_temperature(
                evaluate_samples(model, ds.split(Split::VAL), lc, tta, &bad, ctx), t);
        const OperatingPointSpec rule =
            settings.operating_points.empty() ? OperatingPointSpec{} : settings.operating_points[0];
        const DecisionThreshold threshold =
            decision_threshold(model.decision, in.chooser ? &*in.chooser : nullptr, rule);
        in.threshold = threshold.value;
        in.threshold_rule = threshold.rule;
        in.threshold_from = threshold.from;
        if (!compare.empty()) {
            WeightsUnderTest other = load_for_evaluation(compare, dev, batch);
            const EvalResult b = evaluate_samples(other, ds.split(s), lc, tta, &bad, ctx);
            in.comparison = compare_evaluations(in.evaluated, b, in.compared_images);
            in.compared_with = compare;
        }
        in.title = "effnet_eval: " + weights + (model.weights == "ema" ? " (weight average)" : "") +
                   " on " + ds.source + ", " + split + " split (" +
                   std::to_string(in.evaluated.prob.size()) + " images)";
        const EvaluationReport rep = evaluation_report(in, settings, bad);
        std::cout << rep.text;
        if (!out.empty()) write_report_files(rep, out);
        return 0;
    });
}
