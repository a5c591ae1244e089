#!/usr/bin/env bash
# Makes .venv-onnx/, a Python environment with onnx and onnxruntime from PyPI,
# for the test that runs the ONNX checker and ONNX Runtime on an exported model
# (tests/io/test_onnx_export.cpp). Nothing else needs it: the build and every
# other test run without PyPI.
#
# Never fails: where the environment cannot be made (no PyPI, no venv module),
# .venv-onnx/UNAVAILABLE holds the reason and that test skips with it.
# Idempotent: a working environment is kept.
set -uo pipefail
cd "$(dirname "$0")/.."
venv=.venv-onnx
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import onnx, onnxruntime, numpy" 2>/dev/null; then
    exit 0
fi

unavailable() {
    rm -rf "$venv"
    mkdir -p "$venv"
    { echo "$1"; tail -n 3 "$log"; } > "$venv/UNAVAILABLE"
    echo "onnx_venv: $1 (the ONNX Runtime test will skip)" >&2
    exit 0
}

rm -rf "$venv"
python3 -m venv "$venv" > "$log" 2>&1 || unavailable "python3 -m venv failed"
# Short network timeouts: without PyPI this gives up in well under a minute.
timeout 900 "$venv/bin/pip" install --quiet --disable-pip-version-check --timeout 20 --retries 1 \
    "onnx>=1.16" "onnxruntime>=1.17" numpy > "$log" 2>&1 ||
    unavailable "pip could not install onnx and onnxruntime from PyPI"
"$venv/bin/python" -c "import onnx, onnxruntime, numpy" > "$log" 2>&1 ||
    unavailable "onnx or onnxruntime installed but does not import"
echo "onnx_venv: $("$venv/bin/python" -c 'import onnx, onnxruntime; print("onnx", onnx.__version__, "onnxruntime", onnxruntime.__version__)') in $venv" >&2
