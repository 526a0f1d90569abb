/* thread.h — per-thread collector state, the bottom rung of the collector (above only lp.h, arena and map).
 *
 * Owns: the list of per-thread states, their arenas and interned strings, the owner threads each state served,
 * recycling, the exit callbacks, the re-entrancy guard, and lp_tls (what a thread has before it has a state).
 * Each thread that records an event owns one lp_thread, so the event path takes no lock and shares no cache line.
 * The upper layers keep their own per-thread state in it (record.c its tables, stack.c its stacks, py/ its caches):
 * they define and create it, this file only holds the pointer. States live on a global list (push-only, lock-free)
 * that the dump walks; a state is recycled for a later thread after its thread exits (with the upper layers' tables:
 * their entries carry the tid of the thread that recorded them), so thread storms do not grow memory. After fork()
 * the child starts empty.
 *
 * lp_guard_enter() fails when the thread is already inside lockprof (a hook called from libunwind, from our dump,
 * or from a signal handler that interrupted a hook). Never: malloc, stdio, a lock of the host's kind. */
#ifndef LP_THREAD_H
#define LP_THREAD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "lp.h"
#include "map.h"

struct lp_rec_thread;   /* record.h: lock and aggregate tables, counters, timeline, the deferred event */
struct lp_stack_thread; /* stack.h: interned stacks and the stack cache */
struct lp_py_thread;    /* py/py.h: code-object and type caches */

/* Every OS thread that used a state (states are recycled), for the profile's thread table. */
struct lp_owner {
    struct lp_owner *next;
    uint64_t tid;
    uint64_t pthread; /* its pthread_self(): how CPython's thread idents and lock owners name it */
    char name[16];
};

struct lp_thread {
    struct lp_thread *next_all; /* global list, never unlinked */
    struct lp_thread *next_free;
    _Atomic int alive;          /* 0 once the owning thread exited (state may be recycled) */
    _Atomic uint64_t tid;       /* OS thread id of the current owner */
    struct lp_owner *_Atomic owners;
    struct lp_arena arena;
    struct lp_map strs; /* string hash → char* (type names, Python function and file names): lp_intern */
    struct lp_map labels; /* label-set hash → struct lp_labelset, owned by labels.c (the thread's own sets) */
    /* the upper layers' states, created by their owners on first use and published with a release store */
    struct lp_rec_thread *_Atomic rec;
    struct lp_stack_thread *_Atomic stk;
    struct lp_py_thread *_Atomic py;
};

/* Thread-local bookkeeping that exists even before a thread has an lp_thread. */
struct lp_tls {
    int depth;        /* re-entrancy depth: >0 means "inside lockprof" */
    int exiting;      /* set by the key destructor: this thread is going away, passthrough from now on */
    unsigned gen;     /* fork generation the cached state belongs to */
    struct lp_thread *self;
    uint64_t tid;
};

extern LP_TLS struct lp_tls lp_tls;
extern _Atomic unsigned lp_fork_gen;

static inline int lp_guard_enter(void)
{
    if (lp_tls.depth || lp_tls.exiting)
        return 0;
    lp_tls.depth = 1;
    return 1;
}
static inline void lp_guard_leave(void) { lp_tls.depth = 0; }

uint64_t lp_gettid(void);

/* The calling thread's state, created on first use. NULL when memory is unavailable or the thread exits. */
struct lp_thread *lp_thread_self(void);

/* Head of the list of all states (for the dump). */
struct lp_thread *lp_thread_all(void);

/* The kernel tid of the thread whose pthread_self() is `pthread`, among the threads that used a state; 0 when
 * unknown. */
uint64_t lp_thread_tid_of(uint64_t pthread);
/* The same for a thread whose descriptor is known to be alive (a thread being joined and not yet joined): also
 * threads lockprof never saw, read from glibc's descriptor when its layout checked out at start-up; 0 unknown. */
uint64_t lp_thread_tid_of_live(uint64_t pthread);

/* Called once from the constructor (creates the exit key) and in the child after fork (forgets the parent's
 * threads). */
void lp_thread_init(void);
void lp_thread_after_fork_child(void);

/* Registers fn to run at the exit of every thread that has a state, on that thread, inside the guard, before the
 * state is released for recycling (start-up only; at most 4). */
void lp_thread_on_exit(void (*fn)(struct lp_thread *t));

/* Interns a string in the thread's table and returns a stable copy (NULL when out of memory). */
const char *lp_intern(struct lp_thread *t, const char *s, size_t n);


/* The profiler's own internal lock: a spinlock used only off the event path (thread creation/exit, dump).
 * Contended acquisitions are counted in lp_self_contentions and reported in the profile. */
extern _Atomic uint64_t lp_self_contentions;
void lp_spin_lock(_Atomic int *l);
void lp_spin_unlock(_Atomic int *l);

#endif
