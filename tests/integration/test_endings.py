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
    p.stdout.close()
    p.stderr.close()
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


class Exec(TempDirTest):
    def test_every_exec_function_keeps_the_old_images_waits(self):
        # the image about to be replaced writes its profile first (reason exec), whichever exec function it calls
        for fn in ("execl", "execle", "execlp", "execv", "fexecve"):
            with self.subTest(exec=fn):
                d = os.path.join(self.tmp, fn)
                os.mkdir(d)
                status, out = raw_status([ENDINGS, fn], env={"LD_PRELOAD": LIB,
                                                            "LOCKPROF_OUTPUT": os.path.join(d, "x.%p.prof")})
                self.assertTrue(os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status)  # /bin/true's
                reasons = [lptest.profile_meta(f)["reason"][0] for f in profiles_in(d)]
                self.assertIn("exec", reasons, reasons)
                old = [f for f in profiles_in(d) if lptest.profile_meta(f)["reason"] == ["exec"]]
                rep = self.report_json(old)
                self.assertTrue([l for l in rep["locks"] if l["name"] == "hot" and l["contentions"] > 0])


class StuckThreads(TempDirTest):
    """Threads blocked when the profile is written: every dump says who waits for which lock, since when, with its
    stack and the owner where the lock records one; a cycle of such waits is reported as a deadlock."""

    def run_endings(self, mode, rc):
        out = os.path.join(self.tmp, mode + ".%p.prof")
        status, stdout = raw_status([ENDINGS, mode], env={"LD_PRELOAD": LIB, "LOCKPROF_OUTPUT": out})
        self.assertTrue(os.WIFEXITED(status) and os.WEXITSTATUS(status) == rc, status)
        self.assertEqual(stdout, "contended\nblocked\n")
        files = [f for f in profiles_in(self.tmp) if os.path.basename(f).startswith(mode + ".")]
        self.assertEqual(len(files), 1)
        return files, self.report_json(files, "--top", "0")

    def test_abba_deadlock_at_exit(self):
        files, rep = self.run_endings("abba", 3)
        waits = [w for w in rep["waiting"] if w["kind"] == "pthread_mutex"]
        self.assertEqual(sorted(w["lock"] for w in waits), ["mutex_a", "mutex_b"], rep["waiting"])
        by_tid = {w["tid"]: w for w in waits}
        for w in waits:  # each is held by the other
            self.assertIn(w["owner"]["tid"], by_tid)
            self.assertNotEqual(w["owner"]["tid"], w["tid"])
            self.assertTrue(lptest.has_frame(w["frames"], "ab"), w["frames"])
        self.assertEqual(len(rep["deadlocks"]), 1, rep["deadlocks"])
        members = {rep["waiting"][i]["tid"] for i in rep["deadlocks"][0]["waiting"]}
        self.assertEqual(members, set(by_tid))
        text = lptest.lockprof("report", *files, check=True).stdout
        self.assertIn("DEADLOCK in pid", text)
        self.assertIn("Waits in progress when the profile was written (2)", text)
        # a CI gate: `max deadlocks 0` fails this run
        rules = os.path.join(self.tmp, "rules.txt")
        with open(rules, "w") as f:
            f.write("max deadlocks 0\n")
        gate = lptest.lockprof("check", "--rules", rules, *files)
        self.assertEqual(gate.returncode, 1, gate.stdout)
        self.assertIn("measured 1, limit 0", gate.stdout)

    def test_seven_threads_blocked_when_another_calls_exit(self):
        files, rep = self.run_endings("stuck", 4)
        pid = rep["processes"][0]["pid"]
        kinds = sorted((w["kind"], w["lock"], w["owner"]["tid"] if w["owner"] else None, w["event"])
                       for w in rep["waiting"])
        self.assertEqual(kinds, sorted([("pthread_mutex", "mutex_a", pid, False)] * 3 +
                                       [("pthread_rwlock", "rw", pid, False)] * 2 +
                                       [("pthread_cond", "cond", None, True)] * 2), rep["waiting"])
        self.assertEqual(rep["deadlocks"], [])
        rules = os.path.join(self.tmp, "rules.txt")
        with open(rules, "w") as f:
            f.write("max deadlocks 0\n")
        self.assertEqual(lptest.lockprof("check", "--rules", rules, *files).returncode, 0)
        for w in rep["waiting"]:
            self.assertTrue(any(lptest.has_frame(w["frames"], f) for f in ("lock_a", "write_rw", "wait_cond")))

    def test_dump_signal_on_a_deadlocked_program(self):
        # SIGUSR2 to `lockprof run`, which forwards it: the profile written on that signal shows the deadlock
        out = os.path.join(self.tmp, "sig.%p.prof")
        proc = subprocess.Popen([lptest.LOCKPROF, "run", "-o", out, "--no-summary", "--", ENDINGS, "abba-wait"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            self.assertEqual(proc.stdout.readline(), "contended\n")
            self.assertEqual(proc.stdout.readline(), "blocked\n")  # both threads sit in futex waits now
            self.assertTrue(lptest.wait_until(lambda: any(lptest.catches_signal(c, signal.SIGUSR2)
                                                          for c in child_pids(proc.pid))))
            proc.send_signal(signal.SIGUSR2)
            self.assertTrue(lptest.wait_until(lambda: profiles_in(self.tmp)), "no profile on SIGUSR2")
            files = profiles_in(self.tmp)
            self.assertEqual(lptest.profile_meta(files[0])["reason"], ["signal"])
            rep = self.report_json(files)
            self.assertEqual(len(rep["deadlocks"]), 1, rep["waiting"])
        finally:
            proc.send_signal(signal.SIGTERM)  # forwarded: ends the program (and writes its last profile)
            proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 128 + signal.SIGTERM)

    PY_ABBA = ("import os, sys, threading, time\n"
               "a = threading.Lock(); b = threading.Lock()\n"
               "both = threading.Barrier(2)\n"
               "tids = []\n"
               "def one(x, y):\n"
               "    with x:\n"
               "        tids.append(threading.get_native_id())\n"
               "        both.wait()\n"
               "        with y:  # the deadlocked line\n"
               "            pass\n"
               "for x, y in ((a, b), (b, a)):\n"
               "    threading.Thread(target=one, args=(x, y), daemon=True).start()\n"
               "def blocked(tid):\n"
               "    try:\n"
               "        with open(f'/proc/self/task/{tid}/syscall') as f:\n"
               "            return f.read().startswith('202 ')\n"
               "    except OSError:\n"
               "        return False\n"
               "while len(tids) < 2 or not all(blocked(t) for t in tids):\n"
               "    time.sleep(0.001)\n"
               "print(*tids, flush=True)\n"
               "os._exit(3)\n")

    def test_python_abba_deadlock(self):
        # threading.Lock records no owner; lockprof knows the last thread that took it (a PyThread lock's semaphore,
        # or a PyMutex through the patched _PyMutex_LockTimed)
        for label, py in interpreters(self, ("debian-3.11", "3.13-gil", "3.13t", "3.14-gil", "3.14t")):
            with self.subTest(python=label):
                p, files = self.profile([py, "-c", self.PY_ABBA], expect_rc=3, name="pyabba-" + label)
                tids = {int(t) for t in p.stdout.split()}
                rep = self.report_json(files, "--top", "0")
                self.assertEqual(len(rep["deadlocks"]), 1, rep["waiting"])
                members = [rep["waiting"][i] for i in rep["deadlocks"][0]["waiting"]]
                self.assertEqual({w["tid"] for w in members}, tids)
                for w in members:
                    self.assertEqual(w["kind"], "threading.Lock")
                    self.assertEqual({w["tid"], w["owner"]["tid"]}, tids)
                    self.assertTrue(lptest.has_frame(w["frames"], "one", 9), lptest.frames_text(w["frames"]))


def child_pids(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


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
