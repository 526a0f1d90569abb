"""CPython awareness, on every interpreter scripts/find-pythons.sh finds (Debian 3.11, pyenv 3.12/3.13 when
present, and the 3.13 GIL and free-threaded builds of scripts/setup-pythons.sh).

Contention counts vary a lot from run to run on a 2-core machine, so the tests assert attribution (kind, object
type, the example's own function and line, the holder's code). Where a test needs contention it makes it certain:
a holder thread keeps the lock until the waiters are blocked on it (tests/data/held.py; a free-threaded critical
section lasts ~100 ns, and on a loaded machine two threads seldom run at once). The rest retry a workload up to five
times when a run happened to produce no contention of the kind under test."""
import os
import unittest

import lptest
from lptest import EXAMPLES_PY, TempDirTest, has_frame, line_of, lockprof, locks_of, python_info, pythons, run

PYTHONS = pythons()


DATA = os.path.join(lptest.SRC, "tests", "data")


def example(name):
    return os.path.join(EXAMPLES_PY, name + ".py")


# Generated functions for test_lines_stay_right_when_code_objects_come_and_go: the k-th is named f like all the
# others, in the same file, starts at line GEN_FIRST + 2k and appends to its own list on the next line. Two threads
# run it; both block on the list (a holder thread keeps it locked until they do, held.py), then go on appending.
# The script prints "k id(list)" for each.
GEN_FIRST = 10
GEN_FUNCS = """
import gc, sys
sys.path.insert(0, %r)
import held
lists = []
for k in range(40):
    lists.append([0, 1])
    print(k, hex(id(lists[k])))
    src = "\\n" * (%d + 2 * k - 1) + "def f(n):\\n    for _ in range(n): L.append(1)\\n"
    ns = {"L": lists[k]}
    exec(compile(src, "gen.py", "exec"), ns)
    held.run(lambda: lists[k].sort(key=held.spin_once), [lambda: ns["f"](20000)] * 2, ordered=False,
             obj=lists[k])
    del ns, src
    gc.collect()  # f, its code object and ns (a cycle) are freed before the next f is compiled
""" % (DATA, GEN_FIRST)


class PythonTest(TempDirTest):
    def workload(self, py, name, args, want, env=None, attempts=5, report_opts=()):
        """Profiles examples/python/<name>.py until want(report) returns a truthy value."""
        last = None
        for i in range(attempts):
            _, files = self.profile([py, example(name), *args], env=env, name=f"{name}{i}")
            self.assertEqual(len(files), 1)
            rep = self.report_json(files, *report_opts)
            self.assertIsNotNone(rep["processes"][0]["python"], "CPython not detected")
            got = want(rep)
            if got:
                return rep, got
            last = rep
        self.fail(f"{name}: no matching contention in {attempts} runs; locks: "
                  f"{[(l['kind'], l['name'], l['object_type'], l['contentions']) for l in last['locks']][:12]}")

    def held(self, py, name, *extra):
        """Profiles tests/data/held_example.py on examples/python/<name>.py: two threads run the example's code on
        its shared object while a third holds it, and both wait, certainly. Returns (report, the object's address)."""
        p, files = self.profile([py, os.path.join(DATA, "held_example.py"), example(name), *extra], name=name)
        self.assertEqual(len(files), 1)
        rep = self.report_json(files)
        self.assertIsNotNone(rep["processes"][0]["python"], "CPython not detected")
        return rep, p.stdout.strip()

    def assert_no_object_type_on_runtime_locks(self, rep):
        for lock in rep["locks"]:
            if lock["name"].startswith(("PyInterpreterState+", "_PyRuntime+", "pymutex@", "GIL")):
                self.assertIsNone(lock["object_type"], lock["name"])


def for_each_python(test):
    """Runs test(self, label, path, (major, minor, micro, ft)) as one subTest per interpreter."""
    def wrapper(self):
        lptest.skip_missing(self)
        if not PYTHONS:
            self.skipTest("no interpreter found")
        for label, py in PYTHONS:
            with self.subTest(python=label):
                test(self, label, py, python_info(py))
    wrapper.__name__ = test.__name__
    return wrapper


