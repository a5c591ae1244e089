#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/gradcheck.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "io/weights.h"
#include "layers/efficientnet.h"
#include "layers/parameters.h"

using namespace effnet;
namespace fs = std::filesystem;

namespace {
std::vector<uint8_t> with_header(const std::string& header, const std::vector<uint8_t>& data) {
    // Built by index: GCC 12 warns falsely (-Warray-bounds) on vector::insert here.
    std::vector<uint8_t> f(8 + header.size() + data.size());
    uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) f[i] = uint8_t(n >> (8 * i));
    for (size_t i = 0; i < header.size(); ++i) f[8 + i] = uint8_t(header[i]);
    for (size_t i = 0; i < data.size(); ++i) f[8 + header.size() + i] = data[i];
    return f;
}
std::vector<uint8_t> floats_le(std::initializer_list<float> v) {
    std::vector<uint8_t> out;
    for (float x : v) {
        uint32_t u;
        std::memcpy(&u, &x, 4);
        for (int i = 0; i < 4; ++i) out.push_back(uint8_t(u >> (8 * i)));
    }
    return out;
}
std::string temp_path(const std::string& name) {
    return (fs::temp_directory_path() / ("effnet_test_" + name)).string();
}

// An EfficientNet-B0 with two classes, its parameters bound and initialised from `seed`.
struct B0 {
    EfficientNet net{EfficientNetConfig::variant(0, 2)};
    ParameterStore store{net, Device::CPU};
    explicit B0(uint64_t seed) {
        uint64_t stream = 0;
        net.reset_parameters(seed, stream);
    }
};
}  // namespace

TEST(Json, ParsesNestedValuesAndEscapes) {
    json::Value v = json::parse(R"({"a": [1, -2.5e3, true, null], "s": "x\"\u00e9\n", "o": {}})");
    ASSERT_EQ(v.type, json::Value::Type::OBJECT);
    EXPECT_EQ(v.find("a")->items.size(), 4u);
    EXPECT_TRUE(v.find("a")->items[0].is_integer());
    EXPECT_FALSE(v.find("a")->items[1].is_integer());
    EXPECT_DOUBLE_EQ(v.find("a")->items[1].number, -2500);
    EXPECT_EQ(v.find("s")->text, "x\"\xc3\xa9\n");
    EXPECT_EQ(json::parse(json::quote("tab\there \"q\"")).text, "tab\there \"q\"");
}

TEST(Json, RejectsMalformedInputWithPosition) {
    for (const char* bad : {"{", "{\"a\":}", "[1,]", "{\"a\":1} x", "\"unterminated", "{\"a\" 1}",
                            "01x", "[\"\\q\"]"}) {
        EXPECT_THROW(json::parse(bad), IoError) << bad;
    }
    std::string deep(200, '[');
    EXPECT_THROW(json::parse(deep), IoError);
    try {
        json::parse("[1, 2, }");
    } catch (const IoError& e) {
        EXPECT_NE(std::string(e.what()).find("byte 7"), std::string::npos) << e.what();
    }
}

TEST(Safetensors, MinimalFileWrittenByteByByteLoads) {
    // What PyTorch's safetensors.torch.save_file writes for {"w": tensor([[1, 2], [3, 4.5]])}.
    auto file = with_header(
        R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"__metadata__":{"format":"pt"}})",
        floats_le({1, 2, 3, 4.5f}));
    SafetensorsFile f = parse_safetensors(file, "mem");
    ASSERT_EQ(f.tensors.size(), 1u);
    EXPECT_EQ(f.tensors[0].name, "w");
    EXPECT_EQ(f.tensors[0].shape, (std::vector<int64_t>{2, 2}));
    float v[4];
    std::memcpy(v, f.tensors[0].bytes.data(), 16);
    EXPECT_EQ(v[3], 4.5f);
    EXPECT_EQ(f.metadata.at("format"), "pt");
}

TEST(Safetensors, RejectsCorruptFilesWithReasons) {
    auto data = floats_le({1, 2, 3, 4});
    const std::string good = R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})";
    const std::vector<uint8_t> whole = with_header(good, data);
    const std::vector<uint8_t> cut_in_header(whole.begin(), whole.begin() + 20);
    struct Case {
        std::vector<uint8_t> bytes;
        const char* reason;
    };
    std::vector<Case> cases = {
        {{1, 2, 3}, "shorter than"},
        {with_header(good, {1, 2, 3}), "outside"},  // truncated data
        {cut_in_header, "past the end"},            // truncated header
        {with_header(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,20]}})", data),
         "outside"},
        {with_header(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", data), "need"},
        {with_header(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[8,4]}})", data), "outside"},
        {with_header(R"({"w":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}})", data),
         "non-negative"},
        {with_header(R"({"w":{"dtype":"X9","shape":[4],"data_offsets":[0,16]}})", data),
         "unsupported dtype"},
        {with_header(R"({"w":{"dtype":"F32","shape":[4]}})", data), "lacks"},
        {with_header(
             R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
             data),
         "overlap"},
        {with_header(R"({"w":{"dtype":"F32",)", data), "malformed JSON"},
        {with_header(R"([1,2])", data), "not a JSON object"},
        {with_header(R"({"__metadata__":{"k":3}})", data), "not a string"},
    };
    std::vector<uint8_t> huge(8, 0);
    huge[7] = 0x7f;  // header length ~ 9e18
    cases.push_back({huge, "exceeds"});
    for (size_t i = 0; i < cases.size(); ++i) {
        try {
            parse_safetensors(cases[i].bytes, "case.safetensors");
            ADD_FAILURE() << "case " << i << " was accepted";
        } catch (const IoError& e) {
            EXPECT_NE(std::string(e.what()).find(cases[i].reason), std::string::npos)
                << "case " << i << ": " << e.what();
            EXPECT_NE(std::string(e.what()).find("case.safetensors"), std::string::npos)
                << "the error names the file";
        }
    }
}

