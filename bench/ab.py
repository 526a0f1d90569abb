#!/usr/bin/env python3
"""A/B of collector builds: one workload run alternately without lockprof and with each given liblockprof.so in
LD_PRELOAD (profile to a temporary directory, warnings off), --rounds times, each round in a rotated order; prints,
for each build, the median wall time, its ratio to the run without lockprof, a 95% bootstrap interval of that
ratio and the spread of the per-round ratios (as bench/run.py does). `lockprof run` is left out: its fixed cost
is the same for every build.

Usage: scripts/ab.sh [--rounds N] REV... [-- COMMAND...]   (builds each git revision in a temporary copy)
       bench/ab.py [--rounds N] LABEL=LIB... [-- COMMAND...]
COMMAND defaults to bench's ft-dict row: the 3.13t interpreter on examples/python/dict_cache.py 2 400000.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from run import EX, PY_FT, rotation, summary  # noqa: E402  (one definition of the order, the interval, the path)


def main():
    argv = sys.argv[1:]
    cmd = None
    if "--" in argv:
        i = argv.index("--")
        argv, cmd = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(description="A/B of collector builds on one workload")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("builds", nargs="+", metavar="LABEL=LIB")
    a = ap.parse_args(argv)
    if a.rounds < 2:
        ap.error("--rounds must be at least 2")
    builds = []
    for b in a.builds:
        label, sep, lib = b.partition("=")
        if not sep or not label or not os.path.isfile(lib):
            ap.error(f"{b!r}: expected LABEL=PATH to an existing liblockprof.so")
        if any(label == l for l, _ in builds):
            ap.error(f"{label!r} given twice: each build needs its own label")
        builds.append((label, os.path.abspath(lib)))
    cmd = cmd or [PY_FT, os.path.join(EX, "dict_cache.py"), "2", "400000"]

    with tempfile.TemporaryDirectory(prefix="lockprof-ab-") as tmp:
        def once(lib):
            env = dict(os.environ)
            if lib:
                env.update(LD_PRELOAD=lib, LOCKPROF_OUTPUT=os.path.join(tmp, "%p.prof"), LOCKPROF_QUIET="1")
            t0 = time.monotonic()
            p = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            wall = time.monotonic() - t0
            if p.returncode != 0:
                sys.exit(f"ab.py: {' '.join(cmd)} failed ({p.returncode}): {p.stderr[-300:]}")
            for f in os.listdir(tmp):  # profiles are not kept: only the time matters here
                os.unlink(os.path.join(tmp, f))
            return wall

        once(None)  # warm the page cache
        configs = [(None, None)] + builds
        times = {label: [] for label, _ in configs}
        for r in range(a.rounds):
            for label, lib in rotation(configs, r):
                times[label].append(once(lib))
        base = times[None]

    print(f"{' '.join(os.path.basename(c) for c in cmd)}: {a.rounds} rounds")
    print(f"{'build':<16} {'median':>9} {'ratio':>7} {'95% CI':>13} {'spread':>13}")
    print(f"{'(without)':<16} {statistics.median(base):>8.3f}s")
    for label, _ in builds:
        s = summary(base, times[label])
        (lo, hi), (low, high) = s["ci95"], s["spread"]
        print(f"{label:<16} {s['prof']:>8.3f}s {s['ratio']:>7.3f} {lo:>6.3f}..{hi:<6.3f} {low:>6.3f}..{high:<6.3f}")


if __name__ == "__main__":
    main()
