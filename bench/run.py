#!/usr/bin/env python3
"""lockprof's benchmark suite: overhead and accuracy, measured, printed as a table (README "Performance").

Usage: scripts/bench.sh [--reps N] [--only NAME,...]   (builds first; or run this file directly with LOCKPROF_BUILD)
(--only takes row names, or their first word: "start-up" selects the start-up rows, "accuracy" both
accuracy rows, "big" the 100k-stack rows, "label" the rows of lockprof.label's cost, "real" the real programs:
pigz, zstd, sqlite, python-logq; those need root and bpftrace, see bench/real.py.)

Each overhead figure is a ratio measured in one run of this script: the workload is run alternately without and
with the profiler (`lockprof run` with default settings: full Python and native stacks on every event), --reps
times each, each repetition in a rotated order; the table shows the medians, the ratio of medians, a 95%
confidence interval of that ratio (bootstrap over the pairs) and the spread (min..max of the per-pair ratios).
Against a target, a row is "met" when the whole interval is at or under it, "missed" when the whole interval is
above it, and "undecided" otherwise.
Nothing here asserts anything: targets are shown next to what was measured.
"""
import argparse
import atexit
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import real

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
BUILD = os.environ.get("LOCKPROF_BUILD", os.path.join(SRC, "build"))
LOCKPROF = os.path.join(BUILD, "lockprof")
LIB = os.path.join(BUILD, "liblockprof.so")
CACHE = os.environ.get("LOCKPROF_CACHE", os.path.expanduser("~/.cache/lockprof"))
PY_FT = os.path.join(CACHE, "py313-ft", "bin", "python3.13")
PY_311 = "/usr/bin/python3.11"


def found_python(label):
    """The interpreter scripts/find-pythons.sh lists under `label` (e.g. 3.14t), or None."""
    out = subprocess.run([os.path.join(SRC, "scripts", "find-pythons.sh")], stdout=subprocess.PIPE, text=True).stdout
    return next((line.split(" ", 1)[1] for line in out.splitlines() if line.split(" ", 1)[0] == label), None)


PY_314T = found_python("3.14t")  # not built by lockprof: used when the machine has one
EX = os.path.join(SRC, "examples", "python")


