"""The collector and CLI on native programs (issue: core collector, format, run, report)."""
import json
import os
import signal
import stat
import subprocess
import time
import unittest

import lptest
from lptest import EXAMPLES_C, LIB, LOCKPROF, TempDirTest, has_frame, lockprof, locks_of, run


def ex(name):
    return os.path.join(EXAMPLES_C, name)


class HotMutex(TempDirTest):
    # The tests below need hot_lock contended. hot_mutex makes that certain: its first thread keeps the lock in
    # its first section until the others are blocked on it (before, 2 x 100 sections had no contention in 16 of
    # 40 runs next to two busy processes on 2 cores). A holder stack is not certain in every run (a woken waiter
    # can leave before the holder's first stack is captured); 4 x 2000 sections make one all but certain.
    def test_hot_mutex_waiter_holder_and_total(self):
        t0 = time.monotonic()
        p, files = self.profile([ex("hot_mutex"), "4", "2000"])
        wall_ns = (time.monotonic() - t0) * 1e9
        self.assertEqual(len(files), 1)
        rep = self.report_json(files)
        locks = [l for l in locks_of(rep, "pthread_mutex", contention=True) if l["name"] == "hot_lock"]
        self.assertEqual(len(locks), 1, json.dumps(rep["locks"])[:2000])
        lock = locks[0]
        self.assertGreater(lock["contentions"], 0)
        # plausible: some wait, and never more than the other three threads waiting for the whole run
        self.assertGreater(lock["wait_ns"], 0)
        self.assertLessEqual(lock["wait_ns"], 3 * wall_ns)
        self.assertLessEqual(lock["max_wait_ns"], lock["wait_ns"])
        self.assertTrue(any(has_frame(s["frames"], "critical_work") and has_frame(s["frames"], "worker")
                            for s in lock["stacks"]), lock["stacks"][0]["frames"])
        holders = [s["holder_frames"] for s in lock["stacks"] if s["holder_frames"]]
        self.assertTrue(holders, "no holder stack recorded")
        self.assertTrue(any(has_frame(h, "critical_work") for h in holders))
        self.assertEqual(sum(s["contentions"] for s in lock["stacks"]), lock["contentions"])

    def test_text_report_has_units_and_stacks(self):
        _, files = self.profile([ex("hot_mutex"), "4", "2000"])
        out = lockprof("report", *files, check=True).stdout
        for col in ("contentions", "wait[ms]", "avg[ms]", "max[ms]", "p99[ms]", "top waiter frame"):
            self.assertIn(col, out)
        self.assertIn("hot_lock", out)
        # native frames with their source line (the CLI reads the example's DWARF)
        self.assertRegex(out, r"critical_work \(\S*/examples/c/hot_mutex\.c:\d+\)")
        self.assertIn("blocked by", out)

    def test_summary_on_stderr(self):
        p = lockprof("run", "-o", os.path.join(self.tmp, "s.%p.prof"), "--", ex("hot_mutex"), "4", "2000")
        self.assertEqual(p.returncode, 0)
        self.assertIn("top contended locks", p.stderr)
        self.assertIn("hot_lock", p.stderr)
        self.assertIn("profile written", p.stderr)


class Sampling(TempDirTest):
    def test_sample_and_min_wait_are_scaled_and_shown(self):
        _, files = self.profile([ex("hot_mutex"), "4", "400"], "--sample", "3")
        rep = self.report_json(files)
        self.assertEqual(rep["processes"][0]["sample_every"], 3)
        lock = [l for l in rep["locks"] if l["name"] == "hot_lock"]
        if lock:  # every recorded wait stands for 3
            self.assertEqual(lock[0]["contentions"] % 3, 0)
        text = lockprof("report", *files, check=True).stdout
        self.assertIn("sampled 1 in 3 (counts and waits scaled x3)", text)
        _, files = self.profile([ex("hot_mutex"), "4", "400"], "--min-wait-ns", "1000000000", name="min")
        text = lockprof("report", *files, check=True).stdout
        self.assertIn("waits shorter than 1000000000 ns were counted but not recorded", text)


