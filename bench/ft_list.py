"""Benchmark workload: two threads append to and pop from one shared list (balanced, so the list stays short and
the run time is stable). On a free-threaded build every operation takes the list's per-object lock.
Usage: python ft_list.py [threads] [operations per thread]"""
import sys
import threading

shared = []


def worker(n):
    append, pop = shared.append, shared.pop
    for i in range(n):
        append(i)
        pop()


threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
ts = [threading.Thread(target=worker, args=(n,)) for _ in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
