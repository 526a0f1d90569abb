/* versions.c — the CPython layouts lockprof supports, as data (see layout.h).
 *
 * 3.11 and 3.12 have no _Py_DebugOffsets: their offsets are below, taken from the headers of 3.11.7 and 3.12.1
 * (identical in 3.11.2/3.12.5) and re-checked against every installed interpreter's headers by
 * tests/integration/test_offsets.py (scripts/probe-offsets.c). 3.13 and later publish most offsets in
 * _Py_DebugOffsets (Include/internal/pycore_runtime.h in 3.13, pycore_debug_offsets.h in 3.14); the rest are
 * structural facts of the minor version (last block below). To support a new version: add its structural
 * block; if it has no debug offsets, a full table. */
#include <string.h>

#include "versions.h"

/* Facts shared by 3.11-3.14 on x86-64 (Include/internal/pycore_gil.h: field order is the same in every
 * version; free-threaded builds prepend `int enabled`). */
#define GIL_GILBUILD .gil_enabled = -1, .gil_holder = 8, .gil_locked = 16, .gil_cond = 32, .gil_mutex = 80, \
                     .gil_switch_cond = 120
#define GIL_FT .gil_enabled = 0, .gil_holder = 16, .gil_locked = 24, .gil_cond = 40, .gil_mutex = 88, \
               .gil_switch_cond = 128
/* PyUnicode state bit-field (Include/cpython/unicodeobject.h, 3.11-3.13): interned:2 kind:3 compact:1 ascii:1 */
#define STR_STATE_311 .str_kind_shift = 2, .str_compact_bit = 5, .str_ascii_bit = 6

static const struct lp_pylayout py311 = {
    /* Include/internal/pycore_runtime.h, pycore_interp.h, pycore_frame.h, cpython/pystate.h, cpython/code.h
     * of 3.11.7 */
    .source = "table", .version_hex = 0x030B0000, .ft = 0,
    .rt_size = -1, .rt_interpreters_head = 40, .rt_gil_struct = 360,
    .interp_size = -1, .interp_next = 0, .interp_threads_head = 16, .interp_ceval_gil = -1,
    .ts_next = 8, .ts_current_frame = -1, .ts_cframe = 56, .cframe_current_frame = 8,
    .ts_thread_id = 152, .ts_native_thread_id = 160, .ts_critical_section = -1,
    .fr_code = 32, .fr_previous = 48, .fr_instr = 56, .fr_owner = 69, .fr_is_entry = 68,
    .fr_instr_is_prev = 1, .fr_owner_skip_min = 0, .fr_code_tag_mask = 0,
    .co_filename = 112, .co_qualname = 128, .co_linetable = 136, .co_firstlineno = 72, .co_code_adaptive = 184,
    .ob_type = 8, .ob_mutex = -1, .tp_name = 24, .tp_flags = 168,
    .bytes_size = 16, .bytes_sval = 32,
    .str_length = 16, .str_state = 32, .str_ascii_size = 48, .str_compact_size = 72, STR_STATE_311,
    GIL_GILBUILD,
    .thread_lock_field = 16, .thread_lock_is_pymutex = 0,
};

static const struct lp_pylayout py312 = {
    /* the same headers of 3.12.1; the GIL moved into the interpreter (ceval.gil is a pointer) and frames gained
     * the FRAME_OWNED_BY_CSTACK (3) entry shim */
    .source = "table", .version_hex = 0x030C0000, .ft = 0,
    .rt_size = -1, .rt_interpreters_head = 40, .rt_gil_struct = -1,
    .interp_size = -1, .interp_next = 0, .interp_threads_head = 72, .interp_ceval_gil = 384,
    .ts_next = 8, .ts_current_frame = -1, .ts_cframe = 56, .cframe_current_frame = 0,
    .ts_thread_id = 136, .ts_native_thread_id = 144, .ts_critical_section = -1,
    .fr_code = 0, .fr_previous = 8, .fr_instr = 56, .fr_owner = 70, .fr_is_entry = -1,
    .fr_instr_is_prev = 1, .fr_owner_skip_min = 3, .fr_code_tag_mask = 0,
    .co_filename = 112, .co_qualname = 128, .co_linetable = 136, .co_firstlineno = 68, .co_code_adaptive = 192,
    .ob_type = 8, .ob_mutex = -1, .tp_name = 24, .tp_flags = 168,
    .bytes_size = 16, .bytes_sval = 32,
    .str_length = 16, .str_state = 32, .str_ascii_size = 40, .str_compact_size = 56, STR_STATE_311,
    GIL_GILBUILD,
    .thread_lock_field = 16, .thread_lock_is_pymutex = 0,
};

