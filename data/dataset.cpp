#include "data/dataset.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <unordered_map>

#include <unistd.h>

#include "data/phantom.h"
#include "tensor/error.h"
#include "tensor/random.h"

namespace effnet {

namespace fs = std::filesystem;

namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

std::string trim(const std::string& s) {
    size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
    return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// Class folder name -> label, or -1 when the name is not a known class.
int class_label(const std::string& name) {
    static const std::map<std::string, int> names = {{"0", 0},        {"1", 1},
                                                     {"false", 0},    {"true", 1},
                                                     {"normal", 0},   {"cardiomegaly", 1},
                                                     {"negative", 0}, {"positive", 1},
                                                     {"no", 0},       {"yes", 1}};
    auto it = names.find(lower(name));
    return it == names.end() ? -1 : it->second;
}

bool parse_split(const std::string& s, Split& out) {
    const std::string l = lower(trim(s));
    if (l == "train")
        out = Split::TRAIN;
    else if (l == "val" || l == "valid" || l == "validation")
        out = Split::VAL;
    else if (l == "test")
        out = Split::TEST;
    else
        return false;
    return true;
}

// A (key, value) for Sample::metadata, unless the value is empty or unknown.
void add_metadata(Sample& s, const std::string& key, const std::string& value) {
    const std::string v = trim(value);
    if (v.empty() || lower(v) == "unknown") return;
    s.metadata.emplace_back(key, v);
}

[[noreturn]] void bad_line(const std::string& file, int64_t line, const std::string& what) {
    throw IoError(file + ":" + std::to_string(line) + ": " + what);
}

std::ifstream open_text(const std::string& path) {
    std::ifstream f(path);
    if (!f) throw IoError(path + ": cannot open");
    return f;
}

void load_class_folders(const fs::path& root, Split split, Dataset& ds) {
    std::vector<fs::path> dirs;
    for (auto& e : fs::directory_iterator(root))
        if (e.is_directory()) dirs.push_back(e.path());
    std::sort(dirs.begin(), dirs.end());
    for (auto& d : dirs) {
        const int label = class_label(d.filename().string());
        if (label < 0)
            throw IoError(
                d.string() +
                ": class folder name not understood (use 0/1, false/true, normal/cardiomegaly, "
                "negative/positive or no/yes)");
        std::vector<fs::path> files;
        for (auto& e : fs::recursive_directory_iterator(d))
            if (e.is_regular_file() && has_image_extension(e.path().string()))
                files.push_back(e.path());
        std::sort(files.begin(), files.end());
        for (auto& f : files) ds.samples.push_back({f.string(), label, split, "", -1, {}});
    }
}

Dataset load_folders(const fs::path& root) {
    Dataset ds;
    ds.source = "class folders " + root.string();
    bool any_split = false;
    for (const char* name : {"train", "val", "test"}) {
        Split s;
        parse_split(name, s);
        if (fs::is_directory(root / name)) {
            any_split = true;
            load_class_folders(root / name, s, ds);
        }
    }
    if (!any_split) load_class_folders(root, Split::TRAIN, ds);
    return ds;
}

// CSV with a header naming path and label (and optionally split, patient_id/patient/group).
Dataset load_plain_csv(const std::string& path, const std::vector<std::string>& header,
                       std::ifstream& in) {
    Dataset ds;
    ds.source = "CSV " + path;
    std::map<std::string, size_t> col;
    for (size_t i = 0; i < header.size(); ++i) col[lower(trim(header[i]))] = i;
    if (!col.count("path") || !col.count("label"))
        bad_line(
            path, 1, "header must name the columns 'path' and 'label' (got '" + [&] {
                std::string h;
                for (auto& c : header) h += (h.empty() ? "" : ",") + c;
                return h;
            }() + "')");
    const fs::path base = fs::path(path).parent_path();
    std::string line;
    int64_t line_no = 1;
    const size_t need = std::max(col["path"], col["label"]) + 1;
    while (std::getline(in, line)) {
        ++line_no;
        if (trim(line).empty()) continue;
        auto f = split_csv_line(line, path, line_no);
        if (f.size() < need)
            bad_line(path, line_no,
                     "expected at least " + std::to_string(need) + " fields, got " +
                         std::to_string(f.size()));
        Sample s;
        const std::string p = trim(f[col["path"]]);
        if (p.empty()) bad_line(path, line_no, "empty path");
        s.path = fs::path(p).is_absolute() ? p : (base / p).string();
        const std::string lab = trim(f[col["label"]]);
        if (lab != "0" && lab != "1") bad_line(path, line_no, "label '" + lab + "' is not 0 or 1");
        s.label = lab == "1";
        if (col.count("split") && col["split"] < f.size() && !trim(f[col["split"]]).empty() &&
            !parse_split(f[col["split"]], s.split))
            bad_line(path, line_no, "split '" + f[col["split"]] + "' is not train, val or test");
        for (const char* g : {"patient_id", "patient", "group"})
            if (col.count(g) && col[g] < f.size()) {
                s.group = trim(f[col[g]]);
                break;
            }
        for (const char* key : {"sex", "age", "view", "projection"})
            if (col.count(key) && col[key] < f.size()) add_metadata(s, key, f[col[key]]);
        ds.samples.push_back(s);
    }
    return ds;
}

// Image files under `root` by file name, and also by name without the
// extension, so that a listed "00000001_000.png" finds "00000001_000.dcm".
std::unordered_map<std::string, std::string> index_images(const fs::path& root) {
    std::unordered_map<std::string, std::string> idx;
    if (!fs::is_directory(root))
        throw IoError(root.string() + ": image folder not found (set --image-root)");
    for (auto& e : fs::recursive_directory_iterator(root))
        if (e.is_regular_file() && has_image_extension(e.path().string())) {
            idx.emplace(e.path().filename().string(), e.path().string());
            idx.emplace("stem:" + e.path().stem().string(), e.path().string());
        }
    return idx;
}

Dataset load_nih(const std::string& path, std::ifstream& in, const DatasetOptions& opts) {
    Dataset ds;
    ds.source = "NIH ChestX-ray14 " + path;
    const fs::path root =
        opts.image_root.empty() ? fs::path(path).parent_path() : fs::path(opts.image_root);
    auto images = index_images(root);
    std::string line;
    int64_t line_no = 1, unmatched = 0;
    while (std::getline(in, line)) {
        ++line_no;
        if (trim(line).empty()) continue;
        auto f = split_csv_line(line, path, line_no);
        if (f.size() < 7)
            bad_line(path, line_no,
                     "expected at least 7 columns (Image Index ... View Position), got " +
                         std::to_string(f.size()));
        const std::string findings = trim(f[1]);
        int label;
        bool cardio = false;
        for (size_t b = 0, e; b <= findings.size(); b = e + 1) {
            e = findings.find('|', b);
            if (e == std::string::npos) e = findings.size();
            if (findings.substr(b, e - b) == "Cardiomegaly") cardio = true;
        }
        if (cardio)
            label = 1;
        else if (findings == "No Finding" || opts.other_findings_negative)
            label = 0;
        else
            continue;
        if (opts.pa_only && trim(f[6]) != "PA") continue;
        auto it = images.find(trim(f[0]));
        if (it == images.end()) it = images.find("stem:" + fs::path(trim(f[0])).stem().string());
        if (it == images.end()) {
            ++unmatched;
            continue;
        }
        Sample s{it->second, label, Split::TRAIN, "patient" + trim(f[3]), -1, {}};
        add_metadata(s, "sex", f[5]);
        add_metadata(s, "age", f[4]);
        add_metadata(s, "projection", f[6]);
        ds.samples.push_back(s);
    }
    if (ds.samples.empty())
        throw IoError(path + ": no usable rows (" + std::to_string(unmatched) +
                      " listed images not found under " + root.string() + ")");
    // The archive comes in parts; images of parts not unpacked are left out, and said so.
    if (unmatched > 0)
        ds.source += " (" + std::to_string(unmatched) + " listed images not found under " +
                     root.string() + ", left out)";
    return ds;
}

Dataset load_chexpert(const std::string& path, const std::vector<std::string>& header,
                      std::ifstream& in, const DatasetOptions& opts) {
    Dataset ds;
    ds.source = "CheXpert " + path;
    size_t path_col = header.size(), cardio_col = header.size();
    size_t sex_col = header.size(), age_col = header.size(), view_col = header.size(),
           projection_col = header.size();
    for (size_t i = 0; i < header.size(); ++i) {
        const std::string h = trim(header[i]);
        if (h == "Path") path_col = i;
        if (h == "Cardiomegaly") cardio_col = i;
        if (h == "Sex") sex_col = i;
        if (h == "Age") age_col = i;
        if (h == "Frontal/Lateral") view_col = i;
        if (h == "AP/PA") projection_col = i;
    }
    const fs::path root = opts.image_root.empty() ? fs::path(path).parent_path().parent_path()
                                                  : fs::path(opts.image_root);
    const Split split = lower(fs::path(path).filename().string()).find("valid") != std::string::npos
                            ? Split::VAL
                            : Split::TRAIN;
    std::string line;
    int64_t line_no = 1;
    while (std::getline(in, line)) {
        ++line_no;
        if (trim(line).empty()) continue;
        auto f = split_csv_line(line, path, line_no);
        if (f.size() <= std::max(path_col, cardio_col))
            bad_line(path, line_no, "row has too few columns");
        const std::string v = trim(f[cardio_col]);
        int label;
        if (v.empty() || v == "0" || v == "0.0")
            label = 0;
        else if (v == "1" || v == "1.0")
            label = 1;
        else if (v == "-1" || v == "-1.0") {
            if (opts.uncertain == UncertainPolicy::IGNORE) continue;
            label = opts.uncertain == UncertainPolicy::ONE;
        } else {
            bad_line(path, line_no, "Cardiomegaly value '" + v + "' is not 1, 0, -1 or blank");
        }
        const std::string rel = trim(f[path_col]);
        std::string patient;
        auto p = rel.find("patient");
        if (p != std::string::npos) patient = rel.substr(p, rel.find('/', p) - p);
        fs::path image = root / rel;
        // CheXpert lists JPEGs; where only a DICOM of the same name is there, take it.
        // The probes do not throw: a name the system refuses (too long, say) is
        // reported with the other unusable files by check_listed_images.
        std::error_code ec;
        if (fs::path dcm = fs::path(image).replace_extension(".dcm");
            !fs::exists(image, ec) && fs::exists(dcm, ec))
            image = dcm;
        Sample s{image.string(), label, split, patient, -1, {}};
        if (sex_col < f.size()) add_metadata(s, "sex", f[sex_col]);
        if (age_col < f.size()) add_metadata(s, "age", f[age_col]);
        if (view_col < f.size()) add_metadata(s, "view", lower(trim(f[view_col])));
        if (projection_col < f.size()) add_metadata(s, "projection", f[projection_col]);
        ds.samples.push_back(s);
    }
    return ds;
}

// Every image a CSV names must be there before any split is carved: a wrong
// base folder would otherwise surface much later, as "the train split has no
// images of class 0". All missing files are counted, the first few named.
void check_listed_images(const Dataset& ds, const std::string& csv,
                         const std::string& resolved_from) {
    std::vector<std::string> bad;
    for (const Sample& s : ds.samples) {
        std::error_code ec;
        const fs::file_status st = fs::status(s.path, ec);
        const bool refused = ec && ec != std::errc::no_such_file_or_directory;
        const std::string why = refused                               ? ec.message()
                                : !fs::exists(st)                     ? "not found"
                                : !fs::is_regular_file(st)            ? "not a file"
                                : ::access(s.path.c_str(), R_OK) != 0 ? "not readable"
                                                                      : "";
        if (!why.empty()) bad.push_back(s.path + " (" + why + ")");
    }
    if (bad.empty()) return;
    std::string list;
    for (size_t i = 0; i < bad.size() && i < 10; ++i) list += "\n  " + bad[i];
    if (bad.size() > 10) list += "\n  ... and " + std::to_string(bad.size() - 10) + " more";
    throw IoError(
        csv + ": " + std::to_string(bad.size()) + " of the " + std::to_string(ds.samples.size()) +
        " images it lists " + (bad.size() == 1 ? "is" : "are") +
        " missing or unreadable (relative paths are taken from " + resolved_from + "):" + list);
}

}  // namespace

bool has_image_extension(const std::string& path) {
    const std::string ext = lower(fs::path(path).extension().string());
    return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp" || ext == ".dcm" ||
           ext == ".dicom";
}

const char* split_name(Split s) {
    switch (s) {
        case Split::TRAIN:
            return "train";
        case Split::VAL:
            return "val";
        case Split::TEST:
            return "test";
    }
    return "?";
}

std::vector<Sample> Dataset::split(Split s) const {
    std::vector<Sample> out;
    for (auto& x : samples)
        if (x.split == s) out.push_back(x);
    return out;
}

int64_t Dataset::count(Split s, int label) const {
    int64_t n = 0;
    for (auto& x : samples) n += x.split == s && (label < 0 || x.label == label);
    return n;
}

std::vector<std::string> split_csv_line(const std::string& line, const std::string& file,
                                        int64_t line_no) {
    std::vector<std::string> out;
    std::string cur;
    bool quoted = false;
    for (size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quoted) {
            if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
                cur += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                cur += c;
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            out.push_back(cur);
            cur.clear();
        } else if (c != '\r') {
            cur += c;
        }
    }
    if (quoted) bad_line(file, line_no, "unterminated quoted field");
    out.push_back(cur);
    return out;
}

