// NcclCommunicator: dist/communicator.h for GPU training. Device tensors go
// through NCCL (ncclAllReduce with ncclAvg, ncclBroadcast) on the context's
// stream; host buffers, and the bootstrap, through the MpiCommunicator it owns.
//
// Construction selects this process's GPU (local rank -> device local_rank;
// more local ranks than GPUs is an error, NCCL cannot share a device between
// ranks), then rank 0 makes the NCCL unique id, MPI broadcasts it and every
// rank joins the NCCL communicator (ncclCommInitRank). Construct it before
// the first GPU Context, so that the device stream is created on that device.
//
// Faults: after enqueueing a collective the host waits for the stream by
// polling, checking ncclCommGetAsyncError meanwhile; an asynchronous NCCL
// error, or no completion within `timeout_s` (a peer died or stopped
// calling), aborts the NCCL communicator and throws DistError naming this
// rank, instead of hanging in the collective.
#pragma once

#include <memory>

#include "dist/mpi_communicator.h"

struct ncclComm;

namespace effnet::dist {

class NcclCommunicator final : public Communicator {
public:
    using Communicator::all_reduce_sum;
    explicit NcclCommunicator(std::unique_ptr<MpiCommunicator> host, double timeout_s = 600);
    ~NcclCommunicator() override;
    NcclCommunicator(const NcclCommunicator&) = delete;
    NcclCommunicator& operator=(const NcclCommunicator&) = delete;

    std::string describe() const override;
    int device() const { return device_; }
    void broadcast_bytes(void* data, size_t bytes, int root = 0) override {
        host_->broadcast_bytes(data, bytes, root);
    }
    void all_reduce_sum(double* values, size_t n) override { host_->all_reduce_sum(values, n); }
    std::vector<std::vector<uint8_t>> gather_bytes(const void* data, size_t bytes,
                                                   GatherTo to) override {
        return host_->gather_bytes(data, bytes, to);
    }
    void barrier() override { host_->barrier(); }
    [[noreturn]] void abort(const std::string& message, int code) override;

protected:
    void host_all_reduce_average(float* data, size_t n) override;
    void device_all_reduce_average(Tensor& t, Context& ctx) override;
    void device_broadcast(Tensor& t, int root, Context& ctx) override;

private:
    void wait(CudaStream stream, const char* call);
    std::unique_ptr<MpiCommunicator> host_;
    ncclComm* comm_ = nullptr;
    int device_ = 0;
    double timeout_s_;
};

}  // namespace effnet::dist
