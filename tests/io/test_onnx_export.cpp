// ONNX export: the protobuf encoding byte for byte, the exported graph's
// structure read back with a wire-format reader (no Python), and, where
// scripts/onnx_venv.sh could install them from PyPI, the ONNX checker and ONNX
// Runtime against effnet's own logits on four images.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "data/loader.h"
#include "io/onnx_export.h"
#include "layers/batchnorm.h"
#include "layers/parameters.h"
#include "proto_reader.h"
#include "tensor/random.h"

using namespace effnet;
using namespace effnet::test;
namespace fs = std::filesystem;

namespace {

std::string hex(const std::string& bytes) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (unsigned char c : bytes) {
        s += digits[c >> 4];
        s += digits[c & 15];
    }
    return s;
}

// A model whose batch norms are far from the identity (random running
// statistics and affine parameters), so that folding them is really tested.
struct TestModel {
    EfficientNet net;
    ParameterStore store;
    TestModel(int64_t classes, int64_t channels, uint64_t seed)
        : net([&] {
              EfficientNetConfig c = EfficientNetConfig::variant(0, classes);
              c.in_channels = channels;
              return c;
          }()),
          store(net, Device::CPU) {
        uint64_t stream = 0;
        net.reset_parameters(seed, stream);
        std::vector<NamedParam> params;
        net.collect_params("", params);
        std::vector<NamedBuffer> buffers;
        net.collect_buffers("", buffers);
        auto ends = [](const std::string& s, const std::string& tail) {
            return s.size() >= tail.size() &&
                   s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
        };
        uint64_t k = 100;
        for (auto& b : buffers) {
            if (ends(b.name, ".running_mean")) fill_uniform(*b.value, seed, ++k, -0.5f, 0.5f);
            if (ends(b.name, ".running_var")) fill_uniform(*b.value, seed, ++k, 0.5f, 2.0f);
        }
        for (auto& p : params) {
            // batch-norm gamma and beta: "bn1.weight", "blocks.1.0.bn2.bias", ...
            const bool bn = p.name.find(".bn") != std::string::npos || p.name.rfind("bn", 0) == 0;
            if (bn && ends(p.name, ".weight")) fill_uniform(p.value, seed, ++k, 0.5f, 1.5f);
            if (bn && ends(p.name, ".bias")) fill_uniform(p.value, seed, ++k, -0.3f, 0.3f);
            // A wider classifier than PyTorch's init, for logits of order 1.
            if (p.name == "classifier.weight") fill_uniform(p.value, seed, ++k, -0.2f, 0.2f);
        }
    }
};

OnnxExportOptions options(int size, int64_t channels) {
    OnnxExportOptions o;
    o.pipeline.image_size = size;
    o.pipeline.channels = int(channels);
    return o;
}

std::vector<ProtoField> graph_of(const std::string& model) {
    return parse_proto(field(parse_proto(model), 7).bytes);
}

}  // namespace

// A small model, encoded exactly as the protobuf library serialises the same
// message built with onnx.helper (the expected bytes came from
// ModelProto.SerializeToString() of onnx 1.23).
TEST(OnnxWriter, EncodesTheWireFormatByteForByte) {
    OnnxModel m;
    m.producer_name = "effnet";
    m.producer_version = "0.1";
    OnnxNode n;
    n.op_type = "Conv";
    n.name = "c";
    n.inputs = {"x", "w"};
    n.outputs = {"y"};
    n.attributes = {OnnxAttribute::of_float("alpha", 0.5f), OnnxAttribute::of_int("group", 1),
                    OnnxAttribute::of_ints("kernel_shape", {1, 1}),
                    OnnxAttribute::of_string("mode", "a"), OnnxAttribute::of_int("neg", -1)};
    m.graph.name = "g";
    m.graph.nodes = {n};
    m.graph.initializers = {{"w", {1, 1, 1, 1}, {2.0f}}};
    m.graph.inputs = {{"x", OnnxElemType::FLOAT, {{0, "batch"}, {1, ""}, {1, ""}, {1, ""}}}};
    m.graph.outputs = {{"y", OnnxElemType::FLOAT, {{0, "batch"}, {1, ""}, {1, ""}, {1, ""}}}};
    m.metadata = {{"k", "v"}};
    EXPECT_EQ(hex(encode_onnx(m)),
              "080812066566666e65741a03302e313ac9010a6b0a01780a01771201791a01632204436f6e762a0f0a05"
              "616c706861150000003f"
              "a001012a0c0a0567726f75701801a001022a150a0c6b65726e656c5f736861706540014001a001072a0c"
              "0a046d6f64652201"
              "61a001032a130a036e656718ffffffffffffffffff01a001021201672a13080108010801080110014201"
              "774a04000000405a"
              "200a0178121b0a19080112150a07120562617463680a0208010a0208010a02080162200a0179121b0a19"
              "080112150a0712"
              "0562617463680a0208010a0208010a02080142040a00101172060a016b120176");
}