TEST(Safetensors, WriteReadRoundTripAndMissingFile) {
    const std::string path = temp_path("roundtrip.safetensors");
    std::vector<float> a = {1.5f, -2, 3};
    int64_t counter = 7;
    write_safetensors(path,
                      {{"a", DType::FLOAT32, {3}, a.data()}, {"n", DType::INT64, {}, &counter}},
                      {{"epoch", "3"}, {"note", "quote \" and \\"}});
    SafetensorsFile f = read_safetensors(path);
    ASSERT_EQ(f.tensors.size(), 2u);
    EXPECT_EQ(f.metadata.at("epoch"), "3");
    EXPECT_EQ(f.metadata.at("note"), "quote \" and \\");
    EXPECT_EQ(f.find("n")->shape.size(), 0u);
    int64_t back;
    std::memcpy(&back, f.find("n")->bytes.data(), 8);
    EXPECT_EQ(back, 7);
    // Header padded so the data section starts 8-byte aligned.
    std::ifstream in(path, std::ios::binary);
    uint64_t n = 0;
    in.read(reinterpret_cast<char*>(&n), 8);
    EXPECT_EQ((8 + n) % 8, 0u);
    fs::remove(path);
    EXPECT_THROW(read_safetensors(path), IoError);
}

TEST(Safetensors, AtomicWriteFailureLeavesNoPartialFile) {
    const std::string dir = temp_path("no_such_dir_xyz");
    EXPECT_THROW(write_file_atomic(dir + "/x.safetensors", "abc"), IoError);
    EXPECT_FALSE(fs::exists(dir));
    // Overwriting keeps the old content until the new one is complete.
    const std::string path = temp_path("atomic.bin");
    write_file_atomic(path, "old");
    write_file_atomic(path, "new!");
    std::ifstream in(path);
    std::string s;
    in >> s;
    EXPECT_EQ(s, "new!");
    for (auto& e : fs::directory_iterator(fs::temp_directory_path()))
        EXPECT_EQ(e.path().filename().string().find("effnet_test_atomic.bin.tmp"),
                  std::string::npos);
    fs::remove(path);
}

TEST(Weights, ModelRoundTripAndLoadReport) {
    B0 a(1), b(2);
    const std::string path = temp_path("model.safetensors");
    save_weights(path, a.net, {{"arch", "efficientnet_b0"}});
    LoadReport r = load_weights(path, b.net, WeightsMatch::EXACT);
    EXPECT_TRUE(r.complete()) << r.summary();
    EXPECT_EQ(a.store.values().to_vector(), b.store.values().to_vector());

    // A model with 3 classes: the classifier is reported mis-shaped, by name.
    EfficientNet c(EfficientNetConfig::variant(0, 3));
    ParameterStore sc(c, Device::CPU);
    r = load_weights(read_safetensors(path), c, WeightsMatch::PARTIAL, path);
    ASSERT_EQ(r.mismatched.size(), 2u);
    EXPECT_NE(r.mismatched[0].find("classifier.weight"), std::string::npos);
    EXPECT_THROW(load_weights(path, c, WeightsMatch::EXACT), IoError);

    // Missing and unexpected tensors are reported by name.
    std::vector<float> extra = {1};
    std::vector<float> w(32 * 3 * 3 * 3, 0.5f);
    write_safetensors(path,
                      {{"conv_stem.weight", DType::FLOAT32, {32, 3, 3, 3}, w.data()},
                       {"not_a_layer.weight", DType::FLOAT32, {1}, extra.data()}},
                      {});
    r = load_weights(read_safetensors(path), b.net, WeightsMatch::PARTIAL, path);
    EXPECT_EQ(r.loaded.size(), 1u);
    EXPECT_EQ(r.unexpected, std::vector<std::string>{"not_a_layer.weight"});
    EXPECT_GT(r.missing.size(), 200u);
    fs::remove(path);
}

