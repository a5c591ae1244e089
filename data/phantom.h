// Synthetic chest X-ray phantoms: the built-in default dataset.
//
// A frontal (PA) chest radiograph drawn from simple shapes: soft-tissue body,
// two dark lung fields, the mediastinum, a heart silhouette bulging to the
// patient's left (image right), diaphragm domes, ribs and clavicles, then
// exposure/contrast variation, a slight rotation and noise.
//
// The label follows the radiological definition of cardiomegaly:
//   CTR = widest heart width / widest inner thoracic width (lung outer edges)
//   label = CTR > 0.5
// CTRs are drawn uniformly from [0.36, 0.64], so about half the phantoms are
// positive and many sit within a few pixels of the threshold. Everything is a
// pure function of (seed, index).
#pragma once

#include <cstdint>

#include "data/image.h"

namespace effnet {

struct PhantomSpec {
    double ctr;                                   // the cardiothoracic ratio drawn
    double lung_dx, lung_w, lung_h, lung_cy;      // lung centres at 0.5 -+ dx
    double heart_w, heart_h, heart_cx, heart_cy;  // heart semi-axes and centre
    double body_w;
    double dome_y, dome_h;  // top of the diaphragm domes
    double rotation_deg, shift_x, shift_y;
    double gain, offset, gamma, noise;
    uint64_t seed, index;

    int label() const { return ctr > 0.5 ? 1 : 0; }
    double thoracic_width() const { return 2 * (lung_dx + lung_w); }
};

PhantomSpec sample_phantom(uint64_t seed, uint64_t index);
GreyImage render_phantom(const PhantomSpec& spec, int size);

// Binary masks (255 inside) of the heart and of the lungs, without rotation,
// noise or overlap, for measuring the CTR a phantom actually shows.
void render_phantom_masks(const PhantomSpec& spec, int size, GreyImage& heart, GreyImage& lungs);

}  // namespace effnet
