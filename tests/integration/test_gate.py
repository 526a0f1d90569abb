"""lockprof diff, lockprof check (the CI gate), report --format markdown, and the GitHub Actions example
(issue: comparisons and CI gates).

Exact outputs are golden files of hand-made profiles (tests/data/golden/gate, refreshed and checked by
scripts/refresh-golden.sh); real runs of the examples only get assertions that hold whatever the contention
counts of the run: exit statuses, which locks and selectors match, and how the outputs are structured. When a run
happens to produce no contention of the kind under test it is repeated, up to three times, as in test_python.py.
"""
import html.parser
import json
import os
import re
import shutil
import subprocess
import unittest
import xml.etree.ElementTree as ET

import lptest
from lptest import EXAMPLES_C, EXAMPLES_PY, LOCKPROF, SRC, TempDirTest, lockprof, pythons, run

GOLDEN = os.path.join(SRC, "tests", "data", "golden", "gate")
BASE = os.path.join(GOLDEN, "base.prof")
NEW = [os.path.join(GOLDEN, "new-1.prof"), os.path.join(GOLDEN, "new-2.prof")]
WORKFLOW = os.path.join(SRC, "examples", "ci", "lockprof.yml")
CI_RULES = os.path.join(SRC, "examples", "ci", "rules.txt")


def ex(name):
    return os.path.join(EXAMPLES_C, name)


def free_threaded_python():
    for label, py in pythons():
        if lptest.python_info(py)[3]:
            return py
    return None


def check_lines(stdout):
    """{rules line number: (PASS|FAIL, rule text, measured text)} from `lockprof check` output."""
    out = {}
    for line in stdout.splitlines():
        m = re.match(r"^(PASS|FAIL)  \S+:(\d+)\s+(max .*?)\s+measured (.*?), limit ", line)
        if m:
            out[int(m.group(2))] = (m.group(1), m.group(3), m.group(4))
    return out


def write_rules(directory, text, name="rules.txt"):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def junit(path):
    """(testsuite element, [testcase elements]) of a JUnit file, checking the counts it declares."""
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites", root.tag
    suites = root.findall("testsuite")
    assert len(suites) == 1, suites
    cases = suites[0].findall("testcase")
    assert int(suites[0].get("tests")) == len(cases) == int(root.get("tests"))
    failed = sum(1 for c in cases if c.find("failure") is not None)
    assert int(suites[0].get("failures")) == failed == int(root.get("failures"))
    return suites[0], cases


class HtmlShape(html.parser.HTMLParser):
    """Counts the elements of rendered Markdown and the cells of each table row."""

    def __init__(self):
        super().__init__()
        self.tags = {}
        self.rows = []  # per table: [cells per row]

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if tag == "table":
            self.rows.append([])
        elif tag == "tr":
            self.rows[-1].append(0)
        elif tag in ("td", "th"):
            self.rows[-1][-1] += 1


def render_gfm(markdown):
    """GitHub's Markdown engine (cmark-gfm, Debian package cmark-gfm), raw HTML kept as GitHub keeps it."""
    p = subprocess.run(["cmark-gfm", "-e", "table", "-e", "strikethrough", "-e", "autolink", "--unsafe"],
                       input=markdown, stdout=subprocess.PIPE, text=True, check=True)
    shape = HtmlShape()
    shape.feed(p.stdout)
    return p.stdout, shape


# ---- golden files --------------------------------------------------------------------------------------------

