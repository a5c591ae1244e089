#!/usr/bin/env bash
# Fuzzes every parser of outside data (tests/fuzz/fuzz_<name>.cpp) with
# libFuzzer under ASan+UBSan, SECONDS (default 60) per target, FUZZ_JOBS
# targets at a time (default: the number of cores); FUZZ_RUNS=N stops a
# target after N inputs instead.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
# Builds build-asan first (scripts/sanitize.sh --build-only). Each target
# starts from the committed seeds (tests/fuzz/corpus/<name>) and what earlier
# runs on this machine found (build-asan/fuzz/corpus/<name>). An input that
# crashes, trips a sanitizer, leaks, hangs (-timeout) or allocates past the
# limits is copied to tests/fuzz/regressions/<name>/: fix the bug and commit
# the input; replay_<name> replays it as a test in every build from then on.
# Prints executions per target; exits 1 when anything was found.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
bash scripts/sanitize.sh --build-only >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for f in build-asan/tests/fuzz/fuzz_*; do targets+=("$(basename "$f" | sed 's/^fuzz_//')"); done
fi
jobs="${FUZZ_JOBS:-$(nproc)}"
work=build-asan/fuzz
mkdir -p "$work/logs"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# FUZZ_RUNS=N: stop each target after N inputs instead (SECONDS still caps it).
limit=(-max_total_time="$seconds")
[ -n "${FUZZ_RUNS:-}" ] && limit+=(-runs="$FUZZ_RUNS")

run_one() {
    local t="$1"
    mkdir -p "$work/corpus/$t" "$work/findings/$t"
    "build-asan/tests/fuzz/fuzz_$t" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
        -print_final_stats=1 -artifact_prefix="$work/findings/$t/" \
        "$work/corpus/$t" "tests/fuzz/corpus/$t" > "$work/logs/$t.log" 2>&1 || true
}

echo "fuzzing ${#targets[@]} targets for ${seconds} s each, ${jobs} at a time ($(date -u +%Y-%m-%dT%H:%MZ))"
running=0
for t in "${targets[@]}"; do
    [ -x "build-asan/tests/fuzz/fuzz_$t" ] || { echo "no fuzz target '$t'" >&2; exit 2; }
    rm -f "$work/findings/$t/"* 2>/dev/null || true
    run_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n
        running=$((running - 1))
    fi
done
wait

status=0
printf "%-16s %12s %10s %8s  %s\n" target executions "exec/s" corpus result
for t in "${targets[@]}"; do
    log="$work/logs/$t.log"
    execs=$(grep -o 'stat::number_of_executed_units:[[:space:]]*[0-9]*' "$log" | tail -1 | awk '{print $2}')
    rate=$(grep -o 'stat::average_exec_per_sec:[[:space:]]*[0-9]*' "$log" | tail -1 | awk '{print $2}')
    corpus=$(find "$work/corpus/$t" -type f | wc -l)
    found=$(find "$work/findings/$t" -type f | wc -l)
    result=ok
    if [ "$found" -gt 0 ]; then
        mkdir -p "tests/fuzz/regressions/$t"
        cp "$work/findings/$t/"* "tests/fuzz/regressions/$t/"
        result="FOUND $found (saved in tests/fuzz/regressions/$t/; log $log)"
        status=1
        # On a CI machine the files are lost with it: the log carries them.
        for f in "$work/findings/$t/"*; do
            [ "$(stat -c %s "$f")" -le 65536 ] || continue
            echo "finding $(basename "$f") of $t, to keep it:" >&2
            echo "  echo $(base64 -w0 "$f") | base64 -d > tests/fuzz/regressions/$t/$(basename "$f")" >&2
        done
        grep -m1 -A12 -E "ERROR|runtime error|Sanitizer" "$log" >&2 || true
    elif [ -z "$execs" ]; then
        result="did not finish (log $log)"
        status=1
    fi
    printf "%-16s %12s %10s %8s  %s\n" "$t" "${execs:-?}" "${rate:-?}" "$corpus" "$result"
done
exit $status