class HolderSampling(TempDirTest):
    """A hot lock's releases tell their waiters of the holder only a few times per thread and interval (the stamping
    itself slowed such locks down); the report says how many did not, and waits keep their times and stacks."""
    def test_hot_lock_releases_are_sampled_and_said(self):
        _, files = self.profile([ex("hot_mutex"), "4", "20000"])
        rep = self.report_json(files)
        skipped = rep["processes"][0]["holder_stacks"]["releases_skipped"]
        self.assertGreater(skipped, 0, rep["processes"][0]["holder_stacks"])
        lock = [l for l in locks_of(rep, "pthread_mutex") if l["name"] == "hot_lock"][0]
        self.assertTrue(all(has_frame(s["frames"], "worker") for s in lock["stacks"]))
        text = lockprof("report", *files, check=True).stdout
        self.assertIn(f"on hot locks, {skipped} releases made while a thread waited were not told to the waiters",
                      text)

    def test_a_lock_released_once_with_a_waiter_is_not_sampled(self):
        lib = os.path.join(lptest.BUILD, "tests", "libplugin.so")
        _, files = self.profile([os.path.join(lptest.BUILD, "tests", "unload"), lib])
        rep = self.report_json(files)
        self.assertEqual(rep["processes"][0]["holder_stacks"]["releases_skipped"], 0)
        lock = [l for l in rep["locks"] if l["name"] == "plugin_lock"][0]
        self.assertEqual(lock["stacks"][0]["holder_thread"]["name"], "unload")  # told by the one release
        self.assertNotIn("were not told to the waiters", lockprof("report", *files, check=True).stdout)


class Control(TempDirTest):
    def test_uncontended_has_no_contention(self):
        _, files = self.profile([ex("uncontended"), "4"])
        rep = self.report_json(files)
        self.assertEqual(locks_of(rep, contention=True), [])

    def test_exit_status_passed_through(self):
        p, files = self.profile([ex("uncontended"), "2", "0", "3"], expect_rc=3)
        self.assertEqual(len(files), 1)

    def test_signal_death_is_128_plus_n(self):
        p, _ = self.profile(["/bin/sh", "-c", "kill -TERM $$"], expect_rc=128 + signal.SIGTERM)

    def test_missing_command_is_127(self):
        p, _ = self.profile([os.path.join(self.tmp, "does-not-exist")], expect_rc=127)
        self.assertIn("cannot execute", p.stderr)


class Truncation(TempDirTest):
    """A stack cut at the depth limit ends in a frame of kind "cut" where the frames not kept would be."""

    def hot_lock_stacks(self, *opts):
        for attempt in range(5):
            _, files = self.profile([ex("hot_mutex"), "4", "2000"], *opts, name=f"cut{attempt}")
            locks = [l for l in self.report_json(files)["locks"] if l["name"] == "hot_lock"]
            if locks:
                return files, locks[0]["stacks"]
        self.fail("hot_lock never contended in 5 runs")

    def test_native_stack_cut_at_the_depth_limit_says_so(self):
        files, stacks = self.hot_lock_stacks("--native-depth", "2")
        for s in stacks:
            kinds = [f["kind"] for f in s["frames"]]
            # two native frames kept (the waiter's own code), then the marker: worker, start_thread and clone
            # lie beyond
            self.assertEqual(kinds, ["native", "native", "cut"], lptest.frames_text(s["frames"]))
            self.assertEqual(s["frames"][-1]["function"], "[stack cut at the depth limit]")
        text = lockprof("report", "--depth", "10", *files, check=True).stdout
        self.assertIn("[stack cut at the depth limit] (raise --native-depth or --py-depth)", text)
        folded = lockprof("flamegraph", "--format", "folded", *files, check=True).stdout
        # root first: the lock, then the marker, then the frames kept
        self.assertTrue(any(line.split(";")[1] == "[stack cut at the depth limit]"
                            for line in folded.splitlines() if line.startswith("pthread_mutex:hot_lock;")),
                        folded[:2000])

    def test_stacks_within_the_limit_carry_no_marker(self):
        _, stacks = self.hot_lock_stacks()
        for s in stacks:
            self.assertNotIn("cut", [f["kind"] for f in s["frames"]], lptest.frames_text(s["frames"]))
            self.assertTrue(has_frame(s["frames"], "worker"))


