#include "dist/communicator.h"

#include <cstdlib>
#include <iostream>

#include "effnet_config.h"

#if EFFNET_WITH_MPI
#include "dist/mpi_communicator.h"
#endif
#if EFFNET_WITH_NCCL
#include "dist/nccl_communicator.h"
#endif

namespace effnet::dist {

void Communicator::all_reduce_average(Tensor& t, Context& ctx) {
    EFFNET_CHECK(t.dtype() == DType::FLOAT32, "all_reduce_average: float32 tensors only");
    if (size_ == 1 || t.numel() == 0) return;
    if (t.is_cuda())
        device_all_reduce_average(t, ctx);
    else
        host_all_reduce_average(t.f32(), size_t(t.numel()));
}

void Communicator::broadcast(Tensor& t, Context& ctx, int root) {
    if (size_ == 1 || t.numel() == 0) return;
    if (t.is_cuda())
        device_broadcast(t, root, ctx);
    else
        broadcast_bytes(t.raw(), t.nbytes(), root);
}

// The staging path for a build whose device collectives have no library of
// their own: correct everywhere, two copies slower than NCCL.
void Communicator::device_all_reduce_average(Tensor& t, Context&) {
    Tensor host = t.to(Device::CPU);  // synchronises the stream: the values are final
    host_all_reduce_average(host.f32(), size_t(host.numel()));
    t.copy_from(host);
}

void Communicator::device_broadcast(Tensor& t, int root, Context&) {
    Tensor host = t.to(Device::CPU);
    broadcast_bytes(host.raw(), host.nbytes(), root);
    t.copy_from(host);
}

std::vector<double> Communicator::all_reduce_sum(std::vector<double> values) {
    all_reduce_sum(values.data(), values.size());
    return values;
}

std::string Communicator::broadcast_string(const std::string& s, int root) {
    uint64_t n = s.size();
    broadcast_bytes(&n, sizeof n, root);
    std::string out = rank_ == root ? s : std::string(size_t(n), '\0');
    broadcast_bytes(out.data(), out.size(), root);
    return out;
}

void SingleProcess::broadcast_bytes(void*, size_t, int root) {
    EFFNET_CHECK(root == 0, "broadcast from rank " << root << " of a single process");
}

std::vector<std::vector<uint8_t>> SingleProcess::gather_bytes(const void* data, size_t bytes,
                                                              GatherTo) {
    const uint8_t* p = static_cast<const uint8_t*>(data);
    return {std::vector<uint8_t>(p, p + bytes)};
}

void SingleProcess::abort(const std::string& message, int code) {
    std::cerr << message << std::endl;
    std::_Exit(code);
}

int launched_ranks() {
    // Open MPI, then the PMIx/PMI variables other launchers (MPICH, Slurm) set.
    for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE", "MPI_LOCALNRANKS"}) {
        if (const char* v = std::getenv(var)) {
            const int n = std::atoi(v);
            if (n >= 1) return n;
        }
    }
    return 1;
}

std::unique_ptr<Communicator> open_communicator(const CommunicatorOptions& opt) {
    const int ranks = launched_ranks();
    if (ranks <= 1) return std::make_unique<SingleProcess>();
#if EFFNET_WITH_NCCL
    if (opt.gpu) return std::make_unique<NcclCommunicator>(std::make_unique<MpiCommunicator>());
#endif
#if EFFNET_WITH_MPI
    (void)opt;
    return std::make_unique<MpiCommunicator>();
#else
    (void)opt;
    throw DistError(
        "started as one of " + std::to_string(ranks) +
        " ranks by mpirun, but this effnet was built without MPI: each rank would train alone and "
        "write the same files. Install libopenmpi-dev (scripts/setup.sh) and rebuild, or run one "
        "process");
#endif
}

std::string multi_process_support() {
    if constexpr (kWithMpi) {
        return std::string(
                   "Multi-process (data-parallel) training: mpirun -np N effnet_train ... (MPI") +
               (EFFNET_WITH_NCCL ? "; NCCL for GPUs" : "") + "); --batch-size is the global batch.";
    }
    return "Built without MPI: training is single-process (install libopenmpi-dev and rebuild for "
           "mpirun).";
}

}  // namespace effnet::dist