class ThreadingLock(PythonTest):
    @for_each_python
    def test_lock_hotspot(self, label, py, info):
        # Two threads run worker() while a third holds stats_lock inside update() (tests/data/held_example.py).
        path = example("lock_hotspot")
        with_line = line_of(path, "with stats_lock:")
        rep, _ = self.held(py, "lock_hotspot")
        locks = [l for l in locks_of(rep, "threading.Lock", contention=True) if l["contentions"] > 0]
        self.assertTrue(locks, [(l["kind"], l["name"], l["contentions"]) for l in rep["locks"]][:12])
        stacks = [s for l in locks for s in l["stacks"]]
        self.assertTrue(any(has_frame(s["frames"], "update", with_line, "lock_hotspot.py") for s in stacks),
                        [lptest.frames_text(s["frames"]) for s in stacks[:3]])
        self.assertTrue(any(has_frame(s["frames"], "worker", None, "lock_hotspot.py") for s in stacks))
        holders = [s["holder_frames"] for s in stacks if s["holder_frames"]]
        self.assertTrue(holders, "no holder stack")
        self.assertTrue(any(has_frame(h, "update", None, "lock_hotspot.py") for h in holders),
                        [lptest.frames_text(h) for h in holders[:3]])
        if info[:2] in ((3, 11), (3, 12)) or info[:3] == (3, 13, 0):
            # PyThread locks: named by where the program created them
            self.assertTrue(any("lock_hotspot.py:" in l["name"] for l in locks), [l["name"] for l in locks])
        self.assert_no_object_type_on_runtime_locks(rep)

    @for_each_python
    def test_python_stack_cut_at_the_depth_limit_says_so(self, label, py, info):
        # update() and worker() kept; Thread.run and the bootstrap frames beyond --py-depth 2
        held = os.path.join(DATA, "held_example.py")
        for opts, native in (((), False), (("--native-depth", "0"), True)):
            _, files = self.profile([py, held, example("lock_hotspot")], "--py-depth", "2", *opts, name="cut")
            stacks = [s for l in locks_of(self.report_json(files), "threading.Lock", contention=True)
                      for s in l["stacks"]]
            self.assertTrue(stacks)
            for s in stacks:
                kinds = [f["kind"] for f in s["frames"]]
                self.assertEqual(kinds.count("cut"), 1, lptest.frames_text(s["frames"]))
                cut = kinds.index("cut")
                # the two Python frames before the marker, none after it (only the interpreter's native frames)
                self.assertEqual([f["function"] for f in s["frames"][:cut] if f["kind"] == "python"],
                                 ["update", "worker"], lptest.frames_text(s["frames"]))
                self.assertNotIn("python", kinds[cut:])
                if native:  # Python frames only, after the patched CPython function that waited (the leaf), if any
                    self.assertEqual(kinds[kinds.index("python"):], ["python", "python", "cut"])
                    self.assertLessEqual(kinds.index("python"), 1, lptest.frames_text(s["frames"]))

    @for_each_python
    def test_rlock_hotspot(self, label, py, info):
        # The same with stats_lock an RLock: a PyThread lock (a semaphore) up to 3.13, a _PyRecursiveMutex from 3.14
        # (its PyMutex reached through the patched _PyMutex_LockTimed).
        path = example("lock_hotspot")
        rep, addr = self.held(py, "lock_hotspot", "rlock")
        locks = [l for l in locks_of(rep, "threading.RLock", contention=True) if l["contentions"] > 0]
        self.assertTrue(locks, [(l["kind"], l["name"], l["contentions"]) for l in rep["locks"]][:12])
        stacks = [s for l in locks for s in l["stacks"]]
        self.assertTrue(any(has_frame(s["frames"], "update", line_of(path, "with stats_lock:"), "lock_hotspot.py")
                            for s in stacks), [lptest.frames_text(s["frames"]) for s in stacks[:3]])
        holders = [s["holder_frames"] for s in stacks if s["holder_frames"]]
        self.assertTrue(any(has_frame(h, "update", None, "lock_hotspot.py") for h in holders),
                        [lptest.frames_text(h) for h in holders[:3]])
        if info[:2] >= (3, 14):
            self.assertIn("threading.RLock@" + addr, [l["name"] for l in locks])  # named by id(lock)
        self.assert_no_object_type_on_runtime_locks(rep)

    RLOCKS = """
import logging, sys
sys.path.insert(0, %r)
import held
handlers = [logging.StreamHandler(sys.stdout) for _ in range(2)]  # each creates its own RLock, at the same line
for h in handlers:  # a holder keeps h.lock until the other thread is blocked on it
    def hold(h=h):
        with h.lock:
            held.hold_sleep()
    held.run(hold, [lambda h=h: (h.acquire(), h.release())], obj=None)
print(" ".join(hex(id(h.lock)) for h in handlers))
""" % DATA

    @for_each_python
    def test_rlocks_named_by_their_creator_and_never_merged(self, label, py, info):
        # Every logging handler's RLock is created by Handler.createLock (logging/__init__.py), which calls
        # threading.RLock(): the lock is named by the first frame outside the threading module, and the second
        # lock created there is not merged with the first.
        p, files = self.profile([py, "-c", self.RLOCKS], name="rlocks")
        rep = self.report_json(files, "--top", "0")
        locks = [l for l in locks_of(rep, "threading.RLock", contention=True) if l["contentions"] > 0]
        names = sorted(l["name"] for l in locks)
        self.assertEqual(len(names), 2, [(l["kind"], l["name"]) for l in rep["locks"]])
        if info[:2] >= (3, 14):  # a PyMutex inside the object: named by id(lock)
            self.assertEqual(names, sorted("threading.RLock@" + a for a in p.stdout.split()))
        else:
            # (logging's own last-resort handler took the first name when the module was imported)
            site = r"^threading\.RLock created at logging/__init__\.py:\d+ \(Handler\.createLock\)"
            for n in names:
                self.assertRegex(n, site + r"( #\d+)?$")
            self.assertEqual(len({n.split(" #")[0] for n in names}), 1, names)  # one site, two locks

    @for_each_python
    def test_notifications_are_not_contention(self, label, py, info):
        code = ("import queue, threading\n"
                "q = queue.Queue()\n"
                "def consumer():\n"
                "    for _ in range(200):\n"
                "        q.get()\n"
                "t = threading.Thread(target=consumer); t.start()\n"
                "import time\n"
                "for i in range(200):\n"
                "    q.put(i); time.sleep(0.0005)\n"
                "t.join()\n")
        _, files = self.profile([py, "-c", code], name="notify")
        rep = self.report_json(files)
        notify = [l for l in rep["locks"] if "notify" in l["flags"]]
        self.assertTrue(notify, [(l["kind"], l["name"], l["flags"]) for l in rep["locks"]])
        self.assertTrue(all(not l["contention"] for l in notify))
        waits = [s for l in notify for s in l["stacks"]]
        self.assertTrue(any(has_frame(s["frames"], "Condition.wait") or has_frame(s["frames"], "Thread.join")
                            or has_frame(s["frames"], "consumer") for s in waits))


