#!/usr/bin/env python3
"""Golden numbers from timm's efficientnet_b0 for effnet's parity test.

Weights, BN statistics, input and labels come from a closed formula that the
C++ test reproduces without any file (tests/parity/parity_formula.h):

  for the tensor named NAME with N elements, element i (PyTorch flat order):
      h     = the bytes of NAME folded as h = h * 131 + byte (mod 2^64)
      z     = splitmix64 finaliser of h + 0x9E3779B97F4A7C15 * (i + 1) (mod 2^64)
      s(i)  = (z >> 11) * 2^-52 - 1               (uniform in [-1, 1), exact)
  Hash values behave like a random initialisation. (An earlier sin(a i + b)
  formula gave periodic weights whose outputs cancel block after block: float32
  rounding differences of 1e-7 grew to 1e-3 at the head, so the test passed or
  failed on the CPU's instruction set rather than on correctness.)
  conv / linear weight [out, in/g, k, k]: s(i) * sqrt(1 / (in/g * k * k))
  bias:                 0.05 * s(i)
  BN weight:            1 + 0.1 * s(i)       BN bias: 0.1 * s(i)
  BN running_mean:      0.1 * s(i)           BN running_var: 1 + 0.25 * (1 + s(i))
  input "input" (NCHW flat order): 0.5 * s(i);  labels: sample n -> n % 2

It runs, for each case (batch 2 at 128x128 and batch 2 at 224x224; batch 1
is avoided: with one image, batch norm over its own pixels makes the
squeeze-excite gate gradients cancel to almost zero, and float32 rounding
of any implementation then decides them):
  1. eval forward -> logits
  2. train forward (dropout and drop-path off) + cross-entropy -> loss, logits
  3. backward -> for every parameter: gradient L2 norm, sum, and elements at
     flat indices [0, N//3, N//2, N-1]
  4. BN running statistics after that train forward (samples)
  5. one AdamW step (lr 1e-5, weight decay 1e-3 on every tensor, PyTorch
     defaults otherwise) -> updated weight samples
and writes tests/parity/golden_b0.json (< 2 MB) with the torch/timm versions.

The golden numbers are computed in float64 (the model and input converted
after the formula's float32 values are set), i.e. they are the exact answer
for these float32 weights up to float64 rounding. With these weights the
train-mode logits are ill-conditioned: torch's own float32 run is recorded
beside them ("torch_float32", same layout) to show how far a correct float32
implementation lands; the C++ test allows effnet a few times that error.
--full DIR also dumps whole tensors (safetensors) for element-wise comparison:
the float64 gradients as "grad.NAME" and torch's float32 ones as "grad32.NAME".
"""
import argparse
import json
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from torch_env import ensure  # noqa: E402

ensure()

import timm  # noqa: E402
import torch  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def uniform(name, n):
    import numpy as np

    h = 0
    for c in name.encode():
        h = (h * 131 + c) % 2**64
    with np.errstate(over="ignore"):
        z = np.uint64(h) + np.uint64(0x9E3779B97F4A7C15) * np.arange(1, n + 1, dtype=np.uint64)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    s = (z >> np.uint64(11)).astype(np.float64) * (2.0 / 9007199254740992.0) - 1.0
    return torch.from_numpy(s)


def formula(name, shape):
    n = math.prod(shape)
    s = uniform(name, n)
    leaf = name.rsplit(".", 1)[-1]
    if leaf == "weight" and len(shape) >= 2:
        fan_in = math.prod(shape[1:])
        v = s * math.sqrt(1.0 / fan_in)
    elif leaf == "bias" and not is_bn(name):
        v = 0.05 * s
    elif leaf == "weight":
        v = 1 + 0.1 * s
    elif leaf == "bias":
        v = 0.1 * s
    elif leaf == "running_mean":
        v = 0.1 * s
    elif leaf == "running_var":
        v = 1 + 0.25 * (1 + s)
    else:
        raise ValueError(name)
    return v.to(torch.float32).reshape(shape)


