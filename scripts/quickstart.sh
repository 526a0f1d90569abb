#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and profiles two examples with real
# contention — a C program whose threads fight over one pthread mutex, and a Python program whose threads share
# a dict on a free-threaded CPython 3.13 (built from Debian's source package on first use, then cached).
#   scripts/quickstart.sh [--no-python]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
out=${TMPDIR:-/tmp}/lockprof-quickstart
mkdir -p "$out"
rm -f "$out"/*.prof

echo "== lockprof run -- build/examples/hot_mutex 4 2000"
build/lockprof run -o "$out/hot_mutex.%p.prof" -- build/examples/hot_mutex 4 2000
build/lockprof report --top 5 --depth 6 "$out"/hot_mutex.*.prof

if [ "${1:-}" != "--no-python" ]; then
  scripts/setup-pythons.sh --ft-only
  py=${LOCKPROF_CACHE:-$HOME/.cache/lockprof}/py313-ft/bin/python3.13
  echo
  echo "== lockprof run -- python3.13t examples/python/dict_cache.py"
  build/lockprof run -o "$out/dict_cache.%p.prof" -- "$py" examples/python/dict_cache.py 2 200000
  build/lockprof report --by type --top 5 --depth 8 "$out"/dict_cache.*.prof
fi
echo
echo "profiles are in $out"