TEST(OnnxWriter, InitializerSizeMustMatchItsDims) {
    OnnxModel m;
    m.graph.initializers = {{"w", {2, 3}, {1.0f}}};
    EXPECT_THROW(encode_onnx(m), ContractError);
}

// The exported B0 read back field by field: versions, the dynamic-batch NCHW
// input, a topologically ordered graph over defined values, every weight used,
// the operator counts B0 implies, and the metadata.
TEST(OnnxExport, B0GraphIsWellFormed) {
    TestModel model(2, 3, 5);
    OnnxExportOptions o = options(224, 3);
    o.threshold = 0.37;
    const std::string bytes = encode_onnx(efficientnet_to_onnx(model.net, o));
    const auto top = parse_proto(bytes);
    EXPECT_EQ(field(top, 1).as_int(), 8);  // ir_version
    const auto opset = parse_proto(field(top, 8).bytes);
    EXPECT_EQ(field(opset, 1).bytes, "");
    EXPECT_EQ(field(opset, 2).as_int(), 17);

    const auto g = graph_of(bytes);
    // input [batch, 3, 224, 224]: dims of value_info.type.tensor_type.shape
    auto dims_of = [](const ProtoField& value_info, std::string& name) {
        const auto vi = parse_proto(value_info.bytes);
        name = field(vi, 1).bytes;
        const auto tensor_type = parse_proto(field(parse_proto(field(vi, 2).bytes), 1).bytes);
        EXPECT_EQ(field(tensor_type, 1).as_int(), 1);  // FLOAT
        std::vector<std::string> dims;
        for (auto& d : fields(parse_proto(field(tensor_type, 2).bytes), 1)) {
            const auto dim = parse_proto(d.bytes);
            dims.push_back(fields(dim, 2).empty() ? std::to_string(field(dim, 1).as_int())
                                                  : field(dim, 2).bytes);
        }
        return dims;
    };
    std::string in_name, out_name;
    EXPECT_EQ(dims_of(field(g, 11), in_name),
              (std::vector<std::string>{"batch", "3", "224", "224"}));
    EXPECT_EQ(dims_of(field(g, 12), out_name), (std::vector<std::string>{"batch", "2"}));
    EXPECT_EQ(in_name, "input");
    EXPECT_EQ(out_name, "logits");

    std::set<std::string> defined = {"input"}, unused;
    int64_t weight_floats = 0;
    for (auto& t : fields(g, 5)) {
        const auto tp = parse_proto(t.bytes);
        EXPECT_EQ(field(tp, 2).as_int(), 1);  // FLOAT
        int64_t numel = 1;
        for (auto& d : fields(tp, 1)) numel *= d.as_int();
        EXPECT_EQ(int64_t(field(tp, 9).bytes.size()), numel * 4) << field(tp, 8).bytes;
        weight_floats += numel;
        defined.insert(field(tp, 8).bytes);
        unused.insert(field(tp, 8).bytes);
    }
    std::map<std::string, int> ops;
    for (auto& nf : fields(g, 1)) {
        const auto node = parse_proto(nf.bytes);
        for (auto& in : fields(node, 1)) {
            EXPECT_TRUE(defined.count(in.bytes))
                << field(node, 3).bytes << " reads " << in.bytes << " before it is made";
            unused.erase(in.bytes);
        }
        for (auto& out : fields(node, 2))
            EXPECT_TRUE(defined.insert(out.bytes).second) << out.bytes << " made twice";
        ++ops[field(node, 4).bytes];
    }
    EXPECT_TRUE(defined.count("logits"));
    EXPECT_TRUE(unused.empty()) << unused.size() << " initializers unused, e.g. "
                                << *unused.begin();
    // B0: stem + head, 1 depthwise-separable block (dw, pw, 2 SE) and 15 MBConv (pw, dw, pwl, 2 SE).
    EXPECT_EQ(ops["Conv"], 2 + 4 + 15 * 5);
    EXPECT_EQ(ops["Add"], 9);  // the residual blocks: 1 + 1 + 2 + 2 + 3 in stages 2-6
    EXPECT_EQ(ops["Gemm"], 1);
    EXPECT_EQ(ops["GlobalAveragePool"], 16 + 1);
    EXPECT_EQ(ops.count("BatchNormalization"), 0u);
    // Every parameter travels, except gamma and beta of each batch norm, which
    // become one bias per channel: 4,010,110 - (channels of all batch norms).
    int64_t bn_channels = 0;
    for (auto& [name, layer] : model.net.execution_order()) {
        auto count = [&](Layer* l) {
            if (dynamic_cast<BatchNorm2d*>(l))
                bn_channels += l->num_params() / 2;  // gamma and beta
        };
        count(layer);
        for (auto& [child_name, child] : layer->children()) count(child);
    }
    EXPECT_EQ(weight_floats, model.net.num_params() - bn_channels);

    std::map<std::string, std::string> meta;
    for (auto& e : fields(top, 14)) {
        const auto kv = parse_proto(e.bytes);
        meta[field(kv, 1).bytes] = field(kv, 2).bytes;
    }
    EXPECT_EQ(meta["input.layout"], "NCHW");
    EXPECT_EQ(meta["input.channels"], "3");
    EXPECT_EQ(meta["input.height"], "224");
    EXPECT_EQ(meta["normalize.mean"], "0.485,0.456,0.406");
    EXPECT_EQ(meta["normalize.std"], "0.229,0.224,0.225");
    EXPECT_EQ(meta["preprocess.equalization"], "histogram");
    EXPECT_EQ(meta["classes"], "no_cardiomegaly,cardiomegaly");
    EXPECT_EQ(meta["output.activation"], "softmax");
    EXPECT_EQ(meta["threshold"], "0.37");
}

