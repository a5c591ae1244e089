#!/usr/bin/env python3
"""Interoperability with PyTorch, end to end (needs a built effnet in ./build):

1. conversion round trip: random timm and torchvision efficientnet_b0 state
   dicts convert with every tensor mapped and shape-checked, and the
   torchvision-converted tensors equal the originals;
2. effnet reads converted weights: effnet_predict runs on them;
3. PyTorch reads effnet's output: a checkpoint written by effnet_train loads
   into timm's efficientnet_b0 with safetensors.torch.load_file and
   load_state_dict(strict=True) (optimizer.* entries set aside), and timm gives
   the same P(label 1) as effnet_predict for the same image.

The image has every grey level exactly 4 times, so effnet's histogram
equalisation is the identity and the test needs no reimplementation of it.
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from torch_env import ensure  # noqa: E402

ensure()

import numpy as np  # noqa: E402
import timm  # noqa: E402
import torch  # noqa: E402
import torchvision  # noqa: E402
from safetensors.torch import load_file  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
BIN = os.path.join(ROOT, "build", "apps")
sys.path.insert(0, os.path.dirname(HERE))
import convert_weights  # noqa: E402


def run(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def write_png(path, grey):
    # A minimal grey PNG (stored deflate blocks) to avoid an imaging dependency.
    import struct
    import zlib
    h, w = grey.shape
    raw = b"".join(b"\x00" + grey[y].astype(np.uint8).tobytes() for y in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    open(path, "wb").write(png)


def main():
    tmp = tempfile.mkdtemp(prefix="effnet_interop_")
    # 1. conversion
    tv = torchvision.models.efficientnet_b0(num_classes=2).state_dict()
    converted, kind = convert_weights.convert(tv)
    assert kind == "torchvision" and len(converted) == len(tv)
    ref = timm.create_model("efficientnet_b0", num_classes=2).state_dict()
    assert set(converted) == set(ref), sorted(set(converted) ^ set(ref))[:5]
    for k in ref:
        assert converted[k].shape == ref[k].shape, k
    for k, v in tv.items():
        assert torch.equal(converted[convert_weights.torchvision_to_timm(k)], v), k
    tv_path = os.path.join(tmp, "tv.pth")
    torch.save(tv, tv_path)
    out_path = os.path.join(tmp, "tv.safetensors")
    run(sys.executable, os.path.join(ROOT, "scripts", "convert_weights.py"), tv_path, "--out", out_path, "--image-size", "32")
    print("1. torchvision -> effnet conversion: all", len(tv), "tensors mapped, shapes checked, values equal")

    # 2. effnet reads it; 3. PyTorch reads effnet's checkpoint
    grey = np.repeat(np.arange(256), 4)
    np.random.default_rng(0).shuffle(grey)
    img = os.path.join(tmp, "levels.png")
    write_png(img, grey.reshape(32, 32))
    run(os.path.join(BIN, "effnet_predict"), "--weights", out_path, img)
    print("2. effnet_predict runs on converted weights")
    train_dir = os.path.join(tmp, "run")
    run(os.path.join(BIN, "effnet_train"), "--phantoms", "32", "--image-size", "32", "--epochs", "1", "--batch-size",
        "8", "--bootstrap", "10", "--out", train_dir)
    ck = os.path.join(train_dir, "best.safetensors")
    effnet_p = float(run(os.path.join(BIN, "effnet_predict"), "--weights", ck, img).splitlines()[1].split(",")[1])
    sd = load_file(ck)
    sd = {k: v for k, v in sd.items() if not k.startswith("optimizer.")}
    model = timm.create_model("efficientnet_b0", num_classes=2)
    model.load_state_dict(sd, strict=True)
    model.eval()
    x = torch.tensor(grey.reshape(32, 32), dtype=torch.float32) / 255.0
    mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])
    x = ((x[None, :, :] - mean[:, None, None]) / std[:, None, None])[None]
    with torch.no_grad():
        torch_p = float(torch.softmax(model(x), dim=1)[0, 1])
    print(f"3. timm loads effnet's checkpoint strictly; P(1): effnet {effnet_p:.6f}, timm {torch_p:.6f}")
    assert abs(effnet_p - torch_p) < 1e-4, (effnet_p, torch_p)
    print("interop OK")


if __name__ == "__main__":
    main()
