#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "data/dataset.h"
#include "data_fixtures.h"
#include "tensor/error.h"

using namespace effnet;
using namespace effnet::test;

namespace {
void write_text(const fs::path& p, const std::string& s) {
    std::ofstream f(p);
    f << s;
}
void touch_png(const fs::path& p) {
    fs::create_directories(p.parent_path());
    write_grey_png(p, 4, 4, std::vector<uint8_t>(16, 100));
}
}  // namespace

TEST(CsvLine, QuotesAndEmbeddedCommas) {
    auto f = split_csv_line(R"(a,"b,c","say ""hi""",,e)", "x.csv", 3);
    EXPECT_EQ(f, (std::vector<std::string>{"a", "b,c", "say \"hi\"", "", "e"}));
    try {
        split_csv_line("a,\"open", "x.csv", 17);
        FAIL();
    } catch (const IoError& e) {
        EXPECT_NE(std::string(e.what()).find("x.csv:17"), std::string::npos) << e.what();
    }
}

TEST(Dataset, ClassFoldersWithNamedClasses) {
    auto d = scratch_dir("folders");
    touch_png(d / "train" / "normal" / "a.png");
    touch_png(d / "train" / "cardiomegaly" / "b.png");
    touch_png(d / "train" / "cardiomegaly" / "c.png");
    touch_png(d / "val" / "false" / "d.png");
    touch_png(d / "val" / "true" / "e.png");
    Dataset ds = load_dataset(d.string());
    EXPECT_EQ(ds.count(Split::TRAIN), 3);
    EXPECT_EQ(ds.count(Split::TRAIN, 1), 2);
    EXPECT_EQ(ds.count(Split::VAL, 0), 1);
    EXPECT_EQ(ds.count(Split::TEST), 0);
    touch_png(d / "train" / "maybe" / "x.png");
    try {
        load_dataset(d.string());
        FAIL();
    } catch (const IoError& e) {
        EXPECT_NE(std::string(e.what()).find("maybe"), std::string::npos) << e.what();
    }
}

TEST(Dataset, CsvRelativePathsSplitsAndBadRows) {
    auto d = scratch_dir("csv");
    write_text(d / "labels.csv",
               "path,label,split,patient_id\nimgs/a.png,1,train,p1\nimgs/b.png,0,val,p2\nimgs/"
               "c.png,0,test,p3\n");
    for (const char* f : {"a.png", "b.png", "c.png"}) touch_png(d / "imgs" / f);
    Dataset ds = load_dataset((d / "labels.csv").string());
    ASSERT_EQ(ds.samples.size(), 3u);
    EXPECT_EQ(ds.samples[0].path, (d / "imgs" / "a.png").string());
    EXPECT_EQ(ds.samples[1].split, Split::VAL);
    EXPECT_EQ(ds.samples[2].group, "p3");
    EXPECT_TRUE(ds.samples[0].metadata.empty());
    // Optional subgroup columns, by name; empty and "Unknown" values give nothing.
    write_text(d / "meta.csv",
               "path,Sex,label,age,view,projection\nimgs/a.png,F,1,71,frontal,PA\nimgs/"
               "b.png,Unknown,0,,,AP\n");
    Dataset meta = load_dataset((d / "meta.csv").string());
    using Meta = std::vector<std::pair<std::string, std::string>>;
    EXPECT_EQ(meta.samples[0].metadata,
              (Meta{{"sex", "F"}, {"age", "71"}, {"view", "frontal"}, {"projection", "PA"}}));
    EXPECT_EQ(meta.samples[1].metadata, (Meta{{"projection", "AP"}}));
    write_text(d / "bad.csv", "path,label\nimgs/a.png,1\nimgs/b.png,maybe\n");
    try {
        load_dataset((d / "bad.csv").string());
        FAIL();
    } catch (const IoError& e) {
        EXPECT_NE(std::string(e.what()).find("bad.csv:3: label 'maybe'"), std::string::npos)
            << e.what();
    }
    write_text(d / "noheader.csv", "a.png,1\n");
    EXPECT_THROW(load_dataset((d / "noheader.csv").string()), IoError);
    write_text(d / "short.csv", "path,label,split\na.png\n");
    try {
        load_dataset((d / "short.csv").string());
        FAIL();
    } catch (const IoError& e) {
        EXPECT_NE(std::string(e.what()).find("short.csv:2"), std::string::npos) << e.what();
    }
}

TEST(Dataset, NihDataEntryByPositionWithPatientSplits) {
    auto d = scratch_dir("nih");
    std::string csv =
        "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View "
        "Position,"
        "OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],\n";
    int n = 0;
    for (int patient = 1; patient <= 40; ++patient)
        for (int k = 0; k < 3; ++k, ++n) {
            char name[32];
            std::snprintf(name, sizeof name, "%08d_%03d.png", patient, k);
            const char* findings = patient % 4 == 0   ? "Cardiomegaly|Effusion"
                                   : patient % 4 == 1 ? "No Finding"
                                   : patient % 4 == 2 ? "Cardiomegaly"
                                                      : "Effusion";
            const char* view = k == 2 ? "AP" : "PA";
            csv += std::string(name) + "," + findings + "," + std::to_string(k) + "," +
                   std::to_string(patient) + ",50,M," + view + ",2048,2500,0.143,0.143,\n";
            touch_png(d / "images_001" / "images" / name);
        }
    write_text(d / "Data_Entry_2017.csv", csv);
    DatasetOptions opts;
    opts.val_fraction = 0.25;
    opts.test_fraction = 0.25;
    Dataset ds = load_dataset((d / "Data_Entry_2017.csv").string(), opts);
    EXPECT_EQ(ds.samples.size(), 90u);  // "Effusion" alone is dropped
    int64_t pos = 0;
    for (auto& s : ds.samples) pos += s.label;
    EXPECT_EQ(pos, 60);
    // No patient in two splits.
    std::map<std::string, std::set<Split>> splits_of;
    for (auto& s : ds.samples) splits_of[s.group].insert(s.split);
    for (auto& [patient, splits] : splits_of) EXPECT_EQ(splits.size(), 1u) << patient;
    EXPECT_GT(ds.count(Split::VAL), 0);
    EXPECT_GT(ds.count(Split::TEST), 0);
    // Subgroup metadata: sex, age and the view position of every row.
    using Meta = std::vector<std::pair<std::string, std::string>>;
    EXPECT_EQ(ds.samples[0].metadata, (Meta{{"sex", "M"}, {"age", "50"}, {"projection", "PA"}}));
    EXPECT_EQ(ds.samples[2].metadata, (Meta{{"sex", "M"}, {"age", "50"}, {"projection", "AP"}}));
    opts.pa_only = true;
    EXPECT_EQ(load_dataset((d / "Data_Entry_2017.csv").string(), opts).samples.size(), 60u);
    opts.other_findings_negative = true;
    EXPECT_EQ(load_dataset((d / "Data_Entry_2017.csv").string(), opts).samples.size(), 80u);
}

TEST(Dataset, CheXpertUncertainPolicies) {
    auto d = scratch_dir("chexpert");
    fs::create_directories(d / "CheXpert-v1.0-small");
    write_text(
        d / "CheXpert-v1.0-small" / "train.csv",
        "Path,Sex,Age,Frontal/Lateral,AP/PA,No Finding,Enlarged "
        "Cardiomediastinum,Cardiomegaly,Lung Opacity\n"
        "CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg,F,68,Frontal,AP,1.0,,,\n"
        "CheXpert-v1.0-small/train/patient00002/study1/view1_frontal.jpg,F,87,Frontal,AP,,,1.0,\n"
        "CheXpert-v1.0-small/train/patient00003/study1/"
        "view1_frontal.jpg,M,40,Frontal,PA,,,-1.0,1.0\n"
        "CheXpert-v1.0-small/train/patient00004/study1/view1_frontal.jpg,M,40,Frontal,PA,,,0.0,\n");
    for (int p = 1; p <= 4; ++p)
        touch_png(d / ("CheXpert-v1.0-small/train/patient0000" + std::to_string(p) +
                       "/study1/view1_frontal.jpg"));
    const std::string csv = (d / "CheXpert-v1.0-small" / "train.csv").string();
    DatasetOptions o;
    Dataset ds = load_dataset(csv, o);
    EXPECT_EQ(ds.samples.size(), 3u);
    EXPECT_EQ(ds.samples[1].label, 1);
    EXPECT_EQ(ds.samples[1].group, "patient00002");
    EXPECT_EQ(ds.samples[0].path,
              (d / "CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg").string());
    using Meta = std::vector<std::pair<std::string, std::string>>;
    EXPECT_EQ(ds.samples[1].metadata,
              (Meta{{"sex", "F"}, {"age", "87"}, {"view", "frontal"}, {"projection", "AP"}}));
    o.uncertain = UncertainPolicy::ONE;
    Dataset one = load_dataset(csv, o);
    EXPECT_EQ(one.samples.size(), 4u);
    EXPECT_EQ(one.samples[2].label, 1);
    o.uncertain = UncertainPolicy::ZERO;
    EXPECT_EQ(load_dataset(csv, o).samples[2].label, 0);
}

// A name longer than the file system allows makes std::filesystem throw its
// own exception; the readers report it like any other unusable file.
TEST(Dataset, NamesTheSystemRefusesAreReportedNotThrownThrough) {
    auto d = scratch_dir("csv_long_names");
    const std::string too_long(300, 'x');  // over NAME_MAX (255) on every Linux file system
    fs::create_directories(d / "CheXpert-v1.0-small" / "valid" / "patient1");
    write_text(d / "CheXpert-v1.0-small" / "valid.csv",
               "Path,Sex,Age,Cardiomegaly\nCheXpert-v1.0-small/valid/patient1/" + too_long +
                   ".jpg,F,87,1.0\n");
    try {
        load_dataset((d / "CheXpert-v1.0-small" / "valid.csv").string());
        FAIL() << "an over-long listed name accepted";
    } catch (const IoError& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("1 of the 1 images it lists is missing or unreadable"), std::string::npos)
            << m;
        EXPECT_NE(m.find(too_long + ".jpg (File name too long)"), std::string::npos) << m;
    }
    const std::string spec = (d / (too_long + ".csv")).string();
    try {
        load_dataset(spec);
        FAIL() << "an over-long dataset name accepted";
    } catch (const IoError& e) {
        EXPECT_EQ(std::string(e.what()).rfind(spec + ": ", 0), 0u) << e.what();
        EXPECT_NE(std::string(e.what()).find("File name too long"), std::string::npos) << e.what();
    }
}

TEST(Dataset, PhantomsAreBalancedAndCarvingIsReproducible) {
    Dataset ds = phantom_dataset(1, 200, 50, 50);
    EXPECT_EQ(ds.count(Split::TRAIN), 200);
    EXPECT_GT(ds.count(Split::TRAIN, 1), 70);
    EXPECT_LT(ds.count(Split::TRAIN, 1), 130);
    Dataset a = phantom_dataset(1, 300, 0, 0), b = phantom_dataset(1, 300, 0, 0);
    DatasetOptions o;
    carve_splits(a, o);
    carve_splits(b, o);
    for (size_t i = 0; i < a.samples.size(); ++i) ASSERT_EQ(a.samples[i].split, b.samples[i].split);
    EXPECT_NEAR(double(a.count(Split::VAL)), 60.0, 2.0);
}

TEST(Dataset, MissingListedImagesAreNamedBeforeAnySplitArithmetic) {
    auto d = scratch_dir("csv_missing");
    // Every class-0 image is missing: the error names them, not "no images of class 0".
    write_text(d / "labels.csv",
               "path,label\nimgs/a.png,1\nimgs/b.png,1\nimgs/gone1.png,0\nimgs/gone2.png,0\n");
    touch_png(d / "imgs" / "a.png");
    touch_png(d / "imgs" / "b.png");
    fs::create_directories(d / "imgs" / "gone2.png");  // a folder where a file should be
    try {
        load_dataset((d / "labels.csv").string());
        FAIL() << "missing images accepted";
    } catch (const IoError& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find((d / "labels.csv").string() +
                         ": 2 of the 4 images it lists are missing or unreadable"),
                  std::string::npos)
            << m;
        EXPECT_NE(m.find((d / "imgs" / "gone1.png").string() + " (not found)"), std::string::npos)
            << m;
        EXPECT_NE(m.find((d / "imgs" / "gone2.png").string() + " (not a file)"), std::string::npos)
            << m;
        EXPECT_NE(m.find(d.string() + ", the CSV's folder"), std::string::npos) << m;
        EXPECT_EQ(m.find("split"), std::string::npos) << m;
    }
    // Many missing: counted, the first ten named.
    std::string csv = "path,label\n";
    for (int i = 0; i < 25; ++i)
        csv += "x" + std::to_string(i) + ".png," + std::to_string(i % 2) + "\n";
    write_text(d / "many.csv", csv);
    try {
        load_dataset((d / "many.csv").string());
        FAIL();
    } catch (const IoError& e) {
        EXPECT_NE(std::string(e.what()).find("25 of the 25 images"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("... and 15 more"), std::string::npos) << e.what();
    }
    // CheXpert paths hint at --image-root.
    fs::create_directories(d / "chex");
    write_text(d / "chex" / "valid.csv",
               "Path,Cardiomegaly\nCheXpert-v1.0/valid/patient1/study1/view1.jpg,1\n");
    try {
        load_dataset((d / "chex" / "valid.csv").string());
        FAIL();
    } catch (const IoError& e) {
        EXPECT_NE(std::string(e.what()).find("set --image-root"), std::string::npos) << e.what();
    }
}
