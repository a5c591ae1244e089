#include "io/weights.h"

#include <cstring>
#include <set>

#include "tensor/error.h"

namespace effnet {

namespace {
struct Target {
    std::string name;
    Tensor* value;  // for buffers
    Tensor view;    // for parameters
    Tensor& tensor() { return value ? *value : view; }
};

std::vector<Target> targets(Layer& model) {
    std::vector<Target> out;
    std::vector<NamedParam> params;
    model.collect_params("", params);
    for (auto& p : params) out.push_back({p.name, nullptr, p.value});
    std::vector<NamedBuffer> buffers;
    model.collect_buffers("", buffers);
    for (auto& b : buffers) out.push_back({b.name, b.value, Tensor()});
    return out;
}
}  // namespace

void check_finite(const SafetensorsEntry& e, const std::string& path) {
    // An all-ones exponent is an infinity (zero mantissa) or a NaN.
    struct Layout {
        uint32_t exponent, mantissa;
        size_t width;
    };
    Layout f;
    if (e.dtype == DType::FLOAT32)
        f = {0x7F800000u, 0x007FFFFFu, 4};
    else if (e.dtype == DType::FLOAT16)
        f = {0x7C00u, 0x03FFu, 2};
    else if (e.dtype == DType::BFLOAT16)
        f = {0x7F80u, 0x007Fu, 2};
    else
        return;
    const uint32_t exponent = f.exponent, mantissa = f.mantissa;
    const size_t width = f.width;
    int64_t nans = 0, infs = 0, first = -1;
    const size_t n = e.bytes.size() / width;
    for (size_t i = 0; i < n; ++i) {
        uint32_t bits = 0;
        std::memcpy(&bits, e.bytes.data() + i * width,
                    width);  // little-endian, as the file and the host
        if ((bits & exponent) != exponent) continue;
        ((bits & mantissa) ? nans : infs) += 1;
        if (first < 0) first = int64_t(i);
    }
    if (first >= 0)
        throw IoError(
            path + ": tensor '" + e.name + "' holds non-finite values (" + std::to_string(nans) +
            " NaN, " + std::to_string(infs) + " infinite of " + std::to_string(n) +
            "; the first at index " + std::to_string(first) +
            "): the file is damaged, or was saved from a diverged run; refusing to load it");
}

std::string LoadReport::summary() const {
    std::string s = std::to_string(loaded.size()) + " tensors loaded";
    auto list = [&](const char* what, const std::vector<std::string>& v) {
        if (v.empty()) return;
        s += "; " + std::to_string(v.size()) + " " + what + ":";
        for (size_t i = 0; i < v.size() && i < 20; ++i) s += " " + v[i];
        if (v.size() > 20) s += " ...";
    };
    list("missing", missing);
    list("unexpected", unexpected);
    list("mis-shaped", mismatched);
    return s;
}

std::vector<SafetensorsView> model_tensor_views(Layer& model, std::vector<Tensor>& keepalive) {
    std::vector<SafetensorsView> views;
    for (Target& t : targets(model)) {
        Tensor host = t.tensor().is_cuda() ? t.tensor().to(Device::CPU) : t.tensor();
        keepalive.push_back(host);
        views.push_back({t.name, host.dtype(), host.shape().dims(), host.raw()});
    }
    return views;
}

void save_weights(const std::string& path, Layer& model,
                  const std::map<std::string, std::string>& metadata,
                  const std::vector<SafetensorsView>& extra) {
    std::vector<Tensor> keep;
    std::vector<SafetensorsView> views = model_tensor_views(model, keep);
    views.insert(views.end(), extra.begin(), extra.end());
    write_safetensors(path, views, metadata);
}

LoadReport load_weights(const SafetensorsFile& file, Layer& model, WeightsMatch match,
                        const std::string& path, const std::vector<std::string>& ignore_prefixes) {
    LoadReport r;
    std::set<std::string> used;
    auto ignored = [&](const std::string& n) {
        for (auto& p : ignore_prefixes)
            if (n.compare(0, p.size(), p) == 0) return true;
        return false;
    };
    for (Target& t : targets(model)) {
        const SafetensorsEntry* e = file.find(t.name);
        if (!e) {
            r.missing.push_back(t.name);
            continue;
        }
        used.insert(t.name);
        Tensor& dst = t.tensor();
        if (e->shape.size() > size_t(Shape::kMaxRank) || Shape(e->shape) != dst.shape() ||
            e->dtype != dst.dtype()) {
            if (e->shape.size() > size_t(Shape::kMaxRank)) {
                r.mismatched.push_back(t.name + ": file has " + std::to_string(e->shape.size()) +
                                       " dims");
                continue;
            }
            r.mismatched.push_back(t.name + ": file " + Shape(e->shape).str() + " " +
                                   dtype_name(e->dtype) + " vs model " + dst.shape().str() + " " +
                                   dtype_name(dst.dtype()));
            continue;
        }
        check_finite(*e, path);
        Tensor src = Tensor::wrap(const_cast<uint8_t*>(e->bytes.data()), dst.shape(), Device::CPU,
                                  dst.dtype());
        dst.copy_from(src);
        r.loaded.push_back(t.name);
    }
    for (auto& e : file.tensors)
        if (!used.count(e.name) && !ignored(e.name)) r.unexpected.push_back(e.name);
    if (match == WeightsMatch::EXACT && !r.complete())
        throw IoError(path + ": weights do not match the model: " + r.summary());
    return r;
}

LoadReport load_weights(const std::string& path, Layer& model, WeightsMatch match) {
    return load_weights(read_safetensors(path), model, match, path);
}

}  // namespace effnet
