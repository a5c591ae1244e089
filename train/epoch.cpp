// The training steps of one epoch and what follows it: validation, the
// plateau and early-stopping decisions, checkpoints, history and curves.
//
// On N ranks each step trains on this rank's share and all-reduces the
// gradients in the step's hook; the counts before it and the losses after it
// are exchanged so that every rank keeps the global batch's totals and stops
// at the same step. Validation is sharded and gathered; rank 0 computes the
// metrics and the schedules' decisions and broadcasts them.
//
// With --ema the weight average is updated after every step (train/ema.h)
// and validated beside the trained weights at the end of the epoch; the
// average's validation loss drives the plateau, early stopping and the best
// checkpoint, as timm's training script does with its EMA model.
#include <chrono>
#include <cmath>
#include <filesystem>

#include "io/fault_point.h"
#include "io/metrics.h"
#include "io/plot.h"
#include "dist/replicas.h"
#include "io/safetensors.h"
#include "tensor/nvtx.h"
#include "train/evaluate.h"
#include "train/step.h"
#include "train/training_run.h"

namespace effnet {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

// A non-finite loss (on rank `rank` of a data-parallel run) stops the run (the
// in-memory weights took the step; last.safetensors did not).
void check_loss(double loss, const TrainingRun& run, int epoch, int rank) {
    if (std::isfinite(loss)) return;
    throw NumericError("loss is " + std::string(std::isnan(loss) ? "NaN" : "infinite") +
                       (run.comm.size() > 1 ? " on rank " + std::to_string(rank) : std::string()) +
                       " at epoch " + std::to_string(epoch + 1) + ", step " +
                       std::to_string(run.prog.step_in_epoch + 1) + " (lr " +
                       fmt("%g", run.opt.lr()) + "); " +
                       (fs::exists(run.last_path) ? "the last good state is in " + run.last_path
                                                  : std::string("no checkpoint was written yet")) +
                       "; try a smaller --lr");
}

}  // namespace

