// Checkpoint metadata and weights as --resume, --init, effnet_eval and
// effnet_predict read them: the model spec, the decision settings
// (temperature, threshold), the training state (epoch,
// counters, learning rate, history), the scheduler and early-stopping state,
// and loading tensors into a model by name, shape and dtype with the
// non-finite check. The model is a small Linear layer so each input is fast.
#include "train/checkpoint.h"
#include "fuzz_target.h"
#include "io/safetensors.h"
#include "io/weights.h"
#include "layers/basic.h"
#include "layers/parameters.h"

using namespace effnet;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static Linear layer(4, 2);  // "weight" [2, 4], "bias" [2]
    static ParameterStore store(layer, Device::CPU);
    SafetensorsFile f;
    try {
        f = parse_safetensors(std::vector<uint8_t>(data, data + size), "fuzz.safetensors");
    } catch (const Error&) {
        return 0;
    }
    fuzz::expect_only_reported_errors(
        [&] { ModelSpec::from_metadata(f.metadata, "fuzz.safetensors"); });
    fuzz::expect_only_reported_errors(
        [&] { read_decision_settings(f.metadata, "fuzz.safetensors"); });
    fuzz::expect_only_reported_errors([&] { read_training_state(f.metadata, "fuzz.safetensors"); });
    fuzz::expect_only_reported_errors([&] {
        ReduceLROnPlateau plateau;
        plateau.load(f.metadata, "plateau.");
        EarlyStopping early(EarlyStoppingConfig{});
        early.load(f.metadata, "early.");
    });
    fuzz::expect_only_reported_errors(
        [&] { load_weights(f, layer, WeightsMatch::PARTIAL, "fuzz.safetensors", {"optimizer."}); });
    fuzz::expect_only_reported_errors(
        [&] { load_weights(f, layer, WeightsMatch::EXACT, "fuzz.safetensors"); });
    return 0;
}
