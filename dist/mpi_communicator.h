// MpiCommunicator: dist/communicator.h over MPI_COMM_WORLD, for host
// buffers (CPU training, and the host side of GPU training).
//
// Construction initialises MPI (MPI_THREAD_FUNNELED: only the thread that made
// the communicator calls MPI; the loader's workers never do), destruction
// finalises it: one per process. Local rank and size come from the
// shared-memory split of the world (MPI_COMM_TYPE_SHARED: the ranks of this host).
// Errors come back as codes (MPI_ERRORS_RETURN) and are thrown as DistError
// naming the call and the rank; the app then aborts the job
// (Communicator::abort -> MPI_Abort), since other ranks may be waiting in a
// collective this rank will never join.
//
// all_reduce_average: MPI_Alltoallv sends segment j (dist/ordered_average.h)
// of every rank's buffer to rank j, which averages them in rank order; an
// MPI_Allgatherv then gives every rank every segment. That is the traffic of
// a ring all-reduce (2(N-1)/N of the buffer in and out per rank) with a
// reduction order fixed by effnet, not by the MPI library's algorithm choice.
#pragma once

#include <mpi.h>

#include "dist/communicator.h"

namespace effnet::dist {

class MpiCommunicator final : public Communicator {
public:
    using Communicator::all_reduce_sum;
    MpiCommunicator();
    ~MpiCommunicator() override;
    MpiCommunicator(const MpiCommunicator&) = delete;
    MpiCommunicator& operator=(const MpiCommunicator&) = delete;

    std::string describe() const override;
    void broadcast_bytes(void* data, size_t bytes, int root = 0) override;
    void all_reduce_sum(double* values, size_t n) override;
    std::vector<std::vector<uint8_t>> gather_bytes(const void* data, size_t bytes,
                                                   GatherTo to) override;
    void barrier() override;
    [[noreturn]] void abort(const std::string& message, int code) override;

    MPI_Comm world() const { return world_; }
    // Throws DistError "rank R of N: <call> failed: <MPI's message>" unless `rc` is MPI_SUCCESS.
    void check(int rc, const char* call) const;

protected:
    void host_all_reduce_average(float* data, size_t n) override;

private:
    MPI_Comm world_ = MPI_COMM_NULL;
    int hosts_ = 1;
    std::vector<float> scratch_;  // the segments received by this rank
};

}  // namespace effnet::dist
