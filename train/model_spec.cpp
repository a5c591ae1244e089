#include "train/model_spec.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "io/safetensors.h"
#include "layers/parameters.h"
#include "tensor/error.h"
#include "tensor/parse_number.h"

namespace effnet {

namespace {
std::string get(const std::map<std::string, std::string>& m, const std::string& k,
                const std::string& path) {
    auto it = m.find(k);
    if (it == m.end())
        throw IoError(path + ": checkpoint metadata lacks '" + k + "' (not an effnet checkpoint?)");
    return it->second;
}
std::string fmt_num(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%g", v);
    return b;
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

ModelSpec ModelSpec::from_metadata(const std::map<std::string, std::string>& m,
                                   const std::string& path) {
    // Every field is checked, so a damaged or foreign file is refused with
    // the field named rather than building a strange model.
    auto integer = [&](const char* key, int64_t lo, int64_t hi) {
        const std::string v = get(m, key, path);
        int64_t x = 0;
        if (!parse_int64(v, x) || x < lo || x > hi)
            throw IoError(path + ": checkpoint metadata '" + key + "' is '" + v +
                          "', not an integer in [" + std::to_string(lo) + ", " +
                          std::to_string(hi) + "]");
        return x;
    };
    auto real = [&](const char* key, double lo, double hi) {
        const std::string v = get(m, key, path);
        double x = 0;
        if (!parse_double(v, x, true) || x < lo || x > hi)
            throw IoError(path + ": checkpoint metadata '" + key + "' is '" + v +
                          "', not a number in [" + fmt_num(lo) + ", " + fmt_num(hi) + "]");
        return x;
    };
    auto flag = [&](const char* key) {
        const std::string v = get(m, key, path);
        if (v != "0" && v != "1")
            throw IoError(path + ": checkpoint metadata '" + key + "' is '" + v + "', not 0 or 1");
        return v == "1";
    };
    ModelSpec s;
    const std::string arch = get(m, "effnet.arch", path);
    if (arch.rfind("efficientnet_b", 0) != 0 || arch.size() != 15 || arch.back() < '0' ||
        arch.back() > '7')
        throw IoError(path + ": unknown architecture '" + arch +
                      "' (efficientnet_b0 .. efficientnet_b7)");
    s.variant = arch.back() - '0';
    s.num_classes = integer("effnet.num_classes", 1, 100000);
    s.in_channels = integer("effnet.in_channels", 1, 3);
    s.image_size = int(integer("effnet.image_size", 32, 2048));
    s.dropout = real("effnet.dropout", 0, 1);
    s.drop_path = real("effnet.drop_path", 0, 1);
    const std::string loss = get(m, "effnet.loss", path);
    if (loss != "ce" && loss != "bce")
        throw IoError(path + ": checkpoint metadata 'effnet.loss' is '" + loss +
                      "', not ce or bce");
    s.loss = loss == "bce" ? LossKind::BCE : LossKind::CROSS_ENTROPY;
    s.equalize = flag("effnet.equalize");
    s.clahe = flag("effnet.clahe");
    s.clahe_tiles = int(integer("effnet.clahe_tiles", 1, 256));
    s.clahe_clip = real("effnet.clahe_clip", 0, 1e6);
    // Older checkpoints and converted weights without these keep the ImageNet values.
    if (m.count("effnet.mean") && !parse_triple(m.at("effnet.mean"), s.mean))
        throw IoError(path + ": bad effnet.mean '" + m.at("effnet.mean") + "'");
    if (m.count("effnet.std") && !parse_triple(m.at("effnet.std"), s.std))
        throw IoError(path + ": bad effnet.std '" + m.at("effnet.std") + "'");
    for (int c = 0; c < 3; ++c)
        if (!std::isfinite(s.mean[size_t(c)]) || !std::isfinite(s.std[size_t(c)]) ||
            !(s.std[size_t(c)] > 0))
            throw IoError(path + ": effnet.mean/effnet.std must be finite, the std positive");
    if (s.in_channels == 2)
        throw IoError(path + ": checkpoint metadata 'effnet.in_channels' must be 1 or 3");
    if ((s.loss == LossKind::BCE) != (s.num_classes == 1))
        throw IoError(path + ": checkpoint metadata pairs loss '" + loss + "' with " +
                      std::to_string(s.num_classes) + " classes (bce needs 1, ce at least 2)");
    return s;
}

DecisionSettings read_decision_settings(const std::map<std::string, std::string>& m,
                                        const std::string& path) {
    DecisionSettings s;
    auto number = [&](const char* key, double lo, double hi, bool open_low, double& out) {
        auto it = m.find(key);
        if (it == m.end()) return false;
        double x = 0;
        if (!parse_double(it->second, x, true) || x > hi || x < lo || (open_low && x == lo))
            throw IoError(path + ": checkpoint metadata '" + key + "' is '" + it->second +
                          "', not a number in " + (open_low ? "(" : "[") + fmt_num(lo) + ", " +
                          fmt_num(hi) + "]");
        out = x;
        return true;
    };
    s.has_temperature = number("effnet.temperature", 0, 1000, true, s.temperature);
    s.has_threshold = number("effnet.threshold", 0, 1, false, s.threshold);
    if (auto it = m.find("effnet.threshold_rule"); it != m.end()) s.threshold_rule = it->second;
    return s;
}

void write_decision_settings(const DecisionSettings& s, std::map<std::string, std::string>& m) {
    char b[32];
    if (s.has_temperature) {
        std::snprintf(b, sizeof b, "%.17g", s.temperature);
        m["effnet.temperature"] = b;
    }
    if (s.has_threshold) {
        std::snprintf(b, sizeof b, "%.17g", s.threshold);
        m["effnet.threshold"] = b;
        if (!s.threshold_rule.empty()) m["effnet.threshold_rule"] = s.threshold_rule;
    }
}

void store_decision_settings(const std::string& path, const DecisionSettings& s) {
    SafetensorsFile f = read_safetensors(path);
    for (const char* key : {"effnet.temperature", "effnet.threshold", "effnet.threshold_rule"})
        f.metadata.erase(key);
    write_decision_settings(s, f.metadata);
    std::vector<SafetensorsView> views;
    for (const SafetensorsEntry& e : f.tensors)
        views.push_back({e.name, e.dtype, e.shape, e.bytes.data()});
    write_safetensors(path, views, f.metadata);
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

double finite_probability(const float* z, int64_t k, const std::string& image) {
    bool finite = true;
    for (int64_t j = 0; j < k; ++j) finite &= std::isfinite(z[j]);
    const double p = finite ? positive_probability(z, k) : NAN;
    if (!std::isfinite(p)) {
        std::string logits;
        for (int64_t j = 0; j < k && j < 4; ++j) logits += (j ? ", " : "") + std::to_string(z[j]);
        throw NumericError(
            image + ": the model's output is not finite (logits " + logits +
            "): the weights are damaged or came from a diverged run; no probability is reported");
    }
    return p;
}

}  // namespace effnet
