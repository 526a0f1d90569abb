/* probe-offsets.c — prints, from an interpreter's own headers, every offset and structural fact lockprof's CPython
 * version entries (src/collect/py/versions.c) hard-code or derive, and for 3.13+ where each field lockprof reads
 * sits in _Py_DebugOffsets. Built and run by tests/integration/test_offsets.py against each interpreter whose
 * internal headers are installed:
 *   cc -DPy_BUILD_CORE -I<include> -I<include>/internal probe-offsets.c && ./a.out
 * Output: one "name value" line per offset, in the vocabulary of LOCKPROF_PRINT_LAYOUT=1. */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "internal/pycore_frame.h"
#include "internal/pycore_interp.h"
#include "internal/pycore_runtime.h"
#if PY_VERSION_HEX >= 0x030E0000
#include "internal/pycore_debug_offsets.h"
#include "internal/pycore_lock.h"
#include "internal/pycore_interpframe.h"
#endif

#define P(name, expr) printf("%s %ld\n", name, (long)(expr))
/* position of a _Py_DebugOffsets field in 64-bit words */
#define W(name, field) P("dbg_" name, offsetof(_Py_DebugOffsets, field) / 8)

/* bit position of the lowest set bit of the PyASCIIObject state after setting one bit-field */
static int state_bit(int which)
{
    PyASCIIObject o;
    memset(&o, 0, sizeof o);
    if (which == 0)
        o.state.kind = 1;
    else if (which == 1)
        o.state.compact = 1;
    else
        o.state.ascii = 1;
    uint32_t w;
    memcpy(&w, &o.state, sizeof w);
    return __builtin_ctz(w);
}

