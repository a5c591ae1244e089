#!/usr/bin/env bash
# The sanitizer flavour: effnet built CPU-only with clang under
# AddressSanitizer + UndefinedBehaviorSanitizer (-fno-sanitize-recover=all:
# the first report fails), stb compiled from its header so that it is
# checked too, and coverage instrumentation so that the same build holds
# the libFuzzer targets of scripts/fuzz.sh. Then the test suite under it,
# less the slowest tests (ASan makes them 2-3x slower still; the two normal
# builds run them), listed in SLOW below.
#   build-asan/   clang, -DEFFNET_CUDA=OFF -DEFFNET_SANITIZE=ON -DEFFNET_FUZZ=ON
# --build-only: configure and build, run nothing (scripts/fuzz.sh uses it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
dir=build-asan
if [ ! -f "$dir/CMakeCache.txt" ]; then
    # -O1, assertions on: what the sanitizers recommend, and a third less
    # compile time than -O3 (the build dominates this flavour's time in CI).
    CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -DEFFNET_CUDA=OFF -DEFFNET_NATIVE=OFF -DEFFNET_SANITIZE=ON \
        -DEFFNET_FUZZ=ON >/dev/null
fi
cmake --build "$dir" -j "$(nproc)"
[ "${1:-}" = "--build-only" ] && exit 0

# Whole training runs and the B0-sized numerical checks: each takes seconds
# to tens of seconds in the normal builds, minutes under the sanitizers (the
# 16-image overfit alone 4.5 min). Their code paths (layers, kernels, the
# trainer, checkpoints) are covered here by the faster tests; the fast
# path's 224x224 comparisons with a double-precision forward by its smaller
# sizes.
SLOW='^((TrainEndToEnd|CrashSafety|Reliability|Parity)\.|EfficientNet\.(OverfitsSixteenImages|SharedGradientArenaHoldsNoState)$|Sizes/FastPathMatchesTrainingGraph\..*/s224_)'
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
ctest --test-dir "$dir" --output-on-failure -j "$(nproc)" -E "$SLOW"
