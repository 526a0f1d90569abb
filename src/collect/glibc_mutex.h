/* glibc_mutex.h — the uncontended lock and unlock of a default glibc mutex, done in place.
 *
 * Why: an interposer that forwards every pthread_mutex_lock/unlock to libc pays a call through the PLT into the
 * preload library and a second one into libc, a cost every uncontended lock/unlock pair would carry
 * (docs/PERFORMANCE.md, row 1; docs/DESIGN.md, "Default mutexes locked in place"). For the default mutex kind the fast path is a handful of instructions on public fields of pthread_mutex_t,
 * so lockprof performs it itself, exactly as glibc does, and calls libc only when the mutex is busy (that is a
 * wait: hooks_pthread.c times it) or of any other kind.
 *
 * What glibc does (glibc 2.36 nptl/pthread_mutex_lock.c, pthread_mutex_unlock.c, sysdeps/nptl/lowlevellock.h;
 * checked against this machine's libc.so.6 disassembly), for a mutex whose __data.__kind is 0
 * (PTHREAD_MUTEX_TIMED_NP, process-private, not robust, no priority protocol, no elision):
 *   lock:   __lock 0 -> 1 (a plain store while __libc_single_threaded, else a compare-and-swap with acquire);
 *           busy: __lll_lock_wait (futex protocol 0 free, 1 locked, 2 locked with waiters);
 *           then __owner = the thread's kernel tid, ++__nusers;
 *   unlock: __owner = 0, --__nusers, then __lock = 0 (plain while single-threaded, else an exchange with
 *           release) and FUTEX_WAKE_PRIVATE of one waiter when the old value was above 1.
 * The struct layout is glibc's public ABI (bits/struct_mutex.h); the protocol is what lp_glibc_mutex_init()
 * verifies against the real functions at start-up before it turns the fast path on (and why it stays off under
 * an elision tunable, another interposer after lockprof, or LOCKPROF_MUTEX_FAST_PATH=0). */
#ifndef LP_GLIBC_MUTEX_H
#define LP_GLIBC_MUTEX_H

#include <pthread.h>
#include <sys/single_threaded.h>

#include "lp.h"
#include "thread.h"

/* Set once by lp_glibc_mutex_init() in the constructor (threads a library started before it may already be
 * locking: either answer is right for them, both paths speak the same protocol). */
extern _Atomic int lp_glibc_mutex_on;

/* Turns the fast path on when the checks pass; warns once when they fail for a reason the user did not choose. */
void lp_glibc_mutex_init(int wanted);
/* "1", or "0: <why>" for the profile's metadata. */
const char *lp_glibc_mutex_state(void);
/* A waiter slept on the futex word: wake one, keeping errno (the unlock's slow part, out of line). */
void lp_glibc_mutex_wake(pthread_mutex_t *m);

/* The mutex is of the kind lockprof locks in place. */
static inline int lp_glibc_mutex_mine(const pthread_mutex_t *m)
{
    return LP_LIKELY(atomic_load_explicit(&lp_glibc_mutex_on, memory_order_relaxed)) && m->__data.__kind == 0;
}

/* The kernel tid glibc stores in __owner. lp_tls.tid is this thread's, cleared in a forked child's only thread
 * (thread.c); before that clearing, the child's atfork handlers registered ahead of lockprof's would store the
 * parent's tid, which for this mutex kind only a debugger reads. */
static inline int lp_glibc_mutex_tid(void)
{
    uint64_t t = lp_tls.tid;
    return (int)(LP_LIKELY(t) ? t : lp_gettid());
}

/* Takes a free mutex of lockprof's kind: 1 taken, 0 busy (nothing changed). */
static inline int lp_glibc_mutex_trylock(pthread_mutex_t *m)
{
    int *w = &m->__data.__lock;
    if (__libc_single_threaded) {
        if (*w != 0)
            return 0;
        *w = 1;
    } else {
        int expect = 0;
        if (!__atomic_compare_exchange_n(w, &expect, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return 0;
    }
    m->__data.__owner = lp_glibc_mutex_tid();
    m->__data.__nusers++;
    return 1;
}

/* Releases a mutex of lockprof's kind; glibc returns 0 for this kind whatever the state. */
static inline int lp_glibc_mutex_unlock(pthread_mutex_t *m)
{
    m->__data.__owner = 0;
    m->__data.__nusers--;
    if (__libc_single_threaded) {
        m->__data.__lock = 0;
        return 0;
    }
    if (LP_UNLIKELY(__atomic_exchange_n(&m->__data.__lock, 0, __ATOMIC_RELEASE) > 1))
        lp_glibc_mutex_wake(m);
    return 0;
}

#endif
