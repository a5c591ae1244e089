// Training curves drawn by the project's own code into an RGB raster and
// written as PNG (stb_image_write); text comes from stb_easy_font's quads.
//
// draw_curves: two panels side by side, loss (left) and accuracy (right),
// train vs validation over epochs, with dashed vertical lines where the
// learning rate dropped and a marker at the best epoch.
//
// reliability_diagram: the positive-class reliability bins of a
// CalibrationReport (io/calibration.h). x is the bin's mean predicted
// P(label 1), y the observed fraction of label 1: bars per bin in light blue,
// the bin means as orange (255, 127, 14) squares joined by an orange line, the
// diagonal of perfect calibration dashed grey; below, the samples per bin.
// The title carries ECE (top-label and positive-class), Brier score and n.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/calibration.h"

namespace effnet {

struct EpochRecord {
    int epoch = 0;  // 1-based
    double train_loss = 0, train_acc = 0;
    double val_loss = 0, val_acc = 0, val_auroc = 0;
    double lr = 0;
    double seconds = 0;
};

class Canvas {
public:
    Canvas(int width, int height, uint8_t grey = 255);
    int width() const { return w_; }
    int height() const { return h_; }
    void pixel(int x, int y, const uint8_t rgb[3]);
    void line(double x0, double y0, double x1, double y1, const uint8_t rgb[3], int thickness = 1,
              int dash = 0);
    void rect(int x0, int y0, int x1, int y1, const uint8_t rgb[3]);  // filled, inclusive
    // Text with its top-left at (x, y), scaled by an integer factor.
    void text(int x, int y, const std::string& s, const uint8_t rgb[3], int scale = 1);
    static int text_width(const std::string& s, int scale = 1);
    void save_png(const std::string& path) const;
    const std::vector<uint8_t>& rgb() const { return px_; }

private:
    int w_, h_;
    std::vector<uint8_t> px_;
};

void draw_curves(const std::vector<EpochRecord>& history, int best_epoch, const std::string& path);

Canvas reliability_diagram(const CalibrationReport& report);
void draw_reliability_diagram(const CalibrationReport& report, const std::string& path);

}  // namespace effnet
