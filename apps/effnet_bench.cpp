// effnet_bench: measured performance of the engine on this machine.
//
//   model mode (default): training images/s and ms per step (forward,
//     backward, AdamW) at --batch-size; inference latency at batch 1 (median
//     and min) and throughput at --batch-size of the inference fast path
//     (infer/: folded batch norm, fused passes), peak resident memory after
//     the batch-1 runs, and the same two figures for the training graph in
//     EVAL mode; with --layers a per-layer forward/backward time table of the
//     training step and a per-pass time table of the fast path (batch 1 and
//     --batch-size); --inference-only skips the training step;
//   --device cuda: the same on the GPU (CUDA-synchronised timings), peak
//     device memory, and the kernel table of bench/bench_kernels.cpp (each GPU
//     kernel family on B0's shapes: ms, GB/s and GFLOP/s against the measured
//     copy bandwidth and FMA rate, effnet's kernels against cuDNN's);
//   --loader SPEC: images/s of the input pipeline (decode, equalise, resize,
//     augment, normalise) over a dataset folder/CSV, or "phantoms".
//
// Timings are wall-clock after warm-up; --json writes the numbers.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>

#include "bench/bench_report.h"
#include "train/cli.h"
#include "tensor/caching_allocator.h"
#include "tensor/gpu_runtime.h"
#include "infer/inference_model.h"
#include "train/loss_head.h"
#include "train/step.h"
#include "train/model_spec.h"
#include "data/loader.h"
#include "data/phantom.h"
#include "data/preprocess.h"
#include "io/safetensors.h"
#include "optim/adamw.h"
#include "tensor/random.h"

using namespace effnet;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

double peak_rss_mib() {
    std::ifstream f("/proc/self/status");
    for (std::string line; std::getline(f, line);)
        if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
    return 0;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

// The model's layers in execution order, MBConv blocks as single entries.
std::vector<std::pair<std::string, Layer*>> flat_layers(EfficientNet& net) {
    std::vector<std::pair<std::string, Layer*>> out;
    int unnamed = 0;
    for (auto& [name, layer] : net.execution_order())
        out.emplace_back(
            name.empty() ? "(" + layer->kind() + " " + std::to_string(++unnamed) + ")" : name,
            layer);
    return out;
}

using Report = BenchReport;

// The training step captured once in a CUDA graph and replayed: what launch
// overhead costs the eager step. A replay repeats the captured step's AdamW
// bias correction and dropout masks, so this is a timing, not training.
// The CPU-only build has no graphs (and no CUDA context to call this with).
void bench_graph_step(const std::function<void()>& enqueue_step, int steps, Context& ctx,
                      Report& rep) {
    if constexpr (kWithCuda) {
        gpu::Graph graph;
        try {
            graph.begin_capture(ctx.stream());
            enqueue_step();
            graph.end_capture(ctx.stream());
        } catch (const std::exception& e) {
            graph.cancel_capture(ctx.stream());
            rep.text << "CUDA graph capture of the training step failed: " << e.what() << "\n";
            return;
        }
        graph.launch(ctx.stream());
        ctx.synchronize();
        std::vector<double> ms;
        for (int i = 0; i < steps; ++i) {
            auto t = Clock::now();
            graph.launch(ctx.stream());
            ctx.synchronize();
            ms.push_back(since(t));
        }
        rep.number("train_ms_per_step_graph", median(ms),
                   "training step replayed as a CUDA graph (median)", "ms");
    }
}

// Per-layer times of the training step at `batch`, in the order the step runs them.
void layer_table(Model& model, const Tensor& x, LossHead& head, const Tensor& y, int64_t batch,
                 int steps, Context& ctx, Report& rep) {
    auto list = flat_layers(*model.net);
    std::map<std::string, std::pair<double, double>> t;
    for (int r = 0; r < steps; ++r) {
        Tensor h = x;
        for (auto& [name, l] : list) {
            auto t0 = Clock::now();
            h = l->forward(h, RunState{Mode::TRAIN, 1, uint64_t(r)}, ctx);
            ctx.synchronize();
            t[name].first += since(t0);
        }
        head.forward(h, y, ctx);
        Tensor g = head.backward(ctx);
        for (auto it = list.rbegin(); it != list.rend(); ++it) {
            auto t0 = Clock::now();
            g = it->second->backward(g, ctx);
            ctx.synchronize();
            t[it->first].second += since(t0);
        }
    }
    double total = 0;
    for (auto& [n, fb] : t) total += fb.first + fb.second;
    rep.text << "\nper-layer time, batch " << batch << " (mean of " << steps << " steps)\n";
    char b[160];
    std::snprintf(b, sizeof b, "%-14s %-22s %10s %10s %7s\n", "layer", "output", "fwd ms", "bwd ms",
                  "share");
    rep.text << b;
    for (auto& [name, l] : list) {
        auto fb = t[name];
        std::snprintf(b, sizeof b, "%-14s %-22s %10.2f %10.2f %6.1f%%\n", name.c_str(),
                      l->output_shape().str().c_str(), fb.first / steps, fb.second / steps,
                      100.0 * (fb.first + fb.second) / total);
        rep.text << b;
    }
}

double process_cpu_ms() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) * 1e-6;
}

