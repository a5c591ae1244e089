#include "api/fixture.h"

#include "common/trained_like.h"
#include "data/loader.h"
#include "data/phantom.h"
#include "io/weights.h"
#include "train/model_spec.h"

namespace effnet::test {

void write_test_weights(const std::string& path, int image_size,
                        const std::map<std::string, std::string>& extra) {
    ModelSpec spec;
    spec.image_size = image_size;
    EfficientNet net(trained_like_config(spec.network()));
    ParameterStore store(net, Device::CPU);
    const PipelineConfig pipe = spec.pipeline();
    const int64_t n = 4, per = int64_t(image_size) * image_size * spec.in_channels;
    Tensor x = Tensor::empty(Shape{n, image_size, image_size, spec.in_channels});
    for (int64_t i = 0; i < n; ++i) {
        const GreyImage g =
            prepare_decoded(render_phantom(sample_phantom(11, uint64_t(i)), 2 * image_size), pipe);
        finish_sample(g, pipe, 0, 0, x.f32() + i * per);
    }
    make_trained_like(net, x);
    std::map<std::string, std::string> meta = extra;
    spec.to_metadata(meta);
    save_weights(path, net, meta);
}

void write_test_image(const std::string& path, int side, uint64_t index) {
    const GreyImage g = render_phantom(sample_phantom(23, index), side);
    write_png(path, g.width, g.height, 1, g.pixels.data());
}

}  // namespace effnet::test
