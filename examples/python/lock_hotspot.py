"""A threading.Lock that every thread takes around a slow update: the classic Python lock hot spot. lockprof
reports a threading.Lock (on any build), `update` as the waiting line and `update` in the other thread as the
holder.

Usage: python lock_hotspot.py [threads] [updates per thread]
"""
import sys
import threading

stats_lock = threading.Lock()
stats = {"count": 0}


def slow_sum(k):
    s = 0
    for i in range(k):
        s += i
    return s


def update():
    with stats_lock:  # contended
        stats["count"] += slow_sum(200)


def worker(n):
    for _ in range(n):
        update()
        slow_sum(50)


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 5_000
    ts = [threading.Thread(target=worker, args=(n,)) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(f"count={stats['count']}")


if __name__ == "__main__":
    main()
