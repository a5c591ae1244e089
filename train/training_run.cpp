#include "train/training_run.h"

#include <omp.h>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "dist/shard.h"
#include "io/weights.h"
#include "train/evaluate.h"
#include "train/memory_plan.h"

namespace effnet {

namespace {

namespace fs = std::filesystem;

Device choose_device(const std::string& request, bool tell) {
    Device d = resolve_device(request);
    if (!tell) return d == Device::CUDA && request == "auto" ? Device::CPU : d;
    if (d == Device::CUDA && request == "auto") {
        // Every op has a CUDA kernel, but until scripts/gpu_check.sh has passed
        // on a real GPU (docs/status.md) the GPU path is opt-in.
        std::cerr << "effnet: a GPU is present, but the CUDA backend is not yet validated on real "
                     "hardware; "
                     "training on the CPU (pass --device cuda to use the GPU)\n";
        d = Device::CPU;
    } else if (d == Device::CUDA) {
        std::cerr << "effnet: --device cuda: the CUDA backend is experimental until "
                     "scripts/gpu_check.sh passes "
                     "(see docs/status.md)\n";
    }
    return d;
}

void check_splits(const Dataset& ds) {
    for (Split s : {Split::TRAIN, Split::VAL})
        for (int label : {0, 1})
            if (ds.count(s, label) == 0)
                throw IoError(ds.source + ": the " + std::string(split_name(s)) +
                              " split has no images of class " + std::to_string(label) +
                              "; training needs both classes in train and val");
}

// Fails before anything large is allocated when the run cannot fit in
// memory (train/memory_plan.h); otherwise logs the estimate.
void check_memory(const TrainConfig& cfg, int64_t batch, const Dataset& ds, Device device,
                  RunLog& log) {
    LoaderPlan lp;
    lp.prefetch = LoaderConfig{}.prefetch;
    lp.cache_mb = cfg.cache_mb;
    lp.train_images = ds.count(Split::TRAIN);
    lp.val_images = ds.count(Split::VAL);
    lp.test_images = ds.count(Split::TEST);
    MemoryEstimate e = estimate_training_memory(cfg.model, batch, lp, device);
    // The weight average (--ema) and the copy its swap with the model makes:
    // two more copies of the parameters beside the four of model_state.
    if (cfg.ema_decay > 0) e.model_state += e.model_state / 2;
    const MemoryLimit host = host_memory_limit(),
                      gpu = device == Device::CUDA ? gpu_memory_limit() : MemoryLimit{};
    check_training_fits(e, device, batch, host, gpu);
    const MemoryLimit& limit = device == Device::CUDA ? gpu : host;
    log.line("memory: about " + human_bytes(double(e.on_device(device))) +
             (device == Device::CUDA
                  ? " on the GPU and " + human_bytes(double(e.on_host(device))) + " on the host"
                  : "") +
             (limit.bytes ? ", of " + human_bytes(double(limit.bytes)) + " available" : ""));
}

// The dataset, checked for both classes and for memory (of one process,
// training `batch` images a step), its splits logged.
Dataset load_checked_dataset(const TrainConfig& cfg, int64_t batch, Device device, RunLog& log) {
    Dataset ds = cfg.data.empty() ? phantom_dataset(cfg.phantom_seed, cfg.phantoms_train,
                                                    cfg.phantoms_val, cfg.phantoms_test)
                                  : load_dataset(cfg.data, cfg.dataset);
    check_splits(ds);
    check_memory(cfg, batch, ds, device, log);
    std::ostringstream os;
    os << "data: " << ds.source;
    for (Split s : {Split::TRAIN, Split::VAL, Split::TEST})
        os << "\n  " << split_name(s) << ": " << ds.count(s) << " images (" << ds.count(s, 0)
           << " class 0, " << ds.count(s, 1) << " class 1)";
    log.line(os.str());
    return ds;
}

PipelineConfig evaluation_pipeline(const TrainConfig& cfg, const Dataset& ds) {
    PipelineConfig p = cfg.model.pipeline();
    p.phantom_seed = ds.phantom_seed;
    p.limits.max_side = cfg.max_image_side;
    return p;
}

PipelineConfig training_pipeline(const TrainConfig& cfg, const PipelineConfig& eval) {
    PipelineConfig p = eval;
    p.augment = cfg.augment;
    return p;
}

LoaderConfig evaluation_loader_config(const TrainConfig& cfg, Device device,
                                      const dist::Communicator& comm) {
    LoaderConfig lc;
    lc.shard_rank = comm.rank();
    lc.shard_count = comm.size();
    lc.batch_size = cfg.batch;
    lc.workers = cfg.workers;
    lc.strict = cfg.strict;
    lc.pinned = device == Device::CUDA;
    lc.seed = cfg.seed;
    lc.cache_mb = cfg.cache_mb;
    return lc;
}

LoaderConfig for_training(LoaderConfig lc, const TrainConfig& cfg) {
    lc.shuffle = true;
    lc.training_shards = true;
    lc.mixup_alpha = cfg.mixup_alpha;
    return lc;
}

// --init: every tensor must fit except the classifier, which is
// re-initialised when the class count differs (fine-tuning).
void load_initial_weights(const TrainConfig& cfg, Model& model, RunLog& log) {
    SafetensorsFile f = read_safetensors(cfg.init);
    LoadReport r = load_weights(f, *model.net, WeightsMatch::PARTIAL, cfg.init, {"optimizer."});
    bool classifier_only = true;
    for (auto& m : r.mismatched) classifier_only &= m.rfind("classifier.", 0) == 0;
    if (!r.missing.empty() || !r.unexpected.empty() || !classifier_only)
        throw IoError(cfg.init + ": weights do not fit this model: " + r.summary());
    log.line("init: " + cfg.init + ": " + std::to_string(r.loaded.size()) + " tensors loaded" +
             (r.mismatched.empty() ? ""
                                   : "; classifier re-initialised (its shape differs: " +
                                         std::to_string(cfg.model.num_classes) + " classes here)"));
}

// The output folder made ready (another run's outputs refused without
// --overwrite) and train.log opened in it, starting with what was found there.
// Rank 0's only: the other ranks of a data-parallel run log nothing.
RunLog open_run_log(const TrainConfig& cfg, const dist::Communicator& comm) {
    if (!comm.is_root()) return RunLog();
    const std::vector<std::string> notes =
        prepare_output_folder(cfg.out, cfg.resume, cfg.overwrite);
    RunLog log((fs::path(cfg.out) / "train.log").string());
    for (const std::string& n : notes) log.line(n);
    return log;
}

// The distribution line of the log: how the ranks share the work.
std::string distribution_line(const TrainConfig& cfg, const dist::Communicator& comm,
                              int64_t per_rank, Device device) {
    return "data parallel: " + comm.describe() + "; global batch " + std::to_string(cfg.batch) +
           " = " + std::to_string(comm.size()) + " x " + std::to_string(per_rank) +
           "; batch-norm statistics " +
           (cfg.sync_bn ? "over the global batch (--sync-bn)" : "per rank") +
           (device == Device::CPU
                ? "; compute threads per rank: " + std::to_string(omp_get_max_threads())
                : "") +
           (cfg.check_replicas > 0
                ? "; replicas compared every " + std::to_string(cfg.check_replicas) + " steps"
                : "");
}

// One log line with the recipe: preset, optimiser, schedule, regularisation.
std::string recipe_line(const TrainConfig& cfg) {
    std::string s = "recipe: preset " + cfg.preset + ", AdamW lr " + fmt("%g", cfg.adamw.lr) +
                    " weight decay " + fmt("%g", cfg.adamw.weight_decay) + ", ";
    s += cfg.schedule == LrSchedule::COSINE
             ? "cosine schedule" +
                   (cfg.warmup_epochs > 0
                        ? " after " + fmt("%g", cfg.warmup_epochs) + " warm-up epochs"
                        : std::string())
             : "plateau schedule (patience " + std::to_string(cfg.plateau.patience) + ")";
    s += ", early stopping patience " + std::to_string(cfg.early.patience) + ", at most " +
         std::to_string(cfg.epochs) + " epochs";
    if (cfg.augment.enabled)
        s += ", augmentation (crop area " + fmt("%g", cfg.augment.scale_min) + "-" +
             fmt("%g", cfg.augment.scale_max) + ", rotation +-" +
             fmt("%g", cfg.augment.rotate_deg) + " deg, brightness +-" +
             fmt("%g", cfg.augment.brightness) + ", contrast +-" + fmt("%g", cfg.augment.contrast) +
             (cfg.augment.hflip ? ", flips" : "") + ")";
    else
        s += ", no augmentation";
    s += ", dropout " + fmt("%g", double(cfg.model.network().dropout)) + ", drop path " +
         fmt("%g", cfg.model.drop_path);
    if (cfg.ema_decay > 0) s += ", weight average (EMA) decay " + fmt("%g", cfg.ema_decay);
    if (cfg.label_smoothing > 0) s += ", label smoothing " + fmt("%g", cfg.label_smoothing);
    if (cfg.mixup_alpha > 0) s += ", mixup Beta(" + fmt("%g", cfg.mixup_alpha) + ")";
    if (cfg.tta > 1) s += ", " + std::to_string(cfg.tta) + " test-time views";
    if (cfg.calibrate) s += ", temperature calibration";
    return s;
}

// The steps of a run that trains every epoch: the cosine schedule's length.
int64_t steps_at_most(const TrainConfig& cfg, const Loader& train) {
    return train.batches_per_epoch() * cfg.epochs;
}

// Where the weight average's warm-up ends against the run's steps: a decay
// whose warm-up outlasts the run acts as every larger one (train/ema.h).
std::string ema_warmup_line(const TrainConfig& cfg, int64_t steps) {
    const int64_t warm = WeightEma::warmup_steps(cfg.ema_decay);
    const std::string decay = fmt("%g", cfg.ema_decay);
    return "weight average: decay min(" + decay + ", (1 + t) / (10 + t)) after step t, " + decay +
           " itself from step " + std::to_string(warm) +
           (warm < steps ? " of " + std::to_string(steps) + " at most"
                         : ", past this run's " + std::to_string(steps) +
                               " steps at most: any larger --ema gives the same run");
}

}  // namespace

double cosine_schedule_lr(const TrainingRun& run, int64_t step) {
    const int64_t per_epoch = run.train_loader.batches_per_epoch();
    CosineConfig c;
    c.base_lr = run.cfg.adamw.lr;
    c.min_lr = run.cfg.plateau.min_lr;
    c.total_steps = steps_at_most(run.cfg, run.train_loader);
    c.warmup_steps = int64_t(std::llround(run.cfg.warmup_epochs * double(per_epoch)));
    return cosine_lr(c, step);
}

TrainingRun::TrainingRun(const TrainConfig& config, dist::Communicator& communicator)
    : cfg(config),
      comm(communicator),
      batch_per_rank(dist::local_batch(cfg.batch, comm.size())),
      log(open_run_log(cfg, comm)),
      device(choose_device(cfg.device, comm.is_root())),
      ctx(device),
      ds(load_checked_dataset(cfg, batch_per_rank, device, log)),
      eval_pipeline(evaluation_pipeline(cfg, ds)),
      eval_loader_config(evaluation_loader_config(cfg, device, comm)),
      train_loader(ds.split(Split::TRAIN), training_pipeline(cfg, eval_pipeline),
                   for_training(eval_loader_config, cfg), &bad_files),
      val_loader(ds.split(Split::VAL), eval_pipeline, eval_loader_config, &bad_files),
      model(cfg.model, device, cfg.seed),
      head(cfg.model.loss, batch_per_rank, cfg.model.num_classes, device,
           float(cfg.label_smoothing), cfg.mixup_alpha > 0),
      eval_head(cfg.model.loss, batch_per_rank, cfg.model.num_classes, device),
      opt(*model.store, cfg.adamw),
      plateau(cfg.plateau),
      early(cfg.early),
      last_path((fs::path(cfg.out) / "last.safetensors").string()),
      best_path((fs::path(cfg.out) / "best.safetensors").string()) {
    ctx.set_allow_tf32(cfg.tf32);
    apply_kernel_spec(ctx, cfg.kernels);
    if (!cfg.init.empty()) {
        load_initial_weights(cfg, model, log);
    } else if (cfg.from_scratch_warning && cfg.adamw.lr <= 1e-4) {
        log.line("warning: training from scratch with lr " + fmt("%g", cfg.adamw.lr) +
                 ", a fine-tuning learning rate; pass --init weights or a larger --lr (e.g. 1e-3)");
    }
    model.plan(batch_per_rank, device);
    if (cfg.ema_decay > 0) ema = std::make_unique<WeightEma>(model, cfg.ema_decay);
    if (!cfg.resume.empty()) {
        // Every rank reads the checkpoint (the schedules and the position in
        // the epoch, the weight average); the tensors are then rank 0's,
        // broadcast below.
        load_checkpoint(cfg.resume, model, opt, plateau, early, prog, cfg.seed, cfg.batch,
                        ema.get());
        // history.csv may lag the checkpoint (a kill between the two writes): make them agree now.
        if (comm.is_root())
            write_file_atomic((fs::path(cfg.out) / "history.csv").string(),
                              history_csv(prog.history));
        log.line("resumed " + cfg.resume + " at epoch " + std::to_string(prog.epoch + 1) +
                 ", step " + std::to_string(prog.step_in_epoch) + " (lr " + fmt("%g", opt.lr()) +
                 ")");
    }
    log.line("model: EfficientNet-B" + std::to_string(cfg.model.variant) + ", " +
             std::to_string(model.net->num_params()) + " parameters, input " +
             std::to_string(cfg.model.image_size) + "x" + std::to_string(cfg.model.image_size) +
             "x" + std::to_string(cfg.model.in_channels) + ", batch " + std::to_string(cfg.batch) +
             ", device " + device_name(device) +
             (device == Device::CUDA ? " (kernels " + kernel_spec(ctx) + ")" : "") + ", " +
             std::to_string(cfg.workers) + " loader workers");
    log.line(recipe_line(cfg));
    if (ema) log.line(ema_warmup_line(cfg, steps_at_most(cfg, train_loader)));
    if (comm.size() > 1) {
        if (cfg.sync_bn && device == Device::CUDA)
            throw ContractError(
                "--sync-bn averages batch-norm statistics on CPU ranks only (docs/distributed.md); "
                "on GPUs train without it (per-rank statistics)");
        // Identical replicas from the start, whatever each rank read or drew.
        broadcast_model_state(comm, model, opt, ctx);
        // A fresh average starts from the broadcast weights; a resumed one is the checkpoint's on every rank.
        if (ema && cfg.resume.empty()) ema->reset_from_model();
        if (cfg.sync_bn) sync_bn = std::make_unique<CommunicatorSums>(comm);
        log.line(distribution_line(cfg, comm, batch_per_rank, device));
    }
}

RunState TrainingRun::train_state(const Batch& b) const {
    RunState s{Mode::TRAIN, cfg.seed, uint64_t(prog.global_step)};
    s.sample_offset = b.offset;
    s.sync_bn = sync_bn.get();
    return s;
}

void TrainingRun::save_checkpoint_or_stop(const std::string& path) {
    if (!comm.is_root()) return;
    // A checkpoint that cannot be written (disk full, quota, I/O error) stops
    // the run: training on would only produce more work that cannot be saved.
    try {
        save_checkpoint(path, model, opt, plateau, early, prog, cfg.seed, cfg.batch, ema.get());
    } catch (const IoError& e) {
        throw IoError(
            std::string(e.what()) + "\n  training stopped at epoch " + std::to_string(prog.epoch) +
            "; " +
            (fs::exists(last_path)
                 ? "once the problem is fixed, continue from the last complete checkpoint "
                   "with --resume " +
                       last_path
                 : std::string("no checkpoint was written yet")));
    }
}

}  // namespace effnet
