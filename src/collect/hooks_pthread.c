/* hooks_pthread.c — the behaviour behind the interposed pthread and semaphore functions (preload.c only
 * forwards here). Owns nothing: it asks the CPython layer (py/py.h) what a wait is and whether a patched CPython
 * slow path blocks in it, and records through record.h. Every function has the same shape:
 *   1. try the lock without blocking: a default mutex in place (glibc_mutex.h), anything else with the real
 *      trylock (an uncontended acquisition costs one extra call);
 *   2. when it is busy: lp_wait_begin → classify → real blocking call → lp_wait_end;
 *   3. return the real function's result; errno is exactly what the real function left.
 * Releases (unlock, sem_post) look at the waiter registry only while some thread is blocked. */
#define _GNU_SOURCE 1
#include "hooks_pthread.h"

#include <errno.h>

#include "config.h"
#include "py/py.h"
#include "real.h"
#include "record.h"
#include "stack.h"
#include "waiters.h"

/* A release the waiter registry may have to hear about (somebody is blocked), in the two halves of waiters.h around
 * the real release: nothing expensive happens before it, while the lock is still held on the program's behalf. */
struct release {
    struct lp_release r;
    int active;
};

static inline void release_begin(struct release *x, uintptr_t addr, int sampled)
{
    x->active = 0;
    if (LP_LIKELY(!lp_waiters_at(addr)))
        return;
    x->active = 1;
    x->r.addr = addr;
    x->r.n = 0;
    x->r.t = NULL;
    x->r.hash = x->r.tid = 0;
    x->r.due = 0;
    if (lp_guard_enter()) {
        int e = errno;
        if (lp_waiters_reacquiring())
            lp_waiters_release_begin(&x->r, addr);
        else if (sampled && !lp_waiters_release_due(addr))
            x->active = 0; /* a hot lock's release, sampled out (stack.h lp_stack_release_due) */
        errno = e;
        lp_guard_leave();
    }
}

static inline void release_end(struct release *x, int released)
{
    if (LP_UNLIKELY(x->active) && released && lp_guard_enter()) {
        int e = errno;
        lp_waiters_release_end(&x->r);
        errno = e;
        lp_guard_leave();
    }
}

/* lp_wait_begin for a wait about to block in libc: a patched CPython slow path the thread is in blocks in this
 * call, so its wait is captured first (py/pytls.h). */
static inline int wait_begin(struct lp_wait *w, uintptr_t addr, uintptr_t site)
{
    lp_py_before_block();
    return lp_wait_begin(w, addr, NULL, site);
}

/* The caller's return address: the program's call site when the exported hook tail-called us (it does at -O2),
 * else a constant inside the hook. Only used as part of the stack cache key. */
#define SITE() ((uintptr_t)__builtin_return_address(0))

/* ---- mutexes ------------------------------------------------------------------------------------------ */


static void mutex_event(pthread_mutex_t *m, struct lp_event *ev, unsigned flags)
{
    *ev = (struct lp_event){.kind = LP_KIND_PTHREAD_MUTEX, .addr = (uintptr_t)m, .flags = flags};
    lp_py_classify_mutex(m, ev);
}

static inline int on(void) { return atomic_load_explicit(&lp_state, memory_order_relaxed) == LP_STATE_ON; }

/* A robust mutex (glibc's __kind has PTHREAD_MUTEX_ROBUST_NORMAL_NP, 16) is never tried first: on one in the
 * not-recoverable state, glibc 2.36's trylock returns ENOTRECOVERABLE but leaves the lock word set, and the lock
 * after it then waits forever instead of returning ENOTRECOVERABLE. Its lock word holds the owner's tid, 0 when
 * free (nptl/pthread_mutex_lock.c): it is only read, to tell a wait from an uncontended call. */
static inline int robust(const pthread_mutex_t *m) { return (m->__data.__kind & 16) != 0; }
static inline int looks_busy(const pthread_mutex_t *m)
{
    return __atomic_load_n(&m->__data.__lock, __ATOMIC_RELAXED) != 0;
}

/* A multi-threaded process: try first, time only a busy mutex. */
int lp_mutex_lock_mt(pthread_mutex_t *m)
{
    if (LP_UNLIKELY(!on()))
        return lp_real_pthread_mutex_lock(m); /* passthrough: nothing but the real call */
    if (LP_UNLIKELY(robust(m)))
        return looks_busy(m) ? lp_mutex_lock_slow(m, EBUSY) : lp_real_pthread_mutex_lock(m);
    int rc = lp_real_pthread_mutex_trylock(m);
    if (LP_LIKELY(acquired(rc))) {
        lp_hold_acquired(m);
        return rc;
    }
    return lp_mutex_lock_slow(m, rc);
}

