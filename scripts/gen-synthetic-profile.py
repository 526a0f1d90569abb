#!/usr/bin/env python3
"""Writes a synthetic but valid lockprof profile (docs/FORMAT.md) with N distinct waiter stacks, for benchmarks
and stress tests of the CLI (e.g. `lockprof flamegraph --format svg` on 100,000 stacks).

The shape imitates a real program: a few thread entry points, call paths that share their outer frames and fan
out towards the leaf, Python frames on top of native ones, a dozen locks of different kinds (object locks with
types, named mutexes, the GIL, a condition variable), holder stacks taken from other waiters, and a log-normal
spread of waits. The output depends only on N and --seed, so benchmark runs are comparable.

Usage: scripts/gen-synthetic-profile.py N [-o OUT] [--seed S]     (OUT defaults to standard output)
       scripts/gen-synthetic-profile.py --stacks N [-o OUT] [--seed S]
"""
import argparse
import math
import random
import sys

LOCKS = [
    # kind, name, object type (None: not an object lock)
    ("pymutex", "dict@0x7f0000001000", "dict"),
    ("pymutex", "list@0x7f0000002000", "list"),
    ("pymutex", "Order@0x7f0000003000", "Order"),
    ("pthread_mutex", "hot_lock", None),
    ("pthread_mutex", "pool_lock", None),
    ("pthread_rwlock", "table_lock", None),
    ("gil", "GIL", None),
    ("threading.Lock", "threading.Lock created at app.py:12 (<module>)", None),
    ("threading.RLock", "threading.RLock created at cache.py:40 (Cache.__init__)", None),
    ("parking_lot", "PyEvent.wait", None),
    ("pthread_cond", "not_empty", None),
    ("semaphore", "slots", None),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int, nargs="?", help="number of distinct waiter stacks (and aggregates)")
    ap.add_argument("--stacks", type=int, help="the same as N")
    ap.add_argument("-o", "--output", default="-")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if (args.n is None) == (args.stacks is None):
        ap.error("give the number of stacks once: N or --stacks N")
    args.n = args.n if args.n is not None else args.stacks
    if args.n < 1:
        ap.error("N must be at least 1")
    rnd = random.Random(args.seed)

    strings, string_ids = [], {}

    def s(text):
        if text not in string_ids:
            string_ids[text] = len(strings)
            strings.append(text)
        return string_ids[text]

    # frames: native (libc, interpreter, the program) and Python
    frames = []  # (kind, func, file, line, module, offset)
    libc, python, app = "/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/bin/python3.13", "/opt/app/bin/server"
    native_libc = [("n", f, None, 0, libc, 0x1000 + 0x40 * i) for i, f in enumerate(("clone3", "start_thread"))]
    native_interp = [("n", f"_PyEval_EvalFrame{i}", None, 0, python, 0x200000 + 0x100 * i) for i in range(6)]
    native_app = [("n", f"app_fn_{i}", None, 0, app, 0x4000 + 0x20 * i) for i in range(400)]
    py_files = [f"/opt/app/lib/module_{i}.py" for i in range(60)]
    py_frames = [("p", f"func_{i}", py_files[i % len(py_files)], 10 + (i * 7) % 900, None, 0) for i in range(2500)]
    frames = native_libc + native_interp + native_app + py_frames
    frame_ids = {f: i for i, f in enumerate(frames)}

    def stack_for():
        # outermost first: thread start (libc), entry, then a fanning-out path; returned leaf first
        st = list(native_libc[::-1])
        if rnd.random() < 0.6:  # a Python thread
            st.append(native_interp[rnd.randrange(2)])
            depth = rnd.randint(3, 14)
            for d in range(depth):
                pool = min(len(py_frames), 4 * (d + 1) ** 3)
                st.append(py_frames[rnd.randrange(pool)])
                if rnd.random() < 0.3:
                    st.append(native_interp[2 + rnd.randrange(4)])
        else:
            depth = rnd.randint(2, 10)
            for d in range(depth):
                pool = min(len(native_app), 3 * (d + 1) ** 3)
                st.append(native_app[rnd.randrange(pool)])
        return tuple(frame_ids[f] for f in reversed(st))

    stacks, seen = [], set()
    while len(stacks) < args.n:
        st = stack_for()
        if st not in seen:
            seen.add(st)
            stacks.append(st)

    tids = [1000 + i for i in range(16)]
    aggs = []
    for i, st in enumerate(stacks):
        lock = min(int(rnd.expovariate(0.35)), len(LOCKS) - 1)
        holder = rnd.randrange(len(stacks)) if rnd.random() < 0.8 else None
        tid = rnd.choice(tids)
        htid = rnd.choice([t for t in tids if t != tid]) if holder is not None else 0
        flags = 0x10 if (LOCKS[lock][0] == "parking_lot" and rnd.random() < 0.5) else 0
        count = 1 + int(rnd.expovariate(0.1))
        avg = math.exp(rnd.gauss(math.log(20000), 2.0))  # ns: median 20 µs, wide spread
        wait = max(count, int(avg * count))
        mx = max(1, min(wait, int(avg * (1 + rnd.random() * 3))))
        bucket = min(39, max(0, int(math.log2(max(2, avg)))))
        aggs.append((lock, i, holder, tid, htid, flags, count, wait, mx, f"{bucket}:{count}"))

    lines = ["lockprof-profile 1"]
    meta = [("lockprof_version", "0.1.0"), ("pid", "4242"), ("ppid", "1"), ("exe", python),
            ("cmdline", f"synthetic profile: {args.n} stacks, seed {args.seed}"), ("reason", "exit"),
            ("start_unix_ns", "1700000000000000000"), ("duration_ns", "10000000000"), ("sample_every", "1"),
            ("min_wait_ns", "0"), ("threads", str(len(tids))), ("python", "3.13.0"),
            ("python_build", "free-threaded"), ("python_module", python), ("gil_enabled", "0")]
    records = []
    records += [f"m {k} {v}" for k, v in meta]
    # strings are defined before first use
    for kind, func, file, line, module, off in frames:
        for t in (func, file, module):
            if t is not None:
                s(t)
    for kind, name, typ in LOCKS:
        s(name)
        if typ:
            s(typ)
    thread_names = [s(f"worker-{i}") for i in range(len(tids))]
    records += [f"s {i} {t}" for i, t in enumerate(strings)]

    def ref(t):
        return "-" if t is None else str(string_ids[t])

    records += [f"f {i} {k} {ref(fn)} {ref(fl)} {ln} {ref(md)} {off:x}"
                for i, (k, fn, fl, ln, md, off) in enumerate(frames)]
    records += [f"k {i} " + " ".join(map(str, st)) for i, st in enumerate(stacks)]
    records += [f"l {i} {k} {0x7f0000000000 + 0x1000 * i:x} {string_ids[n]} {ref(t)}"
                for i, (k, n, t) in enumerate(LOCKS)]
    records += [f"t {tid} {thread_names[i]}" for i, tid in enumerate(tids)]
    records += [f"a {lk} {st} {'-' if h is None else h} {tid} {htid} {fl:x} {c} {w} {mx} {hist}"
                for lk, st, h, tid, htid, fl, c, w, mx, hist in aggs]
    lines += records
    lines.append(f"end {len(records)}")
    text = "\n".join(lines) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
