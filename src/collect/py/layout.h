/* layout.h — everything lockprof knows about one CPython build, as data. An interpreter version is an entry in
 * versions.c (3.11, 3.12: offsets checked against their headers by tests/integration/test_offsets.py) or, from
 * 3.13 on, mostly read at run time from _Py_DebugOffsets at &_PyRuntime, plus the few structural facts that
 * table does not publish. Offsets are in bytes; -1 means "does not exist in this version". */
#ifndef LP_PY_LAYOUT_H
#define LP_PY_LAYOUT_H

#include <stdint.h>

struct lp_pylayout {
    const char *source; /* "table" or "_Py_DebugOffsets" */
    uint32_t version_hex;
    int ft; /* free-threaded build */

    /* _PyRuntimeState */
    int32_t rt_size, rt_interpreters_head, rt_gil_struct /* 3.11: the one GIL lives in the runtime */;
    /* PyInterpreterState */
    int32_t interp_size, interp_next, interp_threads_head, interp_ceval_gil /* pointer to the GIL in use */;
    /* PyThreadState */
    int32_t ts_next, ts_current_frame, ts_cframe, cframe_current_frame, ts_thread_id, ts_native_thread_id;
    int32_t ts_critical_section; /* free-threaded 3.13+ */
    /* _PyInterpreterFrame */
    int32_t fr_code, fr_previous, fr_instr, fr_owner, fr_is_entry /* 3.11 */;
    int fr_instr_is_prev;      /* 3.11/3.12 store prev_instr (the last executed unit) */
    int fr_owner_skip_min;     /* owner values >= this are shim/entry frames (3.12+), 0 = none */
    uint64_t fr_code_tag_mask; /* _PyStackRef tag bits (3.14+) */
    /* PyCodeObject */
    int32_t co_filename, co_qualname, co_linetable, co_firstlineno, co_code_adaptive;
    /* objects */
    int32_t ob_type, ob_mutex /* free-threaded only */, tp_name, tp_flags;
    int32_t bytes_size, bytes_sval;
    int32_t str_length, str_state, str_ascii_size, str_compact_size;
    uint32_t str_kind_shift, str_compact_bit, str_ascii_bit;
    /* struct _gil_runtime_state: offsets of its fields */
    int32_t gil_enabled, gil_holder, gil_locked, gil_cond, gil_mutex, gil_switch_cond;
    /* threading lock objects: offset of the lock inside _thread.lock / _thread.RLock */
    int32_t thread_lock_field;
    int thread_lock_is_pymutex; /* 3.13.1+: _thread.lock holds a PyMutex (else a PyThread_type_lock) */
};

#endif