class Golden(TempDirTest):
    def test_golden_outputs_are_up_to_date(self):
        p = run([os.path.join(SRC, "scripts", "refresh-golden.sh"), "--check", "--only", "gate"],
                env={"LOCKPROF": LOCKPROF}, cwd=SRC)
        self.assertEqual(p.returncode, 0, f"{p.stdout}\n{p.stderr}")
        self.assertIn("golden outputs up to date", p.stdout)

    def diff_json(self, *args):
        p = lockprof("diff", "--format", "json", *args, check=True)
        return json.loads(p.stdout)

    def entry(self, rep, **want):
        found = [e for e in rep["entries"] if all(e[k] == v for k, v in want.items())]
        self.assertEqual(len(found), 1, (want, [(e["kind"], e["lock"], e["stack"]) for e in rep["entries"]]))
        return found[0]

    def test_diff_matches_what_moved_between_runs(self):
        rep = self.diff_json("--by", "stack", BASE, *NEW)
        # anonymous dict locks at other addresses, store() two lines lower: one entity; self-held waits left out
        e = self.entry(rep, lock="dict@0x*", object_type="dict",
                       stack=["PyMutex_Lock (python3.13t)", "store (service.py)", "worker (service.py)",
                              "Thread.run (threading.py)"])
        self.assertEqual((e["base"], e["new"]), ({"contentions": 45, "wait_ns": 2_500_000},
                                                 {"contentions": 60, "wait_ns": 9_000_000}))
        self.assertEqual(e["status"], "up")
        self.assertEqual(e["wait_change_pct"], 260.0)
        # a native frame whose offset changed with a rebuild
        e = self.entry(rep, lock="hot_lock")
        self.assertEqual(e["stack"][0], "native_flush (_native.so)")
        self.assertEqual((e["status"], e["contentions_change"], e["wait_ns_change"]), ("down", -10, -15_000_000))
        # heap mutexes of two processes (one sampled 1 in 2) against the base's
        e = self.entry(rep, lock="pthread_mutex@0x*")
        self.assertEqual((e["base"]["contentions"], e["new"]["contentions"]), (4, 8))
        self.assertEqual(self.entry(rep, kind="threading.RLock")["status"], "removed")
        self.assertEqual(self.entry(rep, kind="parking_lot")["status"], "added")
        self.assertEqual(self.entry(rep, kind="gil")["wait_change_pct"], None)
        # waits that are not contention never appear
        self.assertFalse([e for e in rep["entries"] if e["kind"] in ("pthread_cond", "semaphore")])
        self.assertEqual(rep["base"], {"profiles": [BASE], "contentions": 115, "wait_ns": 33_900_000})
        self.assertEqual(rep["new"]["wait_ns"], sum(e["new"]["wait_ns"] for e in rep["entries"]))

    def test_diff_order_is_by_absolute_wait_change_then_key(self):
        for by in ("lock", "type", "stack"):
            entries = self.diff_json("--by", by, BASE, *NEW)["entries"]
            keys = [(-abs(e["wait_ns_change"]), -abs(e["contentions_change"])) for e in entries]
            self.assertEqual(keys, sorted(keys), by)
        # a tie on both changes (+600 µs/+6 added, -600 µs/-6 removed) is broken by kind, then name
        kinds = [e["kind"] for e in self.diff_json(BASE, *NEW)["entries"]]
        self.assertLess(kinds.index("parking_lot"), kinds.index("threading.RLock"))

    def test_diff_base_option_and_positional_base_agree(self):
        a = lockprof("diff", BASE, *NEW, check=True).stdout
        b = lockprof("diff", "--base", BASE, *NEW, check=True).stdout
        self.assertEqual(a, b)

    def test_folded_diff_is_flamegraph_differential_format(self):
        out = lockprof("diff", "--format", "folded", BASE, *NEW, check=True).stdout
        lines = out.splitlines()
        self.assertEqual(lines, sorted(lines, key=lambda l: l.rsplit(" ", 2)[0].encode()))
        base = new = 0
        stacks = set()
        for line in lines:
            stack, b, n = line.rsplit(" ", 2)
            self.assertRegex(b + " " + n, r"^\d+ \d+$")
            self.assertNotIn(stack, stacks)
            stacks.add(stack)
            self.assertNotRegex(stack, r"@0x[0-9a-f]")
            self.assertNotRegex(stack, r"\.py:\d+\)")
            base, new = base + int(b), new + int(n)
        self.assertEqual((base, new), (33_900, 75_600))  # µs: every contention wait, nothing else
        self.assertIn("pthread_mutex:pthread_mutex@0x*;Thread.run (threading.py);worker (service.py);"
                      "?? (_native.so+0x2222) 800 1000", lines)

    def test_markdown_renders_as_intended_on_github(self):
        if not shutil.which("cmark-gfm"):
            self.skipTest("cmark-gfm not installed (Debian package cmark-gfm)")
        for name, tables, details, warning in (("report.md", 1, 2, True), ("report.base.md", 1, 2, False),
                                               ("report.by-type-top2.md", 1, 2, True),
                                               ("report.quiet.md", 0, 1, False)):
            with self.subTest(golden=name):
                with open(os.path.join(GOLDEN, name)) as f:
                    md = f.read()
                html_out, shape = render_gfm(md)
                self.assertEqual(shape.tags.get("h3"), 1)
                self.assertEqual(len(shape.rows), tables)
                for rows in shape.rows:
                    self.assertGreater(len(rows), 1)
                    self.assertEqual(len(set(rows)), 1, f"ragged table: {rows}")
                self.assertEqual(shape.tags.get("details", 0), details)
                self.assertEqual(shape.tags.get("summary", 0), details)
                self.assertEqual("The GIL is enabled" in html_out, warning)

    def test_markdown_survives_hostile_names(self):
        if not shutil.which("cmark-gfm"):
            self.skipTest("cmark-gfm not installed (Debian package cmark-gfm)")
        name = r"a|b`c``d <script>alert(1)</script> @team *x* _y_ ~~z~~ line\nbreak"
        records = ["m pid 42", "m duration_ns 1000000", "m threads 2", f"s 0 {name}", "s 1 app|x.py",
                   "s 2 fn`|`", "f 0 p 2 1 7 - 0", "k 0 0", "l 0 pthread_mutex 10 0 -", "t 1 0",
                   "a 0 0 0 1 2 0 3 3000 2000 -"]
        path = os.path.join(self.tmp, "hostile.prof")
        with open(path, "w") as f:
            f.write("lockprof-profile 1\n" + "\n".join(records) + f"\nend {len(records)}\n")
        md = lockprof("report", "--format", "markdown", path, check=True).stdout
        html_out, shape = render_gfm(md)
        self.assertNotIn("script", shape.tags)
        self.assertEqual(len(shape.rows), 1)
        self.assertEqual(len(set(shape.rows[0])), 1, shape.rows)
        self.assertNotIn("<del>", html_out)
        self.assertNotIn("<em>", html_out)
        # the name comes through as text: in code spans (table) and escaped (details summary)
        self.assertIn("a|b`c``d &lt;script&gt;alert(1)&lt;/script&gt; @team *x* _y_ ~~z~~ line break", html_out)


