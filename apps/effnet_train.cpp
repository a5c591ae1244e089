// effnet_train: trains EfficientNet on chest X-rays (cardiomegaly 1 vs 0).
// With no --data it trains on built-in synthetic phantoms with a quick
// from-scratch preset; with --data it follows the reference recipe
// (train/train_command.h has every option).
#include <omp.h>

#include <iostream>

#include "train/cli.h"
#include "train/model_table.h"
#include "train/train_command.h"
#include "train/trainer.h"

using namespace effnet;

int main(int argc, char** argv) {
    return cli::run_main("effnet_train", [&] {
        TrainCommand cmd;
        if (!parse_train_command(argc, argv, cmd)) return 0;
        const TrainConfig& c = cmd.config;
        if (cmd.threads > 0) omp_set_num_threads(cmd.threads);
        if (cmd.print_model) {
            Model m(c.model, Device::CPU, 0);
            m.plan(1, Device::CPU);
            std::cout << "EfficientNet-B" << c.model.variant << ", " << c.model.num_classes << " classes, input "
                      << c.model.image_size << "x" << c.model.image_size << "x" << c.model.in_channels << "\n"
                      << model_table(*m.net);
            return 0;
        }
        install_stop_handlers();
        return train(c);
    });
}
