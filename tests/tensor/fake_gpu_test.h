// The fixture of the tests against the fake runtime (fake_gpu_runtime.h):
// each starts with an empty call log and must end with nothing left queued;
// what is left is dropped, so one failing test cannot corrupt the next.
#pragma once

#include <gtest/gtest.h>

#include "tensor/caching_allocator.h"
#include "tests/tensor/fake_gpu_runtime.h"

namespace effnet::test {

class FakeGpuTest : public ::testing::Test {
protected:
    void SetUp() override { fake_gpu::reset_calls(); }
    void TearDown() override {
        EXPECT_EQ(fake_gpu::pending(), 0u) << "work left queued at the end of the test";
        fake_gpu::discard_pending();
        device_allocator().release_cache();
    }
};

}  // namespace effnet::test
