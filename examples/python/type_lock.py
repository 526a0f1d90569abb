"""Two threads append to and delete from their own bytearrays while creating classes: on 3.13t the waits are
on the interpreter's type lock, a PyMutex that lives inside the interpreter state, not in any object. A profiler
that reads every parked address as an object header crashes here; lockprof names the lock by its place in the
interpreter state and the C function that took it, and never gives it an object type.

Usage: python type_lock.py [threads] [iterations]
"""
import sys
import threading


def churn(n):
    buf = bytearray()
    for i in range(n):
        buf.append(i & 255)
        if len(buf) > 64:
            del buf[:32]
        if i % 50 == 0:
            type(f"T{i}", (object,), {"x": i})  # new types: type-cache and type-lock traffic


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    ts = [threading.Thread(target=churn, args=(n,)) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("done")


if __name__ == "__main__":
    main()
