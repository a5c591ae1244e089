#!/usr/bin/env python3
"""Benchmark table for docs/gpu-runs: effnet_bench --device cuda --json and
scripts/bench_pytorch_gpu.py --json, side by side, with the issue's targets.

    scripts/gpu_summary.py bench_gpu.json [bench_pytorch.json] >> summary.md
"""
import json
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        print(f"(could not read {path}: {e})")
        return {}


def fmt(v, unit=""):
    return "-" if v is None else f"{v:.4g}{unit}"


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    ours = load(argv[1])
    torch = load(argv[2]) if len(argv) > 2 else {}
    fp32, amp = torch.get("fp32", {}), torch.get("amp_bf16", {})
    print("\n## Benchmarks (same GPU, same run)\n")
    print("| measure | effnet FP32 | PyTorch eager FP32 channels_last | PyTorch AMP bf16 |")
    print("|---|---|---|---|")
    for key, label, unit in [("train_images_per_s", "training, images/s", ""),
                             ("train_ms_per_step", "training step, ms", ""),
                             ("peak_device_mib", "peak device memory, MiB", "")]:
        print(f"| {label} | {fmt(ours.get(key), unit)} | {fmt(fp32.get(key), unit)} | {fmt(amp.get(key), unit)} |")
    for key, label in [("train_ms_per_step_graph", "training step replayed as a CUDA graph, ms"),
                       ("infer_images_per_s", "inference, images/s"),
                       ("infer_latency_ms_batch1", "latency batch 1, ms")]:
        print(f"| {label} | {fmt(ours.get(key))} | - | - |")

    print("\n| ceiling or kernel family | value |")
    print("|---|---|")
    for key in sorted(ours):
        if key.startswith("device_") or key.split("_")[0] in ("depthwise", "batchnorm", "bn", "stem", "swish"):
            print(f"| {key} | {fmt(ours[key])} |")

    print("\n| target | measured | met |")
    print("|---|---|---|")
    share = ours.get("depthwise_min_share_of_copy")
    print(f"| depthwise passes >= 60% of copy bandwidth (worst pass) | {fmt(share, '%')} | "
          f"{'-' if share is None else ('yes' if share >= 60 else 'no')} |")
    faster = ours.get("depthwise_passes_faster_than_cudnn")
    geo = ours.get("depthwise_speedup_vs_cudnn_geomean")
    print(f"| depthwise faster than cuDNN | {fmt(faster)} passes, geomean {fmt(geo, 'x')} | "
          f"{'-' if geo is None else ('yes' if geo > 1 else 'no')} |")
    ips, ref = ours.get("train_images_per_s"), fp32.get("train_images_per_s")
    ok = "-" if ips is None or ref is None else ("yes" if ips >= ref else "no")
    print(f"| FP32 training step >= PyTorch eager FP32 channels_last | {fmt(ips)} vs {fmt(ref)} images/s | {ok} |")


if __name__ == "__main__":
    main(sys.argv)
