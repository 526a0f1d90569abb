"""The CLI's own safety (issue 17, the part in src/cli): the files lockprof writes and reads, the names from
profiles it prints, and what `lockprof run` checks before it starts a command and says when no profile appears.

Every test here failed on the CLI before these changes: output written into FIFOs, devices and through links (or
blocking on a FIFO), a FIFO given as input hanging the CLI, a profiled program's function names forging lines of
a CI log, `run -o` losing profiles or starting the command anyway, out-of-range options passed on, "a static or
setuid binary?" whatever happened, a temporary file left by a killed CLI, the same profile summed twice, and
counters that wrapped at 2^64. Hand-made profiles (the format is text, docs/FORMAT.md) make the CLI tests exact;
real programs under `lockprof run` check that the same names really come from profiled code.
"""
import json
import os
import re
import signal
import stat
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET

import lptest
from lptest import LOCKPROF, SRC, TempDirTest, lockprof, pythons, run

GATE = os.path.join(SRC, "tests", "data", "golden", "gate")
BASE = os.path.join(GATE, "base.prof")
NEW = os.path.join(GATE, "new-1.prof")
KILL_ON_WRITE = os.path.join(lptest.BUILD, "tests", "libkill_on_write.so")
GUARD = 60  # seconds: only there so that a CLI that blocks (the bug) fails the test instead of hanging it
IS_ROOT = os.geteuid() == 0

# A name a profiled program chooses: a line break, then a GitHub Actions workflow command (and its older form,
# recognised anywhere in a line), an ANSI escape and a right-to-left override.
EVIL = "evil\n::error file=x::pwned ##[error]old \x1b[31mred\u202e"


