#!/usr/bin/env bash
# Reproduces README "Performance", benchmark 2's breakdown: builds a copy of the committed tree with
# bench/experiments/post-acquire.patch applied (in a temporary directory; the checkout is not touched) and runs
# bench/ft_floor.py against it. Arguments go to bench/ft_floor.py.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --pythons
tmp=$(mktemp -d /tmp/lockprof-floor.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
git archive HEAD | tar -x -C "$tmp/"
patch -s -d "$tmp" -p1 <bench/experiments/post-acquire.patch
meson setup "$tmp/build" "$tmp" >/dev/null
ninja -C "$tmp/build" lockprof liblockprof.so >/dev/null
LOCKPROF_BUILD="$tmp/build" /usr/bin/python3 bench/ft_floor.py "$@"
