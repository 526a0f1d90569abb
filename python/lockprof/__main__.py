"""`python -m lockprof` and the `lockprof` console command: run the lockprof CLI bundled in this package.

The process is replaced by the native program (os.execv), so its exit status, its signals and its standard streams
are the CLI's own; `lockprof run` finds the collector bundled next to it.
"""
import os
import sys

from ._native import EXECUTABLE


def main():
    if not os.access(EXECUTABLE, os.X_OK):
        sys.stderr.write(f"lockprof: the bundled lockprof program is missing ({EXECUTABLE}): "
                         "reinstall the package (pip install --no-build-isolation .)\n")
        return 2
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(EXECUTABLE, ["lockprof", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
