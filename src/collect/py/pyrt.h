/* pyrt.h — the CPython layer's state, shared by its files (defined in pyrt.c): the layout in use and the addresses
 * found at start-up. Written once by lp_py_init() before the collector switches on; read-only afterwards (except
 * the lazily found interpreter/GIL addresses, which are written atomically). */
#ifndef LP_PY_PYRT_H
#define LP_PY_PYRT_H

#include <stdatomic.h>
#include <stdint.h>

#include "layout.h"

struct lp_pyrt {
    int active;
    struct lp_pylayout L;
    char version[24];          /* "3.13.5" */
    const char *module;        /* file holding the interpreter (executable or libpython) */
    uintptr_t runtime;         /* &_PyRuntime */
    uintptr_t code_type;       /* &PyCode_Type */
    uintptr_t type_type;       /* &PyType_Type */
    void *(*this_tstate)(void); /* PyGILState_GetThisThreadState: works while the thread is detached */
    int (*is_finalizing)(void); /* Py_IsFinalizing (3.13+) or _Py_IsFinalizing (3.11, 3.12), or NULL */
    uintptr_t eval_lo, eval_hi; /* _PyEval_EvalFrameDefault */
    _Atomic uintptr_t main_interp, main_gil;
    char patched[256];         /* names of the patched functions, for the profile */
    char refused[256];
};

extern struct lp_pyrt lp_pyrt;

/* Whether address a lies on the calling thread's stack, above the caller's frame (the parking lot's semaphores and
 * wait entries of a thread that waits are there). */
static inline int lp_py_on_my_stack(uintptr_t a)
{
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    return a > sp && a < sp + 64 * 1024;
}

/* Reads a field of our own, known-valid memory. */
#define LP_RD(type, base, off) (*(type *)((uintptr_t)(base) + (uintptr_t)(off)))

/* The calling thread's PyThreadState, or 0 (not a Python thread, or the runtime is finalizing). */
uintptr_t lp_py_tstate(void);
/* The main interpreter's GIL struct, 0 until Python initialised. */
uintptr_t lp_py_main_gil(void);
/* Whether `gil` is the GIL struct of some interpreter (walks the interpreter list with safe reads). */
int lp_py_is_gil(uintptr_t gil);
/* Whether addr lies inside _PyRuntime or an interpreter state; fills a "_PyRuntime+0x..." name. */
int lp_py_runtime_name(uintptr_t addr, char *buf, size_t cap);

#endif
