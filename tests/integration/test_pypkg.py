"""The Python package (issue 19): a real wheel built once from a copy of the checkout (pip + meson-python, offline),
installed into a fresh virtual environment of every interpreter (scripts/make-venv.sh: the venv's own pip, Debian's
pure-Python pytest and pytest-xdist), then used as a user would — the installed `lockprof` command profiling a
program with the bundled collector, `python -m lockprof`, and the pytest plugin on examples/pytest with pytest's own
exit status and output as the verdict. Also `pip install .` from the checkout, and `meson install` unchanged."""
import base64
import csv
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import zipfile

import lptest
from lptest import BUILD, SRC, line_of, pythons

EXAMPLES = os.path.join(SRC, "examples", "pytest")
WAITER_DICT = f"fill (test_dict.py:{line_of(os.path.join(EXAMPLES, 'test_dict.py'), 'the contended line')})"
WAITER_LOCK = f"work (test_lock.py:{line_of(os.path.join(EXAMPLES, 'test_lock.py'), 'the contended line')})"
TESTS = ["test_dict.py::test_shared_dict", "test_dict.py::test_dict_per_thread", "test_lock.py::test_shared_lock",
         "test_lock.py::test_lock_per_thread"]

_tmp = None
_wheel = None
_venvs = {}


def interpreters():
    """(label, path) of scripts/find-pythons.sh's interpreters (3.14 and 3.14t included when it finds them)."""
    return list(pythons())