# ---- diff: options and real runs ----------------------------------------------------------------------------

class DiffCli(TempDirTest):
    def test_bad_usage_exits_2(self):
        trunc = os.path.join(self.tmp, "trunc.prof")
        with open(BASE) as f, open(trunc, "w") as g:
            g.write(f.read().rsplit("end ", 1)[0])
        for args in (["diff"], ["diff", BASE], ["diff", "--base", BASE], ["diff", "--by", "thread", BASE, NEW[0]],
                     ["diff", "--format", "svg", BASE, NEW[0]], ["diff", "--top", "x", BASE, NEW[0]],
                     ["diff", "--nope", BASE, NEW[0]], ["diff", BASE, os.path.join(self.tmp, "missing.prof")],
                     ["diff", trunc, NEW[0]]):
            with self.subTest(args=args):
                p = lockprof(*args)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertTrue(p.stderr.startswith("lockprof: "), p.stderr)
                self.assertEqual(p.stdout, "")

    def test_help(self):
        p = lockprof("diff", "--help")
        self.assertEqual(p.returncode, 0)
        self.assertIn("usage: lockprof diff", p.stdout)
        self.assertIn("@0x*", p.stdout)  # the matching rule is documented where users look

    def test_output_file_is_written_atomically(self):
        out = os.path.join(self.tmp, "d.txt")
        p = lockprof("diff", "-o", out, BASE, *NEW)
        self.assertEqual((p.returncode, p.stdout), (0, ""))
        with open(out) as f:
            self.assertEqual(f.read(), lockprof("diff", BASE, *NEW, check=True).stdout)
        self.assertEqual(sorted(os.listdir(self.tmp)), ["d.txt"])
        p = lockprof("diff", "-o", os.path.join(self.tmp, "no", "such", "dir.txt"), BASE, *NEW)
        self.assertEqual(p.returncode, 2)
        self.assertEqual(sorted(os.listdir(self.tmp)), ["d.txt"])

    def test_top_limits_text_rows(self):
        out = lockprof("diff", "--top", "3", BASE, *NEW, check=True).stdout
        self.assertEqual(len(re.findall(r"^  \d+ ", out, re.M)), 3)
        self.assertIn("... 4 more (use --top 0 to see all)", out)
        out = lockprof("diff", "--top", "0", BASE, *NEW, check=True).stdout
        self.assertEqual(len(re.findall(r"^  \d+ ", out, re.M)), 7)


class Profiles(TempDirTest):
    def contended(self, cmd, kind, name, object_type=None, attempts=3):
        """Profiles cmd until its report has contention of `kind` (and object type); returns the profile files."""
        for i in range(attempts):
            _, files = self.profile(cmd, name=f"{name}{i}")
            rep = self.report_json(files)
            if any(l["kind"] == kind and l["contention"] and l["contentions"] and
                   (object_type is None or l["object_type"] == object_type) for l in rep["locks"]):
                return files
        self.fail(f"{cmd}: no {kind} contention in {attempts} runs")

    def hot(self):
        return self.contended([ex("hot_mutex"), "4", "400"], "pthread_mutex", "hot")

    def uncontended(self):
        _, files = self.profile([ex("uncontended"), "4"], name="unc")
        self.assertEqual([l for l in self.report_json(files)["locks"] if l["contention"]], [])
        return files


