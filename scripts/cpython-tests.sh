#!/usr/bin/env bash
# Runs CPython's own thread, lock, fork, signal and exit-path test suites (python -m test) on every interpreter
# scripts/find-pythons.sh lists, once without and once with lockprof, and fails when a test that passes without
# lockprof does not pass with it (after reruns both ways, to tell flaky tests apart), or when the profiles of the
# run are missing, unreadable or carry warnings of concern. The module list and its reasons: --list.
#
#   scripts/cpython-tests.sh                  the full set (about 10 min per interpreter on 2 cores; --jobs 2 halves it)
#   scripts/cpython-tests.sh --subset         the representative subset CI runs (a few minutes)
#   scripts/cpython-tests.sh --python PATH|LABEL --module test_x --jobs 1 --reruns 3 --out DIR --markdown FILE
#
# Environment: LOCKPROF_BUILD (build directory holding lockprof and liblockprof.so, default build),
# LOCKPROF_TEST_PYTHONS (replaces the interpreter search, see find-pythons.sh). The driver is
# scripts/cpython_tests.py, run with Debian's /usr/bin/python3 (only the standard library).
# Debian's python3.11 needs its test package: libpython3.11-testsuite (scripts/setup.sh --test installs it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
[ -x "$py" ] || py=python3
exec "$py" "$here/cpython_tests.py" "$@"