// Times `run` after `warmup` calls: median and min wall ms of `runs` calls,
// and the median CPU ms they took (all threads; on cores shared with other
// work the wall time of a lucky run is the min, the CPU time of a
// single-threaded run its undisturbed duration).
struct Timing {
    double median_ms, min_ms, cpu_ms;
};
Timing time_runs(const std::function<void()>& run, int warmup, int runs) {
    for (int i = 0; i < warmup; ++i) run();
    std::vector<double> ms, cpu;
    for (int i = 0; i < std::max(1, runs); ++i) {
        const double c = process_cpu_ms();
        auto t = Clock::now();
        run();
        ms.push_back(since(t));
        cpu.push_back(process_cpu_ms() - c);
    }
    return {median(ms), *std::min_element(ms.begin(), ms.end()), median(cpu)};
}

// The fast path's passes at batch n over `runs` profiled runs: mean and min
// ms of each (the sum of the mins estimates a run on otherwise idle cores).
void pass_table(InferenceModel& fast, const float* x, int64_t n, int runs, Report& rep) {
    std::vector<float> logits(size_t(n * fast.num_classes()));
    std::vector<InferencePassTime> sum = fast.run_profiled(x, n, logits.data()), best = sum;
    for (auto& p : sum) p.ms = 0;
    for (int r = 0; r < runs; ++r) {
        auto t = fast.run_profiled(x, n, logits.data());
        for (size_t i = 0; i < t.size(); ++i) {
            sum[i].ms += t[i].ms;
            best[i].ms = std::min(best[i].ms, t[i].ms);
        }
    }
    double total = 0, total_best = 0;
    for (size_t i = 0; i < sum.size(); ++i) {
        total += sum[i].ms;
        total_best += best[i].ms;
    }
    rep.text << "\nfast-path time per pass, batch " << n << " (" << runs << " runs, "
             << fast.shape().threads << " threads; a pass ends at the barrier after it)\n";
    char b[160];
    std::snprintf(b, sizeof b, "%-34s %10s %10s %7s\n", "pass", "mean ms", "min ms", "share");
    rep.text << b;
    for (size_t i = 0; i < sum.size(); ++i) {
        std::snprintf(b, sizeof b, "%-34s %10.3f %10.3f %6.1f%%\n", sum[i].name.c_str(),
                      sum[i].ms / runs, best[i].ms, 100.0 * best[i].ms / total_best);
        rep.text << b;
    }
    std::snprintf(b, sizeof b, "%-34s %10.3f %10.3f\n", "total", total / runs, total_best);
    rep.text << b;
}

