#!/usr/bin/env python3
"""Checks an ONNX model exported by effnet_export against effnet's own logits.

  onnx_check.py MODEL INPUT EXPECTED N,C,H,W [--atol 1e-4]

INPUT holds N*C*H*W float32 (little-endian, NCHW), the normalised images;
EXPECTED holds effnet's N*K logits for them. The script runs
onnx.checker.check_model (full check, with shape inference), checks that
protobuf re-serialises the parsed model to the same bytes, then ONNX Runtime
on the whole batch and on each image alone (the batch dimension is dynamic),
and fails when any logit differs by more than --atol. It prints the versions
and the largest difference. Run by tests/io/test_onnx_export.cpp in the
environment scripts/onnx_venv.sh makes.
"""
import argparse
import sys

import numpy as np
import onnx
import onnxruntime as ort

REQUIRED_METADATA = ["input.layout", "input.channels", "input.height", "input.width", "normalize.mean",
                     "normalize.std", "preprocess.equalization", "classes", "output.activation"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("input")
    ap.add_argument("expected")
    ap.add_argument("shape")
    ap.add_argument("--atol", type=float, default=1e-4)
    a = ap.parse_args()
    shape = [int(v) for v in a.shape.split(",")]
    x = np.fromfile(a.input, dtype="<f4").reshape(shape)
    expected = np.fromfile(a.expected, dtype="<f4").reshape(shape[0], -1)

    with open(a.model, "rb") as f:
        raw = f.read()
    model = onnx.load_from_string(raw)
    onnx.checker.check_model(model, full_check=True)
    # effnet's own encoder must write what protobuf itself writes for the same message.
    if model.SerializeToString() != raw:
        print("the file differs from protobuf's serialisation of the message it parses to")
        return 1
    meta = {p.key: p.value for p in model.metadata_props}
    missing = [k for k in REQUIRED_METADATA if k not in meta]
    if missing:
        print("metadata lacks", missing)
        return 1

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    sess = ort.InferenceSession(a.model, opts, providers=["CPUExecutionProvider"])
    got = sess.run(["logits"], {"input": x})[0]
    singles = np.concatenate([sess.run(["logits"], {"input": x[i:i + 1]})[0] for i in range(shape[0])])
    diff = max(float(np.abs(got - expected).max()), float(np.abs(singles - expected).max()))
    print(f"onnx {onnx.__version__}, onnxruntime {ort.__version__}: checker passed, bytes as protobuf writes them; batch {shape[0]} and batch 1: "
          f"max |logit - effnet| = {diff:.3g} (logits up to {float(np.abs(expected).max()):.3g}, atol {a.atol})")
    if not diff <= a.atol:
        print("effnet:\n", expected, "\nONNX Runtime:\n", got)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