def esc(text):
    """A string in the profile format's escaping (docs/FORMAT.md)."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ord(ch) < 0x20 or ord(ch) == 0x7f:
            out.append("\\x%02x" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


def write_profile(path, records):
    with open(path, "w", encoding="utf-8") as f:
        f.write("lockprof-profile 1\n" + "\n".join(records) + f"\nend {len(records)}\n")
    return path


def hostile_profile(path, pid=4711, name=EVIL):
    """A profile whose every name is `name`: function, file, module, lock, object type, thread, command line,
    Python version, collector warning."""
    e = esc(name)
    return write_profile(path, [
        f"m pid {pid}", "m start_unix_ns 1700000000000000000", "m duration_ns 1000000000", "m threads 2",
        f"m cmdline {e}", f"m exe {e}", f"m python {e}", "m python_build free-threaded", "m gil_enabled 1",
        f"m warning {e}",
        f"s 0 {e}", "s 1 /srv/app.py", "s 2 /usr/lib/libapp.so",
        "f 0 p 0 1 12 - 0", "f 1 n 0 - 0 2 1a2b", "f 2 p 0 0 7 - 0", "k 0 0 1 2",
        "l 0 pthread_mutex 1000 0 -", "l 1 pymutex 2000 0 0",
        "t 100 0", "t 101 0",
        "a 0 0 0 100 101 0 5 5000000 2000000 20:5", "a 1 0 - 101 100 0 3 3000000 1000000 -",
    ])


def assert_one_line_error(test, p, *words):
    test.assertEqual(p.returncode, 2, f"stdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    test.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
    test.assertTrue(p.stderr.startswith("lockprof: "), p.stderr)
    for w in words:
        test.assertIn(w, p.stderr)


# ---- output files ----------------------------------------------------------------------------------------------

def writers(out, rules):
    """Every subcommand that writes `-o PATH` (or --junit PATH)."""
    return {
        "report": ["report", "-o", out, NEW],
        "flamegraph": ["flamegraph", "--format", "svg", "-o", out, NEW],
        "export": ["export", "--format", "speedscope", "-o", out, NEW],
        "diff": ["diff", "-o", out, BASE, NEW],
        "check --junit": ["check", "--rules", rules, "--junit", out, NEW],
    }


class OutputFiles(TempDirTest):
    def setUp(self):
        super().setUp()
        self.rules = os.path.join(self.tmp, "rules.txt")
        with open(self.rules, "w") as f:
            f.write("max wait_ms * 1000000\n")
        self.out_dir = os.path.join(self.tmp, "out")
        os.mkdir(self.out_dir)

    def run_all(self, out, env=None):
        for name, args in writers(out, self.rules).items():
            with self.subTest(command=name):
                yield name, lockprof(*args, env=env, timeout=GUARD)

    def test_fifo_is_refused_without_being_opened(self):
        fifo = os.path.join(self.out_dir, "fifo")
        os.mkfifo(fifo)
        for _, p in self.run_all(fifo):
            assert_one_line_error(self, p, fifo, "FIFO")
            self.assertTrue(stat.S_ISFIFO(os.lstat(fifo).st_mode))
        self.assertEqual(os.listdir(self.out_dir), ["fifo"])

    def test_links_are_never_followed(self):
        """Another user's symbolic link at PATH, to a FIFO, a device or their file: nothing is written through it,
        nothing replaces it."""
        fifo = os.path.join(self.tmp, "their-fifo")
        os.mkfifo(fifo)
        victim = os.path.join(self.tmp, "their-file")
        with open(victim, "w") as f:
            f.write("precious\n")
        if IS_ROOT:
            os.chown(victim, 65534, 65534)
        for target in (fifo, "/dev/zero", "/dev/null", victim, os.path.join(self.tmp, "dangling")):
            link = os.path.join(self.out_dir, "out")
            os.symlink(target, link)
            for _, p in self.run_all(link):
                assert_one_line_error(self, p, link, "symbolic link")
                self.assertEqual(os.readlink(link), target)
            os.unlink(link)
            self.assertEqual(os.listdir(self.out_dir), [])
        with open(victim) as f:
            self.assertEqual(f.read(), "precious\n")
        self.assertTrue(stat.S_ISFIFO(os.lstat(fifo).st_mode))

    def test_devices_other_than_the_null_device_are_refused(self):
        for _, p in self.run_all("/dev/zero"):
            assert_one_line_error(self, p, "/dev/zero", "character device")
        if IS_ROOT:  # a device node with another name: refused by what it is, not by its name
            node = os.path.join(self.out_dir, "zero")
            os.mknod(node, stat.S_IFCHR | 0o600, os.makedev(1, 5))
            for _, p in self.run_all(node):
                assert_one_line_error(self, p, node, "character device")
        # a directory
        for _, p in self.run_all(self.out_dir):
            assert_one_line_error(self, p, "directory")

    def test_null_device_discards(self):
        """The one special case (output.h): the null device, which discards and reaches nothing else."""
        for _, p in self.run_all("/dev/null"):
            self.assertIn(p.returncode, (0, 1), p.stderr)  # check: 0, its rule holds
            self.assertEqual(p.stderr, "")

    def test_regular_file_is_replaced_whole(self):
        out = os.path.join(self.out_dir, "report.txt")
        with open(out, "w") as f:
            f.write("old\n")
        os.chmod(out, 0o600)
        p = lockprof("report", "-o", out, NEW, timeout=GUARD)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(out) as f:
            self.assertEqual(f.read(), lockprof("report", NEW, check=True).stdout)
        self.assertEqual(os.listdir(self.out_dir), ["report.txt"])

    def test_killed_while_writing_leaves_nothing_behind(self):
        """SIGTERM, SIGINT or SIGHUP at the first write of the output (tests/data/kill_on_write.c): no temporary
        file, the previous file untouched, and the process dies of that signal. Both ways: an unnamed file
        (O_TMPFILE), and a named temporary removed by the signal handler where O_TMPFILE fails."""
        env = {"LD_PRELOAD": KILL_ON_WRITE}
        if os.environ.get("ASAN_OPTIONS"):  # -Dsanitize=true: the shim comes before the ASan runtime
            env["ASAN_OPTIONS"] = os.environ["ASAN_OPTIONS"] + ":verify_asan_link_order=0"
        out = os.path.join(self.out_dir, "out")
        for no_tmpfile in ("0", "1"):
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                for existing in (False, True):
                    if existing:
                        with open(out, "w") as f:
                            f.write("old\n")
                    env.update(KILL_ON_WRITE_SIGNAL=str(int(sig)), KILL_ON_WRITE_NO_TMPFILE=no_tmpfile)
                    for name, p in self.run_all(out, env=env):
                        with self.subTest(no_tmpfile=no_tmpfile, signal=sig.name, existing=existing):
                            self.assertEqual(p.returncode, -sig, p.stderr)
                            self.assertEqual(os.listdir(self.out_dir), ["out"] if existing else [])
                            if existing:
                                with open(out) as f:
                                    self.assertEqual(f.read(), "old\n")
                    if existing:
                        os.unlink(out)


# ---- input files ------------------------------------------------------------------------------------------------

class InputFiles(TempDirTest):
    def non_regular(self):
        fifo = os.path.join(self.tmp, "in.fifo")
        os.mkfifo(fifo)
        return [(fifo, "FIFO"), (self.tmp, "directory"), ("/dev/null", "character device")]

    def test_profiles_that_are_not_regular_files_are_refused(self):
        rules = os.path.join(self.tmp, "rules.txt")
        with open(rules, "w") as f:
            f.write("max wait_ms * 1\n")
        for path, kind in self.non_regular():
            for args in (["report", path], ["flamegraph", path], ["export", "--format", "pprof", "-o",
                         os.path.join(self.tmp, "x.pb.gz"), path], ["diff", BASE, path],
                         ["check", "--rules", rules, path], ["report", NEW, path]):
                with self.subTest(args=args):
                    p = lockprof(*args, timeout=GUARD)
                    assert_one_line_error(self, p, f"{path}: is a {kind}, not a regular file")

    def test_rules_files_that_are_not_regular_files_are_refused(self):
        for path, kind in self.non_regular():
            with self.subTest(path=path):
                p = lockprof("check", "--rules", path, NEW, timeout=GUARD)
                assert_one_line_error(self, p, f"cannot read rules file {path}: is a {kind}, not a regular file")


# ---- names from profiles ---------------------------------------------------------------------------------------

def workflow_commands(text):
    """The lines GitHub Actions would read as workflow commands: "::" after leading blanks, or "##[" anywhere."""
    return [line for line in text.splitlines() if line.lstrip().startswith("::") or "##[" in line]


class Names(TempDirTest):
    def setUp(self):
        super().setUp()
        self.prof = hostile_profile(os.path.join(self.tmp, "evil.prof"))
        self.other = hostile_profile(os.path.join(self.tmp, "evil2.prof"), pid=4712, name=EVIL + "2")
        self.rules = os.path.join(self.tmp, "rules.txt")
        with open(self.rules, "w") as f:
            f.write("max contentions * 0\nmax wait_ms lock=x 1000\n")

    def assert_clean(self, text, what):
        self.assertEqual(workflow_commands(text), [], what)
        self.assertIsNone(re.search(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f\u202a-\u202e\u2066-\u2069]", text), what)
        self.assertNotIn("pwned", "".join(l for l in text.splitlines() if l.lstrip().startswith("::")))

    def test_text_outputs_keep_names_on_their_line(self):
        outputs = {}
        for by in ("lock", "type", "stack", "thread"):
            outputs[f"report --by {by}"] = lockprof("report", "--by", by, "--frames", "all", self.prof, check=True)
            outputs[f"markdown --by {by}"] = lockprof("report", "--format", "markdown", "--by", by, self.prof,
                                                      check=True)
        for by in ("lock", "type", "stack"):
            outputs[f"diff --by {by}"] = lockprof("diff", "--by", by, self.other, self.prof, check=True)
        outputs["diff --format folded"] = lockprof("diff", "--format", "folded", self.other, self.prof, check=True)
        outputs["flamegraph"] = lockprof("flamegraph", "--all", self.prof, check=True)
        for what, p in outputs.items():
            self.assert_clean(p.stdout, what)
            self.assertEqual(p.stderr, "", what)
        # nothing is lost in the text report: the escapes read back to the name
        text = outputs["report --by lock"].stdout
        self.assertIn(r"evil\n::error file=x::pwned #\x23[error]old \x1b[31mred\u202e (/srv/app.py:12)", text)
        self.assertIn(r"holder thread: evil\n::error", text)
        self.assertIn(r"collector warning: evil\n::error", text)

    def test_check_and_its_github_annotations(self):
        p = lockprof("check", "--rules", self.rules, self.prof, env={"GITHUB_ACTIONS": "true"})
        self.assertEqual(p.returncode, 1, p.stderr)
        commands = workflow_commands(p.stdout)
        # exactly one annotation, ours, for the one failed rule: on the rules file's line 1
        self.assertEqual(len(commands), 1, p.stdout)
        self.assertTrue(commands[0].startswith(f"::error file={self.rules},line=1,title=lockprof check%3A max "),
                        commands[0])
        self.assertNotIn("\x1b", p.stdout)
        self.assertIn(r"most wait: pthread_mutex evil\n::error file=x::pwned #\x23[error]old", p.stdout)
        junit = os.path.join(self.tmp, "junit.xml")
        lockprof("check", "--rules", self.rules, "--junit", junit, self.prof)
        ET.parse(junit)

    def test_structured_outputs_escape_and_round_trip(self):
        """JSON, SVG, HTML and JUnit escape in their own syntax; JSON keeps the names exactly."""
        js = lockprof("report", "--format", "json", self.prof, check=True).stdout
        self.assertEqual(workflow_commands(js), [])
        names = {f["function"] for lock in json.loads(js)["locks"] for s in lock["stacks"] for f in s["frames"]}
        self.assertEqual(names, {EVIL})
        self.assertEqual(json.loads(js)["processes"][0]["cmdline"], EVIL)
        for fmt in ("speedscope",):
            data = lockprof("export", "--format", fmt, self.prof, check=True).stdout
            self.assertEqual(workflow_commands(data), [])
            json.loads(data)
        for fmt in ("svg", "html"):
            data = lockprof("flamegraph", "--format", fmt, self.prof, check=True).stdout
            self.assertEqual(workflow_commands(data), [])
            self.assertNotIn("\x1b", data)
            if fmt == "svg":
                ET.fromstring(data)

    def test_names_from_a_real_python_program(self):
        """A Python function named EVIL (code.replace) waits for a lock another thread holds; its name reaches
        the profile, then the report and check output escaped."""
        prog = os.path.join(self.tmp, "evil.py")
        with open(prog, "w") as f:
            f.write(textwrap.dedent(f"""\
                import threading, time, types
                def rename(f):
                    code = f.__code__.replace(co_name={EVIL!r}, co_qualname={EVIL!r})
                    return types.FunctionType(code, globals(), {EVIL!r})
                def make():
                    return threading.Lock()  # on 3.11 and 3.12 a lock is named by the function that made it
                lock = rename(make)()
                started = threading.Event()
                def waiter():
                    started.set()
                    with lock:
                        pass
                evil = rename(waiter)
                with lock:
                    t = threading.Thread(target=evil)
                    t.start()
                    started.wait()
                    time.sleep(0.2)  # the workload: hold the lock while the other thread waits for it
                t.join()
                """))
        tried = []
        for label, py in pythons():
            if lptest.python_info(py)[:2] < (3, 11):  # co_qualname
                continue
            with self.subTest(python=label):
                for attempt in range(3):
                    d = os.path.join(self.tmp, f"{label}-{attempt}")
                    p = lockprof("run", "-o", d + "/", "--", py, prog)  # with its summary
                    self.assertEqual(p.returncode, 0, p.stderr)
                    files = [os.path.join(d, f) for f in os.listdir(d)]
                    text = lockprof("report", *files, check=True).stdout
                    if r"evil\n::error" in text:
                        break
                else:
                    self.fail(f"{label}: the function's name never reached a report:\n{text}")
                tried.append(label)
                self.assert_clean(text, label)
                self.assert_clean(p.stderr, label)  # lockprof run's summary
                self.assertIn("lockprof: top contended locks", p.stderr)
                c = lockprof("check", "--rules", self.rules, *files, env={"GITHUB_ACTIONS": "true"})
                self.assertEqual([l for l in workflow_commands(c.stdout) if not l.startswith("::error file=")],
                                 [], c.stdout)
                self.assertEqual(len(workflow_commands(c.stdout)), 1, c.stdout)
        self.assertTrue(tried, "no interpreter found (scripts/find-pythons.sh)")


# ---- lockprof run: where profiles go ---------------------------------------------------------------------------

class RunOutput(TempDirTest):
    def setUp(self):
        super().setUp()
        self.marker = os.path.join(self.tmp, "started")

    def run_marked(self, *opts, env=None):
        """lockprof run OPTS -- sh -c 'touch MARKER': the marker says whether the command was started."""
        return lockprof("run", "--no-summary", *opts, "--", "/bin/sh", "-c", f"touch '{self.marker}'", env=env,
                        timeout=GUARD)

    def assert_refused_before_start(self, p, *words):
        assert_one_line_error(self, p, *words)
        self.assertFalse(os.path.exists(self.marker), "the command ran")

    def test_missing_directories_are_created(self):
        out = os.path.join(self.tmp, "a", "b", "c", "p.%p.prof")
        umask = os.umask(0o022)
        os.umask(umask)
        p = self.run_marked("-o", out)
        self.assertEqual(p.returncode, 0, p.stderr)
        made = os.listdir(os.path.join(self.tmp, "a", "b", "c"))
        self.assertTrue(made and all(re.match(r"^p\.\d+\.prof$", f) for f in made), made)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.tmp, "a")).st_mode), 0o777 & ~umask)

    def test_locations_that_cannot_be_written_fail_before_the_command_starts(self):
        afile = os.path.join(self.tmp, "afile")
        open(afile, "w").close()
        cases = [(os.path.join(afile, "x.prof"), "Not a directory"), ("/proc/self/x.%p.prof", "cannot write")]
        if not IS_ROOT:
            ro = os.path.join(self.tmp, "ro")
            os.mkdir(ro, 0o555)
            cases.append((os.path.join(ro, "x.prof"), "Permission denied"))
        for out, why in cases:
            with self.subTest(out=out):
                self.assert_refused_before_start(self.run_marked("-o", out), why)
        self.assertEqual(sorted(os.listdir(self.tmp)), ["afile"] + (["ro"] if not IS_ROOT else []))

    def test_a_directory_means_the_default_name_inside_it(self):
        d = os.path.join(self.tmp, "profiles")
        os.mkdir(d)
        for out in (d, d + "/", os.path.join(self.tmp, "new") + "/"):
            with self.subTest(out=out):
                p = self.run_marked("-o", out)
                self.assertEqual(p.returncode, 0, p.stderr)
                where = out.rstrip("/")
                names = os.listdir(where)
                self.assertTrue(names and all(re.match(r"^lockprof\.\d+\.prof$", n) for n in names), names)
                for n in names:
                    os.unlink(os.path.join(where, n))
        self.assertEqual(sorted(os.listdir(self.tmp)), ["new", "profiles", "started"])

    def test_non_regular_files_and_bad_names_are_refused(self):
        fifo = os.path.join(self.tmp, "fifo")
        os.mkfifo(fifo)
        cases = [(["-o", fifo], "FIFO"),
                 (["-o", os.path.join(self.tmp, "a\nb.prof")], "control character"),
                 (["-o", os.path.join(self.tmp, "tab\there.prof")], "control character"),
                 (["-o", os.path.join(self.tmp, "d%p", "x.prof")], "%p may appear in the file name only")]
        if IS_ROOT:  # what `-o /dev/null` is, without touching /dev (the old CLI made /dev/null.1 as root)
            null = os.path.join(self.tmp, "null")
            os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
            cases.append((["-o", null], "character device"))
        for opts, why in cases:
            with self.subTest(opts=opts):
                self.assert_refused_before_start(self.run_marked(*opts), why)
        self.assert_refused_before_start(self.run_marked(env={"LOCKPROF_OUTPUT": fifo}), "LOCKPROF_OUTPUT", "FIFO")
        self.assertEqual(sorted(os.listdir(self.tmp)), sorted(["fifo"] + (["null"] if IS_ROOT else [])))

    def test_every_process_writes_where_lockprof_run_was_started(self):
        """A relative -o is made absolute once: a child that changes directory before exec writes beside the
        others, and lockprof run lists it."""
        sub = os.path.join(self.tmp, "elsewhere")
        os.mkdir(sub)
        p = lockprof("run", "--no-summary", "-o", "rel.%p.prof", "--", "/bin/sh", "-c", "cd elsewhere && exec true",
                     cwd=self.tmp)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(os.listdir(sub), [])
        mine = [f for f in os.listdir(self.tmp) if f.startswith("rel.")]
        self.assertEqual(len(mine), 1, mine)  # true's (the shell recorded nothing before exec: no dump then)
        self.assertIn(f"1 profile written: {os.path.join(self.tmp, mine[0])}", p.stderr)


# ---- lockprof run: option values -------------------------------------------------------------------------------

# (option, variable, bad values, the largest and smallest valid values): the ranges of src/collect/config.c
RANGES = [
    ("--sample", "LOCKPROF_SAMPLE", ["1e3", "0", "-1", "1000000001", "abc", "", " 5", "+5", "0x10",
                                     "99999999999999999999999"], ["1000000000", "1"]),
    ("--native-depth", "LOCKPROF_NATIVE_DEPTH", ["129", "-1", "1e2", "18446744073709551617"], ["128", "0"]),
    ("--py-depth", "LOCKPROF_PY_DEPTH", ["257", "-5", "3.5"], ["256", "0"]),
    ("--min-wait-ns", "LOCKPROF_MIN_WAIT_NS", ["4000000001", "1.5", "-1"], ["4000000000", "0"]),
    ("--interval", "LOCKPROF_INTERVAL", ["abc", "-1", "1e7", "1000001", "nan", "inf", "0x10", "1e-12", " 1"],
     ["1000000", "0"]),
    ("--timeline", "LOCKPROF_TIMELINE_SIZE", ["-1", "15", "16777217", "x"], ["16777216", "16"]),
]


class RunOptions(TempDirTest):
    def run_marked(self, *opts, env=None):
        marker = os.path.join(self.tmp, "started")
        p = lockprof("run", "--no-summary", "-o", os.path.join(self.tmp, "p.%p.prof"), *opts, "--", "/bin/sh", "-c",
                     f"touch '{marker}'", env=env, timeout=GUARD)
        started = os.path.exists(marker)
        for f in os.listdir(self.tmp):
            os.unlink(os.path.join(self.tmp, f))
        return p, started

    def test_out_of_range_and_malformed_values_are_refused(self):
        for opt, var, bad, _ in RANGES:
            for value in bad:
                args = [f"{opt}={value}"] if opt == "--timeline" else [opt, value]
                with self.subTest(option=opt, value=value):
                    p, started = self.run_marked(*args)
                    assert_one_line_error(self, p, opt)
                    self.assertFalse(started)
                if value:
                    with self.subTest(variable=var, value=value):
                        p, started = self.run_marked(env={var: value})
                        assert_one_line_error(self, p, var)
                        self.assertFalse(started)

    def test_the_limits_themselves_are_accepted(self):
        for opt, var, _, good in RANGES:
            for value in good:
                args = [f"{opt}={value}"] if opt == "--timeline" else [opt, value]
                with self.subTest(option=opt, value=value):
                    p, started = self.run_marked(*args)
                    self.assertEqual(p.returncode, 0, p.stderr)
                    self.assertTrue(started)
                    self.assertNotIn("not valid", p.stderr)

    def test_the_ranges_are_the_collectors(self):
        """The collector itself (preloaded without lockprof run) takes the same limits and warns one past them."""
        for opt, var, _, good in RANGES:
            hi = good[0]
            past = str(int(float(hi)) + 1)
            low = good[1]
            below = str(int(low) - 1) if int(low) > 0 else None
            for value, valid in ((hi, True), (past, False), (low, True), (below, False)):
                if value is None:
                    continue
                with self.subTest(variable=var, value=value):
                    env = {"LD_PRELOAD": lptest.LIB, var: value, "LOCKPROF_OUTPUT": os.path.join(self.tmp, "x.prof")}
                    if var == "LOCKPROF_TIMELINE_SIZE":
                        env["LOCKPROF_TIMELINE"] = "1"
                    p = run(["/bin/true"], env=env)
                    self.assertEqual(f"{var}='{value}' is not valid" in p.stderr, not valid, p.stderr)
                    p2, _ = self.run_marked(env={var: value})
                    self.assertEqual(p2.returncode == 0, valid, p2.stderr)


# ---- lockprof run: why no profile appeared --------------------------------------------------------------------

class RunReasons(TempDirTest):
    def run_cmd(self, *cmd, env=None):
        return lockprof("run", "--no-summary", "-o", os.path.join(self.tmp, "p.%p.prof"), "--", *cmd, env=env,
                        timeout=GUARD)

    def test_a_command_that_cannot_be_executed(self):
        notexec = os.path.join(self.tmp, "script")
        with open(notexec, "w") as f:
            f.write("#!/bin/sh\n")
        for cmd, rc, why in ((os.path.join(self.tmp, "missing"), 127, "No such file or directory"),
                             ("no-such-command-lockprof", 127, "No such file or directory"),
                             (notexec, 126, "Permission denied")):
            with self.subTest(cmd=cmd):
                p = self.run_cmd(cmd)
                self.assertEqual(p.returncode, rc, p.stderr)
                self.assertEqual(p.stderr, f"lockprof: run: cannot execute {cmd}: {why}\n")

    def test_a_command_killed_by_a_signal(self):
        p = self.run_cmd("/bin/sh", "-c", "kill -KILL $$")
        self.assertEqual(p.returncode, 128 + signal.SIGKILL)
        self.assertIn("lockprof: run: the command was killed by signal 9 (SIGKILL", p.stderr)
        self.assertIn("no profile was written: SIGKILL", p.stderr)
        self.assertNotIn("static", p.stderr)
        p = self.run_cmd("/bin/sh", "-c", "kill -TERM $$")
        self.assertEqual(p.returncode, 128 + signal.SIGTERM)
        self.assertIn("lockprof: run: the command was killed by signal 15 (SIGTERM", p.stderr)
        self.assertNotIn("static", p.stderr)

    def test_the_output_directory_went_away(self):
        d = os.path.join(self.tmp, "gone")
        p = lockprof("run", "--no-summary", "-o", os.path.join(d, "p.%p.prof"), "--", "/bin/rm", "-rf", d,
                     timeout=GUARD)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(f"no profile was written: the output directory {d} was removed during the run", p.stderr)

    def test_a_static_executable(self):
        src = os.path.join(self.tmp, "static.c")
        exe = os.path.join(self.tmp, "static")
        with open(src, "w") as f:
            f.write("int main(void) { return 0; }\n")
        if run(["cc", "-static", "-o", exe, src]).returncode != 0:
            self.skipTest("cc -static does not link here (no static libc)")
        p = self.run_cmd(exe)
        self.assertEqual(p.returncode, 0)
        self.assertIn(f"no profile was written: {exe}: it is statically linked", p.stderr)

    def test_a_process_that_drops_privileges_is_found(self):
        """A process that setuid()s to nobody writes its profile into a world-writable directory but cannot
        append to the list lockprof run (root) created: it is found by its name and listed."""
        if not IS_ROOT:
            self.skipTest("needs root (setuid to nobody)")
        os.chmod(self.tmp, 0o755)
        shared = os.path.join(self.tmp, "shared")
        os.mkdir(shared)
        os.chmod(shared, 0o1777)
        prog = "import os; os.setgid(65534); os.setuid(65534); print(os.getuid())"
        p = lockprof("run", "-o", os.path.join(shared, "p.%p.prof"), "--", sys.executable, "-c", prog,
                     timeout=GUARD)
        self.assertEqual((p.returncode, p.stdout), (0, "65534\n"), p.stderr)
        files = os.listdir(shared)
        self.assertEqual(len(files), 1, files)
        self.assertEqual(os.stat(os.path.join(shared, files[0])).st_uid, 65534)
        self.assertIn(f"1 profile written: {os.path.join(shared, files[0])}", p.stderr)
        self.assertIn("note: 1 of them was found in", p.stderr)
        self.assertNotIn("no profile", p.stderr)

    def test_another_runs_profile_is_not_taken_for_ours(self):
        """A profile of lockprof run's own user that appears under the pattern without being announced is
        another run's (two runs writing into one directory at the same time): not listed."""
        d = os.path.join(self.tmp, "shared")
        theirs = os.path.join(d, "p.999999.prof")
        p = lockprof("run", "--no-summary", "-o", os.path.join(d, "p.%p.prof"), "--", "/bin/cp", NEW, theirs,
                     timeout=GUARD)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(os.listdir(d)), 2)  # cp's own profile, and the copy
        self.assertIn("1 profile written:", p.stderr)
        self.assertNotIn(theirs, p.stderr)


