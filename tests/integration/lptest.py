"""Shared helpers for lockprof's integration tests (run by `meson test`, see tests/meson.build).

The tests run real programs under the real collector and assert on what the CLI reports: nothing here is
mocked. Paths come from the environment meson sets: LOCKPROF_BUILD (build directory) and LOCKPROF_SRC.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

BUILD = os.environ.get("LOCKPROF_BUILD", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
SRC = os.environ.get("LOCKPROF_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
LOCKPROF = os.path.join(BUILD, "lockprof")
LIB = os.path.join(BUILD, "liblockprof.so")
EXAMPLES_C = os.path.join(BUILD, "examples")
EXAMPLES_PY = os.path.join(SRC, "examples", "python")


SANITIZER_REPORTS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error: ")


def run(cmd, env=None, timeout=300, check=False, cwd=None):
    full_env = dict(os.environ)
    full_env.update(env or {})
    p = subprocess.run(cmd, env=full_env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout)
    if any(m in p.stderr for m in SANITIZER_REPORTS):  # -Dsanitize=true: whatever exit status the test expects
        raise AssertionError(f"{cmd}: sanitizer report (exit {p.returncode})\nstderr:\n{p.stderr[-6000:]}")
    if check and p.returncode != 0:
        raise AssertionError(f"{cmd} exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    return p


def lockprof(*args, **kw):
    return run([LOCKPROF, *args], **kw)


def _find_pythons():
    out = subprocess.run([os.path.join(SRC, "scripts", "find-pythons.sh"), "--missing"], stdout=subprocess.PIPE,
                         text=True).stdout
    found, missing = [], []
    for line in out.splitlines():
        if line.startswith("missing "):
            label, _, why = line[len("missing "):].partition(" ")
            missing.append((label, why))
        elif line.strip():
            found.append(tuple(line.split(" ", 1)))
    return found, missing


def pythons():
    """(label, path) of every interpreter scripts/find-pythons.sh reports."""
    return _find_pythons()[0]


def missing_pythons(ft=None):
    """(label, what was looked for) of the test interpreters scripts/find-pythons.sh did not find; ft=True/False
    keeps only the free-threaded / GIL ones (labels ending in "t" are free-threaded)."""
    out = _find_pythons()[1]
    if ft is not None:
        out = [(label, why) for label, why in out if label.endswith("t") == ft]
    return out


def skip_missing(test, ft=None):
    """Reports each missing test interpreter as a skipped subtest of `test`, with what was looked for: a run on a
    machine without 3.14 says so in the test output instead of passing quietly."""
    for label, why in missing_pythons(ft):
        with test.subTest(python=label):
            test.skipTest(f"{label} not found: looked for {why}")


def skip_unless_parallel(test):
    """Skips `test` when this process may run on one CPU only: a free-threaded object lock is held for ~100 ns, and
    on one CPU a thread that finds it taken spins and yields until the holder has run and let go (CPython's
    PyMutex), so it never blocks and no wait is recorded (seen with taskset -c 0: none in 5 runs of 2 x 200000)."""
    n = len(os.sched_getaffinity(0))
    if n < 2:
        test.skipTest(f"free-threaded object-lock contention needs two threads running at once; {n} CPU here")


def python_info(py):
    code = "import sys,sysconfig;print(sys.version_info[0],sys.version_info[1],sys.version_info[2]," \
           "int(bool(sysconfig.get_config_var('Py_GIL_DISABLED'))))"
    out = run([py, "-c", code], check=True).stdout.split()
    return tuple(int(x) for x in out)


class TempDirTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lockprof-test-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    _runs = 0

    def profile(self, cmd, *opts, env=None, expect_rc=0, name="p"):
        """Runs cmd under `lockprof run`; returns (completed process, [profile paths]) of this run only."""
        TempDirTest._runs += 1
        name = f"{name}-{TempDirTest._runs}"
        out = os.path.join(self.tmp, name + ".%p.prof")
        p = lockprof("run", "-o", out, "--no-summary", *opts, "--", *cmd, env=env)
        if expect_rc is not None:
            self.assertEqual(p.returncode, expect_rc, f"stdout:\n{p.stdout}\nstderr:\n{p.stderr}")
        files = sorted(os.path.join(self.tmp, f) for f in os.listdir(self.tmp)
                       if f.startswith(name + ".") and f.endswith(".prof"))
        return p, files

    def report_json(self, files, *opts):
        p = lockprof("report", "--format", "json", *opts, *files, check=True)
        return json.loads(p.stdout)


def locks_of(report, kind=None, contention=None):
    out = []
    for lock in report["locks"]:
        if kind and lock["kind"] != kind:
            continue
        if contention is not None and lock["contention"] != contention:
            continue
        out.append(lock)
    return out


def frames_text(frames):
    return [f"{f['function']}:{f.get('line')}" for f in frames or []]


def has_frame(frames, function, line=None, file_suffix=None):
    for f in frames or []:
        if f["function"] != function:
            continue
        if line is not None and f.get("line") != line:
            continue
        if file_suffix is not None and not (f.get("file") or "").endswith(file_suffix):
            continue
        return True
    return False


def line_of(path, marker):
    """1-based line number of the first line of `path` containing `marker` (so tests follow the examples)."""
    with open(path) as f:
        for i, text in enumerate(f, 1):
            if marker in text:
                return i
    raise AssertionError(f"{marker!r} not in {path}")


def profile_meta(path):
    """{key: [values]} of a profile's `m` records (docs/FORMAT.md: keys may repeat)."""
    meta = {}
    with open(path) as f:
        for line in f:
            if line.startswith("m "):
                key, _, value = line[2:].rstrip("\n").partition(" ")
                meta.setdefault(key, []).append(value)
    return meta


def catches_signal(pid, sig):
    """True when process pid has a handler installed for sig (bit sig-1 of SigCgt in /proc/PID/status): for the
    dump signal in a process started under lockprof, that means liblockprof's constructor has installed it (exec
    resets caught signals to their default action, and SIGUSR2's default action terminates the process)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("SigCgt:"):
                    return bool(int(line.split()[1], 16) >> (int(sig) - 1) & 1)
    except (OSError, ValueError, IndexError):
        pass
    return False


def wait_until(predicate, seconds=30, step=0.01):
    """Polls predicate() until it is true (returns True) or `seconds` have passed (returns False)."""
    deadline = time.monotonic() + seconds
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)


def main():
    unittest.main(verbosity=2)


if __name__ == "__main__":
    sys.exit("lptest is a helper module")
