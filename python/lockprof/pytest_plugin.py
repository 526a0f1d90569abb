"""The lockprof pytest plugin (entry point `pytest11`, so installing the package enables it).

    pytest --lockprof[=DIR] [--lockprof-top N]

- When the collector is not loaded, the session re-executes itself under `lockprof run` (one line on stderr says
  so); every process of the session — xdist workers included — writes its own profile, DIR/lockprof.<pid>.prof
  (DIR defaults to .lockprof in the current directory). When it is loaded already (`lockprof run -o ... --
  pytest --lockprof`), the profiles go where the collector was told, and DIR is not used.
- Each test runs labelled test=<node id> (its setup, call and teardown; threads it starts inherit the label).
- The terminal summary lists the tests with the most lock contention and the most contended locks over all
  processes, and the profiles (`lockprof report --by label PROFILE...` reads them together).
- `@pytest.mark.lock_budget(wait_ms=5, contentions=100, kind="pymutex", object_type="dict")` fails a test whose
  contention (waits for a lock another thread held, recorded while its setup and call ran; with kind /
  object_type only on such locks) goes over the budget, naming the lock, the waiter's line and the holder's line.
  Without --lockprof the test is skipped with that reason, never passed unchecked.

Budgets are read from the profile: after a budgeted test's call, the process writes its profile (lockprof.dump())
and the bundled CLI reports that test's label (`lockprof report --format json --label test=<node id>`).
"""
import json
import os
import subprocess
import sys

import pytest

import lockprof

from . import _native

DEFAULT_DIR = ".lockprof"
ENV_REEXEC = "LOCKPROF_PYTEST_REEXEC"  # set in the re-executed session, so that it never loops
KINDS = ("pthread_mutex", "pthread_rwlock", "gil", "threading.Lock", "threading.RLock", "pymutex", "parking_lot")
NATIVE_KINDS = ("pthread_mutex", "pthread_rwlock")
BUDGET_KEYS = ("wait_ms", "contentions", "kind", "object_type")


def pytest_addoption(parser):
    group = parser.getgroup("lockprof", "lock contention (lockprof)")
    group.addoption("--lockprof", action="store", nargs="?", const=DEFAULT_DIR, default=None, metavar="DIR",
                    help="profile lock contention, one profile per process in DIR (default .lockprof); "
                         "re-runs the session under the collector when it is not loaded. Write --lockprof=DIR "
                         "(with '=') when test paths follow")
    group.addoption("--lockprof-top", action="store", type=int, default=5, metavar="N",
                    help="rows in the lockprof terminal summary (default 5)")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "lock_budget(wait_ms=None, contentions=None, kind=None, object_type=None): fail the test when "
        "its lock contention goes over the budget (needs --lockprof)")
    if config.getoption("lockprof") is not None and lockprof.active():
        config.pluginmanager.register(LockprofSession(config), "lockprof-session")


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    """Re-executes the session under `lockprof run` when --lockprof is given and the collector is not loaded."""
    directory = config.getoption("lockprof")
    if directory is None or lockprof.active() or hasattr(config, "workerinput"):
        return None
    if os.environ.get(ENV_REEXEC):
        raise pytest.UsageError("--lockprof: the session was re-run under `lockprof run`, but the collector is "
                                "still not loaded (a static or setuid interpreter?)")
    args = [str(a) for a in config.invocation_params.args]
    orig = list(getattr(sys, "orig_argv", []))
    if not orig or orig[len(orig) - len(args):] != args or sys.argv[1:] != args:
        raise pytest.UsageError("--lockprof: the collector is not loaded and this pytest was not started from a "
                                "command line that can be re-run; start it under `lockprof run -- ...`")
    directory = os.path.abspath(directory)
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise pytest.UsageError(f"--lockprof: {directory} is not a directory (a test path right after --lockprof is "
                                "taken as its DIR: write --lockprof=DIR, or --lockprof after the test paths)")
    os.makedirs(directory, exist_ok=True)
    cmd = [_native.EXECUTABLE, "run", "-o", os.path.join(directory, "lockprof.%p.prof"), "--no-summary", "--",
           sys.executable, *orig[1:]]
    sys.stderr.write(f"lockprof: the collector is not loaded: re-running this pytest session under "
                     f"`lockprof run` (profiles in {directory})\n")
    sys.stdout.flush()
    sys.stderr.flush()
    os.environ[ENV_REEXEC] = "1"
    os.execv(cmd[0], cmd)


