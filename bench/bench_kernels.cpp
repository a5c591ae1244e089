// The GPU kernel table of `effnet_bench --device cuda`: each kernel family on
// B0's shapes at the benchmark batch, timed (CUDA-synchronised mean of
// `repeats` runs after a warm-up), with
//   GB/s    = the tensors the pass must read and write, each once, per second
//             (the algorithmic minimum: a kernel that re-reads pays for it);
//   GFLOP/s = 2 x multiply-adds per second (convolutions and GEMMs);
// each as a share of the ceilings measured in the same run (device-to-device
// copy bandwidth, FP32 FMA rate), and effnet's implementation against
// cuDNN's where cuDNN has one (speedup = cuDNN ms / effnet ms).
// A pass that throws is reported with its error and the table goes on.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <vector>

#include "bench/bench_report.h"
#include "kernels/activation.h"
#include "kernels/batchnorm.h"
#include "kernels/bn_swish.h"
#include "kernels/conv2d.h"
#include "kernels/depthwise_conv.h"
#include "kernels/roofline.h"
#include "tensor/random.h"

namespace effnet {

namespace {

using Clock = std::chrono::steady_clock;

Tensor random_on_gpu(const Shape& s, uint64_t stream) {
    Tensor t = Tensor::empty(s, Device::CUDA);
    fill_normal(t, 7, stream, 0, 1);
    return t;
}

// Mean milliseconds of fn; -1 (and the message in *error) when it throws.
double time_ms(Context& ctx, int repeats, const std::function<void()>& fn, std::string* error) {
    try {
        fn();
        ctx.synchronize();
        const auto t0 = Clock::now();
        for (int i = 0; i < repeats; ++i) fn();
        ctx.synchronize();
        return std::chrono::duration<double, std::milli>(Clock::now() - t0).count() / repeats;
    } catch (const std::exception& e) {
        *error = e.what();
        return -1;
    }
}

struct KernelTable {
    BenchReport& rep;
    double copy_gbs, fma_gflops;
    int repeats;
    Context& mine;    // effnet's kernels
    Context& vendor;  // cuDNN wherever it has an implementation

    struct Family {
        std::vector<double> speedups, copy_shares;
        int faster = 0, compared = 0;
    };

    void section(const std::string& title) {
        rep.text << "\n" << title << "\n";
        char b[220];
        std::snprintf(b, sizeof b, "%-30s %-14s %9s %9s %8s %8s %6s %9s %6s\n", "shape", "pass",
                      "effnet ms", "cuDNN ms", "speedup", "GB/s", "copy%", "GFLOP/s", "FMA%");
        rep.text << b;
    }

    // Times `run(ctx)` with effnet's kernels and, when `with_vendor`, cuDNN's.
    void row(Family& fam, const std::string& shape, const std::string& pass, double bytes,
             double flops, const std::function<void(Context&)>& run, bool with_vendor) {
        std::string err_mine, err_vendor;
        const double ms = time_ms(
            mine, repeats, [&] { run(mine); }, &err_mine);
        const double vms = with_vendor ? time_ms(
                                             vendor, repeats, [&] { run(vendor); }, &err_vendor)
                                       : -1;
        char b[260];
        if (ms < 0) {
            std::snprintf(b, sizeof b, "%-30s %-14s effnet failed: %s\n", shape.c_str(),
                          pass.c_str(), err_mine.c_str());
            rep.text << b;
            return;
        }
        const double gbs = bytes / (ms * 1e6), gflops = flops / (ms * 1e6);
        char vcol[32] = "-", scol[32] = "-", fcol[32] = "-", fshare[32] = "-";
        if (vms > 0) {
            std::snprintf(vcol, sizeof vcol, "%.3f", vms);
            std::snprintf(scol, sizeof scol, "%.2fx", vms / ms);
            fam.speedups.push_back(vms / ms);
            ++fam.compared;
            fam.faster += vms > ms;
        } else if (with_vendor) {
            std::snprintf(vcol, sizeof vcol, "failed");
        }
        if (flops > 0) {
            std::snprintf(fcol, sizeof fcol, "%.0f", gflops);
            std::snprintf(fshare, sizeof fshare, "%.0f%%", 100 * gflops / fma_gflops);
        }
        fam.copy_shares.push_back(100 * gbs / copy_gbs);
        std::snprintf(b, sizeof b, "%-30s %-14s %9.3f %9s %8s %8.0f %5.0f%% %9s %6s\n",
                      shape.c_str(), pass.c_str(), ms, vcol, scol, gbs, 100 * gbs / copy_gbs, fcol,
                      fshare);
        rep.text << b;
        if (vms < 0 && with_vendor) rep.text << "    cuDNN failed: " << err_vendor << "\n";
    }

