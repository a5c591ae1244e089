#include "apps/trainer.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "apps/checkpoint.h"
#include "apps/evaluate.h"
#include "apps/loss_head.h"
#include "apps/memory_plan.h"
#include "io/fault_point.h"
#include "io/metrics.h"
#include "io/plot.h"
#include "io/weights.h"
#include "tensor/caching_allocator.h"
#include "tensor/gpu_runtime.h"
#include "tensor/nvtx.h"

namespace effnet {

std::atomic<bool> g_stop_requested{false};

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

extern "C" void on_stop_signal(int sig) {
    if (g_stop_requested.exchange(true)) std::_Exit(128 + sig);  // a second signal: leave at once
}

std::string duration(double s) {
    char b[32];
    if (s >= 3600) std::snprintf(b, sizeof b, "%dh%02dm", int(s / 3600), int(std::fmod(s, 3600) / 60));
    else if (s >= 60) std::snprintf(b, sizeof b, "%dm%02ds", int(s / 60), int(std::fmod(s, 60)));
    else std::snprintf(b, sizeof b, "%.0fs", s);
    return b;
}

// Prints to stdout and appends to train.log.
class Log {
public:
    explicit Log(const std::string& path) : file_(path, std::ios::app) {}
    void line(const std::string& s) {
        if (progress_open_) std::cout << "\n";
        progress_open_ = false;
        std::cout << s << std::endl;
        file_ << s << std::endl;
    }
    // A progress line: redrawn in place on a terminal, printed now and then otherwise.
    void progress(const std::string& s, bool force) {
        if (tty_) {
            std::cout << "\r" << s << "\033[K" << std::flush;
            progress_open_ = true;
        } else if (force) {
            std::cout << s << std::endl;
        }
    }

private:
    std::ofstream file_;
    bool tty_ = isatty(STDOUT_FILENO);
    bool progress_open_ = false;
};

// A checkpoint that cannot be written (disk full, quota, I/O error) stops
// the run: the atomic write left the previous file as it was, and training
// on would only produce more work that cannot be saved.
void save_checkpoint_or_stop(const std::string& path, Model& m, AdamW& opt, const ReduceLROnPlateau& plateau,
                             const EarlyStopping& early, const RunProgress& p, const TrainConfig& cfg,
                             const std::string& last_path) {
    try {
        save_checkpoint(path, m, opt, plateau, early, p, cfg.seed, cfg.batch);
    } catch (const IoError& e) {
        throw IoError(std::string(e.what()) + "\n  training stopped at epoch " + std::to_string(p.epoch) + "; " +
                      (fs::exists(last_path) ? "once the problem is fixed, continue from the last complete checkpoint "
                                               "with --resume " + last_path
                                             : std::string("no checkpoint was written yet")));
    }
}

// Fails before anything large is allocated when the run cannot fit in
// memory (apps/memory_plan.h); otherwise logs the estimate.
void check_memory(const TrainConfig& cfg, const Dataset& ds, Device device, Log& log) {
    LoaderPlan lp;
    lp.prefetch = LoaderConfig{}.prefetch;
    lp.cache_mb = cfg.cache_mb;
    lp.train_images = ds.count(Split::TRAIN);
    lp.val_images = ds.count(Split::VAL);
    lp.test_images = ds.count(Split::TEST);
    const MemoryEstimate e = estimate_training_memory(cfg.model, cfg.batch, lp, device);
    const MemoryLimit host = host_memory_limit(), gpu = device == Device::CUDA ? gpu_memory_limit() : MemoryLimit{};
    check_training_fits(e, device, cfg.batch, host, gpu);
    const MemoryLimit& limit = device == Device::CUDA ? gpu : host;
    log.line("memory: about " + human_bytes(double(e.on_device(device))) +
             (device == Device::CUDA ? " on the GPU and " + human_bytes(double(e.on_host(device))) + " on the host" : "") +
             (limit.bytes ? ", of " + human_bytes(double(limit.bytes)) + " available" : ""));
}

void check_splits(const Dataset& ds) {
    for (Split s : {Split::TRAIN, Split::VAL})
        for (int label : {0, 1})
            if (ds.count(s, label) == 0)
                throw IoError(ds.source + ": the " + std::string(split_name(s)) + " split has no images of class " +
                              std::to_string(label) + "; training needs both classes in train and val");
}

Device choose_device(const std::string& request) {
    Device d = resolve_device(request);
    if (d == Device::CUDA && request == "auto") {
        // Every op has a CUDA kernel, but until scripts/gpu_check.sh has passed
        // on a real GPU (docs/status.md) the GPU path is opt-in.
        std::cerr << "effnet: a GPU is present, but the CUDA backend is not yet validated on real hardware; "
                     "training on the CPU (pass --device cuda to use the GPU)\n";
        d = Device::CPU;
    } else if (d == Device::CUDA) {
        std::cerr << "effnet: --device cuda: the CUDA backend is experimental until scripts/gpu_check.sh passes "
                     "(see docs/status.md)\n";
    }
    return d;
}

}  // namespace