class DiffReal(Profiles):
    def test_hot_mutex_against_uncontended_and_itself(self):
        hot, unc = self.hot(), self.uncontended()
        rep = json.loads(lockprof("diff", "--format", "json", *unc, *hot, check=True).stdout)
        e = [e for e in rep["entries"] if e["lock"] == "hot_lock"]
        self.assertEqual(len(e), 1)
        self.assertEqual(e[0]["status"], "added")
        self.assertEqual(e[0]["base"], {"contentions": 0, "wait_ns": 0})
        self.assertGreater(e[0]["new"]["wait_ns"], 0)
        self.assertTrue(e[0]["top_frame"].startswith("critical_work (hot_mutex"), e[0])
        for by in ("lock", "type", "stack"):
            rep = json.loads(lockprof("diff", "--format", "json", "--by", by, *hot, *hot, check=True).stdout)
            self.assertTrue(rep["entries"])
            self.assertEqual({e["status"] for e in rep["entries"]}, {"same"}, by)
        for line in lockprof("diff", "--format", "folded", *hot, *hot, check=True).stdout.splitlines():
            _, b, n = line.rsplit(" ", 2)
            self.assertEqual(b, n)
        text = lockprof("diff", "--by", "stack", *unc, *hot, check=True).stdout
        self.assertRegex(text, r"waiter: critical_work \(hot_mutex\) <- worker \(hot_mutex\)")

    def test_free_threaded_dict_locks_match_across_runs(self):
        py = free_threaded_python()
        if not py:
            self.skipTest("no free-threaded CPython (scripts/setup-pythons.sh builds one)")
        lptest.skip_unless_parallel(self)
        cmd = [py, os.path.join(EXAMPLES_PY, "dict_cache.py"), "2", "200000"]
        a = self.contended(cmd, "pymutex", "dc-a", "dict")
        b = self.contended(cmd, "pymutex", "dc-b", "dict")
        rep = json.loads(lockprof("diff", "--format", "json", *a, *b, check=True).stdout)
        dicts = [e for e in rep["entries"] if e["kind"] == "pymutex" and e["object_type"] == "dict"]
        self.assertEqual([e["lock"] for e in dicts], ["dict@0x*"], "anonymous dict locks were not matched")
        self.assertGreater(dicts[0]["base"]["contentions"], 0)
        self.assertGreater(dicts[0]["new"]["contentions"], 0)
        rep = json.loads(lockprof("diff", "--format", "json", "--by", "stack", *a, *b, check=True).stdout)
        self.assertTrue(any("store (dict_cache.py)" in (e["stack"] or []) and e["base"]["contentions"] and
                            e["new"]["contentions"] for e in rep["entries"]) or
                        any("lookup (dict_cache.py)" in (e["stack"] or []) and e["base"]["contentions"] and
                            e["new"]["contentions"] for e in rep["entries"]),
                        [(e["stack"], e["status"]) for e in rep["entries"]])


# ---- check: the rules language on fixed profiles --------------------------------------------------------------

