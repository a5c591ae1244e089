#include "dist/replicas.h"

#include "dist/shard.h"

namespace effnet::dist {

uint64_t state_hash(const std::vector<const Tensor*>& tensors,
                    const std::vector<int64_t>& integers) {
    ByteHash h;
    for (const Tensor* t : tensors) {
        if (t->is_cuda()) {
            const Tensor host = t->to(Device::CPU);
            h.add(host.raw(), host.nbytes());
        } else {
            h.add(t->raw(), t->nbytes());
        }
    }
    h.add(integers.data(), integers.size() * sizeof(int64_t));
    return h.value();
}

void check_replicas(Communicator& comm, uint64_t hash, const std::string& when) {
    const std::vector<uint64_t> all = comm.gather(std::vector<uint64_t>{hash}, GatherTo::ALL);
    std::string diverged;
    for (size_t r = 1; r < all.size(); ++r)
        if (all[r] != all[0]) diverged += "\n  rank " + std::to_string(r) + ": " + hex64(all[r]);
    if (!diverged.empty())
        throw DistError("replicas diverged " + when +
                        ": parameters or optimizer state differ from rank 0's (" + hex64(all[0]) +
                        ")" + diverged);
}

}  // namespace effnet::dist
