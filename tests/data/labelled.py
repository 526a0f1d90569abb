"""Labels its threads (lockprof.label, from python/lockprof) and makes each label set contend on a threading.Lock:
three threads take one lock five times each and hold it 1 ms, so two of them wait while one holds it.

- request=/a: threads started inside `with label(request="/a")` (they inherit the block's labels);
- phase=inner,request=/b: a nested block adds phase and overrides request;
- job=deco: a decorated function;
- no labels: the same outside any block;
- request=/c is entered only by the main thread while threads started before it contend: labels follow the thread,
  so their waits carry no labels.

Usage: python labelled.py [DUMP_PATH]  — prints a JSON line: lockprof.active() and what lockprof.dump() returned.
"""
import json
import sys
import threading
import time

import lockprof

lock = threading.Lock()


def hold(go):
    go.wait()
    for _ in range(5):
        with lock:
            time.sleep(0.001)


def threads(n=3):
    go = threading.Event()
    ts = [threading.Thread(target=hold, args=(go,)) for _ in range(n)]
    for t in ts:
        t.start()
    return go, ts


def contend():
    go, ts = threads()
    go.set()
    for t in ts:
        t.join()


@lockprof.label(job="deco")
def decorated():
    contend()


with lockprof.label(request="/a"):
    contend()
    with lockprof.label(phase="inner", request="/b"):
        contend()
decorated()
contend()
go, ts = threads()  # started outside any block
with lockprof.label(request="/c"):
    go.set()
    for t in ts:
        t.join()
path = lockprof.dump(sys.argv[1]) if len(sys.argv) > 1 else None
print(json.dumps({"active": lockprof.active(), "dump": path}))