TEST(OnnxExport, GreyStemMetadataCarriesTheAveragedNormalisation) {
    EfficientNetConfig cfg = EfficientNetConfig::variant(0, 1);
    cfg.in_channels = 1;
    EfficientNet net(cfg);
    OnnxExportOptions o = options(96, 1);
    o.pipeline.clahe = true;
    auto meta = onnx_metadata(net, o);
    std::map<std::string, std::string> m(meta.begin(), meta.end());
    EXPECT_EQ(m["input.channels"], "1");
    EXPECT_EQ(m["normalize.mean"], "0.449");
    EXPECT_EQ(m["normalize.std"], "0.226");
    EXPECT_EQ(m["preprocess.equalization"], "clahe");
    EXPECT_EQ(m["preprocess.clahe_tiles"], "8");
    EXPECT_EQ(m["output.activation"], "sigmoid");
    EXPECT_EQ(m.count("threshold"), 0u);
    o.pipeline.channels = 3;  // a pipeline that does not fit the stem
    EXPECT_THROW(onnx_metadata(net, o), ContractError);
}

// ONNX Runtime against effnet on four phantom radiographs through the real
// input pipeline, batch 4 and one by one: every logit within 1e-4.
struct RuntimeCase {
    const char* name;
    int64_t classes, channels;
    int size;
};

