"""lockprof export (issue: outputs): pprof read back by `go tool pprof` and by a small protobuf decoder here,
speedscope validated against speedscope's published file-format schema, and the Chrome trace of the collector's
timeline — all on real programs profiled with `lockprof run`.

Contention counts vary from run to run, so the tests compare every export with `lockprof report --format json`
of the same profiles instead of with fixed numbers."""
import collections
import gzip
import json
import os
import pty
import re
import shutil
import subprocess
import unittest

import jsonschema

import lptest
from lptest import EXAMPLES_C, EXAMPLES_PY, LOCKPROF, TempDirTest, line_of, lockprof, pythons

GO = shutil.which("go")
SPEEDSCOPE_SCHEMA = os.path.join(os.environ.get("LOCKPROF_CACHE", os.path.expanduser("~/.cache/lockprof")), "node",
                                 "node_modules", "speedscope", "dist", "release", "file-format-schema.json")


def ex(name):
    return os.path.join(EXAMPLES_C, name)


def totals(report, contention=True):
    """(contentions, wait_ns) of the report's locks: contention ones, or all with contention=None."""
    locks = [l for l in report["locks"] if contention is None or l["contention"] == contention]
    return sum(l["contentions"] for l in locks), sum(l["wait_ns"] for l in locks)


def profile_records(path):
    """Raw records of a profile file: {tag: [fields...]} (metadata as a dict)."""
    recs = collections.defaultdict(list)
    meta = {}
    with open(path) as f:
        for line in f:
            tag, _, rest = line.rstrip("\n").partition(" ")
            if tag == "m":
                key, _, value = rest.partition(" ")
                meta.setdefault(key, value)
            elif tag in ("a", "e"):
                recs[tag].append([int(x, 16) if i == 5 and tag == "a" else (int(x) if x.isdigit() else x)
                                  for i, x in enumerate(rest.split(" "))])
    return meta, recs


# ---- a tiny protobuf reader: just what profile.proto needs ----------------------------------------------------

def _varint(buf, i):
    value = shift = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def pb_fields(buf):
    """[(field number, value)] of one message: int for varints, bytes for length-delimited fields."""
    out, i = [], 0
    while i < len(buf):
        key, i = _varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 2:
            n, i = _varint(buf, i)
            value, i = bytes(buf[i:i + n]), i + n
        else:
            raise AssertionError(f"unexpected wire type {wire} for field {field}")
        out.append((field, value))
    return out


def pb_message(buf):
    d = collections.defaultdict(list)
    for field, value in pb_fields(buf):
        d[field].append(value)
    return d


def pb_uints(values):
    """A repeated varint field, packed (bytes) or not (ints)."""
    out = []
    for v in values:
        if isinstance(v, int):
            out.append(v)
            continue
        i = 0
        while i < len(v):
            x, i = _varint(v, i)
            out.append(x)
    return out


def one(d, field, default=0):
    return d[field][0] if d.get(field) else default


class Pprof:
    """The fields of a pprof profile the tests check (field numbers of profile.proto)."""

    def __init__(self, path):
        with gzip.open(path, "rb") as f:
            top = pb_message(f.read())
        self.strings = [s.decode() for s in top[6]]
        s = self.strings
        self.sample_types = [(s[one(m, 1)], s[one(m, 2)]) for m in map(pb_message, top[1])]
        self.default_sample_type = s[one(top, 14)]
        pt = pb_message(top[11][0]) if top[11] else {}
        self.period_type = (s[one(pt, 1)], s[one(pt, 2)]) if pt else None
        self.comments = [s[i] for i in top[13]]
        self.functions = {}
        for m in map(pb_message, top[5]):
            self.functions[one(m, 1)] = {"name": s[one(m, 2)], "system_name": s[one(m, 3)], "file": s[one(m, 4)]}
        self.mappings = {one(m, 1): s[one(m, 5)] for m in map(pb_message, top[3])}
        self.locations = {}
        for m in map(pb_message, top[4]):
            lines = [(one(l, 1), one(l, 2)) for l in map(pb_message, m[4])]
            self.locations[one(m, 1)] = {"mapping": one(m, 2), "address": one(m, 3), "lines": lines}
        self.samples = []
        for m in map(pb_message, top[2]):
            labels = {}
            for l in map(pb_message, m[3]):
                labels[s[one(l, 1)]] = s[one(l, 2)] if one(l, 2) else one(l, 3)
            self.samples.append({"locations": pb_uints(m[1]), "values": pb_uints(m[2]), "labels": labels})

    def function_of(self, location_id):
        return self.functions[self.locations[location_id]["lines"][0][0]]

    def total(self, index):
        return sum(smp["values"][index] for smp in self.samples)


