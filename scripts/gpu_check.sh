#!/usr/bin/env bash
# The one command for a GPU machine: build with CUDA for the local GPU, print
# the device, run every test (GPU tests included, then under
# compute-sanitizer), the parity checks and the benchmarks, and write logs plus
# a summary table to $OUT (or ./gpu-results when $OUT is unset).
#
# No internet is assumed. Eigen/stb/GoogleTest headers may be missing there:
# run scripts/gather_deps.sh beforehand and carry ./deps (EFFNET_DEPS_DIR
# defaults to it when present). cuDNN is also found inside the nvidia-cudnn
# Python wheel when it is not under the CUDA toolkit.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-$PWD/gpu-results}"
mkdir -p "$OUT"
summary="$OUT/summary.md"
[ -z "${EFFNET_DEPS_DIR:-}" ] && [ -d deps ] && export EFFNET_DEPS_DIR="$PWD/deps"

step() {  # step NAME COMMAND...: runs, logs to $OUT/NAME.log, records the status
    local name=$1
    shift
    local t0=$(date +%s)
    "$@" >"$OUT/$name.log" 2>&1
    local rc=$?
    printf '| %s | %s | %ss |\n' "$name" "$([ $rc -eq 0 ] && echo pass || echo "FAIL ($rc)")" "$(( $(date +%s) - t0 ))" >>"$summary"
    tail -n 3 "$OUT/$name.log"
    return 0
}

{
    echo "# effnet GPU check"
    echo
    echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "- GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo 'nvidia-smi not found')"
    echo "- nvcc: $(nvcc --version 2>/dev/null | tail -n 2 | head -n 1)"
    echo
    echo "| step | result | time |"
    echo "|---|---|---|"
} >"$summary"
nvidia-smi >"$OUT/nvidia-smi.txt" 2>&1 || true

arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | tr -d '.')
arch=${arch:-90}
gen=$(command -v ninja >/dev/null && echo "-G Ninja" || echo "")
step configure cmake -S . -B build-gpu $gen -DCMAKE_BUILD_TYPE=Release -DEFFNET_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$arch"
step build cmake --build build-gpu -j "$(nproc)"
step tests ctest --test-dir build-gpu --output-on-failure -j 4
if command -v compute-sanitizer >/dev/null; then
    for t in build-gpu/tests/tensor/test_tensor build-gpu/tests/kernels/test_kernels; do
        [ -x "$t" ] || continue
        step "memcheck_$(basename "$t")" compute-sanitizer --tool memcheck --error-exitcode 1 "$t" --gtest_filter='*Gpu*'
        step "racecheck_$(basename "$t")" compute-sanitizer --tool racecheck --error-exitcode 1 "$t" --gtest_filter='*Gpu*'
    done
fi
# End to end on the GPU: a short phantom run, and the same run on the CPU for comparison.
step train_gpu_smoke build-gpu/apps/effnet_train --device cuda --phantoms 512 --image-size 64 --epochs 2 --out "$OUT/train_gpu"
step train_cpu_smoke build-gpu/apps/effnet_train --device cpu --phantoms 512 --image-size 64 --epochs 2 --out "$OUT/train_cpu"
step train_gpu_cudnn_smoke build-gpu/apps/effnet_train --device cuda --kernels cudnn --phantoms 512 --image-size 64 --epochs 2 \
    --out "$OUT/train_gpu_cudnn"
# Benchmarks: effnet on the GPU (training step, latency, per-layer table, the
# kernel table: effnet vs cuDNN, GB/s and GFLOP/s against the measured copy
# bandwidth and FMA rate), then PyTorch/timm on the same GPU.
step bench_gpu build-gpu/apps/effnet_bench --device cuda --layers --steps 20 --warmup 5 --json "$OUT/bench_gpu.json"
[ -f scripts/bench_pytorch_gpu.py ] && python3 -c "import torch, timm" 2>/dev/null &&
    step bench_pytorch python3 scripts/bench_pytorch_gpu.py --json "$OUT/bench_pytorch.json"
[ -f scripts/parity/make_golden.py ] && python3 -c "import torch, timm" 2>/dev/null &&
    step parity_full python3 scripts/parity/make_golden.py --full --out "$OUT/golden_full" &&
    step parity_test env EFFNET_GOLDEN_FULL="$OUT/golden_full" ctest --test-dir build-gpu -R Parity --output-on-failure

# The benchmark tables, appended to the summary (the record for docs/gpu-runs).
if [ -f "$OUT/bench_gpu.json" ]; then
    python3 scripts/gpu_summary.py "$OUT/bench_gpu.json" "$OUT/bench_pytorch.json" >>"$summary" 2>&1
    { echo; echo '```'; sed -n '/^FP32 FMA rate/,$p' "$OUT/bench_gpu.log"; echo '```'; } >>"$summary"
fi

echo
cat "$summary"
