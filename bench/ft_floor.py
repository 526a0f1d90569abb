#!/usr/bin/env python3
"""Where the free-threaded overhead comes from (README "Performance", benchmark 2): bench/ft_list.py run
alternately without lockprof and with a build carrying bench/experiments/post-acquire.patch, once per
LOCKPROF_EXPERIMENT variant; prints the median wall time of each and its ratio to the run without lockprof.

Usage: scripts/ft-floor.sh [--reps N]   (builds the patched copy; or run this with LOCKPROF_BUILD set to it)

  default        what lockprof does (the patch changes nothing unless the variable is set): nothing between
                 taking the lock and returning (src/collect/py/hooks.c)
  original-only  the patched CPython entry points only call the original: the cost of patching and of the
                 libc-level hooks
  clock-after    the end of the wait read from the clock after the lock is taken
  record-after   the event added to the tables right after the lock is taken, instead of deferred
  both-after     both: what lockprof did before (hooks.c's design note)
  no-record      LOCKPROF_SAMPLE=1000000000: every hook runs, nothing is recorded (no stack, no table update)
  no-record+600ns  the same, plus 600 ns spent doing nothing before each wait: is it the time before the wait
                 that costs, or the work done in it?
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("LOCKPROF_BUILD")
PY_FT = os.path.join(os.environ.get("LOCKPROF_CACHE", os.path.expanduser("~/.cache/lockprof")),
                     "py313-ft", "bin", "python3.13")
VARIANTS = ["default", "original-only", "clock-after", "record-after", "both-after", "no-record", "no-record+600ns"]
# variant → (LOCKPROF_EXPERIMENT, other settings)
SETTINGS = {"default": ("", {}), "no-record": ("", {"LOCKPROF_SAMPLE": "1000000000"}),
            "no-record+600ns": ("delay-before", {"LOCKPROF_SAMPLE": "1000000000"})}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=12)
    a = ap.parse_args()
    if not BUILD or not os.access(os.path.join(BUILD, "lockprof"), os.X_OK):
        sys.exit("ft_floor.py: LOCKPROF_BUILD must name a build of the patched tree (scripts/ft-floor.sh does that)")
    if not os.access(PY_FT, os.X_OK):
        sys.exit(f"ft_floor.py: no free-threaded interpreter at {PY_FT} (scripts/setup-pythons.sh builds it)")
    work = [PY_FT, os.path.join(HERE, "ft_list.py"), "2", "4000000"]
    times = {v: [] for v in ["without lockprof"] + VARIANTS}
    with tempfile.TemporaryDirectory(prefix="lockprof-floor-") as tmp:
        for _ in range(a.reps):
            for v in times:
                cmd, env = work, dict(os.environ)
                if v != "without lockprof":
                    cmd = [os.path.join(BUILD, "lockprof"), "run", "-q", "--no-summary", "-o",
                           os.path.join(tmp, "p.%p.prof"), "--"] + work
                    exp, more = SETTINGS.get(v, (v, {}))
                    env["LOCKPROF_EXPERIMENT"] = exp
                    env.update(more)
                t0 = time.monotonic()
                subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                times[v].append(time.monotonic() - t0)
    base = statistics.median(times["without lockprof"])
    print(f"{'variant':<18} {'median':>9} {'ratio':>6}  (bench/ft_list.py 2 4000000, {a.reps} alternating runs each)")
    for v, ts in times.items():
        m = statistics.median(ts)
        print(f"{v:<18} {m:>8.3f}s {m / base:>6.3f}")


if __name__ == "__main__":
    main()