int lp_mutex_trylock(pthread_mutex_t *m)
{
    int rc = lp_real_pthread_mutex_trylock(m);
    if (acquired(rc))
        lp_hold_acquired(m);
    return rc;
}

/* The trylock found the mutex busy (rc): the slow path of lp_mutex_lock (inline in hooks_pthread.h). */
int lp_mutex_lock_slow(pthread_mutex_t *m, int rc)
{
    struct lp_wait w;
    if (rc != EBUSY || !wait_begin(&w, (uintptr_t)m, SITE())) {
        if (rc == EBUSY && LP_UNLIKELY(lp_stack_unwinding_here()))
            return lp_stack_own_wait_lock(m); /* libunwind's own lock, busy: lockprof's own wait, counted */
        return lp_real_pthread_mutex_lock(m);
    }
    struct lp_event ev;
    mutex_event(m, &ev, 0);
    lp_wait_inflight(&w, &ev);
    rc = lp_real_pthread_mutex_lock(m);
    if (acquired(rc)) {
        lp_wait_end_at(&w, &ev, lp_now(), 1); /* recorded at this thread's next wait, not with m held */
        lp_hold_acquired(m);
    } else {
        lp_wait_cancel(&w);
    }
    return rc;
}

static int real_timedlock(pthread_mutex_t *m, int clocked, clockid_t clk, const struct timespec *abstime)
{
    return clocked ? lp_real_pthread_mutex_clocklock(m, clk, abstime) : lp_real_pthread_mutex_timedlock(m, abstime);
}

int lp_mutex_timedlock(pthread_mutex_t *m, int clocked, clockid_t clk, const struct timespec *abstime)
{
    if (LP_UNLIKELY(!on()) || (robust(m) && !looks_busy(m)))
        return real_timedlock(m, clocked, clk, abstime);
    int rc = robust(m) ? EBUSY : lp_real_pthread_mutex_trylock(m);
    if (LP_LIKELY(acquired(rc)))
        return rc;
    struct lp_wait w;
    int profiled = rc == EBUSY && wait_begin(&w, (uintptr_t)m, SITE());
    struct lp_event ev;
    if (profiled) {
        mutex_event(m, &ev, 0);
        lp_wait_inflight(&w, &ev);
    }
    rc = real_timedlock(m, clocked, clk, abstime);
    if (acquired(rc))
        lp_hold_acquired(m);
    if (profiled) {
        if (acquired(rc) || rc == ETIMEDOUT) {
            if (rc == ETIMEDOUT)
                ev.flags |= LP_AGG_FAILED;
            lp_wait_end_at(&w, &ev, lp_now(), 1);
        } else {
            lp_wait_cancel(&w);
        }
    }
    return rc;
}

int lp_mutex_unlock_slow(pthread_mutex_t *m)
{
    struct release x;
    release_begin(&x, (uintptr_t)m, 1);
    int rc = lp_glibc_mutex_mine(m) ? lp_glibc_mutex_unlock(m) : lp_real_pthread_mutex_unlock(m);
    release_end(&x, rc == 0);
    return rc;
}

/* ---- rwlocks ------------------------------------------------------------------------------------------ */

int lp_rwlock_lock(pthread_rwlock_t *l, int write, int timed, int clocked, clockid_t clk,
                   const struct timespec *abstime)
{
    int rc = LP_LIKELY(on()) ? (write ? lp_real_pthread_rwlock_trywrlock(l) : lp_real_pthread_rwlock_tryrdlock(l))
                             : EBUSY; /* passthrough: straight to the real call below */
    if (LP_LIKELY(rc == 0))
        return 0;
    struct lp_wait w;
    int profiled = rc == EBUSY && wait_begin(&w, (uintptr_t)l, SITE());
    if (profiled)
        lp_wait_inflight(&w, &(struct lp_event){.kind = LP_KIND_PTHREAD_RWLOCK, .addr = (uintptr_t)l,
                                                .flags = write ? LP_AGG_WRITE : 0});
    if (!timed)
        rc = write ? lp_real_pthread_rwlock_wrlock(l) : lp_real_pthread_rwlock_rdlock(l);
    else if (clocked)
        rc = write ? lp_real_pthread_rwlock_clockwrlock(l, clk, abstime)
                   : lp_real_pthread_rwlock_clockrdlock(l, clk, abstime);
    else
        rc = write ? lp_real_pthread_rwlock_timedwrlock(l, abstime) : lp_real_pthread_rwlock_timedrdlock(l, abstime);
    if (profiled) {
        if (rc == 0 || rc == ETIMEDOUT) {
            unsigned flags = (write ? LP_AGG_WRITE : 0) | (rc ? LP_AGG_FAILED : 0);
            lp_wait_end_at(&w, &(struct lp_event){.kind = LP_KIND_PTHREAD_RWLOCK, .addr = (uintptr_t)l, .flags = flags},
                           lp_now(), 1);
        } else {
            lp_wait_cancel(&w);
        }
    }
    return rc;
}

