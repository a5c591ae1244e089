#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "common/gpu_test.h"
#include "tensor/context.h"
#include "tensor/tensor.h"

using namespace effnet;

TEST(Shape, NumelRankAndString) {
    Shape s{2, 5, 7, 3};
    EXPECT_EQ(s.rank(), 4);
    EXPECT_EQ(s.numel(), 210);
    EXPECT_EQ(s.str(), "[2, 5, 7, 3]");
    EXPECT_EQ(s.with_dim0(1), (Shape{1, 5, 7, 3}));
    EXPECT_EQ(Shape{}.numel(), 1);  // a scalar
}

TEST(Shape, RejectsTooManyOrNegativeDims) {
    EXPECT_THROW((Shape{1, 2, 3, 4, 5}), ContractError);
    EXPECT_THROW((Shape{2, -1}), ContractError);
    EXPECT_THROW((Shape{2, 3}[2]), ContractError);
}

TEST(Tensor, HostMemoryIs64ByteAligned) {
    for (int64_t n : {1, 3, 17, 1000}) {
        Tensor t = Tensor::empty(Shape{n});
        EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw()) % 64, 0u) << "n=" << n;
    }
}

TEST(Tensor, ZerosFullAndFromVector) {
    Tensor z = Tensor::zeros(Shape{2, 3});
    for (float v : z.to_vector()) EXPECT_EQ(v, 0.0f);
    Tensor f = Tensor::full(Shape{4}, 2.5f);
    for (float v : f.to_vector()) EXPECT_EQ(v, 2.5f);
    Tensor v = Tensor::from_vector(Shape{2, 2}, {1, 2, 3, 4});
    EXPECT_EQ(v.f32()[3], 4.0f);
    EXPECT_THROW(Tensor::from_vector(Shape{3}, {1, 2}), ContractError);
}

