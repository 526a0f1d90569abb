"""A collections.deque shared between a pusher and a popper thread. lockprof names `collections.deque`.

Usage: python deque_work.py [pairs] [items]
"""
import collections
import sys
import threading

work = collections.deque()


def push(n):
    start.wait()  # all threads begin together, so they overlap
    for i in range(n):
        work.append(i)  # contended: critical section on `work`


def pop(n):
    start.wait()
    got = 0
    while got < n:
        try:
            work.popleft()
            got += 1
        except IndexError:
            pass


def main():
    pairs = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000
    global start
    start = threading.Barrier(2 * pairs)
    ts = [threading.Thread(target=push, args=(n,)) for _ in range(pairs)]
    ts += [threading.Thread(target=pop, args=(n,)) for _ in range(pairs)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(f"left={len(work)}")


if __name__ == "__main__":
    main()
