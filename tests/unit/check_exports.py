#!/usr/bin/env python3
"""liblockprof.so exports exactly the functions src/collect/hooks.def lists as LP_HOOK (plus the lockprof_* API),
and nothing else: deleting a forwarder from preload.c, or exporting a function by accident, fails here.

Usage: check_exports.py LIBLOCKPROF HOOKS_DEF"""
import re
import subprocess
import sys


def main():
    lib, hooks_def = sys.argv[1:3]
    with open(hooks_def) as f:
        text = f.read()
    hooks = set(re.findall(r"^LP_HOOK(?:_VOID)?\(\s*[^,]+,\s*(\w+)\s*,", text, re.M))
    if not hooks:
        sys.exit(f"check_exports: no LP_HOOK lines in {hooks_def}")
    out = subprocess.run(["nm", "-D", "--defined-only", lib], stdout=subprocess.PIPE, text=True, check=True).stdout
    exported = {l.split()[-1].split("@")[0] for l in out.splitlines()
                if len(l.split()) == 3 and l.split()[1] in "TtWiu"}
    api = {s for s in exported if s.startswith("lockprof_")}
    missing, extra = sorted(hooks - exported), sorted(exported - hooks - api)
    for s in missing:
        print(f"hooks.def lists {s} but {lib} does not export it (a forwarder is missing in preload.c)")
    for s in extra:
        print(f"{lib} exports {s}, which hooks.def does not list")
    if missing or extra:
        sys.exit(1)
    print(f"{len(hooks)} hooks exported, as hooks.def lists; API: {' '.join(sorted(api)) or '-'}")


if __name__ == "__main__":
    main()
