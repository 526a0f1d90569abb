"""Labels (issue 19): what a program labels with `lockprof.label` (python/lockprof, imported from the source tree)
reaches the profile (format version 2) and every consumer — `report --by label` and `--label`, the JSON report's
label_sets, pprof sample labels, `--split-by-label` of folded stacks and speedscope, `check`'s label=KEY:VALUE —
and version 1 profiles still read as before. Real programs under the real collector on every interpreter for the
collector's side; a hand-written version 2 profile for exact figures in the CLI's."""
import json
import os
import re
import subprocess
import unittest

import jsonschema

import lptest
from lptest import SRC, TempDirTest, lockprof, pythons
from test_export import SPEEDSCOPE_SCHEMA, Pprof

PYPATH = {"PYTHONPATH": os.path.join(SRC, "python")}
LABELLED = os.path.join(SRC, "tests", "data", "labelled.py")
SCHEMA = os.path.join(SRC, "docs", "report-schema.json")


def report(files, *opts):
    return json.loads(lockprof("report", "--format", "json", *opts, *files, check=True).stdout)


def contention(rep, waiter=None):
    """(contentions, wait_ns) of the report's contention rows, only stacks with a frame `waiter` when given."""
    count = wait = 0
    for lock in rep["locks"]:
        if not lock["contention"]:
            continue
        for s in lock["stacks"]:
            if waiter is None or any(f["function"] == waiter for f in s["frames"]):
                count += s["contentions"]
                wait += s["wait_ns"]
    return count, wait


def header(path):
    with open(path, "rb") as f:
        return f.readline().decode(errors="replace").strip()