class RwlockAndCond(TempDirTest):
    def test_rwlock_readers_wait_for_writer(self):
        # whether a reader waits (rather than only writers) depends on scheduling: up to three runs
        for attempt in range(3):
            _, files = self.profile([ex("rwlock"), "3", "20000"])
            rep = self.report_json(files)
            locks = [l for l in locks_of(rep, "pthread_rwlock") if l["name"] == "table_lock"]
            self.assertEqual(len(locks), 1)
            if any(has_frame(s["frames"], "read_table") for s in locks[0]["stacks"]):
                break
        self.assertTrue(any(has_frame(s["frames"], "read_table") for s in locks[0]["stacks"]),
                        [lptest.frames_text(s["frames"]) for s in locks[0]["stacks"]])

    def test_condition_waits_are_a_wait_class_and_reacquire_is_contention(self):
        _, files = self.profile([ex("prodcons"), "3", "20000"])
        rep = self.report_json(files)
        conds = [l for l in locks_of(rep, "pthread_cond") if l["name"] in ("not_empty", "not_full")]
        self.assertTrue(conds)
        self.assertTrue(all(not l["contention"] for l in conds))
        self.assertTrue(any(has_frame(s["frames"], "consume") for l in conds for s in l["stacks"]))
        mutex = [l for l in locks_of(rep, "pthread_mutex") if l["name"] == "queue_lock"]
        self.assertEqual(len(mutex), 1)
        self.assertTrue(mutex[0]["contention"])
        # the producer keeps queue_lock after pthread_cond_signal: woken consumers re-acquire it after it
        self.assertIn("reacquire", mutex[0]["flags"])
        reacq = [s for s in mutex[0]["stacks"] if "reacquire" in s["flags"]]
        self.assertTrue(any(has_frame(s["holder_frames"], "produce") for s in reacq))


def stacks_with(rep, kind, name, flag=None):
    """(lock, [stack rows]) of the lock `name` of `kind`; with `flag`, only the rows that carry it."""
    locks = [l for l in locks_of(rep, kind) if l["name"] == name]
    rows = [s for l in locks for s in l["stacks"] if flag is None or flag in s["flags"]]
    return locks, rows


class CondReacquire(TempDirTest):
    """The mutex re-acquired after a condition-variable wake-up (tests/data/cond_reacquire.c knows, without a tracer,
    how long its waiter was blocked re-acquiring it): that time is contention on the mutex, flagged reacquire, with
    the waiter's stack at its pthread_cond_wait and the thread that held the mutex; the condition wait ends when the
    waiter was woken; a wake-up that did not block records no re-acquisition."""
    PROG = os.path.join(lptest.BUILD, "tests", "cond_reacquire")

    def test_blocked_behind_a_third_thread(self):
        # the signaller does not hold the mutex; another thread does, for 20 ms after the waiter woke
        p, files = self.profile([self.PROG, "third", "5", "20"])
        own = dict(kv.split("=") for kv in p.stdout.split())
        rep = self.report_json(files)
        _, reacq = stacks_with(rep, "pthread_mutex", "state_lock", "reacquire")
        blocked = sum(s["wait_ns"] for s in reacq)
        self.assertGreaterEqual(blocked, 5 * int(own["hold_ns"]), reacq)
        self.assertEqual(sum(s["contentions"] for s in reacq), 5)
        self.assertTrue(all(has_frame(s["frames"], "wait_for_go") for s in reacq))
        self.assertTrue(any(has_frame(s["holder_frames"], "hold_through_wakeup") for s in reacq), reacq)
        _, cond = stacks_with(rep, "pthread_cond", "ready")
        # the condition wait ended when the waiter was woken: before the holder saw it woken
        self.assertLessEqual(sum(s["wait_ns"] for s in cond), int(own["cond_bound_ns"]))

    def test_reports_mark_the_estimate(self):
        _, files = self.profile([self.PROG, "third", "2", "5"])
        rep = self.report_json(files)
        locks, reacq = stacks_with(rep, "pthread_mutex", "state_lock", "reacquire")
        self.assertTrue(reacq)
        self.assertEqual(locks[0]["estimated_wait_ns"], sum(s["wait_ns"] for s in reacq))
        self.assertTrue(all(s["estimated_wait_ns"] == s["wait_ns"] for s in reacq))
        text = lockprof("report", *files, check=True).stdout
        row = next(l for l in text.splitlines() if "state_lock" in l and "pthread_mutex" in l)
        self.assertRegex(row, r" ~[0-9]+\.[0-9]{3} ")
        self.assertIn("~ estimated in part:", text)
        self.assertIn("[re-acquired after a condition wait: estimated]", text)
        md = lockprof("report", "--format", "markdown", *files, check=True).stdout
        self.assertRegex(md, r"\| ~[0-9]+\.[0-9]{3} \|")
        self.assertIn("`~`: estimated in part.", md)

    def test_no_reacquire_when_the_mutex_was_free(self):
        # signalled under the mutex, which is released before the waiter wakes (the program checks each round)
        p, files = self.profile([self.PROG, "free", "1000"])
        own = dict(kv.split("=") for kv in p.stdout.split())
        self.assertGreater(int(own["free"]), 500, "the waiter woke before the unlock in most rounds: no test")
        rep = self.report_json(files)
        _, reacq = stacks_with(rep, "pthread_mutex", "state_lock", "reacquire")
        self.assertLessEqual(sum(s["contentions"] for s in reacq), int(own["rounds"]) - int(own["free"]), reacq)
        _, cond = stacks_with(rep, "pthread_cond", "ready")
        self.assertEqual(sum(s["contentions"] for s in cond), 1000)


