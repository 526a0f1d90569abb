#!/usr/bin/env python3
"""Grammar-based generator of *valid* lockprof profiles with hostile contents, for what comes after the reader:
model merging, grouping, the renderers and exporters, `diff` and `check`. fuzz_reader mutates bytes, so almost
everything it produces is rejected by the reader; these files all parse (docs/FORMAT.md) but carry extreme
numbers (0, 2^32, 2^64-1, sample_every beyond 32 bits), escapes, invalid UTF-8, markup, empty and deep stacks,
missing optional fields, unknown metadata, every kind and flag; half of them are format version 2, with label sets
(hostile values, keys of every allowed kind) on some aggregates, and modules (`o`, hostile paths, an existing file
with the wrong build-id) that frames and lock locations (`v`) lie in. tests/integration/test_sanitizers.py runs
every subcommand of the ASan+UBSan build of lockprof on them.

    fuzz/gen_profiles.py SEED COUNT DIR      writes DIR/gen-SEED-N.prof
"""
import os
import random
import sys

KINDS = ["pthread_mutex", "pthread_rwlock", "pthread_cond", "semaphore", "gil", "threading.Lock",
         "threading.RLock", "pymutex", "parking_lot"]
BIG = [0, 1, 2, 7, 255, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**53, 2**63 - 1, 2**63, 2**64 - 1]
PIECES = ["worker", "main", "/usr/bin/app", "lock", "dict", "@0x7f", "<module>", ";", " ", "\\\\", "\\n", "\\x01",
          "\\x7f", "\\x1f", "\u20ac", "\udcff\udcfe", "\udce2\udc82", "\u00e9", "%s%n%%", "<>&\"'", "", ":", "|",
          "#", "\t", "</script>", "]]>", "{\"a\":", "\\x1b[31m"]


def num(r):
    return r.choice(BIG) if r.random() < 0.3 else r.randrange(0, 10 ** r.randrange(1, 12))


def text(r):
    s = "".join(r.choice(PIECES) if r.random() < 0.95 else "a" * r.randrange(300) for _ in range(r.randrange(5)))
    return s.replace(" ", "_") if r.random() < 0.5 else s


LABEL_KEYS = ["test", "phase", "request", "a.b-c_d", "\u043a\u043b\u044e\u0447", "K~!", "x" * 200]