class LabelledProgram(TempDirTest):
    """tests/data/labelled.py under `lockprof run` on every interpreter."""

    def run_labelled(self, py):
        explicit = os.path.join(self.tmp, "explicit.prof")
        with open(explicit, "w") as f:
            f.write("not a profile\n")  # lockprof.dump(path) replaces whatever is there
        p, files = self.profile([py, LABELLED, explicit], env=PYPATH)
        self.assertEqual(len(files), 1, p.stderr)
        out = json.loads(p.stdout.strip().splitlines()[-1])
        return out, files, explicit

    def test_labels_reach_the_profile(self):
        with open(SCHEMA) as f:
            schema = json.load(f)
        for label, py in pythons():
            with self.subTest(python=label):
                out, files, explicit = self.run_labelled(py)
                self.assertEqual(out, {"active": True, "dump": explicit})
                self.assertEqual(header(files[0]), "lockprof-profile 2")
                self.assertEqual(lptest.profile_meta(explicit)["reason"], ["request"])
                rep = report(files)
                jsonschema.validate(rep, schema)
                sets = {tuple(sorted(s["labels"].items())): s for s in rep["label_sets"]}
                # every labelled block's threads waited for the lock, under the block's labels
                for want in [(("request", "/a"),), (("phase", "inner"), ("request", "/b")), (("job", "deco"),)]:
                    self.assertIn(want, sets, sorted(sets))
                    only = report(files, *[f"--label={k}={v}" for k, v in want])
                    self.assertGreater(contention(only, "hold")[0], 0, want)
                # labels follow the thread: threads started before `request=/c` wait without it
                self.assertEqual(contention(report(files, "--label", "request=/c"), "hold"), (0, 0))
                self.assertGreater(contention(rep, "hold")[0], sum(contention(report(files, f"--label={k}={v}"),
                                                                              "hold")[0]
                                                                   for k, v in [("request", "/a"),
                                                                                ("request", "/b"),
                                                                                ("job", "deco")]))

    def test_label_filters_add_up(self):
        _, files, _ = self.run_labelled(pythons()[0][1])
        rep = report(files)
        by_set = {tuple(sorted(s["labels"].items())): (s["contentions"], s["wait_ns"]) for s in rep["label_sets"]}
        a, b = by_set[(("request", "/a"),)], by_set[(("phase", "inner"), ("request", "/b"))]
        self.assertEqual(contention(report(files, "--label", "request=/a")), a)
        # one key given twice: either value; two keys: both
        self.assertEqual(contention(report(files, "--label", "request=/a", "--label", "request=/b")),
                         (a[0] + b[0], a[1] + b[1]))
        self.assertEqual(contention(report(files, "--label", "request=/b", "--label", "phase=inner")), b)
        self.assertEqual(contention(report(files, "--label", "request=/a", "--label", "phase=inner")), (0, 0))
        text = lockprof("report", "--by", "label", "--top", "0", *files, check=True).stdout
        for want in ["request=/a", "phase=inner,request=/b", "job=deco", "(no labels)"]:
            self.assertRegex(text, r"\n  \d+\s+\S+\s+" + re.escape(want) + " ")

    def test_without_the_collector_nothing_happens(self):
        code = ("import threading, lockprof\n"
                "start = threading.Thread.start\n"
                "with lockprof.label(a='1'):\n"
                "    with lockprof.label(b='2'):\n"
                "        pass\n"
                "assert threading.Thread.start is start\n"
                "try:\n"
                "    lockprof.dump()\n"
                "except RuntimeError as e:\n"
                "    print('RuntimeError', e)\n"
                "print('active', lockprof.active())\n")
        for label, py in pythons():
            with self.subTest(python=label):
                p = lptest.run([py, "-c", code], env=PYPATH, check=True)
                self.assertIn("RuntimeError lockprof.dump(): the collector is not loaded", p.stdout)
                self.assertIn("active False", p.stdout)

    def test_bad_labels_are_refused(self):
        code = ("import errno, os, lockprof\n"
                "def err(f):\n"
                "    try:\n"
                "        f()\n"
                "    except Exception as e:\n"
                "        return type(e).__name__\n"
                "    return 'ok'\n"
                "print(err(lambda: lockprof.label(**{'a b': 'x'})), err(lambda: lockprof.label(**{'a:b': 'x'})),\n"
                "      err(lambda: lockprof.label(x=1)), err(lambda: lockprof.label(x='\\0')),\n"
                "      err(lambda: lockprof.label(x='v' * 5000)))\n"
                "async def coro():\n"
                "    pass\n"
                "print(err(lambda: lockprof.label(x='1')(coro)))\n"
                "outer, inner = lockprof.label(a='v' * 3000), lockprof.label(b='v' * 3000)\n"
                "with outer:\n"
                "    print(err(inner.__enter__))\n"
                "with outer:\n"
                "    with lockprof.label(c='1'):\n"
                "        pass\n"
                "try:\n"
                "    lockprof.dump(os.path.join('/nonexistent', 'x.prof'))\n"
                "except OSError as e:\n"
                "    print('OSError', e.errno == errno.ENOENT)\n")
        p, _ = self.profile([pythons()[0][1], "-c", code], "-q", env=PYPATH)
        self.assertEqual(p.stdout.split("\n")[:4], ["ValueError ValueError TypeError ValueError ValueError",
                                                     "TypeError", "ValueError", "OSError True"], p.stderr)


# ---- the CLI on a hand-written version 2 profile --------------------------------------------------------------

PROFILE_V2 = """lockprof-profile 2
m pid 100
m duration_ns 1000000000
m threads 1
s 0 worker
s 1 /srv/app.py
s 2 hot_lock
s 3 test
s 4 tests/t.py::test_a[x=1]
s 5 tests/t.py::test_b
s 6 lock
s 7 mine
f 0 p 0 1 10 - 0
k 0 0
l 0 pthread_mutex 40 2 -
t 101 0
g 0 3 4
g 1 6 7 3 5
a 0 0 - 101 0 0 3 3000000 2000000 20:3 0
a 0 0 - 101 0 0 2 5000000 3000000 21:2 1
a 0 0 - 101 0 0 1 1000000 1000000 19:1 -
"""
TEST_A, TEST_B = "tests/t.py::test_a[x=1]", "tests/t.py::test_b"


