#include <gtest/gtest.h>

#include <map>
#include <memory>

#include "data/loader.h"
#include "data/mixup.h"
#include "data_fixtures.h"
#include "tensor/error.h"

using namespace effnet;
using namespace effnet::test;

namespace {
PipelineConfig small_pipeline(bool augment) {
    PipelineConfig p;
    p.image_size = 32;
    p.phantom_seed = 3;
    p.augment.enabled = augment;
    return p;
}

std::vector<std::vector<float>> epoch_batches(Loader& l, int epoch,
                                              std::vector<std::vector<int>>* labels = nullptr) {
    std::vector<std::vector<float>> out;
    l.start_epoch(epoch);
    Batch b;
    while (l.next(b)) {
        out.push_back(b.images.to_vector());
        if (labels) {
            labels->emplace_back();
            for (int64_t i = 0; i < b.size(); ++i) labels->back().push_back(b.labels.i32()[i]);
        }
    }
    return out;
}
}  // namespace

TEST(Loader, SameBatchesForAnyWorkerCount) {
    Dataset ds = phantom_dataset(3, 37, 0, 0);
    std::vector<std::vector<float>> ref;
    for (int workers : {0, 1, 3}) {
        LoaderConfig c;
        c.batch_size = 8;
        c.workers = workers;
        c.prefetch = 2;
        c.shuffle = true;
        c.seed = 11;
        Loader l(ds.samples, small_pipeline(true), c, nullptr);
        EXPECT_EQ(l.batches_per_epoch(), 5);
        auto batches = epoch_batches(l, 2);
        ASSERT_EQ(batches.size(), 5u);
        EXPECT_EQ(batches.back().size(), size_t(5 * 32 * 32 * 3));  // 37 = 4*8 + 5
        if (ref.empty()) {
            ref = batches;
        } else {
            EXPECT_EQ(batches, ref) << "workers=" << workers;
        }
    }
}

TEST(Loader, ReshufflesEachEpochAndLabelsFollowSamples) {
    Dataset ds = phantom_dataset(3, 24, 0, 0);
    LoaderConfig c;
    c.batch_size = 24;
    c.shuffle = true;
    c.seed = 1;
    Loader l(ds.samples, small_pipeline(false), c, nullptr);
    std::vector<std::vector<int>> l0, l1;
    auto e0 = epoch_batches(l, 0, &l0), e1 = epoch_batches(l, 1, &l1);
    EXPECT_NE(e0, e1);
    std::vector<int> a = l0[0], b = l1[0];
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    EXPECT_EQ(a, b);  // the same samples, in another order
}

TEST(Loader, NormalisesGreyToThreeChannelsOrOne) {
    Dataset ds = phantom_dataset(3, 2, 0, 0);
    PipelineConfig p = small_pipeline(false);
    std::vector<float> three(32 * 32 * 3), one(32 * 32);
    load_sample(ds.samples[0], p, 0, 0, three.data());
    p.channels = 1;
    load_sample(ds.samples[0], p, 0, 0, one.data());
    // Channel c of pixel i is (x - mean_c) / std_c for the same x.
    const float x = three[0] * 0.229f + 0.485f;
    EXPECT_NEAR(three[1], (x - 0.456f) / 0.224f, 1e-5);
    EXPECT_NEAR(one[0], (x - (0.485f + 0.456f + 0.406f) / 3) / ((0.229f + 0.224f + 0.225f) / 3),
                1e-5);
}

TEST(Loader, BadFilesAreSkippedAndCountedOrStopUnderStrict) {
    auto d = scratch_dir("loader_bad");
    std::vector<Sample> samples;
    for (int i = 0; i < 6; ++i) {
        fs::path p = d / ("img" + std::to_string(i) + ".png");
        if (i == 2)
            write_bytes(p, {1, 2, 3});  // corrupt
        else if (i != 4)
            write_grey_png(p, 40, 30, std::vector<uint8_t>(1200, uint8_t(20 * i)));
        samples.push_back({p.string(), i % 2, Split::TRAIN, "", -1, {}});  // img4.png is missing
    }
    LoaderConfig c;
    c.batch_size = 4;
    BadFileLog log;
    Loader l(samples, small_pipeline(false), c, &log);
    l.start_epoch(0);
    Batch b;
    int64_t seen = 0;
    while (l.next(b)) seen += b.size();
    EXPECT_EQ(seen, 4);
    ASSERT_EQ(log.count(), 2u);
    std::map<std::string, std::string> reasons;  // workers may log in either order
    for (auto& [path, reason] : log.entries()) reasons[fs::path(path).filename().string()] = reason;
    ASSERT_EQ(reasons.count("img2.png") + reasons.count("img4.png"), 2u);
    EXPECT_NE(reasons["img2.png"].find("unsupported image format"), std::string::npos)
        << reasons["img2.png"];
    EXPECT_NE(reasons["img4.png"].find("cannot open"), std::string::npos) << reasons["img4.png"];
    c.strict = true;
    Loader strict(samples, small_pipeline(false), c, nullptr);
    strict.start_epoch(0);
    try {
        while (strict.next(b)) {
        }
        FAIL() << "strict mode must stop on a bad file";
    } catch (const IoError& e) {
        EXPECT_NE(std::string(e.what()).find("img2.png"), std::string::npos) << e.what();
    }
}

