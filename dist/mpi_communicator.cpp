#include "dist/mpi_communicator.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <iostream>

#include "dist/ordered_average.h"

namespace effnet::dist {

namespace {
// MPI counts are int: buffers move in pieces of at most this many elements.
constexpr size_t kMaxCount = size_t(1) << 30;
}  // namespace

MpiCommunicator::MpiCommunicator() {
    int initialised = 0;
    MPI_Initialized(&initialised);
    EFFNET_CHECK(!initialised,
                 "MpiCommunicator: MPI is already initialised (one communicator per process)");
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_dup(MPI_COMM_WORLD, &world_);
    MPI_Comm_set_errhandler(world_, MPI_ERRORS_RETURN);
    MPI_Comm_rank(world_, &rank_);
    MPI_Comm_size(world_, &size_);
    MPI_Comm local;
    check(MPI_Comm_split_type(world_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local),
          "MPI_Comm_split_type");
    MPI_Comm_rank(local, &local_rank_);
    MPI_Comm_size(local, &local_size_);
    MPI_Comm_free(&local);
    int first_on_host = local_rank_ == 0 ? 1 : 0;
    check(MPI_Allreduce(&first_on_host, &hosts_, 1, MPI_INT, MPI_SUM, world_),
          "MPI_Allreduce (host count)");
}

MpiCommunicator::~MpiCommunicator() {
    MPI_Comm_free(&world_);
    MPI_Finalize();
}

std::string MpiCommunicator::describe() const {
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(version, &len);
    std::string v(version, size_t(std::max(len, 0)));
    v = v.substr(0, v.find_first_of(",\n"));
    return "MPI (" + v + "), " + std::to_string(size_) + " ranks on " + std::to_string(hosts_) +
           (hosts_ == 1 ? " host" : " hosts");
}

void MpiCommunicator::check(int rc, const char* call) const {
    if (rc == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, text, &len);
    throw DistError("rank " + std::to_string(rank_) + " of " + std::to_string(size_) + ": " + call +
                    " failed: " + std::string(text, size_t(std::max(len, 0))));
}

void MpiCommunicator::host_all_reduce_average(float* data, size_t n) {
    // Pieces of at most kMaxCount elements keep every count and displacement an int.
    for (size_t at = 0; at < n; at += kMaxCount) {
        const size_t len = std::min(kMaxCount, n - at);
        float* buf = data + at;
        const size_t ranks = size_t(size_);
        std::vector<int> send_counts(ranks), send_displs(ranks), recv_counts(ranks),
            recv_displs(ranks);
        const Segment mine = segment_of(len, rank_, size_);
        for (int j = 0; j < size_; ++j) {
            const Segment s = segment_of(len, j, size_);
            send_counts[size_t(j)] = int(s.count);
            send_displs[size_t(j)] = int(s.begin);
            recv_counts[size_t(j)] = int(mine.count);
            recv_displs[size_t(j)] = int(mine.count * size_t(j));
        }
        scratch_.resize(mine.count * size_t(size_));
        check(MPI_Alltoallv(buf, send_counts.data(), send_displs.data(), MPI_FLOAT, scratch_.data(),
                            recv_counts.data(), recv_displs.data(), MPI_FLOAT, world_),
              "MPI_Alltoallv (all-reduce)");
        average_in_rank_order(scratch_.data(), size_, mine.count, buf + mine.begin);
        check(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, send_counts.data(),
                             send_displs.data(), MPI_FLOAT, world_),
              "MPI_Allgatherv (all-reduce)");
    }
}

void MpiCommunicator::broadcast_bytes(void* data, size_t bytes, int root) {
    EFFNET_CHECK(root >= 0 && root < size_, "broadcast from rank " << root << " of " << size_);
    // The sizes must agree: a rank expecting fewer bytes would silently keep a truncated copy.
    uint64_t n = bytes;
    check(MPI_Bcast(&n, 1, MPI_UINT64_T, root, world_), "MPI_Bcast (size)");
    if (n != bytes)
        throw DistError("rank " + std::to_string(rank_) + " expects " + std::to_string(bytes) +
                        " bytes from rank " + std::to_string(root) + ", which sends " +
                        std::to_string(n));
    char* p = static_cast<char*>(data);
    for (size_t at = 0; at < bytes; at += kMaxCount)
        check(MPI_Bcast(p + at, int(std::min(kMaxCount, bytes - at)), MPI_BYTE, root, world_),
              "MPI_Bcast");
}

void MpiCommunicator::all_reduce_sum(double* values, size_t n) {
    EFFNET_CHECK(n <= size_t(INT_MAX) / size_t(size_),
                 "all_reduce_sum: " << n << " values is more than a few");
    // Every rank gathers every contribution and adds them in rank order: the
    // same bits everywhere, whatever algorithm MPI_Allreduce would have chosen.
    std::vector<double> all(n * size_t(size_));
    check(MPI_Allgather(values, int(n), MPI_DOUBLE, all.data(), int(n), MPI_DOUBLE, world_),
          "MPI_Allgather (sum)");
    for (size_t k = 0; k < n; ++k) {
        double s = 0;
        for (int r = 0; r < size_; ++r) s += all[size_t(r) * n + k];
        values[k] = s;
    }
}

std::vector<std::vector<uint8_t>> MpiCommunicator::gather_bytes(const void* data, size_t bytes,
                                                                GatherTo to) {
    EFFNET_CHECK(bytes <= size_t(INT_MAX),
                 "gather_bytes: " << bytes << " bytes from one rank is more than MPI counts");
    int mine = int(bytes);
    const size_t ranks = size_t(size_);
    std::vector<int> counts(ranks), displs(ranks);
    const bool everywhere = to == GatherTo::ALL;
    if (everywhere)
        check(MPI_Allgather(&mine, 1, MPI_INT, counts.data(), 1, MPI_INT, world_),
              "MPI_Allgather (sizes)");
    else
        check(MPI_Gather(&mine, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, world_),
              "MPI_Gather (sizes)");
    std::vector<uint8_t> all;
    if (everywhere || rank_ == 0) {
        size_t total = 0;
        for (int r = 0; r < size_; ++r) {
            EFFNET_CHECK(total + size_t(counts[size_t(r)]) <= size_t(INT_MAX),
                         "gather_bytes: more than 2 GiB in all");
            displs[size_t(r)] = int(total);
            total += size_t(counts[size_t(r)]);
        }
        all.resize(std::max<size_t>(total, 1));
    }
    if (everywhere)
        check(MPI_Allgatherv(data, mine, MPI_BYTE, all.data(), counts.data(), displs.data(),
                             MPI_BYTE, world_),
              "MPI_Allgatherv");
    else
        check(MPI_Gatherv(data, mine, MPI_BYTE, all.data(), counts.data(), displs.data(), MPI_BYTE,
                          0, world_),
              "MPI_Gatherv");
    std::vector<std::vector<uint8_t>> out;
    if (!everywhere && rank_ != 0) return out;
    for (int r = 0; r < size_; ++r)
        out.emplace_back(all.begin() + displs[size_t(r)],
                         all.begin() + displs[size_t(r)] + counts[size_t(r)]);
    return out;
}

void MpiCommunicator::barrier() { check(MPI_Barrier(world_), "MPI_Barrier"); }

void MpiCommunicator::abort(const std::string& message, int code) {
    std::cerr << "rank " << rank_ << " of " << size_ << ": " << message << std::endl;
    MPI_Abort(world_, code);
    std::_Exit(code);  // MPI_Abort does not return; this keeps [[noreturn]] true if it ever did
}

}  // namespace effnet::dist