# ---- the same profile twice; counters past 2^64 ---------------------------------------------------------------

class Duplicates(TempDirTest):
    def contentions(self, *files):
        p = lockprof("report", "--format", "json", *files, check=True)
        return sum(l["contentions"] for l in json.loads(p.stdout)["locks"]), p.stderr

    def test_the_same_file_counts_once(self):
        once, err = self.contentions(NEW)
        self.assertEqual(err, "")
        link = os.path.join(self.tmp, "link.prof")
        os.symlink(NEW, link)
        hard = os.path.join(self.tmp, "hard.prof")
        try:
            os.link(NEW, hard)
        except OSError:
            hard = None
        for again in filter(None, (NEW, link, hard)):
            with self.subTest(again=again):
                n, err = self.contentions(NEW, again)
                self.assertEqual(n, once)
                self.assertEqual(err, f"lockprof: warning: {again} is the same file as {NEW}: counted once\n")

    def test_the_same_process_counts_once_from_its_later_dump(self):
        with open(NEW) as f:
            text = f.read()
        early = os.path.join(self.tmp, "early.prof")
        late = os.path.join(self.tmp, "late.prof")
        lines = text.replace("m duration_ns 2500000000", "m duration_ns 1000000000").split("\n")
        first = next(i for i, l in enumerate(lines) if l.startswith("a "))
        fields = lines[first].split(" ")
        fields[7], fields[10] = "1", "-"  # an earlier dump: fewer waits on its first aggregate
        lines[first] = " ".join(fields)
        with open(early, "w") as f:
            f.write("\n".join(lines))
        with open(late, "w") as f:
            f.write(text)
        once, _ = self.contentions(late)
        self.assertNotEqual(self.contentions(early)[0], once)
        for order in ((early, late), (late, early)):
            n, err = self.contentions(*order)
            self.assertEqual(n, once)
            self.assertEqual(len(err.splitlines()), 1, err)
            self.assertIn("profiles of the same process (pid 2001", err)
            self.assertIn(f"counted once, from {late}", err)
        # another process: summed, no warning
        other = os.path.join(self.tmp, "other.prof")
        with open(other, "w") as f:
            f.write(text.replace("m pid 2001\n", "m pid 2002\n"))
        n, err = self.contentions(late, other)
        self.assertEqual((n, err), (2 * once, ""))


