#!/usr/bin/env bash
# Shows that binaries of the CPU-only build (EFFNET_CUDA=OFF) load no CUDA
# library: prints each binary's CUDA dependencies and fails if there are any.
set -u
status=0
for bin in "$@"; do
    deps=$(ldd "$bin" | grep -E 'libcudart|libcublas|libcudnn|libcuda\.so|libnvToolsExt' || true)
    if [ -n "$deps" ]; then
        echo "FAIL: $bin loads CUDA libraries:"
        echo "$deps"
        status=1
    else
        echo "ok: $(basename "$bin") loads no CUDA library"
    fi
done
exit $status