# ---- shared profiles: each program is profiled once for the whole module ----------------------------------------

_cache = {}
_tmp = None


def tearDownModule():
    if _tmp:
        shutil.rmtree(_tmp, ignore_errors=True)


def recorded(key, cmd, *opts, want=None, attempts=3):
    """Profile paths of `lockprof run --timeline OPTS -- CMD`, recorded once per module; retried (up to
    `attempts` runs) until want(report) holds, for workloads whose contention depends on scheduling."""
    global _tmp
    if key in _cache:
        return _cache[key]
    if _tmp is None:
        import tempfile
        _tmp = tempfile.mkdtemp(prefix="lockprof-export-")
    for i in range(attempts):
        out = os.path.join(_tmp, f"{key}{i}.%p.prof")
        lockprof("run", "-o", out, "--no-summary", "--timeline", *opts, "--", *cmd, check=True)
        files = sorted(os.path.join(_tmp, f) for f in os.listdir(_tmp) if f.startswith(f"{key}{i}."))
        if want is None or want(report(files)):
            break
    _cache[key] = files
    return files


def report(files):
    return json.loads(lockprof("report", "--format", "json", *files, check=True).stdout)


def hot_mutex():
    return recorded("hot", [ex("hot_mutex"), "4", "200"], want=lambda r: totals(r)[0] > 0)


def prodcons():
    return recorded("prodcons", [ex("prodcons"), "3", "20000"],
                    want=lambda r: totals(r)[0] > 0 and totals(r, False)[0] > 0)


def python_hotspot():
    if not PYTHON:
        raise unittest.SkipTest("no Python interpreter found by scripts/find-pythons.sh")
    return recorded("py", [PYTHON, os.path.join(EXAMPLES_PY, "lock_hotspot.py"), "4", "20000"],
                    want=lambda r: any(l["kind"] == "threading.Lock" and l["contention"] for l in r["locks"]))


PYTHON = next((path for _, path in pythons()), None)


class ExportTest(TempDirTest):
    def export(self, fmt, files, *opts, name=None):
        out = os.path.join(self.tmp, name or f"out.{fmt}")
        p = lockprof("export", "--format", fmt, "-o", out, *opts, *files)
        self.assertEqual(p.returncode, 0, p.stderr)
        return out, p

    def export_json(self, fmt, files, *opts):
        out, _ = self.export(fmt, files, *opts)
        with open(out) as f:
            return json.load(f)


# ---- pprof --------------------------------------------------------------------------------------------------

