"""bench/run.py's real-program rows: programs nobody here wrote (pigz, zstd -T, SQLite through Debian's libsqlite3,
Python's logging and queue on Debian's 3.11), run without and with lockprof under the kernel's futex accounting
(bench/kernel_ref.py: bpftrace, per process and futex address, in the same run), so that each row puts
lockprof's figure next to the kernel's for the same locks, and says what lockprof cost the program.

For each program, --reps times in a rotated order (at most 5):
  - without lockprof, under bpftrace: wall time, and the kernel's time asleep in FUTEX_WAIT (the op mutexes use);
  - with `lockprof run`, under bpftrace: the same, and lockprof's waits on each mutex and condition variable of
    its profile next to the kernel's time on that lock's futex word(s) in the same run.
Once more with `perf trace -s -e futex` instead of bpftrace (second reference: the futex time of every thread,
summed, against lockprof's total of every kind of wait; perf trace makes every futex call slower, so the figures
of that run differ from the others).

What the columns say (print_row): "without" is the kernel's wait on the program's mutexes and "with" lockprof's,
in the same runs (ratio = lockprof / kernel, median over runs); the notes give the condition variables' ratio, the
part of lockprof's mutex figure that is estimated (re-acquisitions after a condition wait), wall time with/without
lockprof and the kernel's FUTEX_WAIT time with/without lockprof (the observer effect)."""
import glob
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile

import kernel_ref

WAIT, WAIT_BITSET = 0, 9  # futex commands (op & 0x7f): mutexes wait with FUTEX_WAIT, condition variables with BITSET


def data_file(cache, mb=96):
    """A compressible text file of `mb` MB, the same on every machine (seeded words), kept in the cache."""
    path = os.path.join(cache, f"bench-words-{mb}M.txt")
    if os.path.exists(path) and os.path.getsize(path) == mb << 20:
        return path
    os.makedirs(cache, exist_ok=True)
    rng = random.Random(20261206)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = ["".join(rng.choice(letters) for _ in range(rng.randint(2, 10))) for _ in range(5000)]
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        left = mb << 20
        while left > 0:
            line = " ".join(rng.choices(words, k=4000)) + "\n"
            line = line[:left]
            f.write(line)
            left -= len(line)
    os.replace(tmp, path)
    return path


def programs(build, here, cache, py311):
    """(name, command, note) of the programs found on this machine."""
    out, missing = [], []
    data = None
    if shutil.which("pigz") or shutil.which("zstd"):
        data = data_file(cache)
    if shutil.which("pigz"):
        out.append(("pigz", ["sh", "-c", f"exec pigz -p8 -c {data} > /dev/null"], "pigz -p8, 96 MB of text"))
    else:
        missing.append("pigz")
    if shutil.which("zstd"):
        out.append(("zstd", ["sh", "-c", f"exec zstd -q -T8 -5 -c {data} > /dev/null"], "zstd -T8 -5, the same file"))
    else:
        missing.append("zstd")
    sq = os.path.join(build, "bench", "sqlite_shared")
    if os.access(sq, os.X_OK):
        out.append(("sqlite", [sq, "4", "400000"], "bench/sqlite_shared.c: 4 threads, one connection"))
    else:
        missing.append("sqlite (libsqlite3-dev)")
    if py311 and os.access(py311, os.X_OK):
        out.append(("python-logq", [py311, os.path.join(here, "logging_queue.py"), "4", "20000"],
                    "bench/logging_queue.py on Debian's 3.11"))
    else:
        missing.append("python-logq (python3.11)")
    return out, missing


def futex_by_cmd(futex):
    """{(pid, address): ns} restricted to FUTEX_WAIT, and the total of that and of WAIT_BITSET."""
    wait = sum(v[0] for (pid, addr, cmd), v in futex.items() if cmd == WAIT)
    bitset = sum(v[0] for (pid, addr, cmd), v in futex.items() if cmd == WAIT_BITSET)
    return wait, bitset


def flat(futex):
    """{(pid, address): [ns, calls]} over every command (the lock's own futex words only ever see one)."""
    out = {}
    for (pid, addr, cmd), (ns, n) in futex.items():
        e = out.setdefault((pid, addr), [0, 0])
        e[0] += ns
        e[1] += n
    return out


