"""A shared dict used as a cache by every thread: on a free-threaded build each store and lookup takes the
dict's per-object lock, so threads queue on it. lockprof names `dict` as the object type, `store` as the waiting
line and the other thread's line as the holder.

Usage: python dict_cache.py [threads] [operations per thread]
"""
import sys
import threading

cache = {}


def store(key, value):
    cache[key] = value  # the contended line: a critical section on `cache`


def lookup(key):
    return cache.get(key)


def worker(n, seed):
    start.wait()  # all threads begin together, so they overlap
    for i in range(n):
        store((seed + i) % 512, i)
        lookup(i % 512)


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000
    global start
    start = threading.Barrier(threads)
    ts = [threading.Thread(target=worker, args=(n, k * 7), name=f"cache-{k}") for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(f"entries={len(cache)}")


if __name__ == "__main__":
    main()