class PprofFile(ExportTest):
    def test_sample_types_labels_and_totals(self):
        files = hot_mutex()
        rep = report(files)
        pid = rep["processes"][0]["pid"]
        prof = Pprof(self.export("pprof", files)[0])
        self.assertEqual(prof.strings[0], "")
        self.assertEqual(prof.sample_types, [("contentions", "count"), ("delay", "nanoseconds")])
        self.assertEqual(prof.default_sample_type, "delay")
        self.assertEqual(prof.period_type, ("contentions", "count"))
        self.assertEqual((prof.total(0), prof.total(1)), totals(rep))
        self.assertTrue(prof.samples)
        for smp in prof.samples:
            self.assertEqual(len(smp["values"]), 2)
            labels = smp["labels"]
            self.assertEqual(labels["lock_kind"], "pthread_mutex")
            self.assertEqual(labels["lock"], "hot_lock")
            self.assertEqual(labels["wait_class"], "contention")
            self.assertEqual(labels["pid"], pid)
            self.assertIsInstance(labels["tid"], int)
            self.assertNotIn("object_type", labels)
            # the outermost location is the synthetic lock-class frame
            self.assertEqual(prof.function_of(smp["locations"][-1])["name"], "pthread_mutex:hot_lock")
            names = [prof.function_of(l)["name"] for l in smp["locations"]]
            self.assertIn("critical_work", names)
            self.assertIn("worker", names)
        crit = [fid for fid, f in prof.functions.items() if f["name"] == "critical_work"]
        self.assertEqual(len(crit), 1)
        # a native function's file is its source file (from DWARF), its locations' mapping the module
        self.assertTrue(prof.functions[crit[0]]["file"].endswith("/examples/c/hot_mutex.c"), prof.functions[crit[0]])
        locs = [loc for loc in prof.locations.values() if loc["lines"][0][0] == crit[0]]
        self.assertTrue(locs)
        for loc in locs:
            self.assertTrue(prof.mappings[loc["mapping"]].endswith("/hot_mutex"), prof.mappings[loc["mapping"]])
            self.assertGreater(loc["lines"][0][1], 0)
        self.assertTrue(any("hot_mutex 4 200" in c for c in prof.comments), prof.comments)

    def test_python_frames_have_file_and_line(self):
        files = python_hotspot()
        rep = report(files)
        prof = Pprof(self.export("pprof", files)[0])
        self.assertEqual((prof.total(0), prof.total(1)), totals(rep))
        script = os.path.join(EXAMPLES_PY, "lock_hotspot.py")
        with_line = line_of(script, "with stats_lock:")
        update = [fid for fid, f in prof.functions.items() if f["name"] == "update"]
        self.assertEqual(len(update), 1, prof.functions)
        self.assertTrue(prof.functions[update[0]]["file"].endswith("lock_hotspot.py"))
        self.assertEqual(prof.functions[update[0]]["system_name"], "", "pprof would 'simplify' Python names")
        lines = {line for loc in prof.locations.values() for fid, line in loc["lines"] if fid == update[0]}
        self.assertIn(with_line, lines)
        roots = {prof.function_of(s["locations"][-1])["name"] for s in prof.samples
                 if s["labels"]["lock_kind"] == "threading.Lock"}
        self.assertTrue(roots and all(r.startswith("threading.Lock") for r in roots), roots)

    def test_all_adds_wait_classes(self):
        files = prodcons()
        rep = report(files)
        prof = Pprof(self.export("pprof", files)[0])
        self.assertEqual((prof.total(0), prof.total(1)), totals(rep))
        self.assertEqual({s["labels"]["wait_class"] for s in prof.samples}, {"contention"})
        prof = Pprof(self.export("pprof", files, "--all")[0])
        self.assertEqual((prof.total(0), prof.total(1)), totals(rep, None))
        cond = [s for s in prof.samples if s["labels"]["lock_kind"] == "pthread_cond"]
        self.assertTrue(cond)
        for smp in cond:
            self.assertEqual(smp["labels"]["wait_class"], "condition")
            self.assertTrue(prof.function_of(smp["locations"][-1])["name"].endswith(" [condition]"))
        reacquire = [s for s in prof.samples if "reacquire" in s["labels"].get("flags", "")]
        self.assertTrue(all(s["labels"]["wait_class"] == "contention" for s in reacquire))

    def test_frames_all_keeps_libc(self):
        files = hot_mutex()

        def modules(prof):
            return {os.path.basename(prof.mappings[loc["mapping"]]) for smp in prof.samples
                    for loc in (prof.locations[l] for l in smp["locations"][1:]) if loc["mapping"]}

        user = modules(Pprof(self.export("pprof", files, name="user.pb.gz")[0]))
        every = modules(Pprof(self.export("pprof", files, "--frames", "all", name="all.pb.gz")[0]))
        self.assertFalse(any(m.startswith("libc") for m in user), user)
        self.assertTrue(any(m.startswith("libc") for m in every), every)

    def test_binary_never_to_a_terminal(self):
        master, slave = pty.openpty()
        try:
            p = subprocess.run([LOCKPROF, "export", "--format", "pprof", *hot_mutex()], stdout=slave,
                               stderr=subprocess.PIPE, text=True, timeout=60)
        finally:
            os.close(slave)
            os.close(master)
        self.assertEqual(p.returncode, 2)
        self.assertIn("terminal", p.stderr)
        self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
        # piped standard output is fine
        p = subprocess.run([LOCKPROF, "export", "--format", "pprof", *hot_mutex()], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout[:2], b"\x1f\x8b")


