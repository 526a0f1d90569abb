/* hooks.c — the CPython lock slow paths lockprof patches (free-threaded contention mostly resolves while
 * spinning and never reaches a sem_* call, so the libc view alone misses it), and the park of their waits:
 *
 *   PyMutex_Lock(m)                              every slow-path PyMutex acquisition (3.13+)
 *   _PyCriticalSection_BeginSlow(c, m)           contended critical section on one object (3.13+ FT)
 *   _PyCriticalSection2_BeginSlow(c, m1, m2, l)  ... on two objects (3.13+ FT)
 *   _PyMutex_LockTimed(m, timeout, flags)        threading.Lock and internal callers (exported in 3.14; a
 *                                                local symbol in 3.13, patched when .symtab has it)
 *
 * Owns the per-thread slow-path state (py/pytls.h). The design is explained in docs/DESIGN.md ("Slow-path entry
 * patching", "Where a CPython wait ends", "Self-held waits", "Deferred events"); in short:
 *
 * Hooks nest (BeginSlow calls PyMutex_Lock, which may inline _PyMutex_LockTimed): the innermost hook that sees
 * the mutex records the wait and tells the outer ones not to; a nested hook for a *different* mutex (critical
 * sections resumed after a park) is a separate event. A wait on a mutex that an active critical section of the
 * same thread already holds is flagged LP_AGG_SELF (holder = waiter). When the wait parks, lp_py_park (below) notes
 * it (LP_AGG_PARKED) and hands over the stack of the thread whose sem_post woke us.
 *
 * A wait is captured at its first blocking call, not on entry. Entering the slow path only stamps the clock; the
 * first sched_yield of CPython's spin, or its park (sem_wait), or any other interposed blocking call asks
 * lp_py_before_block, which captures the stack, classifies the mutex and flushes the thread's deferred event,
 * while the thread is about to block anyway. A slow path that takes the lock before blocking at all (the lock was
 * free when CPython looked: about half of them in bench/ft_list.py) is no wait: it is counted (events_unblocked)
 * and not recorded. Capturing on entry would make every such slow path carry a stack capture and a table update,
 * and delay CPython's first look at the lock past the holder's short critical section. A thread re-locking an
 * object its own critical section holds is captured at its park instead of its first yield: the park has
 * suspended its critical sections, so the lock is free for the others while lockprof works.
 *
 * Nothing is done between taking the lock and returning to CPython but one counter increment for a slow path
 * that never blocked: no clock read, no table update (except with LOCKPROF_MIN_WAIT_NS, whose stacks are
 * captured after the wait by definition). The real function returns with the lock held, and whatever the hook
 * does then lengthens the critical section the caller is about to run (scripts/ft-floor.sh puts each part back to
 * measure it: docs/PERFORMANCE.md). Instead:
 *  - the end of the wait is stamped before the lock is taken. CPython's slow path (Python/lock.c
 *    _PyMutex_LockTimed, 3.13 and 3.14) blocks in two ways only, both interposed: spinning with _Py_yield() =
 *    sched_yield(), and parking in _PyParkingLot_Park → _PySemaphore_Wait = sem_wait/sem_timedwait/sem_clockwait
 *    (Python/parking_lot.c). After its last blocking call returns it takes the lock with a load and a
 *    compare-and-swap. So a wait ends where its last blocking call returned (lp_py_after_block). (After its 40th
 *    yield, CPython either takes the lock or parks, whatever the lock looked like when the yield returned: every
 *    yield is stamped.) A thread re-locking an object its own critical section holds stops waiting only after a
 *    park (the park suspends that critical section): its yields are not stamped (3.13 makes 40 of them on every
 *    dict.get of a dict the thread is inside).
 *  - the event goes to the thread's deferred slot (record.h) and into the tables at its next wait that blocks.
 * On a GIL build (or with the GIL re-enabled) a park ends with taking the GIL back, in pthread calls that are not
 * stamped: the PyMutex wait ends at the wake-up and the GIL wait after it is recorded as a GIL event. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "../real.h"
#include "../waiters.h"
#include "../record.h"
#include "frames.h"
#include "hooks.h"
#include "patch.h"
#include "py.h"
#include "pyrt.h"

/* A hook replaces the function whole, so its signature must be the real one: a target is patched only when the
 * interpreter's version entry (versions.c, `hooks`) says its signature was read for that version (a newer
 * CPython may add a parameter: a wrong signature corrupts the program, a missing hook only narrows the view to
 * the parking lot). */
