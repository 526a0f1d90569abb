"""The ft-dict row's dominant wait without its second thread (README "Performance", row 2): one thread calls
dict.get on values another thread created. On free-threaded 3.13 dict.get holds the dict's critical section, and
when a value has no shared reference count yet (it was created by another thread), _Py_dict_lookup_threadsafe
falls back to a locked lookup that takes the same critical section again (Objects/dictobject.c, 3.13.5): the
thread waits for itself, 40 sched_yield calls and a park, until the park's detach suspends the outer critical
section. About every other get here; 3.14 returns at once instead (gh-114203). lockprof records each such wait
as held by the waiter itself.

Usage: python self_held.py [gets]   (scripts/ft-floor.sh --workload self-held runs it with and without lockprof)
"""
import sys
import threading

values = {i: 10**9 + i for i in range(512)}  # created by the main thread: not shared with the worker yet


def worker(n):
    get = values.get
    for i in range(n):
        get(i & 511)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 400_000
    t = threading.Thread(target=worker, args=(n,), name="reader")
    t.start()
    t.join()


if __name__ == "__main__":
    main()
