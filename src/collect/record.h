/* record.h — the event path every hook shares, and the per-thread tables it fills.
 *
 * Owns: each thread's lock and aggregate tables, its counters of what was recorded and what was left out, its
 * timeline ring, and its deferred event (struct lp_rec_thread). Knows nothing about Python: a hook that must name
 * a lock in CPython terms does so before it ends the wait (lp_event), and the CPython layer's own bookkeeping
 * before a blocking call is the hooks' business (hooks_pthread.c asks py/ first).
 *
 * A hook that finds its lock busy brackets the real blocking call with lp_wait_begin()/lp_wait_end(); in between it
 * may classify the lock (kind, object type, name). The result is added to the calling thread's aggregate table,
 * keyed by (lock, waiter stack, holder stack, thread, holder thread, flags), with count, total and maximum wait and
 * a log2 histogram.
 *
 *   struct lp_wait w;
 *   if (!lp_wait_begin(&w, lock_address, NULL, site)) return real(...);   // not profiling this call
 *   rc = real(...);
 *   lp_wait_end(&w, &(struct lp_event){.kind = ..., .addr = ..., .flags = ...});
 */
#ifndef LP_RECORD_H
#define LP_RECORD_H

#include <stdint.h>

#include "lp_format.h"
#include "map.h"
#include "thread.h"

struct lp_event {
    unsigned kind;       /* enum lp_kind */
    uintptr_t addr;      /* the lock's address */
    const char *type;    /* object type name (stable string: static or interned), NULL when none */
    const char *name;    /* lock name chosen by a classifier (stable string), NULL = symbol or kind@address */
    unsigned flags;      /* enum lp_agg_flag */
    uint64_t holder_tid; /* when known without the registry (the GIL holder), else 0 */
    uint64_t holder_stack; /* when known without the registry (a parked CPython hook), else 0 */
    uintptr_t site;      /* code address of the function that took the lock, used to name anonymous locks */
};

struct lp_wait {
    struct lp_thread *t;
    int active;      /* lp_wait_begin returned 1 */
    int slot;        /* waiter registry slot, -1 when none */
    int inflight;    /* this wait's entry in the thread's waits in progress, -1 when none */
    int sampled;     /* this event gets a stack and an aggregate entry */
    uint64_t stack;  /* waiter stack hash */
    uint64_t t0;     /* start of the real blocking call */
    const void *leaf;
    uintptr_t site;
};

/* A wait measured but not yet added to the tables: the CPython hook that measured it returned with the lock held,
 * and adding it then would lengthen the critical section; the thread's next wait, its exit or a dump picks it up.
 * state: LP_DEFER_EMPTY → (owner fills) → LP_DEFER_FULL → (owner records it) → LP_DEFER_EMPTY, or
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

struct lp_timeline_ev {
    uint64_t start_ns, dur_ns;
    uint64_t lock_key;
    uint64_t stack_hash;
    uint64_t tid; /* the recording thread: a recycled state's ring still holds its earlier owners' events */
};

/* Entries of the per-thread tables (read by the dump). */
struct lp_lock_ent {
    unsigned kind;
    uintptr_t addr;
    const char *type;
    const char *name;
    uintptr_t site;
};
struct lp_agg_ent {
    uint64_t lock_key, stack, holder_stack, tid, holder_tid;
    unsigned flags;
    const struct lp_labelset *labels; /* the waiting thread's labels (labels.h), NULL for none */
    _Atomic uint64_t count, wait_ns, max_ns;
    _Atomic uint32_t hist[LP_HIST_BUCKETS];
};

/* A wait in progress: what a dump says a thread is blocked on right now. Written by its thread before it blocks
 * (seq odd while it writes), read by a dump on any thread, even one that interrupted the writer. */
struct lp_inflight {
    _Atomic unsigned seq;
    unsigned kind, flags;
    uintptr_t addr;
    const char *type, *name; /* the classification known before blocking (stable strings), or NULL */
    uint64_t t0, stack;
    uint64_t holder_tid;     /* when the waiter knows it (the GIL holder), else 0 */
};
#define LP_INFLIGHT_MAX 4 /* waits nest: a CPython slow path's park, then the GIL taken back after it */

/* Acquisitions and hold times of a contended lock, sampled (lp_hold_*, below): one entry per thread and lock. */
struct lp_hold_ent {
    uint64_t lock_key;
    _Atomic uint64_t acquired; /* sampled acquisitions */
    _Atomic uint64_t held;     /* ... of which the hold time was measured (released by this thread) */
    _Atomic uint64_t hold_ns, max_ns;
};

/* A thread's tables. One writer (the thread); the dump reads them concurrently. */
struct lp_rec_thread {
    struct lp_map locks; /* lock key → struct lp_lock_ent */
    struct lp_map aggs;  /* agg key  → struct lp_agg_ent */
    struct lp_map holds; /* lock key → struct lp_hold_ent */
    struct {
        unsigned kind;
        uintptr_t addr;
        const char *type, *name;
    } last_lock; /* the previous event's lock and its key */
    uint64_t last_lock_key;
    unsigned sample_ctr;
    _Atomic uint64_t n_events, n_dropped;
    _Atomic uint64_t n_unsampled;       /* events skipped by LOCKPROF_SAMPLE */
    _Atomic uint64_t n_short, ns_short; /* waits below LOCKPROF_MIN_WAIT_NS: counted, not recorded */
    _Atomic uint64_t n_unblocked;       /* slow paths that took the lock without blocking: counted, not waits */
    struct lp_timeline_ev *tl;          /* LOCKPROF_TIMELINE ring */
    _Atomic uint64_t tl_head;           /* events ever written; the ring keeps the last lp_cfg.timeline */
    struct lp_deferred deferred;
    struct lp_inflight inflight[LP_INFLIGHT_MAX];
    _Atomic unsigned n_inflight; /* entries in use, innermost last */
};