struct target {
    const char *name;
    void *hook;
    void **orig;
    int ft_only;
    unsigned bit; /* LP_PYHOOK_* */
    uintptr_t entry;
};

typedef void (*mutex_lock_fn)(void *);
typedef void (*cs_begin_fn)(void *, void *);
typedef void (*cs2_begin_fn)(void *, void *, void *, int);
typedef int (*lock_timed_fn)(void *, int64_t, int);

static mutex_lock_fn orig_mutex_lock;
static cs_begin_fn orig_cs_begin;
static cs2_begin_fn orig_cs2_begin;
static lock_timed_fn orig_lock_timed;
static uintptr_t entry_mutex_lock, entry_cs_begin, entry_cs2_begin, entry_lock_timed;

struct phk {
    struct lp_wait w;
    struct lp_event ev; /* classified when the wait first blocks: nothing slow runs once the lock is ours */
    int active;         /* a wait being measured (lp_wait_begin succeeded) */
    int pending;        /* entered, not blocked yet: nothing captured (lp_py_hook_blocking) */
    uintptr_t m, m2, site, entry;
    uint64_t t0;
    struct lp_thread *t; /* the thread's state, looked up (or created) on entry, not once the lock is held */
    int self_held;
    /* the enclosing hook's thread-local state, restored at the end */
    int prev_recorded, prev_parked, prev_tstate_cached, prev_self_held;
    uint64_t prev_hstack, prev_htid;
    uintptr_t prev_m, prev_m2, prev_site;
    void *prev_pending;
};

/* Whether an active critical section of this thread holds m (cpython/pystate.h critical_section: a tagged
 * pointer chain; bit 0 = inactive (suspended, mutexes released), bit 1 = two mutexes; Python/critical_section.c). */
static int self_holds(uintptr_t m)
{
    if (lp_pyrt.L.ts_critical_section < 0 || !m)
        return 0;
    uintptr_t ts = lp_py_tstate();
    if (!ts)
        return 0;
    uintptr_t tag = LP_RD(uintptr_t, ts, lp_pyrt.L.ts_critical_section);
    for (int n = 0; n < 256 && tag && !(tag & 1); n++) {
        uintptr_t c = tag & ~(uintptr_t)3;
        if (LP_RD(uintptr_t, c, 8) == m || ((tag & 2) && LP_RD(uintptr_t, c, 16) == m))
            return 1;
        tag = LP_RD(uintptr_t, c, 0);
    }
    return 0;
}

/* Where the wait that started at t0 ended (see the top of this file). Called right after the real function. */
static uint64_t wait_end(uint64_t t0) { return lp_pytls.woke_ns > t0 ? lp_pytls.woke_ns : t0; }

static void phk_begin(struct phk *h, uintptr_t m, uintptr_t m2, uintptr_t entry, uintptr_t site)
{
    h->m = m;
    h->m2 = m2;
    h->site = site;
    h->prev_recorded = lp_pytls.recorded;
    h->prev_parked = lp_pytls.parked;
    h->prev_hstack = lp_pytls.holder_stack;
    h->prev_htid = lp_pytls.holder_tid;
    h->prev_m = lp_pytls.in_hook ? lp_pytls.mutex : 0;
    h->prev_m2 = lp_pytls.in_hook ? lp_pytls.mutex2 : 0;
    h->prev_site = lp_pytls.site;
    if (m && (m == h->prev_m || m == h->prev_m2))
        h->site = lp_pytls.site; /* called by an outer hook for the same mutex: its caller took the lock */
    lp_pytls.site = h->site;
    lp_pytls.recorded = 0;
    lp_pytls.parked = 0;
    lp_pytls.holder_stack = 0;
    lp_pytls.holder_tid = 0;
    lp_pytls.mutex = m;
    lp_pytls.mutex2 = m2;
    lp_pytls.in_hook++;
    h->self_held = 0;
    h->active = 0;
    h->pending = 0;
    h->w.active = 0;
    h->entry = entry;
    h->prev_self_held = lp_pytls.self_held;
    h->prev_tstate_cached = lp_pytls.tstate_cached;
    h->prev_pending = lp_pytls.pending;
    if (!lp_tls.depth && atomic_load_explicit(&lp_state, memory_order_relaxed) == LP_STATE_ON) {
        /* The thread's PyThreadState cannot change while it sits in this hook: look it up once. */
        if (!lp_pytls.tstate_cached) {
            lp_pytls.tstate = lp_py_tstate();
            lp_pytls.tstate_cached = 1;
        }
        h->self_held = self_holds(m) || self_holds(m2);
        h->t = NULL;
        if (lp_guard_enter()) {
            int saved = errno;
            h->t = lp_thread_self();
            errno = saved;
            lp_guard_leave();
        }
        h->pending = h->t != NULL;
        h->t0 = lp_now();
    }
    /* only this hook's wait is materialised by a blocking call inside it (an enclosing pending hook is not) */
    lp_pytls.pending = h->pending ? h : NULL;
    /* yields are no end of a wait for itself; with two mutexes the other one may be another thread's */
    lp_pytls.self_held = h->self_held && !m2;
}