def sh(cmd, env=None, **kw):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(cmd, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


_tmpfs = {}


def tmpfs_dir(fallback):
    """A directory on /dev/shm (tmpfs) for the ", profile on tmpfs" rows, removed at exit; `fallback` without one."""
    if "dir" not in _tmpfs:
        _tmpfs["dir"] = None
        if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
            _tmpfs["dir"] = tempfile.mkdtemp(prefix="lockprof-bench-", dir="/dev/shm")
            atexit.register(shutil.rmtree, _tmpfs["dir"], True)
    return _tmpfs["dir"] or fallback


class Bench:
    """Alternates `cmd` without and with `lockprof run`; metric() extracts the figure from a run."""

    def __init__(self, name, cmd, unit, target, metric="wall", note="", preload=None, reps_factor=1,
                 preload_output=False):
        self.name, self.cmd, self.unit, self.target, self.metric, self.note = name, cmd, unit, target, metric, note
        self.preload = preload  # instead of lockprof run: this library in LD_PRELOAD (the pass-through floor)
        self.preload_output = preload_output  # the preloaded library is the collector: its profiles go to tmp
        self.reps_factor = reps_factor  # short commands: more pairs for the same --reps
        self.variants = []  # (label, environment): more profiled runs in the same alternation (--variant)
        self.profiles = []
        self.tag = re.sub(r"[^A-Za-z0-9_.+-]", "_", name.strip())

    def once(self, profiled, tmp, extra_env=None):
        cmd, env = self.cmd, None
        if self.preload_output == "tmpfs":
            tmp = tmpfs_dir(tmp)
        if profiled and self.preload:
            env = {"LD_PRELOAD": self.preload}
            if self.preload_output:
                env["LOCKPROF_OUTPUT"] = os.path.join(tmp, f"{self.tag}.{len(self.profiles)}.%p.prof")
        elif profiled:
            out = os.path.join(tmp, f"{self.tag}.{len(self.profiles)}.%p.prof")
            cmd = [LOCKPROF, "run", "-q", "--no-summary", "-o", out, "--"] + cmd
            env = extra_env
        t0 = time.monotonic()
        p = sh(cmd, env=env)
        wall = time.monotonic() - t0
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {p.stderr[-500:]}")
        if profiled:
            self.profiles += [os.path.join(tmp, f) for f in os.listdir(tmp)
                              if f.startswith(f"{self.tag}.{len(self.profiles)}.")]
        if self.metric == "wall":
            return wall
        if self.metric == "wall_ms":
            return wall * 1e3
        return float(p.stdout.strip().splitlines()[-1])  # the program prints its own figure

    def run(self, reps, tmp):
        base, prof = [], []
        self.once(False, tmp)  # warm the page cache
        reps *= self.reps_factor
        var = {label: [] for label, _ in self.variants}
        configs = [(base, False, None), (prof, True, None)] + [(var[l], True, env) for l, env in self.variants]
        for r in range(reps):
            for out, profiled, env in rotation(configs, r):
                out.append(self.once(profiled, tmp, env))
        return {
            "name": self.name, "unit": self.unit, "target": self.target, "note": self.note,
            "base": statistics.median(base), **summary(base, prof), "reps": reps,
            "self_contentions": self_contentions(self.profiles),
            "variants": [{"name": label, "env": env, **summary(base, var[label])} for label, env in self.variants],
        }


def rotation(configs, r):
    """The order in which repetition r runs its configurations: rotated by r, so that none always runs first, or
    right after the run without lockprof (the same library twice in a fixed order read 1.033x and 1.024x)."""
    k = r % len(configs)
    return configs[k:] + configs[:k]


def summary(base, xs):
    """Runs xs against the runs without lockprof paired with them: median, ratio of medians, 95% interval of
    that ratio, spread (lowest and highest ratio of one pair)."""
    ratios = [x / b for x, b in zip(xs, base)]
    return {"prof": statistics.median(xs), "ratio": statistics.median(xs) / statistics.median(base),
            "ci95": ci95(base, xs), "spread": (min(ratios), max(ratios))}


def ci95(base, prof, resamples=2000):
    """95% bootstrap interval of median(prof) / median(base), resampling the (base, prof) pairs together (a pair
    ran back to back, under the same machine conditions). Seeded: the same runs give the same interval."""
    rng = random.Random(20261126)
    n = len(base)
    stats = []
    for _ in range(resamples):
        idx = [rng.randrange(n) for _ in range(n)]
        stats.append(statistics.median(prof[i] for i in idx) / statistics.median(base[i] for i in idx))
    stats.sort()
    return stats[int(0.025 * resamples)], stats[int(0.975 * resamples) - 1]


def verdict(r):
    lo, hi = r["ci95"]
    return "met" if hi <= r["target"] else "missed" if lo > r["target"] else "undecided"


def self_contentions(files):
    total = 0
    for f in files:
        with open(f) as fh:
            for line in fh:
                if line.startswith("m self_contentions "):
                    total += int(line.split()[2])
    return total


# bench/blocked_mutex arguments (threads, iterations, hold in µs) of the two accuracy rows: holds of 2 ms,
# where the threads' wait is time asleep in the kernel, and holds of 50 µs, where a woken waiter often finds
# the lock taken again, and the user-space stretches between its futex calls (each made ~20 µs longer by
# perf trace itself) are part of the wait but of no futex call.
ACCURACY = {"accuracy": ("4", "30", "2000"), "accuracy, short holds": ("4", "1500", "50")}


def accuracy(tmp, reps, name):
    """Benchmark 4: lockprof's total wait on a mutex against measures of the same run that are not lockprof's: the
    kernel's time in FUTEX_WAIT (`perf trace -e futex`, the issue's reference) and the program's own clock around
    its blocking calls (bench/blocked_mutex.c); the threads' off-CPU time (/proc/thread-self/schedstat) goes to
    the --json output only (with short holds, under perf trace it mostly measures perf trace)."""
    perf = shutil.which("perf")
    if not perf:
        return {"name": name, "skipped": "perf not installed (linux-perf)"}
    args = ACCURACY[name]
    prog = os.path.join(BUILD, "bench", "blocked_mutex")
    rows, discarded = [], 0
    for i in range(reps):
        tag = f"acc{len(args[2])}-{i}"
        out = os.path.join(tmp, f"{tag}.%p.prof")
        trace = os.path.join(tmp, f"{tag}.trace")
        cmd = [perf, "trace", "-e", "futex", "-o", trace, "--", LOCKPROF, "run", "-q", "--no-summary", "-o", out,
               "--", prog, *args]
        p = sh(cmd)
        if p.returncode != 0:
            return {"name": name, "skipped": f"perf trace failed: {p.stderr.strip()[-300:]}"}
        own = dict(kv.split("=") for kv in p.stdout.split())
        prof = [os.path.join(tmp, f) for f in os.listdir(tmp) if f.startswith(f"{tag}.") and f.endswith(".prof")]
        rep = json.loads(sh([LOCKPROF, "report", "--format", "json", *prof]).stdout)
        pid = rep["processes"][0]["pid"]
        ours = sum(l["wait_ns"] for l in rep["locks"] if l["name"] == "bench_lock")
        kernel, bogus = futex_wait_ns(trace, exclude_tid=pid)
        if os.environ.get("LOCKPROF_BENCH_DEBUG"):
            print(f"  {name} run {i}: lockprof {ours / 1e6:.1f} ms, program {int(own['waited_ns']) / 1e6:.1f} ms,"
                  f" off-CPU {int(own['blocked_ns']) / 1e6:.1f} ms, FUTEX_WAIT {kernel / 1e6:.1f} ms"
                  f"{' (discarded: perf printed a negative duration)' if bogus else ''}", file=sys.stderr)
        if bogus or not kernel:
            discarded += 1
            continue
        rows.append((ours, kernel, int(own["waited_ns"]), int(own["blocked_ns"])))
    if not rows:
        return {"name": name, "skipped": "no usable perf trace run"}
    med = lambda k: statistics.median(r[k] for r in rows)
    ratios = [r[0] / r[1] for r in rows]
    return {"name": name, "args": args, "ours_ms": med(0) / 1e6, "kernel_ms": med(1) / 1e6,
            "ratio": statistics.median(ratios),
            "spread": (min(ratios), max(ratios)), "reps": len(rows), "discarded": discarded,
            "program_ms": med(2) / 1e6, "offcpu_ms": med(3) / 1e6,
            "vs_program": statistics.median(r[0] / r[2] for r in rows),
            "vs_offcpu": statistics.median(r[0] / r[3] for r in rows)}


def futex_wait_ns(trace, exclude_tid):
    """(total ns threads spent in FUTEX_WAIT, number of impossible durations) according to `perf trace -e futex`
    output. A call that blocks is printed twice: its start ("... futex(uaddr: A, op: WAIT|PRIVATE_FLAG, ...) ...")
    and, when it returns, a "[continued]: futex())" line carrying its duration. perf trace 6.1 occasionally prints
    a negative duration as an unsigned one (~1.8e13 ms): such a run cannot be measured and is reported as such."""
    start = re.compile(r"\(\s*(?:([0-9.]+) ms)?\s*\): [^/]*/(\d+) futex\(uaddr: \S+ op: (\S+?),")
    cont = re.compile(r"\(\s*([0-9.]+) ms\): [^/]*/(\d+)\s+\.\.\. \[continued\]: futex\(\)")
    pending, total, bogus = {}, 0.0, 0

    def add(ms):
        nonlocal total, bogus
        if ms >= 1e6:
            bogus += 1
        else:
            total += ms * 1e6

    with open(trace) as fh:
        for line in fh:
            m = cont.search(line)
            if m:
                tid = int(m.group(2))
                if pending.pop(tid, "").startswith("WAIT") and tid != exclude_tid:
                    add(float(m.group(1)))
                continue
            m = start.search(line)
            if not m:
                continue
            tid, op = int(m.group(2)), m.group(3)
            if m.group(1) is None:  # blocked: the duration comes with the continuation
                pending[tid] = op
            elif op.startswith("WAIT") and tid != exclude_tid:
                add(float(m.group(1)))
    return total, bogus


def bigprofile(tmp):
    """Benchmark 5: report and SVG flame graph of a synthetic profile with 100,000 distinct stacks."""
    gen = os.path.join(SRC, "scripts", "gen-synthetic-profile.py")
    if not os.path.exists(gen):
        return [{"name": "100k stacks", "skipped": "scripts/gen-synthetic-profile.py missing"}]
    path = os.path.join(tmp, "big.prof")
    sh([sys.executable, gen, "--stacks", "100000", "-o", path], check=True)
    out = []
    for label, args in (("report (text)", ["report", path]), ("flamegraph --format svg",
                                                               ["flamegraph", "--format", "svg", "-o",
                                                                os.path.join(tmp, "big.svg"), path])):
        p = sh(["/usr/bin/time", "-f", "%e %M", LOCKPROF, *args])
        if p.returncode != 0:
            out.append({"name": label, "skipped": p.stderr.strip()[-200:]})
            continue
        secs, kb = p.stderr.strip().splitlines()[-1].split()
        out.append({"name": label, "seconds": float(secs), "peak_mb": int(kb) / 1024,
                    "size_mb": os.path.getsize(path) / 1e6})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--only", default="")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--variant", action="append", default=[], metavar="LABEL:VAR=VALUE[,VAR=VALUE...]",
                    help="also run each overhead row under lockprof with these settings, in the same alternation "
                         "(e.g. nostacks:LOCKPROF_NATIVE_DEPTH=0,LOCKPROF_PY_DEPTH=0); repeatable")
    a = ap.parse_args()
    variants = []
    for v in a.variant:
        label, sep, kvs = v.partition(":")
        pairs = [kv.partition("=") for kv in kvs.split(",") if kv]
        if not label or not sep or any(not k or not eq for k, eq, _ in pairs):
            ap.error(f"--variant {v!r}: expected LABEL:VAR=VALUE[,VAR=VALUE...]")
        variants.append((label, {k: val for k, _, val in pairs}))
    only = set(filter(None, a.only.split(",")))
    loop = os.path.join(BUILD, "bench", "uncontended_loop")
    benches = [
        Bench("uncontended", [loop, "20000000"], "ns/op", 1.10, metric="program",
              note="one thread, single-threaded process"),
        Bench("  pass-through shim", [loop, "20000000"], "ns/op", None, metric="program",
              note="the floor: bench/passthrough_shim.c in LD_PRELOAD instead of lockprof",
              preload=os.path.join(BUILD, "bench", "libpassthrough_shim.so")),
        Bench("uncontended+idle", [loop, "20000000", "idle"], "ns/op", 1.10, metric="program",
              note="one thread locking, plus an idle thread"),
    ]
    if os.access(PY_FT, os.X_OK):
        benches += [
            Bench("ft-dict", [PY_FT, os.path.join(EX, "dict_cache.py"), "2", "400000"], "s", 1.05,
                  note="3.13t, 2 threads, shared dict"),
            Bench("ft-list", [PY_FT, os.path.join(HERE, "ft_list.py"), "2", "4000000"], "s", 1.05,
                  note="3.13t, 2 threads, shared list (bench/ft_list.py)"),
        ]
    if PY_314T:
        benches += [
            Bench("ft-dict 3.14t", [PY_314T, os.path.join(EX, "dict_cache.py"), "2", "3000000"], "s", 1.05,
                  note="3.14t, 2 threads, shared dict"),
            Bench("ft-list 3.14t", [PY_314T, os.path.join(HERE, "ft_list.py"), "2", "4000000"], "s", 1.05,
                  note="3.14t, 2 threads, shared list (bench/ft_list.py)"),
        ]
    # The fixed cost of a profiled process (no contention): loading the collector, locating and patching CPython,
    # and the profile written at exit, as `lockprof run` adds them to a process that starts and exits; and, in the
    # ", preloaded" rows, the same process with the collector in LD_PRELOAD and no `lockprof run` in front: what
    # each process of a profiled program pays (issue 18's targets: +2 ms with full Python awareness, +0.5 ms for a
    # process that never waits).
    startup = [("start-up 3.13t", PY_FT), ("start-up 3.14t", PY_314T), ("start-up 3.11", PY_311)]
    for name, py in startup:
        if py and os.access(py, os.X_OK):
            benches += [Bench(name, [py, "-c", "pass"], "ms", None, metric="wall_ms", reps_factor=4,
                              note=f"`{os.path.basename(py)} -c pass`"),
                        Bench(name + ", preloaded", [py, "-c", "pass"], "ms", None, metric="wall_ms", reps_factor=4,
                              preload=LIB, preload_output=True,
                              note=f"`{os.path.basename(py)} -c pass`, LD_PRELOAD; target +2 ms")]
    benches += [Bench("start-up /bin/true", ["/bin/true"], "ms", None, metric="wall_ms", reps_factor=4,
                      note="a process without Python"),
                Bench("start-up /bin/true, preloaded", ["/bin/true"], "ms", None, metric="wall_ms", reps_factor=4,
                      preload=LIB, preload_output=True, note="LD_PRELOAD; target +0.5 ms")]
    # The same, with the profile written to tmpfs: what the collector itself costs, without the file system's
    # price for a new file (on this machine's ext4, with no journal, creating a file right after many deletions
    # costs up to 0.5 ms: the allocator skips recently deleted inodes; docs/PERFORMANCE.md)
    for name, cmd in (("start-up 3.13t", [PY_FT, "-c", "pass"]), ("start-up /bin/true", ["/bin/true"])):
        if os.access(cmd[0], os.X_OK):
            benches.append(Bench(name + ", tmpfs", cmd, "ms", None, metric="wall_ms", reps_factor=4, preload=LIB,
                                 preload_output="tmpfs", note="LD_PRELOAD, profile on /dev/shm"))
    # lockprof.label (python/lockprof): ns per enter/exit pair (bench/label_cost.py), without the collector (no C
    # call at all) and with it (two calls of lockprof_set_labels through ctypes)
    for py_label, py in (("3.13t", PY_FT), ("3.11", PY_311)):
        if os.access(py, os.X_OK):
            benches += [Bench(f"label {what} {py_label}", [py, os.path.join(HERE, "label_cost.py"), what], "ns",
                              None, metric="program", note=note)
                        for what, note in (("pair", "`with L:`, L = lockprof.label(...) made once"),
                                           ("new", "`with lockprof.label(request=...):`"),
                                           ("nested", "`with L:` inside an outer label block"))]
    if os.access(PY_311, os.X_OK):
        benches.append(Bench("gil-3.11", [PY_311, os.path.join(EX, "gil_cpu.py"), "2", "3000000"], "s", 1.03,
                             note="Debian 3.11, 2 CPU-bound threads"))
    results = []
    tmp = tempfile.mkdtemp(prefix="lockprof-bench-")
    try:
        for b in benches:
            if only and b.name.strip() not in only and b.name.split()[0] not in only:
                continue
            if not b.preload:
                b.variants = variants
            results.append(b.run(a.reps, tmp))
            print_row(results[-1], flush=True)
        for name in ACCURACY:
            if not only or name.split(",")[0] in only:
                results.append(accuracy(tmp, min(a.reps, 5), name))
                print_row(results[-1], flush=True)
        real_names = {"real", "pigz", "zstd", "sqlite", "python-logq"}
        if not only or only & real_names:
            for r in real.run(min(a.reps, 5), tmp, BUILD, HERE, CACHE, PY_311, only=only & real_names):
                results.append(r)
                print_row(r, flush=True)
        if not only or "big" in only:
            for r in bigprofile(tmp):
                results.append(r)
                print_row(r, flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)