int lp_rwlock_unlock(pthread_rwlock_t *l)
{
    struct release x;
    release_begin(&x, (uintptr_t)l, 1);
    int rc = lp_real_pthread_rwlock_unlock(l);
    release_end(&x, rc == 0);
    return rc;
}

/* ---- condition variables ------------------------------------------------------------------------------ */

/* When a timed condition wait gives up, on lp_now()'s clock (0 = never): pthread_cond_timedwait measures abstime on
 * the condition's clock (glibc: bit 1 of __wrefs set = CLOCK_MONOTONIC), pthread_cond_clockwait on `clk`. */
static uint64_t cond_deadline(pthread_cond_t *c, int clocked, clockid_t clk, const struct timespec *abstime)
{
    if (!abstime || abstime->tv_nsec < 0 || abstime->tv_nsec >= 1000000000)
        return 0;
    clockid_t k = clocked ? clk : (__atomic_load_n(&c->__data.__wrefs, __ATOMIC_RELAXED) & 2) ? CLOCK_MONOTONIC
                                                                                              : CLOCK_REALTIME;
    struct timespec now;
    if (clock_gettime(k, &now))
        return 0;
    int64_t left = ((int64_t)abstime->tv_sec - (int64_t)now.tv_sec) * 1000000000 + (abstime->tv_nsec - now.tv_nsec);
    uint64_t base = lp_now();
    return left > 0 ? base + (uint64_t)left : base;
}

/* What a condition wait that a thread cancellation unwinds must give back. */
struct cond_wait_state {
    struct lp_wait *w;
    int reacquire_slot;
};

static void cond_wait_cancelled(void *arg)
{
    struct cond_wait_state *st = arg;
    struct lp_reacquire unused;
    lp_waiters_reacquire_end(st->reacquire_slot, lp_now(), &unused);
    lp_wait_cancel(st->w);
}

static int real_cond_wait(pthread_cond_t *c, pthread_mutex_t *m, int timed, clockid_t clk,
                          const struct timespec *abstime, int clocked)
{
    if (!timed)
        return lp_real_pthread_cond_wait(c, m);
    return clocked ? lp_real_pthread_cond_clockwait(c, m, clk, abstime) : lp_real_pthread_cond_timedwait(c, m, abstime);
}

