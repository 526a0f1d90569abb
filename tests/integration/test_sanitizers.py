"""-Dsanitize=true only: the ASan+UBSan build of the collector (liblockprof-asan.so) under `lockprof run`, with the
ASan runtime preloaded first, on the C examples (threads, rwlocks, condition variables, interval dumps, fork and
exec) and on every example of examples/python with every test interpreter; and every subcommand of the ASan+UBSan
build of lockprof on valid profiles with hostile contents (fuzz/gen_profiles.py). Any sanitizer report fails.

The rest of the suite runs the UBSan (trap mode) build of liblockprof.so, which needs no runtime; see the
sanitizers section of meson.build for why the two builds exist. Leak detection is off for the runs of the ASan
collector (the hosts, CPython, leak at exit by design, and the collector allocates nothing with malloc on its hook
paths); it stays on for lockprof itself."""
import importlib.util
import os
import subprocess
import unittest

import lptest
from lptest import EXAMPLES_C, EXAMPLES_PY, SRC, TempDirTest, has_frame, pythons

ASAN_LIB = os.environ.get("LOCKPROF_ASAN_LIB", "")
ASAN_RUNTIME = os.environ.get("LOCKPROF_ASAN_RUNTIME", "")
MARKERS = ("Sanitizer", "runtime error:")

# Small but contended workloads (arguments of each example).
PY_EXAMPLES = {
    "lock_hotspot": ["4", "2000"],
    "gil_cpu": ["3", "200000"],
    "dict_cache": ["4", "5000"],
    "list_queue": ["2", "5000"],
    "deque_work": ["2", "5000"],
    "order_counter": ["4", "5000"],
    "shared_set": ["4", "5000"],
    "type_lock": ["2", "200"],
}


def asan_env(**extra):
    env = {
        "LOCKPROF_LIB": ASAN_LIB,
        "LD_PRELOAD": ASAN_RUNTIME,
        # abort (not exit) on any report, so that an exit status the test expects cannot hide one
        "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1:halt_on_error=1:print_summary=1",
        "UBSAN_OPTIONS": "halt_on_error=1:abort_on_error=1:print_stacktrace=1",
    }
    env.update(extra)
    return env


@unittest.skipUnless(ASAN_LIB and ASAN_RUNTIME, "only in a -Dsanitize=true build (meson sets LOCKPROF_ASAN_LIB)")
class AsanCollector(TempDirTest):
    def run_asan(self, cmd, *opts, name="p", env=None):
        p, files = self.profile(cmd, *opts, env=asan_env(**(env or {})), name=name)
        for m in MARKERS:
            self.assertNotIn(m, p.stderr, p.stderr[-4000:])
        self.assertTrue(files, p.stderr[-2000:])
        return p, files

    def test_runtime_stays_first_in_ld_preload(self):
        out = os.path.join(self.tmp, "env.txt")
        p, _ = self.run_asan(["sh", "-c", f'printf "%s" "$LD_PRELOAD" > {out}'], name="env")
        with open(out) as f:
            self.assertEqual(f.read().split(":"), [ASAN_RUNTIME, os.path.realpath(ASAN_LIB)])

    def test_c_examples(self):
        for ex, args in (("hot_mutex", ["4", "500"]), ("rwlock", []), ("prodcons", ["2", "2000"]),
                         ("uncontended", [])):
            with self.subTest(example=ex):
                _, files = self.run_asan([os.path.join(EXAMPLES_C, ex), *args], name=ex)
                self.assertEqual(len(files), 1, files)
                rep = self.report_json(files)
                if ex == "hot_mutex":
                    locks = [l for l in rep["locks"] if l["name"] == "hot_lock"]
                    self.assertTrue(locks and locks[0]["contentions"] > 0, [l["name"] for l in rep["locks"]])
                    self.assertTrue(any(has_frame(s["frames"], "critical_work") for s in locks[0]["stacks"]))

    def test_interval_dumps_timeline_and_holders(self):
        _, files = self.run_asan([os.path.join(EXAMPLES_C, "hot_mutex"), "4", "1000"], "--interval", "0.01",
                                 "--timeline=256", name="interval")
        self.assertEqual(len(files), 1, files)
        self.report_json(files)

    def test_fork_and_exec(self):
        hot = os.path.join(EXAMPLES_C, "hot_mutex")
        _, files = self.run_asan(["sh", "-c", f"{hot} 2 100; {hot} 2 100 & wait"], name="sh")
        self.assertGreaterEqual(len(files), 2, files)
        for f in files:
            self.report_json([f])

    def test_python_examples(self):
        interpreters = pythons()
        if not interpreters:
            self.skipTest("no interpreter found")
        for label, py in interpreters:
            for ex, args in PY_EXAMPLES.items():
                with self.subTest(python=label, example=ex):
                    _, files = self.run_asan([py, os.path.join(EXAMPLES_PY, ex + ".py"), *args],
                                             name=f"{ex}-{label}")
                    self.assertEqual(len(files), 1, files)
                    rep = self.report_json(files)
                    self.assertIsNotNone(rep["processes"][0]["python"], "CPython not detected")


