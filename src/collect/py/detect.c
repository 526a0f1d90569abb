/* detect.c — start-up of the CPython layer: is this process a CPython we understand (version, build, static
 * executable or libpython), where is the interpreter, and patching of its lock slow paths. Fills lp_pyrt (pyrt.c:
 * the layout in use and the interpreter's addresses) and writes the profile's CPython metadata. Runs in the constructor, before the program's main() and before
 * Python starts threads. Anything unexpected leaves the layer off with one warning: the process is then profiled
 * like any native program. */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../config.h"
#include "../stack.h"
#include "../modules.h"
#include "../symtab.h"
#include "frames.h"
#include "hooks.h"
#include "patch.h"
#include "py.h"
#include "pyrt.h"
#include "../safe.h"
#include "versions.h"

static void print_layout(void);


static void version_string(uint32_t hex, char *out)
{
    char *p = lp_fmt_u64(out, hex >> 24);
    *p++ = '.';
    p = lp_fmt_u64(p, (hex >> 16) & 0xff);
    *p++ = '.';
    p = lp_fmt_u64(p, (hex >> 8) & 0xff);
    unsigned level = (hex >> 4) & 0xf, serial = hex & 0xf;
    if (level != 0xf) {
        *p++ = level == 0xa ? 'a' : level == 0xb ? 'b' : 'c';
        if (level == 0xc)
            *p++ = 'c'; /* "rc" */
        p = lp_fmt_u64(p, serial);
    }
    *p = 0;
}

void lp_py_init(void)
{
    const unsigned long *ver = dlsym(RTLD_DEFAULT, "Py_Version");
    void *rt = dlsym(RTLD_DEFAULT, "_PyRuntime");
    if (!ver || !rt) {
        /* Older CPythons have no Py_Version; Py_GetVersion (all versions) formats a static string. */
        const char *(*get)(void) = (const char *(*)(void))dlsym(RTLD_DEFAULT, "Py_GetVersion");
        if (get && dlsym(RTLD_DEFAULT, "Py_Initialize")) {
            char vs[32];
            size_t n = lp_strlcpy(vs, get(), sizeof vs);
            for (size_t i = 0; i < n; i++)
                if (vs[i] == ' ')
                    vs[i] = 0;
            lp_warn2("CPython layout unknown to this lockprof, profiling without Python awareness: ", vs);
        }
        return; /* not a Python process (or libpython is loaded later: native-only) */
    }
    uint32_t hex = (uint32_t)*ver;
    struct lp_pylayout L;
    char vs[24];
    version_string(hex, vs);
    const char *why;
    if (lp_py_layout_for(hex, rt, &L, &why)) {
        if (!strcmp(why, "unknown")) {
            lp_warn2("CPython layout unknown to this lockprof, profiling without Python awareness: ", vs);
        } else {
            char msg[160], *p = msg;
            p += lp_strlcpy(p, vs, 24);
            p += lp_strlcpy(p, ": its _Py_DebugOffsets disagree with the layout lockprof verified for this version (", 90);
            p += lp_strlcpy(p, why, 40);
            lp_strlcpy(p, "), profiling without Python awareness", sizeof msg - (size_t)(p - msg));
            lp_warn2("CPython ", msg);
        }
        return;
    }
    lp_pyrt.L = L;
    lp_strlcpy(lp_pyrt.version, vs, sizeof lp_pyrt.version);
    lp_pyrt.runtime = (uintptr_t)rt;
    lp_pyrt.code_type = (uintptr_t)dlsym(RTLD_DEFAULT, "PyCode_Type");
    lp_pyrt.type_type = (uintptr_t)dlsym(RTLD_DEFAULT, "PyType_Type");
    lp_pyrt.this_tstate = (void *(*)(void))dlsym(RTLD_DEFAULT, "PyGILState_GetThisThreadState");
    lp_pyrt.is_finalizing = (int (*)(void))dlsym(RTLD_DEFAULT, L.is_finalizing);
    if (!lp_pyrt.code_type || !lp_pyrt.type_type || !lp_pyrt.this_tstate) {
        lp_warn("CPython found but PyCode_Type/PyType_Type/PyGILState_GetThisThreadState are missing: "
                "profiling without Python awareness");
        return;
    }
    uintptr_t probe = 0;
    if (lp_safe_ptr((uintptr_t)&probe, &probe)) {
        lp_warn("process_vm_readv is not permitted here (seccomp?): profiling without Python awareness");
        return;
    }

    /* The interpreter's module (the executable or libpython): where its entry points are, and what the CLI's
     * `--frames user` hides (the python_module metadata). */
    static char module_path[4096];
    static struct lp_mod mod;
    const struct lp_mod *m = lp_symtab_module_of(rt, &mod, module_path, sizeof module_path) == 0 ? &mod : NULL;
    if (m) {
        lp_pyrt.module = m->path;
        struct lp_symq q[] = {{.name = "_PyEval_EvalFrameDefault"}, {.name = "_PyRuntime"}};
        lp_symtab_find(m, q, lp_pyrt.L.rt_size < 0 ? 2 : 1);
        if (q[0].found) {
            lp_pyrt.eval_lo = q[0].addr;
            lp_pyrt.eval_hi = q[0].addr + (uintptr_t)q[0].size;
        }
        if (q[1].found && q[1].size && q[1].addr == (uintptr_t)rt)
            lp_pyrt.L.rt_size = (int32_t)q[1].size;
    }
    lp_pyrt.active = 1;
    static const struct lp_pyframes_source frames = {lp_py_stack, lp_py_is_eval_pc};
    lp_stack_set_python(&frames);
    if (lp_cfg.print_layout)
        print_layout();
    if (m && lp_cfg.patch) {
        lp_py_patch_all(m);
        uintptr_t lo, hi;
        lp_patch_range(&lo, &hi);
        if (lo)
            lp_stack_hide_range(lo, hi);
    }
}