class CheckFixture(TempDirTest):
    def check(self, rules_text, *args, profiles=NEW, env=None):
        rules = write_rules(self.tmp, rules_text)
        return rules, lockprof("check", "--rules", rules, *args, *profiles, env=env)

    def test_every_metric_and_selector_measures_exactly(self):
        cases = [  # (rule, measured) on new-1 + new-2, baseline base
            ("max wait_ms * 1000", "75.600 ms"),
            ("max wait_ms 1000", "75.600 ms"),
            ("max wait_ms kind=gil 1000", "50.000 ms"),
            ("max wait_ms kind=pymutex 1000", "10.000 ms"),
            ("max wait_ms type=dict 1000", "10.000 ms"),
            ("max wait_ms lock=hot_lock 1000", "5.000 ms"),
            ("max wait_ms lock=GIL 1000", "50.000 ms"),
            ("max wait_ms stack~store 1000", "59.000 ms"),
            ("max wait_ms stack~_native.so 1000", "6.000 ms"),
            ("max wait_ms stack~service.py:32 1000", "14.000 ms"),
            ("max wait_ms kind=pymutex,type=dict,!stack~lookup 1000", "9.000 ms"),
            ("max wait_ms !lock=hot_lock 1000", "70.600 ms"),
            ("max wait_ms !kind=gil,!type=dict 1000", "15.600 ms"),
            ("max wait_ms type=list 1000", "0.000 ms"),
            ("max contentions * 1000", "224"),
            ("max contentions kind=pthread_mutex 1000", "18"),
            ("max contentions type=dict 1000", "70"),
            ("max p99_ms kind=pthread_mutex 1000", "2.500 ms"),
            ("max p99_ms kind=pymutex 1000", "0.150 ms"),
            ("max p99_ms type=list 1000", "0.000 ms"),
            ("max wait_fraction 1", "0.0069"),
            ("max wait_fraction kind=gil 1", "0.0045"),
            ("max regression_pct * 1000", "+123.0%"),
            ("max regression_pct type=dict 1000", "+185.7%"),
            ("max regression_pct lock=hot_lock 0", "-75.0%"),
            ("max regression_pct kind=threading.RLock 0", "-100.0%"),
            ("max regression_pct type=list 0", "+0.0%"),
            ("max regression_pct kind=parking_lot 1e9", "+inf%"),
        ]
        rules, p = self.check("".join(r + "\n" for r, _ in cases), "--baseline", BASE)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)  # only the +inf% rule fails
        got = check_lines(p.stdout)
        self.assertEqual(len(got), len(cases))
        for i, (rule, measured) in enumerate(cases, 1):
            with self.subTest(rule=rule):
                self.assertEqual(got[i][1:], (rule, measured))
                self.assertEqual(got[i][0], "FAIL" if measured == "+inf%" else "PASS")
        self.assertIn("max wait_ms type=list 1000", p.stdout)
        self.assertRegex(p.stdout, r"type=list 1000 +measured 0\.000 ms, limit 1000 ms \(the selector matched no")
        self.assertTrue(p.stdout.rstrip().endswith("lockprof check: FAILED: 1 of 28 rules"), p.stdout)

    def test_limit_is_inclusive_and_exit_0_when_all_hold(self):
        _, p = self.check("max contentions * 224\nmax wait_ms kind=gil 50\n  # done\n")
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertEqual([v[0] for v in check_lines(p.stdout).values()], ["PASS", "PASS"])
        self.assertTrue(p.stdout.rstrip().endswith("lockprof check: passed: 2 rules"))
        _, p = self.check("max contentions * 223\n")
        self.assertEqual(p.returncode, 1)

    def test_failure_names_the_largest_contributor(self):
        _, p = self.check("max wait_ms kind=pymutex 1\n")
        self.assertEqual(p.returncode, 1)
        self.assertIn("most wait: pymutex dict@0x3aa0000100 of type dict (8.500 ms in 60 contentions) waiting in "
                      "store (/srv/app/service.py:16)", p.stdout)

    def test_junit_xml(self):
        out = os.path.join(self.tmp, "out", "junit.xml")
        os.mkdir(os.path.dirname(out))
        rules = os.path.join(GOLDEN, "rules.txt")
        p = lockprof("check", "--rules", rules, "--baseline", BASE, "--junit", out, *NEW)
        self.assertEqual(p.returncode, 1, p.stderr)
        suite, cases = junit(out)
        self.assertEqual(suite.get("name"), "lockprof check")
        self.assertEqual(len(cases), 14)
        failed = {int(c.get("line")) for c in cases if c.find("failure") is not None}
        self.assertEqual(failed, {5, 7, 10, 12, 14, 16})  # the lines marked "fails" in the rules file
        with open(rules) as f:
            marked = {i for i, line in enumerate(f, 1) if "# fails" in line}
        self.assertEqual(failed, marked)
        for c in cases:
            self.assertEqual((c.get("file"), c.get("classname")), (rules, rules))
            self.assertRegex(c.get("name"), r"^line \d+: max \w+ ")
            f = c.find("failure")
            if f is not None:
                self.assertRegex(f.get("message"), r"^measured .+, limit .+")
                self.assertIn(f"{rules}:{c.get('line')}: ", f.text)
            else:
                self.assertIn("measured", c.find("system-out").text)
        self.assertEqual(os.listdir(os.path.dirname(out)), ["junit.xml"])
        # the same verdicts as the text output
        self.assertEqual({n for n, v in check_lines(p.stdout).items() if v[0] == "FAIL"}, failed)

    def test_github_actions_annotations(self):
        rules = os.path.join(GOLDEN, "rules.txt")
        args = ["check", "--rules", rules, "--baseline", BASE, *NEW]
        p = lockprof(*args, env={"GITHUB_ACTIONS": "true"})
        self.assertEqual(p.returncode, 1)
        errors = [l for l in p.stdout.splitlines() if l.startswith("::")]
        self.assertEqual(len(errors), 6, p.stdout)
        for line in errors:
            m = re.match(r"^::error file=([^,]+),line=(\d+),title=([^:]+)::(.+)$", line)
            self.assertTrue(m, line)
            self.assertEqual(m.group(1), rules)
            self.assertTrue(m.group(3).startswith("lockprof check%3A max "), line)  # ':' escaped in a property
            self.assertTrue(m.group(4).startswith("measured "), line)
        self.assertIn(",line=5,", errors[0])
        for env in ({"GITHUB_ACTIONS": "false"}, {"GITHUB_ACTIONS": ""}):
            p = lockprof(*args, env=env)
            self.assertEqual(p.returncode, 1)
            self.assertNotIn("::error", p.stdout)

    def test_bad_rules_lines_exit_2_naming_file_and_line(self):
        cases = [
            ("min wait_ms * 5", "expected 'max METRIC [SELECTOR] VALUE', got 'min'"),
            ("max", "'max' needs METRIC"),
            ("max wait 5", "unknown metric 'wait'"),
            ("max wait_ms", "needs [SELECTOR] VALUE"),
            ("max wait_ms * 5 6", "too many fields"),
            ("max wait_ms lock hot_lock 5", "too many fields"),
            ("max wait_ms foo 5", "bad selector term 'foo'"),
            ("max wait_ms kind=mutex 5", "unknown lock kind 'mutex'"),
            ("max wait_ms kind=pthread_cond 5", "wait class"),
            ("max wait_ms type= 5", "'type=' needs a value"),
            ("max wait_ms stack~ 5", "'stack~' needs a value"),
            ("max wait_ms *,kind=gil 5", "cannot be negated or combined"),
            ("max wait_ms !* 5", "cannot be negated or combined"),
            ("max wait_ms kind=gil,,type=dict 5", "empty term"),
            ("max wait_ms kind=gil, 5", "empty term"),
            ("max wait_ms * 5ms", "bad value '5ms'"),
            ("max wait_ms * nan", "bad value 'nan'"),
            ("max wait_ms * -1", "wait_ms must be at least 0"),
            ("max contentions * 1.5", "contentions needs a whole number"),
            ("max wait_fraction 5", "between 0 and 1"),
            ("max wait_fraction * 1.5", "between 0 and 1"),
            ("max regression_pct * -101", "at least -100"),
            ("max regression_pct * 10", "give --baseline"),
        ]
        junit_out = os.path.join(self.tmp, "j.xml")
        for text, message in cases:
            with self.subTest(rule=text):
                rules = write_rules(self.tmp, f"# a comment\n\nmax wait_ms * 1000\n{text}   # trailing\n")
                p = lockprof("check", "--rules", rules, "--junit", junit_out, *NEW)
                self.assertEqual(p.returncode, 2, p.stdout)
                self.assertEqual(p.stdout, "")
                self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
                self.assertTrue(p.stderr.startswith(f"lockprof: {rules}:4: "), p.stderr)
                self.assertIn(message, p.stderr)
                self.assertFalse(os.path.exists(junit_out))

    def test_usage_and_input_errors_exit_2(self):
        rules = write_rules(self.tmp, "max wait_ms * 1000\n")
        empty = write_rules(self.tmp, "# nothing but comments\n\n", "empty.txt")
        crlf = write_rules(self.tmp, "max wait_ms * 1000\r\n", "crlf.txt")
        trunc = os.path.join(self.tmp, "trunc.prof")
        with open(NEW[0]) as f, open(trunc, "w") as g:
            g.write(f.read()[:-4])
        for args, message in (
                ([*NEW], "--rules FILE is required"),
                (["--rules", rules], "no profile given"),
                (["--rules", os.path.join(self.tmp, "none.txt"), *NEW], "cannot read rules file"),
                (["--rules", empty, *NEW], "no rules"),
                (["--rules", rules, "--rules", rules, *NEW], "--rules given twice"),
                (["--rules", rules, os.path.join(self.tmp, "none.prof")], "none.prof"),
                (["--rules", rules, trunc], "trunc.prof"),
                (["--rules", rules, "--baseline", trunc, *NEW], "trunc.prof"),
                (["--rules", rules, "--bogus", *NEW], ""),
                (["--rules", rules, "--junit", os.path.join(self.tmp, "no", "dir", "j.xml"), *NEW], "cannot")):
            with self.subTest(args=args):
                p = lockprof("check", *args)
                self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
                self.assertTrue(p.stderr.startswith("lockprof: "), p.stderr)
                self.assertIn(message, p.stderr)
        p = lockprof("check", "--rules", crlf, *NEW)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_help(self):
        p = lockprof("check", "--help")
        self.assertEqual(p.returncode, 0)
        self.assertIn("usage: lockprof check --rules RULES", p.stdout)


