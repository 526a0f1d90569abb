#!/usr/bin/env python3
"""The cost of lockprof.label (python/lockprof): nanoseconds per enter/exit pair, printed as the last line (bench/run.py
reads it; its "label ..." rows run this without and with the collector).

    python bench/label_cost.py pair|new|nested|ctypes|object [N]

pair    `with L:` on a label object made once (the decorator's case)
new     `with lockprof.label(request="/api/items"):` (a label object made each time, as a `with` line does)
nested  `with L:` inside an outer label block (the labels merged with the outer ones at each enter)
ctypes  for comparison, with the collector only: the two calls of lockprof_set_labels a pair makes, alone
object  for comparison: `with E(request="/api/items"):`, E a class that only keeps its **kwargs

Each figure is the best of 7 timed loops of N pairs, minus the best of 7 loops of an empty context manager (the
`with` statement's own cost), divided by N. Without the collector a pair does no C call at all; with it, an
enter and an exit each call lockprof_set_labels once (ctypes).
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import lockprof  # noqa: E402


class Empty:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def best(loop, n, runs=7):
    return min(loop(n) for _ in range(runs))


def with_object(obj):
    def loop(n):
        t0 = time.perf_counter_ns()
        for _ in range(n):
            with obj:
                pass
        return time.perf_counter_ns() - t0
    return loop


class KeepKwargs(Empty):
    def __init__(self, **kwargs):
        self.kwargs = kwargs


def new_object(n):
    t0 = time.perf_counter_ns()
    for _ in range(n):
        with KeepKwargs(request="/api/items"):
            pass
    return time.perf_counter_ns() - t0


def two_calls(n):
    set_labels = lockprof._native.set_labels
    data = b"request\0/api/items\0"
    size = len(data)
    t0 = time.perf_counter_ns()
    for _ in range(n):
        set_labels(data, size)
        set_labels(b"", 0)
    return time.perf_counter_ns() - t0


def new_label(n):
    t0 = time.perf_counter_ns()
    for _ in range(n):
        with lockprof.label(request="/api/items"):
            pass
    return time.perf_counter_ns() - t0


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else "pair"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000
    inner = lockprof.label(request="/api/items")
    loops = {"pair": with_object(inner), "new": new_label, "nested": with_object(inner), "ctypes": two_calls,
             "object": new_object}
    if what not in loops:
        sys.exit(__doc__)
    if what == "ctypes" and not lockprof.active():
        sys.exit("label_cost.py ctypes: run it under the collector (lockprof run -- python bench/label_cost.py ctypes)")
    empty = 0 if what == "ctypes" else best(with_object(Empty()), n)
    if what == "nested":
        with lockprof.label(phase="warmup", tenant="a"):
            t = best(loops[what], n)
    else:
        t = best(loops[what], n)
    print(f"lockprof.label {what}: collector {'on' if lockprof.active() else 'off'}, "
          f"{t / n:.1f} ns per pair, empty context manager {empty / n:.1f} ns", file=sys.stderr)
    print(f"{(t - empty) / n:.1f}")


if __name__ == "__main__":
    main()