EpochEnd run_epoch(TrainingRun& run, int epoch) {
    const TrainConfig& cfg = run.cfg;
    RunProgress& prog = run.prog;
    const auto t0 = Clock::now();
    const double seconds_before = prog.epoch_seconds;
    const int64_t steps_per_epoch = run.train_loader.batches_per_epoch();
    StepHooks hooks;
    hooks.before_update = [&run](Context& ctx) {
        // Data parallel: the mean gradient of the global batch on every rank
        // (the identity for one process). Then the crash tests' stop, after
        // backward and before the update.
        run.comm.all_reduce_average(run.model.store->grads(), ctx);
        fault_point("train.step");
    };
    run.train_loader.start_epoch(epoch, prog.step_in_epoch);
    Batch b;
    auto last_print = Clock::now();
    EpochEnd end = EpochEnd::COMPLETED;
    for (;;) {
        {
            EFFNET_NVTX_RANGE("data wait");
            if (!run.train_loader.next(b)) break;
        }
        EFFNET_NVTX_RANGE("step " + std::to_string(prog.global_step));
        const StepShares shares = exchange_shares(run.comm, b.size());
        if (shares.empty_rank >= 0) {
            // Only on N ranks: every file of one rank's share was unreadable.
            // No rank can take the step alone, so every rank skips it.
            run.log.line("step " + std::to_string(prog.step_in_epoch + 1) + " of epoch " +
                         std::to_string(epoch + 1) + " skipped: no readable image in rank " +
                         std::to_string(shares.empty_rank) + "'s share");
            ++prog.step_in_epoch;
            ++prog.global_step;
            continue;
        }
        hooks.loss_scale = shares.loss_scale;
        const DeviceBatch db = to_device(b, run.device);
        // --mixup: the loader blended the images; the loss mixes the labels alike.
        if (cfg.mixup_alpha > 0) run.head.set_mix(db.partner_labels, b.mix_lambda);
        if (cfg.schedule == LrSchedule::COSINE)
            run.opt.set_lr(cosine_schedule_lr(run, prog.global_step));
        // The whole step is enqueued before the host reads the loss: on the GPU
        // the only synchronisation comes after the optimizer.
        train_step(*run.model.net, *run.model.store, run.head, run.opt, db.images, db.labels,
                   run.train_state(b), run.ctx, hooks);
        if (run.ema) run.ema->update(prog.global_step, run.ctx);
        const float loss = run.head.loss().to_vector()[0];
        const StepResults step =
            exchange_step_results(run.comm, loss, b.size(), run.head.correct(), g_stop_requested);
        if (step.nonfinite_rank >= 0) check_loss(NAN, run, epoch, step.nonfinite_rank);
        prog.loss_sum += step.loss_sum;
        prog.correct += step.correct;
        prog.seen += shares.images;
        ++prog.step_in_epoch;
        ++prog.global_step;
        if (cfg.check_replicas > 0 && prog.global_step % cfg.check_replicas == 0)
            dist::check_replicas(run.comm,
                                 replica_state_hash(run.model, run.opt, run.sync_bn != nullptr),
                                 "after step " + std::to_string(prog.global_step));

        const double rate = double(prog.seen) / std::max(1e-9, seconds_since(t0) + seconds_before);
        const int64_t left = steps_per_epoch - prog.step_in_epoch;
        const bool periodic =
            seconds_since(last_print) > 30 || prog.step_in_epoch == steps_per_epoch;
        if (periodic) last_print = Clock::now();
        run.log.progress("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(cfg.epochs) +
                             "  step " + std::to_string(prog.step_in_epoch) + "/" +
                             std::to_string(steps_per_epoch) + "  loss " +
                             fmt("%.4f", prog.loss_sum / double(prog.seen)) + "  " +
                             fmt("%.1f", rate) + " img/s  ETA " +
                             format_duration(double(left * cfg.batch) / std::max(rate, 1e-9)),
                         periodic);
        if (step.stop) {  // a signal to any rank stops every rank here
            end = EpochEnd::INTERRUPTED;
            break;
        }
        if (cfg.max_steps > 0 && prog.global_step >= cfg.max_steps) {
            end = EpochEnd::MAX_STEPS;
            break;
        }
    }
    prog.epoch_seconds = seconds_before + seconds_since(t0);
    if (end != EpochEnd::COMPLETED) {
        prog.epoch = epoch;
        run.save_checkpoint_or_stop(run.last_path);
        const bool interrupted = end == EpochEnd::INTERRUPTED;
        run.log.line(std::string(interrupted ? "interrupted" : "stopped after --max-steps") +
                     " at epoch " + std::to_string(epoch + 1) + ", step " +
                     std::to_string(prog.step_in_epoch) + "; state saved to " + run.last_path +
                     (interrupted ? " (continue with --resume " + run.last_path + ")" : ""));
    }
    return end;
}