def profile(seed):
    r = random.Random(seed)
    version = r.choice([1, 2])
    recs = []
    meta = [("pid", num(r)), ("ppid", num(r)), ("exe", text(r)), ("cmdline", text(r)),
            ("reason", r.choice(["exit", "signal", "exec", "_exit", text(r)])), ("start_unix_ns", num(r)),
            ("duration_ns", num(r)), ("threads", num(r)), ("sample_every", r.choice([1, 1, 1, 2, num(r)])),
            ("min_wait_ns", num(r)), ("timeline_capacity", num(r)), ("timeline_dropped", num(r)),
            ("self_contentions", num(r)), ("events_dropped", num(r)), ("events_below_min_wait", num(r)),
            ("wait_below_min_wait_ns", num(r)), ("gil_enabled", r.choice(["0", "1", "-1", "x", ""])),
            ("warning", text(r)), ("warning", text(r)), ("unknown_key", text(r))]
    if r.random() < 0.5:
        meta += [("python", r.choice(["3.11.2", "3.13.0", "x", ""])),
                 ("python_build", r.choice(["gil", "free-threaded", text(r)])), ("python_module", text(r))]
    r.shuffle(meta)
    recs += [f"m {k} {v}" for k, v in meta if r.random() < 0.8]
    ns = r.randrange(30)
    recs += [f"s {i} {text(r)}" for i in range(ns)]
    if version == 2:
        recs.append(f"s {ns} /bin/true")  # a module path that exists (build-ids below never match it)
        ns += 1

    def sref():
        return "-" if not ns or r.random() < 0.2 else str(r.randrange(ns))
    nm = 0
    if version == 2:  # modules: each path string used by one at most; frames whose module is one are named by it
        for sid in r.sample(range(ns), min(ns, r.randrange(5))):
            bid = "-" if r.random() < 0.3 else "".join(r.choice("0123456789abcdef")
                                                       for _ in range(2 * r.choice([1, 16, 20, 64])))
            start = num(r)
            end = min(start + r.randrange(2**24), 2**64 - 1)
            recs.append(f"o {nm} {sid} {bid} {start:x} {end:x} {num(r):x} {r.choice([0, 0, 1])}")
            nm += 1
    nf = r.randrange(30)
    kinds = [r.choice("npnpx" if version == 2 else "np") for _ in range(nf)]
    recs += [f"f {i} x - - 0 - 0" if kinds[i] == "x" else f"f {i} {kinds[i]} {sref()} {sref()} {num(r)} {sref()} {num(r):x}"
             for i in range(nf)]
    native = [i for i in range(nf) if kinds[i] == "n"]
    nk = r.randrange(15)
    for i in range(nk):
        depth = r.randrange(70 if r.random() < 0.1 else 6) if nf else 0
        recs.append(" ".join([f"k {i}"] + [str(r.randrange(nf)) for _ in range(depth)]))

    def kref():
        return "-" if not nk or r.random() < 0.2 else str(r.randrange(nk))
    nl = r.randrange(10) if ns else 0
    for i in range(nl):
        recs.append(f"l {i} {r.choice(KINDS)} {num(r):x} {r.randrange(ns)} {sref()}")
        if version == 2 and (nm or native) and r.random() < 0.4:  # where it lies, what took it
            mod = str(r.randrange(nm)) if nm and r.random() < 0.7 else "-"
            site = str(r.choice(native)) if native and (mod == "-" or r.random() < 0.3) else "-"
            if mod != "-" or site != "-":
                recs.append(f"v {i} {mod} {num(r) if mod != '-' else 0:x} {site}")
    recs += [f"t {num(r)} {sref()}" for _ in range(r.randrange(6))]
    ng = 0
    if version == 2 and ns:
        keys = sorted(r.sample(LABEL_KEYS, r.randrange(1, len(LABEL_KEYS))), key=lambda k: k.encode())
        recs += [f"s {ns + i} {k}" for i, k in enumerate(keys)]
        for i in range(r.randrange(5)):
            chosen = sorted(r.sample(range(len(keys)), r.randrange(1, len(keys) + 1)), key=lambda j: keys[j].encode())
            recs.append(" ".join([f"g {i}"] + [f"{ns + j} {r.randrange(ns)}" for j in chosen]))
            ng += 1
    for _ in range(r.randrange(25) if nl else 0):
        count = r.choice([1, 2, 3, num(r) or 1])
        wait = num(r)
        mx = r.randrange(wait + 1)
        flags = r.choice([0, 0, 1, 2, 4, 8, 16, 32, 64, 0x7f, r.randrange(128)])
        hist = "-"
        if r.random() < 0.7:
            parts, left = [], count
            for _ in range(r.randrange(1, 5)):
                c = r.randrange(min(left, 2**32 - 1) + 1)
                left -= c
                parts.append(f"{r.randrange(40)}:{c}")
            hist = ",".join(parts)
        tid = num(r)
        labels = ""
        if version == 2:
            labels = " " + ("-" if not ng or r.random() < 0.3 else str(r.randrange(ng)))
        recs.append(f"a {r.randrange(nl)} {kref()} {kref()} {tid} {r.choice([0, tid, num(r)])} {flags:x} {count} "
                    f"{wait} {mx} {hist}{labels}")
    recs += [f"e {num(r)} {num(r)} {num(r)} {r.randrange(nl)} {kref()}" for _ in range(r.randrange(10) if nl else 0)]
    lines = [f"lockprof-profile {version}"] + recs + [f"end {len(recs)}"]
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    seed, count, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    os.makedirs(out, exist_ok=True)
    for i in range(count):
        with open(os.path.join(out, f"gen-{seed}-{i}.prof"), "wb") as f:
            f.write(profile(seed * 1000003 + i))


if __name__ == "__main__":
    main()
