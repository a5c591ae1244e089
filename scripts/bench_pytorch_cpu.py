#!/usr/bin/env python3
"""PyTorch reference timings on the CPU, to compare with `effnet_bench`:
torchvision efficientnet_b0 (2 classes), channels_last, float32, the same
batch, image size and thread count; training step = forward, cross-entropy,
backward, AdamW (lr 1e-5, wd 1e-3). torch comes from PyPI in .venv-torch
(scripts/torch_env.py), never a build or CI dependency.

    scripts/bench_pytorch_cpu.py --threads 2 --batch-size 32 --image-size 224
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_env import ensure  # noqa: E402

ensure()

import torch  # noqa: E402
import torchvision  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--image-size", type=int, default=224)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--latency-runs", type=int, default=20)
    ap.add_argument("--json", default="")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model = torchvision.models.efficientnet_b0(num_classes=2).to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, weight_decay=1e-3)
    x = torch.randn(a.batch_size, 3, a.image_size, a.image_size).to(memory_format=torch.channels_last)
    y = torch.arange(a.batch_size) % 2

    def step():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    model.train()
    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    step_ms = statistics.median(times) * 1000
    model.eval()
    with torch.inference_mode():
        inf = []
        for i in range(max(2, a.steps)):
            t = time.perf_counter()
            model(x)
            if i:
                inf.append(time.perf_counter() - t)
        x1 = x[:1].contiguous(memory_format=torch.channels_last)
        lat = []
        for i in range(a.latency_runs + 3):
            t = time.perf_counter()
            model(x1)
            if i >= 3:
                lat.append(time.perf_counter() - t)
    out = {
        "torch": torch.__version__,
        "threads": a.threads,
        "train_ms_per_step": step_ms,
        "train_images_per_s": a.batch_size / (step_ms / 1000),
        "infer_images_per_s": a.batch_size / statistics.median(inf),
        "infer_latency_ms_batch1": statistics.median(lat) * 1000,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    for k, v in out.items():
        print(f"{k:28s} {v:.2f}" if isinstance(v, float) else f"{k:28s} {v}")
    if a.json:
        json.dump(out, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
