#!/usr/bin/env bash
# Builds and runs every test, in both flavours:
#   build/      the default build (CUDA backend when the toolkit is present;
#               GPU tests skip, with their reason, when no GPU is usable)
#   build-cpu/  EFFNET_CUDA=OFF, the CPU-only engine, which must not load any
#               CUDA library (checked by a test in that build)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="$(nproc)"
BUILD_DIR=build bash scripts/build.sh
ctest --test-dir build --output-on-failure -j "$jobs"
BUILD_DIR=build-cpu bash scripts/build.sh -DEFFNET_CUDA=OFF
ctest --test-dir build-cpu --output-on-failure -j "$jobs"
