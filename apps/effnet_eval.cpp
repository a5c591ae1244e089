// effnet_eval: the classification report of saved weights on a dataset split.
#include <filesystem>
#include <iostream>

#include "apps/cli.h"
#include "apps/evaluate.h"
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
                                     "confusion matrix, AUROC with 95% CI, sensitivity/specificity.");
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
        resolve_device(device == "cuda" ? "cuda" : "cpu");  // the model runs on the CPU until the CUDA backend is complete
        Context ctx(Device::CPU);

        SafetensorsFile f = read_safetensors(weights);
        ModelSpec spec = ModelSpec::from_metadata(f.metadata, weights);
        Model model(spec, Device::CPU, 0);
        load_weights(f, *model.net, true, weights, {"optimizer."});
        model.plan(batch, Device::CPU);
        LossHead head(spec.loss, batch, spec.num_classes, Device::CPU);

        Dataset ds = load_dataset(data, dopts);
        const Split s = split == "train" ? Split::TRAIN : split == "val" ? Split::VAL : Split::TEST;
        if (ds.count(s) == 0) throw IoError(data + ": the " + split + " split is empty (use --split or --test-fraction)");
        LoaderConfig lc;
        lc.batch_size = batch;
        lc.workers = workers;
        BadFileLog bad;
        Loader loader(ds.split(s), spec.pipeline(), lc, &bad);
        EvalResult r = evaluate(model, loader, head, ctx);
        double threshold = 0.5;
        std::string threshold_from = "default 0.5 (no val split to choose on)";
        if (s != Split::VAL && ds.count(Split::VAL) > 0) {
            Loader val_loader(ds.split(Split::VAL), spec.pipeline(), lc, &bad);
            EvalResult v = evaluate(model, val_loader, head, ctx);
            threshold = youden_threshold(v.prob, v.label);
            threshold_from = "chosen on val (Youden's J)";
        }
        BinaryReport rep = binary_report(r.prob, r.label, 0.5, bootstrap, 17);
        BinaryReport thr = binary_report(r.prob, r.label, threshold, 0, 1);
        std::ostringstream os;
        os << "effnet_eval: " << weights << " on " << ds.source << ", " << split << " split (" << r.prob.size()
           << " images)\n\nclassification report (argmax):\n"
           << classification_report(rep) << "\n"
           << confusion_matrix_text(rep) << "\nAUROC " << rep.auroc << " (95% CI " << rep.auroc_lo << "-" << rep.auroc_hi
           << ")\nthreshold " << threshold << " " << threshold_from << ": sensitivity " << thr.sensitivity
           << ", specificity " << thr.specificity << "\nloss " << r.loss << "\n";
        if (bad.count()) os << "skipped " << bad.count() << " unreadable files (first: " << bad.entries()[0].first << ": "
                            << bad.entries()[0].second << ")\n";
        std::cout << os.str();
        if (!out.empty()) {
            std::filesystem::create_directories(out);
            write_file_atomic(out + "/report.txt", os.str());
            write_file_atomic(out + "/metrics.json", "{\"split\": \"" + split + "\", \"argmax\": " + report_json(rep) +
                                                         ", \"at_threshold\": " + report_json(thr) + "}\n");
        }
        return 0;
    });
}
