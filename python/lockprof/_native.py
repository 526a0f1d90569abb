"""The collector's C interface (src/collect/api.h), looked up once in this process.

liblockprof.so, when it is preloaded (`lockprof run`, or LD_PRELOAD), exports lockprof_active, lockprof_set_labels
and lockprof_dump; they are found in the process's global symbol table (ctypes.CDLL(None): dlsym(RTLD_DEFAULT)),
so nothing is loaded and nothing is called when the collector is absent. Also where the package keeps its bundled
programs (the `lockprof` CLI and the collector, in _bin/ next to this file).
"""
import ctypes
import os

BIN_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_bin")
EXECUTABLE = os.path.join(BIN_DIR, "lockprof")
LIBRARY = os.path.join(BIN_DIR, "liblockprof.so")


def _bind():
    try:
        process = ctypes.CDLL(None)
        active = process.lockprof_active
        set_labels = process.lockprof_set_labels
        dump = process.lockprof_dump
    except (OSError, AttributeError):
        return None, None, None
    active.argtypes = ()
    active.restype = ctypes.c_int
    set_labels.argtypes = (ctypes.c_char_p, ctypes.c_size_t)
    set_labels.restype = ctypes.c_int
    dump.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t)
    dump.restype = ctypes.c_int
    return active, set_labels, dump


# None when the collector is not loaded in this process.
active, set_labels, dump = _bind()
