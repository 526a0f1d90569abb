#!/usr/bin/env bash
# The benchmark suite (README "Performance"): sets up (packages, the 3.13t interpreter, build), then runs
# bench/run.py, which prints a table of measured overhead and accuracy figures. Arguments go to bench/run.py.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test --pythons
exec /usr/bin/python3 bench/run.py "$@"
