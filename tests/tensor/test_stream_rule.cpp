// The stream rule of tensor/tensor.h, checked on the CPU against the deferred
// fake runtime (tests/tensor/fake_gpu_runtime.h): device fills, copies and
// random fills go to the one device stream, every host read of device data
// synchronises that stream first, and a GPU Context uses the same stream.
// With the fake, a read that skipped the synchronisation returns poison, so
// each check here fails when the rule is broken.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "tensor/caching_allocator.h"
#include "tensor/context.h"
#include "tensor/random.h"
#include "tensor/tensor.h"
#include "tests/tensor/fake_gpu_runtime.h"
#include "tests/tensor/fake_gpu_test.h"

using namespace effnet;

namespace {
class StreamRule : public test::FakeGpuTest {
protected:
    // Every enqueue and synchronisation of the test went to the device stream.
    static void expect_all_on_device_stream() {
        for (const auto& c : fake_gpu::calls())
            EXPECT_EQ(c.stream, gpu::device_stream()) << c.op << " used another stream";
    }
    static std::vector<float> iota(size_t n) {
        std::vector<float> v(n);
        for (size_t i = 0; i < n; ++i) v[i] = float(i) * 0.5f - 7.0f;
        return v;
    }
};
}  // namespace

TEST_F(StreamRule, TheFakeDefersWorkUntilTheStreamIsSynchronised) {
    // Negative control: without a synchronisation a device read sees poison,
    // so the checks below can fail.
    Tensor d = Tensor::full(Shape{8}, 3.0f, Device::CUDA);
    std::vector<float> host(8, 0.0f);
    gpu::memcpy_async(host.data(), d.raw(), d.nbytes(), gpu::CopyKind::DEVICE_TO_HOST,
                      gpu::device_stream());
    EXPECT_TRUE(std::isnan(host[0]))
        << "the copy's destination must hold poison until the stream runs it";
    gpu::synchronize(gpu::device_stream());
    EXPECT_EQ(host[0], 3.0f);
}

TEST_F(StreamRule, FillsAndZerosAreReadBackAfterTheirStreamCompletes) {
    Tensor z = Tensor::zeros(Shape{3, 5}, Device::CUDA);
    for (float v : z.to_vector()) ASSERT_EQ(v, 0.0f);
    Tensor f = Tensor::full(Shape{7}, -2.5f, Device::CUDA);
    for (float v : f.to_vector()) ASSERT_EQ(v, -2.5f);
    f.fill(4.0f);
    f.zero();
    f.fill(1.5f);  // the last of three queued writes wins only if they run in order
    for (float v : f.to_vector()) ASSERT_EQ(v, 1.5f);
    expect_all_on_device_stream();
}

TEST_F(StreamRule, CopiesWithAHostSideCompleteBeforeReturning) {
    std::vector<float> v = iota(100);
    Tensor h = Tensor::from_vector(Shape{100}, v);
    Tensor d = h.to(Device::CUDA);
    h.f32()[0] = 999.0f;  // the source may change as soon as to() returns
    Tensor d2 = Tensor::empty(Shape{100}, Device::CUDA);
    d2.copy_from(d);  // device to device: ordered on the stream
    EXPECT_EQ(d2.to_vector(), v);
    Tensor back = Tensor::empty(Shape{100});
    back.copy_from(d2);
    EXPECT_EQ(back.to_vector(), v);
    expect_all_on_device_stream();
}

TEST_F(StreamRule, AsyncHostCopyReadsItsSourceUntilItsEventCompletes) {
    std::vector<float> v = iota(64);
    Tensor staging = Tensor::pinned(Shape{64});
    std::memcpy(staging.raw(), v.data(), staging.nbytes());
    Tensor d = Tensor::empty(Shape{64}, Device::CUDA);
    gpu::Event read;
    d.copy_from_host_async(staging, read);
    EXPECT_TRUE(read.recorded());
    EXPECT_EQ(fake_gpu::pending(), 1u) << "the asynchronous copy must not wait";
    read.wait();  // what Loader::next does before refilling the buffer
    staging.fill(-1.0f);
    EXPECT_EQ(d.to_vector(), v);
    expect_all_on_device_stream();
}

TEST_F(StreamRule, ReusingAStagingBufferBeforeItsEventCorruptsTheCopy) {
    // Why the loader waits: refilling before the event completes changes what the queued copy reads.
    Tensor staging = Tensor::pinned(Shape{4});
    staging.fill(1.0f);
    Tensor d = Tensor::empty(Shape{4}, Device::CUDA);
    gpu::Event read;
    d.copy_from_host_async(staging, read);
    staging.fill(2.0f);
    EXPECT_EQ(d.to_vector(), std::vector<float>(4, 2.0f));
    read.wait();
}

TEST_F(StreamRule, RandomFillsRunOnTheDeviceStreamAndMatchTheCpu) {
    Tensor h = Tensor::empty(Shape{257});
    Tensor d = Tensor::empty(Shape{257}, Device::CUDA);
    fill_normal(h, 5, 3, 0.0f, 1.0f);
    fill_normal(d, 5, 3, 0.0f, 1.0f);
    EXPECT_EQ(d.to_vector(), h.to_vector());
    expect_all_on_device_stream();
}

TEST_F(StreamRule, AGpuContextUsesTheDeviceStreamForItsHandles) {
    Context ctx(Device::CUDA);
    EXPECT_EQ(ctx.stream(), gpu::device_stream());
    int handles = 0;
    for (const auto& c : fake_gpu::calls())
        if (c.op == "create_cublas" || c.op == "create_cudnn") {
            ++handles;
            EXPECT_EQ(c.stream, gpu::device_stream()) << c.op;
        }
    EXPECT_EQ(handles, 2);
    void* ws = ctx.workspace(4096);
    EXPECT_EQ(ctx.workspace(100), ws) << "a workspace that fits is reused";
    ctx.synchronize();
    EXPECT_EQ(fake_gpu::calls().back().op, "sync");
    EXPECT_EQ(fake_gpu::calls().back().stream, gpu::device_stream());
}

TEST_F(StreamRule, TheWorkspaceRefusesToGrowDuringGraphCapture) {
    Context ctx(Device::CUDA);
    void* ws = ctx.workspace(1024);
    fake_gpu::set_capturing(true);
    EXPECT_EQ(ctx.workspace(512), ws) << "a workspace that fits is fine during capture";
    EXPECT_THROW(ctx.workspace(1 << 20), ContractError);
    fake_gpu::set_capturing(false);
    EXPECT_NO_THROW(ctx.workspace(1 << 20));
}
