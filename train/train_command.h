// The command line of effnet_train: every option with its default and help
// line, the checks of their values, and the quick preset used without
// --data (64 px, lr 1e-3, 12 epochs, each overridable). Kept out of main()
// so that tests and the command-line fuzz target parse exactly what the app
// parses.
#pragma once

#include "train/trainer.h"

namespace effnet {

struct TrainCommand {
    TrainConfig config;
    bool print_model = false;  // print the layer table and exit
    int threads = 0;           // compute threads (0: OMP_NUM_THREADS or all cores)
};

// Parses argv into `cmd`; returns false when --help was printed. A bad flag
// or value throws cli::UsageError naming it.
bool parse_train_command(int argc, char** argv, TrainCommand& cmd);

}  // namespace effnet
