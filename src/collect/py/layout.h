/* layout.h — everything lockprof knows about one CPython build, as data. versions.c is the one place a CPython
 * version is described: for 3.11 and 3.12 a table of offsets (checked against their headers by
 * tests/integration/test_offsets.py), from 3.13 on the positions of the fields lockprof reads in the interpreter's
 * own _Py_DebugOffsets (at &_PyRuntime), plus the few structural facts that table does not publish, the CPython
 * functions whose signatures were read for that version, and what its locks are built on. The rest of the
 * collector asks this structure, never the version number. Offsets are in bytes; -1 means "does not exist in
 * this version". */
#ifndef LP_PY_LAYOUT_H
#define LP_PY_LAYOUT_H

#include <stdint.h>

/* CPython functions lockprof replaces by a hook (py/hooks.c). A version lists those whose signature was read in
 * its sources: a hook replaces the function whole, and a wrong signature would corrupt the program. */
enum {
    LP_PYHOOK_MUTEX_LOCK = 1u << 0,  /* void PyMutex_Lock(PyMutex *m) */
    LP_PYHOOK_LOCK_TIMED = 1u << 1,  /* PyLockStatus _PyMutex_LockTimed(PyMutex *m, PyTime_t timeout, flags) */
    LP_PYHOOK_CS_BEGIN = 1u << 2,    /* void _PyCriticalSection_BeginSlow(PyCriticalSection *c, PyMutex *m) */
    LP_PYHOOK_CS2_BEGIN = 1u << 3,   /* void _PyCriticalSection2_BeginSlow(c, PyMutex *m1, PyMutex *m2, int) */
};

struct lp_pylayout {
    const char *source; /* "table" or "_Py_DebugOffsets" */
    const char *checked; /* the CPython sources the version entry was read from, e.g. "3.14.7" */
    uint32_t version_hex;
    int ft; /* free-threaded build */

    /* _PyRuntimeState */
    int32_t rt_size, rt_interpreters_head, rt_gil_struct /* 3.11: the one GIL lives in the runtime */;
    int32_t rt_finalizing; /* _finalizing: the PyThreadState running Py_Finalize (3.13+ here; -1 elsewhere) */
    /* PyInterpreterState */
    int32_t interp_size, interp_next, interp_threads_head, interp_ceval_gil /* pointer to the GIL in use */;
    /* PyThreadState */
    int32_t ts_next, ts_current_frame, ts_cframe, cframe_current_frame, ts_thread_id, ts_native_thread_id;
    int32_t ts_critical_section; /* free-threaded 3.13+ */
    /* _PyInterpreterFrame */
    int32_t fr_code, fr_previous, fr_instr, fr_owner, fr_is_entry /* 3.11 */;
    int32_t fr_tlbc_index;     /* 3.14t: which thread-local copy of the bytecode the frame runs */
    int fr_instr_is_prev;      /* 3.11/3.12 store prev_instr (the last executed unit) */
    int fr_owner_skip_min;     /* owner values >= this are shim/entry frames (3.12+), 0 = none */
    uint64_t fr_code_tag_mask; /* _PyStackRef tag bits (3.14+) */
    /* PyCodeObject (a PyVarObject: its ob_size, in code units, is at bytes_size) */
    int32_t co_filename, co_qualname, co_linetable, co_firstlineno, co_code_adaptive;
    int32_t co_tlbc;           /* 3.14t: _PyCodeArray *co_tlbc, the thread-local copies of the bytecode */
    /* objects */
    int32_t ob_type, ob_mutex /* free-threaded only */, tp_name, tp_flags;
    int32_t bytes_size, bytes_sval;
    int32_t str_length, str_state, str_ascii_size, str_compact_size;
    uint32_t str_kind_shift, str_compact_bit, str_ascii_bit;
    /* struct _gil_runtime_state: offsets of its fields */
    int32_t gil_enabled, gil_holder, gil_locked, gil_cond, gil_mutex, gil_switch_cond;
    /* threading lock objects: offset of the lock inside _thread.lock / _thread.RLock */
    int32_t thread_lock_field;
    int thread_lock_is_pymutex; /* _thread.lock (3.13.1+) and _thread.RLock (3.14+) hold a PyMutex there */
    int32_t rlock_owner;        /* 3.14+: _PyRecursiveMutex.thread, from the RLock's PyMutex; -1 without */

    /* what the version offers */
    int parking_lot;            /* PyMutex, critical sections and the parking lot exist (3.13+) */
    unsigned hooks;             /* LP_PYHOOK_* whose signatures were read for this version */
    const char *is_finalizing;  /* the exported function that says whether the runtime is finalizing */
};

#endif
