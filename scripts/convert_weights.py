#!/usr/bin/env python3
"""Convert a timm or torchvision efficientnet_b0 checkpoint into effnet's
safetensors (timm tensor names, every shape checked), ready for
`effnet_train --init` or `effnet_eval/predict --weights`.

    scripts/convert_weights.py IN.(pth|pt|bin|safetensors) --out OUT.safetensors [--classes K]

The input may be a bare state dict or a dict holding one under "state_dict" /
"model"; "module." prefixes are stripped. torchvision names
(features.S.B.block...) are mapped onto timm's (blocks.S-1.B...).
torchvision's EfficientNet-B0 batch norms use eps 1e-5, as effnet and timm
do, so converted weights reproduce torchvision's probabilities (to about six
digits on real X-rays).
"""
import argparse
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_env import ensure  # noqa: E402

ensure()

import timm  # noqa: E402
import torch  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402

DS_BLOCK = {"block.0.0": "conv_dw", "block.0.1": "bn1", "block.1.fc1": "se.conv_reduce",
            "block.1.fc2": "se.conv_expand", "block.2.0": "conv_pw", "block.2.1": "bn2"}
IR_BLOCK = {"block.0.0": "conv_pw", "block.0.1": "bn1", "block.1.0": "conv_dw", "block.1.1": "bn2",
            "block.2.fc1": "se.conv_reduce", "block.2.fc2": "se.conv_expand", "block.3.0": "conv_pwl",
            "block.3.1": "bn3"}


def torchvision_to_timm(name):
    m = re.match(r"features\.0\.([01])\.(.+)", name)
    if m:
        return ("conv_stem." if m.group(1) == "0" else "bn1.") + m.group(2)
    m = re.match(r"features\.8\.([01])\.(.+)", name)
    if m:
        return ("conv_head." if m.group(1) == "0" else "bn2.") + m.group(2)
    m = re.match(r"classifier\.1\.(.+)", name)
    if m:
        return "classifier." + m.group(1)
    m = re.match(r"features\.([1-7])\.(\d+)\.(block\.\d+(?:\.\d+|\.fc[12]))\.(.+)", name)
    if m:
        stage, block, part, leaf = int(m.group(1)) - 1, m.group(2), m.group(3), m.group(4)
        table = DS_BLOCK if stage == 0 else IR_BLOCK
        if part in table:
            return f"blocks.{stage}.{block}.{table[part]}.{leaf}"
    raise KeyError(f"unexpected torchvision tensor name '{name}'")


def load_state(path):
    if path.endswith(".safetensors"):
        sd = load_file(path)
    else:
        sd = torch.load(path, map_location="cpu", weights_only=True)
        for key in ("state_dict", "model"):
            if isinstance(sd, dict) and key in sd and isinstance(sd[key], dict):
                sd = sd[key]
    return {k[7:] if k.startswith("module.") else k: v for k, v in sd.items()}


def convert(sd):
    if any(k.startswith("features.") for k in sd):
        return {torchvision_to_timm(k): v for k, v in sd.items()}, "torchvision"
    return dict(sd), "timm"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input")
    ap.add_argument("--out", required=True)
    ap.add_argument("--image-size", type=int, default=224, help="recorded in the metadata for effnet_eval/predict")
    args = ap.parse_args()
    sd, kind = convert(load_state(args.input))
    classes = sd["classifier.weight"].shape[0]
    ref = timm.create_model("efficientnet_b0", pretrained=False, num_classes=classes).state_dict()
    missing = sorted(set(ref) - set(sd))
    unexpected = sorted(set(sd) - set(ref))
    wrong = [f"{k}: {tuple(sd[k].shape)} vs {tuple(ref[k].shape)}" for k in ref if k in sd and sd[k].shape != ref[k].shape]
    if missing or unexpected or wrong:
        sys.exit(f"{args.input}: not an efficientnet_b0 checkpoint:\n  missing {missing[:10]}\n"
                 f"  unexpected {unexpected[:10]}\n  mis-shaped {wrong[:10]}")
    out = {}
    for k, v in sd.items():
        v = v.detach().contiguous()
        out[k] = v.to(torch.int64) if k.endswith("num_batches_tracked") else v.to(torch.float32)
    meta = {"format": "pt", "effnet.arch": "efficientnet_b0", "effnet.num_classes": str(classes),
            "effnet.in_channels": "3", "effnet.image_size": str(args.image_size), "effnet.dropout": "0.2",
            "effnet.drop_path": "0.2", "effnet.loss": "ce", "effnet.equalize": "1", "effnet.clahe": "0",
            "effnet.clahe_tiles": "8", "effnet.clahe_clip": "2", "effnet.converted_from": kind}
    save_file(out, args.out, metadata=meta)
    print(f"{args.input} ({kind}, {len(out)} tensors, {classes} classes) -> {args.out}")


if __name__ == "__main__":
    main()
