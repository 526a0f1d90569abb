#!/usr/bin/env bash
# Lists the interpreters the tests run on, one "label path" per line: Debian's python3.11, pyenv's 3.12 and 3.13
# when present, and the free-threaded and GIL 3.13 builds of scripts/setup-pythons.sh when built.
# LOCKPROF_TEST_PYTHONS (space-separated paths) replaces the search.
set -u
if [ -n "${LOCKPROF_TEST_PYTHONS:-}" ]; then
  for p in $LOCKPROF_TEST_PYTHONS; do echo "$(basename "$p") $p"; done
  exit 0
fi
cache=${LOCKPROF_CACHE:-$HOME/.cache/lockprof}
cand=(
  "debian-3.11 /usr/bin/python3.11"
  "pyenv-3.12 $HOME/.pyenv/versions/3.12.1/bin/python3.12"
  "pyenv-3.13 $HOME/.pyenv/versions/3.13.0/bin/python3.13"
  "3.13-gil $cache/py313-gil/bin/python3.13"
  "3.13t $cache/py313-ft/bin/python3.13"
)
for c in "${cand[@]}"; do
  set -- $c
  [ -x "$2" ] && echo "$1 $2"
done
# any other pyenv 3.12/3.13 release
for p in "$HOME"/.pyenv/versions/3.1[23].*/bin/python3.1[23]; do
  [ -x "$p" ] || continue
  case "$p" in */3.12.1/*|*/3.13.0/*) continue ;; esac
  v=$(basename "$(dirname "$(dirname "$p")")")
  echo "pyenv-$v $p"
done
exit 0
