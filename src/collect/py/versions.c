/* versions.c — the CPython versions lockprof supports, as data: one entry per minor version (see layout.h).
 *
 * 3.11 and 3.12 have no _Py_DebugOffsets: their entries hold every offset, read from the headers of 3.11.7 and
 * 3.12.1 (identical in 3.11.2 and 3.12.5). From 3.13 on, the interpreter publishes most offsets itself in
 * _Py_DebugOffsets, the first member of _PyRuntime: an entry says where each field lockprof reads sits in that
 * table (its position changes between minor versions: 3.14 inserted fields), adds the structural facts the table
 * does not publish, and the values that must hold for the reading to be trusted (a build whose table disagrees is
 * refused). tests/integration/test_offsets.py compiles scripts/probe-offsets.c against each installed
 * interpreter's headers and compares everything here with what the headers say.
 *
 * To support a new minor version: read its Include/internal/pycore_debug_offsets.h (field order), the headers
 * behind the structural facts, and the CPython functions py/hooks.c replaces (Python/lock.c,
 * Python/critical_section.c); add one entry below. Nothing else in the collector compares version numbers. */
#include <string.h>

#include "versions.h"

/* Facts shared by 3.11-3.14 on x86-64 (Include/internal/pycore_gil.h: field order is the same in every
 * version; free-threaded builds prepend `int enabled`). */
#define GIL_GILBUILD .gil_enabled = -1, .gil_holder = 8, .gil_locked = 16, .gil_cond = 32, .gil_mutex = 80, \
                     .gil_switch_cond = 120
/* PyUnicode state bit-field (Include/cpython/unicodeobject.h, 3.11-3.13): interned:2 kind:3 compact:1 ascii:1 */
#define STR_STATE_311 .str_kind_shift = 2, .str_compact_bit = 5, .str_ascii_bit = 6
#define NO_PARKING_LOT .parking_lot = 0, .hooks = 0, .is_finalizing = "_Py_IsFinalizing", .ts_critical_section = -1, \
                       .fr_tlbc_index = -1, .co_tlbc = -1, .ob_mutex = -1, .thread_lock_is_pymutex = 0, \
                       .rlock_owner = -1

static const struct lp_pylayout py311 = {
    /* Include/internal/pycore_runtime.h, pycore_interp.h, pycore_frame.h, cpython/pystate.h, cpython/code.h
     * of 3.11.7 */
    .source = "table", .checked = "3.11.7", .ft = 0,
    .rt_size = -1, .rt_interpreters_head = 40, .rt_gil_struct = 360, .rt_finalizing = -1,
    .interp_size = -1, .interp_next = 0, .interp_threads_head = 16, .interp_ceval_gil = -1,
    .ts_next = 8, .ts_current_frame = -1, .ts_cframe = 56, .cframe_current_frame = 8,
    .ts_thread_id = 152, .ts_native_thread_id = 160,
    .fr_code = 32, .fr_previous = 48, .fr_instr = 56, .fr_owner = 69, .fr_is_entry = 68,
    .fr_instr_is_prev = 1, .fr_owner_skip_min = 0, .fr_code_tag_mask = 0,
    .co_filename = 112, .co_qualname = 128, .co_linetable = 136, .co_firstlineno = 72, .co_code_adaptive = 184,
    .ob_type = 8, .tp_name = 24, .tp_flags = 168,
    .bytes_size = 16, .bytes_sval = 32,
    .str_length = 16, .str_state = 32, .str_ascii_size = 48, .str_compact_size = 72, STR_STATE_311,
    GIL_GILBUILD,
    .thread_lock_field = 16, NO_PARKING_LOT,
};

