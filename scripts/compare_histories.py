#!/usr/bin/env python3
"""Compares two effnet training runs epoch by epoch (history.csv), e.g. the
same phantom run on the CPU and on the GPU (same seed, data, order and
dropout masks), and fails when they disagree beyond float rounding grown over
training:

  train_loss  relative 2% per epoch   (a mean over the epoch's steps; the two
                                       devices round differently from step 1,
                                       and AdamW amplifies sign flips of tiny
                                       gradients, so trajectories drift slowly)
  val_loss    relative 5% per epoch   (a single evaluation: more sensitive)
  val_acc     absolute 0.10           (early in training many validation
                                       images sit near the decision boundary)

Calibration (2026-12-02, the smoke run of scripts/gpu_check.sh on the CPU, the
native build against the portable one, which rounds differently: no FMA,
another exp): train loss differed by at most 2.1e-4 relative, validation loss
by 4.9e-3, validation accuracy by 0.039 (5 of 128 images). A wrong kernel
moves these by far more (a broken batch-norm gradient stops learning; a wrong
stride gives chance-level accuracy).

    scripts/compare_histories.py reference/history.csv candidate/history.csv
"""
import csv
import sys

TOLERANCES = {"train_loss": ("rel", 0.02), "val_loss": ("rel", 0.05), "val_acc": ("abs", 0.10)}


def read(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    try:
        ref, cand = read(argv[1]), read(argv[2])
    except OSError as e:
        print(f"cannot compare: {e}")
        return 1
    if not ref or len(ref) != len(cand):
        print(f"cannot compare: {len(ref)} epochs in {argv[1]}, {len(cand)} in {argv[2]}")
        return 1
    bad, worst = [], {}
    for r, c in zip(ref, cand):
        for key, (kind, tol) in TOLERANCES.items():
            a, b = float(r[key]), float(c[key])
            err = abs(b - a) / max(abs(a), 1e-12) if kind == "rel" else abs(b - a)
            worst[key] = max(worst.get(key, 0.0), err)
            print(f"epoch {r['epoch']} {key}: reference {a:.6g}, candidate {b:.6g}, {kind} diff {err:.3g} (limit {tol})")
            if not err <= tol:
                bad.append(f"epoch {r['epoch']} {key}")
    summary = ", ".join(f"{k} worst {v:.3g}" for k, v in worst.items())
    print(("MISMATCH: " + "; ".join(bad) + " | " if bad else "agree: ") + summary)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