TEST(Tensor, ViewsShareMemory) {
    Tensor t = Tensor::from_vector(Shape{3, 2, 2, 1}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
    Tensor flat = t.view(Shape{12});
    flat.f32()[5] = -1.0f;
    EXPECT_EQ(t.f32()[5], -1.0f);
    Tensor rows = t.narrow0(1, 2);
    EXPECT_EQ(rows.shape(), (Shape{2, 2, 2, 1}));
    EXPECT_EQ(rows.f32()[0], 4.0f);
    EXPECT_EQ(rows.f32()[7], 11.0f);
    EXPECT_THROW(t.view(Shape{5}), ContractError);
    EXPECT_THROW(t.narrow0(2, 2), ContractError);
}

TEST(Tensor, TypedAccessChecksDType) {
    Tensor t = Tensor::empty(Shape{4}, Device::CPU, DType::INT32);
    EXPECT_NO_THROW(t.i32());
    EXPECT_THROW(t.f32(), ContractError);
}

TEST(Tensor, ShapeErrorMessageNamesShapes) {
    Tensor a = Tensor::zeros(Shape{2, 3});
    Tensor b = Tensor::zeros(Shape{7});
    try {
        a.copy_from(b);
        FAIL() << "copy between different sizes must throw";
    } catch (const ContractError& e) {
        std::string m = e.what();
        EXPECT_NE(m.find("[7]"), std::string::npos) << m;
        EXPECT_NE(m.find("[2, 3]"), std::string::npos) << m;
    }
}

TEST(Tensor, HostCopyRoundTrip) {
    Tensor a = Tensor::from_vector(Shape{5}, {1, 2, 3, 4, 5});
    Tensor b = a.to(Device::CPU);
    EXPECT_NE(a.raw(), b.raw());
    EXPECT_EQ(b.to_vector(), a.to_vector());
}

TEST(Context, CpuContextNeedsNoCuda) {
    Context ctx(Device::CPU);
    EXPECT_EQ(ctx.stream(), nullptr);
    void* w = ctx.workspace(1000);
    EXPECT_NE(w, nullptr);
    EXPECT_EQ(ctx.workspace(10), w);  // reused, not reallocated
}

TEST(Context, KernelSpecSetsEachFamily) {
    Context ctx;
    EXPECT_EQ(kernel_spec(ctx), kDefaultKernelSpec);
    apply_kernel_spec(ctx, "cudnn");
    EXPECT_EQ(kernel_spec(ctx), "depthwise=cudnn,batchnorm=cudnn,stem=cudnn");
    apply_kernel_spec(ctx, "custom");
    EXPECT_EQ(kernel_spec(ctx), "depthwise=custom,batchnorm=custom,stem=custom");
    apply_kernel_spec(ctx, "batchnorm=cudnn,stem=cudnn");
    EXPECT_EQ(ctx.batchnorm_kernels, KernelChoice::CUDNN);
    EXPECT_EQ(ctx.depthwise_kernels, KernelChoice::CUSTOM);  // untouched
    EXPECT_EQ(ctx.conv_kernels, KernelChoice::CUDNN);
    for (const char* bad :
         {"fast", "depthwise=fast", "pointwise=cudnn", "depthwise=cudnn,", "depthwise"})
        EXPECT_THROW(apply_kernel_spec(ctx, bad), ContractError) << bad;
}

TEST(Context, ResolveDevice) {
    EXPECT_EQ(resolve_device("cpu"), Device::CPU);
    EXPECT_THROW(resolve_device("tpu"), ContractError);
    if (!gpu::available()) {
        EXPECT_EQ(resolve_device("auto"), Device::CPU);
        EXPECT_THROW(resolve_device("cuda"), CudaError);
    }
}

// The CPU-only build has no device branches: it refuses a CUDA tensor where
// it would be made, and a GPU context, saying what to do instead.
TEST(Tensor, CpuOnlyBuildRefusesCudaTensorsAndContexts) {
    if constexpr (kWithCuda) GTEST_SKIP() << "a CUDA build: CUDA tensors exist here";
    EXPECT_FALSE(gpu::compiled());
    EXPECT_FALSE(gpu::available());
    EXPECT_NE(gpu::status().find("built without CUDA"), std::string::npos) << gpu::status();
    try {
        Tensor::zeros(Shape{2, 3}, Device::CUDA);
        ADD_FAILURE() << "a CUDA tensor was made";
    } catch (const CudaError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("built without CUDA"), std::string::npos) << what;
        EXPECT_NE(what.find("use --device cpu"), std::string::npos) << what;
        EXPECT_NE(what.find("[2, 3]"), std::string::npos) << what;
    }
    float host = 0;
    EXPECT_THROW(Tensor::wrap(&host, Shape{1}, Device::CUDA), CudaError);
    EXPECT_THROW(Context{Device::CUDA}, ContractError);
    EXPECT_FALSE(Tensor::pinned(Shape{4}).is_pinned())
        << "pinned tensors are plain host memory here";
}

TEST(TensorGpu, CopyRoundTripHostDeviceHost) {
    EFFNET_REQUIRE_GPU();
    std::vector<float> v(1037);
    for (size_t i = 0; i < v.size(); ++i) v[i] = 0.5f * float(i) - 3.0f;
    Tensor h = Tensor::from_vector(Shape{int64_t(v.size())}, v);
    Tensor d = h.to(Device::CUDA);
    EXPECT_TRUE(d.is_cuda());
    Tensor d2 = Tensor::empty(d.shape(), Device::CUDA);
    d2.fill(NAN);
    d2.copy_from(d);
    EXPECT_EQ(d2.to_vector(), v);
    Tensor p = Tensor::pinned(d.shape());
    EXPECT_TRUE(p.is_pinned());
    p.copy_from(d2);
    EXPECT_EQ(p.to_vector(), v);
}

TEST(TensorGpu, FillAndZeroOnDevice) {
    EFFNET_REQUIRE_GPU();
    Tensor d = Tensor::full(Shape{3, 333}, 1.25f, Device::CUDA);
    for (float x : d.to_vector()) ASSERT_EQ(x, 1.25f);
    d.zero();
    for (float x : d.to_vector()) ASSERT_EQ(x, 0.0f);
}

TEST(TensorGpu, ContextCreatesHandles) {
    EFFNET_REQUIRE_GPU();
    Context ctx(Device::CUDA);
    EXPECT_NE(ctx.stream(), nullptr);
    EXPECT_NE(ctx.cublas(), nullptr);
    EXPECT_NE(ctx.cudnn(), nullptr);
}