HEADER_DONE = [False]


def print_row(r, flush=False):
    if not HEADER_DONE[0]:
        print(f"{'benchmark':<26} {'without':>10} {'with':>10} {'ratio':>7} {'95% CI':>13} {'spread':>13} "
              f"{'target':>8}  notes")
        HEADER_DONE[0] = True
    n = r["name"]
    if r.get("real"):
        real.print_row(r)
        return
    if "skipped" in r:
        print(f"{n:<26} skipped: {r['skipped']}")
    elif n.startswith("accuracy"):
        hold = f"{int(r['args'][2]) // 1000} ms holds" if int(r["args"][2]) >= 1000 else f"{r['args'][2]} µs holds"
        print(f"{n:<26} {r['kernel_ms']:>8.1f}ms {r['ours_ms']:>8.1f}ms {r['ratio']:>7.3f} {'':>13} "
              f"{r['spread'][0]:>6.3f}..{r['spread'][1]:<5.3f} {'±10%':>8}  lockprof wait / kernel FUTEX_WAIT time,"
              f" bench/blocked_mutex {' '.join(r['args'])} ({hold}), {r['reps']} runs ({r['discarded']} discarded)")
        print(f"{'  same runs: program clock':<26} {r['program_ms']:>8.1f}ms {r['ours_ms']:>8.1f}ms "
              f"{r['vs_program']:>7.3f} {'':>13} {'':>13} {'':>8}  lockprof / the program's own clock around its "
              f"blocking calls")
    elif "seconds" in r:
        print(f"{n:<26} {'':>10} {r['seconds']:>9.2f}s {'':>7} {'':>13} {'':>13} {'1 s':>8}  "
              f"peak {r['peak_mb']:.0f} MB (target 200 MB), profile {r['size_mb']:.0f} MB")
    else:
        u = r["unit"]
        tgt = f"{r['target']:.2f}x" if r["target"] else ""
        extra = "" if r["name"].startswith(" ") else f"self-contentions {r['self_contentions']}; "
        if u == "ms":
            extra = f"+{r['prof'] - r['base']:.1f} ms per process; "
        ci = "{:>6.3f}..{:<5.3f}".format(*r["ci95"])
        judged = f"{verdict(r)}: " if r["target"] else ""
        print(f"{n:<26} {r['base']:>8.3f}{u:>2} {r['prof']:>8.3f}{u:>2} {r['ratio']:>7.3f} {ci} "
              f"{r['spread'][0]:>6.3f}..{r['spread'][1]:<5.3f} {tgt:>8}  {judged}{r['note']}; "
              f"{extra}{r['reps']} pairs")
        for v in r.get("variants", []):
            settings = " ".join(f"{k}={val}" for k, val in v["env"].items())
            ci = "{:>6.3f}..{:<5.3f}".format(*v["ci95"])
            print(f"{'  ' + v['name']:<26} {'':>10} {v['prof']:>8.3f}{u:>2} {v['ratio']:>7.3f} {ci} "
                  f"{v['spread'][0]:>6.3f}..{v['spread'][1]:<5.3f} {'':>8}  same runs, with {settings}")
    if flush:
        sys.stdout.flush()


if __name__ == "__main__":
    main()
