// Training checkpoints (last.safetensors, best.safetensors) and the output
// folder they live in.
//
// A checkpoint is the model's tensors, the AdamW moments
// (optimizer.exp_avg, optimizer.exp_avg_sq) and, in the metadata, the model
// spec (train/model_spec.h) plus everything a resumed run needs: epoch and
// step, the partial sums of the current epoch, learning rate, scheduler and
// early-stopping state, seed, batch size and the history so far. Writes are
// atomic and carry a CRC-32 of the tensor bytes (io/safetensors.h).
//
// With a weight average (--ema, train/ema.h) the model's tensors are the
// average, and the weights the optimizer trains follow as training state,
// "optimizer.raw.<name>"; the metadata says so (effnet.weights "ema",
// effnet.ema_decay). Readers of weights ignore "optimizer." and so read the
// average; a resumed run restores both.
//
// Reading trusts nothing: every field is parsed strictly and range-checked,
// and non-finite weights or moments are refused; a damaged file is an
// IoError naming the file and the field.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "train/ema.h"
#include "train/model_spec.h"
#include "io/plot.h"
#include "optim/adamw.h"
#include "optim/schedule.h"

namespace effnet {

// Everything a resumed run needs besides the weights and optimizer moments.
struct RunProgress {
    int epoch = 0;              // epoch the next step belongs to (0-based)
    int64_t step_in_epoch = 0;  // batches of that epoch already done
    int64_t global_step = 0;
    double loss_sum = 0;  // partial sums of the current epoch
    int64_t correct = 0, seen = 0;
    double epoch_seconds = 0;
    std::vector<EpochRecord> history;
};

// The training state of a checkpoint's metadata besides the schedulers.
struct TrainingState {
    RunProgress progress;
    double lr = 0;
    int64_t optimizer_steps = 0;
    uint64_t seed = 0;
    int64_t batch = 0;
};

// history.csv: a header and one row per epoch, numbers exact (%.17g).
std::string history_csv(const std::vector<EpochRecord>& h);
// The inverse; every row must parse and epochs must run 1, 2, ... (IoError naming `path`).
std::vector<EpochRecord> parse_history(const std::string& csv, const std::string& path);

// Reads and checks the train.* keys (IoError naming `path` and the key).
TrainingState read_training_state(const std::map<std::string, std::string>& meta,
                                  const std::string& path);

// `ema`: the run's weight average, when it keeps one.
void save_checkpoint(const std::string& path, Model& m, AdamW& opt,
                     const ReduceLROnPlateau& plateau, const EarlyStopping& early,
                     const RunProgress& p, uint64_t seed, int64_t batch,
                     const WeightEma* ema = nullptr);
// Restores a checkpoint into a model and optimizer built for the same spec.
// `seed` and `batch` must match the run's. A file that cannot be used is an
// IoError giving the reason and, for a damaged file, what to resume from instead.
// The model gets the trained weights; `ema` (when the run keeps an average)
// gets the file's average, or a copy of the weights when the file has none.
void load_checkpoint(const std::string& path, Model& m, AdamW& opt, ReduceLROnPlateau& plateau,
                     EarlyStopping& early, RunProgress& p, uint64_t seed, int64_t batch,
                     WeightEma* ema = nullptr);

// The files a run writes into its output folder.
const std::vector<std::string>& run_output_files();

// Makes `out` ready for a run. A folder already holding another run's
// outputs is refused (IoError listing them and the ways forward) unless
// `overwrite` (the old outputs are then deleted) or the run resumes from a
// checkpoint inside `out` (the same run continuing). Temporary files left by
// an interrupted atomic write are removed. Returns lines for the log.
std::vector<std::string> prepare_output_folder(const std::string& out, const std::string& resume,
                                               bool overwrite);

}  // namespace effnet