class Gil(PythonTest):
    @for_each_python
    def test_gil_waits(self, label, py, info):
        env = {"PYTHON_GIL": "1"} if info[3] else None

        def want(rep):
            return [l for l in locks_of(rep, "gil") if l["name"] == "GIL" and l["contentions"] > 0]

        rep, locks = self.workload(py, "gil_cpu", ["3", "1500000"], want, env=env)
        stacks = locks[0]["stacks"]
        line = line_of(example("gil_cpu"), "needs the GIL")
        self.assertTrue(any(has_frame(s["frames"], "crunch", line) for s in stacks),
                        [lptest.frames_text(s["frames"]) for s in stacks[:3]])
        self.assertTrue(any(s["holder_thread"] for s in stacks), "GIL waits without a holder thread")
        if info[3]:
            self.assertEqual(rep["processes"][0]["gil_enabled"], True)
            _, files = self.profile([py, example("gil_cpu"), "2", "300000"], env=env, name="loud")
            text = lockprof("report", *files, check=True).stdout
            self.assertIn("THE GIL IS ENABLED", text)

    def test_gil_enabled_at_run_time_is_flagged(self):
        # The GIL comes back in the middle of a free-threaded run when an extension without Py_mod_gil is imported:
        # the profile says so and the text report says it loudly; the run's GIL waits after it are recorded.
        lptest.skip_missing(self, ft=True)
        fts = [(l, p) for l, p in PYTHONS if python_info(p)[3]]
        if not fts:
            self.skipTest("no free-threaded interpreter")
        src = os.path.join(self.tmp, "needs_gil.c")
        with open(src, "w") as f:
            f.write(GIL_USED_EXT)
        code = ("import sys, threading\n"
                "before = sys._is_gil_enabled()\n"
                "import needs_gil\n"
                "after = sys._is_gil_enabled()\n"
                "def crunch():\n"
                "    s = 0\n"
                "    for i in range(1500000):\n"
                "        s += i\n"
                "ts = [threading.Thread(target=crunch) for _ in range(3)]\n"
                "[t.start() for t in ts]; [t.join() for t in ts]\n"
                "print(before, after)\n")
        for label, py in fts:
            with self.subTest(python=label):
                inc, suffix = run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['include']);"
                                             "print(sysconfig.get_config_var('EXT_SUFFIX'))"],
                                  check=True).stdout.split()
                ext_dir = os.path.join(self.tmp, label)
                os.makedirs(ext_dir, exist_ok=True)
                cc = run(["cc", "-shared", "-fPIC", f"-I{inc}", src, "-o", os.path.join(ext_dir, "needs_gil" + suffix)])
                self.assertEqual(cc.returncode, 0, cc.stderr[-2000:])
                p, files = self.profile([py, "-c", code], env={"PYTHONPATH": ext_dir}, name="gil-runtime")
                self.assertEqual(p.stdout.split(), ["False", "True"], p.stderr)
                rep = self.report_json(files)
                self.assertEqual(rep["processes"][0]["gil_enabled"], True)
                self.assertIn("THE GIL IS ENABLED", lockprof("report", *files, check=True).stdout)


