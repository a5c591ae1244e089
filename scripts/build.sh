#!/usr/bin/env bash
# Installs missing packages, configures and builds effnet into ./build.
# The CUDA backend is built when nvcc and cuDNN are present (EFFNET_CUDA=AUTO);
# the binaries run with or without a GPU. Extra arguments go to cmake, e.g.
#   scripts/build.sh -DEFFNET_CUDA=OFF
# BUILD_DIR overrides the folder.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build_dir="${BUILD_DIR:-build}"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
