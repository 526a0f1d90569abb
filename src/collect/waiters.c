/* waiters.c — see waiters.h. The address array is separate from the slot details so the releaser's scan
 * touches two cache lines. The only glibc facts used here are public fields of the pthread types: a condition's
 * __wrefs counts, in its bits 3 and up, the threads inside pthread_cond_*wait that have not yet been woken
 * (glibc 2.36 nptl/pthread_cond_wait.c: +8 before the mutex is released, -8 in __condvar_confirm_wakeup right
 * before the mutex is re-locked). */
#define _GNU_SOURCE 1
#include "waiters.h"

#include <pthread.h>
#include <string.h>

#include "config.h"
#include "lp.h"
#include "stack.h"
#include "thread.h"

_Atomic int lp_n_blocked[LP_WAITBUCKETS];
static _Atomic uintptr_t slot_addr[LP_WAITSLOTS];
static struct lp_waitslot slots[LP_WAITSLOTS];

static unsigned home(uintptr_t addr) { return (unsigned)(lp_mix(0, addr) & (LP_WAITSLOTS - 1)); }

#define RELAXED memory_order_relaxed
#define load(x) atomic_load_explicit(x, RELAXED)
#define store(x, v) atomic_store_explicit(x, v, RELAXED)

/* A slot is claimed in three steps: reserved (its address word set to SETTING_UP, which matches no lock), filled,
 * then published with the address it waits on. A releaser that finds the address therefore sees the slot's fields
 * as its waiter set them, never those of the slot's previous use. A re-acquisition slot is published with its
 * mutex's address tagged (REACQ: a bit no user-space address has), so that a releaser tells the two kinds apart
 * from the address array alone, without reading the slots, whose lines other releasers write. */
#define SETTING_UP ((uintptr_t)1)
#define REACQ ((uintptr_t)1 << 62)

/* The longest probe any claim ever needed: scans stop there (most programs: one or two slots). */
static _Atomic unsigned max_probe;
/* Re-acquisition slots claimed now: releases look for them before the release only while there are some. */
_Atomic long lp_n_reacquiring;
#define n_reacq lp_n_reacquiring

static unsigned probes(void) { return atomic_load_explicit(&max_probe, memory_order_acquire); }

static int reserve(uintptr_t addr)
{
    if (!addr || addr == SETTING_UP || (addr & REACQ))
        return -1;
    unsigned h = home(addr);
    for (unsigned i = 0; i < LP_WAITPROBE; i++) {
        unsigned s = (h + i) & (LP_WAITSLOTS - 1);
        uintptr_t expect = 0;
        if (load(&slot_addr[s]) == 0 && atomic_compare_exchange_strong(&slot_addr[s], &expect, SETTING_UP)) {
            struct lp_waitslot *w = &slots[s];
            atomic_fetch_add(&w->seq, 1);
            store(&w->link, -1);
            store(&w->cond, 0);
            store(&w->holder_hash, 0);
            store(&w->holder_tid, 0);
            store(&w->released, 0);
            unsigned m = atomic_load(&max_probe);
            while (m < i + 1 && !atomic_compare_exchange_weak(&max_probe, &m, i + 1))
                ;
            return (int)s;
        }
    }
    return -1;
}

static void publish(int s, uintptr_t addr)
{
    /* counted before it is published: a release that finds the slot also finds its bucket counted */
    atomic_fetch_add(&lp_n_blocked[lp_waiters_bucket(addr & ~REACQ)], 1);
    atomic_store_explicit(&slot_addr[s], addr, memory_order_release);
}

int lp_waiters_any(void)
{
    for (unsigned i = 0; i < LP_WAITBUCKETS; i++)
        if (atomic_load_explicit(&lp_n_blocked[i], memory_order_relaxed))
            return 1;
    return 0;
}

int lp_waiters_claim(uintptr_t addr, uintptr_t mutex)
{
    int s = reserve(addr);
    if (s >= 0) {
        store(&slots[s].mutex, mutex);
        publish(s, addr);
    }
    return s;
}

void lp_waiters_release(int slot)
{
    if (slot < 0)
        return;
    uintptr_t a = atomic_exchange_explicit(&slot_addr[slot], 0, memory_order_acq_rel);
    if (a && a != SETTING_UP)
        atomic_fetch_sub(&lp_n_blocked[lp_waiters_bucket(a & ~REACQ)], 1);
}

struct lp_waitslot *lp_waiters_slot(int slot) { return slot < 0 ? NULL : &slots[slot]; }

void lp_waiters_reset(void)
{
    for (unsigned i = 0; i < LP_WAITSLOTS; i++)
        atomic_store(&slot_addr[i], 0);
    for (unsigned i = 0; i < LP_WAITBUCKETS; i++)
        atomic_store(&lp_n_blocked[i], 0);
    atomic_store(&n_reacq, 0);
}