def clean_env():
    """The test's environment without what meson test or a developer may have set for lockprof."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("LOCKPROF_") and k not in ("PYTHONPATH", "LD_PRELOAD")}
    return env


def sh(cmd, cwd=None, timeout=900):
    return subprocess.run(cmd, cwd=cwd, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout)


def checked(cmd, **kw):
    p = sh(cmd, **kw)
    if p.returncode != 0:
        raise AssertionError(f"{cmd} exited {p.returncode}\nstdout:\n{p.stdout[-4000:]}\nstderr:\n{p.stderr[-4000:]}")
    return p


def checkout_copy():
    """What the package is built from, copied (meson-python leaves files in the source directory)."""
    dst = os.path.join(_tmp, "checkout")
    if not os.path.exists(dst):
        os.makedirs(dst)
        for f in ["meson.build", "meson_options.txt", "pyproject.toml", "README.md"]:
            shutil.copy(os.path.join(SRC, f), dst)
        for d in ["src", "python"]:
            shutil.copytree(os.path.join(SRC, d), os.path.join(dst, d),
                            ignore=shutil.ignore_patterns("__pycache__"))
    return dst


def setUpModule():
    global _tmp, _wheel
    try:
        import mesonpy  # noqa: F401  (Debian: python3-mesonpy)
    except ImportError:
        raise AssertionError("meson-python is missing: scripts/setup.sh --test installs python3-mesonpy")
    _tmp = tempfile.mkdtemp(prefix="lockprof-pypkg-")
    dist = os.path.join(_tmp, "dist")
    checked(["/usr/bin/python3", "-m", "pip", "wheel", "--no-index", "--no-build-isolation", "--no-deps", "-w", dist,
             checkout_copy()])
    wheels = os.listdir(dist)
    assert len(wheels) == 1, wheels
    _wheel = os.path.join(dist, wheels[0])


def tearDownModule():
    if _tmp:
        shutil.rmtree(_tmp, ignore_errors=True)


def venv(label, python, what=None):
    """A fresh venv of `python` with the wheel (or `what`) installed: scripts/make-venv.sh, once per module."""
    key = (label, what)
    if key not in _venvs:
        path = os.path.join(_tmp, "venv-" + re.sub(r"\W", "_", f"{label}-{bool(what)}"))
        checked([os.path.join(SRC, "scripts", "make-venv.sh"), python, path, what or _wheel])
        _venvs[key] = path
    return _venvs[key]


def py_info(python):
    out = checked([python, "-c", "import sys, sysconfig; print(sys.version_info[0], sys.version_info[1], "
                                 "int(bool(sysconfig.get_config_var('Py_GIL_DISABLED'))))"]).stdout.split()
    return int(out[0]), int(out[1]), bool(int(out[2]))


class Wheel(unittest.TestCase):
    def test_one_wheel_for_every_interpreter(self):
        self.assertEqual(os.path.basename(_wheel), "lockprof-0.1.0-py3-none-linux_x86_64.whl")
        with zipfile.ZipFile(_wheel) as z:
            names = z.namelist()
            wheel = z.read("lockprof-0.1.0.dist-info/WHEEL").decode()
            self.assertIn("Tag: py3-none-linux_x86_64\n", wheel)
            self.assertIn("Root-Is-Purelib: false\n", wheel)
            self.assertEqual(wheel.count("Tag:"), 1)
            # every file's hash and size as RECORD says (the tag was rewritten after meson-python built it)
            rows = list(csv.reader(io.StringIO(z.read("lockprof-0.1.0.dist-info/RECORD").decode())))
            self.assertEqual(sorted(r[0] for r in rows), sorted(names))
            for path, digest, size in rows:
                if path.endswith("RECORD"):
                    continue
                data = z.read(path)
                want = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                self.assertEqual((digest, int(size)), (want, len(data)), path)
            entry = z.read("lockprof-0.1.0.dist-info/entry_points.txt").decode()
            self.assertIn("[pytest11]\nlockprof = lockprof.pytest_plugin", entry)
            self.assertIn("[console_scripts]\nlockprof = lockprof.__main__:main", entry)
            for native in ["lockprof/_bin/lockprof", "lockprof/_bin/liblockprof.so"]:
                self.assertIn(native, names)
                mode = z.getinfo(native).external_attr >> 16
                self.assertTrue(mode & 0o111, f"{native} is not executable in the wheel ({mode:o})")
                with tempfile.NamedTemporaryFile() as f:
                    f.write(z.read(native))
                    f.flush()
                    needed = checked(["objdump", "-p", f.name]).stdout
                self.assertNotIn("libpython", needed, native)


class Installed(unittest.TestCase):
    def test_command_profiles_with_the_bundled_collector(self):
        code = ("import os, threading, lockprof\n"
                "print('preload', os.environ.get('LD_PRELOAD'))\n"
                "print('active', lockprof.active())\n"
                "lock = threading.Lock()\n"
                "def work():\n"
                "    for _ in range(5):\n"
                "        with lock:\n"
                "            __import__('time').sleep(0.001)\n"
                "ts = [threading.Thread(target=work) for _ in range(3)]\n"
                "[t.start() for t in ts]\n"
                "[t.join() for t in ts]\n")
        for label, python in interpreters():
            with self.subTest(python=label):
                v = venv(label, python)
                site = checked([os.path.join(v, "bin", "python"), "-c",
                                "import lockprof, os; print(os.path.dirname(lockprof.__file__))"]).stdout.strip()
                lib = os.path.join(site, "_bin", "liblockprof.so")
                self.assertEqual(checked([os.path.join(v, "bin", "lockprof"), "--version"]).stdout, "lockprof 0.1.0\n")
                self.assertEqual(checked([os.path.join(v, "bin", "python"), "-m", "lockprof", "--version"]).stdout,
                                 "lockprof 0.1.0\n")
                self.assertEqual(checked([os.path.join(v, "bin", "python"), "-c",
                                          "import lockprof; print(lockprof.__version__)"]).stdout, "0.1.0\n")
                out = os.path.join(_tmp, f"cmd-{label}.%p.prof")
                p = checked([os.path.join(v, "bin", "lockprof"), "run", "-o", out, "--",
                             os.path.join(v, "bin", "python"), "-c", code])
                self.assertIn(f"preload {lib}\n", p.stdout)
                self.assertIn("active True\n", p.stdout)
                self.assertRegex(p.stderr, r"lockprof: 1 profile written: .*cmd-" + re.escape(label))
                prof = re.search(r"profile written: (\S+)", p.stderr).group(1)
                rep = json.loads(checked([os.path.join(v, "bin", "lockprof"), "report", "--format", "json",
                                          prof]).stdout)
                self.assertGreater(sum(lock["contentions"] for lock in rep["locks"]), 0)


def parse_outcomes(stdout):
    """{node id: PASSED/FAILED/SKIPPED} from `pytest -v` lines ("[gwN] ..." under xdist)."""
    found = {}
    for m in re.finditer(r"^(?:\[gw\d+\] \[\s*\d+%\] )?(?:(\S+::\S+) (PASSED|FAILED|SKIPPED|ERROR)|"
                         r"(PASSED|FAILED|SKIPPED|ERROR) (\S+::\S+))", stdout, re.M):
        node, outcome = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        found.setdefault(node, outcome)
    return found


class Plugin(unittest.TestCase):
    def project(self, name):
        dst = os.path.join(_tmp, name)
        shutil.copytree(EXAMPLES, dst, ignore=shutil.ignore_patterns(".lockprof", "__pycache__"))
        return dst

    def pytest(self, label, python, *args, name):
        v = venv(label, python)
        major, minor, _ = py_info(python)
        plain = ["--assert=plain"] if (major, minor) >= (3, 14) else []  # Debian's pytest 7.2 rewrites with ast.Str
        cwd = self.project(f"{name}-{label}")
        p = sh([os.path.join(v, "bin", "python"), "-m", "pytest", "-v", "-rs", *plain, *args], cwd=cwd)
        return p, cwd

    def expected(self, python, stdout):
        """The outcome each example test must have here (None: either FAILED, or SKIPPED because this lockprof
        does not know the interpreter's locks — never PASSED)."""
        major, minor, ft = py_info(python)
        if (major, minor) >= (3, 14):  # not yet supported by the collector: a budget is failed or skipped
            return {TESTS[0]: None if ft else "SKIPPED", TESTS[1]: "PASSED|SKIPPED" if ft else "SKIPPED",
                    TESTS[2]: None, TESTS[3]: "PASSED|SKIPPED"}
        return {TESTS[0]: "FAILED" if ft else "SKIPPED", TESTS[1]: "PASSED" if ft else "SKIPPED",
                TESTS[2]: "FAILED", TESTS[3]: "PASSED"}

    def check_outcomes(self, python, p):
        got = parse_outcomes(p.stdout)
        want = self.expected(python, p.stdout)
        self.assertEqual(sorted(got), sorted(TESTS), p.stdout[-3000:])
        for test, outcome in want.items():
            if outcome is None:
                self.assertIn(got[test], ("FAILED", "SKIPPED"), test)
                if got[test] == "SKIPPED":
                    self.assertIn("lock_budget not checked: the collector did not see this interpreter's "
                                  "Python-level locks", p.stdout)
            else:
                self.assertRegex(got[test], f"^({outcome})$", f"{test}\n{p.stdout[-3000:]}")
        self.assertEqual(p.returncode, 1 if "FAILED" in got.values() else 0, p.stdout[-2000:])
        return got

    def test_examples_under_lockprof(self):
        for label, python in interpreters():
            with self.subTest(python=label):
                p, cwd = self.pytest(label, python, "--lockprof", name="plugin")
                self.assertIn("lockprof: the collector is not loaded: re-running this pytest session under "
                              f"`lockprof run` (profiles in {os.path.join(cwd, '.lockprof')})", p.stderr)
                got = self.check_outcomes(python, p)
                out = p.stdout
                if got[TESTS[2]] == "FAILED":
                    block = out[out.index("_ test_shared_lock _"):]
                    self.assertRegex(block, r"lock budget exceeded: wait [\d.]+ ms > wait_ms=20\n")
                    self.assertIn(f"  waiter: {WAITER_LOCK}\n", block)
                    self.assertIn(f"  holder: {WAITER_LOCK}\n", block)  # the other threads hold it there
                if got[TESTS[0]] == "FAILED":
                    block = out[out.index("_ test_shared_dict _"):]
                    self.assertRegex(block, r"lock budget exceeded on kind='pymutex', object_type='dict': "
                                            r"wait [\d.]+ ms > wait_ms=5\n"
                                            r"  most wait: pymutex dict@0x[0-9a-f]+ \(dict\)")
                    self.assertIn(f"  waiter: {WAITER_DICT}\n", block)
                    self.assertRegex(block, "  holder: (" + re.escape(WAITER_DICT) + r"|\(not recorded)")
                summary = out[out.index("= lockprof ="):]
                for test in TESTS:
                    if got[test] == "FAILED":  # a test over its budget is among those with the most wait
                        self.assertRegex(summary, r"\n +[\d.]+ +\d+  " + re.escape(test) + "\n")
                profiles = re.search(r"\nprofiles \((\d+)\): (.*)\n", summary)
                self.assertEqual(int(profiles.group(1)), 1)
                self.assertTrue(os.path.isfile(os.path.join(cwd, profiles.group(2))))

    def test_budget_without_lockprof_is_skipped(self):
        for label, python in interpreters():
            with self.subTest(python=label):
                p, _ = self.pytest(label, python, "test_lock.py", name="nolockprof")
                self.assertEqual(p.returncode, 0, p.stdout[-2000:])
                self.assertEqual(parse_outcomes(p.stdout), {TESTS[2]: "SKIPPED", TESTS[3]: "SKIPPED"})
                self.assertEqual(len(re.findall(r"^SKIPPED \[1\] test_lock.py:\d+: lock_budget not checked: run pytest "
                                                r"--lockprof to check it$", p.stdout, re.M)), 2, p.stdout)
                self.assertNotIn("re-running", p.stderr)

    def test_malformed_budget_is_an_error(self):
        label, python = interpreters()[0]
        v = venv(label, python)
        cwd = os.path.join(_tmp, "malformed")
        os.makedirs(cwd)
        with open(os.path.join(cwd, "test_bad.py"), "w") as f:
            f.write("import pytest\n\n"
                    "@pytest.mark.lock_budget(wait=5)\ndef test_unknown():\n    pass\n\n"
                    "@pytest.mark.lock_budget(kind='futex', wait_ms=1)\ndef test_kind():\n    pass\n\n"
                    "@pytest.mark.lock_budget(kind='gil')\ndef test_no_limit():\n    pass\n")
        for args in ([], ["--lockprof"]):
            with self.subTest(args=args):
                p = sh([os.path.join(v, "bin", "python"), "-m", "pytest", "-v", "-p", "no:cacheprovider", *args],
                       cwd=cwd)
                self.assertEqual(p.returncode, 1, p.stdout[-2000:])
                self.assertEqual(set(parse_outcomes(p.stdout).values()), {"ERROR"}, p.stdout[-2000:])
                self.assertIn("lock_budget: unknown argument(s) wait (known: wait_ms, contentions, kind, object_type)",
                              p.stdout)
                self.assertIn("lock_budget: kind must be one of", p.stdout)
                self.assertIn("lock_budget needs wait_ms=... or contentions=... (or both)", p.stdout)

    def test_not_from_a_command_line(self):
        """pytest.main() inside another program cannot be re-run under the collector: a usage error."""
        label, python = interpreters()[0]
        v = venv(label, python)
        cwd = self.project("main")
        p = sh([os.path.join(v, "bin", "python"), "-c",
                "import sys, pytest; sys.exit(pytest.main(['--lockprof', 'test_lock.py']))"], cwd=cwd)
        self.assertEqual(p.returncode, 4, p.stdout + p.stderr)  # pytest's exit status for usage errors
        self.assertIn("--lockprof: the collector is not loaded and this pytest was not started from a command line "
                      "that can be re-run; start it under `lockprof run -- ...`", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(cwd, ".lockprof")))

    def test_test_path_after_bare_option(self):
        """`pytest --lockprof test_lock.py` takes the path as DIR: a usage error that says so, nothing run."""
        label, python = interpreters()[0]
        p, cwd = self.pytest(label, python, "--lockprof", "test_lock.py", name="barepath")
        self.assertEqual(p.returncode, 4, p.stdout + p.stderr)
        self.assertIn(f"--lockprof: {os.path.join(cwd, 'test_lock.py')} is not a directory (a test path right after "
                      "--lockprof is taken as its DIR", p.stderr)

    def test_xdist_workers(self):
        label, python = next(((lb, py) for lb, py in interpreters() if py_info(py)[2] and py_info(py)[:2] < (3, 14)),
                             interpreters()[0])
        p, cwd = self.pytest(label, python, "--lockprof=profiles", "-n", "2", name="xdist")
        self.check_outcomes(python, p)
        self.assertRegex(p.stdout, r"\[gw[01]\] ")
        paths = re.search(r"\nprofiles \((\d+)\): (.*)\n", p.stdout).group(2).split()
        self.assertEqual(len(paths), 3, p.stdout[-2000:])  # the controller and its two workers
        pids = set()
        for path in paths:
            self.assertTrue(path.startswith("profiles/lockprof."), path)
            meta = lptest.profile_meta(os.path.join(cwd, path))
            pids.add(meta["pid"][0])
        self.assertEqual(len(pids), 3)
        # read together: every test that waited is in the workers' profiles under its label
        v = venv(label, python)
        rep = checked([os.path.join(v, "bin", "lockprof"), "report", "--by", "label", "--top", "0",
                       *[os.path.join(cwd, x) for x in paths]]).stdout
        self.assertIn("test=test_lock.py::test_shared_lock", rep)