    // Geometric-mean speedup over cuDNN and the worst share of copy bandwidth of a family.
    void summarise(const Family& fam, const std::string& key, const std::string& label) {
        if (!fam.speedups.empty()) {
            double log_sum = 0;
            for (double s : fam.speedups) log_sum += std::log(s);
            rep.number(key + "_speedup_vs_cudnn_geomean",
                       std::exp(log_sum / double(fam.speedups.size())),
                       label + ": speedup over cuDNN (geometric mean)", "x");
            rep.number(
                key + "_passes_faster_than_cudnn", fam.faster,
                label + ": passes faster than cuDNN (of " + std::to_string(fam.compared) + ")", "");
        }
        if (!fam.copy_shares.empty())
            rep.number(key + "_min_share_of_copy",
                       *std::min_element(fam.copy_shares.begin(), fam.copy_shares.end()),
                       label + ": lowest share of copy bandwidth", "%");
    }
};

std::string dims(std::initializer_list<int64_t> v) {
    std::string s;
    for (int64_t d : v) s += (s.empty() ? "" : "x") + std::to_string(d);
    return s;
}

void bench_depthwise(KernelTable& t, int64_t batch) {
    t.section("depthwise convolution, batch " + std::to_string(batch) +
              " (shape: H x W x C, k, stride)");
    KernelTable::Family fam;
    struct S {
        int64_t hw, c, k, s;
    };
    for (S sh : {S{112, 32, 3, 1}, S{112, 96, 3, 2}, S{56, 144, 3, 1}, S{56, 144, 5, 2},
                 S{28, 240, 5, 1}, S{28, 240, 3, 2}, S{14, 480, 3, 1}, S{14, 480, 5, 1},
                 S{14, 672, 5, 1}, S{14, 672, 5, 2}, S{7, 1152, 5, 1}, S{7, 1152, 3, 1}}) {
        const ConvGeometry g = depthwise_geometry(batch, sh.hw, sh.hw, sh.c, sh.k, sh.s);
        Tensor x = random_on_gpu(Shape{g.n, g.h, g.w, g.cin}, 1),
               w = random_on_gpu(Shape{g.cin, 1, g.kh, g.kw}, 2);
        Tensor dy = random_on_gpu(Shape{g.n, g.ho(), g.wo(), g.cin}, 3);
        Tensor y = Tensor::empty(dy.shape(), Device::CUDA),
               dx = Tensor::empty(x.shape(), Device::CUDA);
        Tensor dw = Tensor::zeros(w.shape(), Device::CUDA);
        const double bytes = double(x.nbytes() + dy.nbytes()),
                     flops = 2.0 * double(dy.numel()) * double(g.kh * g.kw);
        const std::string name = dims({sh.hw, sh.hw, sh.c}) + ", k" + std::to_string(sh.k) + ", s" +
                                 std::to_string(sh.s);
        t.row(
            fam, name, "forward", bytes, flops,
            [&](Context& c) { depthwise_conv2d_forward(x, w, y, g, c); }, true);
        t.row(
            fam, name, "input grad", bytes, flops,
            [&](Context& c) { depthwise_conv2d_backward_input(dy, w, dx, g, c); }, true);
        t.row(
            fam, name, "weight grad", bytes, flops,
            [&](Context& c) { depthwise_conv2d_backward_weight(x, dy, dw, g, c); }, true);
    }
    t.summarise(fam, "depthwise", "depthwise");
}

void bench_batchnorm(KernelTable& t, int64_t batch) {
    t.section("batch norm and fused batch norm + swish, batch " + std::to_string(batch) +
              " (shape: H x W x C)");
    KernelTable::Family plain, fused;
    struct S {
        int64_t hw, c;
    };
    for (S sh : {S{112, 32}, S{112, 96}, S{56, 144}, S{28, 240}, S{14, 480}, S{14, 672}, S{7, 1152},
                 S{7, 1280}}) {
        const Shape xs{batch, sh.hw, sh.hw, sh.c}, cs{sh.c};
        Tensor x = random_on_gpu(xs, 4), dy = random_on_gpu(xs, 5), gamma = random_on_gpu(cs, 6);
        Tensor beta = random_on_gpu(cs, 7), y = Tensor::empty(xs, Device::CUDA),
               dx = Tensor::empty(xs, Device::CUDA);
        Tensor mean = Tensor::empty(cs, Device::CUDA), inv = Tensor::empty(cs, Device::CUDA);
        Tensor affine = Tensor::empty(Shape{2, sh.c}, Device::CUDA),
               rm = Tensor::zeros(cs, Device::CUDA);
        Tensor rv = Tensor::full(cs, 1, Device::CUDA), dg = Tensor::zeros(cs, Device::CUDA),
               db = Tensor::zeros(cs, Device::CUDA);
        BatchNormParams p;
        const double fwd_bytes = 2.0 * double(x.nbytes()), bwd_bytes = 3.0 * double(x.nbytes());
        const std::string name = dims({sh.hw, sh.hw, sh.c});
        t.row(
            plain, name, "bn forward", fwd_bytes, 0,
            [&](Context& c) {
                batchnorm_train_forward(x, gamma, beta, y, mean, inv, rm, rv, p, c);
            },
            true);
        t.row(
            plain, name, "bn backward", bwd_bytes, 0,
            [&](Context& c) { batchnorm_backward(x, dy, gamma, mean, inv, dx, dg, db, c, p.eps); },
            true);
        t.row(
            fused, name, "bn+swish fwd", fwd_bytes, 0,
            [&](Context& c) {
                bn_swish_train_forward(x, gamma, beta, y, mean, inv, affine, rm, rv, p, c);
            },
            true);
        t.row(
            fused, name, "bn+swish bwd", bwd_bytes, 0,
            [&](Context& c) {
                bn_swish_backward(x, dy, gamma, mean, inv, affine, dx, dg, db, c, p.eps);
            },
            true);
    }
    t.summarise(plain, "batchnorm", "batch norm");
    t.summarise(fused, "bn_swish", "fused bn+swish (cuDNN: its batch norm + swish)");
}

void bench_dense_conv(KernelTable& t, int64_t batch) {
    t.section("dense convolution, batch " + std::to_string(batch) +
              " (stem: effnet = im2col + cuBLAS; 1x1: one cuBLAS GEMM, no cuDNN column)");
    KernelTable::Family stem, pointwise;
    struct S {
        int64_t hw, cin, cout, k, s;
    };
    for (S sh : {S{224, 3, 32, 3, 2}, S{112, 32, 16, 1, 1}, S{56, 24, 144, 1, 1},
                 S{28, 240, 40, 1, 1}, S{14, 112, 672, 1, 1}, S{7, 320, 1280, 1, 1}}) {
        const ConvGeometry g = conv_geometry(batch, sh.hw, sh.hw, sh.cin, sh.cout, sh.k, sh.s);
        Tensor x = random_on_gpu(Shape{g.n, g.h, g.w, g.cin}, 8);
        Tensor w = random_on_gpu(Shape{g.cout, g.cin, g.kh, g.kw}, 9);
        Tensor dy = random_on_gpu(Shape{g.n, g.ho(), g.wo(), g.cout}, 10);
        Tensor y = Tensor::empty(dy.shape(), Device::CUDA),
               dx = Tensor::empty(x.shape(), Device::CUDA);
        Tensor dw = Tensor::zeros(w.shape(), Device::CUDA);
        const double bytes = double(x.nbytes() + dy.nbytes() + w.nbytes());
        const double flops = 2.0 * double(dy.numel()) * double(g.cin * g.kh * g.kw);
        const std::string name = dims({sh.hw, sh.hw, sh.cin}) + " -> " + std::to_string(sh.cout) +
                                 ", k" + std::to_string(sh.k) + ", s" + std::to_string(sh.s);
        const bool vendor = !g.is_pointwise();
        KernelTable::Family& fam = vendor ? stem : pointwise;
        t.row(
            fam, name, "forward", bytes, flops, [&](Context& c) { conv2d_forward(x, w, y, g, c); },
            vendor);
        t.row(
            fam, name, "input grad", bytes, flops,
            [&](Context& c) { conv2d_backward_input(dy, w, dx, g, c); }, vendor);
        t.row(
            fam, name, "weight grad", bytes, flops,
            [&](Context& c) { conv2d_backward_weight(x, dy, dw, g, c); }, vendor);
    }
    t.summarise(stem, "stem_conv", "stem convolution (im2col + cuBLAS)");
}

void bench_elementwise(KernelTable& t, int64_t batch) {
    t.section("swish, batch " + std::to_string(batch));
    KernelTable::Family fam;
    const Shape xs{batch, 112, 112, 96};
    Tensor x = random_on_gpu(xs, 11), dy = random_on_gpu(xs, 12),
           y = Tensor::empty(xs, Device::CUDA);
    const double nb = double(x.nbytes());
    t.row(
        fam, dims({112, 112, 96}), "swish forward", 2 * nb, 0,
        [&](Context& c) { swish_forward(x, y, c); }, false);
    t.row(
        fam, dims({112, 112, 96}), "swish backward", 3 * nb, 0,
        [&](Context& c) { swish_backward(x, dy, y, c); }, false);
    t.summarise(fam, "swish", "swish");
}

}  // namespace

void bench_gpu_kernels(int64_t batch, int repeats, BenchReport& rep) {
    Context mine(Device::CUDA), vendor(Device::CUDA);
    apply_kernel_spec(mine, "custom");
    apply_kernel_spec(vendor, "cudnn");
    const double copy_gbs = measure_copy_gb_per_s(mine, 10);
    const double fma_gflops = measure_fma_gflop_per_s(mine);
    rep.number("device_copy_gb_per_s", copy_gbs, "device-to-device copy (read + write)", "GB/s");
    rep.number("device_fma_gflop_per_s", fma_gflops, "FP32 FMA rate (measured)", "GFLOP/s");
    KernelTable t{rep, copy_gbs, fma_gflops, repeats, mine, vendor};
    bench_depthwise(t, batch);
    bench_batchnorm(t, batch);
    bench_dense_conv(t, batch);
    bench_elementwise(t, batch);
}

}  // namespace effnet