/* Returns the slot's new release count, which a later stamp of the same release compares against. */
static uint64_t stamp(struct lp_waitslot *w, uint64_t hash, uint64_t tid)
{
    uint64_t seen = atomic_load_explicit(&w->released, memory_order_acquire);
    if (seen && load(&w->holder_tid) == tid && load(&w->holder_hash) == hash)
        return seen; /* as the previous release left it: no write, so the line stays shared (a hot lock's waiter
                      * sleeps through many releases by the same threads) */
    store(&w->holder_hash, hash);
    store(&w->holder_tid, tid);
    uint64_t n = load(&w->released) + 1;
    atomic_store_explicit(&w->released, n, memory_order_release);
    return n;
}

/* ---- condition variables: the re-acquisition estimate ---------------------------------------------------- */

int lp_waiters_claim_reacquire(int cond_slot, uintptr_t mutex, uintptr_t cond, uint64_t since, uint64_t deadline)
{
    if (cond_slot < 0)
        return -1; /* nothing could mark it woken */
    int s = reserve(mutex);
    if (s < 0)
        return -1;
    struct lp_waitslot *w = &slots[s];
    store(&w->mutex, 0);
    store(&w->since_ns, since);
    store(&w->deadline_ns, deadline);
    store(&w->woken_ns, 0);
    store(&w->last_ns, 0);
    store(&w->acc_ns, 0);
    store(&w->last_busy, 0);
    store(&w->cond, cond);
    atomic_fetch_add(&n_reacq, 1);
    publish(s, mutex | REACQ);
    atomic_store_explicit(&slots[cond_slot].link, s, memory_order_release);
    return s;
}

static void mark_woken(struct lp_waitslot *w, uint64_t now)
{
    uint64_t zero = 0;
    if (atomic_compare_exchange_strong(&w->woken_ns, &zero, now))
        store(&w->last_ns, now);
}

/* When the waiter of re-acquisition slot w was woken, as known at `now`; 0 while it is not. */
static uint64_t woken_at(struct lp_waitslot *w, uint64_t now)
{
    uint64_t t = atomic_load_explicit(&w->woken_ns, memory_order_acquire);
    if (t)
        return t;
    uint64_t d = load(&w->deadline_ns);
    if (d && now >= d) {
        mark_woken(w, d); /* timed out: it woke at its deadline and re-locks the mutex like a signalled one */
        return atomic_load(&w->woken_ns);
    }
    return 0;
}

/* A release of mutex `m` by a thread that holds it, with re-acquisition slots re[0..n) for it. For each
 * condition those slots wait on: the condition's waiters that have been woken and not yet returned (the woken
 * ones are between glibc's confirmation of the wake-up and their return, i.e. re-locking m) number the
 * registered waiters minus __wrefs' count of waiters not yet woken. While this thread holds m nobody can return
 * (that takes m) and nobody can start waiting (that also takes m), so the count is exact at this moment, up to
 * waiters that are not registered (the registry was full; waits that started before lockprof). Since the
 * previous release, that many threads were re-acquiring m (counted at this end of the interval): the interval
 * times that number is shared among the woken waiters, and each is stamped with this release as its holder. */
static void account_reacquire(struct lp_release *r, const int *re, int n, uint64_t now, uint64_t tid)
{
    int done[LP_WAITPROBE] = {0};
    for (int i = 0; i < n; i++) {
        if (done[i])
            continue;
        uintptr_t c = atomic_load_explicit(&slots[re[i]].cond, memory_order_acquire);
        if (!c)
            continue; /* cannot happen while we hold the mutex (its waiters need it to leave); defensive */
        int members[LP_WAITPROBE], reg = 0;
        for (int j = i; j < n; j++)
            if (!done[j] && load(&slots[re[j]].cond) == c) {
                done[j] = 1;
                members[reg++] = re[j];
            }
        unsigned not_woken = __atomic_load_n(&((pthread_cond_t *)c)->__data.__wrefs, __ATOMIC_ACQUIRE) >> 3;
        uint64_t busy = reg > (int)not_woken ? (uint64_t)(reg - (int)not_woken) : 0;
        int cand[LP_WAITPROBE], n_cand = 0;
        for (int j = 0; j < reg; j++)
            if (woken_at(&slots[members[j]], now))
                cand[n_cand++] = members[j];
        if (!n_cand)
            continue;
        if (busy > (uint64_t)n_cand)
            busy = (uint64_t)n_cand;
        for (int j = 0; j < n_cand; j++) {
            struct lp_waitslot *w = &slots[cand[j]];
            uint64_t from = load(&w->last_ns);
            uint64_t woke = load(&w->woken_ns);
            if (from < woke)
                from = woke;
            if (busy && now > from)
                store(&w->acc_ns, load(&w->acc_ns) + (now - from) * busy / (uint64_t)n_cand);
            store(&w->last_ns, now);
            store(&w->last_busy, busy != 0);
            uint64_t rel = stamp(w, r->hash, tid);
            if (r->n < LP_WAITPROBE)
                r->w[r->n++] = (typeof(r->w[0])){cand[j], r->addr | REACQ, atomic_load(&w->seq), rel};
        }
    }
}