@unittest.skipUnless(GO, "go (golang-go) is not installed")
class GoToolPprof(ExportTest):
    def pprof_top(self, path, index):
        p = lptest.run([GO, "tool", "pprof", "-top", "-nodefraction=0", f"-sample_index={index}",
                        *(["-unit=ns"] if index == "delay" else []), path],
                       env={"PPROF_TMPDIR": self.tmp}, check=True)
        self.assertNotIn("symbolization", p.stderr)
        m = re.search(r"of (\d+)(?:ns)? total", p.stdout)
        self.assertTrue(m, p.stdout)
        return int(m.group(1)), p.stdout

    def check(self, files, names):
        path, _ = self.export("pprof", files, name="go.pb.gz")
        count, wait = totals(report(files))
        self.assertGreater(count, 0)
        total, out = self.pprof_top(path, "delay")
        self.assertEqual(total, wait, out)
        for name in names:
            self.assertRegex(out, r"\s" + re.escape(name) + r"\n", out)
        total, out = self.pprof_top(path, "contentions")
        self.assertEqual(total, count, out)

    def test_native_totals_and_functions(self):
        self.check(hot_mutex(), ["critical_work", "worker", "pthread_mutex:hot_lock"])

    def test_python_totals_and_functions(self):
        files = python_hotspot()
        lock = [l["name"] for l in report(files)["locks"] if l["kind"] == "threading.Lock" and l["contention"]]
        root = lock[0] if lock[0].startswith("threading.Lock") else "threading.Lock:" + lock[0]
        self.check(files, ["update", "worker", root])

    def test_tagfocus_on_lock_label(self):
        path, _ = self.export("pprof", prodcons(), "--all", name="tags.pb.gz")
        p = lptest.run([GO, "tool", "pprof", "-top", "-unit=ns", "-tagfocus=lock_kind=pthread_cond", path],
                       env={"PPROF_TMPDIR": self.tmp}, check=True)
        # with a filter, "of N total" stays the whole profile; the part shown is "accounting for N"
        shown = int(re.search(r"accounting for (\d+)ns", p.stdout).group(1))
        rep = report(prodcons())
        self.assertEqual(shown, sum(l["wait_ns"] for l in rep["locks"] if l["kind"] == "pthread_cond"))


# ---- speedscope ---------------------------------------------------------------------------------------------

