/* probe-offsets.c — prints, from an interpreter's own headers, every offset lockprof's CPython tables
 * (src/collect/py/versions.c) hard-code for versions without _Py_DebugOffsets. Built and run by
 * tests/integration/test_offsets.py against each interpreter whose internal headers are installed:
 *   cc -DPy_BUILD_CORE -I<include> -I<include>/internal probe-offsets.c && ./a.out
 * Output: one "name value" line per offset. */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdio.h>

#include "internal/pycore_frame.h"
#include "internal/pycore_interp.h"
#include "internal/pycore_runtime.h"

#define P(name, expr) printf("%s %ld\n", name, (long)(expr))

int main(void)
{
    P("version_hex", PY_VERSION_HEX);
    P("rt_interpreters_head", offsetof(_PyRuntimeState, interpreters.head));
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
    return 0;
}
