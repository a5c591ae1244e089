// effnet_phantoms: writes synthetic chest X-ray phantoms as PNGs in the class
// folder layout (OUT/{train,val,test}/{0,1}/phantom_NNNNN.png) so they can be
// looked at, or used as an on-disk dataset.
#include <filesystem>
#include <iostream>

#include "train/cli.h"
#include "data/phantom.h"

using namespace effnet;

int main(int argc, char** argv) {
    return cli::run_main("effnet_phantoms", [&] {
        std::string out;
        int64_t count = 100, size = 256, seed = 1;
        double val = 0.2, test = 0.2;
        cli::Parser p(
            "effnet_phantoms",
            "Write synthetic chest X-ray phantoms (label 1: cardiothoracic ratio > 0.5).");
        p.option("--out", &out, "output folder (required)");
        p.option("--count", &count, "number of phantoms");
        p.option("--size", &size, "image side in pixels");
        p.option("--seed", &seed, "generator seed");
        p.option("--val-fraction", &val, "share written to val/");
        p.option("--test-fraction", &test, "share written to test/");
        if (!p.parse(argc, argv)) return 0;
        if (out.empty()) throw cli::UsageError("--out is required");
        if (count < 1 || size < 32 || size > 4096)
            throw cli::UsageError("--count must be >= 1 and --size in [32, 4096]");
        namespace fs = std::filesystem;
        int64_t per_class[2] = {0, 0};
        for (int64_t i = 0; i < count; ++i) {
            const double pos = (i + 0.5) / double(count);
            const char* split = pos < 1 - val - test ? "train" : pos < 1 - test ? "val" : "test";
            PhantomSpec s = sample_phantom(uint64_t(seed), uint64_t(i));
            fs::path dir = fs::path(out) / split / std::to_string(s.label());
            fs::create_directories(dir);
            char name[64];
            std::snprintf(name, sizeof name, "phantom_%05lld.png", static_cast<long long>(i));
            GreyImage img = render_phantom(s, int(size));
            write_png((dir / name).string(), img.width, img.height, 1, img.pixels.data());
            ++per_class[s.label()];
        }
        std::cout << "wrote " << count << " phantoms to " << out << " (" << per_class[0]
                  << " label 0, " << per_class[1] << " label 1)\n";
        return 0;
    });
}
