"""A private virtual environment with torch, torchvision, timm and safetensors
from PyPI, for the optional comparison scripts (benchmarks, parity). Never a
build or CI dependency.

    from torch_env import ensure
    ensure()   # re-executes the calling script inside .venv-torch when needed
"""
import os
import subprocess
import sys
import venv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.environ.get("EFFNET_TORCH_VENV", os.path.join(ROOT, ".venv-torch"))
PACKAGES = ["torch", "torchvision", "timm", "safetensors", "numpy"]


def _have_torch():
    try:
        import timm  # noqa: F401
        import torch  # noqa: F401
        return True
    except ImportError:
        return False


def ensure():
    """Returns when torch and timm import; otherwise creates the venv and re-runs the script in it."""
    if _have_torch():
        return
    python = os.path.join(VENV, "bin", "python")
    if os.path.abspath(sys.executable) == os.path.abspath(python):
        sys.exit("torch/timm still missing inside " + VENV)
    if not os.path.exists(python):
        print(f"creating {VENV} with {' '.join(PACKAGES)} (one time)", file=sys.stderr)
        venv.create(VENV, with_pip=True)
        subprocess.check_call([python, "-m", "pip", "install", "-q", *PACKAGES])
    os.execv(python, [python, *sys.argv])
