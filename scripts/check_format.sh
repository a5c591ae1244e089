#!/usr/bin/env bash
# Fails when a C++ or CUDA source differs from .clang-format's layout,
# printing clang-format's complaints. The tree was formatted once as a whole,
# so every tracked source is checked (a few seconds); FORMAT_BASE=<commit>
# checks only the files changed since that commit.
#   scripts/check_format.sh            check
#   scripts/check_format.sh --fix      reformat the same files in place
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || bash scripts/setup.sh
patterns=('*.h' '*.cpp' '*.cu' '*.cuh')
if [ -n "${FORMAT_BASE:-}" ]; then
    mapfile -t files < <(git diff --name-only --diff-filter=d "$FORMAT_BASE" -- "${patterns[@]}")
else
    mapfile -t files < <(git ls-files -- "${patterns[@]}")
fi
[ ${#files[@]} -gt 0 ] || exit 0
if [ "${1:-}" = "--fix" ]; then
    clang-format -i "${files[@]}"
    exit 0
fi
if ! clang-format --dry-run -Werror "${files[@]}"; then
    echo "check_format: the files above differ from .clang-format (scripts/check_format.sh --fix rewrites them)" >&2
    exit 1
fi
echo "check_format: ${#files[@]} files match .clang-format"
