#!/usr/bin/env python3
"""CPython's own thread/lock/fork/signal test suites, with and without lockprof (driver of scripts/cpython-tests.sh).

For every interpreter (scripts/find-pythons.sh) and every test module below that the interpreter has, runs
`python -m test -v --junit-xml FILE MODULE` twice: once plainly and once under `lockprof run`, and compares the
per-test outcomes. A test that passes without lockprof but fails, errors, is skipped or is missing with it is a
*candidate*; candidates are rerun in isolation (`-m TEST_ID`) both ways --reruns times before a verdict:

  regression   failed in most reruns under lockprof, never without it       -> exit status 1
  flaky        also failed without lockprof in a rerun                      -> reported, not counted
  unconfirmed  failed under lockprof in fewer than half of the reruns, never
               without it (a timing-sensitive test slowed down, or a rare
               failure worth a look: the report lists it with its counts)   -> reported, not counted

A regression lockprof causes fails every time and is counted; a test that fails only now and then, with or
without lockprof, must not fail this check on a loaded machine.

The run with lockprof must also leave a profile of the main process that `lockprof report` reads, every profile
of the run must parse, and no profile may carry a warning of concern (BENIGN_WARNINGS lists the others); a
violation is exit status 1 as well.
"""
import argparse
import concurrent.futures
import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The test modules, in one place. (name, in --subset, why it is here). A module an interpreter does not have is
# skipped for that interpreter (test_free_threading exists from 3.13 on; pyenv installs may lack some).
MODULES = [
    # -- the thread and lock suites themselves
    ("test_threading", True, "threading.Lock/RLock/Condition/Event/Semaphore/Barrier, Thread start/join, "
                              "fork with threads, interpreter shutdown with live threads"),
    ("test_thread", True, "the _thread module: allocate_lock, acquire timeouts, start_new_thread, stack sizes"),
    ("test_threading_local", True, "thread-local storage created and torn down across threads"),
    ("test_queue", True, "queue.Queue (Condition-based) and SimpleQueue (parking lot on 3.13) under contention"),
    ("test_concurrent_futures", False, "thread and process pools: worker shutdown, fork/forkserver/spawn, "
                                       "process-shared semaphores (sem_open), deadlock detection"),
    ("test_free_threading", True, "3.13+: lists/dicts/sets/types mutated from many threads (PyMutex and critical "
                                  "sections: the entry-patched slow paths)"),
    ("test_capi.test_misc", False, "3.12+: Test_PyLock/Test_testinternalcapi run CPython's C tests of PyMutex, "
                                   "critical sections, once-flags and rw-mutexes (the patched functions), "
                                   "PyGILState and thread-state switching"),
    # -- neighbours: what else exercises locks, threads, fork, signals and exit paths
    ("test_sys_setprofile", True, "profile hooks, threading.setprofile: the frames lockprof walks while hooks run"),
    ("test_sys_settrace", False, "trace hooks and frame manipulation while lockprof reads frames"),
    ("test_threadsignals", True, "signals arriving while threads block in lock acquires: EINTR and restart of the "
                                 "interposed sem_*/pthread waits"),
    ("test_signal", False, "handlers, pthread_kill, sigwait, setitimer, SIGUSR1/SIGUSR2 (lockprof's dump signal) "
                           "and signals during blocking calls"),
    ("test_fork1", True, "fork() while other threads hold locks: lockprof's atfork child handler"),
    ("test_subprocess", False, "vfork+exec and fork+exec with a preloaded library: the exec* hooks and vfork "
                               "children sharing lockprof's memory; exit statuses and stderr contents"),
    ("test_os", False, "fork, register_at_fork, exec*, posix_spawn, _exit, waitpid"),
    ("test_multiprocessing_fork", False, "forked workers, process-shared semaphores and locks, managers, "
                                         "queues with feeder threads, process exit paths"),
    ("test_faulthandler", False, "tracebacks dumped from signal handlers and on fatal errors, exact stderr"),
    ("test_atexit", True, "exit paths: atexit callbacks, Py_Finalize ordering vs lockprof's destructor dump"),
    ("test_importlib.test_threaded_import", False, "the import lock contended by many threads"),
    ("test_importlib.test_locks", False, "per-module import locks and their deadlock detection"),
    ("test_logging", False, "logging's module and handler locks, reinitialised after fork; socket handlers "
                            "(loopback only) with server threads"),
    # subinterpreters: lockprof's GIL detection walks the interpreter list (own GIL per interpreter from 3.12)
    ("test__xxsubinterpreters", False, "3.11/3.12: the low-level subinterpreter module"),
    ("test__interpreters", False, "3.13: the low-level subinterpreter module"),
    ("test_interpreters", False, "the high-level subinterpreter API (skipped by CPython on free-threaded builds)"),
]