/* Structural facts of 3.13+ minor versions that _Py_DebugOffsets does not publish. */
struct structural {
    uint32_t minor;
    int fr_owner_skip_min;
    int32_t ts_critical_section_ft; /* cpython/pystate.h: uintptr_t critical_section (3.13.5: offset 176) */
    int32_t ob_mutex_ft;            /* Include/object.h: ob_mutex at 10 in the free-threaded header */
    uint64_t fr_code_tag_mask;
    uint32_t str_kind_shift, str_compact_bit, str_ascii_bit, str_kind_shift_ft, str_compact_bit_ft,
        str_ascii_bit_ft;
};

static const struct structural structurals[] = {
    /* 3.13: pycore_frame.h FRAME_OWNED_BY_CSTACK = 3; f_executable is a plain PyObject*;
     * _thread.lock holds a PyMutex from 3.13.1 (gh-117721), a PyThread lock in 3.13.0. */
    {13, 3, 176, 10, 0, 2, 5, 6, 2, 5, 6},
    /* 3.14: pycore_interpframe_structs.h FRAME_OWNED_BY_INTERPRETER = 3, CSTACK = 4 (skip >= 3);
     * f_executable is a _PyStackRef (tag bits 3 / 1); 3.14t unicode state: kind 0x700, compact 0x800,
     * ascii 0x1000. Line numbers in 3.14t need thread-local bytecode: see frames.c. */
    {14, 3, 176, 10, 7, 2, 5, 6, 8, 11, 12},
};

/* _Py_DebugOffsets as laid out in 3.13 (the prefix we read; 3.14 inserts fields, handled below). */
struct dbg313 {
    char cookie[8];
    uint64_t version, free_threaded;
    struct { uint64_t size, finalizing, interpreters_head; } rt;
    struct { uint64_t size, id, next, threads_head, gc, imports_modules, sysdict, builtins, ceval_gil,
             gil_runtime_state, gil_runtime_state_enabled, gil_runtime_state_locked, gil_runtime_state_holder; } in;
    struct { uint64_t size, prev, next, interp, current_frame, thread_id, native_thread_id, datastack_chunk,
             status; } ts;
    struct { uint64_t size, previous, executable, instr_ptr, localsplus, owner; } fr;
    struct { uint64_t size, filename, name, qualname, linetable, firstlineno, argcount, localsplusnames,
             localspluskinds, co_code_adaptive; } co;
    struct { uint64_t size, ob_type; } ob;
    struct { uint64_t size, tp_name, tp_repr, tp_flags; } tp;
    struct { uint64_t size, ob_item, ob_size; } tuple, list;
    struct { uint64_t size, ma_keys, ma_values; } dict;
    struct { uint64_t size, ob_fval; } flt;
    struct { uint64_t size, lv_tag, ob_digit; } lng;
    struct { uint64_t size, ob_size, ob_sval; } bytes;
    struct { uint64_t size, state, length, asciiobject_size; } str;
};

static int fits(uint64_t v) { return v < (1u << 24); }

