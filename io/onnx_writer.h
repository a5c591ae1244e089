// ONNX model files, encoded by effnet itself (no protobuf library).
//
// An ONNX file is one protobuf message, ModelProto. The protobuf wire format
// needs little code: every field is a key varint (field_number << 3 |
// wire_type) followed by its value: a varint (wire type 0: integers, enums),
// 4 little-endian bytes (type 5: float), or a length varint and that many
// bytes (type 2: strings, bytes and nested messages). The structs below hold
// the part of ONNX an exported effnet graph needs (float tensors, the INT,
// INTS, FLOAT and STRING attributes, tensor value infos with fixed or
// symbolic dimensions); encode_onnx() writes them with the field numbers the
// ONNX specification assigns (listed in onnx_writer.cpp). Repeated integers
// are written unpacked, as a proto2 encoder does; tensors carry raw_data.
//
// The encoding is deterministic: the same model gives the same bytes.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace effnet {

// ONNX TensorProto.DataType values used here.
enum class OnnxElemType : int32_t { FLOAT = 1, INT64 = 7 };

struct OnnxAttribute {
    enum class Type : int32_t {
        FLOAT = 1,
        INT = 2,
        STRING = 3,
        INTS = 7
    };  // AttributeProto.AttributeType
    std::string name;
    Type type = Type::INT;
    float f = 0;
    int64_t i = 0;
    std::string s;
    std::vector<int64_t> ints;

    static OnnxAttribute of_int(const std::string& name, int64_t v);
    static OnnxAttribute of_ints(const std::string& name, std::vector<int64_t> v);
    static OnnxAttribute of_float(const std::string& name, float v);
    static OnnxAttribute of_string(const std::string& name, const std::string& v);
};

struct OnnxNode {
    std::string op_type, name;
    std::vector<std::string> inputs, outputs;
    std::vector<OnnxAttribute> attributes;
};

// An initializer: float32 data in row-major order, dims in ONNX order.
struct OnnxTensor {
    std::string name;
    std::vector<int64_t> dims;
    std::vector<float> data;
};

// One dimension of a value's shape: fixed (param empty) or symbolic ("batch").
struct OnnxDim {
    int64_t value = 0;
    std::string param;
};

struct OnnxValueInfo {
    std::string name;
    OnnxElemType elem_type = OnnxElemType::FLOAT;
    std::vector<OnnxDim> shape;
};

struct OnnxGraph {
    std::string name;
    std::vector<OnnxNode> nodes;  // in topological order
    std::vector<OnnxTensor> initializers;
    std::vector<OnnxValueInfo> inputs, outputs;
};

struct OnnxModel {
    int64_t ir_version = 8;  // the IR version that goes with opset 17
    std::vector<std::pair<std::string, int64_t>> opsets = {
        {"", 17}};  // "" is the default ai.onnx domain
    std::string producer_name, producer_version, doc_string;
    OnnxGraph graph;
    std::vector<std::pair<std::string, std::string>> metadata;  // metadata_props, in this order
};

// The serialised ModelProto. Throws ContractError when the model would exceed
// protobuf's 2 GiB message limit.
std::string encode_onnx(const OnnxModel& model);
// encode_onnx, written atomically (temporary file, fsync, rename).
void write_onnx(const std::string& path, const OnnxModel& model);

}  // namespace effnet
