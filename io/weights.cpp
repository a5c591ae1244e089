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

void save_weights(const std::string& path, Layer& model, const std::map<std::string, std::string>& metadata,
                  const std::vector<SafetensorsView>& extra) {
    std::vector<Tensor> keep;
    std::vector<SafetensorsView> views = model_tensor_views(model, keep);
    views.insert(views.end(), extra.begin(), extra.end());
    write_safetensors(path, views, metadata);
}

LoadReport load_weights(const SafetensorsFile& file, Layer& model, bool strict, const std::string& path,
                        const std::vector<std::string>& ignore_prefixes) {
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
        if (e->shape.size() > size_t(Shape::kMaxRank) || Shape(e->shape) != dst.shape() || e->dtype != dst.dtype()) {
            if (e->shape.size() > size_t(Shape::kMaxRank)) {
                r.mismatched.push_back(t.name + ": file has " + std::to_string(e->shape.size()) + " dims");
                continue;
            }
            r.mismatched.push_back(t.name + ": file " + Shape(e->shape).str() + " " + dtype_name(e->dtype) + " vs model " +
                                   dst.shape().str() + " " + dtype_name(dst.dtype()));
            continue;
        }
        Tensor src = Tensor::wrap(const_cast<uint8_t*>(e->bytes.data()), dst.shape(), Device::CPU, dst.dtype());
        dst.copy_from(src);
        r.loaded.push_back(t.name);
    }
    for (auto& e : file.tensors)
        if (!used.count(e.name) && !ignored(e.name)) r.unexpected.push_back(e.name);
    if (strict && !r.complete()) throw IoError(path + ": weights do not match the model: " + r.summary());
    return r;
}

LoadReport load_weights(const std::string& path, Layer& model, bool strict) {
    return load_weights(read_safetensors(path), model, strict, path);
}

}  // namespace effnet
