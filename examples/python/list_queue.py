"""A plain list used as a work queue: producers append, consumers pop. On a free-threaded build every append
and pop takes the list's per-object lock. lockprof names `list`, the consumer's `take` line as a waiter and the
producer's `put` line as a holder (and vice versa).

Usage: python list_queue.py [pairs] [items per producer]
"""
import sys
import threading

queue = []


def put(item):
    queue.append(item)  # producer side


def take():
    try:
        return queue.pop()  # consumer side
    except IndexError:
        return None


def producer(n):
    start.wait()  # all threads begin together, so they overlap
    for i in range(n):
        put(i)


def consumer(n):
    start.wait()
    got = 0
    while got < n:
        if take() is not None:
            got += 1


def main():
    pairs = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000
    global start
    start = threading.Barrier(2 * pairs)
    ts = [threading.Thread(target=producer, args=(n,)) for _ in range(pairs)]
    ts += [threading.Thread(target=consumer, args=(n,)) for _ in range(pairs)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(f"left={len(queue)}")


if __name__ == "__main__":
    main()
