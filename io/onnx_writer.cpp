#include "io/onnx_writer.h"

#include <cstring>

#include "io/safetensors.h"
#include "tensor/error.h"

namespace effnet {

namespace {

// Field numbers of the ONNX messages (ModelProto and the messages inside it).
namespace field {
constexpr int kModelIrVersion = 1, kModelProducerName = 2, kModelProducerVersion = 3,
              kModelDocString = 6, kModelGraph = 7, kModelOpsetImport = 8, kModelMetadataProps = 14;
constexpr int kOpsetDomain = 1, kOpsetVersion = 2;
constexpr int kEntryKey = 1, kEntryValue = 2;
constexpr int kGraphNode = 1, kGraphName = 2, kGraphInitializer = 5, kGraphInput = 11,
              kGraphOutput = 12;
constexpr int kNodeInput = 1, kNodeOutput = 2, kNodeName = 3, kNodeOpType = 4, kNodeAttribute = 5;
constexpr int kAttrName = 1, kAttrF = 2, kAttrI = 3, kAttrS = 4, kAttrInts = 8, kAttrType = 20;
constexpr int kTensorDims = 1, kTensorDataType = 2, kTensorName = 8, kTensorRawData = 9;
constexpr int kValueInfoName = 1, kValueInfoType = 2;
constexpr int kTypeTensorType = 1;  // TypeProto.tensor_type
constexpr int kTensorTypeElemType = 1, kTensorTypeShape = 2;
constexpr int kShapeDim = 1;  // TensorShapeProto.dim
constexpr int kDimValue = 1, kDimParam = 2;
}  // namespace field

enum WireType { VARINT = 0, FIXED32 = 5, LENGTH_DELIMITED = 2 };

// Appends protobuf fields to a byte string. Nested messages are encoded into
// their own writer first, so their length is known when the parent writes it.
class ProtoWriter {
public:
    void int_field(int number, int64_t v) {
        key(number, VARINT);
        varint(
            uint64_t(v));  // negative values take ten bytes (two's complement), as protobuf's int64
    }
    void float_field(int number, float v) {
        key(number, FIXED32);
        uint32_t bits;
        std::memcpy(&bits, &v, 4);
        for (int b = 0; b < 4; ++b) out_.push_back(char((bits >> (8 * b)) & 0xFF));
    }
    void bytes_field(int number, const std::string& bytes) {
        key(number, LENGTH_DELIMITED);
        varint(bytes.size());
        out_ += bytes;
    }
    void message_field(int number, const ProtoWriter& sub) { bytes_field(number, sub.out_); }
    std::string take() { return std::move(out_); }

private:
    void key(int number, WireType wire) { varint(uint64_t(number) << 3 | uint64_t(wire)); }
    void varint(uint64_t v) {
        while (v >= 0x80) {
            out_.push_back(char((v & 0x7F) | 0x80));
            v >>= 7;
        }
        out_.push_back(char(v));
    }
    std::string out_;
};

ProtoWriter encode_attribute(const OnnxAttribute& a) {
    ProtoWriter w;
    w.bytes_field(field::kAttrName, a.name);
    switch (a.type) {
        case OnnxAttribute::Type::FLOAT:
            w.float_field(field::kAttrF, a.f);
            break;
        case OnnxAttribute::Type::INT:
            w.int_field(field::kAttrI, a.i);
            break;
        case OnnxAttribute::Type::STRING:
            w.bytes_field(field::kAttrS, a.s);
            break;
        case OnnxAttribute::Type::INTS:
            for (int64_t v : a.ints) w.int_field(field::kAttrInts, v);
            break;
    }
    w.int_field(field::kAttrType, int64_t(a.type));
    return w;
}

ProtoWriter encode_node(const OnnxNode& n) {
    ProtoWriter w;
    for (auto& s : n.inputs) w.bytes_field(field::kNodeInput, s);
    for (auto& s : n.outputs) w.bytes_field(field::kNodeOutput, s);
    if (!n.name.empty()) w.bytes_field(field::kNodeName, n.name);
    w.bytes_field(field::kNodeOpType, n.op_type);
    for (auto& a : n.attributes) w.message_field(field::kNodeAttribute, encode_attribute(a));
    return w;
}

ProtoWriter encode_tensor(const OnnxTensor& t) {
    int64_t numel = 1;
    for (int64_t d : t.dims) numel *= d;
    EFFNET_CHECK(numel == int64_t(t.data.size()), "ONNX initializer "
                                                      << t.name << ": " << t.data.size()
                                                      << " values for " << numel << " elements");
    ProtoWriter w;
    for (int64_t d : t.dims) w.int_field(field::kTensorDims, d);
    w.int_field(field::kTensorDataType, int64_t(OnnxElemType::FLOAT));
    w.bytes_field(field::kTensorName, t.name);
    std::string raw(t.data.size() * 4,
                    '\0');  // little-endian float32, whatever this machine's byte order
    for (size_t i = 0; i < t.data.size(); ++i) {
        uint32_t bits;
        std::memcpy(&bits, &t.data[i], 4);
        for (int b = 0; b < 4; ++b) raw[i * 4 + size_t(b)] = char((bits >> (8 * b)) & 0xFF);
    }
    w.bytes_field(field::kTensorRawData, raw);
    return w;
}

ProtoWriter encode_value_info(const OnnxValueInfo& v) {
    ProtoWriter shape;
    for (const OnnxDim& d : v.shape) {
        ProtoWriter dim;
        if (d.param.empty())
            dim.int_field(field::kDimValue, d.value);
        else
            dim.bytes_field(field::kDimParam, d.param);
        shape.message_field(field::kShapeDim, dim);
    }
    ProtoWriter tensor_type;
    tensor_type.int_field(field::kTensorTypeElemType, int64_t(v.elem_type));
    tensor_type.message_field(field::kTensorTypeShape, shape);
    ProtoWriter type;
    type.message_field(field::kTypeTensorType, tensor_type);
    ProtoWriter w;
    w.bytes_field(field::kValueInfoName, v.name);
    w.message_field(field::kValueInfoType, type);
    return w;
}

ProtoWriter encode_graph(const OnnxGraph& g) {
    ProtoWriter w;
    for (auto& n : g.nodes) w.message_field(field::kGraphNode, encode_node(n));
    w.bytes_field(field::kGraphName, g.name);
    for (auto& t : g.initializers) w.message_field(field::kGraphInitializer, encode_tensor(t));
    for (auto& v : g.inputs) w.message_field(field::kGraphInput, encode_value_info(v));
    for (auto& v : g.outputs) w.message_field(field::kGraphOutput, encode_value_info(v));
    return w;
}

}  // namespace

OnnxAttribute OnnxAttribute::of_int(const std::string& name, int64_t v) {
    OnnxAttribute a;
    a.name = name;
    a.type = Type::INT;
    a.i = v;
    return a;
}

OnnxAttribute OnnxAttribute::of_ints(const std::string& name, std::vector<int64_t> v) {
    OnnxAttribute a;
    a.name = name;
    a.type = Type::INTS;
    a.ints = std::move(v);
    return a;
}

OnnxAttribute OnnxAttribute::of_float(const std::string& name, float v) {
    OnnxAttribute a;
    a.name = name;
    a.type = Type::FLOAT;
    a.f = v;
    return a;
}

OnnxAttribute OnnxAttribute::of_string(const std::string& name, const std::string& v) {
    OnnxAttribute a;
    a.name = name;
    a.type = Type::STRING;
    a.s = v;
    return a;
}

std::string encode_onnx(const OnnxModel& m) {
    size_t weight_bytes = 0;
    for (auto& t : m.graph.initializers) weight_bytes += t.data.size() * 4;
    EFFNET_CHECK(weight_bytes < (size_t(1) << 31) - (size_t(64) << 20),
                 "ONNX export: " << weight_bytes
                                 << " bytes of weights exceed protobuf's 2 GiB message limit");
    ProtoWriter w;
    w.int_field(field::kModelIrVersion, m.ir_version);
    w.bytes_field(field::kModelProducerName, m.producer_name);
    w.bytes_field(field::kModelProducerVersion, m.producer_version);
    if (!m.doc_string.empty()) w.bytes_field(field::kModelDocString, m.doc_string);
    w.message_field(field::kModelGraph, encode_graph(m.graph));
    for (auto& [domain, version] : m.opsets) {
        ProtoWriter o;
        o.bytes_field(field::kOpsetDomain, domain);
        o.int_field(field::kOpsetVersion, version);
        w.message_field(field::kModelOpsetImport, o);
    }
    for (auto& [k, v] : m.metadata) {
        ProtoWriter e;
        e.bytes_field(field::kEntryKey, k);
        e.bytes_field(field::kEntryValue, v);
        w.message_field(field::kModelMetadataProps, e);
    }
    return w.take();
}

void write_onnx(const std::string& path, const OnnxModel& model) {
    write_file_atomic(path, encode_onnx(model));
}

}  // namespace effnet
