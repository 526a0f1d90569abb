/* pytls.h — the CPython layer's per-thread scratch state, and the small inline queries the libc hooks make of it.
 *
 * Owned by py/: py/hooks.c writes the slow-path hook fields, py/classify.c the GIL episode. The libc hooks
 * (hooks_pthread.c, preload.c) only ask, through the functions below, before and after they block: a CPython
 * slow path's wait is captured at its first blocking call, and ends where its last blocking call returned
 * (docs/DESIGN.md, "Where a CPython wait ends"). Plain thread-local loads: this is the hot path. */
#ifndef LP_PY_PYTLS_H
#define LP_PY_PYTLS_H

#include <stdint.h>

#include "../lp.h"

struct lp_pytls {
    /* the patched CPython slow path the thread is in (py/hooks.c) */
    int in_hook;              /* nesting depth of patched hooks */
    void *pending;            /* the hook whose wait is not captured yet (struct phk) */
    int self_held;            /* the innermost hook waits for a mutex its own thread holds: yields end nothing */
    int parked;               /* the hook's wait reached the parking lot */
    int recorded;             /* an inner hook recorded the wait for the mutex the outer one waits for */
    uintptr_t mutex, mutex2;  /* what the outermost hook waits for (mutex2: second mutex of a two-object section) */
    uintptr_t site;           /* caller of the outermost hook (names anonymous mutexes) */
    uint64_t woke_ns;         /* when the last blocking call inside a hook returned */
    uint64_t holder_stack, holder_tid; /* who woke the parked hook (from its sem_post) */
    int tstate_cached;        /* tstate is this thread's PyThreadState for the hook in progress */
    uintptr_t tstate;
    /* a GIL acquisition in progress: one acquisition is several timed waits (py/classify.c) */
    uint64_t gil_t0, gil_stack, gil_holder_tid;
    uintptr_t gil_struct;
    int gil_inflight;         /* its entry among the thread's waits in progress (record.h) */
};

extern LP_TLS struct lp_pytls lp_pytls;

/* Captures the pending hook's wait (py/hooks.c). */
void lp_py_hook_blocking(void);

/* Before any interposed blocking call: a patched CPython slow path that has not blocked yet blocks now, and its
 * wait is captured first (while the thread is about to block anyway). Leaves errno alone. */
static inline void lp_py_before_block(void)
{
    if (LP_UNLIKELY(lp_pytls.pending != NULL))
        lp_py_hook_blocking();
}

/* Inside a patched CPython slow path. */
static inline int lp_py_in_hook(void) { return lp_pytls.in_hook; }

/* After a blocking call returned inside a patched slow path: where its wait may have ended. Leaves errno alone. */
static inline void lp_py_after_block(void) { lp_pytls.woke_ns = lp_now(); }

/* sched_yield: whether this yield matters (the spin of a hook's wait, not a wait for the thread's own lock). */
static inline int lp_py_yield_matters(void) { return lp_pytls.in_hook && !lp_pytls.self_held; }

/* sem_wait: a pending hook's wait for a lock its own thread holds is captured at its park, once the park has
 * suspended the thread's critical sections (the lock is then free for the others while lockprof works). */
static inline void lp_py_before_park(void)
{
    if (LP_UNLIKELY(lp_pytls.pending != NULL) && lp_pytls.self_held)
        lp_py_hook_blocking();
}

#endif