class Speedscope(ExportTest):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(SPEEDSCOPE_SCHEMA):
            raise AssertionError(f"{SPEEDSCOPE_SCHEMA} is missing: run scripts/setup-node.sh")
        with open(SPEEDSCOPE_SCHEMA) as f:
            cls.schema = json.load(f)

    def check(self, files, *opts, contention=True):
        doc = self.export_json("speedscope", files, *opts)
        jsonschema.validate(doc, self.schema)
        rep = report(files)
        frames = doc["shared"]["frames"]
        weights = [p["endValue"] for p in doc["profiles"]]
        self.assertEqual(weights, sorted(weights, reverse=True), "heaviest lock class first")
        self.assertEqual(doc["activeProfileIndex"], 0)
        for prof in doc["profiles"]:
            self.assertEqual(prof["type"], "sampled")
            self.assertEqual(prof["unit"], "nanoseconds")
            self.assertEqual(len(prof["samples"]), len(prof["weights"]))
            self.assertEqual(sum(prof["weights"]), prof["endValue"] - prof["startValue"])
            roots = {frames[s[0]]["name"] for s in prof["samples"]}
            self.assertEqual(len(roots), 1, roots)  # one lock class per profile, its frame at the root
            self.assertTrue(prof["name"].startswith(roots.pop() + ": "), prof["name"])
        self.assertEqual(sum(sum(p["weights"]) for p in doc["profiles"]), totals(rep, contention)[1])
        return doc

    def test_native(self):
        doc = self.check(hot_mutex())
        self.assertTrue(doc["profiles"][0]["name"].startswith("pthread_mutex:hot_lock: "))
        names = [doc["shared"]["frames"][i]["name"] for i in doc["profiles"][0]["samples"][0]]
        self.assertEqual(names[0], "pthread_mutex:hot_lock")
        self.assertEqual(names[-2:], ["worker", "critical_work"])  # root first, leaf last

    def test_python_frames_have_file_and_line(self):
        doc = self.check(python_hotspot())
        script = os.path.join(EXAMPLES_PY, "lock_hotspot.py")
        self.assertIn({"name": "update", "file": script, "line": line_of(script, "with stats_lock:")},
                      doc["shared"]["frames"])

    def test_all(self):
        doc = self.check(prodcons(), "--all", contention=None)
        self.assertTrue(any(p["name"].split(": ")[0].endswith(" [condition]") for p in doc["profiles"]))

    def test_nothing_to_export_is_still_valid(self):
        _, files = self.profile([ex("uncontended"), "2"])
        doc = self.export_json("speedscope", files)
        jsonschema.validate(doc, self.schema)
        self.assertEqual(len(doc["profiles"]), 1)
        self.assertEqual(doc["profiles"][0]["samples"], [])


# ---- Chrome trace -------------------------------------------------------------------------------------------

