#!/usr/bin/env bash
# Installs what lockprof needs from Debian's archive, idempotently (nothing is installed twice; `apt-get update`
# runs only when a package is missing), and builds it.
#
#   scripts/setup.sh            build dependencies + build (build/)
#   scripts/setup.sh --test     also what the test suite uses (jsonschema, Go for pprof, Chromium, clang, perf,
#                               and for the Python package: meson-python, pytest, pytest-xdist, venv), and what the
#                               benchmarks' real-program rows run (bpftrace, pigz, zstd, libsqlite3-dev)
#   scripts/setup.sh --pythons  also builds the free-threaded and GIL CPython 3.13 test interpreters (cached)
# Options combine. Environment: BUILD_DIR (default build), MESON_ARGS (extra `meson setup` arguments).
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0 want_pythons=0
for a in "$@"; do
  case "$a" in
    --test) want_test=1 ;;
    --pythons) want_pythons=1 ;;
    *) echo "setup.sh: unknown option $a" >&2; exit 2 ;;
  esac
done

pkgs=(build-essential meson ninja-build pkg-config libunwind-dev uthash-dev libzydis-dev zlib1g-dev libdw-dev libelf-dev libdebuginfod-dev libiberty-dev python3 patch)
if [ "$want_test" = 1 ]; then
  pkgs+=(python3-jsonschema golang-go chromium clang libclang-rt-14-dev linux-perf valgrind cmark-gfm libpython3.11-testsuite)
  # tests/integration/test_pypkg.py, scripts/make-venv.sh (pure-Python packages, also used by the other interpreters)
  pkgs+=(python3-mesonpy python3-pytest python3-pytest-xdist python3-venv)
  # bench/real.py: the kernel's futex accounting (bpftrace) next to lockprof's, on programs nobody here wrote
  pkgs+=(bpftrace pigz zstd libsqlite3-dev)
  # Node.js runs the browser test driver; machines that already have node and npm (e.g. from NodeSource, whose
  # nodejs conflicts with Debian's npm package) keep theirs
  command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
  command -v npm >/dev/null 2>&1 || pkgs+=(npm)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo_cmd=()
  [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
    "${sudo_cmd[@]}" apt-get update -q >/dev/null
    "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

if [ "$want_pythons" = 1 ]; then
  scripts/setup-pythons.sh
fi

build=${BUILD_DIR:-build}
if [ ! -f "$build/build.ninja" ]; then
  # shellcheck disable=SC2086
  meson setup "$build" ${MESON_ARGS:-} >/dev/null
fi
ninja -C "$build" >/dev/null
