/* record.h — the event path every hook shares. A hook that finds its lock busy brackets the real blocking call
 * with lp_wait_begin()/lp_wait_end(); in between it may classify the lock (kind, object type, name). The
 * result is added to the calling thread's aggregate table, keyed by (lock, waiter stack, holder stack, thread,
 * holder thread, flags), with count, total and maximum wait and a log2 histogram.
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
    int sampled;     /* this event gets a stack and an aggregate entry */
    uint64_t stack;  /* waiter stack hash */
    uint64_t t0;     /* start of the real blocking call */
    const void *leaf;
    uintptr_t site;
};

/* Prepares to record a wait on `addr`. Returns 0 when this call must not be profiled (inside lockprof,
 * disabled, thread exiting); the caller then just calls the real function. `leaf` as in lp_stack_capture. When
 * the thread is inside a patched CPython slow path that has not blocked yet, that wait is captured first
 * (lp_py_hook_blocking, py/hooks.c): this blocking call is part of it. */
int lp_wait_begin(struct lp_wait *w, uintptr_t addr, const void *leaf, uintptr_t site);
/* The same for a wait that began at t0 (lp_now() time, not 0). */
int lp_wait_begin_at(struct lp_wait *w, uintptr_t addr, const void *leaf, uintptr_t site, uint64_t t0);
/* Ends the wait started by lp_wait_begin and records it (no-op when !w->active). Reads the holder the
 * registry collected. Returns the wait in ns. */
uint64_t lp_wait_end(struct lp_wait *w, const struct lp_event *e);
/* The same with the end of the wait given (t1, lp_now() time). With `deferred`, the event is only stored in the
 * thread's deferred slot (thread.h), for a caller that now holds the lock (the CPython hooks). */
uint64_t lp_wait_end_at(struct lp_wait *w, const struct lp_event *e, uint64_t t1, int deferred);
/* Ends a wait without recording it (the call failed without waiting, e.g. EDEADLK). */
void lp_wait_cancel(struct lp_wait *w);
/* Records an already measured wait (used where one episode spans several calls, e.g. the GIL). */
void lp_record(struct lp_thread *t, const struct lp_event *e, uint64_t t0, uint64_t wait_ns, uint64_t stack,
               uint64_t holder_stack, uint64_t holder_tid);

/* Adds t's deferred event to its tables, if there is one and no dump holds it. Owner thread (or its exit) only. */
void lp_deferred_flush(struct lp_thread *t);
/* For a dump: holds t's deferred event, if any (1), until lp_deferred_put_back; meanwhile the owner does not
 * touch the slot's fields (it records new events directly), so the dump can read them. */
int lp_deferred_hold(struct lp_thread *t);
void lp_deferred_put_back(struct lp_thread *t);
/* The key of a lock in the per-thread `locks` tables. */
uint64_t lp_lock_key_of(unsigned kind, uintptr_t addr, const char *type, const char *name);

/* Entries of the per-thread tables (read by dump.c). */
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

/* Interns a string in the thread's table and returns a stable copy (NULL when out of memory). */
const char *lp_intern(struct lp_thread *t, const char *s, size_t n);

/* Time of the collector's start, for the profile's duration and timeline offsets. */
extern uint64_t lp_start_ns;

#endif
