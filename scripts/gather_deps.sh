#!/usr/bin/env bash
# Copies the header/source folders of the Debian packages effnet builds with
# (Eigen, stb, GoogleTest) into ./deps, so a machine without those packages
# and without internet (a lent GPU box) can build with EFFNET_DEPS_DIR=deps.
# deps/ is git-ignored: pass it along (e.g. the device tool's `carry`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
rm -rf deps && mkdir -p deps
cp -r /usr/include/eigen3 deps/eigen3
cp -r /usr/include/stb deps/stb
cp -r /usr/src/googletest deps/googletest
du -sh deps
