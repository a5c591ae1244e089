#include "apps/model_spec.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "layers/parameters.h"
#include "tensor/error.h"

namespace effnet {

namespace {
std::string get(const std::map<std::string, std::string>& m, const std::string& k, const std::string& path) {
    auto it = m.find(k);
    if (it == m.end()) throw IoError(path + ": checkpoint metadata lacks '" + k + "' (not an effnet checkpoint?)");
    return it->second;
}
}  // namespace

std::string triple_to_string(const std::array<float, 3>& v) {
    char b[96];
    std::snprintf(b, sizeof b, "%.7g,%.7g,%.7g", double(v[0]), double(v[1]), double(v[2]));
    return b;
}

bool parse_triple(const std::string& text, std::array<float, 3>& out) {
    float v[3];
    char tail;
    const int n = std::sscanf(text.c_str(), "%f,%f,%f%c", &v[0], &v[1], &v[2], &tail);
    if (n == 1) {
        out = {v[0], v[0], v[0]};  // one value: every channel
        return true;
    }
    if (n != 3) return false;
    out = {v[0], v[1], v[2]};
    return true;
}

EfficientNetConfig ModelSpec::network() const {
    EfficientNetConfig c = EfficientNetConfig::variant(variant, num_classes);
    c.in_channels = in_channels;
    if (dropout >= 0) c.dropout = float(dropout);
    c.drop_path = float(drop_path);
    return c;
}

PipelineConfig ModelSpec::pipeline() const {
    PipelineConfig p;
    p.image_size = image_size;
    p.channels = int(in_channels);
    p.equalize = equalize;
    p.clahe = clahe;
    p.clahe_tiles = clahe_tiles;
    p.clahe_clip = clahe_clip;
    p.mean = mean;
    p.std = std;
    return p;
}

void ModelSpec::to_metadata(std::map<std::string, std::string>& m) const {
    m["format"] = "pt";
    m["effnet.arch"] = "efficientnet_b" + std::to_string(variant);
    m["effnet.num_classes"] = std::to_string(num_classes);
    m["effnet.in_channels"] = std::to_string(in_channels);
    m["effnet.image_size"] = std::to_string(image_size);
    m["effnet.dropout"] = std::to_string(network().dropout);
    m["effnet.drop_path"] = std::to_string(drop_path);
    m["effnet.loss"] = loss == LossKind::BCE ? "bce" : "ce";
    m["effnet.equalize"] = equalize ? "1" : "0";
    m["effnet.clahe"] = clahe ? "1" : "0";
    m["effnet.clahe_tiles"] = std::to_string(clahe_tiles);
    m["effnet.clahe_clip"] = std::to_string(clahe_clip);
    m["effnet.mean"] = triple_to_string(mean);
    m["effnet.std"] = triple_to_string(std);
}

ModelSpec ModelSpec::from_metadata(const std::map<std::string, std::string>& m, const std::string& path) {
    ModelSpec s;
    const std::string arch = get(m, "effnet.arch", path);
    if (arch.rfind("efficientnet_b", 0) != 0 || arch.size() != 15)
        throw IoError(path + ": unknown architecture '" + arch + "'");
    s.variant = arch.back() - '0';
    s.num_classes = std::atoll(get(m, "effnet.num_classes", path).c_str());
    s.in_channels = std::atoll(get(m, "effnet.in_channels", path).c_str());
    s.image_size = std::atoi(get(m, "effnet.image_size", path).c_str());
    s.dropout = std::atof(get(m, "effnet.dropout", path).c_str());
    s.drop_path = std::atof(get(m, "effnet.drop_path", path).c_str());
    s.loss = get(m, "effnet.loss", path) == "bce" ? LossKind::BCE : LossKind::CROSS_ENTROPY;
    s.equalize = get(m, "effnet.equalize", path) == "1";
    s.clahe = get(m, "effnet.clahe", path) == "1";
    s.clahe_tiles = std::atoi(get(m, "effnet.clahe_tiles", path).c_str());
    s.clahe_clip = std::atof(get(m, "effnet.clahe_clip", path).c_str());
    // Older checkpoints and converted weights without these keep the ImageNet values.
    if (m.count("effnet.mean") && !parse_triple(m.at("effnet.mean"), s.mean))
        throw IoError(path + ": bad effnet.mean '" + m.at("effnet.mean") + "'");
    if (m.count("effnet.std") && !parse_triple(m.at("effnet.std"), s.std))
        throw IoError(path + ": bad effnet.std '" + m.at("effnet.std") + "'");
    if (s.num_classes < 1 || (s.in_channels != 1 && s.in_channels != 3) || s.image_size < 32)
        throw IoError(path + ": implausible model settings in the checkpoint metadata");
    return s;
}

Model::Model(const ModelSpec& s, Device device, uint64_t seed) : spec(s) {
    net = std::make_unique<EfficientNet>(s.network());
    store = std::make_unique<ParameterStore>(*net, device);
    uint64_t stream = 0;
    net->reset_parameters(seed, stream);
}

void Model::plan(int64_t batch, Device device) {
    net->setup(Shape{batch, spec.image_size, spec.image_size, spec.in_channels}, device);
}

double positive_probability(const float* z, int64_t k) {
    if (k == 1) return 1.0 / (1.0 + std::exp(-double(z[0])));
    // softmax over the logits, class 1
    double mx = z[0];
    for (int64_t j = 1; j < k; ++j) mx = std::max(mx, double(z[j]));
    double den = 0;
    for (int64_t j = 0; j < k; ++j) den += std::exp(double(z[j]) - mx);
    return std::exp(double(z[1]) - mx) / den;
}

}  // namespace effnet