void carve_splits(Dataset& ds, const DatasetOptions& opts) {
    const bool need_val = ds.count(Split::VAL) == 0 && opts.val_fraction > 0;
    const bool need_test = ds.count(Split::TEST) == 0 && opts.test_fraction > 0;
    if (!need_val && !need_test) return;
    // Groups of training samples, shuffled by the seed, separately per label
    // of their first sample so both splits keep the class balance.
    std::map<std::string, std::vector<size_t>> groups;
    for (size_t i = 0; i < ds.samples.size(); ++i)
        if (ds.samples[i].split == Split::TRAIN)
            groups[ds.samples[i].group.empty() ? ds.samples[i].path : ds.samples[i].group]
                .push_back(i);
    std::vector<std::vector<size_t>> by_label[2];
    for (auto& [key, members] : groups) by_label[ds.samples[members[0]].label].push_back(members);
    for (int label = 0; label < 2; ++label) {
        auto& g = by_label[label];
        for (size_t i = g.size(); i > 1; --i) {  // Fisher-Yates with a counter-based draw
            size_t j = size_t(mix64(opts.split_seed ^ mix64(uint64_t(label) * 1000003 + i)) % i);
            std::swap(g[i - 1], g[j]);
        }
        const size_t n_test =
            need_test ? size_t(std::llround(opts.test_fraction * double(g.size()))) : 0;
        const size_t n_val =
            need_val ? size_t(std::llround(opts.val_fraction * double(g.size()))) : 0;
        for (size_t i = 0; i < g.size() && i < n_test + n_val; ++i)
            for (size_t idx : g[i]) ds.samples[idx].split = i < n_test ? Split::TEST : Split::VAL;
    }
}

