"""lockprof: a lock-contention profiler for Python and native programs. This is its Python side.

    import lockprof

    with lockprof.label(request="/api/items", phase="warmup"):   # also a decorator: @lockprof.label(job="sync")
        handle()                                                 # every lock wait of this thread carries the labels

    lockprof.active()         # True when the collector (liblockprof.so) records in this process
    lockprof.dump()           # writes a profile now; returns its path
    lockprof.dump("x.prof")   # ... to x.prof

The profiling itself is done by the collector, preloaded into the program: `lockprof run -- python app.py` (the
`lockprof` command this package installs). Without the collector, label() does nothing (no C call at all: a check
of one global), active() is False and dump() raises RuntimeError.

Labels follow the thread, as Go's pprof labels follow the goroutine: a block's labels hold for the thread that
entered it, nested blocks add to and override the outer ones, and a threading.Thread started inside a block starts
with the labels in effect at start() (then keeps them for its whole life: a pool thread keeps the labels of the
block that started it). Other threads are not affected. Labels are per thread, not per asyncio task: a block that
awaits lends its labels to the tasks that run in the meantime. Keys are strings without blanks, control
characters, '=', ',' or ':' (keyword arguments always qualify); values are strings.
"""
import functools
import inspect
import os
import re
import threading

from . import _native

__version__ = "0.1.0"
__all__ = ["label", "dump", "active", "executable", "library"]

_MAX_BYTES = 4096  # LP_LABELS_MAX_BYTES (src/format/lp_format.h)
_BAD_KEY = re.compile(r"[\x00-\x20\x7f=,:]")

_set_labels = _native.set_labels  # None without the collector
_MERGE_CACHE = 64  # per block: merged sets of the inner blocks entered in it, by their own canonical bytes
# .stack: [[owner label, merged labels, their canonical bytes, merge cache or None]], innermost last
_local = threading.local()
_inherit_lock = threading.Lock()
_inherit_installed = False


def active():
    """True when the collector is loaded in this process and recording."""
    return _native.active is not None and bool(_native.active())


def executable():
    """The path of the `lockprof` program bundled in this package."""
    return _native.EXECUTABLE


def library():
    """The path of the collector (liblockprof.so) bundled in this package."""
    return _native.LIBRARY


def dump(path=None):
    """Writes a profile of this process now and returns its path.

    Without `path`, to the process's configured output (`lockprof run -o`, LOCKPROF_OUTPUT), replacing its own
    earlier profile there, as SIGUSR2 does; otherwise exactly to `path`, replacing any file there. Raises
    RuntimeError when the collector is not loaded, OSError when the file cannot be written.
    """
    if _native.dump is None:
        raise RuntimeError("lockprof.dump(): the collector is not loaded in this process "
                           "(run the program under `lockprof run -- ...`)")
    import ctypes  # only here: the label path must not pay for it

    out = ctypes.create_string_buffer(4200)
    target = None if path is None else os.fsencode(os.fspath(path))
    rc = _native.dump(target, out, len(out))
    if rc:
        raise OSError(rc, f"lockprof.dump(): {os.strerror(rc)}", None if path is None else os.fspath(path))
    return os.fsdecode(out.value)


def _canonical(labels):
    """key NUL value NUL ..., keys sorted (code point order is UTF-8 byte order): lockprof_set_labels' form."""
    data = b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in sorted(labels.items()))
    if len(data) > _MAX_BYTES:
        raise ValueError(f"lockprof.label: the labels take {len(data)} bytes, more than {_MAX_BYTES}")
    return data


def _stack():
    try:
        return _local.stack
    except AttributeError:
        stack = _local.stack = []
        return stack


def _apply(stack):
    data = stack[-1][2] if stack else b""
    _set_labels(data, len(data))


