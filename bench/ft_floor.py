#!/usr/bin/env python3
"""Where the free-threaded overhead comes from (README "Performance", benchmark 2): a free-threaded workload
(bench/ft_list.py; with --workload dict the ft-dict row's examples/python/dict_cache.py; with --workload
self-held bench/self_held.py, that row's dominant wait in one thread) run alternately
without lockprof and with a build carrying bench/experiments/post-acquire.patch, once per LOCKPROF_EXPERIMENT
variant, each repetition in a rotated order; prints the median wall time of each, its ratio to the run without
lockprof and a 95% interval of that ratio (bench/run.py's bootstrap).

Usage: scripts/ft-floor.sh [--reps N] [--workload list|dict|self-held] [--variants NAME,...]
       (builds the patched copy; or run this with LOCKPROF_BUILD set to it)

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
  yield-passthrough  the sched_yield hook does nothing for a wait that is not self-held (such a wait is captured
                 at its park instead of its first yield, and one that only spins is not recorded)
  yield-no-stamp     ... only does not stamp the yields' returns (a wait ends at its park, or its entry)
  yield-no-capture   ... only does not capture the wait at its first yield (the park does, or nothing)
  no-patch       LOCKPROF_PATCH=0: CPython not patched, only the libc-level hooks (what they see is recorded)
  disabled       LOCKPROF_DISABLE=1: the library loaded and every hook a pass-through (the cost of being there)
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

BUILD = os.environ.get("LOCKPROF_BUILD")
VARIANTS = ["default", "original-only", "clock-after", "record-after", "both-after", "no-record", "no-record+600ns",
            "yield-passthrough", "yield-no-stamp", "yield-no-capture", "no-patch", "disabled"]
DEFAULT_VARIANTS = VARIANTS[:7]
WORKLOADS = {"list": [os.path.join(HERE, "ft_list.py"), "2", "4000000"],
             "dict": [os.path.join(EX, "dict_cache.py"), "2", "400000"],
             "self-held": [os.path.join(HERE, "self_held.py"), "400000"]}
# variant → (LOCKPROF_EXPERIMENT, other settings)
SETTINGS = {"default": ("", {}), "no-record": ("", {"LOCKPROF_SAMPLE": "1000000000"}),
            "no-record+600ns": ("delay-before", {"LOCKPROF_SAMPLE": "1000000000"}),
            "no-patch": ("", {"LOCKPROF_PATCH": "0"}), "disabled": ("", {"LOCKPROF_DISABLE": "1"})}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=12)
    ap.add_argument("--workload", choices=sorted(WORKLOADS), default="list")
    ap.add_argument("--variants", default=",".join(DEFAULT_VARIANTS),
                    help="comma-separated, from: " + ", ".join(VARIANTS))
    a = ap.parse_args()
    chosen = [v for v in a.variants.split(",") if v]
    unknown = [v for v in chosen if v not in VARIANTS]
    if unknown or not chosen:
        ap.error(f"unknown variant {unknown[0]!r}" if unknown else "--variants is empty")
    if a.reps < 2:
        ap.error("--reps must be at least 2")
    if not BUILD or not os.access(os.path.join(BUILD, "lockprof"), os.X_OK):
        sys.exit("ft_floor.py: LOCKPROF_BUILD must name a build of the patched tree (scripts/ft-floor.sh does that)")
    if not os.access(PY_FT, os.X_OK):
        sys.exit(f"ft_floor.py: no free-threaded interpreter at {PY_FT} (scripts/setup-pythons.sh builds it)")
    work = [PY_FT] + WORKLOADS[a.workload]
    configs = ["without lockprof"] + chosen
    times = {v: [] for v in configs}
    with tempfile.TemporaryDirectory(prefix="lockprof-floor-") as tmp:
        for r in range(a.reps):
            for v in rotation(configs, r):
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
    base_runs = times["without lockprof"]
    base = statistics.median(base_runs)
    what = " ".join(os.path.basename(w) for w in work[1:])
    print(f"{'variant':<18} {'median':>9} {'ratio':>6}  {'95% CI':>13}  ({what}, {a.reps} rounds, rotated)")
    print(f"{'without lockprof':<18} {base:>8.3f}s {1:>6.3f}")
    for v in chosen:
        s = summary(base_runs, times[v])
        print(f"{v:<18} {s['prof']:>8.3f}s {s['ratio']:>6.3f}  {'%.3f..%.3f' % s['ci95']:>13}")


if __name__ == "__main__":
    main()
