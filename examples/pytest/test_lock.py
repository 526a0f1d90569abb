"""Any CPython (the example for GIL builds such as Debian's 3.11): four threads that each take one shared
threading.Lock ten times and hold it 2 ms queue on it — the others wait while one holds it; four threads with a
lock each never wait for one another. Both tests have the same budget for all their lock contention; the first
goes over it, the second stays far below."""
import threading
import time

import pytest

THREADS = 4
ROUNDS = 10


def work(lock):
    for _ in range(ROUNDS):
        with lock:  # the contended line when `lock` is shared
            time.sleep(0.002)


def run(locks):
    # (no Barrier to start them together: its own lock would be contended too; they overlap anyway)
    threads = [threading.Thread(target=work, args=(lock,)) for lock in locks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


@pytest.mark.lock_budget(wait_ms=20)
def test_shared_lock():
    run([threading.Lock()] * THREADS)


@pytest.mark.lock_budget(wait_ms=20)
def test_lock_per_thread():
    run([threading.Lock() for _ in range(THREADS)])