static const struct lp_pylayout py312 = {
    /* the same headers of 3.12.1; the GIL moved into the interpreter (ceval.gil is a pointer) and frames gained
     * the FRAME_OWNED_BY_CSTACK (3) entry shim */
    .source = "table", .checked = "3.12.1", .ft = 0,
    .rt_size = -1, .rt_interpreters_head = 40, .rt_gil_struct = -1, .rt_finalizing = -1,
    .interp_size = -1, .interp_next = 0, .interp_threads_head = 72, .interp_ceval_gil = 384,
    .ts_next = 8, .ts_current_frame = -1, .ts_cframe = 56, .cframe_current_frame = 0,
    .ts_thread_id = 136, .ts_native_thread_id = 144,
    .fr_code = 0, .fr_previous = 8, .fr_instr = 56, .fr_owner = 70, .fr_is_entry = -1,
    .fr_instr_is_prev = 1, .fr_owner_skip_min = 3, .fr_code_tag_mask = 0,
    .co_filename = 112, .co_qualname = 128, .co_linetable = 136, .co_firstlineno = 68, .co_code_adaptive = 192,
    .ob_type = 8, .tp_name = 24, .tp_flags = 168,
    .bytes_size = 16, .bytes_sval = 32,
    .str_length = 16, .str_state = 32, .str_ascii_size = 40, .str_compact_size = 56, STR_STATE_311,
    GIL_GILBUILD,
    .thread_lock_field = 16, NO_PARKING_LOT,
};

/* The _Py_DebugOffsets fields lockprof reads. */
enum dbg_field {
    D_RT_SIZE, D_RT_FINALIZING, D_RT_INTERPRETERS_HEAD,
    D_IN_SIZE, D_IN_NEXT, D_IN_THREADS_HEAD, D_IN_CEVAL_GIL, D_IN_GIL_RUNTIME_STATE, D_IN_GIL_ENABLED,
    D_IN_GIL_LOCKED, D_IN_GIL_HOLDER,
    D_TS_SIZE, D_TS_NEXT, D_TS_CURRENT_FRAME, D_TS_THREAD_ID, D_TS_NATIVE_THREAD_ID,
    D_FR_SIZE, D_FR_PREVIOUS, D_FR_EXECUTABLE, D_FR_INSTR_PTR, D_FR_OWNER, D_FR_TLBC_INDEX,
    D_CO_SIZE, D_CO_FILENAME, D_CO_QUALNAME, D_CO_LINETABLE, D_CO_FIRSTLINENO, D_CO_CODE_ADAPTIVE, D_CO_TLBC,
    D_OB_SIZE, D_OB_TYPE, D_TP_SIZE, D_TP_NAME, D_TP_FLAGS,
    D_BYTES_OB_SIZE, D_BYTES_OB_SVAL, D_STR_STATE, D_STR_LENGTH, D_STR_ASCII_SIZE,
    D_N
};

/* Names as printed by LOCKPROF_PRINT_LAYOUT and scripts/probe-offsets.c ("dbg_<name> <word index>"). */
static const char *const dbg_names[D_N] = {
    "rt_size", "rt_finalizing", "rt_interpreters_head",
    "in_size", "in_next", "in_threads_head", "in_ceval_gil", "in_gil_runtime_state", "in_gil_enabled",
    "in_gil_locked", "in_gil_holder",
    "ts_size", "ts_next", "ts_current_frame", "ts_thread_id", "ts_native_thread_id",
    "fr_size", "fr_previous", "fr_executable", "fr_instr_ptr", "fr_owner", "fr_tlbc_index",
    "co_size", "co_filename", "co_qualname", "co_linetable", "co_firstlineno", "co_code_adaptive", "co_tlbc",
    "ob_size", "ob_type", "tp_size", "tp_name", "tp_flags",
    "bytes_ob_size", "bytes_ob_sval", "str_state", "str_length", "str_asciiobject_size",
};

/* A minor version from 3.13 on. Arrays of two are [GIL build, free-threaded build]. */
struct dbg_version {
    unsigned minor;
    const char *checked;
    /* position of each field in _Py_DebugOffsets, in 64-bit words from its start (the cookie is word 0, the
     * version 1, free_threaded 2); 0 = not published by this version */
    uint8_t word[D_N];
    /* not published: */
    int fr_owner_skip_min;          /* pycore_frame.h / pycore_interpframe_structs.h: enum _frameowner */
    int32_t ts_critical_section_ft; /* cpython/pystate.h: uintptr_t critical_section */
    int32_t ob_mutex_ft;            /* Include/object.h: the free-threaded header's ob_mutex */
    uint64_t fr_code_tag_mask;      /* f_executable is a _PyStackRef from 3.14 (pycore_stackref.h) */
    uint8_t str_kind_shift[2], str_compact_bit[2], str_ascii_bit[2]; /* cpython/unicodeobject.h state */
    /* must hold for the table to be trusted */
    uint64_t fr_size, str_ascii_size[2];
    uint32_t thread_lock_pymutex_from; /* first release whose _thread.lock holds a PyMutex (Modules/_threadmodule.c) */
    int32_t rlock_owner;               /* _thread.RLock's _PyRecursiveMutex.thread, from its PyMutex; -1: no such */
    unsigned hooks;
};