# ---- check: real runs ---------------------------------------------------------------------------------------

LOCK_HOTSPOT = '''\
"""test_gate.py's lock_hotspot.py: threads that take stats_lock in update() and hold it across a sleep. Every
worker's first update() waits for the main thread, which holds stats_lock until all workers are running and then
50 ms more; later ones wait for each other (a sleep releases the GIL, so the others run into the held lock). No
other lock of the script is ever contended: waits outside update() are only the notifications of Thread.start
and join. Usage: lock_hotspot.py THREADS UPDATES"""
import sys
import threading
import time

stats_lock = threading.Lock()
stats = {"count": 0}
running = []


def update():
    with stats_lock:  # contended
        stats["count"] += 1
        time.sleep(0.001)


def worker(n):
    running.append(threading.get_ident())  # list.append is atomic: no lock
    for _ in range(n):
        update()


def main():
    threads, n = int(sys.argv[1]), int(sys.argv[2])
    ts = [threading.Thread(target=worker, args=(n,)) for _ in range(threads)]
    with stats_lock:
        for t in ts:
            t.start()
        while len(running) < threads:
            time.sleep(0.001)
        time.sleep(0.05)
    for t in ts:
        t.join()
    print(f"count={stats['count']}")
    sys.exit(stats["count"] != threads * n)


main()
'''


