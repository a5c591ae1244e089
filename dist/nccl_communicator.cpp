#include "dist/nccl_communicator.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <chrono>
#include <thread>

namespace effnet::dist {

namespace {
std::string where(const Communicator& c) {
    return "rank " + std::to_string(c.rank()) + " of " + std::to_string(c.size());
}
}  // namespace

#define EFFNET_NCCL_CHECK(call)                                                            \
    do {                                                                                   \
        const ncclResult_t effnet_nccl_rc_ = (call);                                       \
        if (effnet_nccl_rc_ != ncclSuccess)                                                \
            throw DistError(where(*this) +                                                 \
                            ": " #call " failed: " + ncclGetErrorString(effnet_nccl_rc_)); \
    } while (0)

NcclCommunicator::NcclCommunicator(std::unique_ptr<MpiCommunicator> host, double timeout_s)
    : host_(std::move(host)), timeout_s_(timeout_s) {
    rank_ = host_->rank();
    size_ = host_->size();
    local_rank_ = host_->local_rank();
    local_size_ = host_->local_size();
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess) devices = 0;
    if (local_size_ > devices)
        throw DistError(where(*this) + ": " + std::to_string(local_size_) +
                        " ranks on this host but " + std::to_string(devices) +
                        " usable GPUs; start at most one rank per GPU (mpirun -np)");
    device_ = local_rank_;
    if (cudaSetDevice(device_) != cudaSuccess)
        throw DistError(where(*this) + ": cannot select GPU " + std::to_string(device_));
    ncclUniqueId id;
    if (rank_ == 0) EFFNET_NCCL_CHECK(ncclGetUniqueId(&id));
    host_->broadcast_bytes(&id, sizeof id, 0);
    EFFNET_NCCL_CHECK(ncclCommInitRank(&comm_, size_, id, rank_));
}

NcclCommunicator::~NcclCommunicator() {
    if (comm_) ncclCommDestroy(comm_);
}

std::string NcclCommunicator::describe() const {
    int v = 0;
    ncclGetVersion(&v);
    return "NCCL " + std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." +
           std::to_string(v % 100) + " on GPU " + std::to_string(device_) + " + " +
           host_->describe();
}

void NcclCommunicator::abort(const std::string& message, int code) {
    if (comm_) ncclCommAbort(comm_);
    comm_ = nullptr;
    host_->abort(message, code);
}

void NcclCommunicator::host_all_reduce_average(float* data, size_t n) {
    // Host buffers of a GPU run (none in the training step): the MPI path.
    Tensor t = Tensor::wrap(data, Shape{int64_t(n)}, Device::CPU);
    Context cpu;
    host_->all_reduce_average(t, cpu);
}

void NcclCommunicator::device_all_reduce_average(Tensor& t, Context& ctx) {
    EFFNET_NCCL_CHECK(ncclAllReduce(t.raw(), t.raw(), size_t(t.numel()), ncclFloat, ncclAvg, comm_,
                                    ctx.stream()));
    wait(ctx.stream(), "ncclAllReduce");
}

void NcclCommunicator::device_broadcast(Tensor& t, int root, Context& ctx) {
    EFFNET_NCCL_CHECK(
        ncclBroadcast(t.raw(), t.raw(), t.nbytes(), ncclUint8, root, comm_, ctx.stream()));
    wait(ctx.stream(), "ncclBroadcast");
}

void NcclCommunicator::wait(CudaStream stream, const char* call) {
    const auto start = std::chrono::steady_clock::now();
    for (;;) {
        const cudaError_t q = cudaStreamQuery(stream);
        if (q == cudaSuccess) return;
        if (q != cudaErrorNotReady)
            throw DistError(where(*this) + ": " + call + ": CUDA error " + cudaGetErrorString(q));
        ncclResult_t async = ncclSuccess;
        EFFNET_NCCL_CHECK(ncclCommGetAsyncError(comm_, &async));
        if (async != ncclSuccess) {
            ncclCommAbort(comm_);
            comm_ = nullptr;
            throw DistError(where(*this) + ": " + call + ": NCCL error " +
                            ncclGetErrorString(async));
        }
        if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >
            timeout_s_) {
            ncclCommAbort(comm_);
            comm_ = nullptr;
            throw DistError(where(*this) + ": " + call + " did not complete in " +
                            std::to_string(int(timeout_s_)) +
                            " s: another rank has stopped or died");
        }
        std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
}

}  // namespace effnet::dist
