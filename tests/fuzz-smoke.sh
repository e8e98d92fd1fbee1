#!/usr/bin/env bash
# fuzz-smoke.sh - builds every libFuzzer target (fuzz/fuzz_*.c, `make fuzz`)
# and runs each for FUZZ_SECONDS seconds (default 20) starting from its seed
# corpus fuzz/corpus/<name>/ (<name> is the target without "fuzz_").  Fails
# when any target crashes, leaks (LeakSanitizer), trips UBSan or times out.
#
#   tests/fuzz-smoke.sh                 all targets
#   tests/fuzz-smoke.sh form csv        only fuzz_form and fuzz_csv
#   FUZZ_SECONDS=300 tests/fuzz-smoke.sh
#
# New inputs the fuzzer finds go to a temporary directory, so the seed
# corpora in the repository stay as committed; a crashing input is kept in
# build/fuzz/artifacts/<name>/ to reproduce with `build/fuzz/fuzz_<name> FILE`.
set -euo pipefail

cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-20}
case $secs in
'' | *[!0-9]*)
    echo "fuzz-smoke: FUZZ_SECONDS must be a number of seconds" >&2
    exit 2
    ;;
esac

targets=()
if [ $# -gt 0 ]; then
    for name in "$@"; do
        targets+=("fuzz_${name#fuzz_}")
    done
else
    for src in fuzz/fuzz_*.c; do
        t=$(basename "$src" .c)
        targets+=("$t")
    done
fi

make -s fuzz

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

failed=()
for t in "${targets[@]}"; do
    name=${t#fuzz_}
    bin=build/fuzz/$t
    if [ ! -x "$bin" ]; then
        echo "fuzz-smoke: $bin was not built" >&2
        failed+=("$t")
        continue
    fi
    art=build/fuzz/artifacts/$name
    mkdir -p "$tmp/$name" "$art"
    args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048
        -print_final_stats=1 -artifact_prefix="$art/" "$tmp/$name")
    if [ -d "fuzz/corpus/$name" ]; then
        args+=("fuzz/corpus/$name")
    else
        echo "fuzz-smoke: warning: no seed corpus fuzz/corpus/$name" >&2
    fi
    log=$tmp/$name.log
    if "$bin" "${args[@]}" >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        echo "ok   $t: ${runs:-?} runs in ${secs}s"
    else
        echo "FAIL $t (input kept in $art/):"
        tail -n 60 "$log"
        failed+=("$t")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz-smoke: failed: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz-smoke: all ${#targets[@]} targets ran clean"