def pytest_collection_modifyitems(config, items):
    """Without a --lockprof session, every budget is skipped (at the test's own line), never passed unchecked."""
    if config.pluginmanager.has_plugin("lockprof-session"):
        return
    why = "the collector is not loaded" if config.getoption("lockprof") is not None else \
        "run pytest --lockprof to check it"
    for item in items:
        if item.get_closest_marker("lock_budget"):
            item.add_marker(pytest.mark.skip(reason=f"lock_budget not checked: {why}"))


@pytest.hookimpl(tryfirst=True)  # a malformed budget is an error even where the budget is skipped
def pytest_runtest_setup(item):
    marker = item.get_closest_marker("lock_budget")
    if marker is not None:
        try:
            _budget_of(marker)
        except ValueError as e:
            pytest.fail(str(e), pytrace=False)


def _cli_env():
    """The environment for the bundled CLI: without the collector (it would profile the CLI itself)."""
    env = dict(os.environ)
    kept = [p for p in env.get("LD_PRELOAD", "").replace(" ", ":").split(":")
            if p and not os.path.basename(p).startswith("liblockprof")]
    env["LD_PRELOAD"] = ":".join(kept)
    env["LOCKPROF_DISABLE"] = "1"
    return env


def _report(paths, *options):
    p = subprocess.run([_native.EXECUTABLE, "report", "--format", "json", *options, *paths], env=_cli_env(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"lockprof report failed ({p.returncode}): {p.stderr.strip()}")
    return json.loads(p.stdout)


def _python_line(frames):
    """'func (file:line)' of the innermost Python frame, else of the innermost frame; None without frames."""
    for f in frames or ():
        if f["kind"] == "python":
            return f"{f['function']} ({_short(f['file'])}:{f['line']})"
    for f in frames or ():
        return f"{f['function']} ({os.path.basename(f.get('module') or '?')})"
    return None


def _short(path):
    if not path:
        return "?"
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return rel if not rel.startswith("..") else path


def _budget_of(marker):
    """The budget of a lock_budget marker; ValueError when the marker is malformed."""
    if marker.args:
        raise ValueError("lock_budget takes keyword arguments only: " + ", ".join(BUDGET_KEYS))
    unknown = set(marker.kwargs) - set(BUDGET_KEYS)
    if unknown:
        raise ValueError(f"lock_budget: unknown argument(s) {', '.join(sorted(unknown))} "
                         f"(known: {', '.join(BUDGET_KEYS)})")
    b = dict(marker.kwargs)
    if b.get("wait_ms") is None and b.get("contentions") is None:
        raise ValueError("lock_budget needs wait_ms=... or contentions=... (or both)")
    for key in ("wait_ms", "contentions"):
        v = b.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0):
            raise ValueError(f"lock_budget: {key} must be a number from 0 up, not {v!r}")
    if b.get("kind") is not None and b["kind"] not in KINDS:
        raise ValueError(f"lock_budget: kind must be one of {', '.join(KINDS)}, not {b['kind']!r}")
    if b.get("object_type") is not None and not isinstance(b["object_type"], str):
        raise ValueError(f"lock_budget: object_type must be a type name (str), not {b['object_type']!r}")
    return b


def _selection(b):
    parts = [f"{k}={b[k]!r}" for k in ("kind", "object_type") if b.get(k) is not None]
    return " on " + ", ".join(parts) if parts else ""


def unchecked_reason(budget, report):
    """Why `report` cannot decide `budget` (the collector did not know this interpreter's locks), else None."""
    if budget.get("kind") in NATIVE_KINDS:
        return None
    blind = [p for p in report["processes"] if p["python"] is None]
    if not blind:
        return None
    warning = next((w for p in blind for w in p["warnings"] if "CPython" in w), "")
    return ("lock_budget not checked: the collector did not see this interpreter's Python-level locks"
            + (f" ({warning})" if warning else ""))


