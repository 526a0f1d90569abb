#!/usr/bin/env bash
# Runs the test suite (all but the CPython suites) where scheduling helps least, to find tests that pass by luck:
#   one-cpu   under `taskset -c 0`: threads overlap only when one is preempted
#   loaded    next to BUSY busy loops, two tests at a time
# A test that fails here depends on how threads happen to interleave: make its contention certain (a holder that
# waits until the waiters sleep in futex(), as examples/c/hot_mutex.c and tests/data/held.py do) or, where the
# contention cannot exist (free-threaded object locks on one CPU), skip with the reason. Not part of CI: a round takes
# about 5 minutes.
#   scripts/flake-hunt.sh [--build DIR] [--rounds N] [--busy N] [--only one-cpu|loaded] [TEST ...]
# Exit status: 0 when every round passed, 1 when one failed (its log is named), 2 on bad usage.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build rounds=1 busy=2 only=""
tests=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build|--rounds|--busy|--only)
      if [ $# -lt 2 ]; then echo "flake-hunt.sh: $1 needs a value" >&2; exit 2; fi ;;
  esac
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --busy) busy="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "flake-hunt.sh: unknown option $1" >&2; exit 2 ;;
    *) tests+=("$1"); shift ;;
  esac
done
case "$only" in ""|one-cpu|loaded) ;; *) echo "flake-hunt.sh: --only one-cpu or loaded, not $only" >&2; exit 2 ;; esac
case "$rounds$busy" in *[!0-9]*) echo "flake-hunt.sh: --rounds and --busy take a number" >&2; exit 2 ;; esac
if [ ! -f "$build/build.ninja" ]; then
  echo "flake-hunt.sh: no build in $build (scripts/setup.sh --test builds one)" >&2
  exit 2
fi
ninja -C "$build" >/dev/null
if [ ${#tests[@]} -eq 0 ]; then
  mapfile -t tests < <(meson test -C "$build" --list 2>/dev/null | grep -v cpython_suite | sed 's/.* \/ //')
fi

busy_pids=()
stop_busy() {
  for p in "${busy_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  busy_pids=()
}
trap stop_busy EXIT

failed=0
for r in $(seq 1 "$rounds"); do
  for mode in one-cpu loaded; do
    [ -z "$only" ] || [ "$only" = "$mode" ] || continue
    log="flake-$mode-$r"
    if [ "$mode" = one-cpu ]; then
      set +e
      taskset -c 0 meson test -C "$build" --num-processes 1 --logbase "$log" "${tests[@]}" >/dev/null 2>&1
      status=$?
      set -e
    else
      for _ in $(seq 1 "$busy"); do
        sh -c 'while :; do :; done' &
        busy_pids+=($!)
      done
      set +e
      meson test -C "$build" --num-processes 2 --logbase "$log" "${tests[@]}" >/dev/null 2>&1
      status=$?
      set -e
      stop_busy
    fi
    txt="$build/meson-logs/$log.txt"
    if [ "$status" = 0 ]; then
      echo "round $r, $mode: all passed ($txt)"
    else
      failed=1
      echo "round $r, $mode: FAILED ($txt):"
      grep -E '^(FAIL|ERROR): ' "$txt" | sed 's/^/  /' || true
    fi
    grep -h "\.\.\. skipped " "$txt" | sed 's/^ */  skipped: /' | sort | uniq -c || true
  done
done
exit "$failed"
