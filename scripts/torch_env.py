"""A private virtual environment with torch, torchvision, timm and safetensors
from PyPI, for the optional comparison scripts (benchmarks, parity). Never a
build or CI dependency.

    from torch_env import ensure
    ensure()   # re-executes the calling script inside .venv-torch when needed
"""
import os
import subprocess
import sys
import venv as venv_mod

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.environ.get("EFFNET_TORCH_VENV", os.path.join(ROOT, ".venv-torch"))
PACKAGES = ["torch", "torchvision", "timm", "safetensors", "numpy"]


def _importable(modules):
    try:
        for m in modules:
            __import__(m)
        return True
    except ImportError:
        return False


def ensure(venv=None, packages=None, modules=("timm", "torch")):
    """Returns when `modules` import; otherwise creates the venv (default
    .venv-torch with torch, torchvision, timm, safetensors, numpy; or `venv`
    with `packages`) and re-runs the script in it."""
    if _importable(modules):
        return
    venv = venv or VENV
    packages = packages or PACKAGES
    python = os.path.join(venv, "bin", "python")
    if os.path.abspath(sys.executable) == os.path.abspath(python):
        sys.exit(f"{', '.join(modules)} still missing inside {venv}")
    if not os.path.exists(python):
        print(f"creating {venv} with {' '.join(packages)} (one time)", file=sys.stderr)
        venv_mod.create(venv, with_pip=True)
        subprocess.check_call([python, "-m", "pip", "install", "-q", *packages])
    os.execv(python, [python, *sys.argv])
