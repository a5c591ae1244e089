#!/usr/bin/env bash
# ctest check of EFFNET_EXPECT_GPU on a machine without a usable GPU: the GPU
# tests of the given test binary skip without the variable and FAIL with
# EFFNET_EXPECT_GPU=1, naming the reason. On a machine with a GPU the tests
# run for real, so this check reports itself skipped (exit 77).
#   scripts/check_expect_gpu.sh TEST_BINARY GTEST_FILTER
set -uo pipefail
bin=$1 filter=$2
plain=$(env -u EFFNET_EXPECT_GPU "$bin" --gtest_filter="$filter" 2>&1)
rc=$?
grep -qE "Running [1-9][0-9]* tests?" <<<"$plain" || { echo "the filter '$filter' selects no test:"; echo "$plain"; exit 1; }
if ! grep -q "\[  SKIPPED \]" <<<"$plain"; then
    [ $rc -eq 0 ] && { echo "a usable GPU is present: the GPU tests ran, nothing to check here"; exit 77; }
    echo "the GPU tests failed without EFFNET_EXPECT_GPU:"; echo "$plain"; exit 1
fi
[ $rc -eq 0 ] || { echo "skipped GPU tests must not fail the run:"; echo "$plain"; exit 1; }
expect=$(EFFNET_EXPECT_GPU=1 "$bin" --gtest_filter="$filter" 2>&1)
rc=$?
if [ $rc -eq 0 ]; then
    echo "EFFNET_EXPECT_GPU=1 without a GPU must fail the GPU tests, but the run passed:"; echo "$expect"; exit 1
fi
grep -q "EFFNET_EXPECT_GPU=1, but this test cannot run" <<<"$expect" || {
    echo "the failure does not say why:"; echo "$expect"; exit 1
}
echo "without a GPU: skipped by default, failed under EFFNET_EXPECT_GPU=1 (exit $rc), with the reason"