class Joins(TempDirTest):
    """pthread_join waits are their own wait class (kind pthread_join), with the thread joined as the holder; a join
    of a thread that has already ended is no wait."""

    def test_join_is_a_wait_class(self):
        p, files = self.profile([os.path.join(lptest.BUILD, "tests", "join_wait")])
        blocked = int(p.stdout.split("=")[1])
        rep = self.report_json(files)
        joins = locks_of(rep, "pthread_join")
        self.assertEqual(len(joins), 1, rep["locks"])
        self.assertFalse(joins[0]["contention"])
        self.assertEqual(joins[0]["class"], "wait")
        self.assertEqual(joins[0]["contentions"], 1)  # the second join found its thread ended: not a wait
        stack = joins[0]["stacks"][0]
        self.assertTrue(has_frame(stack["frames"], "main"))
        self.assertEqual(stack["holder_thread"]["tid"], blocked)
        self.assertEqual(locks_of(rep, contention=True), [])


class OwnWaits(TempDirTest):
    """lockprof's own waits are counted, not hidden: a thread whose stack capture blocks on libunwind's lock (held by
    another thread's capture, tests/data/unwind_wait.c with slow_unwind.c preloaded first) makes self_waits
    non-zero, and the report says so."""

    def test_a_capture_blocked_inside_libunwind_is_counted(self):
        slow = os.path.join(lptest.BUILD, "tests", "libslow_unwind.so")
        out = os.path.join(self.tmp, "u.%p.prof")
        p = run([os.path.join(lptest.BUILD, "tests", "unwind_wait")],
                env={"LD_PRELOAD": f"{slow}:{LIB}", "LOCKPROF_OUTPUT": out}, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.strip(), "blocked_in=unwind", "the second capture did not block: nothing tested")
        files = [os.path.join(self.tmp, f) for f in os.listdir(self.tmp) if f.endswith(".prof")]
        self.assertEqual(len(files), 1)
        meta = lptest.profile_meta(files[0])
        self.assertGreaterEqual(int(meta["self_waits"][0]), 1, meta)
        self.assertGreater(int(meta["self_wait_ns"][0]), 0)
        text = lockprof("report", *files, check=True).stdout
        self.assertRegex(text, r"lockprof itself waited [1-9][0-9]* times?, [0-9.]+ ms in all")
        rep = self.report_json(files)
        self.assertGreaterEqual(rep["processes"][0]["self_waits"], 1)