static void print_field(const char *prefix, const char *name, long v)
{
    char line[96] = "lockprof-layout ", *p = line + strlen(line);
    p += lp_strlcpy(p, prefix, 8);
    p += lp_strlcpy(p, name, 40);
    *p++ = ' ';
    if (v < 0) {
        *p++ = '-';
        p = lp_fmt_u64(p, (uint64_t)-v);
    } else {
        p = lp_fmt_u64(p, (uint64_t)v);
    }
    *p++ = '\n';
    ssize_t r = write(2, line, (size_t)(p - line));
    (void)r;
}

static void print_dbg_word(const char *name, long word) { print_field("dbg_", name, word); }

/* LOCKPROF_PRINT_LAYOUT=1: the layout in use, as "name value" lines on stderr, in the vocabulary of
 * scripts/probe-offsets.c (tests/integration/test_offsets.py compares the two). */
static void print_layout(void)
{
    const struct lp_pylayout *L = &lp_pyrt.L;
    const struct {
        const char *name;
        long v;
    } f[] = {
        {"rt_interpreters_head", L->rt_interpreters_head}, {"rt_finalizing", L->rt_finalizing},
        {"interp_next", L->interp_next},
        {"interp_threads_head", L->interp_threads_head}, {"interp_ceval_gil", L->interp_ceval_gil},
        {"rt_gil_struct", L->rt_gil_struct}, {"ts_next", L->ts_next}, {"ts_current_frame", L->ts_current_frame},
        {"ts_cframe", L->ts_cframe}, {"cframe_current_frame", L->cframe_current_frame},
        {"ts_thread_id", L->ts_thread_id}, {"ts_native_thread_id", L->ts_native_thread_id},
        {"fr_code", L->fr_code}, {"fr_previous", L->fr_previous}, {"fr_instr", L->fr_instr},
        {"fr_owner", L->fr_owner}, {"fr_is_entry", L->fr_is_entry}, {"co_filename", L->co_filename},
        {"co_qualname", L->co_qualname}, {"co_linetable", L->co_linetable}, {"co_firstlineno", L->co_firstlineno},
        {"co_code_adaptive", L->co_code_adaptive}, {"ob_type", L->ob_type}, {"tp_name", L->tp_name},
        {"tp_flags", L->tp_flags}, {"bytes_ob_size", L->bytes_size}, {"bytes_ob_sval", L->bytes_sval},
        {"str_length", L->str_length}, {"str_state", L->str_state}, {"str_ascii_size", L->str_ascii_size},
        {"gil_locked", L->gil_locked}, {"gil_holder", L->gil_holder}, {"gil_cond", L->gil_cond},
        {"gil_mutex", L->gil_mutex}, {"gil_switch_cond", L->gil_switch_cond},
        {"thread_lock_field", L->thread_lock_field}, {"ts_critical_section", L->ts_critical_section},
        {"ob_mutex", L->ob_mutex}, {"fr_tlbc_index", L->fr_tlbc_index}, {"co_tlbc", L->co_tlbc},
        {"str_kind_shift", L->str_kind_shift}, {"str_compact_bit", L->str_compact_bit},
        {"str_ascii_bit", L->str_ascii_bit}, {"rlock_owner", L->rlock_owner},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        print_field("", f[i].name, f[i].v);
    if (!strcmp(L->source, "_Py_DebugOffsets"))
        lp_py_dbg_words((L->version_hex >> 16) & 0xff, print_dbg_word);
}

void lp_py_write_meta(struct lpw *w)
{
    if (!lp_pyrt.active)
        return;
    const struct lp_pylayout *L = &lp_pyrt.L;
    lpw_meta(w, "python", lp_pyrt.version);
    lpw_meta(w, "python_build", L->ft ? "free-threaded" : "gil");
    lpw_meta(w, "python_layout", L->source);
    if (lp_pyrt.module)
        lpw_meta(w, "python_module", lp_pyrt.module);
    lpw_meta(w, "python_patched", lp_pyrt.patched);
    if (lp_pyrt.refused[0])
        lpw_meta(w, "python_patch_refused", lp_pyrt.refused);
    if (L->ft && L->gil_enabled >= 0) {
        uintptr_t g = lp_py_main_gil();
        int enabled = 0;
        if (g && !lp_safe_read(&enabled, g + (uintptr_t)L->gil_enabled, sizeof enabled))
            lpw_meta_u64(w, "gil_enabled", enabled != 0);
    }
}