TEST(Weights, NonFiniteValuesAreRefusedNamingTheTensor) {
    B0 a(1), b(2);
    const std::string path = temp_path("nan.safetensors");
    save_weights(path, a.net);
    // One NaN in a real checkpoint's parameter, then an infinity in a BN buffer.
    for (const char* name : {"blocks.3.1.conv_pw.weight", "bn2.running_var"}) {
        SafetensorsFile f = read_safetensors(path);
        std::vector<SafetensorsView> views;
        for (auto& t : f.tensors) {
            if (t.name == name) {
                const float bad = std::string(name) == "bn2.running_var" ? INFINITY : NAN;
                std::memcpy(t.bytes.data() + 4 * 17, &bad, 4);
            }
            views.push_back({t.name, t.dtype, t.shape, t.bytes.data()});
        }
        const std::string damaged = temp_path("nan_damaged.safetensors");
        write_safetensors(damaged, views, f.metadata);
        try {
            load_weights(damaged, b.net, WeightsMatch::PARTIAL);
            ADD_FAILURE() << "a non-finite " << name << " loaded";
        } catch (const IoError& e) {
            const std::string m = e.what();
            EXPECT_NE(m.find(damaged + ": tensor '" + name + "' holds non-finite values"),
                      std::string::npos)
                << m;
            EXPECT_NE(m.find("the first at index 17"), std::string::npos) << m;
        }
        fs::remove(damaged);
    }
    // Half-precision NaN and infinity patterns are found too.
    std::vector<uint16_t> half = {0x3C00, 0x7E00, 0xFC00};
    SafetensorsEntry h{"w", DType::FLOAT16, {3}, {}};
    h.bytes.resize(6);
    std::memcpy(h.bytes.data(), half.data(), 6);
    try {
        check_finite(h, "h.safetensors");
        ADD_FAILURE() << "F16 NaN passed";
    } catch (const IoError& e) {
        EXPECT_NE(std::string(e.what()).find("(1 NaN, 1 infinite of 3; the first at index 1)"),
                  std::string::npos)
            << e.what();
    }
    h.dtype = DType::BFLOAT16;
    half = {0x3F80, 0x7F80, 0x0001};
    std::memcpy(h.bytes.data(), half.data(), 6);
    EXPECT_THROW(check_finite(h, "h.safetensors"), IoError);
    half[1] = 0x7F7F;  // the largest finite bfloat16
    std::memcpy(h.bytes.data(), half.data(), 6);
    EXPECT_NO_THROW(check_finite(h, "h.safetensors"));
    fs::remove(path);
}

TEST(Safetensors, DataChecksumCatchesDamageAfterWriting) {
    const std::string path = temp_path("crc.safetensors");
    std::vector<float> w(64);
    for (size_t i = 0; i < w.size(); ++i) w[i] = float(i) * 0.25f;
    write_safetensors(path, {{"w", DType::FLOAT32, {8, 8}, w.data()}}, {{"k", "v"}});
    std::ifstream in(path, std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
    const SafetensorsFile ok = parse_safetensors(bytes, path);
    EXPECT_EQ(ok.metadata.at("k"), "v");
    EXPECT_EQ(ok.metadata.at("effnet.data_crc32").size(), 8u);
    bytes[bytes.size() - 7] ^= 0x04;  // one bit of one weight
    try {
        parse_safetensors(bytes, path);
        ADD_FAILURE() << "a damaged tensor passed";
    } catch (const IoError& e) {
        EXPECT_NE(std::string(e.what()).find("the tensor data fails its checksum"),
                  std::string::npos)
            << e.what();
    }
    fs::remove(path);
}

TEST(Safetensors, AtomicWriteThatRunsOutOfSpaceKeepsTheOldFile) {
    // A file-size limit stands in for a full disk (write fails with EFBIG).
    const std::string path = temp_path("fsize.bin");
    write_file_atomic(path, "the previous content");
    rlimit old{};
    getrlimit(RLIMIT_FSIZE, &old);
    void (*old_handler)(int) = std::signal(SIGXFSZ, SIG_IGN);
    rlimit small = old;
    small.rlim_cur = 1 << 16;
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
    std::string message;
    try {
        write_file_atomic(path, std::string(1 << 20, 'x'));
    } catch (const IoError& e) {
        message = e.what();
    }
    setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, old_handler);
    EXPECT_NE(message.find(path + ": could not be written (write "), std::string::npos) << message;
    EXPECT_NE(message.find("File too large"), std::string::npos) << message;
    EXPECT_NE(message.find("the previous effnet_test_fsize.bin is unchanged"), std::string::npos)
        << message;
    std::ifstream in(path);
    std::string s;
    std::getline(in, s);
    EXPECT_EQ(s, "the previous content");
    for (auto& e : fs::directory_iterator(fs::temp_directory_path()))
        EXPECT_EQ(e.path().filename().string().find("effnet_test_fsize.bin.tmp"), std::string::npos)
            << e.path();
    fs::remove(path);
}
