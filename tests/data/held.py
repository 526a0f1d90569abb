"""Contention by construction, for tests/integration/test_python.py (no scheduling luck): a holder thread takes a
lock and keeps it until every waiter thread is blocked in the kernel on it, then lets go.

On a free-threaded build a per-object lock is a critical section, which its thread gives up whenever it detaches
(blocking call, stop-the-world): the holder must busy-wait inside the section (hold_spin), and the garbage
collector stays off while it holds (a collection stops the world). A threading.Lock can be held across a sleep
(hold_sleep), which also lets waiters run on a GIL build.

A waiter counts as blocked once it has started the code under test and then sat in futex() (sem_wait of the
parking lot, or of a PyThread lock) for STABLE_S without a break, so a passing block on anything else does not
count. With ordered=True the waiters are started one at a time, each after the previous one blocked: they queue on
the lock in that order, and when the holder lets go each hands the lock to the next, whose wait is then ended
(and its holder stack taken) by the previous waiter, running the code under test.

On a machine kept busy by other processes, every sched_yield() gives the CPU away for a whole time slice, and a
3.13 PyMutex slow path makes 40 of them before it parks (Python/lock.c): here that would be seconds. So an
object's lock (ob_mutex) is marked as having parked waiters once the holder has it (skip_spin), and waiters then
park at once; threads are started and joined without threading.Thread (whose start() waits on a threading.Lock);
/proc is read with os.read (3.13t's open() re-locks a dict its own critical section holds: 40 more yields)."""
import ctypes
import gc
import os
import platform
import sys
import threading
import time

STABLE_S = 0.02
TIMEOUT_S = 30.0
FUTEX = {"x86_64": b"202", "aarch64": b"98"}.get(platform.machine())
OB_MUTEX = 10  # Include/object.h, free-threaded: uintptr_t ob_tid; uint16_t ob_flags; PyMutex ob_mutex
LOCKED, HAS_PARKED = 1, 2  # Include/internal/pycore_lock.h

go = False
inside = False


def hold_spin():
    """Called by the holder with the lock held: busy until the waiters are blocked (never detaches)."""
    global inside
    inside = True
    end = time.perf_counter() + TIMEOUT_S
    while not go and time.perf_counter() < end:
        pass


def spin_once(x):
    """A key function for list.sort (which keeps the list locked while it calls it): holds on its first call."""
    if not inside:
        hold_spin()
    return x


def hold_sleep():
    global inside
    inside = True
    end = time.monotonic() + TIMEOUT_S
    while not go and time.monotonic() < end:
        time.sleep(0.001)


def skip_spin(obj):
    """With obj's lock held by the holder and no waiter yet: sets _Py_HAS_PARKED (its unlock then looks for
    parked waiters, as after any park)."""
    bits = ctypes.c_uint8.from_address(id(obj) + OB_MUTEX)
    if bits.value != LOCKED:
        sys.exit(f"held.py: ob_mutex of {type(obj).__name__} reads {bits.value}, not locked: not at +{OB_MUTEX}?")
    bits.value = LOCKED | HAS_PARKED


def read(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 4096)
    finally:
        os.close(fd)


def in_futex(tid):
    try:
        if read(f"/proc/self/task/{tid}/stat").rsplit(b")", 1)[1].split()[0] != b"S":
            return False
        return not FUTEX or read(f"/proc/self/task/{tid}/syscall").split()[0] == FUTEX
    except (OSError, IndexError):
        return False


class Thread:
    """fn in a new thread (_thread.start_joinable_thread, 3.13+): its native id, whether it has begun fn (right
    before calling it) and returned."""
    def __init__(self, fn):
        self.tid = None
        self.began = self.done = False

        def main():
            self.tid = threading.get_native_id()
            self.began = True
            try:
                fn()
            finally:
                self.done = True
        start = getattr(__import__("_thread"), "start_joinable_thread", None)
        if start:
            self.handle = start(main)
        else:
            self.handle = threading.Thread(target=main)
            self.handle.start()

    def join(self):
        self.handle.join()


def wait_until(cond, what):
    end = time.monotonic() + TIMEOUT_S
    while not cond():
        if time.monotonic() > end:
            sys.exit(f"held.py: {what}")
        time.sleep(0.001)


def wait_blocked(waiters):
    """Until every waiter has begun the code under test and been blocked for STABLE_S."""
    since = [None]

    def blocked():
        if all(w.began for w in waiters) and all(in_futex(w.tid) for w in waiters):
            since[0] = since[0] or time.monotonic()
            return time.monotonic() - since[0] >= STABLE_S
        since[0] = None
        return False
    wait_until(blocked, "a waiter never blocked")


def run(hold, waiters, ordered=True, obj=None):
    """hold(): takes the lock and calls hold_spin/hold_sleep while holding it. waiters: callables that take it.
    obj: the object whose own lock it is (free-threaded build), for skip_spin."""
    global go, inside
    go = inside = False
    enabled = gc.isenabled()
    gc.disable()
    try:
        holder = Thread(hold)
        wait_until(lambda: inside or holder.done, "the holder never took the lock")
        if holder.done:
            sys.exit("held.py: the holder returned without holding")
        if obj is not None:
            skip_spin(obj)
        ws = []
        for fn in waiters:
            ws.append(Thread(fn))
            if ordered:
                wait_blocked(ws[-1:])
        wait_blocked(ws)
        if holder.done:
            sys.exit("held.py: the holder let go before the waiters blocked")
        go = True
        for t in [holder] + ws:
            t.join()
    finally:
        if enabled:
            gc.enable()


def load(path):
    """Imports a script as a module (its `if __name__ == "__main__"` part does not run): frames keep its file."""
    import importlib.util
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod
