/* lp_format.h — the vocabulary shared by the collector (which writes profiles) and the CLI (which reads them):
 * format version, lock kinds, aggregate flags and histogram geometry. The record grammar itself is specified in
 * docs/FORMAT.md; writer.c and reader.c are its only implementations. Nothing here allocates or has state. */
#ifndef LP_FORMAT_H
#define LP_FORMAT_H

#include <stdint.h>

#define LP_FORMAT_MAGIC "lockprof-profile"
#define LP_FORMAT_VERSION 2 /* what writer.c writes; reader.c reads every version from 1 up to this one */

/* Label sets (`g` records, version 2): at most this many bytes in the canonical form the collector takes
 * (key NUL value NUL ..., docs/FORMAT.md), and a key is non-empty and has no byte that lp_label_key_byte_ok
 * refuses, so `--label KEY=VALUE` and the `label=KEY:VALUE` selector of `check` can name every key. */
#define LP_LABELS_MAX_BYTES 4096

static inline int lp_label_key_byte_ok(unsigned char c)
{
    return c > 0x20 && c != 0x7f && c != '=' && c != ',' && c != ':';
}

/* Module flags (the FLAGS field of an `o` record, version 2). */
enum lp_module_flag {
    LP_MODULE_UNLOADED = 1u << 0, /* dlclose unloaded it before the profile was written */
};
#define LP_MODULE_FLAGS_KNOWN 0x1u

/* Log2 wait histogram: bucket 0 holds waits < 2 ns, bucket b (1..LP_HIST_BUCKETS-2) holds [2^b, 2^(b+1)) ns,
 * the last bucket everything from 2^(LP_HIST_BUCKETS-1) ns (~9 minutes) up. */
#define LP_HIST_BUCKETS 40

/* Lock kinds. The numeric values are internal; the profile stores the names (lp_kind_name). */
enum lp_kind {
    LP_KIND_PTHREAD_MUTEX = 0,
    LP_KIND_PTHREAD_RWLOCK,
    LP_KIND_PTHREAD_COND,   /* wait class: waiting for a condition to be signalled */
    LP_KIND_SEMAPHORE,      /* wait class: waiting for a semaphore to be posted */
    LP_KIND_GIL,
    LP_KIND_THREADING_LOCK, /* threading.Lock (and Condition/Queue/Event/Semaphore built on it) */
    LP_KIND_THREADING_RLOCK,
    LP_KIND_PYMUTEX,        /* CPython PyMutex: object locks (critical sections) and runtime locks */
    LP_KIND_PARKING_LOT,    /* other CPython parking-lot waits: PyEvent, once-flags, rw-mutex, stop-the-world */
    LP_KIND_PTHREAD_JOIN,   /* wait class: pthread_join and its timed variants, waiting for a thread to exit */
    LP_KIND_COUNT
};

/* Aggregate flags (the FLAGS field of an `a` record, hexadecimal). */
enum lp_agg_flag {
    LP_AGG_SELF = 1u << 0,      /* the waiter itself held the lock (nested critical section): not contention */
    LP_AGG_WRITE = 1u << 1,     /* rwlock: exclusive (write) acquisition */
    LP_AGG_REACQUIRE = 1u << 2, /* mutex re-acquisition after a condition-variable wake-up */
    LP_AGG_PARKED = 1u << 3,    /* pymutex: the waiter slept in the parking lot (otherwise it only spun) */
    LP_AGG_NOTIFY = 1u << 4,    /* a wait for a notification (Condition.wait, Event.wait, Queue.get, join ...) */
    LP_AGG_HANDOFF = 1u << 5,   /* gil: the releasing thread waited for a waiter to take the GIL (drop_gil) */
    LP_AGG_FAILED = 1u << 6,    /* the wait ended without the lock (timeout) */
};
#define LP_AGG_FLAGS_KNOWN 0x7fu

static inline const char *lp_kind_name(unsigned k)
{
    static const char *const names[LP_KIND_COUNT] = {
        "pthread_mutex", "pthread_rwlock", "pthread_cond", "semaphore", "gil",
        "threading.Lock", "threading.RLock", "pymutex", "parking_lot", "pthread_join",
    };
    return k < LP_KIND_COUNT ? names[k] : "unknown";
}

/* Wait classes are waits for an event rather than for a lock somebody holds. */
static inline int lp_kind_is_wait_class(unsigned k)
{
    return k == LP_KIND_PTHREAD_COND || k == LP_KIND_SEMAPHORE || k == LP_KIND_PTHREAD_JOIN;
}

static inline unsigned lp_hist_bucket(uint64_t ns)
{
    unsigned b = ns < 2 ? 0 : 63u - (unsigned)__builtin_clzll(ns);
    return b >= LP_HIST_BUCKETS ? LP_HIST_BUCKETS - 1 : b;
}

#endif