void install_stop_handlers() {
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    // Past a file-size limit (ulimit -f) a write then fails with EFBIG, which
    // the checkpoint writer reports, instead of the signal killing the run.
    std::signal(SIGXFSZ, SIG_IGN);
}

int64_t suggest_batch_size(int64_t batch, size_t in_use, size_t requested, size_t total) {
    const double need = double(in_use) + double(requested);
    const double scaled = need > 0 ? std::floor(double(batch) * 0.9 * double(total) / need) : double(batch / 2);
    return std::max<int64_t>(1, std::min<int64_t>(batch - 1, int64_t(scaled)));
}

namespace {
int train_impl(const TrainConfig& cfg);
}  // namespace

int train(const TrainConfig& cfg) {
    try {
        return train_impl(cfg);
    } catch (const OutOfMemoryError& e) {
        if (e.total_bytes == 0 || cfg.batch <= 1) throw;
        // The peak includes everything that was allocated when the request failed.
        const size_t in_use = device_allocator().stats().peak_bytes_in_use;
        const int64_t b = suggest_batch_size(cfg.batch, in_use, e.requested_bytes, e.total_bytes);
        throw OutOfMemoryError(std::string(e.what()) + "\n  batch " + std::to_string(cfg.batch) + " needs more than the " +
                                   std::to_string(e.total_bytes >> 20) + " MiB device; try --batch-size " + std::to_string(b),
                               e.requested_bytes, e.free_bytes, e.total_bytes);
    }
}

