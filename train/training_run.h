// The state of one effnet_train run and its four phases, in the order
// train() (train/trainer.cpp) calls them:
//   setup         TrainingRun's constructor: output folder, log, device, data
//                 (checked for both classes and for memory), loaders, model
//                 (--init), loss heads, optimizer, weight average (--ema) and
//                 schedules (--resume); on N ranks, rank 0's state
//                 broadcast to all;
//   run_epoch     the training steps of one epoch, each followed by the
//                 weight average's update (train/epoch.cpp);
//   end_of_epoch  validation (of the average too, with --ema), schedule,
//                 checkpoints, history and curves;
//   final_report  the best weights on test (or val), thresholds and the
//                 temperature chosen on val: report.txt, metrics.json,
//                 reliability.png, and the decision settings stored in
//                 best.safetensors (train/final_report.cpp).
// Internal to train/: the apps see train/trainer.h.
//
// Data parallelism (docs/distributed.md): every rank builds a TrainingRun
// over the same data and seed; its loaders take the rank's shares of each
// global batch, the model and head are planned for cfg.batch / N images, and
// only rank 0 opens the output folder and log (the others' RunLog is silent)
// and writes files.
#pragma once

#include <memory>
#include <string>

#include "optim/adamw.h"
#include "optim/schedule.h"
#include "dist/communicator.h"
#include "train/checkpoint.h"
#include "train/data_parallel.h"
#include "train/ema.h"
#include "train/loss_head.h"
#include "train/model_spec.h"
#include "train/run_log.h"
#include "train/trainer.h"

namespace effnet {

struct TrainingRun {
    TrainingRun(const TrainConfig& config, dist::Communicator& comm);

    // Saves the full state to `path` (rank 0; the other ranks write nothing);
    // a failed write stops the run naming the last complete checkpoint (the
    // atomic write left it intact).
    void save_checkpoint_or_stop(const std::string& path);
    // The per-step facts of a training forward on batch `b`.
    RunState train_state(const Batch& b) const;

    const TrainConfig& cfg;
    dist::Communicator& comm;
    const int64_t batch_per_rank;  // cfg.batch / comm.size()
    RunLog log;
    const Device device;
    Context ctx;
    const Dataset ds;
    const PipelineConfig eval_pipeline;
    const LoaderConfig eval_loader_config;
    BadFileLog bad_files;
    Loader train_loader, val_loader;
    Model model;
    LossHead head;       // training: with --label-smoothing
    LossHead eval_head;  // validation and reports: plain cross-entropy
    AdamW opt;
    std::unique_ptr<WeightEma> ema;  // --ema; null without
    ReduceLROnPlateau plateau;
    EarlyStopping early;
    RunProgress prog;
    const std::string last_path, best_path;
    std::unique_ptr<CommunicatorSums> sync_bn;  // --sync-bn on N > 1 ranks
};

enum class EpochEnd { COMPLETED, INTERRUPTED, MAX_STEPS };

// Trains from prog's position to the end of `epoch` (or an interruption, or
// --max-steps), adding its time to prog.epoch_seconds; an interrupted or
// stopped epoch is checkpointed to last.safetensors.
EpochEnd run_epoch(TrainingRun& run, int epoch);
// The learning rate of global step `step` under --schedule cosine.
double cosine_schedule_lr(const TrainingRun& run, int64_t step);
// Validates, steps the schedules, checkpoints and logs; true when early
// stopping ends the run.
bool end_of_epoch(TrainingRun& run, int epoch);
// Restores the best weights and writes report.txt and metrics.json.
void final_report(TrainingRun& run);

}  // namespace effnet