class CheckReal(Profiles):
    RULES = """\
max contentions * 0
max contentions kind=pthread_mutex 0
max contentions lock=hot_lock 0
max contentions stack~critical_work 0
max contentions kind=pthread_mutex,stack~worker 0
max wait_ms type=dict 1
max contentions !lock=hot_lock 0
max wait_fraction 1
max p99_ms lock=hot_lock 1e9
"""

    def test_exit_codes_and_selectors_on_hot_mutex_and_uncontended(self):
        hot, unc = self.hot(), self.uncontended()
        rules = write_rules(self.tmp, self.RULES)
        p = lockprof("check", "--rules", rules, *unc)
        self.assertEqual(p.returncode, 0, p.stdout)
        p = lockprof("check", "--rules", rules, *hot)
        self.assertEqual(p.returncode, 1, p.stdout)
        got = check_lines(p.stdout)
        self.assertEqual([n for n, v in got.items() if v[0] == "FAIL"], [1, 2, 3, 4, 5])
        self.assertEqual(got[6][2], "0.000 ms")  # no object locks in a C program
        self.assertEqual(got[7][2], "0")          # hot_lock is the only contended lock
        fraction = float(got[8][2])
        self.assertTrue(0 < fraction <= 1, fraction)
        self.assertIn("most wait: pthread_mutex hot_lock", p.stdout)

    def test_regression_against_a_baseline(self):
        hot, unc = self.hot(), self.uncontended()
        rules = write_rules(self.tmp, "max regression_pct * 10\nmax regression_pct lock=hot_lock 0\n")
        base = [a for f in unc for a in ("--baseline", f)]
        p = lockprof("check", "--rules", rules, *base, *hot)
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertEqual({v[2] for v in check_lines(p.stdout).values()}, {"+inf%"})
        base = [a for f in hot for a in ("--baseline", f)]
        p = lockprof("check", "--rules", rules, *base, *hot)
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertEqual({v[2] for v in check_lines(p.stdout).values()}, {"+0.0%"})
        p = lockprof("check", "--rules", rules, *base, *unc)
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertEqual({v[2] for v in check_lines(p.stdout).values()}, {"-100.0%"})

    def test_python_lock_selectors(self):
        py = "/usr/bin/python3"
        # The rules need a file named lock_hotspot.py whose threading.Lock waits are all in update(): a test-local
        # one (LOCK_HOTSPOT) whose contention is certain, not left to where GIL switches land (examples/python's
        # has none in 1 of 5 runs of Debian's 3.11).
        script = os.path.join(self.tmp, "lock_hotspot.py")
        with open(script, "w") as f:
            f.write(LOCK_HOTSPOT)
        files = self.contended([py, script, "4", "25"], "threading.Lock", "lh", attempts=1)
        rules = write_rules(self.tmp, "max contentions kind=threading.Lock 0\n"
                                      "max contentions kind=threading.Lock,stack~lock_hotspot.py 0\n"
                                      "max contentions kind=threading.Lock,!stack~update 0\n"
                                      "max wait_ms type=dict 1\n")
        p = lockprof("check", "--rules", rules, *files)
        self.assertEqual(p.returncode, 1, p.stdout)
        got = check_lines(p.stdout)
        self.assertEqual((got[1][0], got[2][0], got[3][0], got[4][0]), ("FAIL", "FAIL", "PASS", "PASS"), p.stdout)
        self.assertIn("waiting in update (", p.stdout)

    def test_free_threaded_object_type_selector(self):
        py = free_threaded_python()
        if not py:
            self.skipTest("no free-threaded CPython (scripts/setup-pythons.sh builds one)")
        lptest.skip_unless_parallel(self)
        files = self.contended([py, os.path.join(EXAMPLES_PY, "dict_cache.py"), "2", "200000"], "pymutex", "dc",
                               "dict")
        rules = write_rules(self.tmp, "max contentions type=dict 0\nmax contentions kind=pymutex,type=dict 0\n"
                                      "max contentions type=list 0\n")
        p = lockprof("check", "--rules", rules, *files)
        self.assertEqual(p.returncode, 1, p.stdout)
        got = check_lines(p.stdout)
        self.assertEqual([got[n][0] for n in (1, 2, 3)], ["FAIL", "FAIL", "PASS"])
        self.assertIn("of type dict", p.stdout)