namespace {
int train_impl(const TrainConfig& cfg) {
    const std::vector<std::string> folder_notes = prepare_output_folder(cfg.out, cfg.resume, cfg.overwrite);
    Log log((fs::path(cfg.out) / "train.log").string());
    for (const std::string& n : folder_notes) log.line(n);
    const Device device = choose_device(cfg.device);
    Context ctx(device);
    ctx.set_allow_tf32(cfg.tf32);
    apply_kernel_spec(ctx, cfg.kernels);

    // ---- data ----------------------------------------------------------------
    Dataset ds = cfg.data.empty() ? phantom_dataset(cfg.phantom_seed, cfg.phantoms_train, cfg.phantoms_val, cfg.phantoms_test)
                                  : load_dataset(cfg.data, cfg.dataset);
    check_splits(ds);
    check_memory(cfg, ds, device, log);
    {
        std::ostringstream os;
        os << "data: " << ds.source << "\n";
        for (Split s : {Split::TRAIN, Split::VAL, Split::TEST})
            os << "  " << split_name(s) << ": " << ds.count(s) << " images (" << ds.count(s, 0) << " class 0, "
               << ds.count(s, 1) << " class 1)\n";
        log.line(os.str().substr(0, os.str().size() - 1));
    }
    PipelineConfig eval_pipe = cfg.model.pipeline();
    eval_pipe.phantom_seed = ds.phantom_seed;
    eval_pipe.limits.max_side = cfg.max_image_side;
    PipelineConfig train_pipe = eval_pipe;
    train_pipe.augment = cfg.augment;
    LoaderConfig lc;
    lc.batch_size = cfg.batch;
    lc.workers = cfg.workers;
    lc.strict = cfg.strict;
    lc.pinned = device == Device::CUDA;
    lc.seed = cfg.seed;
    lc.cache_mb = cfg.cache_mb;
    BadFileLog bad_files;
    LoaderConfig train_lc = lc;
    train_lc.shuffle = true;
    Loader train_loader(ds.split(Split::TRAIN), train_pipe, train_lc, &bad_files);
    Loader val_loader(ds.split(Split::VAL), eval_pipe, lc, &bad_files);

    // ---- model and optimisation ------------------------------------------------
    Model model(cfg.model, device, cfg.seed);
    if (!cfg.init.empty()) {
        SafetensorsFile f = read_safetensors(cfg.init);
        LoadReport r = load_weights(f, *model.net, false, cfg.init, {"optimizer."});
        bool classifier_only = true;
        for (auto& m : r.mismatched) classifier_only &= m.rfind("classifier.", 0) == 0;
        if (!r.missing.empty() || !r.unexpected.empty() || !classifier_only)
            throw IoError(cfg.init + ": weights do not fit this model: " + r.summary());
        log.line("init: " + cfg.init + ": " + std::to_string(r.loaded.size()) + " tensors loaded" +
                 (r.mismatched.empty() ? "" : "; classifier re-initialised (its shape differs: " +
                                                  std::to_string(cfg.model.num_classes) + " classes here)"));
    } else if (cfg.from_scratch_warning && cfg.adamw.lr <= 1e-4) {
        log.line("warning: training from scratch with lr " + fmt("%g", cfg.adamw.lr) +
                 ", a fine-tuning learning rate; pass --init weights or a larger --lr (e.g. 1e-3)");
    }
    model.plan(cfg.batch, device);
    LossHead head(cfg.model.loss, cfg.batch, cfg.model.num_classes, device);
    AdamW opt(*model.store, cfg.adamw);
    ReduceLROnPlateau plateau(cfg.plateau);
    EarlyStopping early(cfg.early);
    RunProgress prog;
    if (!cfg.resume.empty()) {
        load_checkpoint(cfg.resume, model, opt, plateau, early, prog, cfg.seed, cfg.batch);
        // history.csv may lag the checkpoint (a kill between the two writes): make them agree now.
        write_file_atomic((fs::path(cfg.out) / "history.csv").string(), history_csv(prog.history));
        log.line("resumed " + cfg.resume + " at epoch " + std::to_string(prog.epoch + 1) + ", step " +
                 std::to_string(prog.step_in_epoch) + " (lr " + fmt("%g", opt.lr()) + ")");
    }
    log.line("model: EfficientNet-B" + std::to_string(cfg.model.variant) + ", " + std::to_string(model.net->num_params()) +
             " parameters, input " + std::to_string(cfg.model.image_size) + "x" + std::to_string(cfg.model.image_size) +
             "x" + std::to_string(cfg.model.in_channels) + ", batch " + std::to_string(cfg.batch) + ", device " +
             device_name(device) + (device == Device::CUDA ? " (kernels " + kernel_spec(ctx) + ")" : "") + ", " +
             std::to_string(cfg.workers) + " loader workers");

    const std::string last_path = (fs::path(cfg.out) / "last.safetensors").string();
    const std::string best_path = (fs::path(cfg.out) / "best.safetensors").string();
    const int64_t steps_per_epoch = train_loader.batches_per_epoch();
    bool stop = false, interrupted = false;

    for (int epoch = prog.epoch; epoch < cfg.epochs && !stop; ++epoch) {
        EFFNET_NVTX_RANGE("epoch " + std::to_string(epoch + 1));
        const auto t0 = Clock::now();
        const double seconds_before = prog.epoch_seconds;
        train_loader.start_epoch(epoch, prog.step_in_epoch);
        Batch b;
        auto last_print = Clock::now();
        for (;;) {
            {
                EFFNET_NVTX_RANGE("data wait");
                if (!train_loader.next(b)) break;
            }
            EFFNET_NVTX_RANGE("step " + std::to_string(prog.global_step));
            const DeviceBatch db = to_device(b, device);
            const Tensor &x = db.images, &y = db.labels;
            Tensor logits = model.net->forward(x, RunState{Mode::TRAIN, cfg.seed, uint64_t(prog.global_step)}, ctx);
            // The whole step is enqueued before the host reads the loss: on the
            // GPU the only synchronisation then comes after the optimizer, not
            // between forward and backward. A non-finite loss stops the run (the
            // in-memory weights took the step; last.safetensors did not).
            head.forward_on_device(logits, y, ctx);
            const Tensor& dlogits = head.backward(ctx);
            model.store->zero_grads();
            model.net->backward(dlogits, ctx);
            fault_point("train.step");
            opt.step(ctx);
            const float loss = head.loss().to_vector()[0];
            if (!std::isfinite(loss))
                throw NumericError("loss is " + std::string(std::isnan(loss) ? "NaN" : "infinite") + " at epoch " +
                                   std::to_string(epoch + 1) + ", step " + std::to_string(prog.step_in_epoch + 1) +
                                   " (lr " + fmt("%g", opt.lr()) + "); " +
                                   (fs::exists(last_path) ? "the last good state is in " + last_path
                                                          : std::string("no checkpoint was written yet")) +
                                   "; try a smaller --lr");
            prog.loss_sum += double(loss) * double(b.size());
            prog.correct += head.correct();
            prog.seen += b.size();
            ++prog.step_in_epoch;
            ++prog.global_step;

            const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
            const double rate = double(prog.seen) / std::max(1e-9, elapsed + seconds_before);
            const int64_t left = steps_per_epoch - prog.step_in_epoch;
            const bool periodic = std::chrono::duration<double>(Clock::now() - last_print).count() > 30 ||
                                  prog.step_in_epoch == steps_per_epoch;
            if (periodic) last_print = Clock::now();
            log.progress("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(cfg.epochs) + "  step " +
                             std::to_string(prog.step_in_epoch) + "/" + std::to_string(steps_per_epoch) + "  loss " +
                             fmt("%.4f", prog.loss_sum / double(prog.seen)) + "  " + fmt("%.1f", rate) + " img/s  ETA " +
                             duration(double(left * cfg.batch) / std::max(rate, 1e-9)),
                         periodic);
            if (g_stop_requested || (cfg.max_steps > 0 && prog.global_step >= cfg.max_steps)) {
                interrupted = g_stop_requested;
                stop = true;
                break;
            }
        }
        if (stop) {
            prog.epoch = epoch;
            prog.epoch_seconds = seconds_before + std::chrono::duration<double>(Clock::now() - t0).count();
            save_checkpoint_or_stop(last_path, model, opt, plateau, early, prog, cfg, last_path);
            log.line(std::string(interrupted ? "interrupted" : "stopped after --max-steps") + " at epoch " +
                     std::to_string(epoch + 1) + ", step " + std::to_string(prog.step_in_epoch) + "; state saved to " +
                     last_path + (interrupted ? " (continue with --resume " + last_path + ")" : ""));
            break;
        }

        // ---- end of epoch: validate, schedule, checkpoint ----------------------
        EvalResult val = evaluate(model, val_loader, head, ctx);
        EpochRecord rec;
        rec.epoch = epoch + 1;
        rec.train_loss = prog.loss_sum / double(std::max<int64_t>(1, prog.seen));
        rec.train_acc = double(prog.correct) / double(std::max<int64_t>(1, prog.seen));
        rec.val_loss = val.loss;
        rec.val_acc = val.accuracy;
        rec.val_auroc = auroc(val.prob, val.label);
        rec.lr = opt.lr();
        rec.seconds = seconds_before + std::chrono::duration<double>(Clock::now() - t0).count();
        prog.history.push_back(rec);
        const bool should_stop = early.step(val.loss, epoch + 1);
        const double next_lr = plateau.step(val.loss, opt.lr());
        opt.set_lr(next_lr);
        prog.epoch = epoch + 1;
        prog.step_in_epoch = 0;
        prog.loss_sum = 0;
        prog.correct = prog.seen = 0;
        prog.epoch_seconds = 0;
        if (early.improved_last_step()) save_checkpoint_or_stop(best_path, model, opt, plateau, early, prog, cfg, last_path);
        save_checkpoint_or_stop(last_path, model, opt, plateau, early, prog, cfg, last_path);
        write_file_atomic((fs::path(cfg.out) / "history.csv").string(), history_csv(prog.history));
        draw_curves(prog.history, early.best_epoch(), (fs::path(cfg.out) / "curves.png").string());
        log.line("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(cfg.epochs) + "  train loss " +
                 fmt("%.4f", rec.train_loss) + " acc " + fmt("%.4f", rec.train_acc) + "  val loss " +
                 fmt("%.4f", rec.val_loss) + " acc " + fmt("%.4f", rec.val_acc) + " AUROC " + fmt("%.4f", rec.val_auroc) +
                 "  lr " + fmt("%.1e", rec.lr) + "  " + duration(rec.seconds) + (early.improved_last_step() ? "  *best" : "") +
                 (plateau.reduced_last_step() ? "  (lr -> " + fmt("%.1e", next_lr) + ")" : ""));
        if (bad_files.count())
            log.line("  skipped files so far: " + std::to_string(bad_files.count()) + " (first: " +
                     bad_files.entries()[0].first + ": " + bad_files.entries()[0].second + ")");
        if (should_stop) {
            log.line("early stopping: no improvement in validation loss for " + std::to_string(cfg.early.patience) +
                     " epochs (best epoch " + std::to_string(early.best_epoch()) + ")");
            stop = true;
        }
    }
    if (interrupted || (cfg.max_steps > 0 && prog.global_step >= cfg.max_steps && prog.step_in_epoch > 0))
        return interrupted ? 130 : 0;

    // ---- final report with the best weights ------------------------------------
    if (fs::exists(best_path)) {
        load_weights(read_safetensors(best_path), *model.net, true, best_path, {"optimizer."});
        log.line("restored the best weights (epoch " + std::to_string(early.best_epoch()) + ") from " + best_path);
    }
    EvalResult val = evaluate(model, val_loader, head, ctx);
    const double threshold = youden_threshold(val.prob, val.label);
    const bool has_test = ds.count(Split::TEST) > 0;
    EvalResult final_eval = val;
    if (has_test) {
        Loader test_loader(ds.split(Split::TEST), eval_pipe, lc, &bad_files);
        final_eval = evaluate(model, test_loader, head, ctx);
    }
    const std::string split = has_test ? "test" : "val";
    const EvaluationReport rep = evaluation_report(
        "effnet report: EfficientNet-B" + std::to_string(cfg.model.variant) + " on " + ds.source + ", " + split + " split (" +
            std::to_string(final_eval.prob.size()) + " images), best epoch " + std::to_string(early.best_epoch()),
        final_eval, threshold, "chosen on val (Youden's J)", cfg.bootstrap, cfg.seed + 17, bad_files);
    const BinaryReport& at_half = rep.at_half;
    const BinaryReport& at_thr = rep.at_threshold;
    write_file_atomic((fs::path(cfg.out) / "report.txt").string(), rep.text);
    write_file_atomic((fs::path(cfg.out) / "metrics.json").string(),
                      "{\"split\": \"" + split + "\", \"argmax\": " + report_json(at_half) +
                          ", \"at_val_threshold\": " + report_json(at_thr) + ", \"best_epoch\": " +
                          std::to_string(early.best_epoch()) + ", \"loss\": " + fmt("%.6g", final_eval.loss) + "}\n");
    log.line("\n" + rep.text);
    log.line("outputs in " + cfg.out + ": best.safetensors last.safetensors history.csv curves.png report.txt metrics.json");
    return 0;
}
}  // namespace

}  // namespace effnet