static const struct dbg_version dbg_versions[] = {
    {
        /* Include/internal/pycore_runtime.h (_Py_DebugOffsets) and pycore_frame.h of 3.13.5: the entry shim
         * frame is FRAME_OWNED_BY_CSTACK = 3; f_executable is a plain PyObject*; _thread.lock holds a PyMutex
         * from 3.13.1 (gh-117721), a PyThread lock in 3.13.0; _thread.RLock a PyThread lock. Python/lock.c and
         * Python/critical_section.c: the four hooked signatures. */
        .minor = 13, .checked = "3.13.5",
        .word = {
            [D_RT_SIZE] = 3, [D_RT_FINALIZING] = 4, [D_RT_INTERPRETERS_HEAD] = 5,
            [D_IN_SIZE] = 6, [D_IN_NEXT] = 8, [D_IN_THREADS_HEAD] = 9, [D_IN_CEVAL_GIL] = 14,
            [D_IN_GIL_RUNTIME_STATE] = 15, [D_IN_GIL_ENABLED] = 16, [D_IN_GIL_LOCKED] = 17, [D_IN_GIL_HOLDER] = 18,
            [D_TS_SIZE] = 19, [D_TS_NEXT] = 21, [D_TS_CURRENT_FRAME] = 23, [D_TS_THREAD_ID] = 24,
            [D_TS_NATIVE_THREAD_ID] = 25,
            [D_FR_SIZE] = 28, [D_FR_PREVIOUS] = 29, [D_FR_EXECUTABLE] = 30, [D_FR_INSTR_PTR] = 31, [D_FR_OWNER] = 33,
            [D_CO_SIZE] = 34, [D_CO_FILENAME] = 35, [D_CO_QUALNAME] = 37, [D_CO_LINETABLE] = 38,
            [D_CO_FIRSTLINENO] = 39, [D_CO_CODE_ADAPTIVE] = 43,
            [D_OB_SIZE] = 44, [D_OB_TYPE] = 45, [D_TP_SIZE] = 46, [D_TP_NAME] = 47, [D_TP_FLAGS] = 49,
            [D_BYTES_OB_SIZE] = 65, [D_BYTES_OB_SVAL] = 66, [D_STR_STATE] = 68, [D_STR_LENGTH] = 69,
            [D_STR_ASCII_SIZE] = 70,
        },
        .fr_owner_skip_min = 3, .ts_critical_section_ft = 176, .ob_mutex_ft = 10, .fr_code_tag_mask = 0,
        .str_kind_shift = {2, 2}, .str_compact_bit = {5, 5}, .str_ascii_bit = {6, 6},
        .fr_size = 80, .str_ascii_size = {40, 56},
        .thread_lock_pymutex_from = 0x030D0100, .rlock_owner = -1,
        .hooks = LP_PYHOOK_MUTEX_LOCK | LP_PYHOOK_LOCK_TIMED | LP_PYHOOK_CS_BEGIN | LP_PYHOOK_CS2_BEGIN,
    },
    {
        /* Include/internal/pycore_debug_offsets.h and pycore_interpframe_structs.h of 3.14.7: the interpreter's
         * entry frame is FRAME_OWNED_BY_INTERPRETER = 3 (CSTACK = 4, skip >= 3); f_executable is a _PyStackRef
         * (tag bits 3 in GIL builds, 1 free-threaded: ~7 clears both); free-threaded builds run thread-local
         * copies of the bytecode (co_tlbc, frame->tlbc_index: py/frames.c); in 3.14t the unicode state's
         * `interned` is a whole byte, so kind 0x700, compact 0x800, ascii 0x1000; _thread.lock holds a PyMutex
         * and _thread.RLock a _PyRecursiveMutex whose PyMutex comes first (Modules/_threadmodule.c). The four
         * hooked signatures are unchanged (Python/lock.c, Python/critical_section.c); _PyCriticalSection_BeginSlow
         * now returns at once when the thread's top critical section holds m already (gh-114203). */
        .minor = 14, .checked = "3.14.7",
        .word = {
            [D_RT_SIZE] = 3, [D_RT_FINALIZING] = 4, [D_RT_INTERPRETERS_HEAD] = 5,
            [D_IN_SIZE] = 6, [D_IN_NEXT] = 8, [D_IN_THREADS_HEAD] = 9, [D_IN_CEVAL_GIL] = 15,
            [D_IN_GIL_RUNTIME_STATE] = 16, [D_IN_GIL_ENABLED] = 17, [D_IN_GIL_LOCKED] = 18, [D_IN_GIL_HOLDER] = 19,
            [D_TS_SIZE] = 22, [D_TS_NEXT] = 24, [D_TS_CURRENT_FRAME] = 26, [D_TS_THREAD_ID] = 27,
            [D_TS_NATIVE_THREAD_ID] = 28,
            [D_FR_SIZE] = 31, [D_FR_PREVIOUS] = 32, [D_FR_EXECUTABLE] = 33, [D_FR_INSTR_PTR] = 34, [D_FR_OWNER] = 36,
            [D_FR_TLBC_INDEX] = 38,
            [D_CO_SIZE] = 39, [D_CO_FILENAME] = 40, [D_CO_QUALNAME] = 42, [D_CO_LINETABLE] = 43,
            [D_CO_FIRSTLINENO] = 44, [D_CO_CODE_ADAPTIVE] = 48, [D_CO_TLBC] = 49,
            [D_OB_SIZE] = 50, [D_OB_TYPE] = 51, [D_TP_SIZE] = 52, [D_TP_NAME] = 53, [D_TP_FLAGS] = 55,
            [D_BYTES_OB_SIZE] = 75, [D_BYTES_OB_SVAL] = 76, [D_STR_STATE] = 78, [D_STR_LENGTH] = 79,
            [D_STR_ASCII_SIZE] = 80,
        },
        .fr_owner_skip_min = 3, .ts_critical_section_ft = 176, .ob_mutex_ft = 10, .fr_code_tag_mask = 7,
        .str_kind_shift = {2, 8}, .str_compact_bit = {5, 11}, .str_ascii_bit = {6, 12},
        .fr_size = 88, .str_ascii_size = {40, 56},
        .thread_lock_pymutex_from = 0x030E0000, .rlock_owner = 8,
        .hooks = LP_PYHOOK_MUTEX_LOCK | LP_PYHOOK_LOCK_TIMED | LP_PYHOOK_CS_BEGIN | LP_PYHOOK_CS2_BEGIN,
    },
};

