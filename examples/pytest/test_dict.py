"""Free-threaded CPython (3.13t): every dict has its own lock (a PyMutex), taken by each store. Four threads
storing into one shared dict queue on that lock; four threads with a dict each never do. Both tests have the same
budget for waits on dict locks; the first goes over it, the second stays at zero. (GIL builds have no dict locks:
the tests are skipped there; test_lock.py is the example for them.)"""
import sys
import sysconfig
import threading

import pytest

pytestmark = pytest.mark.skipif(not sysconfig.get_config_var("Py_GIL_DISABLED") or sys._is_gil_enabled(),
                                reason="dicts have their own locks only in free-threaded Python with the GIL off")

THREADS = 4
STORES = 300_000


def fill(table, start, seed):
    start.wait()  # all threads begin together, so that they overlap
    for i in range(STORES):
        table[(seed + i) % 512] = i  # the contended line when `table` is shared


def run(tables):
    start = threading.Barrier(len(tables))
    threads = [threading.Thread(target=fill, args=(t, start, k * 7)) for k, t in enumerate(tables)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


@pytest.mark.lock_budget(wait_ms=5, kind="pymutex", object_type="dict")
def test_shared_dict():
    shared = {}
    run([shared] * THREADS)
    assert len(shared) == 512


@pytest.mark.lock_budget(wait_ms=5, kind="pymutex", object_type="dict")
def test_dict_per_thread():
    tables = [{} for _ in range(THREADS)]
    run(tables)
    assert all(len(t) == 512 for t in tables)
