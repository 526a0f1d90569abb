/* py.h — what the rest of the collector needs from the CPython layer (src/collect/py/). When the process is
 * not a CPython we understand, lp_py_active() is 0 and every other entry point is a cheap no-op, so non-Python
 * programs are profiled exactly as before. */
#ifndef LP_PY_H
#define LP_PY_H

#include <semaphore.h>
#include <stdint.h>

#include "../record.h"
#include "../thread.h"
#include "writer.h"

/* A Python code object as remembered by a thread (names copied out of the interpreter). */
struct lp_pycode_ent {
    const char *qualname;
    const char *filename;
};

/* Detects the interpreter (version, build, layout), patches the lock slow paths. Called from the
 * constructor after everything else is ready. */
void lp_py_init(void);
int lp_py_active(void);

/* Python frames of the calling thread, innermost first, two words each (see stack.h). seg_end[i] is the
 * number of frames in segments 0..i, one segment per eval-loop activation on the native stack. Returns the
 * number of frames. */
unsigned lp_py_stack(struct lp_thread *t, uint64_t *words, unsigned max_frames, unsigned *seg_end, unsigned *n_seg);
/* Whether a native return address lies in the interpreter's eval loop. */
int lp_py_is_eval_pc(uintptr_t pc);

/* Classifiers used by the libc hooks before they block. They may change the event's kind, name, type and
 * flags. */
void lp_py_classify_sem(sem_t *sem, struct lp_event *ev);
/* Whether sem_wait(sem) is the park of the patched CPython hook the thread is in (the parking lot's semaphore on
 * this thread's stack, for the hook's mutex): that hook measures the wait, and the libc hook records nothing
 * (hooks_pthread.c hook_park). */
int lp_py_is_hook_park(sem_t *sem);
void lp_py_classify_mutex(pthread_mutex_t *m, struct lp_event *ev);
/* Condition variables: returns 1 when `cond` is a GIL condition and the call was handled (and its result
 * stored in *rc). */
int lp_py_cond_wait(pthread_cond_t *cond, pthread_mutex_t *m, int timed, int clocked, clockid_t clk,
                    const struct timespec *abstime, int *rc);

void lp_py_write_meta(struct lpw *w);

/* Called by the sched_yield and sem_*wait hooks when they return inside a patched CPython hook: notes where that
 * hook's wait may have ended (the top of py/hooks.c explains). Leaves errno alone. */
static inline void lp_py_after_block(void) { lp_tls.pyhook_woke_ns = lp_now(); }
/* Called before a blocking call (lp_wait_begin, the sched_yield hook): when a patched CPython hook is waiting and
 * has not blocked before, its wait is captured and classified now. Leaves errno alone. */
void lp_py_hook_blocking(void);
/* Names the PyMutex at m (object lock with its type, threading lock, runtime lock). */
void lp_py_classify_pymutex(struct lp_thread *t, uintptr_t m, struct lp_event *ev);

/* sem_init/sem_destroy: remembers where Python created its PyThread locks (3.11/3.12 threading locks). */
void lp_py_on_sem_init(sem_t *sem, unsigned value);
void lp_py_on_sem_destroy(sem_t *sem);

#endif
