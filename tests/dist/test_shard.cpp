// The pure arithmetic of dist/: shards, threads, the replica hash and the
// fixed-order average, and the single-process communicator's identity.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <numeric>

#include "dist/communicator.h"
#include "dist/ordered_average.h"
#include "dist/replicas.h"
#include "dist/shard.h"

using namespace effnet;
using namespace effnet::dist;

namespace {
// Every position of the epoch in the order the ranks' shares visit them,
// batch by batch, rank by rank: the order a 1-process run trains in.
std::vector<int64_t> concatenated_shares(int64_t images, int64_t batch, int ranks, bool training) {
    std::vector<int64_t> seen;
    for (int64_t b = 0; b < global_batches(images, batch, ranks, training); ++b)
        for (int r = 0; r < ranks; ++r) {
            const Share s = batch_share(images, batch, b, r, ranks);
            for (int64_t i = 0; i < s.count; ++i) seen.push_back(s.begin + i);
        }
    return seen;
}
}  // namespace

TEST(Shard, SharesOfEveryRankTileEachGlobalBatchInOrder) {
    for (int ranks : {1, 2, 3, 4})
        for (int64_t images : {1, 7, 32, 100, 101}) {
            const int64_t batch = 4 * ranks;
            std::vector<int64_t> all{};
            all.resize(size_t(images));
            std::iota(all.begin(), all.end(), 0);
            EXPECT_EQ(concatenated_shares(images, batch, ranks, false), all)
                << images << " images, " << ranks << " ranks";
        }
}

TEST(Shard, FullBatchesSplitEvenly) {
    for (int r = 0; r < 4; ++r) {
        const Share s = batch_share(100, 32, 2, r, 4);
        EXPECT_EQ(s.begin, 64 + 8 * r);
        EXPECT_EQ(s.count, 8);
    }
}

TEST(Shard, LastPartialBatchSplitsNearEvenlyOnEveryRank) {
    // 70 images, global batch 32, 3 ranks can't be (32 % 3), so 30: the last batch holds 10 -> 3, 3, 4.
    EXPECT_EQ(global_batches(70, 30, 3, true), 3);
    std::vector<int64_t> counts;
    for (int r = 0; r < 3; ++r) counts.push_back(batch_share(70, 30, 2, r, 3).count);
    EXPECT_EQ(counts, (std::vector<int64_t>{3, 3, 4}));
}

TEST(Shard, TrainingLeavesOutALastBatchSmallerThanTheRankCount) {
    // 65 images in batches of 32 over 2 ranks: the last "batch" is one image, which one rank cannot share.
    EXPECT_EQ(global_batches(65, 32, 2, true), 2);
    EXPECT_EQ(global_batches(65, 32, 2, false), 3);  // evaluation keeps it; rank 1's share is empty
    EXPECT_EQ(batch_share(65, 32, 2, 0, 2).count, 0);
    EXPECT_EQ(batch_share(65, 32, 2, 1, 2).count, 1);
    EXPECT_EQ(global_batches(65, 32, 1, true), 3);  // one process keeps everything
    EXPECT_EQ(global_batches(66, 32, 2, true), 3);
}

TEST(Shard, OneRankIsTheWholeBatch) {
    const Share s = batch_share(50, 16, 3, 0, 1);
    EXPECT_EQ(s.begin, 48);
    EXPECT_EQ(s.count, 2);
}

TEST(Shard, GlobalBatchMustSplitEvenly) {
    EXPECT_NO_THROW(check_global_batch(32, 4));
    EXPECT_EQ(local_batch(32, 4), 8);
    try {
        check_global_batch(30, 4);
        FAIL() << "30 over 4 ranks accepted";
    } catch (const ContractError& e) {
        EXPECT_NE(std::string(e.what()).find("try 28 or 32"), std::string::npos) << e.what();
    }
    EXPECT_THROW(check_global_batch(2, 3), ContractError);     // fewer images than ranks
    EXPECT_THROW(batch_share(10, 4, 3, 0, 2), ContractError);  // past the epoch
}

TEST(Shard, ThreadsSplitTheHostsCoresOverItsRanks) {
    EXPECT_EQ(threads_per_rank(16, 4, 0), 4);
    EXPECT_EQ(threads_per_rank(2, 2, 0), 1);
    EXPECT_EQ(threads_per_rank(2, 3, 0), 1);   // never 0
    EXPECT_EQ(threads_per_rank(16, 4, 3), 3);  // --threads wins
    EXPECT_EQ(threads_per_rank(8, 1, 0), 8);
}

