#!/usr/bin/env python3
"""Side-by-side CPU inference benchmark: effnet's fast path against the
runtimes an integrator would pick instead, same model, same threads, one run.

EfficientNet-B0 with 2 classes (torchvision's, random weights: timing only),
float32, NCHW 224x224 for the others and NHWC for effnet:

  effnet        build/apps/effnet_bench --inference-only (infer/ fast path)
  ONNX Runtime  the model exported to ONNX, all graph optimisations
  OpenVINO      the same ONNX file, CPU plugin, f32 precision hint, latency hint
  ncnn          converted with pnnx; fp32 (and fp16 storage as an extra row)
  PyTorch       eager, channels_last, inference_mode

Each runtime runs in its own process (no two thread pools in one process),
with every thread count set to --threads: batch-1 latency (median and min
of --latency-runs calls after warm-up), peak resident memory after the
batch-1 runs, then --batch-size images per call (images/s from the median
and the best of --batch-runs calls; ncnn has no batch dimension: it runs
the images one after the other). The whole set repeats --rounds times,
interleaved, and the table shows the median over rounds of each round's
median and the min over rounds of each round's min (use the min columns
when other work shares the cores).

Needs PyPI: onnxruntime, openvino, ncnn, pnnx, onnx, torch, torchvision,
numpy. They are installed on first use into .venv-bench/ (git-ignored;
EFFNET_BENCH_VENV overrides). Never a build or CI dependency.

    scripts/bench_inference_cpu.py --threads 2 [--effnet-bench build/apps/effnet_bench] [--json out.json]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from torch_env import ensure  # noqa: E402

VENV = os.environ.get("EFFNET_BENCH_VENV", os.path.join(ROOT, ".venv-bench"))
PACKAGES = ["onnxruntime", "openvino", "ncnn", "pnnx", "onnx", "torch", "torchvision", "numpy"]
RUNTIMES = ["effnet", "onnxruntime", "openvino", "ncnn", "ncnn-fp16", "pytorch"]


# ---- one runtime, in its own process --------------------------------------------------------


def peak_rss_mib():
    """This process's peak resident memory (VmHWM: unlike ru_maxrss it does not
    carry over the parent's peak across exec)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def time_calls(fn, warmup, runs):
    """Median and min wall ms, and median process CPU ms (all threads) per call."""
    for _ in range(warmup):
        fn()
    ms, cpu = [], []
    for _ in range(runs):
        c = time.process_time()
        t = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return statistics.median(ms), min(ms), statistics.median(cpu)


def measure(make_runner, a):
    """make_runner(batch) -> a callable running one call of `batch` images."""
    run1 = make_runner(1)
    lat_med, lat_min, lat_cpu = time_calls(run1, 5, a.latency_runs)
    rss = peak_rss_mib()
    del run1
    runb = make_runner(a.batch_size)
    b_med, b_min, b_cpu = time_calls(runb, 1, a.batch_runs)
    return {
        "latency_ms": lat_med,
        "latency_ms_min": lat_min,
        "latency_cpu_ms": lat_cpu,
        "peak_rss_mib_batch1": rss,
        "images_per_s": a.batch_size * 1000 / b_med,
        "images_per_s_best": a.batch_size * 1000 / b_min,
        "batch_cpu_ms": b_cpu,
    }


