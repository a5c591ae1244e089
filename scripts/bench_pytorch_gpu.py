#!/usr/bin/env python3
"""PyTorch reference timings on the GPU, to compare with
`effnet_bench --device cuda` in the same run: timm efficientnet_b0 (2 classes),
eager, channels_last, float32 and AMP (bfloat16 autocast); training step =
forward, cross-entropy, backward, AdamW (lr 1e-5, wd 1e-3). CUDA events around
`--steps` steps after `--warmup`. torch/timm: installed, or a PyPI venv made by
scripts/torch_env.py.

    scripts/bench_pytorch_gpu.py --batch-size 32 --image-size 224 --json out.json
"""
import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_env import ensure  # noqa: E402

ensure()

import timm  # noqa: E402
import torch  # noqa: E402


def bench(batch, size, steps, warmup, amp):
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    model = timm.create_model("efficientnet_b0", num_classes=2).cuda().to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, weight_decay=1e-3)
    x = torch.randn(batch, 3, size, size, device="cuda").to(memory_format=torch.channels_last)
    y = (torch.arange(batch, device="cuda") % 2)

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
            loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(steps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        step()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    ms = statistics.median(times)
    return {"train_ms_per_step": ms, "train_images_per_s": batch / (ms / 1000),
            "peak_device_mib": torch.cuda.max_memory_allocated() / 2**20}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--image-size", type=int, default=224)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--json", "--out", dest="json", default="")
    a = ap.parse_args()
    out = {"torch": torch.__version__, "timm": timm.__version__, "gpu": torch.cuda.get_device_name(0),
           "fp32": bench(a.batch_size, a.image_size, a.steps, a.warmup, False),
           "amp_bf16": bench(a.batch_size, a.image_size, a.steps, a.warmup, True)}
    print(json.dumps(out, indent=1))
    if a.json:
        json.dump(out, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