def sums(rows):
    """(lockprof ns, estimated ns, kernel ns) summed over compare() rows."""
    return sum(r[3] for r in rows), sum(r[4] for r in rows), sum(r[5] for r in rows)


def one(name, cmd, lockprof, profiled, tmp, i):
    """One run under bpftrace. Returns a dict of its figures."""
    if not profiled:
        wall, fx = kernel_ref.traced(cmd, by_cmd=True)
        w, b = futex_by_cmd(fx)
        return {"wall": wall, "k_wait": w, "k_bitset": b}
    out = os.path.join(tmp, f"{name}.{i}.%p.prof")
    wall, fx = kernel_ref.traced([lockprof, "run", "-q", "--no-summary", "-o", out, "--"] + cmd, by_cmd=True)
    profs = glob.glob(os.path.join(tmp, f"{name}.{i}.*.prof"))
    w, b = futex_by_cmd(fx)
    f = flat(fx)
    mutex = kernel_ref.compare(f, profs, kinds=("pthread_mutex",))
    cond = kernel_ref.compare(f, profs, kinds=("pthread_cond",))
    sems = kernel_ref.compare(f, profs, kinds=("semaphore", "threading.Lock", "threading.RLock"))
    meta = {}
    for p in profs:
        with open(p) as fh:
            for line in fh:
                if line.startswith("m self_waits ") or line.startswith("m self_wait_ns "):
                    k, v = line.split()[1:3]
                    meta[k] = meta.get(k, 0) + int(v)
    for p in profs:
        os.unlink(p)
    total = sum(r[5] for r in mutex)
    big = [(r[1], r[3], r[4], r[5]) for r in mutex if total and r[5] >= 0.05 * total]  # >= 5% of the kernel's
    return {"wall": wall, "k_wait": w, "k_bitset": b, "mutex": sums(mutex), "cond": sums(cond),
            "sem": sums(sems), "top": mutex[0] if mutex else None, "big": big,
            "self_waits": meta.get("self_waits", 0), "self_wait_ns": meta.get("self_wait_ns", 0)}


def perf_trace(name, cmd, lockprof, tmp):
    """(perf trace's futex ms summed over the program's threads, lockprof's total wait ms of every kind) of one
    run under `perf trace -s -e futex`, or None when perf is missing or fails."""
    perf = shutil.which("perf")
    if not perf:
        return None
    out = os.path.join(tmp, f"{name}.perf.%p.prof")
    summary = os.path.join(tmp, f"{name}.perf.txt")
    p = subprocess.run([perf, "trace", "-s", "-e", "futex", "-o", summary, "--", lockprof, "run", "-q",
                        "--no-summary", "-o", out, "--"] + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True)
    profs = glob.glob(os.path.join(tmp, f"{name}.perf.*.prof"))
    if p.returncode != 0 or not profs:
        return None
    total_perf = 0.0
    with open(summary) as fh:
        for line in fh:
            parts = line.split()
            # "   futex   1234     0   5678.123   ..." : syscall, calls, errors, total msec, ...
            if len(parts) >= 4 and parts[0] == "futex":
                try:
                    total_perf += float(parts[3])
                except ValueError:
                    pass
    ours = 0
    for prof in profs:
        _, locks = kernel_ref.profile_locks(prof)
        ours += sum(e["wait_ns"] for e in locks.values())
        os.unlink(prof)
    return total_perf, ours / 1e6


