"""Threads add to and discard from one shared set (a "seen" set, a membership registry). lockprof names `set`.

Usage: python shared_set.py [threads] [operations per thread]
"""
import sys
import threading

seen = set()


def mark(i):
    seen.add(i)  # contended: critical section on `seen`


def unmark(i):
    seen.discard(i)


def worker(n, base):
    start.wait()  # all threads begin together, so they overlap
    for i in range(n):
        mark(base + i % 1024)
        unmark(base + (i + 512) % 1024)


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000
    global start
    start = threading.Barrier(threads)
    ts = [threading.Thread(target=worker, args=(n, 0)) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(f"size={len(seen)}")


if __name__ == "__main__":
    main()