static int from_debug_offsets(const void *runtime, uint32_t version_hex, struct lp_pylayout *out)
{
    const struct dbg313 *d = runtime;
    if (memcmp(d->cookie, "xdebugpy", 8) != 0)
        return -1;
    if ((d->version >> 16) != (version_hex >> 16))
        return -1;
    uint32_t minor = (version_hex >> 16) & 0xff;
    const struct structural *s = NULL;
    for (size_t i = 0; i < sizeof structurals / sizeof structurals[0]; i++)
        if (structurals[i].minor == minor)
            s = &structurals[i];
    if (!s || minor != 13) /* 3.14 reorders _Py_DebugOffsets (threads_main etc.): needs its own reader */
        return -1;
    int ft = d->free_threaded == 1;
    uint64_t vals[] = {d->rt.size, d->rt.interpreters_head, d->in.next, d->in.threads_head, d->in.ceval_gil,
                       d->ts.next, d->ts.current_frame, d->ts.thread_id, d->ts.native_thread_id, d->fr.previous,
                       d->fr.executable, d->fr.instr_ptr, d->fr.owner, d->co.filename, d->co.qualname,
                       d->co.linetable, d->co.firstlineno, d->co.co_code_adaptive, d->ob.ob_type, d->tp.tp_name,
                       d->tp.tp_flags, d->bytes.ob_size, d->bytes.ob_sval, d->str.state, d->str.length,
                       d->str.asciiobject_size};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
        if (!fits(vals[i]))
            return -1;
    struct lp_pylayout l = {
        .source = "_Py_DebugOffsets", .version_hex = version_hex, .ft = ft,
        .rt_size = (int32_t)d->rt.size, .rt_interpreters_head = (int32_t)d->rt.interpreters_head,
        .rt_gil_struct = -1,
        .interp_size = (int32_t)d->in.size, .interp_next = (int32_t)d->in.next,
        .interp_threads_head = (int32_t)d->in.threads_head, .interp_ceval_gil = (int32_t)d->in.ceval_gil,
        .ts_next = (int32_t)d->ts.next, .ts_current_frame = (int32_t)d->ts.current_frame, .ts_cframe = -1,
        .cframe_current_frame = -1, .ts_thread_id = (int32_t)d->ts.thread_id,
        .ts_native_thread_id = (int32_t)d->ts.native_thread_id,
        .ts_critical_section = ft ? s->ts_critical_section_ft : -1,
        .fr_code = (int32_t)d->fr.executable, .fr_previous = (int32_t)d->fr.previous,
        .fr_instr = (int32_t)d->fr.instr_ptr, .fr_owner = (int32_t)d->fr.owner, .fr_is_entry = -1,
        .fr_instr_is_prev = 0, .fr_owner_skip_min = s->fr_owner_skip_min, .fr_code_tag_mask = s->fr_code_tag_mask,
        .co_filename = (int32_t)d->co.filename, .co_qualname = (int32_t)d->co.qualname,
        .co_linetable = (int32_t)d->co.linetable, .co_firstlineno = (int32_t)d->co.firstlineno,
        .co_code_adaptive = (int32_t)d->co.co_code_adaptive,
        .ob_type = (int32_t)d->ob.ob_type, .ob_mutex = ft ? s->ob_mutex_ft : -1,
        .tp_name = (int32_t)d->tp.tp_name, .tp_flags = (int32_t)d->tp.tp_flags,
        .bytes_size = (int32_t)d->bytes.ob_size, .bytes_sval = (int32_t)d->bytes.ob_sval,
        .str_length = (int32_t)d->str.length, .str_state = (int32_t)d->str.state,
        .str_ascii_size = (int32_t)d->str.asciiobject_size,
        .str_compact_size = (int32_t)d->str.asciiobject_size + 16,
        .str_kind_shift = ft ? s->str_kind_shift_ft : s->str_kind_shift,
        .str_compact_bit = ft ? s->str_compact_bit_ft : s->str_compact_bit,
        .str_ascii_bit = ft ? s->str_ascii_bit_ft : s->str_ascii_bit,
        /* gil_runtime_state_locked/holder are relative to PyInterpreterState; make them relative to the
         * GIL struct (the interpreter's own _gil starts at gil_runtime_state). */
        .gil_enabled = ft ? (int32_t)d->in.gil_runtime_state_enabled : -1,
        .gil_holder = (int32_t)(d->in.gil_runtime_state_holder - d->in.gil_runtime_state),
        .gil_locked = (int32_t)(d->in.gil_runtime_state_locked - d->in.gil_runtime_state),
        /* cond follows locked (int, padded to 8) and switch_number (unsigned long): pycore_gil.h */
        .thread_lock_field = (int32_t)d->ob.size,
        .thread_lock_is_pymutex = version_hex >= 0x030D0100, /* 3.13.0 still used a PyThread lock */
    };
    l.gil_cond = l.gil_locked + 16;
    l.gil_mutex = l.gil_cond + 48;
    l.gil_switch_cond = l.gil_mutex + 40;
    *out = l;
    return 0;
}

int lp_py_layout_for(uint32_t version_hex, const void *runtime, struct lp_pylayout *out)
{
    uint32_t mm = version_hex >> 16;
    if (mm == 0x030B) {
        *out = py311;
        out->version_hex = version_hex;
        return 0;
    }
    if (mm == 0x030C) {
        *out = py312;
        out->version_hex = version_hex;
        return 0;
    }
    if (mm >= 0x030D)
        return from_debug_offsets(runtime, version_hex, out);
    return -1;
}