void lp_waiters_reacquire_end(int slot, uint64_t now, struct lp_reacquire *out)
{
    *out = (struct lp_reacquire){0};
    if (slot < 0)
        return;
    struct lp_waitslot *w = &slots[slot];
    if (woken_at(w, now)) {
        uint64_t acc = load(&w->acc_ns), last = load(&w->last_ns), since = load(&w->since_ns);
        if (load(&w->last_busy) && now > last)
            acc += now - last; /* blocked at the last release, which let it in: blocked until now */
        if (acc > now - since)
            acc = now - since;
        out->ns = acc;
        if (acc && atomic_load_explicit(&w->released, memory_order_acquire)) {
            out->holder_hash = load(&w->holder_hash);
            out->holder_tid = load(&w->holder_tid);
        }
    }
    lp_waiters_release(slot);
    atomic_fetch_sub(&n_reacq, 1);
}

void lp_waiters_on_signal(uintptr_t cond, int broadcast)
{
    unsigned h = home(cond);
    uint64_t now = 0;
    struct lp_waitslot *oldest = NULL;
    for (unsigned i = 0, n = probes(); i < n; i++) {
        unsigned s = (h + i) & (LP_WAITSLOTS - 1);
        if (atomic_load_explicit(&slot_addr[s], memory_order_acquire) != cond)
            continue;
        int l = atomic_load_explicit(&slots[s].link, memory_order_acquire);
        if (l < 0 || load(&slots[l].cond) != cond || load(&slots[l].woken_ns))
            continue;
        if (!now)
            now = lp_now();
        struct lp_waitslot *w = &slots[l];
        if (broadcast)
            mark_woken(w, now);
        else if (!oldest || load(&w->since_ns) < load(&oldest->since_ns))
            oldest = w;
    }
    /* glibc wakes the waiters of its older group first; which of them is not known: the oldest is a guess */
    if (oldest)
        mark_woken(oldest, now);
}

/* ---- releases ---------------------------------------------------------------------------------------------- */

int lp_waiters_release_begin(struct lp_release *r, uintptr_t addr)
{
    r->addr = addr;
    r->n = 0;
    r->t = NULL;
    r->hash = 0;
    r->tid = 0;
    r->due = 0;
    if (!atomic_load_explicit(&n_reacq, memory_order_acquire))
        return 1; /* no condition waiter anywhere: everything happens after the release */
    unsigned h = home(addr);
    int re[LP_WAITPROBE], n_re = 0;
    for (unsigned i = 0, n = probes(); i < n; i++) {
        unsigned s = (h + i) & (LP_WAITSLOTS - 1);
        if (atomic_load_explicit(&slot_addr[s], memory_order_acquire) == (addr | REACQ))
            re[n_re++] = (int)s;
    }
    if (n_re) {
        r->t = lp_cfg.holders ? lp_thread_self() : NULL;
        r->hash = r->t ? lp_stack_holder_last(r->t, addr, &r->due) : 0;
        r->tid = lp_gettid();
        account_reacquire(r, re, n_re, lp_now(), r->tid);
    }
    return 1;
}

int lp_waiters_release_due(uintptr_t addr)
{
    struct lp_thread *t = lp_thread_self();
    return !t || lp_stack_release_due(t, addr);
}

void lp_waiters_release_end(struct lp_release *r)
{
    /* The waiters on the address, stamped now that the lock is free: a woken waiter needs microseconds to run
     * again, this takes a fraction of one; a waiter that got the lock and left first keeps what an earlier release
     * stamped (its holder is then the thread that released the lock before). */
    uintptr_t addr = r->addr;
    unsigned h = home(addr);
    int n0 = r->n;
    for (unsigned i = 0, n = probes(); i < n && r->n < LP_WAITPROBE; i++) {
        unsigned s = (h + i) & (LP_WAITSLOTS - 1);
        if (atomic_load_explicit(&slot_addr[s], memory_order_acquire) == addr)
            r->w[r->n++] = (typeof(r->w[0])){(int)s, addr, atomic_load(&slots[s].seq), 0};
    }
    if (!r->n)
        return;
    if (!r->tid) {
        r->t = lp_cfg.holders ? lp_thread_self() : NULL;
        r->hash = r->t ? lp_stack_holder_last(r->t, addr, &r->due) : 0;
        r->tid = lp_gettid();
    }
    for (int i = n0; i < r->n; i++)
        r->w[i].rel = stamp(&slots[r->w[i].slot], r->hash, r->tid);
    if (!r->due)
        return;
    uint64_t fresh = lp_stack_holder_capture(r->t, addr);
    if (!fresh || fresh == r->hash)
        return;
    /* Waiters that already left, or that a later release stamped, keep what they have. */
    for (int i = 0; i < r->n; i++) {
        struct lp_waitslot *w = &slots[r->w[i].slot];
        if (atomic_load_explicit(&slot_addr[r->w[i].slot], memory_order_acquire) == r->w[i].key &&
            atomic_load(&w->seq) == r->w[i].seq && load(&w->released) == r->w[i].rel)
            store(&w->holder_hash, fresh);
    }
}
