#!/usr/bin/env bash
# The README's second command (and .ci/run): installs everything the tests need (Debian packages, the CPython
# 3.13 free-threaded and GIL test interpreters — built once and cached in ~/.cache/lockprof), builds, and runs the
# whole test suite with `meson test`.
#   scripts/test.sh              the suite
#   scripts/test.sh --sanitize   the suite again on an ASan+UBSan build (build-asan/); CI=true also does this
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test --pythons
scripts/setup-node.sh >/dev/null
meson test -C build --print-errorlogs --num-processes 1

if [ "${1:-}" = "--sanitize" ] || [ "${CI:-}" = "true" ]; then
  BUILD_DIR=build-asan MESON_ARGS="-Dsanitize=true" scripts/setup.sh
  meson test -C build-asan --print-errorlogs --num-processes 1
fi