// Inference on the CPU: the fast path at batch 1 (latency, then peak memory)
// and at `batch` (throughput).
void bench_fast_path(Model& model, int64_t batch, int steps, int latency_runs, bool layers,
                     Report& rep) {
    const ModelSpec& spec = model.spec;
    const int64_t S = spec.image_size;
    InferenceShape shape;
    shape.max_batch = 1;
    shape.height = shape.width = S;
    std::vector<float> x(size_t(batch * S * S * spec.in_channels));
    Tensor xt = Tensor::wrap(x.data(), Shape{batch, S, S, spec.in_channels}, Device::CPU);
    fill_normal(xt, 1, 1, 0, 1);
    std::vector<float> logits(size_t(batch * spec.num_classes));
    {
        InferenceModel fast(*model.net, shape);
        const Timing lat =
            time_runs([&] { fast.run(x.data(), 1, logits.data()); }, 3, latency_runs);
        rep.number("infer_latency_ms_batch1", lat.median_ms, "inference latency, batch 1 (median)",
                   "ms");
        rep.number("infer_latency_ms_batch1_min", lat.min_ms, "inference latency, batch 1 (min)",
                   "ms");
        rep.number("infer_cpu_ms_batch1", lat.cpu_ms,
                   "CPU time of a batch-1 inference (median, all threads)", "ms");
        rep.number("peak_rss_mib_infer_batch1", peak_rss_mib(),
                   "peak resident memory after batch-1 inference", "MiB");
        rep.number("infer_planned_mib_batch1", double(fast.planned_bytes()) / (1 << 20),
                   "fast path at batch 1: weights + arena + scratch", "MiB");
        if (layers) pass_table(fast, x.data(), 1, std::max(10, latency_runs), rep);
    }
    shape.max_batch = batch;
    InferenceModel fast(*model.net, shape);
    const Timing thr =
        time_runs([&] { fast.run(x.data(), batch, logits.data()); }, 1, std::max(3, steps));
    const std::string b = std::to_string(batch);
    rep.number("infer_images_per_s", 1000.0 * double(batch) / thr.median_ms,
               "inference throughput, batch " + b + " (median)", "images/s");
    rep.number("infer_images_per_s_best", 1000.0 * double(batch) / thr.min_ms,
               "inference throughput, batch " + b + " (best run)", "images/s");
    rep.number("infer_cpu_ms_batch", thr.cpu_ms,
               "CPU time of a batch-" + b + " inference (median, all threads)", "ms");
    rep.number("infer_planned_mib", double(fast.planned_bytes()) / (1 << 20),
               "fast path at batch " + b + ": weights + arena + scratch", "MiB");
    if (layers) pass_table(fast, x.data(), batch, std::max(2, steps), rep);
}

