// A program run by the tests under mpirun (test_mpi.cpp), one mode per
// argument. Prints "worker ok" and exits 0 when every check of its mode held;
// otherwise it names the failed check and exits 1.
//   collectives  every collective of dist/communicator.h against what the
//                contract says, including bit-identical fixed-order averages
//   diverge      the replica check passes on equal state, then fails on every
//                rank when the last rank's state differs by one ulp
//   die          the last rank kills itself while the others wait in an all-reduce
//   throw        the last rank fails; its error aborts the job (Communicator::abort)
//   time         not a check: the all-reduce of B0's gradient store (4,010,110
//                floats, 16 MB), median of 20 after 3 warm-ups, for docs/distributed.md
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <sstream>

#include "dist/communicator.h"
#include "dist/ordered_average.h"
#include "dist/replicas.h"
#include "dist/shard.h"
#include "tensor/random.h"

using namespace effnet;
using namespace effnet::dist;

namespace {

struct Failed : std::runtime_error {
    using std::runtime_error::runtime_error;
};
#define WORKER_EXPECT(cond, what)                              \
    do {                                                       \
        if (!(cond)) {                                         \
            std::ostringstream os_;                            \
            os_ << "check failed: " #cond " (" << what << ")"; \
            throw Failed(os_.str());                           \
        }                                                      \
    } while (0)

// Rank r's element k: values of very different magnitude, so that the sum
// order shows in the last bits.
float value(int r, size_t k) {
    const uint64_t h = mix64(uint64_t(r) * 1000003u + k);
    const float mantissa = float(h % 100000) / 100000.0f - 0.5f;
    return std::ldexp(mantissa, int(h >> 59) - 16);
}

void collectives(Communicator& comm) {
    Context ctx;
    const int n = comm.size(), me = comm.rank();
    WORKER_EXPECT(comm.local_size() == n && comm.local_rank() == me, "one host: local == global");
    for (size_t len : {size_t(0), size_t(1), size_t(5), size_t(1000), (size_t(1) << 20) + 3}) {
        std::vector<float> mine(len), all(len * size_t(n)), expected(len);
        for (size_t k = 0; k < len; ++k) mine[k] = value(me, k);
        for (int r = 0; r < n; ++r)
            for (size_t k = 0; k < len; ++k) all[size_t(r) * len + k] = value(r, k);
        average_in_rank_order(all.data(), n, len, expected.data());
        Tensor t = Tensor::wrap(mine.data(), Shape{int64_t(len)}, Device::CPU);
        comm.all_reduce_average(t, ctx);
        for (size_t k = 0; k < len; ++k)
            WORKER_EXPECT(std::memcmp(&mine[k], &expected[k], 4) == 0,
                          "all_reduce_average of " << len << " floats, element " << k << ": "
                                                   << mine[k] << " vs " << expected[k]);
        ByteHash h;
        h.add(mine.data(), len * 4);
        const std::vector<uint64_t> hashes =
            comm.gather(std::vector<uint64_t>{h.value()}, GatherTo::ALL);
        for (uint64_t x : hashes) WORKER_EXPECT(x == hashes[0], "every rank holds the same bits");
    }
    // Broadcast: a tensor, raw bytes, a string, from the last rank as well.
    Tensor b = Tensor::full(Shape{7}, float(me));
    comm.broadcast(b, ctx, n - 1);
    for (float x : b.to_vector()) WORKER_EXPECT(x == float(n - 1), "broadcast from rank " << n - 1);
    int64_t word = me == 0 ? 1234567 : -1;
    comm.broadcast_bytes(&word, sizeof word);
    WORKER_EXPECT(word == 1234567, "broadcast_bytes");
    WORKER_EXPECT(comm.broadcast_string(me == 0 ? "from rank 0" : "") == "from rank 0",
                  "broadcast_string");
    // Sum of a few doubles, in rank order.
    std::vector<double> sums =
        comm.all_reduce_sum(std::vector<double>{double(me), 0.5, me == 1 ? 1.0 : 0.0});
    WORKER_EXPECT(sums[0] == double(n * (n - 1) / 2) && sums[1] == 0.5 * n && sums[2] == 1.0,
                  "all_reduce_sum");
    // Gather: rank r sends r+1 copies of r; an empty part is allowed.
    std::vector<int> part(size_t(me + 1), me), expect_all;
    for (int r = 0; r < n; ++r) expect_all.insert(expect_all.end(), size_t(r + 1), r);
    WORKER_EXPECT(comm.gather(part, GatherTo::ALL) == expect_all, "gather to all");
    const std::vector<int> at_root = comm.gather(part, GatherTo::ROOT);
    WORKER_EXPECT(me == 0 ? at_root == expect_all : at_root.empty(), "gather to the root");
    WORKER_EXPECT(comm.gather(std::vector<int>{}, GatherTo::ALL).empty(), "gather of nothing");
    comm.barrier();
}

void diverge(Communicator& comm) {
    Tensor params = Tensor::full(Shape{1000}, 0.5f);
    check_replicas(comm, state_hash({&params}, {3}), "after step 3");  // equal: passes
    if (comm.rank() == comm.size() - 1) params.f32()[999] = std::nextafter(0.5f, 1.0f);
    try {
        check_replicas(comm, state_hash({&params}, {4}), "after step 4");
    } catch (const DistError& e) {
        const std::string what = e.what();
        WORKER_EXPECT(what.find("replicas diverged after step 4") != std::string::npos, what);
        WORKER_EXPECT(
            what.find("rank " + std::to_string(comm.size() - 1) + ":") != std::string::npos, what);
        WORKER_EXPECT(comm.size() < 3 || what.find("rank 1:") == std::string::npos,
                      "rank 1 did not diverge: " << what);
        return;
    }
    throw Failed("the replica check passed on diverged state");
}

void die(Communicator& comm) {
    Context ctx;
    comm.barrier();
    if (comm.rank() == comm.size() - 1) raise(SIGKILL);
    Tensor t = Tensor::zeros(Shape{16});
    comm.all_reduce_average(t, ctx);  // never completes: the job must be ended for us
    throw Failed("an all-reduce completed without the dead rank");
}

void time_all_reduce(Communicator& comm) {
    Context ctx;
    Tensor grads = Tensor::full(Shape{4010110}, 0.5f);
    std::vector<double> ms;
    for (int i = 0; i < 23; ++i) {
        comm.barrier();
        const auto t0 = std::chrono::steady_clock::now();
        comm.all_reduce_average(grads, ctx);
        const double t =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count();
        if (i >= 3) ms.push_back(t);
    }
    std::sort(ms.begin(), ms.end());
    if (comm.is_root())
        std::cout << "all-reduce of 4010110 floats on " << comm.size() << " ranks: median "
                  << ms[ms.size() / 2] << " ms (min " << ms.front() << ", max " << ms.back()
                  << ")\n";
}

}  // namespace

int main(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "";
    std::unique_ptr<Communicator> comm;
    try {
        comm = open_communicator({});
        if (mode == "collectives")
            collectives(*comm);
        else if (mode == "diverge")
            diverge(*comm);
        else if (mode == "die")
            die(*comm);
        else if (mode == "time")
            time_all_reduce(*comm);
        else if (mode == "throw") {
            comm->barrier();
            if (comm->rank() == comm->size() - 1)
                throw NumericError("loss is NaN at epoch 1, step 3");
            Context ctx;
            Tensor t = Tensor::zeros(Shape{16});
            comm->all_reduce_average(t, ctx);
            throw Failed("an all-reduce completed without the failed rank");
        } else {
            std::cerr << "usage: mpi_worker collectives|diverge|die|throw|time\n";
            return 2;
        }
        comm->barrier();
        if (comm->is_root()) std::cout << "worker ok (" << comm->describe() << ")" << std::endl;
        return 0;
    } catch (const std::exception& e) {
        if (comm && comm->size() > 1) comm->abort(std::string("mpi_worker: ") + e.what(), 1);
        std::cerr << "mpi_worker: " << e.what() << std::endl;
        return 1;
    }
}