# ---- the GitHub Actions example -----------------------------------------------------------------------------

def workflow_steps(path):
    """The steps of the example workflow's only job, as dicts (PyYAML when available, else a reader of the
    subset the example uses: `- name:`/`- uses:` items with scalar keys and `run: |` blocks)."""
    try:
        import yaml
    except ImportError:
        yaml = None
    if yaml:
        with open(path) as f:
            jobs = yaml.safe_load(f)["jobs"]
        assert len(jobs) == 1, jobs
        return next(iter(jobs.values()))["steps"]
    steps, block, mapping = [], None, None
    with open(path) as f:
        for raw in f:
            line = raw.rstrip("\n")
            indent = len(line) - len(line.lstrip())
            if block is not None:
                if not line.strip() or indent > 8:
                    steps[-1][block] += line[10:] + "\n"
                    continue
                block = None
            item = re.match(r"^      - (\w[\w-]*): ?(.*)$", line)
            key = re.match(r"^( {8}| {10})(\w[\w-]*): ?(.*)$", line)
            if item:
                steps.append({item.group(1): item.group(2)})
                mapping = None
            elif key and steps and len(key.group(1)) == 8:
                mapping = None
                if key.group(3) in ("|", "|-", ">", ">-"):
                    block = key.group(2)
                    steps[-1][block] = ""
                elif key.group(3):
                    steps[-1][key.group(2)] = key.group(3)
                else:
                    mapping = steps[-1][key.group(2)] = {}
            elif key and mapping is not None:
                mapping[key.group(2)] = key.group(3)
    for step in steps:  # `|` keeps one final newline ("clip")
        for k, v in step.items():
            if isinstance(v, str) and v.endswith("\n"):
                step[k] = v.rstrip("\n") + "\n"
    return steps


class WorkflowExample(TempDirTest):
    def steps(self):
        return {s["id"]: s for s in workflow_steps(WORKFLOW) if "id" in s}, workflow_steps(WORKFLOW)

    def test_workflow_has_every_part(self):
        by_id, steps = self.steps()
        self.assertEqual(set(by_id), {"profile", "check", "report"})
        uses = [s.get("uses", "") for s in steps]
        self.assertTrue(any(u.startswith("actions/checkout@") for u in uses), uses)
        upload = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@")]
        self.assertEqual(len(upload), 1)
        self.assertEqual(upload[0]["with"]["path"], "lockprof-out/")
        self.assertIn("ninja -C build", "".join(s.get("run", "") for s in steps))
        self.assertIn("build/lockprof run ", by_id["profile"]["run"])
        self.assertIn("--rules examples/ci/rules.txt", by_id["check"]["run"])
        self.assertIn("--junit ", by_id["check"]["run"])
        self.assertIn('>> "$GITHUB_STEP_SUMMARY"', by_id["report"]["run"])
        self.assertIn("--format markdown", by_id["report"]["run"])

    def run_step(self, step, cwd, env):
        # what GitHub runs for `run:` with the default shell
        return run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], cwd=cwd, env=env)

    def test_profile_check_and_report_steps_pass(self):
        by_id, _ = self.steps()
        work = os.path.join(self.tmp, "checkout")
        os.mkdir(work)
        # the checkout as the workflow sees it: the build in build/, the examples (and rules) in examples/
        os.symlink(os.path.abspath(lptest.BUILD), os.path.join(work, "build"))
        os.symlink(os.path.abspath(os.path.join(SRC, "examples")), os.path.join(work, "examples"))
        summary = os.path.join(self.tmp, "step-summary.md")
        env = {"GITHUB_ACTIONS": "true", "CI": "true", "GITHUB_STEP_SUMMARY": summary}
        results = {}
        for sid in ("profile", "check", "report"):
            p = self.run_step(by_id[sid], work, env)
            results[sid] = p
            self.assertEqual(p.returncode, 0, f"step {sid}:\n{p.stdout}\n{p.stderr}")
        self.assertNotIn("::error", results["check"].stdout)
        with open(CI_RULES) as f:
            n_rules = sum(1 for line in f if line.strip() and not line.lstrip().startswith("#"))
        self.assertIn(f"lockprof check: passed: {n_rules} rules", results["check"].stdout)
        out = os.path.join(work, "lockprof-out")
        _, cases = junit(os.path.join(out, "lockprof-junit.xml"))
        self.assertEqual(len(cases), n_rules)
        with open(summary) as f:
            md = f.read()
        self.assertTrue(md.startswith("### lockprof: "), md[:200])
        self.assertIn("`hot_lock`", md)
        self.assertTrue([f for f in os.listdir(out) if f.endswith(".prof")])
        self.assertTrue(os.path.exists(os.path.join(out, "lockprof-report.md")))


if __name__ == "__main__":
    lptest.main()