BN_NAMES = set()


def is_bn(name):
    return name.rsplit(".", 1)[0] in BN_NAMES


def samples(t):
    f = t.detach().reshape(-1)
    n = f.numel()
    idx = [0, n // 3, n // 2, n - 1]
    return {"index": idx, "value": [float(f[i]) for i in idx]}


def run_case(batch, size, full_dir):
    f32, full32 = forward_pass(batch, size, torch.float32, bool(full_dir))
    out, full = forward_pass(batch, size, torch.float64, bool(full_dir))
    out["torch_float32"] = f32
    if full_dir:
        from safetensors.torch import save_file

        full.update({"grad32." + k[len("grad."):]: v for k, v in full32.items() if k.startswith("grad.")})
        os.makedirs(full_dir, exist_ok=True)
        save_file({k: v.contiguous() for k, v in full.items()}, os.path.join(full_dir, f"b{batch}_s{size}.safetensors"))
    return out


def forward_pass(batch, size, dtype, want_full):
    torch.manual_seed(0)
    model = timm.create_model("efficientnet_b0", pretrained=False, num_classes=2, drop_rate=0.0, drop_path_rate=0.0)
    for mname, m in model.named_modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            BN_NAMES.add(mname)
    sd = model.state_dict()
    with torch.no_grad():
        for name, t in sd.items():
            if name.endswith("num_batches_tracked"):
                t.zero_()
            else:
                t.copy_(formula(name, list(t.shape)))
    model = model.to(dtype)
    x = (0.5 * uniform("input", batch * 3 * size * size)).to(torch.float32).reshape(batch, 3, size, size).to(dtype)
    y = torch.tensor([n % 2 for n in range(batch)])

    model.eval()
    with torch.no_grad():
        eval_logits = model(x)
    model.train()
    logits = model(x)
    loss = torch.nn.functional.cross_entropy(logits, y)
    loss.backward()
    out = {
        "batch": batch,
        "size": size,
        "eval_logits": eval_logits.reshape(-1).tolist(),
        "train_logits": logits.detach().reshape(-1).tolist(),
        "loss": float(loss.detach()),
        "grads": {},
        "running": {},
        "updated": {},
    }
    for name, p in model.named_parameters():
        g = p.grad
        out["grads"][name] = {"norm": float(g.double().norm()), "sum": float(g.double().sum()), **samples(g)}
    for name, t in model.state_dict().items():
        if name.endswith("running_mean") or name.endswith("running_var"):
            out["running"][name] = samples(t)
    full = {}
    if want_full:
        full = {"eval_logits": eval_logits.float(), "train_logits": logits.detach().float()}
        full.update({"grad." + n: p.grad.detach().float().clone() for n, p in model.named_parameters()})
        full.update({"running." + n: t.float().clone() for n, t in model.state_dict().items() if "running" in n})
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, weight_decay=1e-3)
    opt.step()
    for name, p in model.named_parameters():
        out["updated"][name] = samples(p)
        if want_full:
            full["updated." + name] = p.detach().float().clone()
    return out, full


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "parity", "golden_b0.json"))
    ap.add_argument("--full", default="", help="also dump whole tensors into this folder")
    args = ap.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    doc = {
        "generator": "scripts/parity/make_golden.py",
        "torch": torch.__version__,
        "timm": timm.__version__,
        "model": "timm efficientnet_b0(num_classes=2, drop_rate=0, drop_path_rate=0), float32 weights evaluated in float64, CPU",
        "cases": [run_case(2, 128, args.full), run_case(2, 224, args.full)],
    }
    out = args.out
    if args.full and out == ap.get_default("out"):
        out = os.path.join(args.full, "golden_b0.json")
    with open(out, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    print(f"wrote {out} ({os.path.getsize(out)} bytes), torch {torch.__version__}, timm {timm.__version__}")


if __name__ == "__main__":
    main()
