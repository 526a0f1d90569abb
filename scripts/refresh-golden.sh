#!/usr/bin/env bash
# Regenerates every golden output under tests/data/golden/ from the inputs committed next to them, with the lockprof
# of a build directory: a deliberate change of an output is one command and a reviewable diff. The list of
# (output file, command) pairs below is the only one: the tests run this script with --check instead of keeping
# their own copy.
#
#   scripts/refresh-golden.sh [--check] [--only AREA] [BUILD_DIR]
#     BUILD_DIR   where lockprof was built (default: build; $LOCKPROF, when set, names the binary instead)
#     --check     compare instead of writing: prints a diff of each stale output, exits 1 if any
#     --only A    only the entries of area A (flamegraph, ...)
#
# Commands run from the repository root with relative paths, so outputs never contain the checkout's location.
set -euo pipefail
cd "$(dirname "$0")/.."

check=0 only= build=build
while [ $# -gt 0 ]; do
  case "$1" in
    --check) check=1 ;;
    --only) only=${2:?--only needs an area}; shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "refresh-golden.sh: unknown option $1" >&2; exit 2 ;;
    *) build=$1 ;;
  esac
  shift
done
lockprof=${LOCKPROF:-$build/lockprof}
[ -x "$lockprof" ] || { echo "refresh-golden.sh: $lockprof not found (build first, or pass BUILD_DIR)" >&2; exit 2; }
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
stale=0 count=0

# golden [-s STATUS] AREA OUTPUT ARGS...
#   OUTPUT (relative to tests/data/golden) is the standard output of `lockprof ARGS...`, which must exit with
#   STATUS (default 0). Standard error is not recorded.
golden() {
  local status=0
  if [ "$1" = "-s" ]; then status=$2; shift 2; fi
  local area=$1 out=tests/data/golden/$2
  shift 2
  [ -z "$only" ] || [ "$only" = "$area" ] || return 0
  count=$((count + 1))
  local rc=0
  LC_ALL=C "$lockprof" "$@" > "$tmp" || rc=$?
  if [ "$rc" != "$status" ]; then
    echo "refresh-golden.sh: lockprof $* exited $rc, expected $status" >&2
    exit 2
  fi
  if [ "$check" = 1 ]; then
    if ! diff -u --label "$out (committed)" --label "$out (lockprof $*)" "$out" "$tmp"; then
      stale=$((stale + 1))
    fi
  else
    mkdir -p "$(dirname "$out")"
    cp "$tmp" "$out"
  fi
}

# ---- flamegraph: folded stacks of a hand-written profile (tests/integration/test_flamegraph.py) ------------
fg=tests/data/golden/flamegraph
golden flamegraph flamegraph/mixed.folded                  flamegraph $fg/mixed.profile
golden flamegraph flamegraph/mixed.count.folded            flamegraph --weight count $fg/mixed.profile
golden flamegraph flamegraph/mixed.holders.folded          flamegraph --holders $fg/mixed.profile
golden flamegraph flamegraph/mixed.all.folded              flamegraph --all $fg/mixed.profile
golden flamegraph flamegraph/mixed.frames-all.folded       flamegraph --frames all $fg/mixed.profile
golden flamegraph flamegraph/mixed.all-holders-count.folded flamegraph --all --holders --weight count $fg/mixed.profile

# ---- gate: diff, check and report (text and Markdown) of hand-made profiles (tests/integration/test_gate.py) --
# base.prof and new-1.prof + new-2.prof are one program before and after a change (free-threaded CPython: anonymous
# dict locks at other addresses, Python lines and native offsets moved, the GIL enabled after); quiet.prof has
# only waits that are not contention.
gt=tests/data/golden/gate
golden gate gate/diff.txt                diff $gt/base.prof $gt/new-1.prof $gt/new-2.prof
golden gate gate/diff.by-type.txt        diff --by type $gt/base.prof $gt/new-1.prof $gt/new-2.prof
golden gate gate/diff.by-stack.txt       diff --by stack $gt/base.prof $gt/new-1.prof $gt/new-2.prof
golden gate gate/diff.top2-reverse.txt   diff --top 2 --base $gt/new-1.prof --base $gt/new-2.prof $gt/base.prof
golden gate gate/diff.by-stack.json      diff --format json --by stack $gt/base.prof $gt/new-1.prof $gt/new-2.prof
golden gate gate/diff.folded             diff --format folded $gt/base.prof $gt/new-1.prof $gt/new-2.prof
golden -s 1 gate gate/check.txt       check --rules $gt/rules.txt --baseline $gt/base.prof $gt/new-1.prof $gt/new-2.prof
golden gate gate/report.txt              report $gt/new-1.prof $gt/new-2.prof
golden gate gate/report.md               report --format markdown $gt/new-1.prof $gt/new-2.prof
golden gate gate/report.by-type-top2.md  report --format markdown --by type --top 2 $gt/new-1.prof $gt/new-2.prof
golden gate gate/report.base.md          report --format markdown $gt/base.prof
golden gate gate/report.quiet.md         report --format markdown $gt/quiet.prof

# ---- other areas (report, diff, check, ...): add a section here, one `golden AREA OUTPUT ARGS...` per file --

if [ "$count" = 0 ]; then
  echo "refresh-golden.sh: no golden outputs${only:+ for area '$only'}" >&2
  exit 2
fi
if [ "$check" = 1 ]; then
  if [ "$stale" -gt 0 ]; then
    echo "refresh-golden.sh: $stale of $count golden outputs differ (scripts/refresh-golden.sh regenerates them)" >&2
    exit 1
  fi
  echo "refresh-golden.sh: $count golden outputs up to date"
else
  echo "refresh-golden.sh: wrote $count golden outputs"
fi
