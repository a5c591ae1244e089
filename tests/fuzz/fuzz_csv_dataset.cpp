// The CSV dataset readers: plain path,label[,split][,patient] files, the NIH
// Data_Entry_2017.csv and CheXpert train/valid.csv (the layout is detected
// from the header, as for --data). A few images exist beside the CSV so
// that inputs naming them get past the missing-file check into labels,
// splits and the carving of val/test by patient.
#include <fstream>

#include "data/dataset.h"
#include "fuzz_target.h"

using namespace effnet;
namespace fs = std::filesystem;

namespace {
const fs::path& csv_folder() {
    static const fs::path dir = [] {
        const fs::path d = fuzz::scratch_dir() / "csv";
        // Names the seed corpus uses (tests/fuzz/corpus/csv_dataset).
        for (const char* f : {"a.png", "b.png", "c.png", "d.png", "images/00000001_000.png",
                              "images/00000002_000.png", "images/00000003_001.png",
                              "CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg",
                              "CheXpert-v1.0-small/train/patient00002/study1/view1_frontal.jpg"}) {
            fs::create_directories((d / f).parent_path());
            std::ofstream(d / f) << "x";
        }
        return d;
    }();
    return dir;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // The first byte picks the options; the rest is the CSV.
    if (size < 1) return 0;
    const uint8_t flags = data[0];
    const std::string name = flags & 1 ? "CheXpert-v1.0-small/valid.csv" : "labels.csv";
    const fs::path csv = csv_folder() / name;
    fuzz::write_file(csv, data + 1, size - 1);
    DatasetOptions o;
    o.pa_only = flags & 2;
    o.other_findings_negative = flags & 4;
    o.uncertain = flags & 8    ? UncertainPolicy::ONE
                  : flags & 16 ? UncertainPolicy::ZERO
                               : UncertainPolicy::IGNORE;
    o.test_fraction = flags & 32 ? 0.25 : 0.0;
    o.val_fraction = flags & 64 ? 0.0 : 0.2;
    if (flags & 1) o.image_root = csv_folder().string();
    fuzz::expect_only_reported_errors([&] {
        const Dataset ds = load_dataset(csv.string(), o);
        for (const Sample& s : ds.samples)
            if (s.label != 0 && s.label != 1) std::abort();
    });
    fuzz::expect_only_reported_errors(
        [&] { split_csv_line(std::string(data + 1, data + size), name, 1); });
    return 0;
}
