#include "train/train_command.h"

#include "train/cli.h"
#include "data/augment.h"
#include "data/dicom.h"
#include "data/mixup.h"
#include "dist/communicator.h"
#include "tensor/error.h"

namespace effnet {

ScratchPreset scratch_preset() { return ScratchPreset{}; }

void apply_preset(const std::string& preset, TrainConfig& c,
                  const std::function<bool(const std::string&)>& given) {
    c.preset = preset;
    if (preset == "reference") return;
    if (preset != "scratch")
        throw cli::UsageError("--preset: '" + preset + "' is not one of reference|scratch");
    const ScratchPreset s = scratch_preset();
    if (!given("--lr")) c.adamw.lr = s.lr;
    if (!given("--ema")) c.ema_decay = s.ema_decay;
    if (!given("--schedule")) c.schedule = s.schedule;
    if (!given("--warmup-epochs") && c.schedule == LrSchedule::COSINE)
        c.warmup_epochs = s.warmup_epochs;
    if (!given("--label-smoothing")) c.label_smoothing = s.label_smoothing;
    if (!given("--crop-scale")) c.augment.scale_min = s.crop_scale;
    if (!given("--rotate")) c.augment.rotate_deg = s.rotate_deg;
    if (!given("--brightness")) c.augment.brightness = s.brightness;
    if (!given("--contrast")) c.augment.contrast = s.contrast;
    if (!given("--epochs")) c.epochs = s.epochs;
}

bool parse_train_command(int argc, char** argv, TrainCommand& cmd) {
    TrainConfig& c = cmd.config;
    std::string model = "b0", loss = "ce", uncertain = "ignore";
    std::string preset = "reference", schedule = "plateau", calibrate = "none", auroc_ci = "delong";
    std::vector<std::string> operating_points;
    int64_t channels = 3;
    double dropout = -1;
    bool no_equalize = false, no_augment = false;
    bool& print_model = cmd.print_model;
    int& threads = cmd.threads;
    cli::Parser p(
        "effnet_train",
        "Train EfficientNet to tell chest X-rays with cardiomegaly (1) from those without (0).\n"
        "Without --data: synthetic phantoms, quick preset (64 px, lr 1e-3, 12 epochs).\n"
        "With --data: the reference recipe (224 px, AdamW lr 1e-5, wd 1e-3, plateau patience 2,\n"
        "early stopping patience 4, histogram equalisation, at most 50 epochs); --preset scratch\n"
        "for training from random weights (lr 1e-3, stronger augmentation, EMA, at most 40\n"
        "epochs: the settings docs/results.md chose).\n" +
            dicom_support() + "\n" + dist::multi_process_support());
    p.option("--data", &c.data,
             "class folders ROOT/{train,val,test}/{0,1}, a path,label[,split] CSV, "
             "NIH Data_Entry_2017.csv or CheXpert train.csv");
    p.option("--image-root", &c.dataset.image_root, "image folder for NIH/CheXpert CSVs");
    p.option("--val-fraction", &c.dataset.val_fraction,
             "val share carved from train when there is no val split");
    p.option("--test-fraction", &c.dataset.test_fraction,
             "test share carved from train when there is no test split");
    p.flag("--pa-only", &c.dataset.pa_only, "NIH: PA views only");
    p.flag("--other-findings-negative", &c.dataset.other_findings_negative,
           "NIH: other findings count as 0");
    p.choice("--chexpert-uncertain", &uncertain, {"ignore", "zero", "one"}, "CheXpert -1 labels");
    p.option("--phantoms", &c.phantoms_train, "phantom training images (no --data)");
    p.choice("--model", &model, {"b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7"},
             "EfficientNet variant");
    p.option("--classes", &c.model.num_classes,
             "output classes (2 for softmax; 1 with --loss bce)");
    p.option("--channels", &channels, "input channels: 3 (grey replicated) or 1 (grey stem)");
    p.option("--image-size", &c.model.image_size, "input side in pixels");
    p.option("--dropout", &dropout,
             "dropout before the classifier (default: the variant's, 0.2 for B0)");
    p.option("--drop-path", &c.model.drop_path, "stochastic depth rate of the last block");
    p.choice("--loss", &loss, {"ce", "bce"},
             "softmax cross-entropy or binary cross-entropy with logits");
    p.option("--batch-size", &c.batch,
             "images per step (the global batch: split over mpirun's ranks)");
    p.option("--epochs", &c.epochs, "maximum epochs");
    p.option("--lr", &c.adamw.lr, "AdamW learning rate");
    p.option("--weight-decay", &c.adamw.weight_decay, "AdamW decoupled weight decay");
    p.flag("--decay-all", &c.adamw.decay_all, "also decay batch-norm parameters and biases");
    p.option("--plateau-patience", &c.plateau.patience,
             "epochs without val-loss improvement before an LR cut");
    p.option("--plateau-factor", &c.plateau.factor, "LR multiplier at a plateau");
    p.option("--plateau-cooldown", &c.plateau.cooldown, "epochs to wait after a cut");
    p.option("--min-lr", &c.plateau.min_lr, "lower bound of the learning rate");
    p.option("--early-stopping-patience", &c.early.patience,
             "epochs without improvement before stopping");
    p.option("--min-delta", &c.early.min_delta,
             "smallest val-loss decrease that counts as improvement");
    p.flag("--no-equalize", &no_equalize, "skip histogram equalisation");
    p.flag("--clahe", &c.model.clahe, "CLAHE instead of global histogram equalisation");
    p.option("--clahe-tiles", &c.model.clahe_tiles, "CLAHE tile grid (per side)");
    p.option("--clahe-clip", &c.model.clahe_clip, "CLAHE clip limit");
    std::string norm_mean = triple_to_string(c.model.mean),
                norm_std = triple_to_string(c.model.std);
    p.option("--norm-mean", &norm_mean,
             "input normalisation mean per channel, \"r,g,b\" or one value");
    p.option("--norm-std", &norm_std,
             "input normalisation std per channel, \"r,g,b\" or one value");
    p.option("--max-image-side", &c.max_image_side,
             "images larger than this (pixels per side) are refused");
    p.flag("--no-augment", &no_augment, "no training augmentation");
    p.flag("--hflip", &c.augment.hflip, "allow horizontal flips (off: the heart sits on the left)");
    p.option("--rotate", &c.augment.rotate_deg, "augmentation rotation range in degrees");
    p.option("--crop-scale", &c.augment.scale_min,
             "augmentation: smallest area of the random crop, a fraction of the image");
    p.option("--crop-scale-max", &c.augment.scale_max,
             "augmentation: largest area of the crop window; above 1 the film also shrinks "
             "inside a black border (zoom out)");
    p.option("--brightness", &c.augment.brightness,
             "augmentation: brightness shift range, a fraction of full scale");
    p.option("--contrast", &c.augment.contrast, "augmentation: contrast factor range, 1 +- V");
    p.option("--seed", &c.seed, "seed of all randomness (init, shuffling, augmentation, dropout)");
    p.option("--workers", &c.workers, "loader threads");
    p.option("--cache-mb", &c.cache_mb,
             "memory for decoded, equalised, resized images kept across epochs (0: off)");
    p.option("--threads", &threads,
             "compute threads (default: OMP_NUM_THREADS or all cores; under mpirun, "
             "the cores split over the ranks of each host)");
    p.flag("--sync-bn", &c.sync_bn,
           "mpirun: batch-norm statistics over the global batch (CPU; default per rank)");
    p.option("--check-replicas", &c.check_replicas,
             "mpirun: compare the ranks' parameters every K steps (0: never)");
    p.flag("--strict", &c.strict, "stop at the first unreadable image instead of skipping it");
    p.choice("--device", &c.device, {"auto", "cpu", "cuda"}, "where to train");
    p.option("--kernels", &c.kernels,
             "GPU implementations: custom | cudnn for every family, or per family, e.g. "
             "depthwise=cudnn,batchnorm=custom,stem=custom");
    p.flag("--tf32", &c.tf32,
           "allow TF32 tensor cores in cuBLAS GEMMs and cuDNN convolutions (default: exact FP32)");
    p.option("--init", &c.init, "start from these weights (.safetensors, timm names)");
    p.option("--resume", &c.resume, "continue from a checkpoint (last.safetensors)");
    p.option("--out", &c.out, "output folder");
    p.flag("--overwrite", &c.overwrite,
           "replace another run's outputs in --out (refused otherwise)");
    p.option("--max-steps", &c.max_steps, "stop after this many steps (profiling runs)");
    p.choice("--preset", &preset, {"reference", "scratch"},
             "recipe defaults: the seed's (reference) or from-scratch training (scratch: lr 1e-3 "
             "and the settings "
             "docs/results.md chose)");
    p.option("--ema", &c.ema_decay,
             "keep an exponential moving average of the weights with this decay (0: none); "
             "it is validated, selected and saved as the model");
    p.choice("--schedule", &schedule, {"plateau", "cosine"}, "learning-rate schedule");
    p.option("--warmup-epochs", &c.warmup_epochs,
             "linear warm-up before the cosine schedule, in epochs");
    p.option("--mixup", &c.mixup_alpha,
             "mixup: each training image blended with a partner, lambda ~ Beta(V, V) per step, "
             "the target mixed alike (0: off; at most 1)");
    p.option("--label-smoothing", &c.label_smoothing,
             "label smoothing of the training loss, in [0, 1)");
    p.option("--tta", &c.tta,
             "test-time views averaged in the final evaluation (1: the image only; small zooms and "
             "shifts, no flips)");
    p.choice("--calibrate", &calibrate, {"none", "temperature"},
             "fit a temperature on val after training and store it with the threshold in "
             "best.safetensors");
    p.list(
        "--operating-point", &operating_points,
        "a threshold rule chosen on val and reported on the evaluated split: sens=0.90, spec=0.90, "
        "threshold=0.3, youden; the first is the decision threshold stored with the weights");
    p.choice("--auroc-ci", &auroc_ci, {"delong", "bootstrap"},
             "how the AUROC 95% interval is computed");
    p.option("--bootstrap", &c.bootstrap,
             "bootstrap resamples for the AUROC interval (--auroc-ci bootstrap)");
    p.flag("--print-model", &print_model, "print the layer table and parameter count, then exit");
    c.adamw.lr = 1e-5;
    c.adamw.weight_decay = 1e-3;
    c.augment.enabled = true;
    if (!p.parse(argc, argv)) return false;
    if (!p.positional().empty())
        throw cli::UsageError("unexpected argument '" + p.positional()[0] + "'");

    c.schedule = schedule == "cosine" ? LrSchedule::COSINE : LrSchedule::PLATEAU;
    apply_preset(preset, c, [&](const std::string& flag) { return p.given(flag); });
    c.calibrate = calibrate == "temperature";
    c.auroc_interval = auroc_ci == "bootstrap" ? AurocInterval::BOOTSTRAP : AurocInterval::DELONG;
    for (const std::string& text : operating_points) {
        try {
            c.operating_points.push_back(parse_operating_point(text));
        } catch (const ContractError& e) {
            throw cli::UsageError(std::string("--operating-point: ") + e.what());
        }
    }

    c.model.variant = model[1] - '0';
    c.model.in_channels = channels;
    c.model.dropout = dropout;
    c.model.loss = loss == "bce" ? LossKind::BCE : LossKind::CROSS_ENTROPY;
    c.model.equalize = !no_equalize;
    c.augment.enabled = !no_augment;
    c.dataset.uncertain = uncertain == "zero"  ? UncertainPolicy::ZERO
                          : uncertain == "one" ? UncertainPolicy::ONE
                                               : UncertainPolicy::IGNORE;
    if (c.model.loss == LossKind::BCE && !p.given("--classes")) c.model.num_classes = 1;
    if (c.model.loss == LossKind::BCE && c.model.num_classes != 1)
        throw cli::UsageError("--loss bce needs --classes 1");
    if (c.model.loss == LossKind::CROSS_ENTROPY && c.model.num_classes < 2 && !print_model)
        throw cli::UsageError("--loss ce needs --classes >= 2");
    if (channels != 1 && channels != 3) throw cli::UsageError("--channels must be 1 or 3");
    if (!parse_triple(norm_mean, c.model.mean))
        throw cli::UsageError("--norm-mean: '" + norm_mean + "' is not r,g,b");
    if (!parse_triple(norm_std, c.model.std) || c.model.std[0] <= 0 || c.model.std[1] <= 0 ||
        c.model.std[2] <= 0)
        throw cli::UsageError("--norm-std: '" + norm_std + "' is not three positive numbers");
    if (c.max_image_side < 32) throw cli::UsageError("--max-image-side must be >= 32");
    if (c.model.image_size < 32 || c.model.image_size > 2048)
        throw cli::UsageError("--image-size must be in [32, 2048]");
    if (c.batch < 1 || c.epochs < 1 || c.workers < 0 || c.cache_mb < 0)
        throw cli::UsageError("--batch-size, --epochs must be >= 1, --workers and --cache-mb >= 0");
    if (c.adamw.lr <= 0) throw cli::UsageError("--lr must be positive");
    // Ranges that would otherwise fail late, or oddly, inside the run.
    auto within = [](double v, double lo, double hi) { return v >= lo && v <= hi; };
    if (!within(c.dataset.val_fraction, 0, 0.9) || !within(c.dataset.test_fraction, 0, 0.9) ||
        c.dataset.val_fraction + c.dataset.test_fraction > 0.9)
        throw cli::UsageError(
            "--val-fraction and --test-fraction must be in [0, 0.9] and leave a tenth for "
            "training");
    if (dropout >= 1 || !within(c.model.drop_path, 0, 0.9))
        throw cli::UsageError("--dropout must be in [0, 1) and --drop-path in [0, 0.9]");
    if (c.model.num_classes > 100000) throw cli::UsageError("--classes must be at most 100000");
    if (c.phantoms_train < 1 || c.phantoms_train > 10000000)
        throw cli::UsageError("--phantoms must be in [1, 10000000]");
    if (c.workers > 256 || threads < 0 || threads > 4096)
        throw cli::UsageError("--workers must be at most 256, --threads in [0, 4096]");
    if (c.model.clahe_tiles < 1 || c.model.clahe_tiles > 64 || !(c.model.clahe_clip > 0))
        throw cli::UsageError("--clahe-tiles must be in [1, 64] and --clahe-clip positive");
    if (c.bootstrap < 0 || c.bootstrap > 1000000)
        throw cli::UsageError("--bootstrap must be in [0, 1000000]");
    if (c.check_replicas < 0) throw cli::UsageError("--check-replicas must be >= 0");
    if (c.adamw.weight_decay < 0 || c.plateau.min_lr < 0 || c.early.min_delta < 0 ||
        c.augment.rotate_deg < 0)
        throw cli::UsageError(
            "--weight-decay, --min-lr, --min-delta and --rotate must not be negative");
    if (!(c.augment.scale_min > 0 && c.augment.scale_min <= c.augment.scale_max) ||
        !within(c.augment.scale_max, 0, 4) || !within(c.augment.brightness, 0, 1) ||
        !(c.augment.contrast >= 0 && c.augment.contrast < 1))
        throw cli::UsageError(
            "--crop-scale must be positive and at most --crop-scale-max, which is at most 4; "
            "--brightness in [0, 1] and --contrast in [0, 1)");
    if (!(c.plateau.factor > 0 && c.plateau.factor < 1) || c.plateau.patience < 0 ||
        c.plateau.cooldown < 0 || c.early.patience < 1)
        throw cli::UsageError(
            "--plateau-factor must be in (0, 1), --plateau-patience and --plateau-cooldown >= 0, "
            "--early-stopping-patience >= 1");
    if (!(c.ema_decay >= 0 && c.ema_decay < 1))
        throw cli::UsageError("--ema must be in [0, 1) (e.g. 0.998)");
    if (!(c.mixup_alpha >= 0 && c.mixup_alpha <= kMaxMixupAlpha))
        throw cli::UsageError("--mixup must be in [0, 1] (e.g. 0.2)");
    if (!(c.label_smoothing >= 0 && c.label_smoothing < 1))
        throw cli::UsageError("--label-smoothing must be in [0, 1)");
    if (c.tta < 1 || c.tta > kMaxTtaViews)
        throw cli::UsageError("--tta must be in [1, " + std::to_string(kMaxTtaViews) + "]");
    if (c.warmup_epochs < 0 || (c.schedule == LrSchedule::COSINE && c.warmup_epochs >= c.epochs))
        throw cli::UsageError("--warmup-epochs must be >= 0 and below --epochs");
    if (c.warmup_epochs > 0 && c.schedule != LrSchedule::COSINE)
        throw cli::UsageError("--warmup-epochs applies to --schedule cosine");
    if (c.calibrate && c.model.num_classes > 2)
        throw cli::UsageError(
            "--calibrate temperature needs a binary head (--classes 2, or 1 with --loss bce)");
    try {
        Context probe;
        apply_kernel_spec(probe, c.kernels);
    } catch (const ContractError& e) {
        throw cli::UsageError(e.what());
    }
    if (!print_model && c.data.empty()) {
        // Quick preset for the built-in phantoms: small images and a
        // from-scratch learning rate, each overridable by its flag.
        if (!p.given("--image-size")) c.model.image_size = 64;
        if (!p.given("--lr")) c.adamw.lr = 1e-3;
        if (!p.given("--epochs")) c.epochs = 12;
        c.phantoms_val = c.phantoms_test = std::max<int64_t>(1, c.phantoms_train / 4);
    }
    return true;
}

}  // namespace effnet