def lockprof_bytes(*args):
    """lockprof with binary output (names in these profiles are not UTF-8); fails on any sanitizer report."""
    p = subprocess.run([lptest.LOCKPROF, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    err = p.stderr.decode("utf-8", "replace")
    if any(m in err for m in lptest.SANITIZER_REPORTS):
        raise AssertionError(f"lockprof {args}: sanitizer report (exit {p.returncode})\n{err[-6000:]}")
    return p.returncode, err


def load_generator():
    spec = importlib.util.spec_from_file_location("gen_profiles", os.path.join(SRC, "fuzz", "gen_profiles.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class HostileProfiles(TempDirTest):
    """Model merging, grouping, renderers, exporters, diff and check on profiles the reader accepts but no
    collector would write. Deterministic: fixed seeds (1000056 once read lock_wait[-1] in rules.c's tally)."""
    SEEDS = list(range(40)) + [1000056]

    def test_every_subcommand(self):
        gen = load_generator()
        rules = os.path.join(SRC, "fuzz", "corpus-rules", "gate.txt")
        label_rules = os.path.join(SRC, "fuzz", "corpus-rules", "labels.txt")
        out = os.path.join(self.tmp, "out")
        prev = None
        for seed in self.SEEDS:
            f = os.path.join(self.tmp, f"gen-{seed}.prof")
            with open(f, "wb") as fh:
                fh.write(gen.profile(seed))
            with self.subTest(seed=seed):
                rc, err = lockprof_bytes("report", f)
                self.assertEqual(rc, 0, err)  # valid by construction
                cmds = [
                    ["report", "--format", "json", f], ["report", "--format", "markdown", f],
                    ["report", "--by", "type", "--top", "0", "--depth", "0", f],
                    ["report", "--by", "stack", "--frames", "all", f],
                    ["report", "--format", "json", "--by", "thread", "--top", "1", "--depth", "1", f],
                    ["report", f, f],
                    ["flamegraph", "--format", "folded", f], ["flamegraph", "--format", "svg", "--minwidth", "0", f],
                    ["flamegraph", "--format", "html", "--holders", "--all", f],
                    ["flamegraph", "--format", "folded", "--weight", "count", "--frames", "all", f],
                    ["export", "--format", "pprof", "-o", out, f],
                    ["export", "--format", "speedscope", "--all", "--frames", "all", f],
                    ["export", "--format", "chrome", "--all", f, f],
                    ["diff", f, f], ["diff", "--format", "json", "--by", "stack", f, f],
                    ["diff", "--format", "folded", "--by", "type", f, f],
                    ["check", "--rules", rules, "--baseline", f, f],
                    # labels (half of the generated profiles are format version 2, with label sets)
                    ["report", "--by", "label", "--top", "0", f],
                    ["report", "--format", "markdown", "--by", "label", f],
                    ["report", "--format", "json", "--label", "test=x", "--label", "phase=y", "--label", "test=", f],
                    ["flamegraph", "--format", "svg", "--split-by-label", "test", f],
                    ["export", "--format", "speedscope", "--split-by-label", "a.b-c_d", "--all", f],
                    ["export", "--format", "pprof", "--label", "K~!=x", "-o", out, f],
                    ["check", "--rules", label_rules, f],
                ]
                if prev:
                    cmds += [["report", prev, f], ["diff", prev, f], ["diff", "--by", "stack", f, prev],
                             ["check", "--rules", rules, "--baseline", prev, f]]
                for c in cmds:
                    rc, err = lockprof_bytes(*c)
                    if c[0] == "check":  # 1: a rule failed
                        self.assertIn(rc, (0, 1), (c, err[-2000:]))
                    elif "chrome" in c and "has no timeline" in err:  # recorded without --timeline
                        self.assertEqual(rc, 2, (c, err[-2000:]))
                    else:
                        self.assertEqual(rc, 0, (c, err[-2000:]))
            prev = f


if __name__ == "__main__":
    lptest.main()
