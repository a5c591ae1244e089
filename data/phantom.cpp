#include "data/phantom.h"

#include <algorithm>
#include <cmath>

#include "tensor/philox.h"

namespace effnet {

namespace {
constexpr double kPi = 3.14159265358979323846;

struct Draw {
    uint64_t seed, stream;
    uint64_t i = 0;
    double uniform(double lo, double hi) {
        return lo + (hi - lo) * philox_uniform(seed, stream, i++);
    }
};

// Soft inside-ness of an ellipse: 1 inside, 0 outside, a ramp of `edge` (in
// normalised units) across the boundary, for anti-aliased shapes.
double ellipse(double x, double y, double cx, double cy, double ax, double ay, double edge) {
    const double dx = (x - cx) / ax, dy = (y - cy) / ay;
    const double r = std::sqrt(dx * dx + dy * dy);
    const double d = (r - 1.0) * std::min(ax, ay);  // approximate distance to the boundary
    return std::clamp(0.5 - d / edge, 0.0, 1.0);
}

double band(double d, double half, double edge) {
    return std::clamp(0.5 - (std::fabs(d) - half) / edge, 0.0, 1.0);
}

// Diaphragm: the domes' upper boundary, lowest at the sides.
double dome_top(const PhantomSpec& s, double x) {
    const double side = x < 0.5 ? 0.5 - s.lung_dx : 0.5 + s.lung_dx;
    const double t = (x - side) / (s.lung_w * 1.3);
    return s.dome_y - s.dome_h * std::max(0.0, 1.0 - t * t) +
           (x > 0.5 ? 0.015 : 0.0);  // left dome lower
}

double lungs_at(const PhantomSpec& s, double x, double y, double edge) {
    if (y > dome_top(s, x)) return 0.0;
    return std::max(ellipse(x, y, 0.5 - s.lung_dx, s.lung_cy, s.lung_w, s.lung_h, edge),
                    ellipse(x, y, 0.5 + s.lung_dx, s.lung_cy, s.lung_w, s.lung_h, edge));
}
}  // namespace

PhantomSpec sample_phantom(uint64_t seed, uint64_t index) {
    Draw d{seed, 0x7068616E746F6DULL ^ index};  // "phantom"
    PhantomSpec s{};
    s.seed = seed;
    s.index = index;
    s.ctr = d.uniform(0.36, 0.64);
    s.lung_dx = d.uniform(0.13, 0.16);
    s.lung_w = d.uniform(0.12, 0.145);
    s.lung_h = d.uniform(0.22, 0.27);
    s.lung_cy = d.uniform(0.44, 0.48);
    const double T = s.thoracic_width();
    s.heart_w = s.ctr * T / 2;
    s.heart_h = d.uniform(0.10, 0.13);
    // Most of the heart lies left of the midline, yet inside the thorax.
    const double max_shift = std::max(0.0, T / 2 - s.heart_w - 0.005);
    s.heart_cx = 0.5 + std::min(max_shift, d.uniform(0.02, 0.07));
    s.heart_cy = s.lung_cy + s.lung_h * d.uniform(0.35, 0.5);
    s.body_w = d.uniform(0.43, 0.47);
    s.dome_y = s.lung_cy + s.lung_h * d.uniform(0.85, 0.95);
    s.dome_h = d.uniform(0.03, 0.06);
    s.rotation_deg = d.uniform(-4, 4);
    s.shift_x = d.uniform(-0.03, 0.03);
    s.shift_y = d.uniform(-0.03, 0.03);
    s.gain = d.uniform(0.8, 1.15);
    s.offset = d.uniform(-0.06, 0.06);
    s.gamma = d.uniform(0.8, 1.25);
    s.noise = d.uniform(0.01, 0.035);
    return s;
}

GreyImage render_phantom(const PhantomSpec& s, int size) {
    GreyImage img;
    img.width = img.height = size;
    img.pixels.resize(size_t(size) * size);
    const double edge = 1.5 / size;
    const double th = s.rotation_deg * kPi / 180, c = std::cos(th), sn = std::sin(th);
    const uint64_t noise_stream = 0x6E6F697365ULL ^ s.index;
    for (int py = 0; py < size; ++py)
        for (int px = 0; px < size; ++px) {
            // Canonical coordinates: undo the patient's rotation and shift.
            const double u = (px + 0.5) / size - 0.5 - s.shift_x,
                         v = (py + 0.5) / size - 0.5 - s.shift_y;
            const double x = 0.5 + c * u + sn * v, y = 0.5 - sn * u + c * v;
            double val = 0.06;  // air
            const double body = ellipse(x, y, 0.5, 0.58, s.body_w, 0.62, edge * 4);
            val += body * 0.30;
            const double lung = lungs_at(s, x, y, edge);
            val -= lung * 0.22 * body;
            // Mediastinum and spine: a bright column between the lungs.
            const double medi =
                band(x - 0.5, 0.045, edge * 2) * (y > 0.16 && y < s.dome_y ? 1.0 : 0.0);
            val = std::max(val, medi * 0.42);
            // Heart silhouette (drawn over the lungs' inner edges).
            const double heart = ellipse(x, y, s.heart_cx, s.heart_cy, s.heart_w, s.heart_h, edge);
            val = val * (1 - heart) + heart * 0.50;
            // Diaphragm and abdomen below the domes.
            const double below = std::clamp((y - dome_top(s, x)) / (edge * 2) + 0.5, 0.0, 1.0);
            val = val * (1 - below * body) + below * body * 0.46;
            // Ribs: arcs across each lung, brighter where they cross air.
            for (int side = -1; side <= 1; side += 2) {
                const double lc = 0.5 + side * s.lung_dx;
                if (std::fabs(x - lc) > s.lung_w * 1.25) continue;
                const double t = (x - lc) / s.lung_w;
                for (int r = 0; r < 9; ++r) {
                    const double y0 = s.lung_cy - s.lung_h * 0.95 + r * s.lung_h * 0.22;
                    const double yr = y0 + 0.05 * t * t * side * side - 0.02 * side * t;
                    val += 0.07 * band(y - yr, 0.008, edge * 2) * body * (1 - below) *
                           (1 - 0.7 * heart);
                }
            }
            // Clavicles.
            for (int side = -1; side <= 1; side += 2) {
                const double t = (x - 0.5) * side;
                if (t > 0.03 && t < 0.30)
                    val += 0.10 * band(y - (0.17 + 0.06 * t), 0.011, edge * 2);
            }
            // Exposure, contrast and detector noise.
            val = std::pow(std::clamp(val, 0.0, 1.0), s.gamma) * s.gain + s.offset;
            val += s.noise * philox_normal(s.seed, noise_stream, uint64_t(py) * size + px);
            img.pixels[size_t(py) * size + px] =
                uint8_t(std::lround(std::clamp(val, 0.0, 1.0) * 255));
        }
    return img;
}

void render_phantom_masks(const PhantomSpec& s, int size, GreyImage& heart, GreyImage& lungs) {
    heart.width = heart.height = lungs.width = lungs.height = size;
    heart.pixels.assign(size_t(size) * size, 0);
    lungs.pixels.assign(size_t(size) * size, 0);
    for (int py = 0; py < size; ++py)
        for (int px = 0; px < size; ++px) {
            const double x = (px + 0.5) / size, y = (py + 0.5) / size;
            const double hx = (x - s.heart_cx) / s.heart_w, hy = (y - s.heart_cy) / s.heart_h;
            if (hx * hx + hy * hy <= 1) heart.pixels[size_t(py) * size + px] = 255;
            for (int side = -1; side <= 1; side += 2) {
                const double lx = (x - (0.5 + side * s.lung_dx)) / s.lung_w,
                             ly = (y - s.lung_cy) / s.lung_h;
                if (lx * lx + ly * ly <= 1) lungs.pixels[size_t(py) * size + px] = 255;
            }
        }
}

}  // namespace effnet
