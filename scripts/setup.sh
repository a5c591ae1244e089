#!/usr/bin/env bash
# Installs the Debian packages effnet builds with, when any is missing.
# Idempotent and silent when everything is present. Needs root (or sudo).
set -euo pipefail

packages=(cmake ninja-build g++ libeigen3-dev libstb-dev libgtest-dev libpng-dev libjpeg-dev libdcmtk-dev
          openmpi-bin libopenmpi-dev  # multi-process training (dist/, docs/distributed.md)
          pkg-config                   # the install test also builds examples/classify with effnet.pc
          clang libclang-rt-dev libomp-dev  # the sanitizer and fuzz flavour (scripts/sanitize.sh)
          clang-format)                     # scripts/check_format.sh
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "effnet setup: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
