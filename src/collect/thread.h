/* thread.h — per-thread collector state. Each thread that records an event owns one lp_thread: its own arena,
 * lock/stack/aggregate tables and timeline ring, so the event path takes no lock and shares no cache line.
 * States live on a global list (push-only, lock-free) that the dump walks; a thread's state is recycled for a
 * later thread after it exits, so thread storms do not grow memory. After fork() the child starts empty.
 *
 * The re-entrancy guard lives here too: lp_guard_enter() fails when the thread is already inside lockprof
 * (a hook called from libunwind, from our dump, or from a signal handler that interrupted a hook). */
#ifndef LP_THREAD_H
#define LP_THREAD_H

#include <stdatomic.h>
#include <stdint.h>

#include "arena.h"
#include "lp.h"
#include "map.h"

struct lp_timeline_ev {
    uint64_t start_ns, dur_ns;
    uint64_t lock_key;
    uint64_t stack_hash;
    uint64_t tid; /* the recording thread: a recycled state's ring still holds its earlier owners' events */
};

/* A CPython wait measured but not yet added to the tables (record.c): the hook that measured it returned with the
 * lock held, and adding it then would lengthen the critical section; the thread's next wait, its exit or a dump
 * picks it up. state: LP_DEFER_EMPTY → (owner fills) → LP_DEFER_FULL → (owner records it) → LP_DEFER_EMPTY, or
 * LP_DEFER_FULL → (a dump writes it) LP_DEFER_DUMPING → LP_DEFER_FULL. Only the owner writes the fields. */
enum { LP_DEFER_EMPTY, LP_DEFER_FULL, LP_DEFER_DUMPING };
struct lp_labelset;
struct lp_deferred_ev {
    unsigned kind, flags;
    uintptr_t addr, site;
    const char *type, *name;
    const struct lp_labelset *labels; /* the thread's labels when it waited (labels.h) */
    uint64_t t0, wait_ns, stack, holder_stack, holder_tid, tid;
};
struct lp_deferred {
    _Atomic int state;
    struct lp_deferred_ev ev;
};

/* Every OS thread that used a state (states are recycled), for the profile's thread table. */
struct lp_owner {
    struct lp_owner *next;
    uint64_t tid;
    char name[16];
};

struct lp_thread {
    struct lp_thread *next_all; /* global list, never unlinked */
    struct lp_thread *next_free;
    _Atomic int alive;          /* 0 once the owning thread exited (state may be recycled) */
    _Atomic uint64_t tid;       /* OS thread id of the current owner */
    struct lp_owner *_Atomic owners;
    struct lp_arena arena;
    struct lp_map locks;  /* lock key  → struct lp_lock_ent */
    struct lp_map stacks; /* stack hash → struct lp_stack_ent */
    struct lp_map aggs;   /* agg key   → struct lp_agg_ent */
    struct lp_map strs;   /* string hash → char* (type names, Python function and file names) */
    struct lp_map pycode; /* Python code identity → struct lp_pycode_ent (py/frames.c) */
    struct lp_map pytypes; /* validated PyTypeObject address → interned type name (py/classify.c) */
    struct lp_map labels; /* label-set hash → struct lp_labelset (labels.c) */
    void *py_cache;       /* per-thread Python caches (py/ owns the layout) */
    void *stack_cache;    /* recent (Python position, stack pointer) → stack hash (stack.c) */
    _Atomic int unwinding; /* inside libunwind (stack.c): a fork now copies libunwind's locks held */
    unsigned sample_ctr;
    struct {
        unsigned kind;
        uintptr_t addr;
        const char *type, *name;
    } last_lock;               /* record.c: the previous event's lock and its key */
    uint64_t last_lock_key;
    _Atomic uint64_t n_events, n_dropped;
    _Atomic uint64_t n_unsampled;          /* events skipped by LOCKPROF_SAMPLE */
    _Atomic uint64_t n_short, ns_short;    /* waits below LOCKPROF_MIN_WAIT_NS: counted, not recorded */
    _Atomic uint64_t n_unblocked;          /* CPython slow paths that took the lock without blocking (py/hooks.c) */
    /* timeline ring (LOCKPROF_TIMELINE) */
    struct lp_timeline_ev *tl;
    _Atomic uint64_t tl_head; /* events ever written; the ring keeps the last lp_cfg.timeline (of every owner) */
    struct lp_deferred deferred;
};

/* Thread-local bookkeeping that exists even before a thread has an lp_thread. */
struct lp_tls {
    int depth;        /* re-entrancy depth: >0 means "inside lockprof" */
    int exiting;      /* set by the key destructor: this thread is going away, passthrough from now on */
    unsigned gen;     /* fork generation the cached state belongs to */
    struct lp_thread *self;
    uint64_t tid;
    /* scratch for the hook in progress */
    int in_pyhook;            /* inside a CPython slow-path hook (py/hooks.c) */
    int pyhook_parked;        /* the hook's wait reached the parking lot */
    uintptr_t pyhook_mutex;   /* mutex the outermost CPython hook is waiting for */
    uint64_t pyhook_holder_stack, pyhook_holder_tid; /* who woke the parked hook (from sem_post) */
    int pyhook_recorded;      /* an inner hook recorded the wait for the mutex the outer one waits for */
    uintptr_t pyhook_mutex2;  /* second mutex of a two-object critical section */
    uintptr_t pyhook_site;    /* caller of the outermost CPython hook (names anonymous mutexes) */
    uint64_t pyhook_woke_ns;  /* when the last blocking call inside a CPython hook returned (py/hooks.c) */
    int pyhook_self_held;     /* the innermost hook waits for a mutex its own thread holds: its yields are no end */
    int tstate_cached;        /* lp_tls.tstate is this thread's PyThreadState for the hook in progress */
    void *pyhook_pending;     /* the CPython hook whose wait is not captured yet (py/hooks.c struct phk) */
    uintptr_t tstate;
    /* GIL acquisition in progress (one acquisition = several 5 ms timed waits) */
    uint64_t gil_t0, gil_stack, gil_holder_tid;
    uintptr_t gil_struct;
    int unwinder_init;        /* this thread is initialising libunwind (stack.c): its pipe2 goes high */
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

/* Called once from the constructor (creates the exit key) and in the child after fork (forgets the parent's
 * threads). */
void lp_thread_init(void);
void lp_thread_after_fork_child(void);

/* The profiler's own internal lock: a spinlock used only off the event path (thread creation/exit, dump).
 * Contended acquisitions are counted in lp_self_contentions and reported in the profile. */
extern _Atomic uint64_t lp_self_contentions;
void lp_spin_lock(_Atomic int *l);
void lp_spin_unlock(_Atomic int *l);

#endif
