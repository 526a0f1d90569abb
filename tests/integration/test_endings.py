"""Every way a profiled process ends leaves a profile, and ends exactly as it would without lockprof.

A signal whose default action ends the process (SIGTERM, SIGINT, SIGSEGV, SIGABRT, SIGBUS, SIGFPE, ...) writes the
profile first (src/collect/signals.c), then ends the process with the same signal, status and core dump; a
program's own handler still gets its signals, an ignored signal stays ignored, and sigaction() shows the program
the dispositions it set. On CPython: an uncaught KeyboardInterrupt (CPython re-raises SIGINT on itself at the very
end) and multiprocessing pools (Pool.__exit__ terminates its workers with SIGTERM)."""
import os
import resource
import signal
import subprocess
import unittest

import lptest
from lptest import BUILD, LIB, TempDirTest, python_info, pythons

ENDINGS = os.path.join(BUILD, "tests", "endings")


def profiles_in(d):
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".prof"))


def raw_status(cmd, env=None, cwd=None, ignore_term=False):
    """Runs cmd to its end and returns (raw wait status, stdout): the status keeps the core-dump bit that
    subprocess's returncode drops. Core dumps are allowed (the kernel writes them to cwd)."""
    def child():
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        if ignore_term:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
    full = dict(os.environ)
    full.update(env or {})
    p = subprocess.Popen(cmd, env=full, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         preexec_fn=child)
    out = p.stdout.read().decode()
    p.stderr.read()
    _, status = os.waitpid(p.pid, 0)
    p.returncode = 0  # reaped here
    return status, out


class FatalSignals(TempDirTest):
    MODES = {"term": signal.SIGTERM, "int": signal.SIGINT, "term-thread": signal.SIGTERM, "abort": signal.SIGABRT,
             "segv": signal.SIGSEGV, "bus": signal.SIGBUS, "fpe": signal.SIGFPE}

    def test_a_fatal_signal_writes_the_profile_then_ends_the_process_the_same_way(self):
        for mode, sig in self.MODES.items():
            with self.subTest(mode=mode):
                plain = os.path.join(self.tmp, "plain-" + mode)
                prof = os.path.join(self.tmp, "prof-" + mode)
                os.mkdir(plain)
                os.mkdir(prof)
                without, out0 = raw_status([ENDINGS, mode], cwd=plain)
                self.assertTrue(os.WIFSIGNALED(without) and os.WTERMSIG(without) == sig, (mode, without))
                with_, out1 = raw_status([ENDINGS, mode], cwd=prof, env={
                    "LD_PRELOAD": LIB, "LOCKPROF_OUTPUT": os.path.join(prof, "e.%p.prof")})
                # the same end: signal, core dump or not
                self.assertEqual((os.WIFSIGNALED(with_), os.WTERMSIG(with_), os.WCOREDUMP(with_)),
                                 (True, sig, os.WCOREDUMP(without)), mode)
                self.assertEqual(out1, out0)
                files = profiles_in(prof)
                self.assertEqual(len(files), 1, os.listdir(prof))
                meta = lptest.profile_meta(files[0])
                self.assertEqual(meta["reason"], ["fatal_signal"])
                self.assertEqual(meta["fatal_signal"], [signal.Signals(sig).name])
                rep = self.report_json(files)
                hot = [l for l in rep["locks"] if l["name"] == "hot"]
                self.assertTrue(hot and hot[0]["contentions"] > 0, "the waits recorded before the signal")

    def test_the_programs_own_handler_gets_the_signal(self):
        status, out = raw_status([ENDINGS, "handler"], env={
            "LD_PRELOAD": LIB, "LOCKPROF_OUTPUT": os.path.join(self.tmp, "h.%p.prof")})
        self.assertTrue(os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status)
        self.assertEqual(out, "contended\nhandled\n")
        self.assertEqual(lptest.profile_meta(profiles_in(self.tmp)[0])["reason"], ["exit"])

    def test_an_ignored_signal_stays_ignored(self):
        status, out = raw_status([ENDINGS, "ignored"], ignore_term=True, env={
            "LD_PRELOAD": LIB, "LOCKPROF_OUTPUT": os.path.join(self.tmp, "i.%p.prof")})
        self.assertTrue(os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status)
        self.assertEqual(out, "contended\nstill here\n")

    def test_the_program_sees_the_dispositions_it_did_not_change(self):
        _, without = raw_status([ENDINGS, "view"])
        _, with_ = raw_status([ENDINGS, "view"], env={
            "LD_PRELOAD": LIB, "LOCKPROF_OUTPUT": os.path.join(self.tmp, "v.%p.prof")})
        self.assertEqual(without, "contended\nSIGINT default SIGTERM default SIGSEGV default SIGUSR2 default\n")
        self.assertEqual(with_, without)

    def test_lockprof_run_reports_the_status(self):
        p, files = self.profile([ENDINGS, "term"], expect_rc=128 + signal.SIGTERM, name="run")
        self.assertEqual(len(files), 1)
        self.assertEqual(lptest.profile_meta(files[0])["fatal_signal"], ["SIGTERM"])