static const struct dbg_version *dbg_version_of(unsigned minor)
{
    for (size_t i = 0; i < sizeof dbg_versions / sizeof dbg_versions[0]; i++)
        if (dbg_versions[i].minor == minor)
            return &dbg_versions[i];
    return NULL;
}

/* The value of field f, or 0 when this version does not publish it. */
static uint64_t dbg(const uint64_t *table, const struct dbg_version *v, enum dbg_field f)
{
    return v->word[f] ? table[v->word[f]] : 0;
}

static int32_t off(uint64_t v) { return (int32_t)v; }

/* Checks that the table of this build says what lockprof relies on; returns what disagrees, or NULL. */
static const char *mismatch(const uint64_t *t, const struct dbg_version *v, int ft)
{
    static const struct {
        enum dbg_field field, within;
    } bounded[] = {
        {D_TS_NEXT, D_TS_SIZE}, {D_TS_CURRENT_FRAME, D_TS_SIZE}, {D_TS_THREAD_ID, D_TS_SIZE},
        {D_TS_NATIVE_THREAD_ID, D_TS_SIZE}, {D_IN_NEXT, D_IN_SIZE}, {D_IN_THREADS_HEAD, D_IN_SIZE},
        {D_IN_CEVAL_GIL, D_IN_SIZE}, {D_IN_GIL_LOCKED, D_IN_SIZE}, {D_IN_GIL_HOLDER, D_IN_SIZE},
        {D_FR_PREVIOUS, D_FR_SIZE}, {D_FR_EXECUTABLE, D_FR_SIZE}, {D_FR_INSTR_PTR, D_FR_SIZE},
        {D_FR_OWNER, D_FR_SIZE}, {D_CO_FILENAME, D_CO_SIZE}, {D_CO_QUALNAME, D_CO_SIZE},
        {D_CO_LINETABLE, D_CO_SIZE}, {D_CO_FIRSTLINENO, D_CO_SIZE}, {D_CO_CODE_ADAPTIVE, D_CO_SIZE},
        {D_OB_TYPE, D_OB_SIZE}, {D_TP_NAME, D_TP_SIZE}, {D_TP_FLAGS, D_TP_SIZE}, {D_RT_INTERPRETERS_HEAD, D_RT_SIZE},
        {D_RT_FINALIZING, D_RT_SIZE},
    };
    for (size_t i = 0; i < sizeof bounded / sizeof bounded[0]; i++) {
        uint64_t f = dbg(t, v, bounded[i].field), size = dbg(t, v, bounded[i].within);
        if (size >= (1u << 24) || f >= size)
            return dbg_names[bounded[i].field];
    }
    /* structural facts the rest of the layout is derived from */
    if (dbg(t, v, D_OB_SIZE) != (ft ? 32u : 16u) || dbg(t, v, D_OB_TYPE) != (ft ? 24u : 8u))
        return "PyObject header";
    if (dbg(t, v, D_FR_SIZE) != v->fr_size)
        return "_PyInterpreterFrame size";
    if (dbg(t, v, D_STR_ASCII_SIZE) != v->str_ascii_size[ft])
        return "PyASCIIObject size";
    uint64_t gil = dbg(t, v, D_IN_GIL_RUNTIME_STATE);
    if (dbg(t, v, D_IN_GIL_LOCKED) - gil != (ft ? 24u : 16u) || dbg(t, v, D_IN_GIL_HOLDER) - gil != (ft ? 16u : 8u))
        return "struct _gil_runtime_state";
    if (v->word[D_CO_TLBC] && ((dbg(t, v, D_CO_TLBC) != 0) != ft || (dbg(t, v, D_FR_TLBC_INDEX) != 0) != ft))
        return "thread-local bytecode fields";
    return NULL;
}