void lp_py_hook_blocking(void)
{
    struct phk *h = lp_pytls.pending;
    if (!h || lp_tls.depth)
        return;
    lp_pytls.pending = NULL;
    h->pending = 0;
    int saved = errno;
    /* leaf: the hooked function; the stack is cut below this hook's own frame (stack.c) */
    h->active = lp_wait_begin_at(&h->w, 0, (const void *)(h->entry + 1), h->site, h->t0); /* began on entry */
    if (h->active) {
        h->ev = (struct lp_event){.kind = LP_KIND_PYMUTEX, .addr = h->m, .site = h->site};
        if (lp_guard_enter()) {
            lp_py_classify_pymutex(h->w.t, h->m, &h->ev);
            lp_guard_leave();
        }
        struct lp_event now = h->ev;
        if (h->self_held)
            now.flags |= LP_AGG_SELF;
        lp_wait_inflight(&h->w, &now);
    }
    errno = saved;
}

/* Whether sem_wait(sem) is the park of the patched CPython hook the thread is in: the parking lot's semaphore on
 * this thread's stack, for the hook's mutex. */
static int is_hook_park(sem_t *sem)
{
    uintptr_t s = (uintptr_t)sem;
    if (!lp_pytls.in_hook || !lp_pyrt.active || !lp_pyrt.L.parking_lot || !lp_py_on_my_stack(s))
        return 0;
    uintptr_t key = *(const uintptr_t *)(s - 8); /* struct wait_entry.addr, below: on our own stack */
    return key && (key == lp_pytls.mutex || key == lp_pytls.mutex2);
}

/* The park of a patched CPython hook's wait (py/hooks.c measures and records it): capture that wait if this is
 * its first blocking call, and register in the waiter table so that the sem_post that wakes us says who held the
 * lock. Nothing is recorded here. */
int lp_py_park(sem_t *sem, int timed, clockid_t clk, const struct timespec *abstime, int clocked, int *rc)
{
    if (lp_tls.depth || !is_hook_park(sem))
        return 0;
    lp_py_hook_blocking();
    int slot = lp_waiters_claim((uintptr_t)sem, 0);
    if (!timed)
        *rc = lp_real_sem_wait(sem);
    else
        *rc = clocked ? lp_real_sem_clockwait(sem, clk, abstime) : lp_real_sem_timedwait(sem, abstime);
    int e = errno;
    lp_py_after_block(); /* the end of a CPython park */
    struct lp_waitslot *s = lp_waiters_slot(slot);
    if (s && atomic_load_explicit(&s->released, memory_order_acquire)) {
        lp_pytls.holder_stack = atomic_load_explicit(&s->holder_hash, memory_order_relaxed);
        lp_pytls.holder_tid = atomic_load_explicit(&s->holder_tid, memory_order_relaxed);
    }
    lp_waiters_release(slot);
    lp_pytls.parked = 1;
    errno = e;
    return 1;
}

/* How a hooked call ended. */
enum { ACQUIRED, FAILED, NOT_LOCKED /* returned without taking the lock: no slow path at all */ };

