// EfficientNet -> ONNX model (opset 17, IR version 8, float32), for serving
// runtimes (ONNX Runtime, OpenVINO, TensorRT, ...).
//
// The graph's input "input" is the normalised image tensor, NCHW
// [batch, C, S, S] with a symbolic batch ("batch"), C the stem's channels (3,
// or 1 for a grey stem) and S the image size the model was trained at; its
// output "logits" is [batch, num_classes]. Preprocessing is not in the graph:
// the metadata (onnx_metadata below) tells a consumer how to make the input.
//
// The model's layers are walked in execution order (eval mode) and mapped to
// ONNX operators; effnet's NHWC activations become NCHW, and the weights are
// already in PyTorch shapes (conv [Cout, Cin/groups, k, k], linear [out, in]),
// so none is transposed:
//   Conv2d + BatchNorm2d   one Conv with bias: the batch norm's running
//                          statistics are folded in (in double):
//                          s = gamma / sqrt(var + eps), W' = W * s, b' = beta - mean * s
//   fused BN + swish       that Conv, then Sigmoid and Mul (opset 17 has no SiLU)
//   depthwise Conv2d       Conv with group = channels; padding k/2 on every side
//   SqueezeExcite          GlobalAveragePool, Conv 1x1 + bias, swish, Conv 1x1 + bias, Sigmoid, Mul
//   MBConv residual        Add (drop-path is the identity at inference)
//   GlobalAvgPool          GlobalAveragePool, Flatten
//   Dropout                nothing
//   Linear                 Gemm (transB = 1)
// A layer the walk does not know throws ContractError naming it.
// Initializers are named after the timm convolution they replace
// ("blocks.1.0.conv_dw.weight" holds conv_dw's weights with bn1 folded in,
// "blocks.1.0.conv_dw.bias" the folded bias).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "data/loader.h"
#include "io/onnx_writer.h"
#include "layers/efficientnet.h"

namespace effnet {

struct OnnxExportOptions {
    PipelineConfig pipeline;  // how inputs are prepared; image_size fixes H and W
    std::string arch = "efficientnet_b0";
    std::vector<std::string>
        class_names;  // empty: "no_cardiomegaly,cardiomegaly" for 1-2 outputs, else "0".."K-1"
    std::optional<double> threshold;    // the operating point on P(class 1), when known
    std::optional<double> temperature;  // P = activation(logits / temperature), when calibrated
    std::string source;                 // where the weights came from (the model's doc string)
};

// The metadata_props of an export, in order (keys documented in docs/deployment.md).
std::vector<std::pair<std::string, std::string>> onnx_metadata(const EfficientNet& net,
                                                               const OnnxExportOptions& opts);

// The model as an ONNX graph. `net` must have bound parameters (its values are
// read, on any device); it need not be set up.
OnnxModel efficientnet_to_onnx(EfficientNet& net, const OnnxExportOptions& opts);

}  // namespace effnet