TEST(ByteHash, EqualBytesHashEquallyAndOneBitChangesIt) {
    std::vector<float> a(1003), b;
    for (size_t i = 0; i < a.size(); ++i) a[i] = float(i) * 0.25f;
    b = a;
    ByteHash ha, hb;
    ha.add(a.data(), a.size() * 4);
    hb.add(b.data(), b.size() * 4);
    EXPECT_EQ(ha.value(), hb.value());
    for (size_t at : {size_t(0), size_t(500), a.size() - 1}) {  // first, middle and the 4-byte tail
        std::vector<float> c = a;
        uint32_t bits;
        std::memcpy(&bits, &c[at], 4);
        bits ^= 1u;
        std::memcpy(&c[at], &bits, 4);
        ByteHash hc;
        hc.add(c.data(), c.size() * 4);
        EXPECT_NE(hc.value(), ha.value()) << at;
    }
    ByteHash shorter;  // a trailing zero counts
    std::vector<uint8_t> z1{1, 0}, z2{1};
    shorter.add(z2.data(), 1);
    ByteHash longer;
    longer.add(z1.data(), 2);
    EXPECT_NE(shorter.value(), longer.value());
    EXPECT_EQ(hex64(0xabcull), "0000000000000abc");
}

TEST(OrderedAverage, SumsInRankOrderInDoubleAndRoundsOnce) {
    // Three ranks' contributions where float left-to-right summation loses the small terms.
    const std::vector<float> contrib = {1e8f,  3.0f,  0.5f,     // rank 0
                                        1.0f,  -3.0f, 0.25f,    // rank 1
                                        -1e8f, 1.0f,  0.125f};  // rank 2
    std::vector<float> out(3);
    average_in_rank_order(contrib.data(), 3, 3, out.data());
    EXPECT_EQ(out[0], float((1e8 + 1.0 - 1e8) / 3.0));  // float sums would give 0
    EXPECT_EQ(out[1], float(1.0 / 3.0));
    EXPECT_EQ(out[2], float(0.875 / 3.0));
    std::vector<float> one = {0.1f, -7.5f};
    average_in_rank_order(one.data(), 1, 2, one.data());  // in place, N = 1: unchanged bits
    EXPECT_EQ(one, (std::vector<float>{0.1f, -7.5f}));
}

TEST(OrderedAverage, SegmentsTileTheBuffer) {
    for (size_t n : {size_t(0), size_t(1), size_t(10), size_t(4010110)})
        for (int parts : {1, 2, 3, 7}) {
            size_t next = 0;
            for (int p = 0; p < parts; ++p) {
                const Segment s = segment_of(n, p, parts);
                EXPECT_EQ(s.begin, next);
                next += s.count;
            }
            EXPECT_EQ(next, n);
        }
}

TEST(SingleProcess, CollectivesAreTheIdentity) {
    SingleProcess comm;
    Context ctx;
    EXPECT_EQ(comm.rank(), 0);
    EXPECT_EQ(comm.size(), 1);
    Tensor t = Tensor::from_vector(Shape{3}, {1.5f, -2.0f, 0.1f});
    comm.all_reduce_average(t, ctx);
    comm.broadcast(t, ctx);
    EXPECT_EQ(t.to_vector(), (std::vector<float>{1.5f, -2.0f, 0.1f}));
    EXPECT_EQ(comm.all_reduce_sum(std::vector<double>{2.5, 3}), (std::vector<double>{2.5, 3}));
    EXPECT_EQ(comm.gather(std::vector<int>{4, 5}, GatherTo::ROOT), (std::vector<int>{4, 5}));
    EXPECT_EQ(comm.broadcast_string("abc"), "abc");
    EXPECT_NO_THROW(check_replicas(comm, 42, "after step 1"));
}

TEST(SingleProcess, OpenedWhenNotLaunchedByMpirun) {
    if (launched_ranks() > 1) GTEST_SKIP() << "this test process was itself started by mpirun";
    auto comm = open_communicator({});
    EXPECT_EQ(comm->describe(), "single process");
}

TEST(StateHash, CoversTensorsAndIntegers) {
    Tensor a = Tensor::from_vector(Shape{2}, {1, 2});
    const uint64_t h = state_hash({&a}, {7});
    EXPECT_EQ(state_hash({&a}, {7}), h);
    EXPECT_NE(state_hash({&a}, {8}), h);
    a.f32()[1] = std::nextafter(2.0f, 3.0f);
    EXPECT_NE(state_hash({&a}, {7}), h);
}