class Cli(TempDirTest):
    def setUp(self):
        super().setUp()
        self.prof = os.path.join(self.tmp, "v2.prof")
        with open(self.prof, "w") as f:
            f.write(PROFILE_V2 + f"end {PROFILE_V2.count(chr(10)) - 1}\n")

    def out(self, *args):
        return lockprof(*args, check=True).stdout

    def test_report_by_label(self):
        text = self.out("report", "--by", "label", self.prof)
        rows = re.findall(r"^  \d+\s+pthread_mutex\s+(\(no labels\)|\S+)\s+(\d+)\s+([\d.]+)", text, re.M)
        self.assertEqual(rows, [(f"lock=mine,test={TEST_B}", "2", "5.000"), (f"test={TEST_A}", "3", "3.000"),
                                ("(no labels)", "1", "1.000")])
        rep = report([self.prof])
        self.assertEqual([(s["labels"], s["contentions"], s["wait_ns"]) for s in rep["label_sets"]],
                         [({"lock": "mine", "test": TEST_B}, 2, 5000000), ({"test": TEST_A}, 3, 3000000),
                          ({}, 1, 1000000)])

    def test_label_filter(self):
        self.assertEqual(contention(report([self.prof], "--label", f"test={TEST_A}")), (3, 3000000))
        self.assertEqual(contention(report([self.prof], "--label", "lock=mine", "--label", f"test={TEST_B}")),
                         (2, 5000000))
        self.assertEqual(contention(report([self.prof], "--label", "lock=mine", "--label", f"test={TEST_A}")), (0, 0))
        self.assertEqual(contention(report([self.prof], "--label", "test=")), (0, 0))
        folded = self.out("flamegraph", "--format", "folded", "--label", f"test={TEST_A}", self.prof)
        self.assertEqual(folded, "pthread_mutex:hot_lock;worker (app.py:10) 3000\n")

    def test_folded_split_by_label(self):
        self.assertEqual(self.out("flamegraph", "--format", "folded", "--split-by-label", "test", self.prof),
                         f"test unset;pthread_mutex:hot_lock;worker (app.py:10) 1000\n"
                         f"test={TEST_A};pthread_mutex:hot_lock;worker (app.py:10) 3000\n"
                         f"test={TEST_B};pthread_mutex:hot_lock;worker (app.py:10) 5000\n")
        svg = os.path.join(self.tmp, "split.svg")
        lockprof("flamegraph", "--split-by-label", "lock", "-o", svg, self.prof, check=True)
        with open(svg) as f:
            body = f.read()
        self.assertIn("lock=mine", body)
        self.assertIn("lock unset", body)

    def test_speedscope_split_by_label(self):
        out = os.path.join(self.tmp, "s.json")
        lockprof("export", "--format", "speedscope", "--split-by-label", "test", "-o", out, self.prof, check=True)
        with open(out) as f:
            doc = json.load(f)
        if os.path.exists(SPEEDSCOPE_SCHEMA):
            with open(SPEEDSCOPE_SCHEMA) as f:
                jsonschema.validate(doc, json.load(f))
        self.assertEqual([(p["name"], sum(p["weights"])) for p in doc["profiles"]],
                         [(f"test={TEST_B}: 2 contentions, 5.000 ms", 5000000),
                          (f"test={TEST_A}: 3 contentions, 3.000 ms", 3000000),
                          ("test unset: 1 contention, 1.000 ms", 1000000)])
        names = [f["name"] for f in doc["shared"]["frames"]]
        self.assertEqual({names[s[0]] for p in doc["profiles"] for s in p["samples"]}, {"pthread_mutex:hot_lock"})

    def test_pprof_labels(self):
        out = os.path.join(self.tmp, "p.pb.gz")
        lockprof("export", "--format", "pprof", "-o", out, self.prof, check=True)
        samples = Pprof(out).samples
        got = sorted((s["values"][1], {k: v for k, v in s["labels"].items() if k in ("test", "label:lock", "lock")})
                     for s in samples)
        self.assertEqual(got, [(1000000, {"lock": "hot_lock"}),
                               (3000000, {"lock": "hot_lock", "test": TEST_A}),
                               (5000000, {"label:lock": "mine", "lock": "hot_lock", "test": TEST_B})])

    def test_check_label_selector(self):
        rules = os.path.join(self.tmp, "rules.txt")
        with open(rules, "w") as f:
            f.write(f"max wait_ms label=test:{TEST_B} 4\n"
                    f"max contentions label=test:{TEST_A} 3\n"
                    "max wait_ms !label=lock:mine 4\n"
                    "max wait_ms label=lock:mine,label=test:tests/t.py::test_b 4.999\n")
        p = lockprof("check", "--rules", rules, self.prof)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertEqual(re.findall(r"^(PASS|FAIL) .*measured ([^ ,]+)", p.stdout, re.M),
                         [("FAIL", "5.000"), ("PASS", "3"), ("PASS", "4.000"), ("FAIL", "5.000")])

    def test_bad_usage_exit_2_no_output(self):
        out = os.path.join(self.tmp, "out")
        for args, msg in [(["report", "--label", "test"], "--label needs KEY=VALUE"),
                          (["report", "--label", "=x"], "--label needs KEY=VALUE"),
                          (["report", "--label", "a b=x"], "a label key has no blanks"),
                          (["flamegraph", "--split-by-label", "a=b"], "needs a label key"),
                          (["export", "--format", "pprof", "--split-by-label", "test"], "is for --format speedscope"),
                          (["export", "--format", "chrome", "--label", "a=b"], "timeline events carry no labels")]:
            with self.subTest(args=args):
                p = lockprof(*args, "-o", out, self.prof)
                self.assertEqual(p.returncode, 2)
                self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
                self.assertIn(msg, p.stderr)
                self.assertFalse(os.path.exists(out))
        rules = os.path.join(self.tmp, "bad.txt")
        with open(rules, "w") as f:
            f.write("max wait_ms label=test 5\n")
        p = lockprof("check", "--rules", rules, self.prof)
        self.assertEqual(p.returncode, 2)
        self.assertIn("bad.txt:1: selector term 'label=test' needs label=KEY:VALUE", p.stderr)


