#!/usr/bin/env bash
# Compares builds of the collector on one workload (bench/ab.py): builds liblockprof.so of each git revision in a
# temporary copy (the checkout is not touched; WORKTREE names the tracked files as they are now, uncommitted
# changes included), then alternates the workload without lockprof and with each build.
#   scripts/ab.sh [--rounds N] REV... [-- COMMAND...]     e.g. scripts/ab.sh --rounds 30 52b6d33 b6e995f
# COMMAND defaults to bench's ft-dict row. Needs an idle machine, like scripts/bench.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
opts=() revs=() rest=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) [ $# -ge 2 ] || { echo "ab.sh: --rounds needs a number" >&2; exit 2; }; opts+=(--rounds "$2"); shift 2 ;;
    --) shift; rest=("$@"); break ;;
    -*) echo "ab.sh: unknown option $1" >&2; exit 2 ;;
    *) revs+=("$1"); shift ;;
  esac
done
[ ${#revs[@]} -gt 0 ] || { echo "usage: scripts/ab.sh [--rounds N] REV... [-- COMMAND...]" >&2; exit 2; }
scripts/setup.sh --pythons >/dev/null
tmp=$(mktemp -d /tmp/lockprof-ab.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
builds=()
for rev in "${revs[@]}"; do
  dir="$tmp/$(printf '%s' "$rev" | tr -c 'A-Za-z0-9._-' _)"
  mkdir -p "$dir"
  if [ "$rev" = WORKTREE ]; then
    git ls-files -z | xargs -0 tar -c | tar -x -C "$dir"
  else
    git rev-parse --verify -q "$rev^{commit}" >/dev/null || { echo "ab.sh: no such revision: $rev" >&2; exit 2; }
    git archive "$rev" | tar -x -C "$dir"
  fi
  meson setup "$dir/build" "$dir" >/dev/null
  ninja -C "$dir/build" liblockprof.so >/dev/null
  builds+=("$rev=$dir/build/liblockprof.so")
done
/usr/bin/python3 bench/ab.py "${opts[@]}" "${builds[@]}" ${rest[@]+-- "${rest[@]}"}
