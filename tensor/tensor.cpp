#include "tensor/tensor.h"

#include <cstdlib>
#include <cstring>

#include "tensor/caching_allocator.h"
#include "tensor/error.h"
#include "tensor/gpu_runtime.h"

namespace effnet {

void* aligned_host_alloc(size_t bytes) {
    size_t rounded = (bytes + 63) / 64 * 64;
    if (rounded == 0) rounded = 64;
    void* p = std::aligned_alloc(64, rounded);
    if (!p)
        throw OutOfMemoryError("host out of memory: requested " + std::to_string(bytes) + " bytes");
    return p;
}

void aligned_host_free(void* p) { std::free(p); }

enum class StorageKind { HOST, PINNED, DEVICE };

// Pinned and device storage exist only in the CUDA build: the CPU-only build
// refuses a CUDA tensor where it would be made (Tensor::empty, Tensor::wrap)
// and makes "pinned" tensors in plain host memory (Tensor::pinned).
class Storage {
public:
    Storage(size_t bytes, StorageKind kind) : kind_(kind) {
        if (kind == StorageKind::HOST)
            ptr_ = aligned_host_alloc(bytes);
        else if constexpr (kWithCuda)
            ptr_ = kind == StorageKind::PINNED ? gpu::pinned_malloc(bytes)
                                               : device_allocator().allocate(bytes);
    }
    ~Storage() {
        if (kind_ == StorageKind::HOST)
            aligned_host_free(ptr_);
        else if constexpr (kWithCuda)
            kind_ == StorageKind::PINNED ? gpu::pinned_free(ptr_)
                                         : device_allocator().deallocate(ptr_);
    }
    Storage(const Storage&) = delete;
    Storage& operator=(const Storage&) = delete;
    void* ptr() const { return ptr_; }
    StorageKind kind() const { return kind_; }

private:
    void* ptr_ = nullptr;
    StorageKind kind_;
};

namespace {
// The CPU-only build has no device memory: a CUDA tensor is refused where it would be made.
void check_device_built(Device device, const Shape& shape, const char* op) {
    if (!kWithCuda && device == Device::CUDA)
        detail::throw_built_without_cuda(std::string(op) + ": a CUDA tensor " + shape.str());
}
}  // namespace

Tensor Tensor::empty(const Shape& shape, Device device, DType dtype) {
    check_device_built(device, shape, "Tensor::empty");
    Tensor t;
    t.shape_ = shape;
    t.dtype_ = dtype;
    t.device_ = device;
    t.storage_ = std::make_shared<Storage>(
        t.nbytes(), device == Device::CUDA ? StorageKind::DEVICE : StorageKind::HOST);
    t.data_ = t.storage_->ptr();
    return t;
}

Tensor Tensor::zeros(const Shape& shape, Device device, DType dtype) {
    Tensor t = empty(shape, device, dtype);
    t.zero();
    return t;
}

Tensor Tensor::full(const Shape& shape, float value, Device device) {
    Tensor t = empty(shape, device);
    t.fill(value);
    return t;
}

Tensor Tensor::pinned(const Shape& shape, DType dtype) {
    if (!gpu::available()) return empty(shape, Device::CPU, dtype);
    Tensor t;
    t.shape_ = shape;
    t.dtype_ = dtype;
    t.storage_ = std::make_shared<Storage>(t.nbytes(), StorageKind::PINNED);
    t.data_ = t.storage_->ptr();
    return t;
}

Tensor Tensor::from_vector(const Shape& shape, const std::vector<float>& values) {
    EFFNET_CHECK(static_cast<int64_t>(values.size()) == shape.numel(),
                 "from_vector: " << values.size() << " values for shape " << shape);
    Tensor t = empty(shape);
    if (!values.empty()) std::memcpy(t.data_, values.data(), values.size() * sizeof(float));
    return t;
}

Tensor Tensor::wrap(void* data, const Shape& shape, Device device, DType dtype) {
    check_device_built(device, shape, "Tensor::wrap");
    Tensor t;
    t.data_ = data;
    t.shape_ = shape;
    t.device_ = device;
    t.dtype_ = dtype;
    return t;
}

bool Tensor::is_pinned() const { return storage_ && storage_->kind() == StorageKind::PINNED; }

float* Tensor::f32() const {
    EFFNET_CHECK(dtype_ == DType::FLOAT32,
                 "tensor " << shape_ << " is " << dtype_name(dtype_) << ", not F32");
    return static_cast<float*>(data_);
}

int32_t* Tensor::i32() const {
    EFFNET_CHECK(dtype_ == DType::INT32,
                 "tensor " << shape_ << " is " << dtype_name(dtype_) << ", not I32");
    return static_cast<int32_t*>(data_);
}

Tensor Tensor::view(const Shape& shape) const {
    EFFNET_CHECK(shape.numel() == numel(),
                 "view " << shape << " of a tensor " << shape_ << ": element counts differ");
    Tensor t = *this;
    t.shape_ = shape;
    return t;
}

Tensor Tensor::narrow0(int64_t start, int64_t len) const {
    EFFNET_CHECK(rank() >= 1 && start >= 0 && len >= 0 && start + len <= shape_[0],
                 "narrow0(" << start << ", " << len << ") of " << shape_);
    Tensor t = *this;
    t.shape_ = shape_.with_dim0(len);
    const int64_t row = shape_[0] ? numel() / shape_[0] : 0;
    t.data_ = static_cast<char*>(data_) + static_cast<size_t>(start * row) * dtype_size(dtype_);
    return t;
}

Tensor Tensor::to(Device device) const {
    Tensor t = empty(shape_, device, dtype_);
    t.copy_from(*this);
    return t;
}

namespace {
// Used only in the CUDA branches, which the CPU-only build compiles away.
[[maybe_unused]] gpu::CopyKind copy_kind(Device dst, Device src) {
    return dst == Device::CPU   ? gpu::CopyKind::DEVICE_TO_HOST
           : src == Device::CPU ? gpu::CopyKind::HOST_TO_DEVICE
                                : gpu::CopyKind::DEVICE_TO_DEVICE;
}
void check_copy(const Tensor& dst, const Tensor& src) {
    EFFNET_CHECK(src.numel() == dst.numel() && src.dtype() == dst.dtype(),
                 "copy_from: " << src.shape() << " " << dtype_name(src.dtype()) << " into "
                               << dst.shape() << " " << dtype_name(dst.dtype()));
}
}  // namespace

void Tensor::copy_from(const Tensor& src) {
    check_copy(*this, src);
    if (nbytes() == 0) return;
    if (device_ == Device::CPU && src.device_ == Device::CPU) {
        std::memcpy(data_, src.data_, nbytes());
        return;
    }
    if constexpr (kWithCuda) {
        CudaStream stream = gpu::device_stream();
        gpu::memcpy_async(data_, src.data_, nbytes(), copy_kind(device_, src.device_), stream);
        // A host side is involved: wait, so the host may read the result or reuse the source.
        if (device_ == Device::CPU || src.device_ == Device::CPU) gpu::synchronize(stream);
    }
}

void Tensor::copy_from_host_async(const Tensor& src, gpu::Event& src_read) {
    check_copy(*this, src);
    EFFNET_CHECK(device_ == Device::CUDA && src.device_ == Device::CPU,
                 "copy_from_host_async copies host memory into a device tensor");
    if (nbytes() == 0) return;
    if constexpr (kWithCuda) {
        CudaStream stream = gpu::device_stream();
        gpu::memcpy_async(data_, src.data_, nbytes(), gpu::CopyKind::HOST_TO_DEVICE, stream);
        src_read.record(stream);
    }
}

void Tensor::fill(float value) {
    EFFNET_CHECK(dtype_ == DType::FLOAT32, "fill needs an F32 tensor, got " << dtype_name(dtype_));
    if (device_ == Device::CUDA) {
        if constexpr (kWithCuda)
            gpu::fill_f32(f32(), static_cast<size_t>(numel()), value, gpu::device_stream());
        return;
    }
    float* p = f32();
    for (int64_t i = 0, n = numel(); i < n; ++i) p[i] = value;
}

void Tensor::zero() {
    if (nbytes() == 0) return;
    if (device_ == Device::CPU)
        std::memset(data_, 0, nbytes());
    else if constexpr (kWithCuda)
        gpu::memset_zero_async(data_, nbytes(), gpu::device_stream());
}

std::vector<float> Tensor::to_vector() const {
    Tensor host = device_ == Device::CPU ? *this : to(Device::CPU);
    std::vector<float> v(static_cast<size_t>(numel()));
    const float* p = host.f32();
    std::copy(p, p + numel(), v.begin());
    return v;
}

}  // namespace effnet
