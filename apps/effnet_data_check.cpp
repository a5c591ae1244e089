// effnet_data_check: scans a dataset (folder or CSV) and reports what a user
// should know before training: counts per split and class, unreadable files,
// exact duplicates (by content hash) within and across splits, near-blank or
// very low-contrast images, and the distribution of image sizes.
#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <mutex>

#include "train/cli.h"
#include "data/dataset.h"
#include "data/dicom.h"
#include "data/image.h"
#include "tensor/error.h"

using namespace effnet;

namespace {
uint64_t fnv1a(const std::vector<uint8_t>& bytes) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (uint8_t b : bytes) h = (h ^ b) * 0x100000001b3ULL;
    return h;
}
struct FileInfo {
    bool ok = false;
    std::string error;
    uint64_t hash = 0;
    int width = 0, height = 0;
    double stddev = 0;
    int range = 0;
};
}  // namespace

int main(int argc, char** argv) {
    return cli::run_main("effnet_data_check", [&] {
        DatasetOptions opts;
        double min_std = 8.0;
        int64_t show = 10;
        bool strict = false;
        cli::Parser p(
            "effnet_data_check",
            "Scan a dataset: usage effnet_data_check [options] DIR|CSV\n" + dicom_support());
        p.option("--image-root", &opts.image_root, "image folder for NIH/CheXpert CSVs");
        p.option("--val-fraction", &opts.val_fraction,
                 "val share carved from train when there is no val split");
        p.option("--min-std", &min_std,
                 "grey-level standard deviation below which an image is flagged low-contrast");
        p.option("--show", &show, "examples listed per problem");
        p.flag("--strict", &strict, "exit with status 1 when any problem is found");
        if (!p.parse(argc, argv)) return 0;
        if (p.positional().size() != 1)
            throw cli::UsageError("give exactly one dataset folder or CSV");
        opts.val_fraction =
            p.given("--val-fraction") ? opts.val_fraction : 0.0;  // report the data as it is
        Dataset ds = load_dataset(p.positional()[0], opts);
        std::vector<FileInfo> info(ds.samples.size());
#pragma omp parallel for schedule(dynamic, 16)
        for (int64_t i = 0; i < int64_t(ds.samples.size()); ++i) {
            FileInfo& fi = info[size_t(i)];
            try {
                std::vector<uint8_t> bytes = read_file_bytes(ds.samples[size_t(i)].path);
                fi.hash = fnv1a(bytes);
                GreyImage img = decode_image_bytes(bytes, ds.samples[size_t(i)].path);
                fi.width = img.width;
                fi.height = img.height;
                double s = 0, s2 = 0;
                int lo = 255, hi = 0;
                for (uint8_t v : img.pixels) {
                    s += v;
                    s2 += double(v) * v;
                    lo = std::min<int>(lo, v);
                    hi = std::max<int>(hi, v);
                }
                const double n = double(img.pixels.size());
                fi.stddev = std::sqrt(std::max(0.0, s2 / n - (s / n) * (s / n)));
                fi.range = hi - lo;
                fi.ok = true;
            } catch (const Error& e) {
                fi.error = e.what();
            }
        }
        std::cout << "dataset: " << ds.source << "\n\n"
                  << "split   class 0  class 1    total\n";
        for (Split s : {Split::TRAIN, Split::VAL, Split::TEST}) {
            char line[96];
            std::snprintf(line, sizeof line, "%-6s %8lld %8lld %8lld\n", split_name(s),
                          (long long)ds.count(s, 0), (long long)ds.count(s, 1),
                          (long long)ds.count(s));
            std::cout << line;
        }
        int problems = 0;
        auto list = [&](const std::string& title, const std::vector<std::string>& items) {
            std::cout << "\n" << title << ": " << items.size() << "\n";
            for (size_t i = 0; i < items.size() && int64_t(i) < show; ++i)
                std::cout << "  " << items[i] << "\n";
            if (int64_t(items.size()) > show)
                std::cout << "  ... (" << items.size() - size_t(show) << " more)\n";
            problems += int(items.size());
        };
        std::vector<std::string> unreadable, low, dup_within, dup_across, conflicting;
        std::map<uint64_t, std::vector<size_t>> by_hash;
        std::map<std::pair<int, int>, int> sizes;
        std::vector<int> widths, heights;
        for (size_t i = 0; i < info.size(); ++i) {
            if (!info[i].ok) {
                unreadable.push_back(info[i].error);
                continue;
            }
            by_hash[info[i].hash].push_back(i);
            ++sizes[{info[i].width, info[i].height}];
            widths.push_back(info[i].width);
            heights.push_back(info[i].height);
            if (info[i].stddev < min_std || info[i].range < 16) {
                char b[64];
                std::snprintf(b, sizeof b, " (std %.1f, range %d)", info[i].stddev, info[i].range);
                low.push_back(ds.samples[i].path + b);
            }
        }
        for (auto& [h, idx] : by_hash) {
            if (idx.size() < 2) continue;
            std::string group;
            bool across = false, conflict = false;
            for (size_t k : idx) {
                group += (group.empty() ? "" : " = ") + ds.samples[k].path + " [" +
                         split_name(ds.samples[k].split) + ", " +
                         std::to_string(ds.samples[k].label) + "]";
                across |= ds.samples[k].split != ds.samples[idx[0]].split;
                conflict |= ds.samples[k].label != ds.samples[idx[0]].label;
            }
            (across ? dup_across : dup_within).push_back(group);
            if (conflict) conflicting.push_back(group);
        }
        list("unreadable files", unreadable);
        list("exact duplicates across splits (leak validation into training)", dup_across);
        list("exact duplicates within a split", dup_within);
        list("duplicates with conflicting labels", conflicting);
        list("near-blank or very low-contrast images", low);
        std::cout << "\nimage sizes: " << sizes.size() << " distinct\n";
        if (!widths.empty()) {
            std::sort(widths.begin(), widths.end());
            std::sort(heights.begin(), heights.end());
            std::cout << "  width  min " << widths.front() << ", median "
                      << widths[widths.size() / 2] << ", max " << widths.back() << "\n  height min "
                      << heights.front() << ", median " << heights[heights.size() / 2] << ", max "
                      << heights.back() << "\n";
            std::vector<std::pair<int, std::pair<int, int>>> common;
            for (auto& [wh, n] : sizes) common.push_back({n, wh});
            std::sort(common.rbegin(), common.rend());
            for (size_t i = 0; i < common.size() && i < 5; ++i)
                std::cout << "  " << common[i].second.first << "x" << common[i].second.second
                          << ": " << common[i].first << " images\n";
        }
        std::cout << "\n"
                  << (problems ? std::to_string(problems) + " findings to review"
                               : "no problems found")
                  << "\n";
        return strict && problems ? 1 : 0;
    });
}
