// effnet_train: trains EfficientNet on chest X-rays (cardiomegaly 1 vs 0).
// With no --data it trains on built-in synthetic phantoms with a quick
// from-scratch preset; with --data it follows the reference recipe
// (train/train_command.h has every option). Under `mpirun -np N` each process
// is one rank of a data-parallel run (docs/distributed.md).
#include <omp.h>

#include <iostream>
#include <thread>

#include "dist/communicator.h"
#include "dist/shard.h"
#include "train/cli.h"
#include "train/model_table.h"
#include "train/train_command.h"
#include "train/trainer.h"

using namespace effnet;

namespace {

// Compute threads of one rank: the host's cores split over its ranks unless
// --threads says otherwise. mpirun binds each of two ranks to one core by
// default; more threads than the binding allows would share that core.
void set_rank_threads(const dist::Communicator& comm, int requested) {
    const int threads = dist::threads_per_rank(int(std::thread::hardware_concurrency()),
                                               comm.local_size(), requested);
    omp_set_num_threads(threads);
    if (omp_get_num_procs() < threads && comm.local_rank() == 0)
        std::cerr
            << "effnet: each rank runs " << threads << " threads but mpirun bound it to "
            << omp_get_num_procs()
            << " core(s); launch with --bind-to none (or --map-by socket) to let them spread\n";
}

}  // namespace

int main(int argc, char** argv) {
    std::unique_ptr<dist::Communicator> comm;  // outlives run_main: MPI finalises last
    return cli::run_main("effnet_train", [&] {
        TrainCommand cmd;
        if (!parse_train_command(argc, argv, cmd)) return 0;
        const TrainConfig& c = cmd.config;
        if (cmd.threads > 0) omp_set_num_threads(cmd.threads);
        if (cmd.print_model) {
            Model m(c.model, Device::CPU, 0);
            m.plan(1, Device::CPU);
            std::cout << "EfficientNet-B" << c.model.variant << ", " << c.model.num_classes
                      << " classes, input " << c.model.image_size << "x" << c.model.image_size
                      << "x" << c.model.in_channels << "\n"
                      << model_table(*m.net);
            return 0;
        }
        comm = dist::open_communicator({c.device == "cuda"});
        if (comm->size() > 1) {
            try {
                dist::check_global_batch(c.batch, comm->size());
            } catch (const ContractError& e) {
                throw cli::UsageError(e.what());
            }
            set_rank_threads(*comm, cmd.threads);
        }
        install_stop_handlers();
        try {
            return train(c, *comm);
        } catch (const std::exception& e) {
            // The other ranks may be waiting in a collective this one will
            // never join: end them all, naming this rank.
            if (comm->size() > 1) comm->abort(std::string("effnet_train: error: ") + e.what(), 1);
            throw;
        }
    });
}
