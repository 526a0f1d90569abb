#!/usr/bin/env bash
# The README's second command (and .ci/run): installs everything the tests need (Debian packages, the CPython
# 3.13 free-threaded and GIL test interpreters — built once and cached in ~/.cache/lockprof), builds, and runs the
# whole test suite with `meson test`.
#   scripts/test.sh              the suite
#   scripts/test.sh --sanitize   the suite again on a sanitizer build (build-asan/, meson -Dsanitize=true)
#   scripts/test.sh --fuzz       a short run (about 60 s) of the fuzz targets (scripts/fuzz.sh, build-fuzz/)
# CI=true does both.
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=0 fuzz=0
for a in "$@"; do
  case "$a" in
    --sanitize) sanitize=1 ;;
    --fuzz) fuzz=1 ;;
    *) echo "test.sh: unknown option $a" >&2; exit 2 ;;
  esac
done
if [ "${CI:-}" = "true" ]; then
  sanitize=1 fuzz=1
fi
scripts/setup.sh --test --pythons
scripts/setup-node.sh >/dev/null
meson test -C build --print-errorlogs --num-processes 1 || status=$?
# no silent skips: every test (or interpreter subtest) the run skipped, with its reason
grep -h "\.\.\. skipped " build/meson-logs/testlog.txt | sed 's/^ */skipped: /' >&2 || true
[ "${status:-0}" = 0 ] || exit "$status"

if [ "$sanitize" = 1 ]; then
  # lockprof (CLI, reader, renderers) and the unit tests with ASan+UBSan+LSan, liblockprof.so with UBSan in trap
  # mode, plus liblockprof-asan.so under `lockprof run` with the ASan runtime preloaded (test `sanitizers`); the
  # examples and test helpers stay uninstrumented hosts. Why: the sanitizers section of meson.build.
  if [ -f build-asan/build.ninja ]; then
    meson configure build-asan -Dsanitize=true >/dev/null # never test a build-asan/ configured without it
  fi
  BUILD_DIR=build-asan MESON_ARGS="-Dsanitize=true" scripts/setup.sh
  meson test -C build-asan --print-errorlogs --num-processes 1
  # no silent skips: every test the sanitizer run skipped, with its reason
  grep -h "\.\.\. skipped " build-asan/meson-logs/testlog.txt | sed 's/^ */sanitize: skipped: /' >&2 || true
fi

if [ "$fuzz" = 1 ]; then
  # about a minute: the profile reader, then the rules parser of `lockprof check` (scripts/fuzz.sh 600 for more)
  scripts/fuzz.sh 50 reader
  scripts/fuzz.sh 10 rules
fi