def interpreters(test, labels_wanted):
    """The found interpreters among the wanted labels; each wanted one that is missing is a visible skip."""
    lptest.skip_missing(test)
    found = [(l, p) for l, p in pythons() if l in labels_wanted]
    if not found:
        test.skipTest(f"none of {labels_wanted} found")
    return found


class PythonEndings(TempDirTest):
    def test_uncaught_keyboard_interrupt(self):
        for label, py in interpreters(self, ("debian-3.11", "3.13t", "3.14t", "3.14-gil")):
            with self.subTest(python=label):
                p, files = self.profile([py, "-c", "raise KeyboardInterrupt"], expect_rc=128 + signal.SIGINT,
                                        name="kbint-" + label)
                self.assertEqual(len(files), 1, p.stderr)
                meta = lptest.profile_meta(files[0])
                self.assertEqual((meta["reason"], meta["fatal_signal"]), (["fatal_signal"], ["SIGINT"]))

    # Two workers each report their pid (a file) and then stay busy; once both have, leaving the `with` block
    # terminates the pool: Pool.__exit__ sends SIGTERM to busy workers.
    POOL = ("import multiprocessing as mp, os, sys, time\n"
            "def work(d):\n"
            "    open(os.path.join(d, str(os.getpid())), 'w').close()\n"
            "    time.sleep(60)\n"
            "if __name__ == '__main__':\n"
            "    d = sys.argv[2]\n"
            "    with mp.get_context(sys.argv[1]).Pool(2) as pool:\n"
            "        pool.map_async(work, [d, d], chunksize=1)\n"
            "        deadline = time.monotonic() + 60\n"
            "        while len(os.listdir(d)) < 2 and time.monotonic() < deadline:\n"
            "            time.sleep(0.01)\n"
            "    print(' '.join(sorted(os.listdir(d))))\n")

    def test_pool_workers_terminated_by_the_pool_leave_their_profiles(self):
        script = os.path.join(self.tmp, "pool.py")
        with open(script, "w") as f:
            f.write(self.POOL)
        for label, py in interpreters(self, ("debian-3.11", "3.13t", "3.14t")):
            for method in ("fork", "spawn", "forkserver"):
                with self.subTest(python=label, start_method=method):
                    d = os.path.join(self.tmp, f"{label}-{method}")
                    pids_dir = d + "-pids"
                    os.mkdir(d)
                    os.mkdir(pids_dir)
                    p = lptest.lockprof("run", "-o", os.path.join(d, "w.%p.prof"), "--no-summary", "--", py, script,
                                        method, pids_dir, cwd=self.tmp)
                    self.assertEqual(p.returncode, 0, p.stderr)
                    workers = {int(x) for x in p.stdout.split()}
                    self.assertEqual(len(workers), 2, p.stdout)
                    reasons = {}
                    for f in profiles_in(d):
                        meta = lptest.profile_meta(f)
                        reasons[int(meta["pid"][0])] = (meta["reason"][0], meta.get("fatal_signal", [""])[0])
                    for pid in workers:  # each busy worker, killed by the pool's SIGTERM, left its profile
                        self.assertEqual(reasons.get(pid), ("fatal_signal", "SIGTERM"), (pid, reasons))


if __name__ == "__main__":
    lptest.main()
