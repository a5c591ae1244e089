// classify WEIGHTS IMAGE: prints P(cardiomegaly) for one chest X-ray.
//
// WEIGHTS is a file written by effnet_train (best.safetensors); its metadata
// says how the image is preprocessed and, when calibrated, the temperature
// and the decision threshold. IMAGE is a PNG, JPEG, BMP (or DICOM) file.
#include <effnet/effnet.h>

#include <cstdio>

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: classify WEIGHTS IMAGE\n");
        return 2;
    }
    try {
        effnet::Classifier model(argv[1]);
        const effnet::Prediction p = model.predict(argv[2]);
        std::printf("P(cardiomegaly) = %.6f\n", p.probability);
        std::printf("label %d (threshold %.3f, %s)\n", p.label, model.info().threshold,
                    model.info().has_threshold ? "from the weights file" : "default");
        return 0;
    } catch (const effnet::ImageError& e) {
        std::fprintf(stderr, "classify: cannot read the image: %s\n", e.what());
    } catch (const effnet::ClassifierError& e) {
        std::fprintf(stderr, "classify: %s\n", e.what());
    }
    return 1;
}