static void phk_end(struct phk *h, int outcome)
{
    int failed = outcome == FAILED;
    uint64_t t1 = h->active ? wait_end(h->w.t0) : 0;
    lp_pytls.in_hook--;
    if (h->pending) {
        if (!lp_pytls.recorded && outcome != NOT_LOCKED)
            lp_record_unblocked(h->t); /* a slow path that never blocked: counted, not a wait */
    } else if (h->active && !lp_pytls.recorded) {
        struct lp_event ev = h->ev;
        if (h->self_held)
            ev.flags |= LP_AGG_SELF;
        if (lp_pytls.parked)
            ev.flags |= LP_AGG_PARKED;
        if (failed)
            ev.flags |= LP_AGG_FAILED;
        ev.holder_stack = lp_pytls.holder_stack;
        ev.holder_tid = lp_pytls.holder_tid;
        if (h->self_held && !ev.holder_tid)
            ev.holder_tid = lp_gettid();
        lp_wait_end_at(&h->w, &ev, t1, 1);
    } else {
        lp_wait_cancel(&h->w);
    }
    int for_outer = lp_pytls.in_hook && (h->m == h->prev_m || h->m == h->prev_m2 || (h->m2 && h->m2 == h->prev_m));
    lp_pytls.recorded = for_outer ? 1 : h->prev_recorded;
    lp_pytls.parked = h->prev_parked;
    lp_pytls.holder_stack = h->prev_hstack;
    lp_pytls.holder_tid = h->prev_htid;
    lp_pytls.mutex = h->prev_m;
    lp_pytls.mutex2 = h->prev_m2;
    lp_pytls.site = h->prev_site;
    lp_pytls.tstate_cached = h->prev_tstate_cached;
    lp_pytls.self_held = h->prev_self_held;
    lp_pytls.pending = h->prev_pending;
}

#define SITE() ((uintptr_t)__builtin_extract_return_addr(__builtin_return_address(0)))

/* Whether the enclosing hook is a one-object critical section waiting for m: its wait is this call's wait, and it
 * records it (from its own entry, one stack capture per wait). */
static int outer_waits_for(void *m)
{
    return lp_pytls.in_hook && lp_pytls.mutex == (uintptr_t)m && !lp_pytls.mutex2;
}

static void hook_mutex_lock(void *m)
{
    if (outer_waits_for(m)) {
        orig_mutex_lock(m);
        return;
    }
    struct phk h;
    phk_begin(&h, (uintptr_t)m, 0, entry_mutex_lock, SITE());
    orig_mutex_lock(m);
    phk_end(&h, ACQUIRED);
}

/* struct PyCriticalSection {uintptr_t _cs_prev; PyMutex *_cs_mutex;} (Include/cpython/critical_section.h, 3.13 and
 * 3.14; a PyCriticalSection2 starts with one). From 3.14 the slow path returns without locking when the thread's
 * top critical section holds the mutex already, or the world is stopped (Python/critical_section.c, 3.14.7), and
 * then leaves _cs_mutex NULL; 3.13 always locks and sets it. Such a call is no slow-path acquisition. */
static int cs_locked(void *c) { return ((void *const *)c)[1] != NULL; }

static void hook_cs_begin(void *c, void *m)
{
    struct phk h;
    phk_begin(&h, (uintptr_t)m, 0, entry_cs_begin, SITE());
    orig_cs_begin(c, m);
    phk_end(&h, cs_locked(c) ? ACQUIRED : NOT_LOCKED);
}

static void hook_cs2_begin(void *c, void *m1, void *m2, int m1_locked)
{
    struct phk h;
    /* the lower-addressed mutex is taken first; when it is already held the wait is for m2 */
    phk_begin(&h, (uintptr_t)(m1_locked ? m2 : m1), (uintptr_t)m2, entry_cs2_begin, SITE());
    orig_cs2_begin(c, m1, m2, m1_locked);
    phk_end(&h, cs_locked(c) ? ACQUIRED : NOT_LOCKED);
}