BIG = 2 ** 63 + 5


class Saturation(TempDirTest):
    def test_sums_past_2_64_saturate(self):
        prof = write_profile(os.path.join(self.tmp, "big.prof"), [
            "m pid 1", "m start_unix_ns 1", "m duration_ns 1000", "m threads 2",
            "s 0 big_lock", "s 1 f", "s 2 /app.py", "f 0 p 1 2 3 - 0", "k 0 0", "l 0 pthread_mutex 10 0 -",
            f"a 0 0 - 1 0 0 {BIG} {BIG} 1000 -", f"a 0 0 - 2 0 0 {BIG} {BIG} 1000 -"])
        prof2 = write_profile(os.path.join(self.tmp, "big2.prof"), [
            "m pid 2", "m start_unix_ns 2", "s 0 big_lock", "l 0 pthread_mutex 10 0 -",
            f"a 0 - - 1 0 0 {BIG} {BIG} 1000 -"])
        top = 2 ** 64 - 1
        for files in ([prof], [prof, prof2]):
            with self.subTest(files=len(files)):
                rep = json.loads(lockprof("report", "--format", "json", *files, check=True).stdout)
                lock = [l for l in rep["locks"] if l["name"] == "big_lock"][0]
                self.assertEqual((lock["contentions"], lock["wait_ns"]), (top, top))
                self.assertIn(f" {top} ", lockprof("report", *files, check=True).stdout)
                folded = lockprof("flamegraph", "--weight", "count", *files, check=True).stdout
                self.assertTrue(folded.endswith(f" {top}\n"), folded)
                rules = os.path.join(self.tmp, "rules.txt")
                with open(rules, "w") as f:
                    f.write("max contentions * 1\n")
                c = lockprof("check", "--rules", rules, *files)
                self.assertEqual(c.returncode, 1)
                self.assertIn(f"measured {top}, limit 1", c.stdout)
                d = json.loads(lockprof("diff", "--format", "json", NEW, *files, check=True).stdout)
                self.assertEqual(d["new"]["contentions"], top)


if __name__ == "__main__":
    lptest.main()
