/* py.h — what the rest of the collector needs from the CPython layer (src/collect/py/).
 *
 * The layer owns: detecting the interpreter and its layout (detect.c, versions.c), the patched slow paths and
 * their per-thread state (hooks.c, pytls.h), naming what a blocking libc call is in CPython terms (classify.c),
 * Python stacks (frames.c, handed to stack.c as its Python frame source at start-up), and each thread's caches of
 * code objects and types (struct lp_py_thread). When the process is not a CPython we understand, lp_py_active()
 * is 0 and every other entry point is a cheap no-op, so non-Python programs are profiled exactly as before. The
 * layer sits above record.c (it records GIL episodes and its hooks' waits) and below the libc hooks. */
#ifndef LP_PY_H
#define LP_PY_H

#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <time.h>

#include "../map.h"
#include "../record.h"
#include "../thread.h"
#include "pytls.h"
#include "writer.h"

/* A Python code object as remembered by a thread (names copied out of the interpreter). */
struct lp_pycode_ent {
    const char *qualname;
    const char *filename;
};

/* A thread's CPython caches. One writer (the thread); the dump reads `pycode` concurrently. */
struct lp_py_thread {
    struct lp_map pycode;  /* Python code identity → struct lp_pycode_ent (frames.c) */
    struct lp_map pytypes; /* validated PyTypeObject address → interned type name (classify.c) */
    void *cache;           /* decoded code objects and line numbers (frames.c) */
};
/* t's caches, created on first use; NULL when out of memory. */
struct lp_py_thread *lp_py_thread_of(struct lp_thread *t);

/* Detects the interpreter (version, build, layout), patches the lock slow paths, and hands stack.c the Python frame
 * source. Called from the constructor after everything else is ready. */
void lp_py_init(void);
int lp_py_active(void);

/* Classifiers used by the libc hooks before they block. They may change the event's kind, name, type and flags. */
void lp_py_classify_sem(sem_t *sem, struct lp_event *ev);
void lp_py_classify_mutex(pthread_mutex_t *m, struct lp_event *ev);
/* Condition variables: returns 1 when `cond` is a GIL condition and the call was handled (and its result stored in
 * *rc). */
int lp_py_cond_wait(pthread_cond_t *cond, pthread_mutex_t *m, int timed, int clocked, clockid_t clk,
                    const struct timespec *abstime, int *rc);

/* sem_wait on a busy semaphore inside a patched hook: when it is the park of that hook's own wait (the parking lot's
 * semaphore on this thread's stack, for the hook's mutex), waits in it (the hook measures and records the wait;
 * nothing is recorded here), stores the real call's result in *rc and returns 1. Returns 0 otherwise. */
int lp_py_park(sem_t *sem, int timed, clockid_t clk, const struct timespec *abstime, int clocked, int *rc);

void lp_py_write_meta(struct lpw *w);

/* The thread (kernel tid) holding a CPython lock, where the lock or lockprof knows it (the GIL's holder, a 3.14
 * RLock's owner), else 0. Any thread, safe reads: for a dump. */
uint64_t lp_py_lock_owner(unsigned kind, uintptr_t addr);

/* Names the PyMutex at m (object lock with its type, threading lock, runtime lock). */
void lp_py_classify_pymutex(struct lp_thread *t, uintptr_t m, struct lp_event *ev);

/* Who took a CPython threading lock last (classify.c, for lp_py_lock_owner): a PyThread lock's semaphore taken
 * (sem_wait/sem_trywait succeeded) or posted, a PyMutex taken through the patched _PyMutex_LockTimed. The semaphore
 * ones cost a table look-up, only in a process where Python created PyThread locks (lp_py_sems_named). */
extern _Atomic int lp_py_sems_named;
void lp_py_sem_taken(sem_t *sem);
void lp_py_sem_posted(sem_t *sem);
static inline int lp_py_tracks_sems(void) { return atomic_load_explicit(&lp_py_sems_named, memory_order_relaxed); }
void lp_py_mutex_taken(uintptr_t m);

/* sem_init/sem_destroy: remembers where Python created its PyThread locks (3.11/3.12 threading locks). */
void lp_py_on_sem_init(sem_t *sem, unsigned value);
void lp_py_on_sem_destroy(sem_t *sem);

#endif
