#!/usr/bin/env bash
# Checks the source layout (scripts/check_format.sh), then builds and runs
# every test, in both flavours:
#   build/      the default build (CUDA backend when the toolkit is present;
#               GPU tests skip, with their reason, when no GPU is usable;
#               host code for this CPU, -march=native)
#   build-cpu/  EFFNET_CUDA=OFF, the CPU-only engine, which must not load any
#               CUDA library (checked by a test in that build), built
#               portable (EFFNET_NATIVE=OFF) as for another machine, so both
#               code generations pass the same tests, and without DICOM
#               (EFFNET_DICOM=OFF), so the refusal of DICOM files where
#               DCMTK is absent is tested too (the DICOM tests run in build/)
# then the reliability checks (docs/reliability.md):
#   build-asan/ clang, CPU-only, ASan+UBSan: the test suite less its slowest
#               tests (scripts/sanitize.sh), then every fuzz target for
#               EFFNET_FUZZ_RUNS inputs (default 200000; 0 skips the
#               fuzzing) with the fixed seed 1 (scripts/fuzz.sh), so every
#               machine tries the same inputs and a red run is reproduced by
#               running it again; open-ended fuzzing is scripts/fuzz.sh
#               without a seed (docs/reliability.md). Every build also
#               replays the fuzz corpus and the saved findings as tests.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="$(nproc)"
# Every C++ and CUDA source in .clang-format's layout (a few seconds; first,
# so a layout slip fails before the builds).
bash scripts/check_format.sh
# The Python environment of the ONNX Runtime test (onnx, onnxruntime from
# PyPI; without PyPI that test skips with the reason), made during the build.
bash scripts/onnx_venv.sh &
venv_pid=$!
BUILD_DIR=build bash scripts/build.sh
wait "$venv_pid" || true
ctest --test-dir build --output-on-failure -j "$jobs"
BUILD_DIR=build-cpu bash scripts/build.sh -DEFFNET_CUDA=OFF -DEFFNET_NATIVE=OFF -DEFFNET_DICOM=OFF
ctest --test-dir build-cpu --output-on-failure -j "$jobs"
bash scripts/sanitize.sh
if [ "${EFFNET_FUZZ_RUNS:-200000}" -gt 0 ]; then
    FUZZ_SEED=1 FUZZ_RUNS="${EFFNET_FUZZ_RUNS:-200000}" bash scripts/fuzz.sh 900
fi