class Versions(TempDirTest):
    def test_version_1_profiles_still_read(self):
        """The version 1 profiles kept in the tree (golden data, fuzz seeds) read, with no label sets."""
        paths = []
        for d in ["tests/data/golden/gate", "tests/data/golden/flamegraph", "fuzz/corpus"]:
            full = os.path.join(SRC, d)
            paths += [os.path.join(full, f) for f in sorted(os.listdir(full)) if f.endswith(".prof")]
        v1 = [p for p in paths if header(p) == "lockprof-profile 1"]
        self.assertGreaterEqual(len(v1), 10)
        for path in v1:
            with self.subTest(path=os.path.relpath(path, SRC)):
                p = lockprof("report", "--format", "json", path)
                if p.returncode == 0:
                    self.assertTrue(all(s["labels"] == {} for s in json.loads(p.stdout)["label_sets"]))
                else:  # the seeds of malformed input stay malformed
                    self.assertIn("fuzz/corpus", path)
                    self.assertEqual(p.returncode, 2)

    def test_label_set_not_in_version_1(self):
        path = os.path.join(self.tmp, "v1.prof")
        with open(path, "w") as f:
            f.write("lockprof-profile 1\ns 0 k\ng 0 0 0\nend 2\n")
        p = lockprof("report", path)
        self.assertEqual(p.returncode, 2)
        self.assertIn("line 3: record type 'g' is not part of format version 1", p.stderr)


if __name__ == "__main__":
    lptest.main()