class Holds(TempDirTest):
    """Acquisition counts and hold times of contended locks (sampled; exact with LOCKPROF_HOLD_SAMPLE=1): counted from
    the lock's first contention on, a recursive mutex's hold is its outermost one (tests/data/hold_times.c)."""

    def test_counts_and_hold_times(self):
        p, files = self.profile([os.path.join(lptest.BUILD, "tests", "hold_times"), "20"],
                                env={"LOCKPROF_HOLD_SAMPLE": "1"})
        rep = self.report_json(files)
        hold = {l["name"]: l["hold"] for l in locks_of(rep, "pthread_mutex", contention=True)}
        self.assertEqual((hold["plain_lock"]["acquisitions"], hold["plain_lock"]["timed"]), (21, 21), hold)
        self.assertEqual((hold["nested_lock"]["acquisitions"], hold["nested_lock"]["timed"]), (41, 21), hold)
        # each plain hold lasts at least 1 ms and each outer nested one 2 ms (the program sleeps that long inside)
        self.assertGreaterEqual(hold["plain_lock"]["max_hold_ns"], 1000000)
        self.assertGreaterEqual(hold["nested_lock"]["max_hold_ns"], 2000000)
        self.assertGreater(hold["nested_lock"]["avg_hold_ns"], hold["plain_lock"]["avg_hold_ns"])
        text = lockprof("report", *files, check=True).stdout
        head = "Acquisitions and hold times of the contended locks (sampled: 1 in 1 acquisitions"
        self.assertIn(head, text)
        table = text[text.index(head):].split("\n\n")[0]
        row = next(l for l in table.splitlines() if " nested_lock " in l)
        self.assertRegex(row, r" 41 +2\.4% +[0-9]+\.[0-9]{3} ")
        md = lockprof("report", "--format", "markdown", *files, check=True).stdout
        head = "**Hold times of the contended locks** (sampled: 1 in 1 acquisitions"
        self.assertIn(head, md)
        row = next(l for l in md[md.index(head):].splitlines() if "| `nested_lock` |" in l)
        self.assertRegex(row, r"^\| [12] \| pthread_mutex \| `nested_lock` \| 41 \| 2\.4% \| [0-9]+\.[0-9]{3} \| ")

    def test_sampled_by_default(self):
        _, files = self.profile([os.path.join(lptest.BUILD, "tests", "hold_times"), "20"])
        meta = lptest.profile_meta(files[0])
        self.assertEqual(meta["hold_sample"], ["64"])
        rep = self.report_json(files)
        for l in locks_of(rep, "pthread_mutex", contention=True):
            if l["hold"]:  # 1 in 64 acquisitions per thread: these few may all be missed
                self.assertEqual(l["hold"]["acquisitions"], 64 * l["hold"]["sampled"])