int lp_cond_wait(pthread_cond_t *c, pthread_mutex_t *m, int timed, clockid_t clk, const struct timespec *abstime,
                 int clocked)
{
    int rc;
    lp_hold_releasing(m, 0); /* the wait releases m: a sampled hold of it ends here */
    lp_py_before_block();
    if (atomic_load_explicit(&lp_state, memory_order_relaxed) == LP_STATE_ON &&
        lp_py_cond_wait(c, m, timed, clocked, clk, abstime, &rc))
        return rc;
    struct lp_wait w;
    if (!lp_wait_begin(&w, (uintptr_t)c, NULL, SITE()))
        return real_cond_wait(c, m, timed, clk, abstime, clocked);
    lp_wait_inflight(&w, &(struct lp_event){.kind = LP_KIND_PTHREAD_COND, .addr = (uintptr_t)c});
    /* The real call releases m inside, where nothing runs after it: a release other threads may be blocked on, told
     * to the registry before it happens (so a fresh holder stack, when one is due, is taken with m still held). */
    struct release x;
    release_begin(&x, (uintptr_t)m, 0);
    release_end(&x, 1);
    /* ... and its re-acquisition on the way out (waiters.h), for which this thread now registers, m still held */
    struct cond_wait_state st = {&w, -1};
    if (lp_guard_enter()) {
        int e = errno;
        st.reacquire_slot = lp_waiters_claim_reacquire(w.slot, (uintptr_t)m, (uintptr_t)c, w.t0,
                                                       timed ? cond_deadline(c, clocked, clk, abstime) : 0);
        errno = e;
        lp_guard_leave();
    }
    pthread_cleanup_push(cond_wait_cancelled, &st);
    rc = real_cond_wait(c, m, timed, clk, abstime, clocked);
    pthread_cleanup_pop(0);

    /* The wait for the condition ends when the thread was woken; the rest, blocked re-acquiring m, is contention on
     * m: an estimate, flagged as such (LP_AGG_REACQUIRE), with this wait's stack and the release that let it in. */
    int e = errno;
    lp_hold_acquired(m);
    uint64_t now = lp_now();
    struct lp_reacquire ra = {0};
    if (st.reacquire_slot >= 0) {
        lp_tls.depth++;
        lp_waiters_reacquire_end(st.reacquire_slot, now, &ra);
        lp_tls.depth--;
    }
    if (ra.ns > now - w.t0)
        ra.ns = now - w.t0;
    uint64_t stack = w.stack;
    int sampled = w.sampled;
    lp_wait_end_at(&w, &(struct lp_event){.kind = LP_KIND_PTHREAD_COND, .addr = (uintptr_t)c,
                                          .flags = rc == ETIMEDOUT ? LP_AGG_FAILED : 0},
                   now - ra.ns, 0);
    if (ra.ns && sampled && ra.ns >= lp_cfg.min_wait_ns && w.t && lp_guard_enter()) {
        struct lp_event ev;
        mutex_event(m, &ev, LP_AGG_REACQUIRE);
        ev.holder_stack = ra.holder_hash;
        ev.holder_tid = ra.holder_tid;
        lp_record_later(w.t, &ev, now - ra.ns, ra.ns, stack);
        lp_guard_leave();
    }
    errno = e;
    return rc;
}

int lp_cond_signal(pthread_cond_t *c, int broadcast)
{
    if (LP_UNLIKELY(lp_waiters_at((uintptr_t)c)) && lp_guard_enter()) {
        int e = errno;
        lp_waiters_on_signal((uintptr_t)c, broadcast);
        errno = e;
        lp_guard_leave();
    }
    return broadcast ? lp_real_pthread_cond_broadcast(c) : lp_real_pthread_cond_signal(c);
}

/* ---- thread joins -------------------------------------------------------------------------------------
 * A join waits for a thread to end: a wait class of its own, not contention. It registers no waiter slot (nothing
 * releases it, and a main thread joining its workers for the whole run would otherwise send every unlock of the
 * process through the registry). The thread being joined is its "holder" where lockprof knows its tid. */

static int real_join(pthread_t t, void **ret, int timed, int clocked, clockid_t clk, const struct timespec *abstime)
{
    if (!timed)
        return lp_real_pthread_join(t, ret);
    return clocked ? lp_real_pthread_clockjoin_np(t, ret, clk, abstime) : lp_real_pthread_timedjoin_np(t, ret, abstime);
}

/* A wait that a thread cancellation unwinds (the call is a cancellation point): its slot and in-flight entry. */
static void wait_cancelled(void *w) { lp_wait_cancel(w); }

int lp_join(pthread_t t, void **ret, int timed, int clocked, clockid_t clk, const struct timespec *abstime)
{
    if (LP_UNLIKELY(!on()))
        return real_join(t, ret, timed, clocked, clk, abstime);
    /* Try first: a thread that has ended is joined at once (an error, e.g. EDEADLK or EINVAL, is what the blocking
     * call would return too, and it would not block either). */
    int rc = lp_real_pthread_tryjoin_np(t, ret);
    if (rc != EBUSY)
        return rc;
    struct lp_wait w;
    if (!wait_begin(&w, 0, SITE()))
        return real_join(t, ret, timed, clocked, clk, abstime);
    struct lp_event ev = {.kind = LP_KIND_PTHREAD_JOIN, .addr = (uintptr_t)t, .name = "pthread_join"};
    if (lp_guard_enter()) {
        ev.holder_tid = lp_thread_tid_of_live((uint64_t)t);
        lp_guard_leave();
    }
    lp_wait_inflight(&w, &ev);
    pthread_cleanup_push(wait_cancelled, &w);
    rc = real_join(t, ret, timed, clocked, clk, abstime);
    pthread_cleanup_pop(0);
    if (rc == 0 || rc == ETIMEDOUT) {
        if (rc)
            ev.flags |= LP_AGG_FAILED;
        lp_wait_end(&w, &ev);
    } else {
        lp_wait_cancel(&w);
    }
    return rc;
}

