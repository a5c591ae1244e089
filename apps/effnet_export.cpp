// effnet_export: saved weights to an ONNX model for serving runtimes
// (io/onnx_export.h; docs/deployment.md).
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "train/cli.h"
#include "train/model_spec.h"
#include "io/onnx_export.h"
#include "io/safetensors.h"
#include "io/weights.h"

using namespace effnet;

int main(int argc, char** argv) {
    return cli::run_main("effnet_export", [&] {
        std::string onnx, weights, class_names;
        double threshold = -1;
        cli::Parser p(
            "effnet_export",
            "Export weights written by effnet_train as an ONNX model (opset 17, float32,\n"
            "NCHW input, dynamic batch; preprocessing described in its metadata).\n"
            "usage: effnet_export --onnx model.onnx --weights best.safetensors");
        p.option("--onnx", &onnx, "ONNX file to write (required)");
        p.option("--weights", &weights, "checkpoint or weights written by effnet_train (required)");
        p.option("--threshold", &threshold,
                 "operating point on P(class 1) to record (default: the checkpoint's, if any)");
        p.option("--class-names", &class_names,
                 "comma-separated class names (default: no_cardiomegaly,cardiomegaly)");
        if (!p.parse(argc, argv)) return 0;
        if (onnx.empty() || weights.empty())
            throw cli::UsageError("--onnx and --weights are required");
        if (p.given("--threshold") && !(threshold >= 0 && threshold <= 1))
            throw cli::UsageError("--threshold must lie in [0, 1]");

        SafetensorsFile f = read_safetensors(weights);
        const ModelSpec spec = ModelSpec::from_metadata(f.metadata, weights);
        Model model(spec, Device::CPU, 0);
        load_weights(f, *model.net, WeightsMatch::EXACT, weights, {"optimizer."});

        OnnxExportOptions opts;
        opts.pipeline = spec.pipeline();
        opts.arch = "efficientnet_b" + std::to_string(spec.variant);
        opts.source = weights;
        std::stringstream names(class_names);
        for (std::string name; std::getline(names, name, ',');) opts.class_names.push_back(name);
        const DecisionSettings decision = read_decision_settings(f.metadata, weights);
        if (p.given("--threshold"))
            opts.threshold = threshold;
        else if (decision.has_threshold)
            opts.threshold = decision.threshold;
        if (decision.has_temperature) opts.temperature = decision.temperature;
        write_onnx(onnx, efficientnet_to_onnx(*model.net, opts));
        std::cout << "effnet_export: wrote " << onnx << " (" << opts.arch << ", input [batch,"
                  << spec.in_channels << "," << spec.image_size << "," << spec.image_size << "], "
                  << spec.num_classes << " logits)\n";
        return 0;
    });
}
