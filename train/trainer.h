// The training run behind effnet_train: data, model, AdamW, plateau schedule,
// early stopping, checkpoints, curves and the final report.
//
// Output folder (another run's outputs there are refused unless --overwrite;
// see train/checkpoint.h):
//   last.safetensors   full training state after the latest epoch (or interruption)
//   best.safetensors   full state at the best validation loss so far
//   history.csv        one row per epoch
//   curves.png         loss and accuracy, train vs val, LR drops marked
//   report.txt         classification report (scikit-learn layout), confusion
//                      matrix, AUROC with its 95% CI (DeLong), the decision
//                      threshold chosen on validation, calibration (ECE, Brier,
//                      before/after temperature scaling), operating points
//                      with Wilson intervals, subgroups (train/evaluate.h)
//   metrics.json       the same numbers
//   reliability.png    the reliability diagram of the reported probabilities
//   train.log          the log lines printed during the run
//
// Randomness is a function of the seed: parameter init, shuffling,
// augmentation, dropout and drop-path masks (Philox streams by epoch, position
// and step). Resuming from an interrupted run's last.safetensors continues
// bit-identically on the CPU.
#pragma once

#include <atomic>
#include <string>

#include "train/model_spec.h"
#include "data/dataset.h"
#include "io/operating_point.h"
#include "io/roc_statistics.h"
#include "optim/adamw.h"
#include "optim/schedule.h"
#include "tensor/context.h"

namespace effnet {

namespace dist {
class Communicator;
}

enum class LrSchedule { PLATEAU, COSINE };

struct TrainConfig {
    ModelSpec model;
    std::string data;  // folder or CSV; empty: synthetic phantoms
    int64_t phantoms_train = 1600, phantoms_val = 400, phantoms_test = 400;
    uint64_t phantom_seed = 1;
    DatasetOptions dataset;
    AugmentConfig augment;  // applied to the training split
    int64_t batch = 32;
    int epochs = 50;
    AdamWConfig adamw;
    PlateauConfig plateau;
    EarlyStoppingConfig early;
    uint64_t seed = 0;
    int workers = 2;
    int64_t cache_mb = 1024;     // prepared images kept in memory across epochs
    int max_image_side = 16384;  // larger images are refused (and skipped) before decoding
    bool strict = false;
    std::string device = "auto";
    std::string kernels = kDefaultKernelSpec;  // tensor/context.h
    bool tf32 = false;
    std::string init;    // weights to start from (fine-tuning)
    std::string resume;  // checkpoint to continue
    std::string out = "runs/latest";
    bool overwrite = false;  // replace another run's outputs in `out` (refused otherwise)
    int64_t max_steps = -1;  // stop after this many training steps (profiling)
    int bootstrap = 1000;
    bool from_scratch_warning = true;
    // Data-parallel runs (docs/distributed.md): batch-norm statistics over the
    // global batch (CPU), and a replica comparison every this many steps (0: off).
    bool sync_bn = false;
    int64_t check_replicas = 0;
    // The recipe beyond the reference (docs/training.md).
    std::string preset = "reference";  // --preset: what set the defaults below
    double ema_decay = 0;  // --ema: weight average after every step (train/ema.h); 0: none
    LrSchedule schedule = LrSchedule::PLATEAU;
    double warmup_epochs = 0;    // --warmup-epochs, with the cosine schedule
    double label_smoothing = 0;  // --label-smoothing (kernels/loss.h)
    // --mixup: image pairs blended with lambda ~ Beta(alpha, alpha) (data/mixup.h); 0: none.
    double mixup_alpha = 0;
    // The final evaluation.
    int tta = 1;             // --tta: test-time views averaged (data/augment.h)
    bool calibrate = false;  // --calibrate temperature: fit T on val, store it
    std::vector<OperatingPointSpec>
        operating_points;  // --operating-point: chosen on val; the first decides
    AurocInterval auroc_interval = AurocInterval::DELONG;  // --auroc-ci
};

// Set by SIGINT/SIGTERM/SIGUSR1: the trainer finishes its step, checkpoints and returns.
extern std::atomic<bool> g_stop_requested;
void install_stop_handlers();

// Runs training; returns the process exit code (0 done, 130 interrupted).
// A device out-of-memory error is rethrown with a batch size to try.
// With a communicator of N > 1 ranks this process is one rank of a
// data-parallel run (dist/communicator.h): cfg.batch is the global batch,
// each rank trains on its share, and only rank 0 writes files and logs.
int train(const TrainConfig& cfg);
int train(const TrainConfig& cfg, dist::Communicator& comm);

// The batch size to suggest after running out of device memory at `batch`
// with `in_use` bytes allocated and `requested` more asked for, on a device of
// `total` bytes: activations grow with the batch, so the batch is scaled by
// the share of 90% of the device that the failing allocation would have
// needed. Always below `batch` and at least 1.
int64_t suggest_batch_size(int64_t batch, size_t in_use, size_t requested, size_t total);

}  // namespace effnet