int bench_model(const ModelSpec& spec, int64_t batch, int steps, int warmup, int latency_runs,
                bool layers, bool inference_only, Device dev, Report& rep) {
    Context ctx(dev);
    Model model(spec, dev, 1);
    // On the CPU the inference rows are the fast path's, measured before the
    // training graph allocates its activations (so the peak memory is inference's).
    if (dev == Device::CPU) bench_fast_path(model, batch, steps, latency_runs, layers, rep);
    model.plan(batch, dev);
    const int64_t S = spec.image_size;
    Tensor x = Tensor::empty(Shape{batch, S, S, spec.in_channels}, dev);
    fill_normal(x, 1, 1, 0, 1);
    if (dev == Device::CUDA) device_allocator().reset_peak();

    if (!inference_only) {
        LossHead head(spec.loss, batch, spec.num_classes, dev);
        AdamWConfig ac;
        ac.lr = 1e-5;
        AdamW opt(*model.store, ac);
        Tensor y_host = Tensor::empty(Shape{batch}, Device::CPU, DType::INT32);
        for (int64_t i = 0; i < batch; ++i) y_host.i32()[i] = int32_t(i % 2);
        Tensor y = y_host.to(dev);
        // The trainer's step (train/step.h), enqueued without reading anything back.
        auto enqueue_step = [&](uint64_t s) {
            train_step(*model.net, *model.store, head, opt, x, y, RunState{Mode::TRAIN, 1, s}, ctx);
        };
        auto step = [&](uint64_t s) {
            enqueue_step(s);
            ctx.synchronize();
        };
        for (int i = 0; i < warmup; ++i) step(uint64_t(i));
        std::vector<double> ms;
        for (int i = 0; i < steps; ++i) {
            auto t = Clock::now();
            step(uint64_t(warmup + i));
            ms.push_back(since(t));
        }
        const double step_ms = median(ms);
        rep.number("train_ms_per_step", step_ms,
                   "training step, batch " + std::to_string(batch) + " (median)", "ms");
        rep.number("train_images_per_s", 1000.0 * double(batch) / step_ms, "training throughput",
                   "images/s");
        if (dev == Device::CUDA) bench_graph_step([&] { enqueue_step(0); }, steps, ctx, rep);
        if (layers) layer_table(model, x, head, y, batch, steps, ctx, rep);
    }

    // The training graph in EVAL mode: throughput at the training batch, latency at batch 1
    // (the inference rows on the GPU, extra rows on the CPU).
    const std::string prefix = dev == Device::CPU ? "graph_" : "";
    const std::string what = dev == Device::CPU ? "training graph (EVAL): " : "";
    auto eval = [&](const Tensor& in) {
        model.net->forward(in, RunState{Mode::EVAL, 0, 0}, ctx);
        ctx.synchronize();
    };
    const Timing thr = time_runs([&] { eval(x); }, 1, std::max(1, steps));
    rep.number(prefix + "infer_images_per_s", 1000.0 * double(batch) / thr.median_ms,
               what + "inference throughput, batch " + std::to_string(batch), "images/s");
    Tensor x1 = x.narrow0(0, 1);
    const Timing lat = time_runs([&] { eval(x1); }, 3, latency_runs);
    rep.number(prefix + "infer_latency_ms_batch1", lat.median_ms,
               what + "inference latency, batch 1 (median)", "ms");
    rep.number("peak_rss_mib", peak_rss_mib(), "peak resident (host) memory", "MiB");
    if (dev == Device::CUDA)
        rep.number("peak_device_mib",
                   double(device_allocator().stats().peak_bytes_in_use) / (1 << 20),
                   "peak device memory (caching allocator)", "MiB");
    return 0;
}