class label:
    """Labels every lock wait this thread records while the block (or the decorated function) runs.

    `with lockprof.label(request="/api/items"):` or `@lockprof.label(job="sync")`. Nested blocks add to and
    override the outer labels. One label object may be entered several times, in several threads at once.
    """

    __slots__ = ("_labels", "_data")

    def __init__(self, **labels):
        # every check is cheap (a keyword is always an identifier, and identifiers have none of the bad bytes); the
        # canonical bytes are made at the first enter with the collector
        chars = 0
        for k, v in labels.items():
            if type(v) is not str:
                raise TypeError(f"lockprof.label: the value of {k!r} is a {type(v).__name__}, not a str")
            if not k.isidentifier() and (not k or _BAD_KEY.search(k)):
                raise ValueError(f"lockprof.label: bad key {k!r} (no blanks, control characters, '=', ',' or ':')")
            if "\0" in v:
                raise ValueError(f"lockprof.label: the value of {k!r} contains a NUL character")
            if not v.isascii():
                try:
                    v.encode()
                except UnicodeEncodeError as e:
                    raise ValueError(f"lockprof.label: the value of {k!r}: {e}") from None
            chars += len(k) + len(v) + 2
        if chars * 4 > _MAX_BYTES:  # (a character takes at most 4 bytes of UTF-8)
            _canonical(labels)
        self._labels = labels
        self._data = None

    def __repr__(self):
        return "lockprof.label(" + ", ".join(f"{k}={v!r}" for k, v in self._labels.items()) + ")"

    def __enter__(self):
        if _set_labels is None:
            return self
        if not _inherit_installed:
            _install_inheritance()
        data = self._data
        if data is None:
            data = self._data = _canonical(self._labels)
        try:
            stack = _local.stack
        except AttributeError:
            stack = _local.stack = []
        if stack:
            outer = stack[-1]
            cache = outer[3]
            if cache is None:
                cache = outer[3] = {}
            merged = cache.get(data)
            if merged is None:
                labels = {**outer[1], **self._labels}
                merged = (labels, _canonical(labels))
                if len(cache) < _MERGE_CACHE:
                    cache[data] = merged
            stack.append([self, merged[0], merged[1], None])
            data = merged[1]
        else:
            stack.append([self, self._labels, data, None])
        _set_labels(data, len(data))  # 0, or ENOMEM/EAGAIN: the thread keeps its labels, nothing to raise
        return self

    def __exit__(self, *exc):
        if _set_labels is None:
            return False
        stack = _stack()
        if stack and stack[-1][0] is self:
            del stack[-1]
        else:
            for i in range(len(stack) - 1, -1, -1):  # this object's innermost entry (not the last: see the top)
                if stack[i][0] is self:
                    del stack[i]
                    break
        data = stack[-1][2] if stack else b""
        _set_labels(data, len(data))
        return False

    def __call__(self, fn):
        if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
            raise TypeError("lockprof.label cannot decorate a coroutine function: labels follow threads, "
                            "not asyncio tasks")

        @functools.wraps(fn)
        def labelled(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)
        return labelled


def _install_inheritance():
    """Makes a thread started inside a label block start with that block's labels (once, with the collector)."""
    global _inherit_installed
    with _inherit_lock:
        if _inherit_installed:
            return
        thread = threading.Thread
        start, bootstrap_inner = thread.start, thread._bootstrap_inner

        @functools.wraps(start)
        def lockprof_start(self, *args, **kwargs):
            stack = getattr(_local, "stack", None)
            if stack:
                self._lockprof_labels = stack[-1]
            return start(self, *args, **kwargs)

        @functools.wraps(bootstrap_inner)
        def lockprof_bootstrap_inner(self):
            inherited = self.__dict__.get("_lockprof_labels")
            if inherited is not None:
                _local.stack = [[None, inherited[1], inherited[2], None]]  # a base entry no block exits
                _apply(_local.stack)
            return bootstrap_inner(self)

        thread.start = lockprof_start
        thread._bootstrap_inner = lockprof_bootstrap_inner
        _inherit_installed = True