class ChromeTrace(ExportTest):
    def check_structure(self, doc):
        events = doc["traceEvents"]
        xs = [e for e in events if e["ph"] == "X"]
        meta = [e for e in events if e["ph"] == "M"]
        thread_names = {(e["pid"], e["tid"]) for e in meta if e["name"] == "thread_name" and e["args"]["name"]}
        process_names = {e["pid"] for e in meta if e["name"] == "process_name" and e["args"]["name"]}
        for e in xs:
            for key in ("ts", "dur", "pid", "tid", "name", "cat"):
                self.assertIn(key, e)
            self.assertGreaterEqual(e["ts"], 0)
            self.assertAlmostEqual(e["dur"] * 1000, e["args"]["wait_ns"], delta=0.5)
            self.assertIn((e["pid"], e["tid"]), thread_names)
            self.assertIn(e["pid"], process_names)
            for key in ("lock", "kind", "wait_class", "wait_ns", "stack"):
                self.assertIn(key, e["args"])
        self.assertEqual(doc["displayTimeUnit"], "ns")
        self.assertTrue(doc["otherData"]["time_origin_unix_ns"].isdigit())
        return xs

    def test_hot_mutex_timeline(self):
        files = hot_mutex()
        meta, _ = profile_records(files[0])
        doc = self.export_json("chrome", files)
        xs = self.check_structure(doc)
        self.assertTrue(xs)
        self.assertEqual(meta["timeline_dropped"], "0")
        self.assertEqual(sum(e["args"]["wait_ns"] for e in xs), totals(report(files))[1])
        for e in xs:
            self.assertEqual(e["name"], "hot_lock")
            self.assertEqual(e["cat"], "pthread_mutex,contention")
            self.assertTrue(e["args"]["top_frame"].startswith("critical_work "), e["args"])
            self.assertTrue(e["args"]["stack"][0].startswith("critical_work "), e["args"])

    def test_all_classes_add_up(self):
        files = prodcons()
        rep = report(files)
        xs = self.check_structure(self.export_json("chrome", files, "--all"))
        by_class = collections.Counter()
        for e in xs:
            by_class["contention" if e["args"]["wait_class"] == "contention" else "wait"] += e["args"]["wait_ns"]
        self.assertEqual(by_class["contention"], totals(rep, True)[1])
        self.assertEqual(by_class["wait"], totals(rep, False)[1])
        # a condition wait encloses the mutex re-acquisition that ends it: slices nest, never cross
        by_thread = collections.defaultdict(list)
        for e in xs:
            by_thread[(e["pid"], e["tid"])].append((round(e["ts"] * 1000), round(e["dur"] * 1000)))
        for spans in by_thread.values():
            open_ends = []
            for start, dur in sorted(spans, key=lambda s: (s[0], -s[1])):
                while open_ends and open_ends[-1] <= start:
                    open_ends.pop()
                self.assertFalse(open_ends and start + dur > open_ends[-1], "partially overlapping waits")
                open_ends.append(start + dur)

    def test_processes_are_separate_pids(self):
        cmd = f"{ex('hot_mutex')} 3 100; {ex('hot_mutex')} 2 100; true"
        files = recorded("multi", ["/bin/sh", "-c", cmd])
        self.assertGreaterEqual(len(files), 3)
        pids = {p["pid"] for p in report(files)["processes"]}
        xs = self.check_structure(self.export_json("chrome", files))
        self.assertTrue({e["pid"] for e in xs} <= pids)
        names = {e["pid"] for e in self.export_json("chrome", files)["traceEvents"] if e["name"] == "process_name"}
        self.assertEqual(names, pids)

    def test_without_timeline_exit_2_and_no_output(self):
        _, files = self.profile([ex("hot_mutex"), "2", "50"])
        out = os.path.join(self.tmp, "trace.json")
        p = lockprof("export", "--format", "chrome", "-o", out, *files)
        self.assertEqual(p.returncode, 2)
        self.assertIn("lockprof run --timeline", p.stderr)
        self.assertIn("LOCKPROF_TIMELINE=1", p.stderr)
        self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
        self.assertEqual(os.listdir(self.tmp), [os.path.basename(f) for f in files])


class Timeline(ExportTest):
    """The collector's timeline ring (LOCKPROF_TIMELINE_SIZE), which the Chrome trace is made of."""

    def test_ring_overflow_is_counted_and_warned(self):
        files = recorded("ring", [ex("prodcons"), "3", "20000"], "--timeline=16")
        meta, recs = profile_records(files[0])
        self.assertEqual(meta["timeline_capacity"], "16")
        recorded_waits = sum(a[6] for a in recs["a"])
        self.assertEqual(recorded_waits, int(meta["events"]))
        self.assertGreater(int(meta["timeline_dropped"]), 0)
        self.assertEqual(len(recs["e"]) + int(meta["timeline_dropped"]), recorded_waits)
        per_thread = collections.Counter(e[2] for e in recs["e"])
        self.assertTrue(all(n <= 16 for n in per_thread.values()), per_thread)
        _, p = self.export("chrome", files, "--all")
        self.assertIn("older waits are not in the trace", p.stderr)

    def test_events_keep_their_thread_when_states_are_reused(self):
        # Threads started in batches: a later batch reuses the collector states (and rings) of the earlier one.
        # Contention does not depend on GIL switches: the main thread holds the lock while every worker of the
        # batch reaches it (barrier), and each worker holds it across a sleep, so at least two workers per batch
        # block on it whatever the scheduling.
        code = ("import threading, time\n"
                "lock = threading.Lock()\n"
                "def work(go):\n"
                "    go.wait()\n"
                "    for _ in range(5):\n"
                "        with lock:\n"
                "            time.sleep(0.003)\n"
                "for batch in range(4):\n"
                "    go = threading.Barrier(4)\n"
                "    ts = [threading.Thread(target=work, args=(go,)) for _ in range(3)]\n"
                "    with lock:\n"
                "        for t in ts: t.start()\n"
                "        go.wait()\n"
                "        time.sleep(0.02)\n"
                "    for t in ts: t.join()\n")
        files = recorded("batches", ["/usr/bin/python3", "-c", code])
        meta, recs = profile_records(files[0])
        self.assertEqual(meta["timeline_dropped"], "0")
        agg, ev = collections.Counter(), collections.Counter()
        for a in recs["a"]:
            agg[(a[3], "count")] += a[6]
            agg[(a[3], "wait")] += a[7]
        for e in recs["e"]:
            ev[(e[2], "count")] += 1
            ev[(e[2], "wait")] += e[1]
        self.assertGreater(len({k[0] for k in agg}), 4, "expected waits in several batches")
        self.assertEqual(ev, agg)