int bench_loader(const std::string& spec_path, const PipelineConfig& pipe, int workers,
                 int64_t batch, int64_t limit, int64_t cache_mb, Report& rep) {
    Dataset ds = spec_path == "phantoms" ? phantom_dataset(1, limit, 0, 0)
                                         : load_dataset(spec_path, DatasetOptions{});
    std::vector<Sample> samples = ds.samples;
    if (int64_t(samples.size()) > limit) samples.resize(size_t(limit));
    LoaderConfig lc;
    lc.batch_size = batch;
    lc.workers = workers;
    lc.prefetch = std::max(2, workers * 2);
    lc.shuffle = true;
    lc.cache_mb = cache_mb;
    PipelineConfig p = pipe;
    p.phantom_seed = 1;
    Loader loader(samples, p, lc, nullptr);
    // Epoch 0 decodes everything (and fills the prepared-image cache, when on);
    // epoch 1 shows the steady state of a training run.
    Batch b;
    for (int epoch = 0; epoch < 2; ++epoch) {
        auto t = Clock::now();
        loader.start_epoch(epoch);
        int64_t n = 0;
        while (loader.next(b)) n += b.size();
        const double ms = since(t);
        rep.number(epoch == 0 ? "loader_first_epoch_images_per_s" : "loader_images_per_s",
                   1000.0 * double(n) / ms,
                   "loader epoch " + std::to_string(epoch + 1) + ", " + std::to_string(workers) +
                       " workers, " + std::to_string(p.image_size) + " px, cache " +
                       std::to_string(lc.cache_mb) + " MB",
                   "images/s");
    }
    // Where a sample's time goes, single-threaded.
    const size_t probe = std::min<size_t>(samples.size(), 64);
    double decode = 0, equalize = 0, resize_ms = 0, rest = 0;
    for (size_t i = 0; i < probe; ++i) {
        const Sample& s = samples[i];
        auto t0 = Clock::now();
        GreyImage img = s.phantom >= 0
                            ? render_phantom(sample_phantom(1, uint64_t(s.phantom)), p.image_size)
                            : decode_image(s.path);
        decode += since(t0);
        t0 = Clock::now();
        img = p.clahe ? clahe(img, p.clahe_tiles, p.clahe_tiles, p.clahe_clip)
                      : equalize_histogram(img);
        equalize += since(t0);
        t0 = Clock::now();
        Plane pl = resize(to_plane(img), p.image_size, p.image_size);
        resize_ms += since(t0);
        t0 = Clock::now();
        Plane a = augment(pl, p.augment, 1, i);
        (void)a;
        rest += since(t0);
    }
    rep.number("decode_ms", decode / double(probe),
               spec_path == "phantoms" ? "render (per image)" : "decode (per image)", "ms");
    rep.number("equalize_ms", equalize / double(probe), "equalisation (per image)", "ms");
    rep.number("resize_ms", resize_ms / double(probe), "resize (per image)", "ms");
    rep.number("augment_ms", rest / double(probe), "augmentation (per image)", "ms");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    return cli::run_main("effnet_bench", [&] {
        std::string device = "cpu", loader, json_path, model = "b0";
        int64_t batch = 32, limit = 512, cache_mb = 1024;
        int image = 224, steps = 5, warmup = 2, latency_runs = 20, workers = 2, threads = 0;
        bool layers = false, no_augment = false, inference_only = false;
        cli::Parser p(
            "effnet_bench",
            "Measure training/inference speed, memory and per-layer time, or loader throughput.");
        p.choice("--device", &device, {"cpu", "cuda"}, "device to measure");
        p.choice("--model", &model, {"b0", "b1", "b2", "b3"}, "EfficientNet variant");
        p.option("--batch-size", &batch, "batch for training and throughput");
        p.option("--image-size", &image, "input side in pixels");
        p.option("--steps", &steps, "timed steps");
        p.option("--warmup", &warmup, "untimed warm-up steps");
        p.option("--latency-runs", &latency_runs, "batch-1 forward passes for the latency median");
        p.flag("--layers", &layers,
               "also print the per-layer (training) and per-pass (fast path) time tables");
        p.flag("--inference-only", &inference_only, "skip the training step (inference rows only)");
        p.option("--threads", &threads, "compute threads (default: OMP_NUM_THREADS or all cores)");
        p.option("--loader", &loader,
                 "measure the input pipeline on this dataset (or 'phantoms') instead");
        p.option("--workers", &workers, "loader threads (with --loader)");
        p.option("--limit", &limit, "images to load (with --loader)");
        p.flag("--no-augment", &no_augment, "loader without augmentation");
        p.option("--cache-mb", &cache_mb,
                 "prepared-image cache of the loader (with --loader; 0: off)");
        p.option("--json", &json_path, "also write the numbers as JSON here");
        if (!p.parse(argc, argv)) return 0;
        const Device dev = resolve_device(device);
        if (threads > 0) omp_set_num_threads(threads);
        Report rep;
        rep.text << "effnet_bench on "
                 << (dev == Device::CUDA ? gpu::status()
                                         : std::to_string(omp_get_max_threads()) + " CPU threads")
                 << "\n";
        if (!loader.empty()) {
            PipelineConfig pipe;
            pipe.image_size = image;
            pipe.augment.enabled = !no_augment;
            bench_loader(loader, pipe, workers, batch, limit, cache_mb, rep);
        } else {
            ModelSpec spec;
            spec.variant = model[1] - '0';
            spec.image_size = image;
            bench_model(spec, batch, steps, warmup, latency_runs, layers, inference_only, dev, rep);
            if (dev == Device::CUDA) bench_gpu_kernels(batch, std::max(steps, 10), rep);
        }
        std::cout << rep.text.str();
        if (!json_path.empty()) write_file_atomic(json_path, rep.json.str() + "\n");
        return 0;
    });
}