def worker(name, a):
    import numpy as np

    rng = np.random.default_rng(1)
    size = a.image_size
    x = {n: rng.standard_normal((n, 3, size, size), dtype=np.float32) for n in (1, a.batch_size)}
    onnx_path = os.path.join(a.work_dir, "b0.onnx")

    if name == "onnxruntime":
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = a.threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
        inp = sess.get_inputs()[0].name

        def make(n):
            return lambda: sess.run(None, {inp: x[n]})

        out = measure(make, a)
        out["version"] = ort.__version__
    elif name == "openvino":
        import openvino as ov

        core = ov.Core()
        model = core.read_model(onnx_path)
        cfg = {"INFERENCE_NUM_THREADS": a.threads, "INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY"}

        def make(n):
            m = model.clone()
            m.reshape([n, 3, size, size])
            req = core.compile_model(m, "CPU", cfg).create_infer_request()
            return lambda: req.infer({0: x[n]})

        out = measure(make, a)
        out["version"] = ov.get_version()
    elif name in ("ncnn", "ncnn-fp16"):
        import ncnn

        net = ncnn.Net()
        net.opt.num_threads = a.threads
        fp16 = name == "ncnn-fp16"
        net.opt.use_fp16_packed = fp16
        net.opt.use_fp16_storage = fp16
        net.opt.use_fp16_arithmetic = False
        net.opt.use_bf16_storage = False
        net.opt.use_vulkan_compute = False
        net.load_param(os.path.join(a.work_dir, "b0.ncnn.param"))
        net.load_model(os.path.join(a.work_dir, "b0.ncnn.bin"))
        images = {n: [ncnn.Mat(x[n][i]) for i in range(n)] for n in x}

        def make(n):
            def run():
                for m in images[n]:
                    ex = net.create_extractor()
                    ex.input("in0", m)
                    ex.extract("out0")

            return run

        out = measure(make, a)
        out["version"] = getattr(ncnn, "__version__", "")
    elif name == "pytorch":
        import torch
        import torchvision

        torch.set_num_threads(a.threads)
        model = torchvision.models.efficientnet_b0(num_classes=2).eval().to(memory_format=torch.channels_last)
        xt = {n: torch.from_numpy(v).contiguous(memory_format=torch.channels_last) for n, v in x.items()}

        def make(n):
            def run():
                with torch.inference_mode():
                    model(xt[n])

            return run

        out = measure(make, a)
        out["version"] = torch.__version__
    else:
        raise SystemExit("unknown runtime " + name)
    out["threads"] = a.threads
    print(json.dumps(out))


def run_effnet(a):
    """effnet_bench's inference rows (its own process, like the others)."""
    js = os.path.join(a.work_dir, "effnet.json")
    cmd = [a.effnet_bench, "--inference-only", "--threads", str(a.threads), "--batch-size", str(a.batch_size),
           "--image-size", str(a.image_size), "--latency-runs", str(a.latency_runs), "--steps", str(a.batch_runs),
           "--json", js]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=dict(os.environ, OMP_NUM_THREADS=str(a.threads)))
    with open(js) as f:
        r = json.load(f)
    return {
        "latency_ms": r["infer_latency_ms_batch1"],
        "latency_ms_min": r["infer_latency_ms_batch1_min"],
        "peak_rss_mib_batch1": r["peak_rss_mib_infer_batch1"],
        "images_per_s": r["infer_images_per_s"],
        "images_per_s_best": r["infer_images_per_s_best"],
        "latency_cpu_ms": r["infer_cpu_ms_batch1"],
        "batch_cpu_ms": r["infer_cpu_ms_batch"],
        "threads": a.threads,
    }


# ---- the models, once ---------------------------------------------------------------------