# ---- all formats --------------------------------------------------------------------------------------------

class Cli(ExportTest):
    def test_deterministic(self):
        files = prodcons()
        for fmt in ("pprof", "speedscope", "chrome"):
            a, _ = self.export(fmt, files, "--all", name=f"a.{fmt}")
            b, _ = self.export(fmt, files, "--all", name=f"b.{fmt}")
            with open(a, "rb") as fa, open(b, "rb") as fb:
                self.assertEqual(fa.read(), fb.read(), fmt)

    def test_errors_exit_2_and_leave_no_file(self):
        bad = os.path.join(self.tmp, "bad.prof")
        with open(bad, "w") as f:
            f.write("lockprof-profile 1\nm pid 1\n")  # no trailer: truncated
        garbage = os.path.join(self.tmp, "garbage.prof")
        with open(garbage, "wb") as f:
            f.write(b"\x00\x01not a profile")
        out = os.path.join(self.tmp, "out")
        good = hot_mutex()
        cases = [
            ["--format", "svg", *good],
            [*good],
            ["--format", "pprof", "--frames", "some", *good],
            ["--format", "pprof", "--bogus", *good],
            ["--format", "speedscope"],
            ["--format", "pprof", bad],
            ["--format", "speedscope", garbage],
            ["--format", "chrome", *good, os.path.join(self.tmp, "missing.prof")],
        ]
        for args in cases:
            with self.subTest(args=args):
                p = lockprof("export", "-o", out, *args)
                self.assertEqual(p.returncode, 2)
                self.assertTrue(p.stderr.startswith("lockprof: "), p.stderr)
                self.assertFalse(os.path.exists(out))
                self.assertEqual([f for f in os.listdir(self.tmp) if f.startswith("out")], [])
        p = lockprof("export", "--format", "speedscope", "-o", os.path.join(self.tmp, "no", "such", "dir"), *good)
        self.assertEqual(p.returncode, 2)

    def test_failed_export_keeps_the_old_file(self):
        _, files = self.profile([ex("hot_mutex"), "2", "50"])  # no timeline
        out = os.path.join(self.tmp, "keep.json")
        with open(out, "w") as f:
            f.write("old\n")
        self.assertEqual(lockprof("export", "--format", "chrome", "-o", out, *files).returncode, 2)
        with open(out) as f:
            self.assertEqual(f.read(), "old\n")

    def test_help(self):
        p = lockprof("export", "--help")
        self.assertEqual(p.returncode, 0)
        for word in ("usage: lockprof export", "pprof", "speedscope", "chrome", "--timeline", "--frames", "--all"):
            self.assertIn(word, p.stdout)


if __name__ == "__main__":
    lptest.main()