# regrtest resources: everything but network, GUI, audio and disk-hungry tests (the subset also drops 'cpu').
RESOURCES = "all,-network,-urlfetch,-gui,-audio,-curses,-largefile"
RESOURCES_SUBSET = "all,-network,-urlfetch,-gui,-audio,-curses,-largefile,-cpu"

# Collector warnings that are not a problem (regexes); any other `m warning` in a profile is of concern.
BENIGN_WARNINGS = [
    # a process that inherited a handled/ignored SIGUSR2 (e.g. a test's child): dumps on signal are off there
    r"^the dump signal already has a handler in this process; dumps on signal are off$",
    # the same pid wrote a profile before exec (by design, dump.c: the new image writes <path>.1)
    r"^a file this process did not write exists at .*; the profile was written to .*$",
    # a fork while another thread was inside libunwind for longer than the fork waits (src/collect/stack.c)
    r"^another thread was capturing a native stack when this process forked: native stacks are off in this "
    r"process \(libunwind's locks were copied held\)$",
]

PRINT_LOCK = threading.Lock()


def log(msg):
    with PRINT_LOCK:
        print(msg, flush=True)


# ---- interpreters ----------------------------------------------------------------------------------------------

INFO_CODE = r"""
import importlib.util, json, sys, sysconfig
mods = json.loads(sys.argv[1])
def has(m):
    try:
        return importlib.util.find_spec('test.' + m) is not None
    except Exception:
        return False
try:
    import test.libregrtest, test.support
    ok = True
except Exception as e:
    ok = repr(e)
print(json.dumps({'version': sys.version.split()[0], 'full': sys.version.replace('\n', ' '),
                  'ft': bool(sysconfig.get_config_var('Py_GIL_DISABLED')), 'regrtest': ok,
                  'modules': [m for m in mods if has(m)]}))
"""


def find_interpreters():
    out = subprocess.run([os.path.join(SRC, "scripts", "find-pythons.sh")], stdout=subprocess.PIPE, text=True,
                         check=True).stdout
    return [tuple(line.split(" ", 1)) for line in out.splitlines() if line.strip()]


