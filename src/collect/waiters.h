/* waiters.h — the registry of threads blocked right now, which is how a releasing thread finds out that it
 * made somebody wait and hands them its stack (the "blocked by" / holder stack).
 *
 * A waiter claims a slot keyed by the address it blocks on before it blocks, and frees it when the wait ends.
 * A releasing thread (mutex/rwlock unlock, sem_post, cond wait entry) first reads one global counter; only when
 * some thread is blocked does it look up the slots of its address, and only when a waiter is found does it pay
 * for capturing its own stack. Lock-free: slots are claimed with compare-and-swap. */
#ifndef LP_WAITERS_H
#define LP_WAITERS_H

#include <stdatomic.h>
#include <stdint.h>

#define LP_WAITSLOTS 1024
#define LP_WAITPROBE 16

struct lp_waitslot {
    _Alignas(64) _Atomic uint64_t seq; /* bumped at every claim, so late writers can tell a reused slot */
    _Atomic uintptr_t mutex;      /* condition variables: the mutex the waiter passed */
    _Atomic uint64_t holder_hash; /* stack hash of the last thread that released the address while we waited */
    _Atomic uint64_t holder_tid;
    _Atomic uint64_t release_ns;  /* when that release happened */
    _Atomic uint64_t signal_ns;   /* condition variables: when a signal/broadcast reached this waiter */
    _Atomic int signal_held;      /* ... and the signaller held the waiter's mutex at that moment */
};

extern _Atomic long lp_n_blocked;

/* Claims a slot for `addr`; returns its index or -1 when the registry is full (the wait is still recorded,
 * only without a holder). */
int lp_waiters_claim(uintptr_t addr, uintptr_t mutex);
void lp_waiters_release(int slot);
struct lp_waitslot *lp_waiters_slot(int slot);

/* Called by a thread that releases `addr`: if anybody waits on it, captures the caller's stack once and stores
 * it (and the time) in every matching slot. */
void lp_waiters_on_release(uintptr_t addr);
/* pthread_cond_signal/broadcast: marks the waiters of `cond` as signalled. When the signalling thread holds
 * their mutex, it also remembers them (thread-locally) so that its unlock of that mutex stamps the moment
 * the woken waiters could take the mutex back: the re-acquisition wait. */
void lp_waiters_on_signal(uintptr_t cond);

/* Forgets every slot (child after fork: the parent's waiters do not exist here). */
void lp_waiters_reset(void);

/* Whether a release of any lock must look at the registry: somebody is blocked. */
static inline int lp_waiters_any(void)
{
    return atomic_load_explicit(&lp_n_blocked, memory_order_relaxed) != 0;
}

#endif
