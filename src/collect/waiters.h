/* waiters.h — the registry of threads blocked right now, which is how a releasing thread finds out that it
 * made somebody wait and hands them its stack (the "blocked by" / holder stack), and how the time a woken
 * condition waiter spends re-acquiring its mutex is estimated.
 *
 * A waiter claims a slot keyed by the address it blocks on before it blocks, and frees it when the wait ends.
 * A releasing thread (mutex/rwlock unlock, sem_post, cond wait entry) first reads one global counter; only when
 * some thread is blocked does it look up the slots of its address. Lock-free: slots are claimed with
 * compare-and-swap. Nothing happens while the releasing thread still holds the program's lock, except the
 * accounting of condition waiters re-acquiring it (below): after the release, it finds the waiters and stamps its
 * thread id and the stack it last sampled for this lock into their slots, then may capture a fresh stack (at most
 * one per lock and LOCKPROF_HOLDER_INTERVAL_US, stack.c) and stamps that into the waiters still waiting
 * (docs/DESIGN.md "The waiter registry and holder stacks").
 *
 * A condition waiter holds two slots: one keyed by the condition (found by pthread_cond_signal/broadcast) and a
 * re-acquisition slot keyed by its mutex (found by every release of the mutex). glibc re-locks the mutex after a
 * wake-up inside pthread_cond_wait, where nothing can be interposed, so the time blocked there is estimated from
 * what the releases of the mutex see (docs/DESIGN.md "Re-acquiring the mutex after a condition wait"). */
#ifndef LP_WAITERS_H
#define LP_WAITERS_H

#include <stdatomic.h>
#include <stdint.h>

#define LP_WAITSLOTS 1024
#define LP_WAITPROBE 16

struct lp_thread;

struct lp_waitslot {
    _Alignas(64) _Atomic uint64_t seq; /* bumped at every claim, so late writers can tell a reused slot */
    _Atomic uintptr_t mutex;      /* a condition waiter's slot (keyed by the condition): the mutex it passed */
    _Atomic int link;             /* ... and the index of its re-acquisition slot, -1 when it has none */
    _Atomic uint64_t holder_hash; /* stack hash of the last thread that released the address while we waited */
    _Atomic uint64_t holder_tid;
    _Atomic uint64_t released;    /* releases of the address stamped into this slot (0: none yet) */
    /* re-acquisition slots only (keyed by the mutex); `cond` is 0 in every other slot */
    _Atomic uintptr_t cond;       /* the condition variable the waiter waits on */
    _Atomic uint64_t since_ns;    /* when its condition wait began (a signal wakes the oldest) */
    _Atomic uint64_t deadline_ns; /* a timed wait: when it times out (lp_now() clock), else 0 */
    _Atomic uint64_t woken_ns;    /* when a signal, broadcast or its deadline woke it, 0 while not yet */
    _Atomic uint64_t last_ns;     /* the last release of the mutex that accounted for it since it was woken */
    _Atomic uint64_t acc_ns;      /* estimated time blocked re-acquiring the mutex, up to last_ns */
    _Atomic int last_busy;        /* at that release, some woken waiter of the condition was re-acquiring */
};

/* Threads blocked now, counted per bucket of the address they block on (LP_WAITBUCKETS buckets in one cache line):
 * a release looks at the registry only when its own address's bucket counts somebody, so that a thread blocked on
 * one lock does not send the releases of every other lock of the process through the registry. */
#define LP_WAITBUCKETS 16
extern _Atomic int lp_n_blocked[LP_WAITBUCKETS];
static inline unsigned lp_waiters_bucket(uintptr_t addr) { return (unsigned)((addr >> 3) ^ (addr >> 9)) % LP_WAITBUCKETS; }
extern _Atomic long lp_n_reacquiring; /* condition waiters registered for re-acquiring their mutex */

/* Claims a slot for `addr`; returns its index or -1 when the registry is full (the wait is still recorded,
 * only without a holder). */
int lp_waiters_claim(uintptr_t addr, uintptr_t mutex);
void lp_waiters_release(int slot);
struct lp_waitslot *lp_waiters_slot(int slot);

/* A condition waiter (whose slot for the condition is `cond_slot`) about to release `mutex` inside the real
 * pthread_cond_*wait: claims its re-acquisition slot (keyed by the mutex) and links it to the condition's slot.
 * Called while the caller still holds the mutex. `since` is when the condition wait began, `deadline` when a timed
 * wait gives up (lp_now() clock, 0 = never). Returns the slot or -1. */
int lp_waiters_claim_reacquire(int cond_slot, uintptr_t mutex, uintptr_t cond, uint64_t since, uint64_t deadline);
/* The condition wait returned at `now` with the mutex held: the estimated time it was blocked re-acquiring it
 * (0 when it was not), and the thread and stack of the release that let it in. Frees the slot. */
struct lp_reacquire {
    uint64_t ns, holder_hash, holder_tid;
};
void lp_waiters_reacquire_end(int slot, uint64_t now, struct lp_reacquire *out);

/* A release of `addr`, in two halves around the real release. lp_waiters_release_begin (the caller still holds the
 * lock; called only while lp_waiters_reacquiring(), after the caller set r's fields to zero and r->addr) accounts
 * for the condition waiters re-acquiring the lock, and returns 1. lp_waiters_release_end (the lock released: `addr` is not dereferenced) stamps the caller's thread id
 * and the stack it last sampled for this lock into the waiters' slots, then captures a fresh holder stack when one
 * is due and stamps that into the waiters still waiting. Both are called inside the re-entrancy guard. */
struct lp_release {
    uintptr_t addr;
    struct lp_thread *t; /* NULL: holder stacks are off */
    uint64_t hash;       /* the stack stamped first (the one last sampled) */
    uint64_t tid;        /* the caller's, once known */
    int due;             /* a fresh holder stack is due (stack.h) */
    int n;
    struct {
        int slot;
        uintptr_t key;     /* what the slot is published under */
        uint64_t seq, rel; /* the slot's claim, and its release count after this release's stamp */
    } w[LP_WAITPROBE];
};
int lp_waiters_release_begin(struct lp_release *r, uintptr_t addr);
void lp_waiters_release_end(struct lp_release *r);

/* pthread_cond_signal/broadcast of `cond`, before the real call: marks the waiters it wakes (all of them for a
 * broadcast, the one that waited longest and is not yet woken for a signal) as woken now. */
void lp_waiters_on_signal(uintptr_t cond, int broadcast);

/* Forgets every slot (child after fork: the parent's waiters do not exist here). */
void lp_waiters_reset(void);

/* Whether this release of mutex or rwlock `addr` (somebody waits on its bucket) stamps its waiters: a hot lock's
 * releases are sampled per thread (stack.h lp_stack_release_due). Called inside the re-entrancy guard. */
int lp_waiters_release_due(uintptr_t addr);

/* Whether a release must call lp_waiters_release_begin before it: some condition waiter may re-acquire a mutex. */
static inline int lp_waiters_reacquiring(void)
{
    return atomic_load_explicit(&lp_n_reacquiring, memory_order_acquire) != 0;
}

/* Whether a release of `addr` must look at the registry: somebody is blocked on an address of its bucket. */
static inline int lp_waiters_at(uintptr_t addr)
{
    return atomic_load_explicit(&lp_n_blocked[lp_waiters_bucket(addr)], memory_order_relaxed) != 0;
}

/* Whether anybody is blocked at all. */
int lp_waiters_any(void);

#endif