static int from_debug_offsets(const void *runtime, uint32_t version_hex, struct lp_pylayout *out, const char **why)
{
    const uint64_t *t = runtime;
    const struct dbg_version *v = dbg_version_of((version_hex >> 16) & 0xff);
    if (!v) {
        *why = "unknown";
        return -1;
    }
    if (memcmp(runtime, "xdebugpy", 8) != 0 || (t[1] >> 16) != (version_hex >> 16) || t[2] > 1) {
        *why = "no _Py_DebugOffsets of this version at _PyRuntime";
        return -1;
    }
    int ft = t[2] == 1;
    if ((*why = mismatch(t, v, ft)))
        return -1;
    struct lp_pylayout l = {
        .source = "_Py_DebugOffsets", .checked = v->checked, .version_hex = version_hex, .ft = ft,
        .rt_size = off(dbg(t, v, D_RT_SIZE)), .rt_interpreters_head = off(dbg(t, v, D_RT_INTERPRETERS_HEAD)),
        .rt_finalizing = off(dbg(t, v, D_RT_FINALIZING)),
        .rt_gil_struct = -1,
        .interp_size = off(dbg(t, v, D_IN_SIZE)), .interp_next = off(dbg(t, v, D_IN_NEXT)),
        .interp_threads_head = off(dbg(t, v, D_IN_THREADS_HEAD)), .interp_ceval_gil = off(dbg(t, v, D_IN_CEVAL_GIL)),
        .ts_next = off(dbg(t, v, D_TS_NEXT)), .ts_current_frame = off(dbg(t, v, D_TS_CURRENT_FRAME)),
        .ts_cframe = -1, .cframe_current_frame = -1, .ts_thread_id = off(dbg(t, v, D_TS_THREAD_ID)),
        .ts_native_thread_id = off(dbg(t, v, D_TS_NATIVE_THREAD_ID)),
        .ts_critical_section = ft ? v->ts_critical_section_ft : -1,
        .fr_code = off(dbg(t, v, D_FR_EXECUTABLE)), .fr_previous = off(dbg(t, v, D_FR_PREVIOUS)),
        .fr_instr = off(dbg(t, v, D_FR_INSTR_PTR)), .fr_owner = off(dbg(t, v, D_FR_OWNER)), .fr_is_entry = -1,
        .fr_tlbc_index = ft && v->word[D_FR_TLBC_INDEX] ? off(dbg(t, v, D_FR_TLBC_INDEX)) : -1,
        .fr_instr_is_prev = 0, .fr_owner_skip_min = v->fr_owner_skip_min, .fr_code_tag_mask = v->fr_code_tag_mask,
        .co_filename = off(dbg(t, v, D_CO_FILENAME)), .co_qualname = off(dbg(t, v, D_CO_QUALNAME)),
        .co_linetable = off(dbg(t, v, D_CO_LINETABLE)), .co_firstlineno = off(dbg(t, v, D_CO_FIRSTLINENO)),
        .co_code_adaptive = off(dbg(t, v, D_CO_CODE_ADAPTIVE)),
        .co_tlbc = ft && v->word[D_CO_TLBC] ? off(dbg(t, v, D_CO_TLBC)) : -1,
        .ob_type = off(dbg(t, v, D_OB_TYPE)), .ob_mutex = ft ? v->ob_mutex_ft : -1,
        .tp_name = off(dbg(t, v, D_TP_NAME)), .tp_flags = off(dbg(t, v, D_TP_FLAGS)),
        .bytes_size = off(dbg(t, v, D_BYTES_OB_SIZE)), .bytes_sval = off(dbg(t, v, D_BYTES_OB_SVAL)),
        .str_length = off(dbg(t, v, D_STR_LENGTH)), .str_state = off(dbg(t, v, D_STR_STATE)),
        .str_ascii_size = off(dbg(t, v, D_STR_ASCII_SIZE)),
        .str_compact_size = off(dbg(t, v, D_STR_ASCII_SIZE)) + 16, /* PyCompactUnicodeObject: utf8_length, utf8 */
        .str_kind_shift = v->str_kind_shift[ft], .str_compact_bit = v->str_compact_bit[ft],
        .str_ascii_bit = v->str_ascii_bit[ft],
        /* gil_runtime_state_locked/holder are relative to PyInterpreterState; make them relative to the
         * GIL struct (the interpreter's own _gil starts at gil_runtime_state). gil_runtime_state_enabled is
         * relative to the GIL struct already, and 0 ("none") in GIL builds. */
        .gil_enabled = ft ? off(dbg(t, v, D_IN_GIL_ENABLED)) : -1,
        .gil_holder = off(dbg(t, v, D_IN_GIL_HOLDER) - dbg(t, v, D_IN_GIL_RUNTIME_STATE)),
        .gil_locked = off(dbg(t, v, D_IN_GIL_LOCKED) - dbg(t, v, D_IN_GIL_RUNTIME_STATE)),
        .thread_lock_field = off(dbg(t, v, D_OB_SIZE)),
        .thread_lock_is_pymutex = version_hex >= v->thread_lock_pymutex_from, .rlock_owner = v->rlock_owner,
        .parking_lot = 1, .hooks = v->hooks, .is_finalizing = "Py_IsFinalizing",
    };
    /* cond follows locked (int, padded to 8) and switch_number (unsigned long); then mutex and switch_cond:
     * pycore_gil.h */
    l.gil_cond = l.gil_locked + 16;
    l.gil_mutex = l.gil_cond + 48;
    l.gil_switch_cond = l.gil_mutex + 40;
    *out = l;
    return 0;
}

int lp_py_layout_for(uint32_t version_hex, const void *runtime, struct lp_pylayout *out, const char **why)
{
    unsigned minor = (version_hex >> 16) & 0xff;
    *why = NULL;
    if ((version_hex >> 24) == 3 && (minor == 11 || minor == 12)) {
        *out = minor == 11 ? py311 : py312;
        out->version_hex = version_hex;
        return 0;
    }
    if ((version_hex >> 24) == 3 && minor >= 13)
        return from_debug_offsets(runtime, version_hex, out, why);
    *why = "unknown";
    return -1;
}

void lp_py_dbg_words(unsigned minor, void (*fn)(const char *name, long word))
{
    const struct dbg_version *v = dbg_version_of(minor);
    for (int f = 0; v && f < D_N; f++)
        if (v->word[f])
            fn(dbg_names[f], v->word[f]);
}
