"""The host program never notices: semantics of every interposed call are preserved, process and thread storms
neither crash nor deadlock and leave one complete profile per normally-exiting process, dump requests under load
are harmless, and profiles are written safely (issue: reliability and security)."""
import os
import signal
import stat
import subprocess
import tempfile
import time
import unittest

import lptest
from lptest import BUILD, EXAMPLES_C, LIB, LOCKPROF, TempDirTest, has_frame, lockprof, run

BIN = os.path.join(BUILD, "tests")


def profiles_in(d):
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".prof"))


class Semantics(TempDirTest):
    def test_results_and_errno_identical_with_and_without(self):
        prog = os.path.join(BIN, "semantics")
        without = run([prog], timeout=60)
        self.assertEqual(without.returncode, 0, without.stdout)
        self.assertIn("ALL OK", without.stdout)
        # default mutexes locked in place by lockprof (glibc_mutex.h), and every call forwarded to libc
        for fast in ("1", "0"):
            out = os.path.join(self.tmp, fast)
            os.mkdir(out)
            with_ = run([prog], env={"LD_PRELOAD": LIB, "LOCKPROF_OUTPUT": os.path.join(out, "s.%p.prof"),
                                     "LOCKPROF_MUTEX_FAST_PATH": fast}, timeout=60)
            self.assertEqual(with_.returncode, 0, with_.stdout)
            self.assertEqual(with_.stdout, without.stdout)
            self.assertEqual(with_.stderr, "")
            files = profiles_in(out)
            self.assertEqual(len(files), 1)
            with open(files[0]) as f:
                state = [l.split(" ", 2)[2].strip() for l in f if l.startswith("m mutex_fast_path ")]
            self.assertEqual(state, ["1" if fast == "1" else "0: LOCKPROF_MUTEX_FAST_PATH=0"])
            # the waits the program provoked are in the profile (timed-out ones flagged "failed")
            rep = self.report_json(files)
            failed = [l for l in rep["locks"] if "failed" in l["flags"]]
            self.assertTrue(failed, [(l["kind"], l["name"], l["flags"]) for l in rep["locks"]])
        # switched off: nothing but the real calls (no trylock first either: a robust mutex in the not-recoverable
        # state must still answer ENOTRECOVERABLE, tests/data/semantics.c)
        off = run([prog], env={"LD_PRELOAD": LIB, "LOCKPROF_DISABLE": "1"}, timeout=60)
        self.assertEqual((off.returncode, off.stdout, off.stderr), (0, without.stdout, ""))


    def test_waits_cancelled_by_pthread_cancel(self):
        """Threads cancelled while blocked in the interposed calls that are cancellation points (condition waits,
        semaphore waits, joins: tests/data/cancel_waits.c): the program sees what POSIX promises, as without
        lockprof (cleanup handlers run, the condition's mutex re-acquired first, PTHREAD_CANCELED), nothing is left
        as a wait in progress, and the registry slots come back: after 20 cancelled waiters of one semaphore (more
        than a probe range), a later waiter on it still gets its holder, the thread that posted."""
        prog = os.path.join(BIN, "cancel_waits")
        without = run([prog], timeout=120)
        self.assertEqual(without.returncode, 0, without.stderr)
        self.assertEqual(len(without.stdout.splitlines()), 5)
        self.assertTrue(all(l.endswith("cancelled=1 cleaned=1 relock=0") for l in without.stdout.splitlines()),
                        without.stdout)
        p, files = self.profile([prog], name="cancel")
        self.assertEqual((p.stdout, p.stderr.count("lockprof: warning")), (without.stdout, 0))
        rep = self.report_json(files)
        self.assertEqual(rep["waiting"], [])
        p, files = self.profile([prog, "20"], name="after")
        self.assertIn("posted_after=20 ", p.stdout)
        rep = self.report_json(files)
        # the taker's is the one semaphore wait recorded (a cancelled wait is not one)
        sems = [s for l in rep["locks"] if l["kind"] == "semaphore" for s in l["stacks"]]
        self.assertEqual([s["contentions"] for s in sems], [1], [(l["kind"], l["name"]) for l in rep["locks"]])
        self.assertEqual((sems[0]["holder_thread"] or {}).get("tid"), rep["processes"][0]["pid"], sems[0])

    def test_another_interposer_after_lockprof_sees_every_call(self):
        # bench/passthrough_shim.c after lockprof in LD_PRELOAD: lockprof's next pthread_mutex_lock is the shim's,
        # which must see every call, so nothing is locked in place (src/collect/glibc_mutex.c), with one warning.
        shim = os.path.join(BUILD, "bench", "libpassthrough_shim.so")
        prog = os.path.join(BIN, "semantics")
        without = run([prog], timeout=60)
        with_ = run([prog], env={"LD_PRELOAD": f"{LIB}:{shim}", "LOCKPROF_OUTPUT": os.path.join(self.tmp, "s.%p.prof")},
                    timeout=60)
        self.assertEqual(with_.returncode, 0, with_.stdout)
        self.assertEqual(with_.stdout, without.stdout)
        warning = "another library interposes pthread_mutex_lock/unlock after lockprof; every call goes to it"
        self.assertEqual(with_.stderr, f"lockprof: warning: {warning}\n")
        meta = lptest.profile_meta(profiles_in(self.tmp)[0])
        self.assertEqual(meta["mutex_fast_path"], ["0: pthread_mutex_lock/unlock after lockprof are not libc's"])
        self.assertEqual(meta["warning"], [warning])


