#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan, build-fuzz/) and runs one on a copy of its seed corpus.
#   scripts/fuzz.sh [SECONDS] [TARGET]   SECONDS default 60; TARGET one of
#     reader   fuzz/fuzz_reader.c: the profile reader (src/format/reader.c); seeds fuzz/corpus/*.prof  (default)
#     rules    fuzz/fuzz_rules.c: the rules files of `lockprof check` (src/cli/rules.c); seeds fuzz/corpus-rules/
#              and the CI example's rules, examples/ci/rules.txt (the file itself, so the seed never goes stale)
# Prints the final statistics: executions, exec/s, corpus size (inputs, bytes), coverage, crashes.
# A crash, leak, timeout or out-of-memory leaves its input in build-fuzz/artifacts/ and the script exits non-zero
# (reproduce with: build-fuzz/fuzz/fuzz_TARGET FILE). FUZZ_ARGS adds libFuzzer options; FUZZ_CORPUS=DIR keeps
# the corpus in DIR (seeded, then grown across runs) instead of a temporary copy.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
target=${2:-reader}
extra=
case "$target" in
  reader) seeds=fuzz/corpus ;;
  rules) seeds=fuzz/corpus-rules extra=examples/ci/rules.txt ;;
  *) echo "fuzz.sh: unknown target '$target' (reader, rules)" >&2; exit 2 ;;
esac
if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang meson setup build-fuzz -Dfuzz=true >/dev/null
fi
if ! ninja -C build-fuzz "fuzz/fuzz_$target" > build-fuzz/ninja.log 2>&1; then
  tail -30 build-fuzz/ninja.log >&2
  echo "fuzz.sh: building fuzz_$target failed (build-fuzz/ninja.log)" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
corpus=${FUZZ_CORPUS:-$work/corpus}
mkdir -p "$corpus"
cp -n "$seeds"/* "$corpus/"
nseeds=$(ls "$seeds" | wc -l)
if [ -n "$extra" ]; then cp -n "$extra" "$corpus/seed-$(basename "$extra")"; nseeds=$((nseeds + 1)); fi
artifacts=build-fuzz/artifacts
mkdir -p "$artifacts"
before=$(find "$artifacts" -type f | wc -l)
rc=0
# -close_fd_mask=2: the code under test prints its one-line errors on stderr for every rejected input; libFuzzer
# and the sanitizers keep reporting on a duplicate of stderr.
# shellcheck disable=SC2086
"build-fuzz/fuzz/fuzz_$target" -max_total_time="$secs" -print_final_stats=1 -max_len=65536 -timeout=10 \
  -rss_limit_mb=2048 -close_fd_mask=2 -dict="fuzz/$target.dict" -artifact_prefix="$artifacts/$target-" \
  ${FUZZ_ARGS:-} "$corpus" > "$work/log" 2>&1 || rc=$?
crashes=$(( $(find "$artifacts" -type f | wc -l) - before ))
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log")
rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$work/log")
last=$(grep -E '^#[0-9]+' "$work/log" | tail -1 || true)
cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$last")
echo "fuzz_$target: ${secs} s, ${runs:-?} executions, ${eps:-?} exec/s, corpus ${corp:-?} (inputs/bytes," \
     "from $nseeds seeds), coverage ${cov:-?} edges / ${ft:-?} features, peak RSS ${rss:-?} MB," \
     "crashes $crashes"
if [ "$rc" != 0 ] || [ "$crashes" != 0 ]; then
  grep -E "==[0-9]+==ERROR|^SUMMARY|runtime error|Test unit written" "$work/log" >&2 || true
  tail -40 "$work/log" >&2
  echo "fuzz.sh: fuzz_$target found a problem (exit $rc); inputs in $artifacts/" >&2
  [ "$rc" != 0 ] || rc=1
fi
exit "$rc"
