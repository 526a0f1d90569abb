/* waiters.c — see waiters.h. The address array is separate from the slot details so the releaser's scan
 * touches two cache lines. */
#define _GNU_SOURCE 1
#include "waiters.h"

#include <pthread.h>
#include <string.h>

#include "config.h"
#include "lp.h"
#include "stack.h"
#include "thread.h"

_Atomic long lp_n_blocked;
static _Atomic uintptr_t slot_addr[LP_WAITSLOTS];
static struct lp_waitslot slots[LP_WAITSLOTS];

/* Signals this thread sent while holding the waiters' mutex, waiting for our unlock of it. */
#define MAX_PENDING 8
static LP_TLS struct pending {
    int slot;
    uint64_t seq;
    uintptr_t mutex;
} pend[MAX_PENDING];
static LP_TLS int n_pend;

static unsigned home(uintptr_t addr) { return (unsigned)(lp_mix(0, addr) & (LP_WAITSLOTS - 1)); }

int lp_waiters_claim(uintptr_t addr, uintptr_t mutex)
{
    if (!addr)
        return -1;
    unsigned h = home(addr);
    for (unsigned i = 0; i < LP_WAITPROBE; i++) {
        unsigned s = (h + i) & (LP_WAITSLOTS - 1);
        uintptr_t expect = 0;
        if (atomic_load_explicit(&slot_addr[s], memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong(&slot_addr[s], &expect, addr)) {
            struct lp_waitslot *w = &slots[s];
            atomic_fetch_add(&w->seq, 1);
            atomic_store_explicit(&w->mutex, mutex, memory_order_relaxed);
            atomic_store_explicit(&w->holder_hash, 0, memory_order_relaxed);
            atomic_store_explicit(&w->holder_tid, 0, memory_order_relaxed);
            atomic_store_explicit(&w->release_ns, 0, memory_order_relaxed);
            atomic_store_explicit(&w->signal_ns, 0, memory_order_relaxed);
            atomic_store_explicit(&w->signal_held, 0, memory_order_relaxed);
            atomic_fetch_add(&lp_n_blocked, 1);
            return (int)s;
        }
    }
    return -1;
}

void lp_waiters_release(int slot)
{
    if (slot < 0)
        return;
    atomic_store_explicit(&slot_addr[slot], 0, memory_order_release);
    atomic_fetch_sub(&lp_n_blocked, 1);
}

struct lp_waitslot *lp_waiters_slot(int slot) { return slot < 0 ? NULL : &slots[slot]; }

void lp_waiters_reset(void)
{
    for (unsigned i = 0; i < LP_WAITSLOTS; i++)
        atomic_store(&slot_addr[i], 0);
    atomic_store(&lp_n_blocked, 0);
    n_pend = 0;
}

static void stamp(struct lp_waitslot *w, uint64_t hash, uint64_t tid, uint64_t now)
{
    atomic_store_explicit(&w->holder_hash, hash, memory_order_relaxed);
    atomic_store_explicit(&w->holder_tid, tid, memory_order_relaxed);
    atomic_store_explicit(&w->release_ns, now, memory_order_release);
}

void lp_waiters_on_release(uintptr_t addr)
{
    unsigned h = home(addr);
    uint64_t hash = 0, now = 0, tid = 0;
    int captured = 0;
#define CAPTURE_ONCE()                                                                                        \
    do {                                                                                                      \
        if (!captured) {                                                                                      \
            struct lp_thread *t = lp_cfg.holders ? lp_thread_self() : NULL;                                  \
            hash = t ? lp_stack_capture(t, NULL, 0) : 0;                                                         \
            now = lp_now();                                                                                   \
            tid = lp_gettid();                                                                                \
            captured = 1;                                                                                     \
        }                                                                                                     \
    } while (0)
    for (unsigned i = 0; i < LP_WAITPROBE; i++) {
        unsigned s = (h + i) & (LP_WAITSLOTS - 1);
        if (atomic_load_explicit(&slot_addr[s], memory_order_acquire) != addr)
            continue;
        CAPTURE_ONCE();
        stamp(&slots[s], hash, tid, now);
    }
    for (int i = 0; i < n_pend;) {
        if (pend[i].mutex != addr) {
            i++;
            continue;
        }
        struct lp_waitslot *w = &slots[pend[i].slot];
        if (atomic_load(&w->seq) == pend[i].seq) {
            CAPTURE_ONCE();
            stamp(w, hash, tid, now);
        }
        pend[i] = pend[--n_pend];
    }
#undef CAPTURE_ONCE
}

void lp_waiters_on_signal(uintptr_t cond)
{
    unsigned h = home(cond);
    uint64_t now = 0;
    int me = -1;
    for (unsigned i = 0; i < LP_WAITPROBE; i++) {
        unsigned s = (h + i) & (LP_WAITSLOTS - 1);
        if (atomic_load_explicit(&slot_addr[s], memory_order_acquire) != cond)
            continue;
        if (!now) {
            now = lp_now();
            me = (int)lp_gettid();
        }
        struct lp_waitslot *w = &slots[s];
        uintptr_t m = atomic_load_explicit(&w->mutex, memory_order_relaxed);
        /* glibc keeps the owner's thread id in every mutex type (struct __pthread_mutex_s.__owner). */
        int held = m && ((pthread_mutex_t *)m)->__data.__owner == me;
        atomic_store_explicit(&w->signal_held, held, memory_order_relaxed);
        atomic_store_explicit(&w->signal_ns, now, memory_order_release);
        if (held && n_pend < MAX_PENDING)
            pend[n_pend++] = (struct pending){(int)s, atomic_load(&w->seq), m};
    }
}
