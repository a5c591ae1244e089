#!/usr/bin/env bash
# The one command for a GPU machine: build with CUDA for the local GPU, print
# the device, run every test (GPU tests included, then under
# compute-sanitizer), end-to-end training smoke runs, the benchmarks and the
# full parity check, and write logs plus a summary table to $OUT (or
# ./gpu-results when $OUT is unset).
#
#   scripts/gpu_check.sh                      every phase, in order
#   scripts/gpu_check.sh build tests          only these phases
#
# Phases: build, tests, sanitize, smoke, bench, parity. Each later phase
# reuses build-gpu/ from the build phase, so a machine that caps a command's
# time (the project's lent GPU: 10 minutes) can run them in a few calls,
# e.g. "build tests", then "smoke bench", then "sanitize parity"; each call
# writes its own summary.md. Every step is cut at $STEP_TIMEOUT seconds
# (default 480) so one hung kernel cannot eat the whole budget.
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
step_timeout="${STEP_TIMEOUT:-480}"
[ -z "${EFFNET_DEPS_DIR:-}" ] && [ -d deps ] && export EFFNET_DEPS_DIR="$PWD/deps"
phases=("$@")
[ ${#phases[@]} -eq 0 ] && phases=(build tests sanitize smoke bench parity)

step() {  # step NAME COMMAND...: runs, logs to $OUT/NAME.log, records the status
    local name=$1
    shift
    local t0=$(date +%s)
    timeout "$step_timeout" "$@" >"$OUT/$name.log" 2>&1
    local rc=$?
    local result="pass"
    [ $rc -eq 124 ] && result="TIMEOUT (${step_timeout}s)"
    [ $rc -ne 0 ] && [ $rc -ne 124 ] && result="FAIL ($rc)"
    printf '| %s | %s | %ss |\n' "$name" "$result" "$(( $(date +%s) - t0 ))" >>"$summary"
    tail -n 3 "$OUT/$name.log"
    return 0
}

{
    echo "# effnet GPU check: ${phases[*]}"
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

build_phase() {
    local arch gen
    arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | tr -d '.')
    arch=${arch:-90}
    gen=$(command -v ninja >/dev/null && echo "-G Ninja" || echo "")
    step configure cmake -S . -B build-gpu $gen -DCMAKE_BUILD_TYPE=Release -DEFFNET_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$arch"
    step build cmake --build build-gpu -j "$(nproc)"
}

tests_phase() {
    step tests ctest --test-dir build-gpu --output-on-failure -j 4
}

sanitize_phase() {
    command -v compute-sanitizer >/dev/null || { echo "| sanitize | compute-sanitizer not found | 0s |" >>"$summary"; return; }
    for t in build-gpu/tests/tensor/test_tensor build-gpu/tests/kernels/test_kernels; do
        [ -x "$t" ] || continue
        step "memcheck_$(basename "$t")" compute-sanitizer --tool memcheck --error-exitcode 1 "$t" --gtest_filter='*Gpu*'
        step "racecheck_$(basename "$t")" compute-sanitizer --tool racecheck --error-exitcode 1 "$t" --gtest_filter='*Gpu*'
    done
}

# End to end on the GPU: a short phantom run, the same run on the CPU for
# comparison, and one with every cuDNN path.
smoke_phase() {
    step train_gpu_smoke build-gpu/apps/effnet_train --device cuda --phantoms 512 --image-size 64 --epochs 2 --out "$OUT/train_gpu"
    step train_cpu_smoke build-gpu/apps/effnet_train --device cpu --phantoms 512 --image-size 64 --epochs 2 --out "$OUT/train_cpu"
    step train_gpu_cudnn_smoke build-gpu/apps/effnet_train --device cuda --kernels cudnn --phantoms 512 --image-size 64 \
        --epochs 2 --out "$OUT/train_gpu_cudnn"
    build-gpu/apps/effnet_phantoms --count 64 --size 64 --out "$OUT/eval_images" >/dev/null 2>&1
    step eval_gpu_smoke build-gpu/apps/effnet_eval --device cuda --weights "$OUT/train_gpu/best.safetensors" \
        --data "$OUT/eval_images" --split train --bootstrap 100
}

# Benchmarks: effnet on the GPU (training step, latency, per-layer table, the
# kernel table: effnet vs cuDNN, GB/s and GFLOP/s against the measured copy
# bandwidth and FMA rate), then PyTorch/timm on the same GPU; both tables go
# into the summary (the record for docs/gpu-runs).
bench_phase() {
    step bench_gpu build-gpu/apps/effnet_bench --device cuda --layers --steps 20 --warmup 5 --json "$OUT/bench_gpu.json"
    python3 -c "import torch, timm" 2>/dev/null &&
        step bench_pytorch python3 scripts/bench_pytorch_gpu.py --json "$OUT/bench_pytorch.json"
    if [ -f "$OUT/bench_gpu.json" ]; then
        python3 scripts/gpu_summary.py "$OUT/bench_gpu.json" "$OUT/bench_pytorch.json" >>"$summary" 2>&1
        { echo; echo '```'; sed -n '/^FP32 FMA rate/,$p' "$OUT/bench_gpu.log"; echo '```'; } >>"$summary"
    fi
}

# Parity with timm element by element (every gradient element), on the GPU build.
parity_phase() {
    python3 -c "import torch, timm" 2>/dev/null || { echo "| parity | torch/timm not importable | 0s |" >>"$summary"; return; }
    step parity_full python3 scripts/parity/make_golden.py --full "$OUT/golden_full" --out "$OUT/golden_b0.json"
    step parity_test env EFFNET_GOLDEN_FULL="$OUT/golden_full" ctest --test-dir build-gpu -R Parity --output-on-failure
}

for phase in "${phases[@]}"; do
    case "$phase" in
        build | tests | sanitize | smoke | bench | parity) "${phase}_phase" ;;
        *) echo "unknown phase '$phase' (build, tests, sanitize, smoke, bench, parity)" >&2; exit 2 ;;
    esac
done

echo
cat "$summary"