def check_budget(budget, report):
    """The failure message when the test's contention in `report` (lockprof report JSON of the test's label) goes
    over `budget`, else None."""
    locks = [lk for lk in report["locks"] if lk["contention"]
             and (budget.get("kind") is None or lk["kind"] == budget["kind"])
             and (budget.get("object_type") is None or lk["object_type"] == budget["object_type"])]
    wait_ns = sum(lk["wait_ns"] for lk in locks)
    count = sum(lk["contentions"] for lk in locks)
    over = []
    if budget.get("wait_ms") is not None and wait_ns / 1e6 > budget["wait_ms"]:
        over.append(f"wait {wait_ns / 1e6:.3f} ms > wait_ms={budget['wait_ms']}")
    if budget.get("contentions") is not None and count > budget["contentions"]:
        over.append(f"{count} contentions > contentions={budget['contentions']}")
    if not over:
        return None
    lines = [f"lock budget exceeded{_selection(budget)}: " + "; ".join(over)]
    top = max(locks, key=lambda lk: (lk["wait_ns"], lk["contentions"]))
    typ = f" ({top['object_type']})" if top["object_type"] else ""
    lines.append(f"  most wait: {top['kind']} {top['name']}{typ}: {top['wait_ns'] / 1e6:.3f} ms in "
                 f"{top['contentions']} contentions")
    stacks = top["stacks"]
    waiter = _python_line(stacks[0]["frames"]) if stacks else None
    lines.append(f"  waiter: {waiter or '(no stack recorded)'}")
    held = [s for s in stacks if s["holder_frames"]]
    if held:
        lines.append(f"  holder: {_python_line(held[0]['holder_frames'])}")
    else:
        lines.append("  holder: (not recorded: its waiters took the lock while spinning, never asleep, so no "
                     "release woke one)")
    return "\n".join(lines)


class LockprofSession:
    """What a process of a --lockprof session does once the collector is loaded."""

    def __init__(self, config):
        self.config = config
        self.worker_profiles = []

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        with lockprof.label(test=item.nodeid):
            yield

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        marker = item.get_closest_marker("lock_budget")
        if call.when != "call" or marker is None:
            return
        report = outcome.get_result()
        if not report.passed:
            return
        budget = _budget_of(marker)
        path = lockprof.dump()
        rep = _report([path], "--label", f"test={item.nodeid}")
        unchecked = unchecked_reason(budget, rep)
        if unchecked:
            report.outcome = "skipped"
            report.longrepr = (str(item.path), item.location[1] or 0, "Skipped: " + unchecked)
            return
        message = check_budget(budget, rep)
        if message:
            report.outcome = "failed"
            report.longrepr = message

    def pytest_sessionfinish(self, session):
        workeroutput = getattr(self.config, "workeroutput", None)
        if workeroutput is not None:  # an xdist worker: the controller reads its profile
            workeroutput["lockprof_profile"] = lockprof.dump()

    @pytest.hookimpl(optionalhook=True)  # an xdist hook
    def pytest_testnodedown(self, node, error):
        path = getattr(node, "workeroutput", {}).get("lockprof_profile")
        if path:
            self.worker_profiles.append(path)

    def pytest_terminal_summary(self, terminalreporter):
        if hasattr(self.config, "workerinput"):
            return
        tr = terminalreporter
        top = max(self.config.getoption("lockprof_top"), 1)
        paths = [lockprof.dump()] + sorted(set(self.worker_profiles))
        tr.write_sep("=", "lockprof")
        try:
            rep = _report(paths)
        except RuntimeError as e:
            tr.write_line(f"lockprof: {e}")
            return
        by_test = {}
        for ls in rep["label_sets"]:
            test = ls["labels"].get("test")
            if test is not None:
                t = by_test.setdefault(test, [0, 0])
                t[0] += ls["wait_ns"]
                t[1] += ls["contentions"]
        tr.write_line("tests with the most lock contention (time their threads waited for a lock another thread "
                      "held):")
        if not by_test:
            tr.write_line("  none: no test waited for a lock")
        else:
            tr.write_line(f"  {'wait[ms]':>10} {'contentions':>11}  test")
            for test, (w, c) in sorted(by_test.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))[:top]:
                tr.write_line(f"  {w / 1e6:10.3f} {c:11d}  {test}")
        locks = [lk for lk in rep["locks"] if lk["contention"]][:top]
        tr.write_line("most contended locks (all tests and processes):")
        if not locks:
            tr.write_line("  none")
        else:
            tr.write_line(f"  {'wait[ms]':>10} {'contentions':>11}  {'kind':<15} lock (object type) — top waiter")
            for lk in locks:
                typ = f" ({lk['object_type']})" if lk["object_type"] else ""
                waiter = _python_line(lk["stacks"][0]["frames"]) if lk["stacks"] else None
                tr.write_line(f"  {lk['wait_ns'] / 1e6:10.3f} {lk['contentions']:11d}  {lk['kind']:<15} "
                              f"{lk['name']}{typ} — {waiter or '(no stack)'}")
        warnings = sorted({w for p in rep["processes"] for w in p["warnings"]})
        for w in warnings:
            tr.write_line(f"collector warning: {w}")
        tr.write_line(f"profiles ({len(paths)}): " + " ".join(_short(p) for p in paths))
        tr.write_line("details: lockprof report --by label " + " ".join(_short(p) for p in paths))
