#!/usr/bin/env python3
"""The collector's files call each other as a ladder, never in a circle (src/collect/*.c opening comments).

Reads the symbols each object file of liblockprof.so defines and uses (nm), builds the graph "file A calls a function
or uses data defined in file B", and fails on any cycle, printing it. Data symbols count too (a file that reads
another's variable depends on it). The one sanctioned upward edge is none: upper layers hand lower ones what they
need at start-up (function pointers), which nm does not see as a dependency.

Usage: check_layers.py OBJECT_DIR (the build directory's liblockprof.so.p)."""
import os
import subprocess
import sys


def symbols(path):
    out = subprocess.run(["nm", "--defined-only", path], stdout=subprocess.PIPE, text=True, check=True).stdout
    defined = {l.split()[-1] for l in out.splitlines() if len(l.split()) == 3 and l.split()[1] in "TDBRVW"}
    out = subprocess.run(["nm", "--undefined-only", path], stdout=subprocess.PIPE, text=True, check=True).stdout
    used = {l.split()[-1] for l in out.splitlines() if l.split()}
    return defined, used


def name(obj):
    base = os.path.basename(obj)
    return base.replace("src_collect_", "").replace("src_format_", "format/").replace("py_", "py/", 1) \
        .replace(".c.o", ".c")


def main():
    d = sys.argv[1]
    objs = sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".c.o"))
    if not objs:
        sys.exit(f"check_layers: no object files in {d}")
    defs, uses = {}, {}
    for o in objs:
        defs[name(o)], uses[name(o)] = symbols(o)
    owner = {s: f for f, ss in defs.items() for s in ss}
    edges = {f: sorted({owner[s] for s in uses[f] if s in owner and owner[s] != f}) for f in defs}
    # cycles: depth-first search with colours
    colour, stack, cycles = {}, [], []

    def visit(f):
        colour[f] = 1
        stack.append(f)
        for g in edges[f]:
            if colour.get(g) == 1:
                cycles.append(stack[stack.index(g):] + [g])
            elif not colour.get(g):
                visit(g)
        stack.pop()
        colour[f] = 2

    for f in sorted(edges):
        if not colour.get(f):
            visit(f)
    for f in sorted(edges):
        print(f"{f}: {' '.join(edges[f]) or '-'}")
    if cycles:
        for c in cycles:
            print("cycle: " + " -> ".join(c), file=sys.stderr)
        sys.exit(1)
    print(f"{len(edges)} files, no call cycle")


if __name__ == "__main__":
    main()
