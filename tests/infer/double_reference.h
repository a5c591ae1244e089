// EfficientNet's EVAL forward in double precision, written from the
// definition with plain loops over the network's own (unfolded) parameters:
// the ground truth against which the fast path and the training graph (both
// float32) are measured in tests/infer. Slow (about a second per 224x224
// image), so tests use it on a few images.
#pragma once

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "layers/efficientnet.h"
#include "layers/mbconv.h"

namespace effnet::test {

// Activations of one image, NHWC without the batch dimension.
struct DoubleMap {
    int64_t h = 0, w = 0, c = 0;
    std::vector<double> v;
    double& at(int64_t y, int64_t x, int64_t k) { return v[size_t((y * w + x) * c + k)]; }
    double at(int64_t y, int64_t x, int64_t k) const { return v[size_t((y * w + x) * c + k)]; }
};

// The logits [n, classes] and the head activations (after conv_head, bn2 and
// swish) [n, h, w, head] of `n` NHWC images. `logit_scale` [n, classes] is
// |bias| + sum_j |weight_j * pooled_j| of each logit: the size of the terms
// the classifier sums, which bounds how much of a logit rounding of the
// features can move (a logit near 0 is a sum of terms that cancel, so its
// relative error says nothing about the features').
struct DoubleForward {
    std::vector<double> logits, logit_scale, head;
};

class DoubleReference {
public:
    explicit DoubleReference(EfficientNet& net) : net_(net), eps_(net.config().bn_eps) {
        std::vector<NamedParam> params;
        net.collect_params("", params);
        for (NamedParam& p : params) tensors_[p.name] = to_double(p.value);
        std::vector<NamedBuffer> buffers;
        net.collect_buffers("", buffers);
        for (NamedBuffer& b : buffers)
            if (b.value->dtype() == DType::FLOAT32)
                tensors_[b.name] = to_double(*b.value);  // not num_batches_tracked
    }

    DoubleForward forward(const float* x, int64_t n, int64_t height, int64_t width) const {
        const int64_t cin = net_.config().in_channels;
        DoubleForward out;
        for (int64_t i = 0; i < n; ++i) {
            DoubleMap m{height, width, cin, {}};
            m.v.assign(x + i * height * width * cin, x + (i + 1) * height * width * cin);
            m = swish(bn(conv(m, "conv_stem", 3, 2, false), "bn1"));
            for (auto& [name, layer] : net_.block_list())
                m = block(m, name, *static_cast<const MBConv*>(layer));
            m = swish(bn(conv(m, "conv_head", 1, 1, false), "bn2"));
            out.head.insert(out.head.end(), m.v.begin(), m.v.end());
            const std::vector<double> pooled = pool(m);
            const std::vector<double>& w = get("classifier.weight");
            const std::vector<double>& b = get("classifier.bias");
            for (size_t k = 0; k < b.size(); ++k) {
                double z = b[k], scale = std::fabs(b[k]);
                for (size_t j = 0; j < pooled.size(); ++j) {
                    z += w[k * pooled.size() + j] * pooled[j];
                    scale += std::fabs(w[k * pooled.size() + j] * pooled[j]);
                }
                out.logits.push_back(z);
                out.logit_scale.push_back(scale);
            }
        }
        return out;
    }

private:
    static std::vector<double> to_double(const Tensor& t) {
        const std::vector<float> v = t.to_vector();
        return {v.begin(), v.end()};
    }
    const std::vector<double>& get(const std::string& name) const { return tensors_.at(name); }
    static double sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }
    static DoubleMap swish(DoubleMap m) {
        for (double& v : m.v) v *= sigmoid(v);
        return m;
    }
    static std::vector<double> pool(const DoubleMap& m) {
        std::vector<double> s(size_t(m.c), 0.0);
        for (size_t i = 0; i < m.v.size(); ++i) s[i % size_t(m.c)] += m.v[i];
        for (double& v : s) v /= double(m.h * m.w);
        return s;
    }

