"""CPython's own thread, lock, fork and signal tests under lockprof (scripts/cpython-tests.sh --subset): every test
that passes without lockprof passes with it, on every interpreter scripts/find-pythons.sh finds, and each run with
lockprof leaves a readable profile of its main process without warnings of concern.

The full set (docs/CPYTHON-SUITES.md) takes about 10 minutes per interpreter; CI runs the representative subset. The
script itself reruns a test that failed only under lockprof, both ways, before calling it a regression, so a
flaky CPython test does not fail this one."""
import json
import os
import unittest

import lptest
from lptest import BUILD, SRC, TempDirTest, run

SCRIPT = os.path.join(SRC, "scripts", "cpython-tests.sh")


class CPythonSuites(TempDirTest):
    def setUp(self):
        super().setUp()
        if not lptest.pythons():
            self.skipTest("no interpreter found")

    def run_subset(self, *extra):
        out = os.path.join(self.tmp, "out")
        p = run([SCRIPT, "--subset", "--out", out, *extra], env={"LOCKPROF_BUILD": BUILD}, timeout=3300)
        path = os.path.join(out, "results.json")
        self.assertTrue(os.path.exists(path), f"no results.json; exit {p.returncode}\n{p.stdout[-4000:]}\n"
                                              f"{p.stderr[-4000:]}")
        with open(path) as f:
            return p, json.load(f)

    def test_subset_passes_with_lockprof(self):
        p, res = self.run_subset()
        msg = f"exit {p.returncode}\n{p.stdout[-6000:]}\n{p.stderr[-3000:]}"
        self.assertTrue(res["interpreters"], "no interpreter had CPython's test package\n" + msg)
        self.assertTrue(res["results"], msg)
        for r in res["results"]:
            key = f"{r['interpreter']} {r['module']}"
            with self.subTest(run=key):
                self.assertEqual(r["regressions"], [], f"tests that pass only without lockprof in {key}\n" + msg)
                pc = r["profile_check"]
                self.assertTrue(pc["main_ok"], f"{key}: main process profile {pc['main']!r}\n" + msg)
                self.assertEqual(pc["concerns"], [], key)
                self.assertGreater(pc["profiles"], 0, key)
                # the module ran: regrtest wrote results both ways
                self.assertIsNotNone(r["tests"], key + ": no results without lockprof\n" + msg)
                self.assertIsNotNone(r["tests_with"], key + ": no results with lockprof\n" + msg)
        # the core suites ran on every interpreter that has a test package
        for label in res["interpreters"]:
            ran = {r["module"] for r in res["results"] if r["interpreter"] == label}
            self.assertIn("test_threading", ran, label)
        self.assertEqual(p.returncode, 0, msg)
        print(p.stdout[p.stdout.find("\ninterpreter"):], flush=True)  # the table, for the test log


if __name__ == "__main__":
    lptest.main()