Dataset phantom_dataset(uint64_t seed, int64_t n_train, int64_t n_val, int64_t n_test) {
    Dataset ds;
    ds.source = "synthetic chest X-ray phantoms (seed " + std::to_string(seed) + ")";
    ds.phantom_seed = seed;
    int64_t index = 0;
    auto add = [&](int64_t n, Split s) {
        for (int64_t i = 0; i < n; ++i, ++index) {
            Sample x;
            x.label = sample_phantom(seed, uint64_t(index)).label();
            x.path = "phantom:" + std::to_string(index);
            x.split = s;
            x.phantom = index;
            ds.samples.push_back(x);
        }
    };
    add(n_train, Split::TRAIN);
    add(n_val, Split::VAL);
    add(n_test, Split::TEST);
    return ds;
}

namespace {

Dataset read_dataset(const std::string& spec, const DatasetOptions& opts) {
    const fs::path p(spec);
    if (!fs::exists(p)) throw IoError(spec + ": no such file or folder");
    Dataset ds;
    if (fs::is_directory(p)) {
        ds = load_folders(p);
    } else {
        std::ifstream in = open_text(spec);
        std::string header_line;
        if (!std::getline(in, header_line)) throw IoError(spec + ": empty CSV");
        if (header_line.rfind("Image Index,Finding Labels", 0) == 0) {
            ds = load_nih(spec, in, opts);
        } else {
            auto header = split_csv_line(header_line, spec, 1);
            bool chexpert = false;
            for (auto& h : header) chexpert |= trim(h) == "Cardiomegaly";
            ds =
                chexpert ? load_chexpert(spec, header, in, opts) : load_plain_csv(spec, header, in);
            const fs::path csv_dir = fs::path(spec).parent_path();
            check_listed_images(
                ds, spec,
                chexpert
                    ? (opts.image_root.empty() ? (csv_dir.parent_path().string() +
                                                  ", the CSV's parent folder; set --image-root")
                                               : "--image-root " + opts.image_root)
                    : (csv_dir.empty() ? std::string("the current folder")
                                       : csv_dir.string() + ", the CSV's folder"));
        }
    }
    if (ds.samples.empty()) throw IoError(spec + ": no images found");
    carve_splits(ds, opts);
    return ds;
}

}  // namespace

// A folder that cannot be listed or a name the system refuses surfaces from
// std::filesystem as its own exception; it becomes the reader's IoError so
// that every caller reports it with the dataset's name.
Dataset load_dataset(const std::string& spec, const DatasetOptions& opts) {
    try {
        return read_dataset(spec, opts);
    } catch (const fs::filesystem_error& e) {
        throw IoError(spec + ": " + e.what());
    }
}

}  // namespace effnet
