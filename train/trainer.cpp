#include "train/trainer.h"

#include <cmath>
#include <csignal>
#include <cstdlib>

#include "dist/communicator.h"
#include "tensor/caching_allocator.h"
#include "tensor/nvtx.h"
#include "train/training_run.h"

namespace effnet {

std::atomic<bool> g_stop_requested{false};

namespace {

extern "C" void on_stop_signal(int sig) {
    if (g_stop_requested.exchange(true)) std::_Exit(128 + sig);  // a second signal: leave at once
}

}  // namespace

void install_stop_handlers() {
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    // mpirun forwards SIGUSR1 to every rank (SIGINT and SIGTERM it turns into
    // a kill after a second): the way to stop a data-parallel run with a checkpoint.
    std::signal(SIGUSR1, on_stop_signal);
    // Past a file-size limit (ulimit -f) a write then fails with EFBIG, which
    // the checkpoint writer reports, instead of the signal killing the run.
    std::signal(SIGXFSZ, SIG_IGN);
}

int64_t suggest_batch_size(int64_t batch, size_t in_use, size_t requested, size_t total) {
    const double need = double(in_use) + double(requested);
    const double scaled =
        need > 0 ? std::floor(double(batch) * 0.9 * double(total) / need) : double(batch / 2);
    return std::max<int64_t>(1, std::min<int64_t>(batch - 1, int64_t(scaled)));
}

namespace {

// setup, then epochs of steps each followed by validation, then the report.
int train_impl(const TrainConfig& cfg, dist::Communicator& comm) {
    TrainingRun run(cfg, comm);
    for (int epoch = run.prog.epoch; epoch < cfg.epochs; ++epoch) {
        EFFNET_NVTX_RANGE("epoch " + std::to_string(epoch + 1));
        const EpochEnd end = run_epoch(run, epoch);
        if (end == EpochEnd::INTERRUPTED) return 130;
        if (end == EpochEnd::MAX_STEPS) return 0;  // a profiling run: no report
        if (end_of_epoch(run, epoch)) break;
    }
    final_report(run);
    return 0;
}

}  // namespace

int train(const TrainConfig& cfg) {
    dist::SingleProcess one;
    return train(cfg, one);
}

int train(const TrainConfig& cfg, dist::Communicator& comm) {
    try {
        return train_impl(cfg, comm);
    } catch (const OutOfMemoryError& e) {
        if (e.total_bytes == 0 || cfg.batch <= 1) throw;
        // The peak includes everything that was allocated when the request failed.
        const size_t in_use = device_allocator().stats().peak_bytes_in_use;
        const int64_t b = suggest_batch_size(cfg.batch, in_use, e.requested_bytes, e.total_bytes);
        throw OutOfMemoryError(std::string(e.what()) + "\n  batch " + std::to_string(cfg.batch) +
                                   " needs more than the " + std::to_string(e.total_bytes >> 20) +
                                   " MiB device; try --batch-size " + std::to_string(b),
                               e.requested_bytes, e.free_bytes, e.total_bytes);
    }
}

}  // namespace effnet