/* Registers the thread-exit work of this layer (its deferred event). Constructor. */
void lp_record_init(void);

/* t's tables, created on first use; NULL when out of memory. */
struct lp_rec_thread *lp_rec_create(struct lp_thread *t);
static inline struct lp_rec_thread *lp_rec_of(struct lp_thread *t)
{
    struct lp_rec_thread *r = atomic_load_explicit(&t->rec, memory_order_relaxed);
    return LP_LIKELY(r != NULL) ? r : lp_rec_create(t);
}

/* Prepares to record a wait on `addr`. Returns 0 when this call must not be profiled (inside lockprof, disabled,
 * thread exiting); the caller then just calls the real function. `leaf` as in lp_stack_capture. */
int lp_wait_begin(struct lp_wait *w, uintptr_t addr, const void *leaf, uintptr_t site);
/* The same for a wait that began at t0 (lp_now() time, not 0). */
int lp_wait_begin_at(struct lp_wait *w, uintptr_t addr, const void *leaf, uintptr_t site, uint64_t t0);
/* Says what the wait in progress is (the event as classified so far), for dumps made while it lasts. A hook calls it
 * before it blocks; until it does, a dump reports the wait's address alone. */
void lp_wait_inflight(struct lp_wait *w, const struct lp_event *e);
/* The same for an episode measured outside lp_wait_begin/end (the GIL): pushes a wait in progress of t and returns
 * its index (-1 when there is no room), and pops it. */
int lp_inflight_push(struct lp_thread *t, const struct lp_event *e, uint64_t t0, uint64_t stack);
void lp_inflight_pop(struct lp_thread *t, int index);
/* Ends the wait started by lp_wait_begin and records it (no-op when !w->active). Reads the holder the
 * registry collected. Returns the wait in ns. */
uint64_t lp_wait_end(struct lp_wait *w, const struct lp_event *e);
/* The same with the end of the wait given (t1, lp_now() time). With `deferred`, the event is only stored in the
 * thread's deferred slot, for a caller that now holds the lock (the CPython hooks). */
uint64_t lp_wait_end_at(struct lp_wait *w, const struct lp_event *e, uint64_t t1, int deferred);
/* Ends a wait without recording it (the call failed without waiting, e.g. EDEADLK). */
void lp_wait_cancel(struct lp_wait *w);
/* Records an already measured wait (used where one episode spans several calls, e.g. the GIL). */
void lp_record(struct lp_thread *t, const struct lp_event *e, uint64_t t0, uint64_t wait_ns, uint64_t stack,
               uint64_t holder_stack, uint64_t holder_tid);
/* Records an already measured wait of the calling thread t at its next wait (the deferred slot, as lp_wait_end_at
 * with `deferred`): for a caller that holds the lock now. The holder is e->holder_stack / e->holder_tid. */
void lp_record_later(struct lp_thread *t, const struct lp_event *e, uint64_t t0, uint64_t wait_ns, uint64_t stack);
/* Counts a slow-path acquisition that never blocked (the CPython hooks): the profile's events_unblocked. */
void lp_record_unblocked(struct lp_thread *t);

/* Acquisition counts and hold times of contended locks (docs/DESIGN.md "Hold times of contended locks"), sampled:
 * one acquisition in LOCKPROF_HOLD_SAMPLE per thread (of any mutex) is looked at; when its lock is one the process
 * has recorded contention on, the acquisition is counted and its hold timed until this thread releases it. The mutex
 * hooks call lp_hold_acquired after every acquisition and lp_hold_releasing before every release: a counter and a
 * flag, the rest out of line. */
#define LP_HOLDS_MAX 4 /* sampled holds in progress per thread */
struct lp_hold_tls {
    unsigned ctr; /* acquisitions until the next sample */
    unsigned n;   /* sampled holds in progress */
    struct {
        uintptr_t addr;
        struct lp_hold_ent *e;
        uint64_t t0;
    } h[LP_HOLDS_MAX];
};
extern LP_TLS struct lp_hold_tls lp_hold;
void lp_hold_sample(uintptr_t lock);
void lp_hold_end(uintptr_t lock, int nested);
static inline void lp_hold_acquired(const void *lock)
{
    if (LP_UNLIKELY(lp_hold.ctr-- <= 1))
        lp_hold_sample((uintptr_t)lock);
}
/* `nested`: a recursive mutex's inner release (its hold goes on) */
static inline void lp_hold_releasing(const void *lock, int nested)
{
    if (LP_UNLIKELY(lp_hold.n))
        lp_hold_end((uintptr_t)lock, nested);
}
/* The contended lock whose key is `key` (its first contention recorded now, at `addr`): sampled from now on. */
void lp_hold_contended(uintptr_t addr, uint64_t key);

/* Whether any thread recorded anything (an event in its tables or its deferred slot). */
int lp_record_any(void);

/* Adds t's deferred event to its tables, if there is one and no dump holds it. Owner thread (or its exit) only. */
void lp_deferred_flush(struct lp_thread *t);
/* For a dump: holds t's deferred event, if any (1), until lp_deferred_put_back; meanwhile the owner does not
 * touch the slot's fields (it records new events directly), so the dump can read them. */
int lp_deferred_hold(struct lp_thread *t);
void lp_deferred_put_back(struct lp_thread *t);
/* The key of a lock in the per-thread `locks` tables. */
uint64_t lp_lock_key_of(unsigned kind, uintptr_t addr, const char *type, const char *name);

/* Time of the collector's start, for the profile's duration and timeline offsets. */
extern uint64_t lp_start_ns;

#endif
