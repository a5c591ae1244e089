#include <gtest/gtest.h>

#include <cmath>

#include "layers/basic.h"
#include "optim/adamw.h"

using namespace effnet;

TEST(AdamWOptimizer, DecaysWeightsButNotBiases) {
    Linear lin(2, 1);
    ParameterStore store(lin, Device::CPU);
    Context ctx;
    store.values().fill(1.0f);  // weights and bias all 1, gradients all 0
    AdamWConfig cfg;
    cfg.lr = 0.5;
    cfg.weight_decay = 0.1;
    AdamW opt(store, cfg);
    opt.step(ctx);
    std::vector<NamedParam> ps;
    lin.collect_params("", ps);
    for (float w : ps[0].value.to_vector()) EXPECT_FLOAT_EQ(w, 1.0f - 0.5f * 0.1f);  // decayed only
    EXPECT_FLOAT_EQ(ps[1].value.to_vector()[0], 1.0f);  // bias untouched
    EXPECT_EQ(opt.steps(), 1);
    cfg.decay_all = true;
    AdamW all(store, cfg);
    all.step(ctx);
    EXPECT_FLOAT_EQ(ps[1].value.to_vector()[0], 0.95f);
}