TEST(Loader, CacheGivesIdenticalBatchesAndFillsWithinBudget) {
    Dataset ds = phantom_dataset(3, 40, 0, 0);
    std::vector<std::vector<float>> ref;
    for (int64_t cache_mb : {0, 1024}) {
        LoaderConfig c;
        c.batch_size = 8;
        c.shuffle = true;
        c.seed = 4;
        c.cache_mb = cache_mb;
        Loader l(ds.samples, small_pipeline(true), c, nullptr);
        auto e0 = epoch_batches(l, 0), e1 = epoch_batches(l, 1);
        EXPECT_EQ(l.cached(), cache_mb ? 40u : 0u);
        e0.insert(e0.end(), e1.begin(), e1.end());
        if (ref.empty()) {
            ref = e0;
        } else {
            EXPECT_EQ(e0, ref) << "the cache must not change any batch";
        }
    }
    LoaderConfig tiny;
    tiny.cache_mb = 0;
    Loader none(ds.samples, small_pipeline(false), tiny, nullptr);
    epoch_batches(none, 0);
    EXPECT_EQ(none.cached(), 0u);
}

// --mixup in the loader: each batch arrives blended in pairs by position,
// with the partners' labels and the batch's lambda, the same for any worker
// count; two ranks whose shares are even pair as the whole batch does.
TEST(Loader, MixupBlendsPairsByPositionForAnyWorkerOrShardCount) {
    Dataset ds = phantom_dataset(3, 36, 0, 0);  // 4 batches of 8 and one of 4
    LoaderConfig c;
    c.batch_size = 8;
    c.workers = 0;
    c.shuffle = true;
    c.seed = 11;
    Loader plain(ds.samples, small_pipeline(true), c, nullptr);
    c.mixup_alpha = 0.4;
    std::vector<std::vector<float>> by_workers;
    for (int workers : {0, 2}) {
        c.workers = workers;
        Loader l(ds.samples, small_pipeline(true), c, nullptr);
        by_workers.push_back({});
        l.start_epoch(1);
        plain.start_epoch(1);
        Batch m, p;
        while (l.next(m)) {
            ASSERT_TRUE(plain.next(p));
            const int64_t n = m.size(), per = m.images.numel() / n;
            ASSERT_EQ(m.partner_labels.numel(), n);
            EXPECT_EQ(m.mix_lambda, mixup_lambda(0.4, 11, (uint64_t(1) << 32) | uint64_t(m.index)));
            const std::vector<float> x = p.images.to_vector(), y = m.images.to_vector();
            for (int64_t i = 0; i < n; ++i) {
                const int64_t j = mixup_partner(i, n, 0);
                EXPECT_EQ(m.partner_labels.i32()[i], p.labels.i32()[j]);
                EXPECT_EQ(m.labels.i32()[i], p.labels.i32()[i]);
                for (int64_t k = 0; k < per; k += 97)
                    ASSERT_NEAR(y[size_t(i * per + k)],
                                m.mix_lambda * x[size_t(i * per + k)] +
                                    (1 - m.mix_lambda) * x[size_t(j * per + k)],
                                1e-5)
                        << "batch " << m.index << " image " << i;
            }
            by_workers.back().insert(by_workers.back().end(), y.begin(), y.end());
        }
        EXPECT_FALSE(plain.next(p));
    }
    EXPECT_EQ(by_workers[0], by_workers[1]);
    // Two ranks of 4 images each: together the same images as one process.
    std::vector<float> sharded;
    std::vector<Batch> shares(2);
    std::vector<std::unique_ptr<Loader>> ranks;
    for (int r = 0; r < 2; ++r) {
        LoaderConfig rc = c;
        rc.shard_rank = r;
        rc.shard_count = 2;
        ranks.push_back(std::make_unique<Loader>(ds.samples, small_pipeline(true), rc, nullptr));
        ranks.back()->start_epoch(1);
    }
    while (ranks[0]->next(shares[0])) {
        ASSERT_TRUE(ranks[1]->next(shares[1]));
        for (const Batch& b : shares) {
            const std::vector<float> v = b.images.to_vector();
            sharded.insert(sharded.end(), v.begin(), v.end());
        }
    }
    EXPECT_EQ(sharded, by_workers[0]);
}