    // Convolution "<name>.weight" [cout, cin or 1, k, k], padding k/2, no bias.
    DoubleMap conv(const DoubleMap& in, const std::string& name, int64_t k, int64_t stride,
                   bool depthwise) const {
        const std::vector<double>& w = get(name + ".weight");
        const int64_t cout = int64_t(w.size()) / ((depthwise ? 1 : in.c) * k * k);
        const int64_t pad = k / 2;
        const DoubleMap& x = in;
        DoubleMap y{(x.h + 2 * pad - k) / stride + 1, (x.w + 2 * pad - k) / stride + 1, cout, {}};
        y.v.assign(size_t(y.h * y.w * cout), 0.0);
        for (int64_t oy = 0; oy < y.h; ++oy)
            for (int64_t ox = 0; ox < y.w; ++ox)
                for (int64_t o = 0; o < cout; ++o) {
                    double s = 0;
                    for (int64_t ky = 0; ky < k; ++ky) {
                        const int64_t iy = oy * stride + ky - pad;
                        if (iy < 0 || iy >= x.h) continue;
                        for (int64_t kx = 0; kx < k; ++kx) {
                            const int64_t ix = ox * stride + kx - pad;
                            if (ix < 0 || ix >= x.w) continue;
                            if (depthwise) {
                                s += w[size_t((o * k + ky) * k + kx)] * in.at(iy, ix, o);
                            } else {
                                for (int64_t c = 0; c < x.c; ++c)
                                    s += w[size_t(((o * x.c + c) * k + ky) * k + kx)] *
                                         in.at(iy, ix, c);
                            }
                        }
                    }
                    y.at(oy, ox, o) = s;
                }
        return y;
    }

    DoubleMap bn(DoubleMap m, const std::string& name) const {
        const std::vector<double>&g = get(name + ".weight"), &b = get(name + ".bias"),
              &mean = get(name + ".running_mean"), &var = get(name + ".running_var");
        for (size_t i = 0; i < m.v.size(); ++i) {
            const size_t c = i % size_t(m.c);
            m.v[i] = (m.v[i] - mean[c]) / std::sqrt(var[c] + eps_) * g[c] + b[c];
        }
        return m;
    }

    // Squeeze-excite: mean pool, 1x1 reduce + bias, swish, 1x1 expand + bias, sigmoid, scale.
    DoubleMap squeeze_excite(DoubleMap m, const std::string& se) const {
        const std::vector<double> s = pool(m);
        const std::vector<double>&rw = get(se + ".conv_reduce.weight"),
              &rb = get(se + ".conv_reduce.bias"), &ew = get(se + ".conv_expand.weight"),
              &eb = get(se + ".conv_expand.bias");
        std::vector<double> r(rb.size()), gate(eb.size());
        for (size_t j = 0; j < r.size(); ++j) {
            double z = rb[j];
            for (size_t c = 0; c < s.size(); ++c) z += rw[j * s.size() + c] * s[c];
            r[j] = z * sigmoid(z);
        }
        for (size_t c = 0; c < gate.size(); ++c) {
            double z = eb[c];
            for (size_t j = 0; j < r.size(); ++j) z += ew[c * r.size() + j] * r[j];
            gate[c] = sigmoid(z);
        }
        for (size_t i = 0; i < m.v.size(); ++i) m.v[i] *= gate[i % size_t(m.c)];
        return m;
    }

    // timm's MBConv / DepthwiseSeparable naming: with expansion conv_pw/bn1,
    // conv_dw/bn2, conv_pwl/bn3; without, conv_dw/bn1 and conv_pw/bn2.
    DoubleMap block(const DoubleMap& x, const std::string& name, const MBConv& b) const {
        const MBConvConfig& c = b.config();
        const std::string p = name + ".";
        const bool expand = c.expand_ratio != 1;
        DoubleMap m = x;
        if (expand) m = swish(bn(conv(m, p + "conv_pw", 1, 1, false), p + "bn1"));
        m = swish(
            bn(conv(m, p + "conv_dw", c.kernel, c.stride, true), p + (expand ? "bn2" : "bn1")));
        m = squeeze_excite(m, p + "se");
        m = bn(conv(m, p + (expand ? "conv_pwl" : "conv_pw"), 1, 1, false),
               p + (expand ? "bn3" : "bn2"));
        if (b.has_residual())
            for (size_t i = 0; i < m.v.size(); ++i) m.v[i] += x.v[i];
        return m;
    }

    EfficientNet& net_;
    double eps_;
    std::map<std::string, std::vector<double>> tensors_;
};

}  // namespace effnet::test