int main(void)
{
    P("version_hex", PY_VERSION_HEX);
    P("rt_interpreters_head", offsetof(_PyRuntimeState, interpreters.head));
#if PY_VERSION_HEX >= 0x030D0000
    P("rt_finalizing", offsetof(_PyRuntimeState, _finalizing));
#else
    P("rt_finalizing", -1); /* not read before 3.13 (no critical sections to classify) */
#endif
    P("interp_next", offsetof(PyInterpreterState, next));
    P("interp_threads_head", offsetof(PyInterpreterState, threads.head));
#if PY_VERSION_HEX >= 0x030C0000
    P("interp_ceval_gil", offsetof(PyInterpreterState, ceval.gil));
    P("interp_gil_struct", offsetof(PyInterpreterState, _gil));
    P("rt_gil_struct", -1);
#else
    P("interp_ceval_gil", -1);
    P("interp_gil_struct", -1);
    P("rt_gil_struct", offsetof(_PyRuntimeState, ceval.gil));
#endif
    P("ts_next", offsetof(PyThreadState, next));
    P("ts_interp", offsetof(PyThreadState, interp));
#if PY_VERSION_HEX >= 0x030D0000
    P("ts_current_frame", offsetof(PyThreadState, current_frame));
    P("ts_cframe", -1);
    P("cframe_current_frame", -1);
#else
    P("ts_current_frame", -1);
    P("ts_cframe", offsetof(PyThreadState, cframe));
    P("cframe_current_frame", offsetof(_PyCFrame, current_frame));
#endif
    P("ts_thread_id", offsetof(PyThreadState, thread_id));
    P("ts_native_thread_id", offsetof(PyThreadState, native_thread_id));
#if PY_VERSION_HEX >= 0x030D0000
    P("fr_code", offsetof(_PyInterpreterFrame, f_executable));
#else
    P("fr_code", offsetof(_PyInterpreterFrame, f_code));
#endif
    P("fr_previous", offsetof(_PyInterpreterFrame, previous));
#if PY_VERSION_HEX >= 0x030D0000
    P("fr_instr", offsetof(_PyInterpreterFrame, instr_ptr));
#else
    P("fr_instr", offsetof(_PyInterpreterFrame, prev_instr));
#endif
    P("fr_owner", offsetof(_PyInterpreterFrame, owner));
#if PY_VERSION_HEX < 0x030C0000
    P("fr_is_entry", offsetof(_PyInterpreterFrame, is_entry));
#else
    P("fr_is_entry", -1);
#endif
    P("co_filename", offsetof(PyCodeObject, co_filename));
    P("co_qualname", offsetof(PyCodeObject, co_qualname));
    P("co_linetable", offsetof(PyCodeObject, co_linetable));
    P("co_firstlineno", offsetof(PyCodeObject, co_firstlineno));
    P("co_code_adaptive", offsetof(PyCodeObject, co_code_adaptive));
    P("ob_type", offsetof(PyObject, ob_type));
    P("tp_name", offsetof(PyTypeObject, tp_name));
    P("tp_flags", offsetof(PyTypeObject, tp_flags));
    P("bytes_ob_size", offsetof(PyVarObject, ob_size));
    P("bytes_ob_sval", offsetof(PyBytesObject, ob_sval));
    P("str_length", offsetof(PyASCIIObject, length));
    P("str_state", offsetof(PyASCIIObject, state));
    P("str_ascii_size", sizeof(PyASCIIObject));
    P("gil_locked", offsetof(struct _gil_runtime_state, locked));
    P("gil_holder", offsetof(struct _gil_runtime_state, last_holder));
    P("gil_cond", offsetof(struct _gil_runtime_state, cond));
    P("gil_mutex", offsetof(struct _gil_runtime_state, mutex));
    P("gil_switch_cond", offsetof(struct _gil_runtime_state, switch_cond));
    P("thread_lock_field", sizeof(PyObject)); /* lockobject/rlockobject: first field after PyObject_HEAD */
    P("str_kind_shift", state_bit(0));
    P("str_compact_bit", state_bit(1));
    P("str_ascii_bit", state_bit(2));
#ifdef Py_GIL_DISABLED
    P("ts_critical_section", offsetof(PyThreadState, critical_section));
    P("ob_mutex", offsetof(PyObject, ob_mutex));
#else
    P("ts_critical_section", -1);
    P("ob_mutex", -1);
#endif
#if PY_VERSION_HEX >= 0x030E0000
    P("rlock_owner", offsetof(_PyRecursiveMutex, thread));
#else
    P("rlock_owner", -1);
#endif
#if defined(Py_GIL_DISABLED) && PY_VERSION_HEX >= 0x030E0000
    P("fr_tlbc_index", offsetof(_PyInterpreterFrame, tlbc_index));
    P("co_tlbc", offsetof(PyCodeObject, co_tlbc));
#else
    P("fr_tlbc_index", -1);
    P("co_tlbc", -1);
#endif
#if PY_VERSION_HEX >= 0x030D0000
    W("rt_size", runtime_state.size);
    W("rt_interpreters_head", runtime_state.interpreters_head);
    W("rt_finalizing", runtime_state.finalizing);
    W("in_size", interpreter_state.size);
    W("in_next", interpreter_state.next);
    W("in_threads_head", interpreter_state.threads_head);
    W("in_ceval_gil", interpreter_state.ceval_gil);
    W("in_gil_runtime_state", interpreter_state.gil_runtime_state);
    W("in_gil_enabled", interpreter_state.gil_runtime_state_enabled);
    W("in_gil_locked", interpreter_state.gil_runtime_state_locked);
    W("in_gil_holder", interpreter_state.gil_runtime_state_holder);
    W("ts_size", thread_state.size);
    W("ts_next", thread_state.next);
    W("ts_current_frame", thread_state.current_frame);
    W("ts_thread_id", thread_state.thread_id);
    W("ts_native_thread_id", thread_state.native_thread_id);
    W("fr_size", interpreter_frame.size);
    W("fr_previous", interpreter_frame.previous);
    W("fr_executable", interpreter_frame.executable);
    W("fr_instr_ptr", interpreter_frame.instr_ptr);
    W("fr_owner", interpreter_frame.owner);
#if PY_VERSION_HEX >= 0x030E0000
    W("fr_tlbc_index", interpreter_frame.tlbc_index);
    W("co_tlbc", code_object.co_tlbc);
#endif
    W("co_size", code_object.size);
    W("co_filename", code_object.filename);
    W("co_qualname", code_object.qualname);
    W("co_linetable", code_object.linetable);
    W("co_firstlineno", code_object.firstlineno);
    W("co_code_adaptive", code_object.co_code_adaptive);
    W("ob_size", pyobject.size);
    W("ob_type", pyobject.ob_type);
    W("tp_size", type_object.size);
    W("tp_name", type_object.tp_name);
    W("tp_flags", type_object.tp_flags);
    W("bytes_ob_size", bytes_object.ob_size);
    W("bytes_ob_sval", bytes_object.ob_sval);
    W("str_state", unicode_object.state);
    W("str_length", unicode_object.length);
    W("str_asciiobject_size", unicode_object.asciiobject_size);
#endif
    return 0;
}
