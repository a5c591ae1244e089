// Datasets: lists of labelled samples with splits, from
//   (a) class folders   ROOT/{train,val,test}/{class}/image   (or ROOT/{class}/image;
//       images: has_image_extension below, DICOM included)
//       class folder names: 0/1, false/true, normal/cardiomegaly, negative/positive, no/yes;
//   (b) a CSV           path,label[,split][,patient_id]  (header required; paths relative to the CSV);
//   (c) NIH ChestX-ray14 Data_Entry_2017.csv, read by column position (its header
//       has unquoted commas): "Cardiomegaly" among the Finding Labels -> 1,
//       exactly "No Finding" -> 0, others dropped (or 0 with other_findings_negative);
//       optional PA-only filter; splits by Patient ID;
//   (d) CheXpert train.csv/valid.csv: the Cardiomegaly column, uncertain (-1)
//       ignored, or taken as 0 or 1; blank as 0; patient from the path;
//   (e) the synthetic phantoms (data/phantom.h).
// Splits missing from the source are carved reproducibly by group (patient
// where known), so no group spans two splits.
//
// Subgroup metadata (Sample::metadata, for the subgroup report; the
// evaluation turns it into tags such as "sex=F", "age=60-79"), from what a
// source has:
//   NIH        sex (Patient Gender, F|M), age (Patient Age, years),
//              projection (View Position, PA|AP);
//   CheXpert   sex (Female|Male), age (years), view (Frontal/Lateral, as
//              frontal|lateral), projection (AP/PA, when given);
//   plain CSV  the optional columns sex, age, view and projection, by name.
// Empty and "Unknown" values are left out.
//
// Malformed input throws IoError naming the file and line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace effnet {

enum class Split { TRAIN, VAL, TEST };
const char* split_name(Split s);

struct Sample {
    std::string path;  // image file; for phantoms "phantom:<index>"
    int label = 0;
    Split split = Split::TRAIN;
    std::string group;     // patient (or near-duplicate group); empty: the path itself
    int64_t phantom = -1;  // phantom index, or -1 for a file
    std::vector<std::pair<std::string, std::string>>
        metadata;  // (key, value): sex, age, view, projection
};

struct Dataset {
    std::string source;  // what was loaded, for logs
    std::vector<Sample> samples;
    uint64_t phantom_seed = 0;
    std::vector<Sample> split(Split s) const;
    int64_t count(Split s, int label = -1) const;
};

enum class UncertainPolicy { IGNORE, ZERO, ONE };

struct DatasetOptions {
    double val_fraction = 0.2;   // carved from train when the source has no val split
    double test_fraction = 0.0;  // carved from train when > 0 and the source has no test split
    uint64_t split_seed = 20240601;
    std::string image_root;  // NIH / CheXpert image folder (default: beside the CSV)
    bool pa_only = false;    // NIH: keep only PA views
    bool other_findings_negative =
        false;  // NIH: other findings count as 0 instead of being dropped
    UncertainPolicy uncertain = UncertainPolicy::IGNORE;  // CheXpert -1 labels
};

// Detects the layout of `spec` (a folder or a CSV) and loads it.
Dataset load_dataset(const std::string& spec, const DatasetOptions& opts = {});
Dataset phantom_dataset(uint64_t seed, int64_t n_train, int64_t n_val, int64_t n_test);

// The file names folder layouts and effnet_predict take as images: .png,
// .jpg, .jpeg, .bmp, .dcm, .dicom (any case). CSV rows name files directly,
// whatever their extension (DICOM files are also known by their content).
bool has_image_extension(const std::string& path);

// Splits one CSV line (RFC 4180 quoting). Throws IoError naming file:line on an unterminated quote.
std::vector<std::string> split_csv_line(const std::string& line, const std::string& file,
                                        int64_t line_no);

// Moves whole groups from TRAIN to VAL/TEST (seeded), when those splits are empty.
void carve_splits(Dataset& ds, const DatasetOptions& opts);

}  // namespace effnet