def interpreter_info(path, modules):
    p = subprocess.run([path, "-c", INFO_CODE, json.dumps(modules)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, env=clean_env(), timeout=120)
    if p.returncode != 0:
        return None
    return json.loads(p.stdout)


def clean_env():
    """The environment of every test run, the same both ways: no collector settings, no preload of lockprof,
    nothing that changes how Python starts (PYTHON*: meson sets PYTHONPATH for lockprof's own tests)."""
    env = {}
    for k, v in os.environ.items():
        if k.startswith("LOCKPROF_") or k.startswith("PYTHON"):
            continue
        if k == "LD_PRELOAD":
            v = ":".join(x for x in v.split(":") if x and "liblockprof" not in x)
            if not v:
                continue
        env[k] = v
    # glibc fills freed memory with this byte (both ways): a use-after-free in the collector then crashes instead
    # of reading stale data. MALLOC_PERTURB_=0 in the environment turns it off.
    env.setdefault("MALLOC_PERTURB_", "165")
    return env


# ---- one regrtest run ----------------------------------------------------------------------------------------

class Outcomes(dict):
    count = passes = 0  # testcase elements (ids can repeat: the doctests of one module share theirs)


def parse_junit(path):
    """test id -> 'pass' | 'skip' | 'fail' | 'error' from regrtest's --junit-xml (worst outcome per id)."""
    out = Outcomes()
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    for tc in root.iter("testcase"):
        out.count += 1
        name = tc.get("name") or ""
        # a failed subtest is reported under the subtest's id: "test.m.C.test_x (param=1)"
        tid = name.split(" ", 1)[0]
        tags = {c.tag for c in tc}
        if "error" in tags:
            res = "error"
        elif "failure" in tags or "outcome" in tags:  # outcome = unexpected success
            res = "fail"
        elif "skipped" in tags:
            # CPython's own tests that skip themselves whenever LD_PRELOAD is set (3.14's
            # test_subprocess.POSIXProcessTestCase.test_vfork_used_when_expected: "Not supported when LD_PRELOAD is
            # intercepting system calls"): a skip lockprof cannot avoid, not a failure it causes
            msg = " ".join(c.get("message") or "" for c in tc if c.tag == "skipped")
            res = "skip_preload" if "LD_PRELOAD" in msg else "skip"
        else:
            res = "pass"  # success, or an expected failure ('output')
            out.passes += 1
        prev = out.get(tid)
        rank = {"pass": 0, "skip_preload": 1, "skip": 1, "fail": 2, "error": 3}
        if prev is None or rank[res] > rank[prev]:
            out[tid] = res
    return out


class Run:
    def __init__(self, **kw):
        self.__dict__.update(kw)


def run_regrtest(args, py, module, with_lp, workdir, tag, match=None, timeout=None):
    os.makedirs(workdir, exist_ok=True)
    xml = os.path.join(workdir, tag + ".xml")
    logf = os.path.join(workdir, tag + ".log")
    pdir = os.path.join(workdir, tag + ".profiles")
    for p in (xml, logf):
        if os.path.exists(p):
            os.unlink(p)
    shutil.rmtree(pdir, ignore_errors=True)
    cmd = [py, "-m", "test", "-v", "-u", args.resources, "--junit-xml", xml]
    if args.testdir:
        cmd += ["--testdir", args.testdir]
    for m in match or ():
        cmd += ["-m", m]
    for i in args.ignore:
        cmd += ["-i", i]
    cmd.append(module)
    if with_lp:
        os.makedirs(pdir)
        os.chmod(pdir, 0o1777)  # children that switch to another user (subprocess user=/group=) write theirs too
        cmd = [args.lockprof, "run", "-o", os.path.join(pdir, "%p.prof"), "--no-summary", "--"] + cmd
    t0 = time.monotonic()
    timed_out = False
    with open(logf, "w") as lf:
        lf.write("$ " + " ".join(cmd) + "\n")
        lf.flush()
        proc = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=clean_env(),
                                cwd=workdir, start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout or args.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    pass
                try:
                    proc.wait(timeout=20)
                    break
                except subprocess.TimeoutExpired:
                    pass
            rc = proc.wait()
    elapsed = time.monotonic() - t0
    outcomes = parse_junit(xml)
    skipped = None
    if outcomes is None and rc == 0 and not timed_out:
        # a module skipped as a whole (test_free_threading on a GIL build) leaves no XML: "test_x skipped -- why"
        with open(logf, errors="replace") as f:
            m = re.search(r"^(?:\S+ )*?" + re.escape(module) + r" skipped -- (.*)$", f.read(), re.M)
        if m:
            skipped = m.group(1).strip()
            outcomes = Outcomes()
    return Run(rc=rc, elapsed=elapsed, outcomes=outcomes, timed_out=timed_out, log=logf, xml=xml,
               profiles=pdir if with_lp else None, root_pid=proc.pid, skipped=skipped)


# ---- profiles ------------------------------------------------------------------------------------------------

def read_meta(path):
    """The `m` records of a profile (they come first), as a list of (key, value)."""
    meta = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            first = f.readline()
            if not first.startswith("lockprof-profile "):
                return None
            for line in f:
                if not line.startswith("m "):
                    break
                parts = line.rstrip("\n").split(" ", 2)
                meta.append((parts[1], parts[2] if len(parts) > 2 else ""))
    except OSError:
        return None
    return meta


def check_profiles(args, run):
    """Profiles of one run under lockprof: the main process's exists and `lockprof report` reads it; every file
    parses; warnings. Returns a dict (and deletes the files unless --keep-profiles)."""
    pdir = run.profiles
    names = sorted(os.listdir(pdir)) if os.path.isdir(pdir) else []
    files = [os.path.join(pdir, n) for n in names if ".tmp-" not in n]
    leftovers = [n for n in names if ".tmp-" in n]
    res = {"profiles": len(files), "tmp_leftovers": len(leftovers), "main": None, "main_ok": False,
           "unreadable": [], "warnings": {}, "concerns": []}
    main = None
    for f in files:
        meta = read_meta(f)
        if meta is None:
            res["unreadable"].append(os.path.basename(f))
            continue
        d = dict(meta)
        if d.get("ppid") == str(run.root_pid) and main is None:
            main = f
        for k, v in meta:
            if k == "warning":
                res["warnings"][v] = res["warnings"].get(v, 0) + 1
    if main:
        res["main"] = os.path.basename(main)
        p = subprocess.run([args.lockprof, "report", main], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           text=True)
        res["main_ok"] = p.returncode == 0
        if p.returncode != 0:
            res["concerns"].append(f"lockprof report {res['main']} exited {p.returncode}: {p.stderr.strip()[:300]}")
    else:
        res["concerns"].append("no profile of the main process")
    # every file parses: `lockprof report` over all of them (in chunks), file by file only when a chunk fails
    good = [f for f in files if os.path.basename(f) not in res["unreadable"]]
    for i in range(0, len(good), 200):
        chunk = good[i:i + 200]
        p = subprocess.run([args.lockprof, "report", *chunk], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if p.returncode != 0:
            for f in chunk:
                q = subprocess.run([args.lockprof, "report", f], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   text=True)
                if q.returncode != 0:
                    res["unreadable"].append(os.path.basename(f))
    if res["unreadable"]:
        res["concerns"].append(f"{len(res['unreadable'])} profile(s) lockprof cannot read: "
                               + ", ".join(res["unreadable"][:5]))
    for w, n in res["warnings"].items():
        if not any(re.match(b, w) for b in BENIGN_WARNINGS):
            res["concerns"].append(f"warning in {n} profile(s): {w}")
    # warnings the collector printed where the log shows them (children's stderr is often captured by tests)
    try:
        with open(run.log, errors="replace") as f:
            printed = sorted({line.strip() for line in f if line.startswith("lockprof: warning: ")})
    except OSError:
        printed = []
    res["printed_warnings"] = printed
    for w in printed:
        text = w[len("lockprof: warning: "):]
        if not any(re.match(b, text) for b in BENIGN_WARNINGS) and not text.startswith("  reason: "):
            if not any(text in c for c in res["concerns"]):
                res["concerns"].append(f"printed: {w}")
    if not args.keep_profiles:
        shutil.rmtree(pdir, ignore_errors=True)
    return res


# ---- one (interpreter, module) -------------------------------------------------------------------------------

def passed(outcomes, tid):
    return outcomes is not None and outcomes.get(tid) in ("pass", "skip_preload")


def run_pair(args, label, py, module, outdir):
    wd = os.path.join(outdir, label, module)
    base = run_regrtest(args, py, module, False, wd, "without")
    withr = run_regrtest(args, py, module, True, wd, "with")
    prof = check_profiles(args, withr)
    bo = base.outcomes if base.outcomes is not None else Outcomes()
    wo = withr.outcomes if withr.outcomes is not None else Outcomes()
    r = {
        "interpreter": label, "python": py, "module": module,
        "tests": base.outcomes.count if base.outcomes is not None else None,
        "tests_with": withr.outcomes.count if withr.outcomes is not None else None,
        "passed_without": bo.passes,
        "passed_with": wo.passes,
        "failed_without": sorted(t for t, v in bo.items() if v in ("fail", "error")),
        "failed_with": sorted(t for t, v in wo.items() if v in ("fail", "error")),
        "rc_without": base.rc, "rc_with": withr.rc,
        "time_without": round(base.elapsed, 1), "time_with": round(withr.elapsed, 1),
        "timeout_without": base.timed_out, "timeout_with": withr.timed_out,
        "no_xml_without": base.outcomes is None, "no_xml_with": withr.outcomes is None,
        "log_without": base.log, "log_with": withr.log,
        "profile_check": prof,
        "fixed": sorted(t for t in wo if wo[t] == "pass" and bo.get(t) in ("fail", "error")),
        "skipped_module": base.skipped, "skipped_module_with": withr.skipped,
        "skipped_by_preload": sorted(t for t, v in wo.items() if v == "skip_preload"),
        "regressions": [], "flaky": [], "unconfirmed": [],
    }
    candidates = sorted(t for t, v in bo.items() if v == "pass" and not passed(withr.outcomes, t))
    verdicts = {}
    if candidates:
        log(f"  {label} {module}: {len(candidates)} test(s) passed without lockprof but not with it; "
            f"rerunning them {args.reruns}x both ways")
        fails_with = {t: 0 for t in candidates}
        fails_without = {t: 0 for t in candidates}
        whole = len(candidates) > 40  # a crash or timeout lost most of the module: rerun all of it
        match = None if whole else candidates
        for i in range(args.reruns):
            rb = run_regrtest(args, py, module, False, wd, f"rerun{i}-without", match=match)
            rw = run_regrtest(args, py, module, True, wd, f"rerun{i}-with", match=match)
            if rw.profiles and not args.keep_profiles:
                shutil.rmtree(rw.profiles, ignore_errors=True)
            for t in candidates:
                if not passed(rb.outcomes, t):
                    fails_without[t] += 1
                if not passed(rw.outcomes, t):
                    fails_with[t] += 1
        for t in candidates:
            detail = {"test": t, "first_with": wo.get(t, "missing"), "rerun_fail_with": fails_with[t],
                      "rerun_fail_without": fails_without[t], "reruns": args.reruns}
            if fails_without[t]:
                r["flaky"].append(detail)
            elif 2 * fails_with[t] > args.reruns:
                r["regressions"].append(detail)
            else:
                r["unconfirmed"].append(detail)
            verdicts[t] = detail
    if not args.keep_logs and not r["regressions"] and not r["flaky"] and not r["unconfirmed"] \
            and not prof["concerns"] and not r["failed_without"] and not r["no_xml_with"] \
            and not r["no_xml_without"]:
        shutil.rmtree(wd, ignore_errors=True)
    return r


# ---- output ----------------------------------------------------------------------------------------------------

HEAD = ["interpreter", "module", "tests", "pass w/o", "pass with", "lost", "flaky", "unconf.", "w/o [s]", "with [s]",
        "profiles", "main prof."]


def row_of(r):
    def n(x):
        return "-" if x is None else str(x)
    pc = r["profile_check"]
    tests = n(r["tests"])
    if r["tests_with"] is not None and r["tests_with"] != r["tests"]:
        tests += f"/{r['tests_with']}"
    if r["no_xml_without"]:
        tests = "crash" if not r["timeout_without"] else "timeout"
    elif r.get("skipped_module"):
        tests = "skipped"
    main = "ok" if pc["main_ok"] else "MISSING" if not pc["main"] else "BAD"
    if pc["concerns"] and pc["main_ok"]:
        main = "ok, warn"
    return [r["interpreter"], r["module"], tests, str(r["passed_without"]), str(r["passed_with"]),
            str(len(r["regressions"])), str(len(r["flaky"])), str(len(r["unconfirmed"])),
            f"{r['time_without']:.1f}", f"{r['time_with']:.1f}", str(pc["profiles"]), main]


def table(rows, md=False):
    data = [HEAD] + [row_of(r) for r in rows]
    if md:
        lines = ["| " + " | ".join(HEAD) + " |", "|" + "|".join("---" for _ in HEAD) + "|"]
        lines += ["| " + " | ".join(d) + " |" for d in data[1:]]
        return "\n".join(lines)
    w = [max(len(d[i]) for d in data) for i in range(len(HEAD))]
    out = []
    for k, d in enumerate(data):
        out.append("  ".join(c.ljust(w[i]) if i < 2 else c.rjust(w[i]) for i, c in enumerate(d)))
        if k == 0:
            out.append("  ".join("-" * x for x in w))
    return "\n".join(out)


def details(rows):
    out = []
    for r in rows:
        key = f"{r['interpreter']} {r['module']}"
        for kind in ("regressions", "flaky", "unconfirmed"):
            for d in r[kind]:
                out.append(f"{kind[:-1] if kind.endswith('s') else kind}: {key}: {d['test']} (with lockprof: "
                           f"{d['first_with']}; reruns failed {d['rerun_fail_with']}/{d['reruns']} with, "
                           f"{d['rerun_fail_without']}/{d['reruns']} without)")
        for c in r["profile_check"]["concerns"]:
            out.append(f"profile concern: {key}: {c}")
        if r["profile_check"]["tmp_leftovers"]:
            out.append(f"note: {key}: {r['profile_check']['tmp_leftovers']} profile(s) left as .tmp files (a process "
                       f"killed while writing its profile, e.g. a pool worker terminated with SIGTERM)")
        if r["failed_without"]:
            out.append(f"fails without lockprof too: {key}: " + ", ".join(r["failed_without"][:8])
                       + (" ..." if len(r["failed_without"]) > 8 else ""))
        if r.get("skipped_module") or r.get("skipped_module_with"):
            out.append(f"module skipped by CPython: {key}: without: {r.get('skipped_module')}; with: "
                       f"{r.get('skipped_module_with')}")
        if r.get("skipped_by_preload"):
            out.append(f"skipped by CPython whenever LD_PRELOAD is set (not counted): {key}: "
                       + ", ".join(r["skipped_by_preload"]))
        if r["fixed"]:
            out.append(f"passes only with lockprof (flaky?): {key}: " + ", ".join(r["fixed"][:8]))
        if r["no_xml_with"] or r["no_xml_without"]:
            out.append(f"no results ({'timeout' if r['timeout_with'] or r['timeout_without'] else 'crash'}): {key}: "
                       f"without rc={r['rc_without']}, with rc={r['rc_with']}; logs {r['log_without']} "
                       f"{r['log_with']}")
    return out


def main():
    # A shell starts background jobs with SIGINT and SIGQUIT ignored, and exec passes an ignored signal on: CPython
    # then never installs its SIGINT handler, and tests that rely on it (test_threading's
    # test_print_exception_gh_102056 waits for _thread.interrupt_main()) spin until the timeout, with and without
    # lockprof. The test interpreters get the default dispositions whatever this script inherited.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)
    ap = argparse.ArgumentParser(prog="cpython-tests.sh", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subset", action="store_true", help="the representative subset (CI: a few minutes)")
    ap.add_argument("--python", action="append", default=[],
                    help="only this interpreter (path or find-pythons.sh label; repeatable)")
    ap.add_argument("--module", action="append", default=[], help="only this test module (repeatable)")
    ap.add_argument("--ignore", action="append", default=[], metavar="PAT",
                    help="regrtest -i: leave out tests matching PAT (e.g. one that hangs without lockprof too)")
    ap.add_argument("--jobs", type=int, default=1, help="(interpreter, module) pairs run at once (default 1)")
    ap.add_argument("--reruns", type=int, default=3, help="reruns of each candidate regression, each way (default 3)")
    ap.add_argument("--timeout", type=float, default=None,
                    help="seconds per regrtest run before it is killed (default 2400, 900 with --subset)")
    ap.add_argument("--out", help="directory for logs and results.json (default: a new one under $TMPDIR)")
    ap.add_argument("--markdown", help="also write the table as Markdown to this file")
    ap.add_argument("--keep-logs", action="store_true", help="keep the logs of clean modules too")
    ap.add_argument("--keep-profiles", action="store_true", help="keep the profiles (deleted after the checks)")
    ap.add_argument("--list", action="store_true", help="list the modules and why they are here, and exit")
    ap.add_argument("--table", nargs="+", metavar="RESULTS_JSON",
                    help="print the table of earlier runs' results.json files (later files replace the "
                         "(interpreter, module) rows of earlier ones) and exit")
    ap.add_argument("--testdir", help=argparse.SUPPRESS)  # regrtest --testdir: the driver's own self-check
    args = ap.parse_args()

    if args.list:
        for name, sub, why in MODULES:
            print(f"{name:36} {'subset' if sub else 'full  '}  {why}")
        return 0
    if args.table:
        merged = {}
        for path in args.table:
            with open(path) as f:
                for r in json.load(f)["results"]:
                    merged[(r["interpreter"], r["module"])] = r
        rows = list(merged.values())
        print(table(rows))
        notes = details(rows)
        if notes:
            print("\n" + "\n".join(notes))
        if args.markdown:
            with open(args.markdown, "w") as f:
                f.write(table(rows, md=True) + "\n")
        return 1 if any(r["regressions"] or r["profile_check"]["concerns"] for r in rows) else 0
    build = os.environ.get("LOCKPROF_BUILD") or os.path.join(SRC, "build")
    if not os.path.isabs(build):
        build = os.path.join(os.getcwd(), build)
    args.lockprof = os.path.join(build, "lockprof")
    if not os.access(args.lockprof, os.X_OK) or not os.path.exists(os.path.join(build, "liblockprof.so")):
        print(f"cpython-tests: no lockprof build in {build} (set LOCKPROF_BUILD)", file=sys.stderr)
        return 2
    args.resources = RESOURCES_SUBSET if args.subset else RESOURCES
    if args.timeout is None:
        args.timeout = 900 if args.subset else 2400

    modules = [m for m, sub, _ in MODULES if sub or not args.subset]
    if args.module:
        unknown = [m for m in args.module if m not in {x for x, _, _ in MODULES}]
        if unknown:
            print(f"cpython-tests: note: {', '.join(unknown)} not in the module list; running as asked",
                  file=sys.stderr)
        modules = args.module

    interps = find_interpreters()
    if args.python:
        want = []
        for p in args.python:
            hit = [(lab, path) for lab, path in interps
                   if p == lab or os.path.realpath(p) == os.path.realpath(path)]
            if not hit:
                if not os.access(p, os.X_OK):
                    print(f"cpython-tests: {p} is not an interpreter", file=sys.stderr)
                    return 2
                hit = [(os.path.basename(p), p)]
            want += hit
        interps = want
    if not interps:
        print("cpython-tests: no interpreter found (scripts/find-pythons.sh)", file=sys.stderr)
        return 2

    outdir = args.out or tempfile.mkdtemp(prefix="lockprof-cpython-tests-", dir=os.environ.get("TMPDIR", "/tmp"))
    os.makedirs(outdir, exist_ok=True)
    started = datetime.datetime.now().astimezone()
    log(f"cpython-tests: lockprof {args.lockprof}; logs in {outdir}")
    jobs, skipped, infos = [], [], {}
    for label, py in interps:
        info = interpreter_info(py, modules)
        if info is None:
            skipped.append(f"{label} ({py}): does not start")
            continue
        if info["regrtest"] is not True:
            hint = " (Debian: apt-get install libpython3.11-testsuite)" if py.startswith("/usr/bin/") else ""
            skipped.append(f"{label} ({py}): no test package{hint}: {info['regrtest']}")
            continue
        infos[label] = dict(info, path=py)
        log(f"  {label}: {py} — Python {info['full']}")
        if args.testdir:
            info["modules"] = modules
        missing = [m for m in modules if m not in info["modules"]]
        if missing:
            skipped.append(f"{label}: no {', '.join(missing)}")
        jobs += [(label, py, m) for m in modules if m in info["modules"]]
    for s in skipped:
        log(f"  skipped: {s}")
    if not jobs:
        print("cpython-tests: nothing to run", file=sys.stderr)
        return 2

    results = []
    t0 = time.monotonic()

    def one(job):
        label, py, m = job
        r = run_pair(args, label, py, m, outdir)
        log(f"  done: {label} {m}: {r['tests']} tests, passed {r['passed_without']} without / {r['passed_with']} "
            f"with, {len(r['regressions'])} regressions ({r['time_without']:.0f}s / {r['time_with']:.0f}s)")
        return r

    with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as ex:
        for r in ex.map(one, jobs):
            results.append(r)
    total = time.monotonic() - t0

    print()
    print(table(results))
    notes = details(results)
    if notes:
        print()
        print("\n".join(notes))
    regressions = sum(len(r["regressions"]) for r in results)
    concerns = sum(len(r["profile_check"]["concerns"]) for r in results)
    flaky = sum(len(r["flaky"]) for r in results)
    unconfirmed = sum(len(r["unconfirmed"]) for r in results)
    tests = sum(r["tests"] or 0 for r in results)
    pw = sum(r["passed_without"] for r in results)
    pl = sum(r["passed_with"] for r in results)
    print()
    print(f"cpython-tests: {len(results)} module runs on {len(infos)} interpreter(s), {tests} tests, "
          f"{pw} passed without lockprof, {pl} with; {regressions} regression(s), {flaky} flaky, "
          f"{unconfirmed} unconfirmed, {concerns} profile concern(s); {total / 60:.1f} min; logs in {outdir}")
    summary = {"started": started.isoformat(timespec="seconds"), "minutes": round(total / 60, 1),
               "subset": args.subset, "resources": args.resources, "lockprof": args.lockprof,
               "interpreters": infos, "skipped": skipped, "results": results}
    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump(summary, f, indent=1)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table(results, md=True) + "\n")
    return 1 if regressions or concerns else 0


if __name__ == "__main__":
    sys.exit(main())