# A C extension module without a Py_mod_gil slot: importing it into a free-threaded interpreter enables the GIL
# for the rest of the run (Python/import.c _PyImport_CheckGILForModule), with a RuntimeWarning.
GIL_USED_EXT = r"""
#include <Python.h>
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "needs_gil", NULL, 0, NULL};
PyMODINIT_FUNC PyInit_needs_gil(void) { return PyModule_Create(&def); }
"""

OBJECT_EXAMPLES = [
    # example, object type, {function in the example: marker of its line that touches the shared object}
    ("dict_cache", "dict", {"store": "the contended line", "lookup": "return cache.get(key)"}),
    ("list_queue", "list", {"put": "producer side", "take": "consumer side"}),
    ("shared_set", "set", {"mark": "critical section on `seen`", "unmark": "seen.discard(i)"}),
    ("deque_work", "collections.deque", {"push": "critical section on `work`", "pop": "work.popleft()"}),
    ("order_counter", "Order", {"add_item": "stores to the shared instance"}),
]


class FreeThreaded(PythonTest):
    def ft_pythons(self):
        lptest.skip_missing(self, ft=True)
        fts = [(l, p) for l, p in PYTHONS if python_info(p)[3]]
        if not fts:
            self.skipTest("no free-threaded interpreter (scripts/setup-pythons.sh builds one)")
        return fts

    def test_object_types_lines_and_holders(self):
        for label, py in self.ft_pythons():
            for name, typ, markers in OBJECT_EXAMPLES:
                with self.subTest(python=label, example=name):
                    # Two threads run the example's functions on its shared object while a third holds the object
                    # (tests/data/held_example.py): the first is handed the lock by the holder, the second by the
                    # first, running the example's line.
                    path = example(name)
                    funcs = set(markers)
                    lines = {f: line_of(path, m) for f, m in markers.items()}
                    if name == "order_counter":  # two stores on consecutive lines
                        lines = {"add_item": None}
                    rep, addr = self.held(py, name)
                    locks = [l for l in locks_of(rep, "pymutex", contention=True) if l["object_type"] == typ]
                    self.assertIn(typ + "@" + addr, [l["name"] for l in locks],
                                  [(l["name"], l["contentions"]) for l in rep["locks"]][:12])
                    stacks = [s for l in locks for s in l["stacks"]]
                    self.assertTrue(any(any(has_frame(s["frames"], f, ln, name + ".py") for f, ln in lines.items())
                                        for s in stacks), [lptest.frames_text(s["frames"]) for s in stacks[:3]])
                    holders = [s["holder_frames"] for s in stacks if s["holder_frames"]]
                    self.assertTrue(any(any(has_frame(h, f, None, name + ".py") for f in funcs) for h in holders),
                                    [lptest.frames_text(h) for h in holders[:3]])
                    if len(markers) == 2:  # the thread running the first function is queued ahead of the other
                        first, second = markers
                        self.assertTrue(any(has_frame(s["frames"], second, lines[second], name + ".py") and
                                            has_frame(s["holder_frames"], first, None, name + ".py") for s in stacks),
                                        [(lptest.frames_text(s["frames"]), lptest.frames_text(s["holder_frames"]))
                                         for s in stacks])
                    # the patched slow path is the leaf, and the object lock is named after its type
                    self.assertTrue(all(l["name"].startswith(typ + "@0x") for l in locks))
                    self.assert_no_object_type_on_runtime_locks(rep)

    def test_object_lock_wait_agrees_with_the_program_clock(self):
        # One thread holds a list's critical section (list.sort calling a slow key function) while another appends
        # to it and times the append. lockprof ends a CPython wait where the last blocking call before the
        # acquisition returned (src/collect/py/hooks.c), never after the append returned: its wait must lie within
        # the program's own measure, and be most of it (the rest is the append and lockprof's stack capture).
        # The event is kept aside until the waiting thread's next wait (record.h, deferred events): when the
        # appender is a daemon thread that then sleeps through the end of the program, the final dump writes it.
        code = ("import threading, time\n"
                "lst = list(range(64))\n"
                "state = {'in': False}\n"
                "out = []\n"
                "def key(x):\n"
                "    if not state['in']:\n"
                "        state['in'] = True\n"
                "        end = time.perf_counter() + 0.3\n"
                "        while time.perf_counter() < end:\n"
                "            pass\n"
                "    return x\n"
                "def append():\n"
                "    while not state['in']:\n"
                "        pass\n"
                "    t0 = time.perf_counter_ns()\n"
                "    lst.append(-1)\n"
                "    out.append(time.perf_counter_ns() - t0)\n"
                "t = threading.Thread(target=lambda: lst.sort(key=key)); t.start()\n"
                "if DAEMON:\n"
                "    threading.Thread(target=lambda: (append(), time.sleep(1000)), daemon=True).start()\n"
                "else:\n"
                "    append()\n"
                "t.join()\n"
                "while not out:\n"
                "    pass\n"
                "print(hex(id(lst)), out[0])\n")
        for (label, py), daemon in [(p, d) for p in self.ft_pythons() for d in (False, True)]:
            with self.subTest(python=label, appender="daemon thread" if daemon else "main thread"):
                p, files = self.profile([py, "-c", f"DAEMON = {daemon}\n" + code], name="sortwait")
                addr, waited = p.stdout.split()
                rep = self.report_json(files)
                locks = [l for l in locks_of(rep, "pymutex") if l["name"] == "list@" + addr]
                self.assertEqual([l["contentions"] for l in locks], [1], [l["name"] for l in rep["locks"]])
                ours = locks[0]["max_wait_ns"]
                self.assertIn("parked", locks[0]["flags"])
                self.assertLessEqual(ours, int(waited))
                self.assertGreater(ours, int(waited) // 2, (ours, waited))

    def test_one_thread_has_no_contention_at_shutdown(self):
        # Py_Finalize closes the standard streams while a critical section of the same object is held (3.13's
        # nested critical sections re-lock it): a wait on a lock the thread itself holds, not contention, even though
        # Python thread states are no longer trusted then (only the finalizing thread's own one is).
        for label, py in self.ft_pythons():
            with self.subTest(python=label):
                p, files = self.profile([py, "-c", "print('hi')"], name="hi")
                self.assertEqual(p.stdout, "hi\n")
                rep = self.report_json(files, "--top", "0")
                self.assertEqual([(l["name"], l["contentions"]) for l in locks_of(rep, contention=True)], [])

    def test_runtime_pymutex_never_an_object(self):
        for label, py in self.ft_pythons():
            with self.subTest(python=label):
                def want(rep):
                    return [l for l in locks_of(rep, "pymutex") if l["name"].startswith(("PyInterpreterState+",
                                                                                          "_PyRuntime+"))]

                rep, locks = self.workload(py, "type_lock", [], want)
                for l in locks:
                    self.assertIsNone(l["object_type"])
                self.assertTrue(any(" taken in " in l["name"] for l in locks), [l["name"] for l in locks])
                self.assert_no_object_type_on_runtime_locks(rep)

    def test_patched_entry_points_and_self_held(self):
        for label, py in self.ft_pythons():
            with self.subTest(python=label):
                _, files = self.profile([py, "-c", "pass"], name="meta")
                with open(files[0]) as f:
                    meta = dict(l.split(" ", 2)[1:] for l in f.read().splitlines() if l.startswith("m ") and
                                len(l.split(" ", 2)) == 3)
                patched = meta.get("python_patched", "").split(",")
                for fn in ("PyMutex_Lock", "_PyCriticalSection_BeginSlow", "_PyCriticalSection2_BeginSlow"):
                    self.assertIn(fn, patched)
                # A critical section on an object whose lock a critical section of the same thread holds below the
                # top one: every version re-locks it and waits for itself (tests/data/nested_self_held.py). Reported
                # as held by the waiter itself, not as contention between threads.
                script = os.path.join(DATA, "nested_self_held.py")
                p, files = self.profile([py, script, "20"], name="nested")
                rep = self.report_json(files, "--top", "0")
                locks = [l for l in locks_of(rep, "pymutex") if l["name"] == "dict@" + p.stdout.strip()]
                self.assertEqual([(l["contention"], l["flags"]) for l in locks], [(False, ["self"])],
                                 [(l["name"], l["flags"]) for l in rep["locks"]])
                pid = rep["processes"][0]["pid"]  # one thread, the main one: its tid is the pid
                self.assertEqual({s["holder_thread"]["tid"] for s in locks[0]["stacks"]}, {pid})
                self.assertTrue(all(has_frame(s["frames"], "K.__eq__.<locals>.<lambda>",
                                              line_of(script, "the self-held line")) for s in locks[0]["stacks"]))
                # 3.13's dict.get holds a critical section on the dict and _Py_dict_lookup_threadsafe takes it again
                # as the top one: the nested section finds the mutex locked by its own thread. 3.14 skips the re-lock
                # (Python/critical_section.c, gh-114203): the same program shows no such wait there.
                def self_held_dict(rep):
                    return [l for l in locks_of(rep, "pymutex", contention=False)
                            if l["object_type"] == "dict" and "self" in l["flags"]]

                if python_info(py)[:2] == (3, 13):
                    rep, locks = self.workload(py, "dict_cache", ["2", "50000"], self_held_dict)
                    stacks = [s for l in locks for s in l["stacks"]]
                    self.assertTrue(all("self" in s["flags"] for s in stacks))
                    self.assertTrue(any(has_frame(s["frames"], "lookup", line_of(example("dict_cache"), "cache.get"))
                                        for s in stacks))
                else:  # a run where the two threads did contend on the dict, and no self-held wait in it (200000
                    # operations: with 50000, 5 runs had no dict contention on a loaded machine)
                    lptest.skip_unless_parallel(self)
                    rep, _ = self.workload(py, "dict_cache", ["2", "200000"], lambda rep: [
                        l for l in locks_of(rep, "pymutex", contention=True) if l["object_type"] == "dict"],
                        report_opts=("--top", "0"))
                    self.assertEqual(self_held_dict(rep), [])


    def test_slow_paths_that_never_block_are_counted_not_waits(self):
        # A PyMutex slow path is captured at its first blocking call (src/collect/py/hooks.c): one that takes the
        # lock before any yield or park is counted in slow_paths_unblocked and not recorded, so every recorded
        # wait on the list blocked (no zero-length waits in the histogram) and carries the worker's line.
        # tests/data/unblocked_list.py makes both certain on the list: the main thread enters the slow path
        # (PyMutex_Lock) on the list's unlocked mutex a known number of times, outside worker(); then two threads
        # run worker() (bench/ft_list.py's loop), both blocked at first by a holder, then contending by chance.
        script = os.path.join(DATA, "unblocked_list.py")
        for label, py in self.ft_pythons():
            with self.subTest(python=label):
                p, files = self.profile([py, script, "200000"], name="unblocked")
                addr, unblocked = p.stdout.split()
                rep = self.report_json(files, "--top", "0")
                self.assertGreaterEqual(rep["processes"][0]["slow_paths_unblocked"], int(unblocked))
                locks = [l for l in locks_of(rep, "pymutex", contention=True) if l["object_type"] == "list"]
                self.assertEqual([l["name"] for l in locks], ["list@" + addr], [l["name"] for l in rep["locks"]])
                self.assertGreaterEqual(locks[0]["contentions"], 2)
                for l in locks:
                    self.assertEqual(l["histogram"][0], 0, l["histogram"])
                    self.assertGreater(l["wait_ns"], 0)
                    for st in l["stacks"]:
                        self.assertTrue(has_frame(st["frames"], "worker", None, "unblocked_list.py"),
                                        lptest.frames_text(st["frames"]))

    def test_lines_stay_right_when_code_objects_come_and_go(self):
        # A thread's frames are decoded once per depth and reused while the code object, its fields and the
        # instruction pointer match (src/collect/py/frames.c, struct frame_memo). Forty functions named f in one
        # file, compiled one after another and each freed before the next (whose code object may take its
        # address), each at its own line and appending to its own list: every frame f in the stacks of the k-th
        # list's waits must carry the k-th function's line. Each list is waited for, certainly (GEN_FUNCS).
        script = os.path.join(self.tmp, "gen_funcs.py")
        with open(script, "w") as f:
            f.write(GEN_FUNCS)
        for label, py in self.ft_pythons():
            with self.subTest(python=label):
                checked = set()
                p, files = self.profile([py, script], name="gen")
                line_of_list = {int(a, 16): GEN_FIRST + 2 * int(k) + 1
                                for k, a in (l.split() for l in p.stdout.splitlines())}
                self.assertEqual(len(line_of_list), 40, p.stdout)
                for lock in locks_of(self.report_json(files, "--top", "0"), "pymutex", contention=True):
                    if lock["object_type"] != "list":
                        continue
                    want = line_of_list[int(lock["name"].split("@")[1], 16)]
                    for st in lock["stacks"]:
                        lines = [fr["line"] for fr in st["frames"] if fr["function"] == "f"]
                        self.assertEqual(lines, [want], (lock["name"], lptest.frames_text(st["frames"])))
                    checked.add(want)
                self.assertEqual(len(checked), 40, "generated functions whose list no wait was recorded for: "
                                 f"{sorted(set(line_of_list.values()) - checked)}")

    def test_without_disassembler_one_warning_and_the_parking_lot_view(self):
        # Zydis is opened by soname only to patch (src/collect/py/patch.c). A copy of the collector naming a
        # soname that does not exist (same length: the copy stays a valid ELF file) stands for a machine without
        # it: one warning, nothing patched, and the waits that reach the parking lot are still attributed.
        with open(lptest.LIB, "rb") as f:
            lib = f.read()
        prefix = b"libZydis.so."
        i = lib.find(prefix)
        self.assertGreaterEqual(i, 0, "the collector names Zydis's soname")
        end = lib.index(b"\0", i)
        copy = os.path.join(self.tmp, "liblockprof-without-zydis.so")
        with open(copy, "wb") as f:
            f.write(lib[:i] + prefix + b"x" * (end - i - len(prefix)) + lib[end:])
        for label, py in self.ft_pythons():
            with self.subTest(python=label):
                for attempt in range(5):
                    out = os.path.join(self.tmp, f"nocs-{label}-{attempt}.%p.prof")
                    # two threads certainly blocked on the dict in the parking lot (tests/data/held_example.py)
                    p = run([py, os.path.join(DATA, "held_example.py"), example("dict_cache")], check=True,
                            env={"LD_PRELOAD": copy, "LOCKPROF_OUTPUT": out})
                    warnings = [l for l in p.stderr.splitlines() if l.startswith("lockprof: warning")]
                    self.assertEqual(len(warnings), 1, p.stderr)
                    self.assertIn("cannot be loaded", warnings[0])
                    files = [os.path.join(self.tmp, f) for f in os.listdir(self.tmp)
                             if f.startswith(f"nocs-{label}-{attempt}.")]
                    self.assertEqual(len(files), 1)
                    with open(files[0]) as f:
                        meta = dict(l.split(" ", 2)[1:] for l in f.read().splitlines()
                                    if l.startswith("m ") and len(l.split(" ", 2)) == 3)
                    self.assertEqual(meta.get("python_patched", ""), "")
                    self.assertIn("PyMutex_Lock", meta.get("python_patch_refused", "").split(","))
                    rep = self.report_json(files)
                    if [l for l in rep["locks"] if l["object_type"] == "dict" and l["contentions"]]:
                        break
                else:
                    self.fail("no dict wait seen through the parking lot in 5 runs")


class UnknownVersion(PythonTest):
    def test_unsupported_cpython_degrades_to_native_with_one_warning(self):
        import glob
        olds = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.10.*/bin/python3.10")) +
                      glob.glob(os.path.expanduser("~/.pyenv/versions/3.9.*/bin/python3.9")))
        if not olds:
            self.skipTest("no CPython older than 3.11 installed (pyenv)")
        p, files = self.profile([olds[0], example("lock_hotspot"), "2", "500"], name="old")
        self.assertIn("count=", p.stdout)
        warnings = [l for l in p.stderr.splitlines() if "CPython layout unknown" in l]
        self.assertEqual(len(warnings), 1, p.stderr)
        rep = self.report_json(files)
        self.assertIsNone(rep["processes"][0]["python"])
        self.assertTrue(rep["locks"], "native profiling still records the interpreter's pthread/semaphore waits")
        self.assertTrue(all(l["object_type"] is None for l in rep["locks"]))