def run(reps, tmp, build, here, cache, py311, only=None):
    why = kernel_ref.available()
    progs, missing = programs(build, here, cache, py311)
    lockprof = os.path.join(build, "lockprof")
    results = []
    for name, cmd, note in progs:
        if only and name not in only and "real" not in only:
            continue
        if why:
            results.append({"name": name, "real": True, "skipped": why})
            continue
        base, prof = [], []
        try:
            for r in range(reps):
                order = [False, True] if r % 2 == 0 else [True, False]
                for profiled in order:
                    (prof if profiled else base).append(one(name, cmd, lockprof, profiled, tmp, r))
        except RuntimeError as e:
            results.append({"name": name, "real": True, "skipped": str(e)[:300]})
            continue
        pt = perf_trace(name, cmd, lockprof, tmp)
        med = statistics.median

        def ratio(key, i=None):
            xs = [p[key][0] / p[key][2] for p in prof if p[key][2]]
            return (med(xs), min(xs), max(xs)) if xs else None

        results.append({
            "name": name, "real": True, "note": note, "cmd": cmd, "reps": reps,
            "mutex_ms": (med(p["mutex"][0] for p in prof) / 1e6, med(p["mutex"][2] for p in prof) / 1e6),
            "mutex_ratio": ratio("mutex"), "cond_ratio": ratio("cond"), "sem_ratio": ratio("sem"),
            "sem_ms": (med(p["sem"][0] for p in prof) / 1e6, med(p["sem"][2] for p in prof) / 1e6),
            "est_share": med(p["mutex"][1] / p["mutex"][0] for p in prof if p["mutex"][0]) if any(
                p["mutex"][0] for p in prof) else 0.0,
            "wall": (med(b["wall"] for b in base), med(p["wall"] for p in prof)),
            "wall_ratios": [p["wall"] / b["wall"] for p, b in zip(prof, base)],
            "k_wait": (med(b["k_wait"] for b in base) / 1e6, med(p["k_wait"] for p in prof) / 1e6),
            "k_wait_ratios": [p["k_wait"] / b["k_wait"] for p, b in zip(prof, base) if b["k_wait"]],
            "self_waits": max(p["self_waits"] for p in prof), "self_wait_ms": max(p["self_wait_ns"] for p in prof) / 1e6,
            "top": [(t[1], t[3] / 1e6, t[4] / 1e6, t[5] / 1e6) for t in (p["top"] for p in prof) if t],
            "per_lock_ratios": sorted(b[1] / b[3] for p in prof for b in p["big"] if b[3]),
            "perf_trace": pt,
        })
    for m in missing:
        if not only or m.split()[0] in only or "real" in only:
            results.append({"name": m.split()[0], "real": True, "skipped": f"not installed: {m}"})
    return results


def print_row(r, out=sys.stdout):
    n = r["name"]
    if "skipped" in r:
        print(f"{n:<26} skipped: {r['skipped']}", file=out)
        return
    mr = r["mutex_ratio"]
    ours, kern = r["mutex_ms"]
    if r["name"] == "python-logq":  # its locks are semaphores (threading.Lock and RLock on 3.11)
        mr, (ours, kern) = r["sem_ratio"], r["sem_ms"]
    spread = f"{mr[1]:>6.3f}..{mr[2]:<5.3f}" if mr else f"{'':>13}"
    wr = statistics.median(r["wall_ratios"])
    kr = statistics.median(r["k_wait_ratios"]) if r["k_wait_ratios"] else float("nan")
    cond = f"conditions {r['cond_ratio'][0]:.2f}x the kernel's; " if r["cond_ratio"] else ""
    pl = r.get("per_lock_ratios")
    if pl and r["name"] != "python-logq":
        cond = f"each mutex with 5%+ of the kernel's time {pl[0]:.2f}..{pl[-1]:.2f}x; " + cond
    est = f"{100 * r['est_share']:.0f}% of it estimated; " if r["est_share"] else ""
    what = "threading locks" if r["name"] == "python-logq" else "mutexes"
    print(f"{n:<26} {kern:>8.1f}ms {ours:>8.1f}ms {mr[0] if mr else float('nan'):>7.3f} {'':>13} {spread} "
          f"{'':>8}  lockprof / kernel futex wait on the {what}, same runs; {est}{cond}"
          f"wall {r['wall'][0]:.2f}s -> {r['wall'][1]:.2f}s ({wr:.2f}x); kernel FUTEX_WAIT "
          f"{r['k_wait'][0]:.0f} -> {r['k_wait'][1]:.0f} ms ({kr:.2f}x); {r['note']}; {r['reps']} pairs", file=out)
    if r["perf_trace"]:
        pt, ours_all = r["perf_trace"]
        print(f"{'  perf trace -s':<26} {pt:>8.1f}ms {ours_all:>8.1f}ms {ours_all / pt if pt else 0:>7.3f} "
              f"{'':>13} {'':>13} {'':>8}  one run under perf trace -s -e futex: every thread's futex time (all "
              f"ops) against lockprof's total of every kind of wait", file=out)
    out.flush()