static int hook_lock_timed(void *m, int64_t timeout_ns, int flags)
{
    /* Unlike the others this one is also reached uncontended (threading.Lock.acquire calls it directly): try
     * the same fast path first (Python/lock.c: CAS in the LOCKED bit), and only time what is left. */
    uint8_t *bits = m, v = __atomic_load_n(bits, __ATOMIC_RELAXED);
    int r;
    if (!(v & 1) && __atomic_compare_exchange_n(bits, &v, (uint8_t)(v | 1), 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
        r = 1; /* PY_LOCK_ACQUIRED */
    } else if (timeout_ns == 0 || outer_waits_for(m)) {
        r = orig_lock_timed(m, timeout_ns, flags); /* a try is not a wait; an outer hook times this one */
    } else {
        struct phk h;
        phk_begin(&h, (uintptr_t)m, 0, entry_lock_timed, SITE());
        r = orig_lock_timed(m, timeout_ns, flags);
        phk_end(&h, r == 1 ? ACQUIRED : FAILED);
    }
    if (r == 1)
        lp_py_mutex_taken((uintptr_t)m); /* the owner a dump reports for a wait on this lock */
    return r;
}

/* The signatures each hook assumes are spelled out at LP_PYHOOK_* (layout.h); versions.c says for which
 * versions they were read. */
static struct target targets[] = {
    {"PyMutex_Lock", (void *)hook_mutex_lock, (void **)&orig_mutex_lock, 0, LP_PYHOOK_MUTEX_LOCK, 0},
    {"_PyMutex_LockTimed", (void *)hook_lock_timed, (void **)&orig_lock_timed, 0, LP_PYHOOK_LOCK_TIMED, 0},
    {"_PyCriticalSection_BeginSlow", (void *)hook_cs_begin, (void **)&orig_cs_begin, 1, LP_PYHOOK_CS_BEGIN, 0},
    {"_PyCriticalSection2_BeginSlow", (void *)hook_cs2_begin, (void **)&orig_cs2_begin, 1, LP_PYHOOK_CS2_BEGIN, 0},
};

void lp_py_patch_all(const struct lp_mod *m)
{
    if (!lp_pyrt.L.parking_lot)
        return; /* no PyMutex before 3.13 */
    char *ok = lp_pyrt.patched, *bad = lp_pyrt.refused;
    size_t okn = 0, badn = 0;
    int ready = lp_patch_ready(), warned = 0;
    if (!ready)
        lp_warn("not patching CPython's lock slow paths: " LP_ZYDIS_SONAME " cannot be loaded (only waits that "
                "reach the parking lot are seen)");
    enum { N = sizeof targets / sizeof targets[0] };
    struct lp_symq q[N];
    size_t nq = 0;
    for (size_t i = 0; i < N; i++)
        if (!targets[i].ft_only || lp_pyrt.L.ft)
            q[nq++] = (struct lp_symq){.name = targets[i].name};
    lp_symtab_find(m, q, nq); /* one pass over .symtab for those the loader does not know (local symbols) */
    for (size_t i = 0, k = 0; i < N; i++) {
        struct target *tg = &targets[i];
        if (tg->ft_only && !lp_pyrt.L.ft)
            continue;
        const struct lp_symq *s = &q[k++];
        if (!s->found)
            continue; /* not present (or stripped local symbol): the libc-level view covers it */
        uintptr_t entry = s->addr;
        const char *why = NULL;
        int known = (lp_pyrt.L.hooks & tg->bit) != 0;
        if (!known && ready && !warned) {
            lp_warn2("not patching CPython's lock slow paths whose signatures were not checked for Python (py/hooks.c"
                     " targets; only waits that reach the parking lot are seen): ", lp_pyrt.version);
            warned = 1;
        }
        void *tramp = ready && known ? lp_patch(entry, (size_t)s->size, tg->hook, &why) : NULL;
        if (tramp) {
            *tg->orig = tramp;
            tg->entry = entry;
            if (okn)
                okn += lp_strlcpy(ok + okn, ",", sizeof lp_pyrt.patched - okn);
            okn += lp_strlcpy(ok + okn, tg->name, sizeof lp_pyrt.patched - okn);
        } else {
            if (ready && known) {
                lp_warn2("not patching CPython's ", tg->name);
                lp_warn2("  reason: ", why);
            }
            if (badn)
                badn += lp_strlcpy(bad + badn, ",", sizeof lp_pyrt.refused - badn);
            badn += lp_strlcpy(bad + badn, tg->name, sizeof lp_pyrt.refused - badn);
        }
    }
    lp_patch_done();
    entry_mutex_lock = targets[0].entry;
    entry_lock_timed = targets[1].entry;
    entry_cs_begin = targets[2].entry;
    entry_cs2_begin = targets[3].entry;
}
