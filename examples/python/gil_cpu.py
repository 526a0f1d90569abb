"""CPU-bound threads: on a GIL build (or a free-threaded build run with PYTHON_GIL=1) they take turns on the
GIL, every 5 ms. lockprof reports `gil` waits per thread, with the holder thread.

Usage: python gil_cpu.py [threads] [iterations]
"""
import sys
import threading


def crunch(n):
    s = 0
    for i in range(n):
        s += i * i % 7  # pure Python: needs the GIL all the time
    return s


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2_000_000
    ts = [threading.Thread(target=crunch, args=(n,), name=f"crunch-{k}") for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("done")


if __name__ == "__main__":
    main()