def elf_file_offset(path, vaddr):
    """File offset of virtual address vaddr in ELF file path (from its PT_LOAD program headers)."""
    import struct
    with open(path, "rb") as f:
        data = f.read(64)
        phoff, = struct.unpack_from("<Q", data, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
        f.seek(phoff)
        ph = f.read(phentsize * phnum)
    for i in range(phnum):
        p_type, _, p_offset, p_vaddr, _, p_filesz = struct.unpack_from("<IIQQQQ", ph, i * phentsize)
        if p_type == 1 and p_vaddr <= vaddr < p_vaddr + p_filesz:
            return vaddr - p_vaddr + p_offset
    raise AssertionError(f"{vaddr:#x} not in a PT_LOAD segment of {path}")


class Refused(PythonTest):
    """A CPython lockprof has no verified entry for, or whose _Py_DebugOffsets disagree with its entry, is refused
    with one warning and profiled natively (src/collect/py/versions.c). Made from a real interpreter: a copy of a
    static 3.13+ executable with Py_Version and _Py_DebugOffsets edited (the interpreter itself reads neither: it
    runs as before, its standard library found through PYTHONHOME)."""

    def patched_copy(self, py, edit):
        import struct
        real = os.path.realpath(py)
        syms = run(["nm", "-D", "--defined-only", real], check=True).stdout
        addr = [int(l.split()[0], 16) for l in syms.splitlines() if l.split()[-1] == "Py_Version"]
        if not addr:
            self.skipTest(f"{py}: Py_Version is not in the executable (libpython build)")
        with open(real, "rb") as f:
            data = bytearray(f.read())
        vpos = elf_file_offset(real, addr[0])
        version, = struct.unpack_from("<Q", data, vpos)
        dbg, i = [], data.find(b"xdebugpy")
        while i >= 0:
            if struct.unpack_from("<Q", data, i + 8)[0] == version:
                dbg.append(i)
            i = data.find(b"xdebugpy", i + 1)
        self.assertEqual(len(dbg), 1, "one _Py_DebugOffsets table in the executable")
        words = {}
        env = {"LD_PRELOAD": lptest.LIB, "LOCKPROF_PRINT_LAYOUT": "1", "LOCKPROF_OUTPUT": os.path.join(self.tmp, "w.%p.prof")}
        for line in run([py, "-c", "pass"], env=env).stderr.splitlines():
            if line.startswith("lockprof-layout dbg_"):
                _, k, v = line.split()
                words[k[4:]] = int(v)
        edit(data, vpos, dbg[0], words)
        copy = os.path.join(self.tmp, os.path.basename(real))
        with open(copy, "wb") as f:
            f.write(data)
        os.chmod(copy, 0o755)
        home = run([py, "-c", "import sys; print(sys.prefix)"], check=True).stdout.strip()
        return copy, {"PYTHONHOME": home}

    def run_refused(self, py, edit, warning):
        copy, env = self.patched_copy(py, edit)
        p, files = self.profile([copy, example("lock_hotspot"), "2", "2000"], env=env, name="refused")
        self.assertIn("count=", p.stdout)
        warnings = [l for l in p.stderr.splitlines() if l.startswith("lockprof: warning")]
        self.assertEqual(len(warnings), 1, p.stderr)
        self.assertIn(warning, warnings[0])
        rep = self.report_json(files)
        self.assertIsNone(rep["processes"][0]["python"])
        self.assertTrue(all(l["object_type"] is None for l in rep["locks"]))
        self.assertTrue(all(l["kind"] not in ("pymutex", "gil", "threading.Lock", "parking_lot") for l in rep["locks"]),
                        [l["kind"] for l in rep["locks"]])

    def modern(self):
        out = [(l, p) for l, p in PYTHONS if python_info(p)[:2] >= (3, 13)]
        if not out:
            self.skipTest("no CPython 3.13 or later found")
        return out

    def test_a_newer_version_is_refused(self):
        import struct

        def to_315(data, vpos, dbg, words):
            struct.pack_into("<Q", data, vpos, 0x030F00A1)
            struct.pack_into("<Q", data, dbg + 8, 0x030F00A1)

        for label, py in self.modern():
            with self.subTest(python=label):
                self.run_refused(py, to_315, "CPython layout unknown to this lockprof, profiling without Python "
                                             "awareness: 3.15.0a1")

    def test_debug_offsets_that_disagree_are_refused(self):
        import struct

        def bad_header(data, vpos, dbg, words):
            pos = dbg + 8 * words["ob_size"]
            size, = struct.unpack_from("<Q", data, pos)
            self.assertIn(size, (16, 32))
            struct.pack_into("<Q", data, pos, size + 16)

        for label, py in self.modern():
            with self.subTest(python=label):
                self.run_refused(py, bad_header, "disagree with the layout lockprof verified for this version "
                                                 "(PyObject header)")


class Robustness(PythonTest):
    @for_each_python
    def test_unidentifiable_locks_do_not_crash(self, label, py, info):
        code = ("import multiprocessing as mp, threading, queue, ctypes, ctypes.util, os\n"
                "s = mp.Semaphore(1)\n"
                "def f():\n"
                "    for _ in range(2000):\n"
                "        with s: pass\n"
                "sq = queue.SimpleQueue(); ev = threading.Event(); b = threading.Barrier(3)\n"
                "def g():\n"
                "    b.wait(); ev.wait(); sq.put(1)\n"
                "ts = [threading.Thread(target=f) for _ in range(3)] + [threading.Thread(target=g) for _ in range(2)]\n"
                "[t.start() for t in ts]\n"
                "b.wait(); ev.set(); sq.get(); sq.get()\n"
                "[t.join() for t in ts]\n"
                "print('ok')\n")
        p, files = self.profile([py, "-c", code], name="robust")
        self.assertIn("ok", p.stdout)
        rep = self.report_json(files)
        self.assert_no_object_type_on_runtime_locks(rep)


if __name__ == "__main__":
    lptest.main()
