// Files for the API tests and the install test: a weights file as
// effnet_train writes one, and a chest X-ray phantom image.
#pragma once

#include <map>
#include <string>

namespace effnet::test {

// EfficientNet-B0 with two classes for `image_size` inputs, weights random
// but behaving like trained ones (tests/common/trained_like.h, statistics
// from phantoms preprocessed as in training), with the model spec and
// `extra` in the metadata.
void write_test_weights(const std::string& path, int image_size,
                        const std::map<std::string, std::string>& extra = {});

// Phantom `index` as an 8-bit grey PNG of `side` x `side` pixels.
void write_test_image(const std::string& path, int side, uint64_t index);

}  // namespace effnet::test