class Bootstrap(TempDirTest):
    def test_locks_taken_before_the_collector_initialised(self):
        early = os.path.join(BIN, "libearly_locker.so")
        # 4 x 2000 sections: hot_lock contended in practice even on a busy machine (3 x 200 often was not)
        p = run([os.path.join(EXAMPLES_C, "hot_mutex"), "4", "2000"],
                env={"LD_PRELOAD": f"{LIB}:{early}", "LOCKPROF_OUTPUT": os.path.join(self.tmp, "e.%p.prof")},
                timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("counter=", p.stdout)
        rep = self.report_json(profiles_in(self.tmp))
        self.assertTrue([l for l in rep["locks"] if l["name"] == "hot_lock"])


class Storms(TempDirTest):
    def complete_profiles(self, n_expected):
        files = profiles_in(self.tmp)
        self.assertEqual(len(files), n_expected, files[:5])
        pids = set()
        for f in files:
            rep = self.report_json([f])  # parses: complete, never truncated
            pids.add(rep["processes"][0]["pid"])
        self.assertEqual(len(pids), n_expected)
        self.assertEqual([f for f in os.listdir(self.tmp) if ".tmp" in f], [])

    def test_thousands_of_threads(self):
        p, files = self.profile([os.path.join(BIN, "storm"), "threads", "3000", "30"], name="threads")
        self.assertIn("done", p.stdout)
        rep = self.report_json(files)
        lock = [l for l in rep["locks"] if l["name"] == "lock"]
        self.assertTrue(lock)
        self.assertGreater(rep["processes"][0]["threads"], 1)

    def test_fork_from_many_threads(self):
        threads, children = 6, 8
        p, files = self.profile([os.path.join(BIN, "storm"), "forks", str(threads), str(children)], name="forks")
        self.assertIn("done", p.stdout)
        self.complete_profiles(1 + threads * children)  # every child, whether it called exit() or _exit()

    def test_fork_while_another_thread_is_inside_libunwind(self):
        # tests/data/slow_unwind.c (preloaded first) keeps libunwind's lock held by a thread capturing a stack while
        # fork_unwind.c forks: the child inherits the lock held. Its first wait must be recorded, not deadlock on
        # the lock (CI once hung so in storm forks); the child turns native stacks off with one warning.
        slow = os.path.join(BIN, "libslow_unwind.so")
        p = run([os.path.join(BIN, "fork_unwind")],
                env={"LD_PRELOAD": f"{slow}:{LIB}", "LOCKPROF_OUTPUT": os.path.join(self.tmp, "u.%p.prof")},
                timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(p.stdout.split("\n")[:2], ["child done timedout", "done"])
        warning = ("another thread was capturing a native stack when this process forked: native stacks are off "
                   "in this process (libunwind's locks were copied held)")
        self.assertEqual(p.stderr, f"lockprof: warning: {warning}\n")
        files = profiles_in(self.tmp)
        self.assertEqual(len(files), 2)
        meta = {f: lptest.profile_meta(f) for f in files}
        child = [f for f in files if meta[f].get("warning") == [warning]]
        self.assertEqual(len(child), 1, meta)
        parent = [f for f in files if f not in child][0]
        self.assertEqual(meta[child[0]]["ppid"], meta[parent]["pid"])
        held = [l for l in self.report_json(child)["locks"] if l["name"] == "child_lock"]
        self.assertEqual(len(held), 1, self.report_json(child)["locks"])
        self.assertIn("failed", held[0]["flags"])

    def test_fork_waits_for_an_unwind_in_progress(self):
        # As above, but the lock is let go 30 ms into the fork: fork waits for the unwind (lockprof's atfork
        # prepare handler), the child inherits no held lock and keeps its native stacks, without a warning.
        slow = os.path.join(BIN, "libslow_unwind.so")
        p = run([os.path.join(BIN, "fork_unwind"), "brief"],
                env={"LD_PRELOAD": f"{slow}:{LIB}", "LOCKPROF_OUTPUT": os.path.join(self.tmp, "u.%p.prof")},
                timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(p.stdout.split("\n")[:2], ["child done timedout", "done"])
        self.assertEqual(p.stderr, "")
        files = profiles_in(self.tmp)
        self.assertEqual(len(files), 2)
        locks = [l for f in files for l in self.report_json([f])["locks"] if l["name"] == "child_lock"]
        self.assertEqual(len(locks), 1)
        self.assertTrue(any(has_frame(s["frames"], "wait_child") for s in locks[0]["stacks"]), locks[0]["stacks"])

    def test_exit_from_non_main_thread(self):
        p, files = self.profile([os.path.join(BIN, "storm"), "exit-thread"], name="exit")
        self.complete_profiles(1)
        self.assertEqual(lptest.profile_meta(files[0])["reason"], ["exit"])  # written by exit() from the worker
        self.assertIn("exit-thread", self.report_json(files)["processes"][0]["cmdline"])

    def test_signal_handlers_calling_hooks(self):
        p, files = self.profile([os.path.join(BIN, "storm"), "signals", "1500"], name="sig")
        self.assertIn("done", p.stdout)
        self.complete_profiles(1)

    def test_exec_chain(self):
        p, files = self.profile(["/bin/sh", "-c", "for i in 1 2 3 4 5 6 7 8; do /bin/true; done; exec /bin/true"],
                                name="exec")
        # sh forks 8 children that exec /bin/true, then replaces itself: 8 + 1 processes exit normally
        self.complete_profiles(9)

    def test_python_os_exit_and_forks(self):
        code = ("import os, threading\n"
                "def child():\n"
                "    pid = os.fork()\n"
                "    if pid == 0:\n"
                "        os._exit(0)\n"
                "    os.waitpid(pid, 0)\n"
                "ts = [threading.Thread(target=child) for _ in range(4)]\n"
                "[t.start() for t in ts]; [t.join() for t in ts]\n"
                "os._exit(3)\n")
        p, files = self.profile(["/usr/bin/python3", "-W", "ignore", "-c", code], name="pyexit", expect_rc=3)
        self.complete_profiles(5)

    def test_dump_signals_under_load(self):
        out = os.path.join(self.tmp, "load.%p.prof")
        prog = os.path.join(EXAMPLES_C, "hot_mutex")
        # long enough for a few dozen signals 10 ms apart on a fast machine (about 0.7 s here without lockprof)
        proc = subprocess.Popen([LOCKPROF, "run", "-o", out, "--no-summary", "--", prog, "4", "30000"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        sent = 0
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
            for pid in child_pids(proc.pid):
                # only once the command runs with lockprof's handler installed: before exec the child is
                # `lockprof run`'s fork, and between exec and liblockprof's constructor SIGUSR2's default action
                # (terminate) is in place. Exec cannot be undone, and neither runs a handler of its own.
                if not (exe_of(pid) == os.path.realpath(prog) and lptest.catches_signal(pid, signal.SIGUSR2)):
                    continue
                try:
                    os.kill(pid, signal.SIGUSR2)
                    sent += 1
                except ProcessLookupError:
                    pass
        out_s, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 0, err)
        self.assertIn("counter=", out_s)
        self.assertGreater(sent, 5)
        files = profiles_in(self.tmp)
        self.assertEqual(len(files), 1)
        rep = self.report_json(files)
        self.assertTrue([l for l in rep["locks"] if l["name"] == "hot_lock"])

    def test_interval_dumps_while_running(self):
        out = os.path.join(self.tmp, "iv.%p.prof")
        proc = subprocess.Popen([LOCKPROF, "run", "-o", out, "--interval", "0.2", "--no-summary", "--",
                                 "/bin/sleep", "1.5"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        seen_interval = False
        while proc.poll() is None and time.monotonic() < deadline:
            for f in profiles_in(self.tmp):
                with open(f) as fh:
                    if "m reason interval\n" in fh.read():
                        seen_interval = True
            time.sleep(0.05)
        proc.wait()
        self.assertTrue(seen_interval, "no interval profile appeared while the program ran")
        with open(profiles_in(self.tmp)[0]) as fh:
            self.assertIn("m reason exit\n", fh.read())


def exe_of(pid):
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None


def child_pids(pid):
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(p))
            except (OSError, ValueError, IndexError):
                pass
    return out


FD_PROBE = r"""
import os, resource, sys, threading
def fds():
    return {int(x) for x in os.listdir("/proc/self/fd")}
before = fds()
if sys.argv[1] == "wait":
    lock = threading.Lock()
    lock.acquire()
    # held until the thread has given up: its timed acquire waits 50 ms whatever the scheduling, and lockprof
    # records the wait (flagged "failed"), with a native stack
    t = threading.Thread(target=lock.acquire, kwargs={"timeout": 0.05})
    t.start()
    t.join()
    lock.release()
new = sorted(fds() - before)
soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
print(min(soft, 1024), *new)
"""


class Descriptors(TempDirTest):
    """libunwind keeps a pipe for the life of the process (src/collect/stack.c): it must not exist in a process
    that never waited, and must never take the low descriptor numbers a program opens, closes and reuses."""

    def probe(self, mode):
        p = run(["/usr/bin/python3", "-c", FD_PROBE, mode],
                env={"LD_PRELOAD": LIB, "LOCKPROF_OUTPUT": os.path.join(self.tmp, f"{mode}.%p.prof")}, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        top, *new = (int(x) for x in p.stdout.split())
        return top, new

    def test_no_descriptor_in_a_process_that_never_waited(self):
        self.assertEqual(self.probe("idle")[1], [])

    def test_unwinder_pipe_placed_at_the_top_of_the_table(self):
        top, new = self.probe("wait")
        rep = self.report_json(profiles_in(self.tmp))
        self.assertTrue([l for l in rep["locks"] if l["contentions"] > 0], "the probe's wait was not recorded")
        self.assertEqual(len(new), 2, new)  # libunwind's pipe, opened at the first native stack capture
        for fd in new:
            self.assertGreaterEqual(fd, top - 64, new)


class Warnings(TempDirTest):
    def test_warnings_never_go_into_a_file_the_program_put_on_fd_2(self):
        data = os.path.join(self.tmp, "data")
        p = run([os.path.join(BIN, "fd2_reuse"), data], env={
            "LD_PRELOAD": LIB, "LOCKPROF_OUTPUT": os.path.join(self.tmp, "missing", "x.%p.prof")})
        self.assertEqual(p.returncode, 0)
        with open(data) as f:
            self.assertEqual(f.read(), "data\n")
        self.assertIn("lockprof: warning: cannot create the profile", p.stderr)  # on the stderr it started with


class SafeFiles(TempDirTest):
    def test_disk_full_loses_the_profile_with_one_warning(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to mount a small tmpfs")
        mnt = os.path.join(self.tmp, "small")
        os.mkdir(mnt)
        if run(["mount", "-t", "tmpfs", "-o", "size=8k", "tmpfs", mnt]).returncode != 0:
            self.skipTest("cannot mount tmpfs here")
        try:
            with open(os.path.join(mnt, "filler"), "wb") as f:  # leave (almost) no room
                try:
                    f.write(b"x" * 16384)
                except OSError:
                    pass
            p = run([os.path.join(EXAMPLES_C, "hot_mutex"), "3", "300"],
                    env={"LD_PRELOAD": LIB, "LOCKPROF_OUTPUT": os.path.join(mnt, "p.%p.prof")})
            self.assertEqual(p.returncode, 0)
            self.assertIn("counter=", p.stdout)
            warnings = [l for l in p.stderr.splitlines() if l.startswith("lockprof: warning:")]
            self.assertEqual(len(warnings), 1, p.stderr)
            self.assertTrue("space" in warnings[0] or "profile" in warnings[0], warnings[0])
            self.assertEqual([f for f in os.listdir(mnt) if f != "filler"], [])
        finally:
            run(["umount", mnt])

    def test_killed_while_writing_leaves_no_file_behind(self):
        # Interval dumps every millisecond, then SIGKILL at various moments: most kills land in a dump (profile
        # writing dominates such a run). What is left must be complete profiles and nothing else. Replacing the
        # process's own earlier profile takes two steps (link the finished file under its temporary name, rename it
        # over the old one); a kill between them leaves the new profile, complete, under that temporary name.
        for i in range(6):
            p = subprocess.Popen(["/usr/bin/python3", os.path.join(lptest.EXAMPLES_PY, "gil_cpu.py"), "2", "50000000"],
                                 env=dict(os.environ, LD_PRELOAD=LIB, LOCKPROF_INTERVAL="0.001",
                                          LOCKPROF_OUTPUT=os.path.join(self.tmp, "k.%p.prof")),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.8 + 0.15 * i)
            p.kill()
            p.wait()
        left = sorted(os.listdir(self.tmp))
        self.assertTrue(left, "no interval dump happened")
        self.assertEqual([f for f in left if not f.endswith(".prof") and ".prof.tmp-" not in f], [])
        for f in left:
            r = lockprof("report", os.path.join(self.tmp, f))
            self.assertEqual(r.returncode, 0, f"{f}: {r.stderr}")

    def test_unwritable_directory_does_not_disturb_the_program(self):
        d = os.path.join(self.tmp, "ro")
        os.mkdir(d, 0o500)
        p = run([os.path.join(EXAMPLES_C, "hot_mutex"), "2", "50"],
                env={"LD_PRELOAD": LIB, "LOCKPROF_OUTPUT": os.path.join(d, "p.prof")})
        self.assertEqual(p.returncode, 0)
        self.assertIn("counter=", p.stdout)
        if os.geteuid() != 0:  # root writes anyway
            self.assertIn("lockprof: warning:", p.stderr)

    def test_devices_and_fifos_are_written_into_never_beside(self):
        """LOCKPROF_OUTPUT naming a character device or a FIFO: the profile goes into it. A collector that
        treated /dev/null as a file it must not replace once left /dev/null.1 ... /dev/null.99 in /dev."""
        hot = [os.path.join(EXAMPLES_C, "hot_mutex"), "3", "200"]
        if os.geteuid() == 0:  # the null device, made here so that a regression litters self.tmp, not /dev
            null = os.path.join(self.tmp, "null")
            os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
            p = run(hot, env={"LD_PRELOAD": LIB, "LOCKPROF_OUTPUT": null})
            self.assertEqual((p.returncode, p.stderr), (0, ""))
            self.assertEqual(os.listdir(self.tmp), ["null"])
            os.unlink(null)
        fifo = os.path.join(self.tmp, "fifo")
        os.mkfifo(fifo)
        p = run(hot, env={"LD_PRELOAD": LIB, "LOCKPROF_OUTPUT": fifo})  # nobody reads it: no wait, one warning
        self.assertEqual(p.returncode, 0)
        self.assertIn("counter=", p.stdout)
        self.assertEqual(p.stderr.splitlines(), [f"lockprof: warning: profile lost: no process reads the FIFO {fifo}"])
        def through_fifo(output):
            """Runs hot_mutex with LOCKPROF_OUTPUT=output while a reader drains the FIFO: (process, bytes read)."""
            reader = subprocess.Popen(["cat", fifo], stdout=subprocess.PIPE)
            try:
                p = run(hot, env={"LD_PRELOAD": LIB, "LOCKPROF_OUTPUT": output})
                return p, reader.communicate(timeout=60)[0]
            finally:
                reader.kill()

        p, data = through_fifo(fifo)
        self.assertEqual((p.returncode, p.stderr), (0, ""))
        with open(os.path.join(self.tmp, "piped.prof"), "wb") as f:
            f.write(data)
        self.assertEqual(sorted(os.listdir(self.tmp)), ["fifo", "piped.prof"])
        rep = self.report_json([os.path.join(self.tmp, "piped.prof")])
        self.assertTrue(rep["processes"][0]["cmdline"].startswith(hot[0]), rep["processes"][0])
        # a link to it made by this user is followed (as /dev/stdout is); one another user planted is not: the
        # profile then goes beside the link, as beside any file this process did not write
        mine = os.path.join(self.tmp, "mine")
        os.symlink(fifo, mine)
        p, data = through_fifo(mine)
        self.assertEqual((p.returncode, p.stderr, data[:17]), (0, "", b"lockprof-profile "))
        if os.geteuid() == 0:
            planted = os.path.join(self.tmp, "planted")
            os.symlink(fifo, planted)
            os.lchown(planted, 65534, 65534)  # nobody's
            p = run(hot, env={"LD_PRELOAD": LIB, "LOCKPROF_OUTPUT": planted})  # no reader: a follow would warn
            self.assertEqual(p.returncode, 0)
            self.assertIn("a file this process did not write exists at", p.stderr)
            self.assertTrue(os.path.isfile(planted + ".1"), os.listdir(self.tmp))

    def test_bad_variable_keeps_default_with_one_warning(self):
        p = run([os.path.join(EXAMPLES_C, "hot_mutex"), "2", "50"],
                env={"LD_PRELOAD": LIB, "LOCKPROF_OUTPUT": os.path.join(self.tmp, "p.%p.prof"),
                     "LOCKPROF_NATIVE_DEPTH": "lots"})
        self.assertEqual(p.returncode, 0)
        lines = [l for l in p.stderr.splitlines() if "LOCKPROF_NATIVE_DEPTH" in l]
        self.assertEqual(len(lines), 1, p.stderr)
        self.assertEqual(len(profiles_in(self.tmp)), 1)


if __name__ == "__main__":
    lptest.main()