void PrintTo(const RuntimeCase& c, std::ostream* os) { *os << c.name; }

class OnnxRuntimeMatch : public ::testing::TestWithParam<RuntimeCase> {};

TEST_P(OnnxRuntimeMatch, LogitsMatchEffnet) {
    const char* env = std::getenv("EFFNET_ONNX_PYTHON");
    const std::string python = env && *env ? env : EFFNET_SOURCE_DIR "/.venv-onnx/bin/python";
    if (!fs::exists(python)) {
        std::ifstream why(EFFNET_SOURCE_DIR "/.venv-onnx/UNAVAILABLE");
        std::string reason;
        std::getline(why, reason);
        GTEST_SKIP() << "no Python with onnx and onnxruntime at " << python << ": "
                     << (reason.empty() ? "run scripts/onnx_venv.sh (needs PyPI)" : reason);
    }
    const RuntimeCase c = GetParam();
    TestModel model(c.classes, c.channels, 11);
    const int64_t n = 4, s = c.size, ch = c.channels;
    model.net.setup(Shape{n, s, s, ch}, Device::CPU);
    OnnxExportOptions o = options(c.size, ch);
    o.pipeline.phantom_seed = 3;
    Tensor x = Tensor::empty(Shape{n, s, s, ch});
    for (int64_t i = 0; i < n; ++i) {
        Sample sample{"phantom:" + std::to_string(i), 0, Split::TEST, "", i, {}};
        load_sample(sample, o.pipeline, 0, 0, x.f32() + i * s * s * ch);
    }
    Context ctx(Device::CPU);
    const std::vector<float> logits =
        model.net.forward(x, RunState{Mode::EVAL, 0, 0}, ctx).to_vector();
    float largest = 0;
    for (float v : logits) largest = std::max(largest, std::fabs(v));
    ASSERT_GT(largest, 0.05f) << "logits too small for a 1e-4 comparison to mean anything";

    const fs::path dir = fs::temp_directory_path() / (std::string("effnet_onnx_") + c.name);
    fs::create_directories(dir);
    write_onnx((dir / "model.onnx").string(), efficientnet_to_onnx(model.net, o));
    std::vector<float> nchw(size_t(n * ch * s * s));
    for (int64_t i = 0; i < n; ++i)
        for (int64_t y = 0; y < s; ++y)
            for (int64_t xx = 0; xx < s; ++xx)
                for (int64_t k = 0; k < ch; ++k)
                    nchw[size_t(((i * ch + k) * s + y) * s + xx)] =
                        x.f32()[((i * s + y) * s + xx) * ch + k];
    auto dump = [](const fs::path& p, const std::vector<float>& v) {
        std::ofstream f(p, std::ios::binary);
        f.write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * sizeof(float)));
    };
    dump(dir / "input.f32", nchw);
    dump(dir / "logits.f32", logits);
    const std::string cmd = "'" + python + "' " EFFNET_SOURCE_DIR "/scripts/onnx_check.py " +
                            (dir / "model.onnx").string() + " " + (dir / "input.f32").string() +
                            " " + (dir / "logits.f32").string() + " " + std::to_string(n) + "," +
                            std::to_string(ch) + "," + std::to_string(s) + "," + std::to_string(s) +
                            " --atol 1e-4 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    ASSERT_TRUE(p);
    std::string out;
    char buf[4096];
    for (size_t got; (got = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, got);
    const int status = pclose(p);
    std::cout << out;
    EXPECT_EQ(status, 0) << out;
    fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(, OnnxRuntimeMatch,
                         ::testing::Values(RuntimeCase{"b0_rgb_softmax_224", 2, 3, 224},
                                           RuntimeCase{"b0_grey_sigmoid_96", 1, 1, 96}),
                         [](const ::testing::TestParamInfo<RuntimeCase>& i) {
                             return std::string(i.param.name);
                         });
