// effnet_eval: the classification report of saved weights on a dataset split.
#include <filesystem>
#include <iostream>

#include "train/cli.h"
#include "train/evaluate.h"
#include "data/dicom.h"
#include "io/metrics.h"
#include "io/safetensors.h"
#include "io/weights.h"

using namespace effnet;

int main(int argc, char** argv) {
    return cli::run_main("effnet_eval", [&] {
        std::string weights, data, split = "test", out, device = "auto";
        int workers = 2, bootstrap = 1000;
        int64_t batch = 32;
        DatasetOptions dopts;
        cli::Parser p("effnet_eval", "Evaluate weights (best.safetensors) on a split: classification report, "
                                     "confusion matrix, AUROC with 95% CI, sensitivity/specificity.\n" +
                                         dicom_support());
        p.option("--weights", &weights, "checkpoint or weights file written by effnet_train (required)");
        p.option("--data", &data, "dataset folder or CSV, as for effnet_train (required)");
        p.choice("--split", &split, {"train", "val", "test"}, "split to evaluate");
        p.option("--image-root", &dopts.image_root, "image folder for NIH/CheXpert CSVs");
        p.option("--test-fraction", &dopts.test_fraction, "test share carved from train when the data has no test split");
        p.option("--out", &out, "also write report.txt and metrics.json here");
        p.option("--batch-size", &batch, "images per forward pass");
        p.option("--workers", &workers, "loader threads");
        p.option("--bootstrap", &bootstrap, "bootstrap resamples for the AUROC interval");
        p.choice("--device", &device, {"auto", "cpu", "cuda"}, "where to run");
        if (!p.parse(argc, argv)) return 0;
        if (weights.empty() || data.empty()) throw cli::UsageError("--weights and --data are required");
        // As in effnet_train: "auto" stays on the CPU until a GPU run has
        // verified the CUDA backend (docs/status.md); "cuda" opts in.
        const Device dev = resolve_device(device == "cuda" ? "cuda" : "cpu");
        Context ctx(dev);

        SafetensorsFile f = read_safetensors(weights);
        ModelSpec spec = ModelSpec::from_metadata(f.metadata, weights);
        Model model(spec, dev, 0);
        load_weights(f, *model.net, WeightsMatch::EXACT, weights, {"optimizer."});
        model.plan(batch, dev);
        LossHead head(spec.loss, batch, spec.num_classes, dev);

        Dataset ds = load_dataset(data, dopts);
        const Split s = split == "train" ? Split::TRAIN : split == "val" ? Split::VAL : Split::TEST;
        if (ds.count(s) == 0) throw IoError(data + ": the " + split + " split is empty (use --split or --test-fraction)");
        LoaderConfig lc;
        lc.batch_size = batch;
        lc.workers = workers;
        lc.pinned = dev == Device::CUDA;
        BadFileLog bad;
        Loader loader(ds.split(s), spec.pipeline(), lc, &bad);
        EvalResult r = evaluate(model, loader, head, ctx);
        double threshold = 0.5;
        std::string threshold_from = "by default (no val split to choose on)";
        if (s != Split::VAL && ds.count(Split::VAL) > 0) {
            Loader val_loader(ds.split(Split::VAL), spec.pipeline(), lc, &bad);
            EvalResult v = evaluate(model, val_loader, head, ctx);
            threshold = youden_threshold(v.prob, v.label);
            threshold_from = "chosen on val (Youden's J)";
        }
        const EvaluationReport rep = evaluation_report("effnet_eval: " + weights + " on " + ds.source + ", " + split +
                                                           " split (" + std::to_string(r.prob.size()) + " images)",
                                                       r, threshold, threshold_from, bootstrap, 17, bad);
        std::cout << rep.text;
        if (!out.empty()) {
            std::filesystem::create_directories(out);
            write_file_atomic(out + "/report.txt", rep.text);
            write_file_atomic(out + "/metrics.json", metrics_json(split, rep, 0));
        }
        return 0;
    });
}