namespace {

// What rank 0 decides at the end of an epoch, for every rank.
struct EpochDecision {
    double next_lr = 0;
    int32_t stop = 0;
};

// Rank 0: the epoch's record, the schedules' steps, checkpoints, history, curves and log.
EpochDecision end_of_epoch_on_root(TrainingRun& run, int epoch, const EvalResult& val,
                                   const std::string& trained_note, Clock::time_point t0) {
    const TrainConfig& cfg = run.cfg;
    RunProgress& prog = run.prog;
    EpochRecord rec;
    rec.epoch = epoch + 1;
    rec.train_loss = prog.loss_sum / double(std::max<int64_t>(1, prog.seen));
    rec.train_acc = double(prog.correct) / double(std::max<int64_t>(1, prog.seen));
    rec.val_loss = val.loss;
    rec.val_acc = val.accuracy;
    rec.val_auroc = auroc(val.prob, val.label);
    rec.lr = run.opt.lr();
    rec.seconds = prog.epoch_seconds + seconds_since(t0);  // training and validation
    prog.history.push_back(rec);
    const bool should_stop = run.early.step(val.loss, epoch + 1);
    // The cosine schedule sets the rate of every step itself (run_epoch).
    const double next_lr = cfg.schedule == LrSchedule::PLATEAU
                               ? run.plateau.step(val.loss, run.opt.lr())
                               : run.opt.lr();
    run.opt.set_lr(next_lr);  // the checkpoints below hold the next epoch's rate
    prog.epoch = epoch + 1;
    prog.step_in_epoch = 0;
    prog.loss_sum = 0;
    prog.correct = prog.seen = 0;
    prog.epoch_seconds = 0;
    if (run.early.improved_last_step()) run.save_checkpoint_or_stop(run.best_path);
    run.save_checkpoint_or_stop(run.last_path);
    write_file_atomic((fs::path(cfg.out) / "history.csv").string(), history_csv(prog.history));
    draw_curves(prog.history, run.early.best_epoch(), (fs::path(cfg.out) / "curves.png").string());
    run.log.line("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(cfg.epochs) +
                 "  train loss " + fmt("%.4f", rec.train_loss) + " acc " +
                 fmt("%.4f", rec.train_acc) + "  val loss " + fmt("%.4f", rec.val_loss) + " acc " +
                 fmt("%.4f", rec.val_acc) + " AUROC " + fmt("%.4f", rec.val_auroc) + "  lr " +
                 fmt("%.1e", rec.lr) + "  " + format_duration(rec.seconds) +
                 (run.early.improved_last_step() ? "  *best" : "") +
                 (cfg.schedule == LrSchedule::PLATEAU && run.plateau.reduced_last_step()
                      ? "  (lr -> " + fmt("%.1e", next_lr) + ")"
                      : "") +
                 trained_note);
    if (run.bad_files.count())
        run.log.line("  skipped files so far: " + std::to_string(run.bad_files.count()) +
                     " (first: " + run.bad_files.entries()[0].first + ": " +
                     run.bad_files.entries()[0].second + ")");
    if (should_stop)
        run.log.line("early stopping: no improvement in validation loss for " +
                     std::to_string(cfg.early.patience) + " epochs (best epoch " +
                     std::to_string(run.early.best_epoch()) + ")");
    return EpochDecision{next_lr, should_stop ? 1 : 0};
}

}  // namespace

bool end_of_epoch(TrainingRun& run, int epoch) {
    RunProgress& prog = run.prog;
    const auto t0 = Clock::now();
    // Per-rank batch norm: every rank evaluates with rank 0's running statistics.
    broadcast_buffers(run.comm, run.model, run.ctx);
    const auto validate = [&run] {
        return gather_evaluation(
            run.comm, evaluate(run.model, run.val_loader, run.eval_head, run.ctx), run.val_loader);
    };
    EvalResult val = validate();
    std::string trained_note;
    if (run.ema) {
        const EvalResult trained = val;
        run.ema->swap_with_model();
        broadcast_buffers(run.comm, run.model,
                          run.ctx);  // the average's statistics drift per rank like the model's
        val = validate();
        run.ema->swap_with_model();
        if (run.comm.is_root())
            trained_note = "  (trained weights: val loss " + fmt("%.4f", trained.loss) + " acc " +
                           fmt("%.4f", trained.accuracy) + " AUROC " +
                           fmt("%.4f", auroc(trained.prob, trained.label)) + ")";
    }
    EpochDecision decision;
    if (run.comm.is_root()) decision = end_of_epoch_on_root(run, epoch, val, trained_note, t0);
    run.comm.broadcast_bytes(&decision, sizeof decision);
    run.opt.set_lr(decision.next_lr);
    prog.epoch = epoch + 1;
    prog.step_in_epoch = 0;
    prog.loss_sum = 0;
    prog.correct = prog.seen = 0;
    prog.epoch_seconds = 0;
    return decision.stop != 0;
}

}  // namespace effnet