class FromCheckout(unittest.TestCase):
    def test_pip_install_from_the_checkout(self):
        """`pip install --no-build-isolation .` in a venv: Meson's Python module (3.11) and the path for Python
        3.12+ that Meson 1.0 cannot inspect."""
        picks = {}
        for label, python in interpreters():
            major, minor, _ = py_info(python)
            picks.setdefault((major, minor) >= (3, 12), (label, python))
        for label, python in picks.values():
            with self.subTest(python=label):
                v = venv(label, python, checkout_copy())
                self.assertEqual(checked([os.path.join(v, "bin", "lockprof"), "--version"]).stdout,
                                 "lockprof 0.1.0\n")
                files = checked([os.path.join(v, "bin", "python"), "-c",
                                 "import lockprof, os; print(sorted(os.listdir(os.path.dirname(lockprof.__file__) "
                                 "+ '/_bin')))"]).stdout
                self.assertEqual(files.strip(), "['liblockprof.so', 'lockprof']")

    def test_meson_install_is_unchanged(self):
        dest = os.path.join(_tmp, "destdir")
        checked(["meson", "install", "-C", BUILD, "--no-rebuild", "--destdir", dest])
        installed = sorted(os.path.relpath(os.path.join(d, f), dest) for d, _, fs in os.walk(dest) for f in fs)
        self.assertEqual(len(installed), 2, installed)
        self.assertRegex(installed[0], r"/bin/lockprof$")
        self.assertRegex(installed[1], r"/lib/[^/]+/lockprof/liblockprof\.so$")


if __name__ == "__main__":
    lptest.main()
