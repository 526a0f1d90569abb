#!/usr/bin/env bash
# Lists the interpreters the tests run on, one "label path" per line:
#   debian-3.11   /usr/bin/python3.11 (Debian)
#   pyenv-3.12, pyenv-3.13, pyenv-<version>   pyenv's releases, when present
#   3.13-gil, 3.13t   the GIL and free-threaded 3.13 builds of scripts/setup-pythons.sh ($LOCKPROF_CACHE)
#   3.14-gil, 3.14t   CPython 3.14 (GIL, free-threaded), when one is already on the machine. lockprof does not
#                     build 3.14; the first of these that runs and is the right build is used:
#                       $LOCKPROF_PY314 / $LOCKPROF_PY314T (a path),
#                       python3.14 / python3.14t on PATH,
#                       $LOCKPROF_CACHE/py314-gil/bin/python3.14, $LOCKPROF_CACHE/py314-ft/bin/python3.14t,
#                       pyenv's 3.14.* / 3.14t-* versions.
# With --missing, also prints "missing <label> <what was looked for>" for each of debian-3.11, 3.13-gil, 3.13t,
# 3.14-gil and 3.14t not found, so that the tests can report them as skipped with the reason.
# LOCKPROF_TEST_PYTHONS (space-separated paths) replaces the search (and nothing is reported missing).
set -u
want_missing=0
[ "${1:-}" = "--missing" ] && want_missing=1
if [ -n "${LOCKPROF_TEST_PYTHONS:-}" ]; then
  for p in $LOCKPROF_TEST_PYTHONS; do echo "$(basename "$p") $p"; done
  exit 0
fi
cache=${LOCKPROF_CACHE:-$HOME/.cache/lockprof}

missing() { [ "$want_missing" = 1 ] && echo "missing $1 $2"; return 0; }

# "<minor> <ft>" of an interpreter, or nothing when it does not run
flavour() {
  "$1" -c 'import sys, sysconfig; print(sys.version_info[1], int(bool(sysconfig.get_config_var("Py_GIL_DISABLED"))))' \
    2>/dev/null
}

# first candidate that is CPython 3.<minor> with free-threading <ft>
pick() {
  local minor=$1 ft=$2 c
  shift 2
  for c in "$@"; do
    [ -n "$c" ] || continue
    case "$c" in */*) ;; *) c=$(command -v "$c" 2>/dev/null) || continue ;; esac
    [ -x "$c" ] || continue
    [ "$(flavour "$c")" = "$minor $ft" ] && { echo "$c"; return 0; }
  done
  return 1
}

if [ -x /usr/bin/python3.11 ]; then echo "debian-3.11 /usr/bin/python3.11"; else missing debian-3.11 "/usr/bin/python3.11 (Debian's python3.11)"; fi
[ -x "$HOME/.pyenv/versions/3.12.1/bin/python3.12" ] && echo "pyenv-3.12 $HOME/.pyenv/versions/3.12.1/bin/python3.12"
[ -x "$HOME/.pyenv/versions/3.13.0/bin/python3.13" ] && echo "pyenv-3.13 $HOME/.pyenv/versions/3.13.0/bin/python3.13"
if [ -x "$cache/py313-gil/bin/python3.13" ]; then echo "3.13-gil $cache/py313-gil/bin/python3.13"
else missing 3.13-gil "$cache/py313-gil/bin/python3.13 (scripts/setup-pythons.sh builds it)"; fi
if [ -x "$cache/py313-ft/bin/python3.13" ]; then echo "3.13t $cache/py313-ft/bin/python3.13"
else missing 3.13t "$cache/py313-ft/bin/python3.13 (scripts/setup-pythons.sh builds it)"; fi

shopt -s nullglob
if p=$(pick 14 0 "${LOCKPROF_PY314:-}" python3.14 "$cache/py314-gil/bin/python3.14" \
         "$HOME"/.pyenv/versions/3.14.*/bin/python3.14); then
  echo "3.14-gil $p"
else
  missing 3.14-gil "a CPython 3.14 GIL build (\$LOCKPROF_PY314, python3.14 on PATH, $cache/py314-gil/bin/python3.14, pyenv 3.14.*)"
fi
if p=$(pick 14 1 "${LOCKPROF_PY314T:-}" python3.14t "$cache/py314-ft/bin/python3.14t" \
         "$HOME"/.pyenv/versions/3.14t*/bin/python3.14t "$HOME"/.pyenv/versions/3.14.*t/bin/python3.14t); then
  echo "3.14t $p"
else
  missing 3.14t "a free-threaded CPython 3.14 (\$LOCKPROF_PY314T, python3.14t on PATH, $cache/py314-ft/bin/python3.14t, pyenv 3.14t)"
fi

# any other pyenv 3.12/3.13 release
for p in "$HOME"/.pyenv/versions/3.1[23].*/bin/python3.1[23]; do
  [ -x "$p" ] || continue
  case "$p" in */3.12.1/*|*/3.13.0/*) continue ;; esac
  v=$(basename "$(dirname "$(dirname "$p")")")
  echo "pyenv-$v $p"
done
exit 0
