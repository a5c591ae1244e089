// Communicator: the collectives of data-parallel training (docs/distributed.md),
// one process per device, launched by mpirun.
//
// Implementations:
//   SingleProcess  (this file)            1 rank; every collective is the identity
//   MpiCommunicator (dist/mpi_communicator.h)   host buffers through MPI
//   NcclCommunicator (dist/nccl_communicator.h) device buffers through NCCL,
//                                               host ones through MPI
// open_communicator() picks one for the process.
//
// Contracts, for every implementation:
//   - Every rank calls the same collectives in the same order with the same
//     sizes (sizes are checked where the call carries them; a mismatch is
//     an error, never a silent truncation).
//   - all_reduce_average leaves bit-identical results on every rank. On the
//     CPU (MPI) the reduction order is fixed: element k is the sum, in double,
//     of the ranks' values in rank order 0..N-1, divided by N and rounded once
//     to float, so a run is reproducible for a given N and N = 1 is exact.
//     On the GPU, NCCL's ncclAvg reduces in its own (ring) order, which is
//     deterministic for a fixed N and topology.
//   - Tensor collectives take float32 tensors on the host or on the device of
//     the context; device work is enqueued on the context's stream (the stream
//     rule, tensor/tensor.h) and the call returns when the result is ready to
//     read in stream order.
//   - A failed collective throws DistError naming the rank and the call; a rank
//     that dies ends the job (MPI's default error handler, mpirun aborts the
//     other ranks), so no rank waits for ever.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "tensor/context.h"
#include "tensor/error.h"
#include "tensor/tensor.h"

namespace effnet::dist {

// A collective failed, or the ranks disagree (replica check, sizes).
class DistError : public Error {
    using Error::Error;
};

enum class GatherTo { ROOT, ALL };

class Communicator {
public:
    virtual ~Communicator() = default;

    int rank() const { return rank_; }
    int size() const { return size_; }
    // Rank and rank count among the processes on this host (CUDA: local rank -> GPU).
    int local_rank() const { return local_rank_; }
    int local_size() const { return local_size_; }
    bool is_root() const { return rank_ == 0; }
    // "MPI (Open MPI v4.1.4), 2 ranks on 1 host", for the log.
    virtual std::string describe() const = 0;

    // In place, `t` (float32, contiguous) becomes the mean of all ranks' `t`.
    void all_reduce_average(Tensor& t, Context& ctx);
    // In place, every rank's `t` becomes rank `root`'s (any dtype).
    void broadcast(Tensor& t, Context& ctx, int root = 0);
    // Host memory: every rank's bytes become rank `root`'s.
    virtual void broadcast_bytes(void* data, size_t bytes, int root = 0) = 0;
    // Host doubles: each element becomes the sum over ranks, added in rank
    // order (identical on every rank). For counts, loss sums and flags.
    virtual void all_reduce_sum(double* values, size_t n) = 0;
    std::vector<double> all_reduce_sum(std::vector<double> values);
    // Every rank's bytes, in rank order: on rank 0 only (ROOT; other ranks get
    // an empty vector) or on every rank (ALL). Ranks may send different sizes.
    virtual std::vector<std::vector<uint8_t>> gather_bytes(const void* data, size_t bytes,
                                                           GatherTo to) = 0;
    // The concatenation, in rank order, of every rank's vector (trivially
    // copyable T), on rank 0 only or everywhere.
    template <class T>
    std::vector<T> gather(const std::vector<T>& mine, GatherTo to);
    std::string broadcast_string(const std::string& s, int root = 0);
    virtual void barrier() = 0;
    // Ends every rank of the job now with exit code `code`, after `message`
    // (prefixed with this rank) on stderr. For errors that other ranks cannot
    // see: they may be waiting in a collective.
    [[noreturn]] virtual void abort(const std::string& message, int code) = 0;

protected:
    // The float average over host memory (the fixed order of the contract).
    virtual void host_all_reduce_average(float* data, size_t n) = 0;
    // Device memory on ctx's stream. Default: through the host (a staging copy
    // each way, then host_all_reduce_average); NCCL overrides both.
    virtual void device_all_reduce_average(Tensor& t, Context& ctx);
    virtual void device_broadcast(Tensor& t, int root, Context& ctx);

    int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
};

// One process, no MPI: every collective returns its input (exact identity).
class SingleProcess final : public Communicator {
public:
    using Communicator::all_reduce_sum;
    std::string describe() const override { return "single process"; }
    void broadcast_bytes(void*, size_t, int root) override;
    void all_reduce_sum(double*, size_t) override {}
    std::vector<std::vector<uint8_t>> gather_bytes(const void* data, size_t bytes,
                                                   GatherTo to) override;
    void barrier() override {}
    [[noreturn]] void abort(const std::string& message, int code) override;

protected:
    void host_all_reduce_average(float*, size_t) override {}
};

// The launcher's view of this process: the rank count mpirun gave it
// (OMPI_COMM_WORLD_SIZE, PMIX/PMI variables), 1 when it was started directly.
int launched_ranks();

struct CommunicatorOptions {
    bool gpu = false;  // training on CUDA devices: NCCL for device tensors, local rank -> GPU
};
// The communicator for this process: SingleProcess unless mpirun started
// more than one rank. Throws DistError when it did but this build has no MPI
// (N copies would each train alone and write the same files).
std::unique_ptr<Communicator> open_communicator(const CommunicatorOptions& opt);
// Whether this build can run more than one rank, for --help.
std::string multi_process_support();

// ---- template ------------------------------------------------------------------
template <class T>
std::vector<T> Communicator::gather(const std::vector<T>& mine, GatherTo to) {
    static_assert(std::is_trivially_copyable_v<T>, "gather copies bytes");
    std::vector<T> out;
    for (const std::vector<uint8_t>& part :
         gather_bytes(mine.data(), mine.size() * sizeof(T), to)) {
        EFFNET_CHECK(part.size() % sizeof(T) == 0,
                     "gather: " << part.size() << " bytes is not a whole number of elements");
        const size_t at = out.size();
        out.resize(at + part.size() / sizeof(T));
        if (!part.empty())
            std::memcpy(static_cast<void*>(out.data() + at), part.data(), part.size());
    }
    return out;
}

}  // namespace effnet::dist
