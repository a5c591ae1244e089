#!/usr/bin/env bash
# The one command for a lent GPU machine, in one call of at most ~9 minutes:
# build for the local GPU only, then, most important first,
#   tests     every GPU test (ctest -R Gpu)
#   sanitize  compute-sanitizer memcheck, racecheck and synccheck on the GPU
#             kernel tests (the fast cases; the B0Batch32 ones are left out)
#   smoke     phantom training on the GPU and on the CPU (same seed, data and
#             order): per-epoch losses must agree (scripts/compare_histories.py);
#             the same with every cuDNN path; evaluation on the GPU
#   bench     effnet_bench --device cuda, PyTorch/timm on the same GPU
#   parity    element-wise parity with timm on the GPU build
# and print a one-screen summary. Logs and run folders go to ./gpu-results
# (git-ignored); at the end summary.md and gpu-logs.tar.gz (every log, history
# and JSON, no weights) are copied to $OUT when it is set (the device tool
# returns at most 8 files). EFFNET_EXPECT_GPU=1 is set: a GPU test that cannot
# run fails, so a broken driver cannot pass as "skipped".
#
#   scripts/gpu_check.sh              every phase (the budget call)
#   scripts/gpu_check.sh tests smoke  only these phases (they build first when needed)
#
# Time: the whole run is held to $BUDGET seconds (default 540); each step runs
# under the time left, and a step that would start with less than 20 s left is
# reported "not run (budget)". No internet is assumed: carry ./deps (Eigen, stb
# and GoogleTest headers from scripts/gather_deps.sh); cuDNN and NCCL are also
# found inside their Python wheels. docs/status.md says how to run it.
set -uo pipefail
cd "$(dirname "$0")/.."
RETURN_DIR="${OUT:-}"
[ -n "$RETURN_DIR" ] && RETURN_DIR=$(cd "$RETURN_DIR" && pwd)
LOGS="$PWD/gpu-results"
rm -rf "$LOGS" && mkdir -p "$LOGS"
summary="$LOGS/summary.md"
start=$(date +%s)
budget="${BUDGET:-540}"
export EFFNET_EXPECT_GPU=1
[ -z "${EFFNET_DEPS_DIR:-}" ] && [ -d deps ] && export EFFNET_DEPS_DIR="$PWD/deps"
phases=("$@")
[ ${#phases[@]} -eq 0 ] && phases=(tests sanitize smoke bench parity)
jobs=$(nproc)
failures=0 cut=0

row() { printf '| %s | %s | %s |\n' "$1" "$2" "$3" >>"$summary"; }

# step NAME CAP COMMAND...: runs under min(CAP, time left), logs to $LOGS/NAME.log.
step() {
    local name=$1 cap=$2
    shift 2
    local left=$((budget - ($(date +%s) - start)))
    if [ "$left" -lt 20 ]; then
        row "$name" "not run (budget)" "-"
        cut=$((cut + 1))
        return 1
    fi
    [ "$cap" -gt "$left" ] && cap=$left
    local t0=$(date +%s)
    timeout "$cap" "$@" >"$LOGS/$name.log" 2>&1
    local rc=$?
    local result="pass"
    if [ $rc -eq 124 ]; then result="TIMEOUT (${cap}s)"; elif [ $rc -ne 0 ]; then result="FAIL ($rc)"; fi
    [ $rc -ne 0 ] && failures=$((failures + 1))
    row "$name" "$result" "$(($(date +%s) - t0))s"
    return $rc
}

# note TEXT: a line under the table (key numbers of a step).
notes=()
note() { notes+=("$1"); }

{
    echo "# effnet GPU check: build ${phases[*]}"
    echo
    echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "- GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo 'nvidia-smi not found')"
    echo "- nvcc: $(nvcc --version 2>/dev/null | tail -n 2 | head -n 1)"
    echo "- host: $(nproc) cores; budget ${budget}s"
    echo
    echo "| step | result | time |"
    echo "|---|---|---|"
} >"$summary"
nvidia-smi >"$LOGS/nvidia-smi.txt" 2>&1 || true

build() {
    [ -f build-gpu/CMakeCache.txt ] && [ -x build-gpu/tests/kernels/test_kernels ] && [ "${REBUILD:-0}" != 1 ] &&
        { step build 300 cmake --build build-gpu -j "$jobs"; return; }
    local arch gen
    arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | tr -d '.')
    arch=${arch:-90}
    gen=$(command -v ninja >/dev/null && echo "-G Ninja" || echo "")
    step configure 60 cmake -S . -B build-gpu $gen -DCMAKE_BUILD_TYPE=Release -DEFFNET_CUDA=ON \
        -DCMAKE_CUDA_ARCHITECTURES="$arch" || return 1
    step build 300 cmake --build build-gpu -j "$jobs"
}

tests_phase() {
    step gpu_tests 150 ctest --test-dir build-gpu -R Gpu --output-on-failure --timeout 60 -j 2
    [ -f "$LOGS/gpu_tests.log" ] || return
    local counts
    counts=$(grep -E "tests passed|tests failed" "$LOGS/gpu_tests.log" | tail -n 1)
    note "GPU tests: ${counts:-no ctest summary (see gpu_tests.log)}"
    while read -r l; do note "  $l"; done < <(grep -E "^\s+[0-9]+ - .*\((Failed|Timeout|Not Run|Skipped)\)" \
        "$LOGS/gpu_tests.log" | head -n 12)
}

sanitize_phase() {
    command -v compute-sanitizer >/dev/null || { row sanitize "compute-sanitizer not found" "-"; failures=$((failures + 1)); return; }
    local filter='*Gpu*:-*B0Batch32*:EfficientNetGpu.*:ParityGpu.*:CudaGraphGpu.*'
    for tool in memcheck racecheck synccheck; do
        step "$tool" 60 compute-sanitizer --tool "$tool" --error-exitcode 1 \
            build-gpu/tests/kernels/test_kernels --gtest_filter="$filter"
        [ -f "$LOGS/$tool.log" ] && note "$tool: $(grep -E "ERROR SUMMARY|RACECHECK SUMMARY|hazard" "$LOGS/$tool.log" | tail -n 1)"
    done
}

# Training smoke runs: the GPU run must reproduce the CPU run's per-epoch
# losses (same seed, data, order, dropout masks) within the tolerances of
# scripts/compare_histories.py.
smoke_phase() {
    local args=(--phantoms 512 --image-size 64 --epochs 2 --seed 5 --workers 4)
    step train_gpu 60 build-gpu/apps/effnet_train --device cuda "${args[@]}" --out "$LOGS/train_gpu"
    step train_cpu 90 build-gpu/apps/effnet_train --device cpu "${args[@]}" --out "$LOGS/train_cpu"
    step losses_gpu_vs_cpu 10 python3 scripts/compare_histories.py "$LOGS/train_cpu/history.csv" "$LOGS/train_gpu/history.csv"
    [ -f "$LOGS/losses_gpu_vs_cpu.log" ] && note "GPU vs CPU losses: $(tail -n 1 "$LOGS/losses_gpu_vs_cpu.log")"
    step train_gpu_cudnn 60 build-gpu/apps/effnet_train --device cuda --kernels cudnn "${args[@]}" --out "$LOGS/train_gpu_cudnn"
    step losses_cudnn_vs_cpu 10 python3 scripts/compare_histories.py "$LOGS/train_cpu/history.csv" \
        "$LOGS/train_gpu_cudnn/history.csv"
    [ -f "$LOGS/losses_cudnn_vs_cpu.log" ] && note "cuDNN vs CPU losses: $(tail -n 1 "$LOGS/losses_cudnn_vs_cpu.log")"
    build-gpu/apps/effnet_phantoms --count 64 --size 64 --out "$LOGS/eval_images" >/dev/null 2>&1
    step eval_gpu 30 build-gpu/apps/effnet_eval --device cuda --weights "$LOGS/train_gpu/best.safetensors" \
        --data "$LOGS/eval_images" --split train --bootstrap 100
}

bench_phase() {
    step bench_gpu 90 build-gpu/apps/effnet_bench --device cuda --layers --steps 20 --warmup 5 --json "$LOGS/bench_gpu.json"
    python3 -c "import torch, timm" 2>/dev/null &&
        step bench_pytorch 90 python3 scripts/bench_pytorch_gpu.py --json "$LOGS/bench_pytorch.json"
    if [ -f "$LOGS/bench_gpu.json" ]; then
        python3 scripts/gpu_summary.py "$LOGS/bench_gpu.json" "$LOGS/bench_pytorch.json" >"$LOGS/bench_table.md" 2>&1
        sed -n '/^FP32 FMA rate/,$p' "$LOGS/bench_gpu.log" >"$LOGS/kernel_table.txt"
    fi
}

parity_phase() {
    python3 -c "import torch, timm" 2>/dev/null || { row parity "torch/timm not importable" "-"; failures=$((failures + 1)); return; }
    step parity_golden 90 python3 scripts/parity/make_golden.py --full "$LOGS/golden_full" --out "$LOGS/golden_b0.json"
    step parity_test 90 env EFFNET_GOLDEN_FULL="$LOGS/golden_full" ctest --test-dir build-gpu -R Parity --output-on-failure
}

if build; then
    for phase in "${phases[@]}"; do
        case "$phase" in
            tests | sanitize | smoke | bench | parity) "${phase}_phase" ;;
            build) ;;
            *) echo "unknown phase '$phase' (tests, sanitize, smoke, bench, parity)" >&2; exit 2 ;;
        esac
    done
fi

{
    echo
    for n in "${notes[@]}"; do echo "- $n"; done
    echo
    echo "Total: $(($(date +%s) - start))s; $failures step(s) failed; $cut step(s) not run for lack of time."
    [ -f "$LOGS/bench_table.md" ] && cat "$LOGS/bench_table.md"
    [ -f "$LOGS/kernel_table.txt" ] && { echo; echo '```'; cat "$LOGS/kernel_table.txt"; echo '```'; }
} >>"$summary"
if [ -n "$RETURN_DIR" ]; then
    cp "$summary" "$RETURN_DIR/summary.md"
    (cd "$LOGS" && find . -type f \( -name '*.log' -o -name '*.csv' -o -name '*.json' -o -name '*.md' -o -name '*.txt' \) \
        -size -16M -print0 | tar czf "$RETURN_DIR/gpu-logs.tar.gz" --null -T -)
fi
echo
sed -n '1,/^Total:/p' "$summary"
[ $failures -eq 0 ] && [ $cut -eq 0 ]
