/* hooks_pthread.h — behaviour of the interposed pthread/semaphore functions (see hooks_pthread.c). */
#ifndef LP_HOOKS_PTHREAD_H
#define LP_HOOKS_PTHREAD_H

#include <pthread.h>
#include <semaphore.h>
#include <time.h>

#include <errno.h>
#include <stdint.h>
#include <sys/single_threaded.h>

#include "glibc_mutex.h"
#include "lp.h"
#include "real.h"
#include "record.h"
#include "waiters.h"

static inline int lp_acquired(int rc) { return rc == 0 || rc == EOWNERDEAD; }
#define acquired lp_acquired

int lp_mutex_lock_slow(pthread_mutex_t *m, int rc);
int lp_mutex_lock_mt(pthread_mutex_t *m);
int lp_mutex_unlock_slow(pthread_mutex_t *m);
int lp_mutex_trylock(pthread_mutex_t *m);

/* pthread_mutex_lock's fast path, inlined into the exported symbol. A default mutex is taken in place
 * (glibc_mutex.h); busy, it is a wait, except in a process that has never had a second thread, where only the
 * caller itself can hold it and glibc's lock (a self-deadlock, as without lockprof) is what must happen. Other
 * kinds: one trylock, and a process that has never had a second thread cannot contend on a process-private
 * mutex (glibc's __data.__kind bit 128 marks process-shared ones), so there we call the real lock directly. */
static inline int lp_mutex_lock(pthread_mutex_t *m)
{
    if (lp_glibc_mutex_mine(m)) {
        if (LP_LIKELY(lp_glibc_mutex_trylock(m))) {
            lp_hold_acquired(m);
            return 0;
        }
        if (__libc_single_threaded)
            return lp_real_pthread_mutex_lock(m);
        return lp_mutex_lock_slow(m, EBUSY);
    }
    if (__libc_single_threaded && !(m->__data.__kind & 128))
        return lp_real_pthread_mutex_lock(m); /* a tail call: no frame of ours on this path */
    return lp_mutex_lock_mt(m);
}

/* Somebody is blocked (on an address of this mutex's bucket): the unlock goes through the waiter registry
 * (lp_mutex_unlock_slow). */
static inline int lp_mutex_unlock(pthread_mutex_t *m)
{
    lp_hold_releasing(m, m->__data.__count > 1); /* __count: a recursive mutex's depth, 0 for other kinds */
    if (LP_UNLIKELY(lp_waiters_at((uintptr_t)m)))
        return lp_mutex_unlock_slow(m);
    if (lp_glibc_mutex_mine(m))
        return lp_glibc_mutex_unlock(m);
    return lp_real_pthread_mutex_unlock(m);
}

int lp_mutex_timedlock(pthread_mutex_t *m, int clocked, clockid_t clk, const struct timespec *abstime);
int lp_rwlock_lock(pthread_rwlock_t *l, int write, int timed, int clocked, clockid_t clk,
                   const struct timespec *abstime);
int lp_rwlock_unlock(pthread_rwlock_t *l);
int lp_cond_wait(pthread_cond_t *c, pthread_mutex_t *m, int timed, clockid_t clk, const struct timespec *abstime,
                 int clocked);
int lp_cond_signal(pthread_cond_t *c, int broadcast);
int lp_join(pthread_t t, void **ret, int timed, int clocked, clockid_t clk, const struct timespec *abstime);
int lp_sem_wait(sem_t *sem, int timed, clockid_t clk, const struct timespec *abstime, int clocked);
int lp_sem_post(sem_t *sem);
int lp_sem_trywait(sem_t *sem);

#endif