class Processes(TempDirTest):
    def test_forked_child_writes_its_own_profile(self):
        code = ("import os\npid = os.fork()\nif pid == 0:\n    os._exit(0)\nos.waitpid(pid, 0)\n")
        p, files = self.profile(["/usr/bin/python3", "-c", code])
        self.assertEqual(len(files), 2, p.stderr)
        pids = set()
        for f in files:
            rep = self.report_json([f])
            pids.add(rep["processes"][0]["pid"])
        self.assertEqual(len(pids), 2)

    def test_exec_child_inherits_preload(self):
        # sh forks and execs the child (it is not the last command). The child is tests/data/semantics.c: its
        # pthread_mutex_timedlock/clocklock on `held` while another thread holds it time out after 50 ms whatever
        # the scheduling, so a child whose hooks work always records waits there (flagged "failed").
        prog = os.path.join(lptest.BUILD, "tests", "semantics")
        p, files = self.profile(["/bin/sh", "-c", f"{prog} >/dev/null; true"])
        self.assertEqual(len(files), 2, p.stderr)
        meta = {f: lptest.profile_meta(f) for f in files}
        shell = [f for f in files if meta[f]["cmdline"] == [f"/bin/sh -c {prog} >/dev/null; true"]]
        child = [f for f in files if meta[f]["exe"] == [os.path.realpath(prog)]]
        self.assertEqual((len(shell), len(child)), (1, 1), meta)
        self.assertEqual(meta[child[0]]["ppid"], meta[shell[0]]["pid"])
        self.assertEqual(meta[child[0]]["cmdline"], [prog])
        held = [l for l in self.report_json(child)["locks"] if l["kind"] == "pthread_mutex" and l["name"] == "held"]
        self.assertEqual(len(held), 1, "the exec'd child recorded no wait on `held`")
        self.assertIn("failed", held[0]["flags"])
        self.assertTrue(any(has_frame(s["frames"], "main") for s in held[0]["stacks"]), held[0]["stacks"])

    def test_existing_ld_preload_keeps_working(self):
        marker = os.path.join(self.tmp, "marker")
        lib = os.path.join(lptest.BUILD, "tests", "libpreload_marker.so")
        p, files = self.profile([ex("hot_mutex"), "2", "50"], env={"LD_PRELOAD": lib, "MARKER_FILE": marker})
        self.assertTrue(os.path.exists(marker), "the program's own LD_PRELOAD library did not run")
        self.assertEqual(len(files), 1)

    def start_sleeper(self, out, *opts):
        """`lockprof run -- sleep 5`; returns (run process, pid of the sleep it started)."""
        proc = subprocess.Popen([LOCKPROF, "run", "-o", out, "--no-summary", *opts, "--", "/bin/sleep", "5"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(lambda: (proc.poll() is None and proc.terminate(), proc.wait()))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for pid in os.listdir("/proc"):
                try:
                    with open(f"/proc/{pid}/stat") as f:
                        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        cmd = f.read()
                except (OSError, ValueError, IndexError):
                    continue
                if ppid == proc.pid and cmd.startswith(b"/bin/sleep\x005"):
                    # exec'd: SIGUSR2 is caught once liblockprof's constructor has installed its handler (and
                    # `lockprof run` once it forwards it); until then the signal would terminate the process
                    for who in (int(pid), proc.pid):
                        self.assertTrue(lptest.wait_until(lambda: lptest.catches_signal(who, signal.SIGUSR2)),
                                        f"pid {who} never installed a SIGUSR2 handler")
                    return proc, int(pid)
            time.sleep(0.02)
        self.fail("the command did not start")

    def wait_for(self, path, seconds=30):
        deadline = time.monotonic() + seconds
        while not os.path.exists(path) and time.monotonic() < deadline:
            time.sleep(0.05)
        return os.path.exists(path)

    def test_dump_on_sigusr2(self):
        out = os.path.join(self.tmp, "live.%p.prof")
        proc, child = self.start_sleeper(out)
        os.kill(child, signal.SIGUSR2)
        path = out.replace("%p", str(child))
        self.assertTrue(self.wait_for(path), "SIGUSR2 did not produce a profile")
        rep = self.report_json([path])
        self.assertEqual(rep["processes"][0]["pid"], child)
        proc.terminate()  # forwarded to the command: 128+15
        self.assertEqual(proc.wait(), 128 + signal.SIGTERM)

    def test_sigusr2_to_lockprof_run_is_forwarded(self):
        out = os.path.join(self.tmp, "fwd.%p.prof")
        proc, child = self.start_sleeper(out)
        proc.send_signal(signal.SIGUSR2)
        self.assertTrue(self.wait_for(out.replace("%p", str(child))))


class Files(TempDirTest):
    def test_profile_mode_0600_and_no_temporary_left(self):
        _, files = self.profile([ex("hot_mutex"), "2", "50"])
        self.assertEqual(stat.S_IMODE(os.stat(files[0]).st_mode), 0o600)
        self.assertEqual([f for f in os.listdir(self.tmp) if ".tmp" in f], [])

    def test_foreign_file_and_symlink_are_never_overwritten(self):
        target = os.path.join(self.tmp, "victim")
        with open(target, "w") as f:
            f.write("precious\n")
        out = os.path.join(self.tmp, "fixed.prof")
        os.symlink(target, out)
        p = lockprof("run", "-o", out, "--no-summary", "--", ex("hot_mutex"), "2", "50")
        self.assertEqual(p.returncode, 0)
        with open(target) as f:
            self.assertEqual(f.read(), "precious\n")
        self.assertTrue(os.path.islink(out))
        self.assertTrue(os.path.exists(out + ".1"), os.listdir(self.tmp))
        self.assertIn("did not write", p.stderr)


class Cli(TempDirTest):
    def test_help_on_every_subcommand(self):
        for sub in ("run", "report", "flamegraph", "export", "diff", "check"):
            p = lockprof(sub, "--help")
            self.assertEqual(p.returncode, 0, sub)
            self.assertIn("usage: lockprof " + sub, p.stdout)
        self.assertEqual(lockprof("--help").returncode, 0)

    def test_output_to_a_fifo_is_refused_and_to_the_null_device_discarded(self):
        # lockprof writes regular files only (src/cli/output.h; every case in test_safety.py): a FIFO at the
        # output path is neither opened (that would block until a reader came) nor replaced
        _, files = self.profile([ex("hot_mutex"), "2", "50"])
        fifo = os.path.join(self.tmp, "fifo")
        os.mkfifo(fifo)
        p = lockprof("report", "-o", fifo, *files, timeout=60)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("is a FIFO, not a regular file", p.stderr)
        self.assertTrue(stat.S_ISFIFO(os.lstat(fifo).st_mode))
        p = lockprof("report", "-o", "/dev/null", *files)
        self.assertEqual((p.returncode, p.stdout, p.stderr), (0, "", ""))
        self.assertEqual([f for f in os.listdir(self.tmp) if ".tmp" in f], [])

    def test_bad_options_exit_2(self):
        for args in (["report", "--format", "xml", "x"], ["report", "--top", "-1", "x"], ["nope"],
                     ["run", "--sample", "abc", "--", "true"], ["report"]):
            p = lockprof(*args)
            self.assertEqual(p.returncode, 2, args)
            self.assertTrue(p.stderr.startswith("lockprof: "), p.stderr)


if __name__ == "__main__":
    lptest.main()
