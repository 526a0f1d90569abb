#!/usr/bin/env bash
# Builds the libFuzzer target of the profile reader (clang, ASan+UBSan) and runs it on a copy of the seed corpus.
#   scripts/fuzz.sh [SECONDS]        default 60; prints libFuzzer's final statistics
# Any crash leaves a crash-* file in the working directory and exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang meson setup build-fuzz -Dfuzz=true >/dev/null
fi
ninja -C build-fuzz fuzz/fuzz_reader >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp fuzz/corpus/* "$work/"
rc=0
build-fuzz/fuzz/fuzz_reader -max_total_time="$secs" -print_final_stats=1 -max_len=65536 -timeout=10 \
  -rss_limit_mb=2048 "$work" > "$work/log" 2>&1 || rc=$?
grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|Done|==[0-9]+==ERROR|SUMMARY)" "$work/log" || true
if [ "$rc" != 0 ]; then
  tail -30 "$work/log" >&2
  echo "fuzz.sh: the fuzzer found a problem (exit $rc)" >&2
fi
exit "$rc"