/* ---- semaphores --------------------------------------------------------------------------------------- */

static int real_sem_wait(sem_t *sem, int timed, clockid_t clk, const struct timespec *abstime, int clocked)
{
    if (!timed)
        return lp_real_sem_wait(sem);
    return clocked ? lp_real_sem_clockwait(sem, clk, abstime) : lp_real_sem_timedwait(sem, abstime);
}

int lp_sem_wait(sem_t *sem, int timed, clockid_t clk, const struct timespec *abstime, int clocked)
{
    if (LP_UNLIKELY(!on()))
        return real_sem_wait(sem, timed, clk, abstime, clocked); /* passthrough: nothing but the real call */
    lp_py_before_park(); /* a CPython wait for a lock its own thread holds is captured at its park */
    int saved = errno;
    if (LP_LIKELY(lp_real_sem_trywait(sem) == 0)) {
        if (LP_UNLIKELY(lp_py_in_hook()))
            lp_py_after_block(); /* a CPython park whose wake-up was already posted */
        if (LP_UNLIKELY(lp_py_tracks_sems()))
            lp_py_sem_taken(sem);
        return 0;
    }
    int busy = errno == EAGAIN;
    errno = saved; /* the failed try must not leak EAGAIN into a successful wait */
    int rc;
    if (LP_UNLIKELY(lp_py_in_hook()) && busy && lp_py_park(sem, timed, clk, abstime, clocked, &rc))
        return rc; /* the park of a patched CPython hook's own wait: the hook records it */
    struct lp_wait w = {.active = 0}; /* inactive unless wait_begin says otherwise: the cleanup below checks it */
    int profiled = busy && wait_begin(&w, (uintptr_t)sem, SITE());
    struct lp_event ev = {.kind = LP_KIND_SEMAPHORE, .addr = (uintptr_t)sem};
    if (profiled && lp_guard_enter()) {
        int e = errno;
        lp_py_classify_sem(sem, &ev);
        errno = e;
        lp_guard_leave();
    }
    if (profiled)
        lp_wait_inflight(&w, &ev);
    /* sem_wait is a cancellation point: a cancelled waiter gives its registry slot back (else 16 cancelled
     * waiters of one semaphore would fill its probe range, and its later waits would have no holder) */
    pthread_cleanup_push(wait_cancelled, &w);
    rc = real_sem_wait(sem, timed, clk, abstime, clocked);
    pthread_cleanup_pop(0);
    if (LP_UNLIKELY(lp_py_in_hook()))
        lp_py_after_block(); /* the end of a CPython park */
    if (!profiled)
        return rc;
    int e = errno;
    if (rc == 0 && lp_py_tracks_sems())
        lp_py_sem_taken(sem);
    if (rc == 0 || e == ETIMEDOUT) {
        if (rc)
            ev.flags |= LP_AGG_FAILED;
        lp_wait_end(&w, &ev);
    } else {
        lp_wait_cancel(&w); /* EINTR, EINVAL: no acquisition, nothing to attribute */
    }
    errno = e;
    return rc;
}

int lp_sem_post(sem_t *sem)
{
    /* The waiter a post wakes runs at once, and nothing after the post could reach it in time: the holder is stamped
     * (and a fresh stack captured when due) before the post. A post releases no lock of the program's on the
     * program's behalf but a 3.11/3.12 threading.Lock's; CPython's parking lot posts after it released the PyMutex
     * (Python/lock.c: the unpark callback hands it over first), to a semaphore of the waiter's own. */
    struct release x;
    release_begin(&x, (uintptr_t)sem, 0);
    release_end(&x, 1);
    if (LP_UNLIKELY(lp_py_tracks_sems()))
        lp_py_sem_posted(sem); /* before the post: after it, another thread may already have taken it */
    return lp_real_sem_post(sem);
}

int lp_sem_trywait(sem_t *sem)
{
    int rc = lp_real_sem_trywait(sem);
    if (rc == 0 && LP_UNLIKELY(lp_py_tracks_sems())) {
        int e = errno;
        lp_py_sem_taken(sem);
        errno = e;
    }
    return rc;
}