def prepare_models(a):
    import torch
    import torchvision

    os.makedirs(a.work_dir, exist_ok=True)
    onnx_path = os.path.join(a.work_dir, "b0.onnx")
    param = os.path.join(a.work_dir, "b0.ncnn.param")
    if os.path.exists(onnx_path) and os.path.exists(param) and not a.reconvert:
        return
    torch.manual_seed(0)
    model = torchvision.models.efficientnet_b0(num_classes=2).eval()
    x = torch.randn(1, 3, a.image_size, a.image_size)
    kwargs = {"input_names": ["input"], "output_names": ["logits"], "opset_version": 17,
              "dynamic_axes": {"input": {0: "batch"}, "logits": {0: "batch"}}}
    try:
        torch.onnx.export(model, (x,), onnx_path, dynamo=False, **kwargs)
    except TypeError:  # torch without the dynamo switch
        torch.onnx.export(model, (x,), onnx_path, **kwargs)
    # ncnn: TorchScript -> pnnx -> b0.ncnn.param/bin (pnnx writes next to the .pt).
    pt = os.path.join(a.work_dir, "b0.pt")
    torch.jit.trace(model, x).save(pt)
    subprocess.run([os.path.join(os.path.dirname(sys.executable), "pnnx"), pt,
                    f"inputshape=[1,3,{a.image_size},{a.image_size}]"], check=True, cwd=a.work_dir,
                   stdout=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--image-size", type=int, default=224)
    ap.add_argument("--latency-runs", type=int, default=100)
    ap.add_argument("--batch-runs", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runtimes", default=",".join(RUNTIMES))
    ap.add_argument("--effnet-bench", default=os.path.join(ROOT, "build", "apps", "effnet_bench"))
    ap.add_argument("--work-dir", default=os.path.join(VENV, "models"))
    ap.add_argument("--reconvert", action="store_true", help="export/convert the models again")
    ap.add_argument("--json", default="")
    ap.add_argument("--worker", default="", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:  # started by main() with the venv's python; imports only its own runtime
        return worker(a.worker, a)
    ensure(venv=VENV, packages=PACKAGES, modules=("onnxruntime", "openvino", "ncnn", "torch", "torchvision"))

    runtimes = a.runtimes.split(",")
    if "effnet" in runtimes and not os.access(a.effnet_bench, os.X_OK):
        sys.exit(f"{a.effnet_bench} not found: build effnet first or pass --effnet-bench")
    prepare_models(a)
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), OPENBLAS_NUM_THREADS=str(a.threads),
               MKL_NUM_THREADS=str(a.threads))
    results = {r: [] for r in runtimes}
    loads = []
    for rnd in range(a.rounds):
        for r in runtimes:
            loads.append(os.getloadavg()[0])
            if r == "effnet":
                res = run_effnet(a)
            else:
                cmd = [sys.executable, os.path.abspath(__file__), "--worker", r] + [
                    f"--{k.replace('_', '-')}={v}" for k, v in
                    (("threads", a.threads), ("batch_size", a.batch_size), ("image_size", a.image_size),
                     ("latency_runs", a.latency_runs), ("batch_runs", a.batch_runs), ("work_dir", a.work_dir))]
                p = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
                res = json.loads(p.stdout.strip().splitlines()[-1])
            results[r].append(res)
            print(f"round {rnd + 1}/{a.rounds} {r:12s} batch 1: {res['latency_ms']:7.2f} ms (min {res['latency_ms_min']:.2f}, "
                  f"CPU {res['latency_cpu_ms']:.2f}), batch {a.batch_size}: {res['images_per_s']:6.1f} images/s "
                  f"(best {res['images_per_s_best']:.1f})", file=sys.stderr)

    def agg(r):
        rs = results[r]
        return {
            "latency_ms": statistics.median(x["latency_ms"] for x in rs),
            "latency_ms_min": min(x["latency_ms_min"] for x in rs),
            "latency_cpu_ms": statistics.median(x["latency_cpu_ms"] for x in rs),
            "images_per_s": statistics.median(x["images_per_s"] for x in rs),
            "images_per_s_best": max(x["images_per_s_best"] for x in rs),
            "images_per_cpu_s": a.batch_size * 1000 / statistics.median(x["batch_cpu_ms"] for x in rs),
            "peak_rss_mib_batch1": max(x["peak_rss_mib_batch1"] for x in rs),
            "version": rs[0].get("version", ""),
        }

    table = {r: agg(r) for r in runtimes}
    b = a.batch_size
    cols = [("batch 1 ms (median)", "latency_ms", "{:.2f}", True), ("batch 1 ms (min)", "latency_ms_min", "{:.2f}", True),
            ("batch 1 CPU ms", "latency_cpu_ms", "{:.2f}", True),
            (f"batch {b} images/s (median)", "images_per_s", "{:.1f}", False),
            (f"batch {b} images/s (best)", "images_per_s_best", "{:.1f}", False),
            (f"batch {b} images per CPU-second", "images_per_cpu_s", "{:.1f}", False)]
    print(f"\nEfficientNet-B0, 2 classes, {a.image_size}x{a.image_size}, float32, {a.threads} threads, "
          f"{a.rounds} rounds; load average during the run {min(loads):.2f}..{max(loads):.2f}")
    print("| runtime | " + " | ".join(c[0] for c in cols) + " | peak RSS batch 1 (MiB) |")
    print("|---|" + "---:|" * (len(cols) + 1))
    for r in runtimes:
        t = table[r]
        name = r + (f" {t['version'].split('-')[0]}" if t["version"] else "")
        print(f"| {name} | " + " | ".join(c[2].format(t[c[1]]) for c in cols) + f" | {t['peak_rss_mib_batch1']:.0f} |")
    e = table.get("effnet")
    if e:
        print("\neffnet's advantage (other's time / effnet's time; > 1: effnet faster)")
        print("| runtime | " + " | ".join(c[0] for c in cols) + " |")
        print("|---|" + "---:|" * len(cols))
        for r in runtimes:
            if r == "effnet":
                continue
            t = table[r]
            ratios = [(t[c[1]] / e[c[1]]) if c[3] else (e[c[1]] / t[c[1]]) for c in cols]
            print(f"| {r} | " + " | ".join(f"{x:.2f}x" for x in ratios) + " |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"table": table, "rounds": results, "load": loads}, f, indent=1)


if __name__ == "__main__":
    main()
