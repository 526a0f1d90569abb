/* classify.c — tells what a blocking libc call is in CPython terms: a GIL wait, a threading.Lock/RLock, a
 * PyMutex on an object (and the object's type), a runtime PyMutex, another parking-lot wait; and runs the GIL
 * acquisition episodes. Owns the table of PyThread-lock creation sites and each thread's validated types. Every
 * address that is not the calling thread's own stack or a validated object is read through safe.h. Layout facts
 * are cited in versions.c and explained in docs/DESIGN.md ("CPython facts the collector relies on"). */
#include <errno.h>
#include <string.h>

#include "../real.h"
#include "../record.h"
#include "../stack.h"
#include "../waiters.h"
#include "frames.h"
#include "py.h"
#include "pyrt.h"
#include "../safe.h"

/* ---- interpreter and GIL addresses ---------------------------------------------------------------------- */

static uintptr_t main_interp(void)
{
    uintptr_t i = atomic_load_explicit(&lp_pyrt.main_interp, memory_order_relaxed);
    if (!i) {
        i = LP_RD(uintptr_t, lp_pyrt.runtime, lp_pyrt.L.rt_interpreters_head);
        if (i && !(i & 7))
            atomic_store(&lp_pyrt.main_interp, i);
    }
    return i;
}

uintptr_t lp_py_main_gil(void)
{
    uintptr_t g = atomic_load_explicit(&lp_pyrt.main_gil, memory_order_relaxed);
    if (g)
        return g;
    if (lp_pyrt.L.rt_gil_struct >= 0) {
        g = lp_pyrt.runtime + (uintptr_t)lp_pyrt.L.rt_gil_struct; /* 3.11: one GIL in _PyRuntime.ceval */
    } else {
        uintptr_t i = main_interp();
        if (!i || lp_safe_ptr(i + (uintptr_t)lp_pyrt.L.interp_ceval_gil, &g) || (g & 7))
            return 0;
    }
    if (g)
        atomic_store(&lp_pyrt.main_gil, g);
    return g;
}

int lp_py_is_gil(uintptr_t gil)
{
    if (!gil)
        return 0;
    if (gil == lp_py_main_gil())
        return 1;
    if (lp_pyrt.L.interp_ceval_gil < 0)
        return 0;
    /* Subinterpreters with their own GIL: walk the interpreter list (safe reads, it may change under us). */
    uintptr_t i = main_interp();
    for (int n = 0; i && n < 64; n++) {
        uintptr_t g;
        if (lp_safe_ptr(i + (uintptr_t)lp_pyrt.L.interp_ceval_gil, &g))
            return 0;
        if (g == gil)
            return 1;
        if (lp_safe_ptr(i + (uintptr_t)lp_pyrt.L.interp_next, &i))
            return 0;
    }
    return 0;
}

static char *hex_name(char *p, const char *prefix, uint64_t off)
{
    p += lp_strlcpy(p, prefix, 64);
    *p++ = '0';
    *p++ = 'x';
    p = lp_fmt_hex(p, off);
    *p = 0;
    return p;
}

int lp_py_runtime_name(uintptr_t addr, char *buf, size_t cap)
{
    (void)cap;
    const struct lp_pylayout *L = &lp_pyrt.L;
    uintptr_t mi = main_interp();
    if (mi && L->interp_size > 0 && addr >= mi && addr < mi + (uintptr_t)L->interp_size) {
        hex_name(buf, "PyInterpreterState+", addr - mi);
        return 1;
    }
    if (L->rt_size > 0 && addr >= lp_pyrt.runtime && addr < lp_pyrt.runtime + (uintptr_t)L->rt_size) {
        hex_name(buf, "_PyRuntime+", addr - lp_pyrt.runtime);
        return 1;
    }
    return 0;
}

/* ---- objects and their types ------------------------------------------------------------------------------ */

#define TPFLAGS_READY (1ul << 12)
#define TPFLAGS_TYPE_SUBCLASS (1ul << 31)

/* The name of a type object, validated with safe reads the first time a thread sees it. */
static const char *type_name(struct lp_thread *t, uintptr_t tp)
{
    if (!tp || (tp & 7))
        return NULL;
    struct lp_py_thread *py = lp_py_thread_of(t);
    if (!py)
        return NULL;
    const char *name = lp_map_get(&py->pytypes, tp);
    if (name)
        return name;
    const struct lp_pylayout *L = &lp_pyrt.L;
    uintptr_t meta, nameptr;
    unsigned long flags, mflags;
    if (lp_safe_ptr(tp + (uintptr_t)L->ob_type, &meta) || !meta ||
        lp_safe_read(&flags, tp + (uintptr_t)L->tp_flags, sizeof flags) || !(flags & TPFLAGS_READY))
        return NULL;
    if (meta != lp_pyrt.type_type &&
        (lp_safe_read(&mflags, meta + (uintptr_t)L->tp_flags, sizeof mflags) || !(mflags & TPFLAGS_TYPE_SUBCLASS)))
        return NULL;
    char buf[129];
    if (lp_safe_ptr(tp + (uintptr_t)L->tp_name, &nameptr) || !nameptr)
        return NULL;
    size_t n = 0;
    for (; n < sizeof buf - 1; n++) {
        if (lp_safe_read(&buf[n], nameptr + n, 1))
            return NULL;
        if (!buf[n])
            break;
        if ((unsigned char)buf[n] < 0x20)
            return NULL;
    }
    if (!n || n == sizeof buf - 1)
        return NULL;
    name = lp_intern(t, buf, n);
    if (name)
        lp_map_put(&py->pytypes, &t->arena, tp, (void *)name);
    return name;
}

/* Type of the object that would start at obj, or NULL. `near` is an address known to be mapped (the mutex
 * itself): when the type field shares its page, a plain load is safe. */
static const char *object_type_at(struct lp_thread *t, uintptr_t obj, uintptr_t near)
{
    uintptr_t field = obj + (uintptr_t)lp_pyrt.L.ob_type, tp;
    if (lp_same_page(near, 1) && (field >> 12) == (near >> 12) && ((field + 7) >> 12) == (near >> 12))
        tp = *(const uintptr_t *)field;
    else if (lp_safe_ptr(field, &tp))
        return NULL;
    return type_name(t, tp);
}

/* Names a PyMutex address: a threading lock, an object's ob_mutex (with the type), or a runtime lock. */
static int notify_frame(struct lp_thread *t);

void lp_py_classify_pymutex(struct lp_thread *t, uintptr_t m, struct lp_event *ev)
{
    const struct lp_pylayout *L = &lp_pyrt.L;
    ev->kind = LP_KIND_PYMUTEX;
    char buf[96];
    if (lp_py_runtime_name(m, buf, sizeof buf)) {
        ev->name = lp_intern(t, buf, strlen(buf)); /* never an object: runtime/interpreter state */
        return;
    }
    if (L->thread_lock_is_pymutex && L->thread_lock_field > 0 && !(m & 7)) {
        uintptr_t obj = m - (uintptr_t)L->thread_lock_field;
        const char *tn = object_type_at(t, obj, m);
        if (tn && (!strcmp(tn, "_thread.lock") || !strcmp(tn, "_thread.RLock"))) {
            ev->kind = tn[8] == 'l' ? LP_KIND_THREADING_LOCK : LP_KIND_THREADING_RLOCK;
            ev->addr = obj; /* named threading.Lock@<id(lock)> */
            ev->site = 0;
            if (notify_frame(t))
                ev->flags |= LP_AGG_NOTIFY;
            return;
        }
    }
    if (L->ob_mutex >= 0 && (m & 7) == (uintptr_t)(L->ob_mutex & 7)) {
        uintptr_t obj = m - (uintptr_t)L->ob_mutex;
        const char *tn = object_type_at(t, obj, m);
        if (tn) {
            ev->type = tn; /* a critical section on an object: named <type>@<id(obj)> */
            ev->addr = obj;
            ev->site = 0;
            return;
        }
    }
    ev->name = NULL; /* anonymous: pymutex@0x... plus the function that took it (dump.c) */
}

/* ---- threading locks built on PyThread_type_lock (a sem_t): 3.11, 3.12, RLock in 3.13 ------------------------
 * The semaphore is created by PyThread_allocate_lock with sem_init(sem, 0, 1). At that moment the creating
 * Python frame says which lock it is ("RLock" in threading.py for RLock); we remember sem → name/kind in a
 * lock-free table so that a later wait can name the lock by its creation site. */

#define SEMTAB 16384
#define TOMB ((uintptr_t)1)
static struct semrec {
    _Atomic uintptr_t sem;
    const char *_Atomic name;
    _Atomic unsigned kind;
    _Atomic uint64_t owner; /* the thread that took it last, 0 once posted (lp_py_sem_taken, lp_py_sem_posted) */
} semtab[SEMTAB];
_Atomic int lp_py_sems_named; /* semtab has entries: only then do acquisitions and posts look it up */

static unsigned sem_home(uintptr_t s) { return (unsigned)(lp_mix(7, s) & (SEMTAB - 1)); }

static struct semrec *sem_find(uintptr_t s)
{
    unsigned h = sem_home(s);
    for (unsigned i = 0; i < 32; i++) {
        struct semrec *r = &semtab[(h + i) & (SEMTAB - 1)];
        uintptr_t v = atomic_load_explicit(&r->sem, memory_order_acquire);
        if (v == s)
            return r;
        if (!v)
            return NULL;
    }
    return NULL;
}

static const char *base(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* How many locks were created at a site so far (lock-free; a site whose slot another site took shares it, which only
 * makes an ordinal larger than needed, never reused). */
#define SITES 1024
static _Atomic uint64_t site_key[SITES];
static _Atomic unsigned site_count[SITES];

static unsigned site_ordinal(uint64_t key)
{
    unsigned h = (unsigned)(key % SITES);
    for (unsigned i = 0; i < 8; i++) {
        unsigned s = (h + i) % SITES;
        uint64_t k = atomic_load(&site_key[s]);
        if (k == key || (k == 0 && atomic_compare_exchange_strong(&site_key[s], &k, key)) || k == key)
            return atomic_fetch_add(&site_count[s], 1) + 1;
    }
    return atomic_fetch_add(&site_count[h], 1) + 1;
}

/* A file name as lock names show it: its base name, with its directory for a package's __init__.py. */
static char *put_file(char *p, const char *fn)
{
    const char *b = base(fn);
    if (!strcmp(b, "__init__.py") && b > fn + 1) {
        const char *d = b - 1;
        while (d > fn && d[-1] != '/')
            d--;
        b = d;
    }
    return p + lp_strlcpy(p, b, 300);
}

void lp_py_on_sem_init(sem_t *sem, unsigned value)
{
    if (!lp_pyrt.active || value != 1)
        return;
    struct lp_thread *t = lp_thread_self();
    if (!t)
        return;
    struct lp_pyframe f[8];
    unsigned n = lp_py_frames(t, f, 8);
    char buf[512];
    unsigned kind = LP_KIND_PYMUTEX;
    const char *name = "PyThread lock (interpreter-internal)";
    if (n) {
        int rlock = !strcmp(f[0].qualname, "RLock") && !strcmp(base(f[0].filename), "threading.py");
        kind = rlock ? LP_KIND_THREADING_RLOCK : LP_KIND_THREADING_LOCK;
        /* Named by the first frame outside the threading module: where the program asked for the lock (RLock(),
         * Condition(), Event(), Semaphore() all create theirs inside threading.py). */
        unsigned i = 0;
        while (i + 1 < n && !strcmp(base(f[i].filename), "threading.py"))
            i++;
        char *p = buf;
        p += lp_strlcpy(p, rlock ? "threading.RLock" : "threading.Lock", 64);
        p += lp_strlcpy(p, " created at ", 32);
        p = put_file(p, f[i].filename);
        *p++ = ':';
        p = lp_fmt_u64(p, f[i].line);
        p += lp_strlcpy(p, " (", 4);
        p += lp_strlcpy(p, f[i].qualname, 100);
        p += lp_strlcpy(p, ")", 2);
        /* two locks are never one row: the second one created at the same place is "#2", and so on (creation
         * order, which a rerun of the same program repeats: lockprof diff matches them) */
        unsigned nth = site_ordinal(lp_hash_bytes(buf, (size_t)(p - buf)) | 1);
        if (nth > 1) {
            p += lp_strlcpy(p, " #", 4);
            p = lp_fmt_u64(p, nth);
        }
        name = lp_intern(t, buf, (size_t)(p - buf));
        if (!name)
            return;
    }
    uintptr_t s = (uintptr_t)sem;
    unsigned h = sem_home(s);
    for (unsigned i = 0; i < 32; i++) {
        struct semrec *r = &semtab[(h + i) & (SEMTAB - 1)];
        uintptr_t v = atomic_load(&r->sem);
        if (v == s || ((v == 0 || v == TOMB) && atomic_compare_exchange_strong(&r->sem, &v, s))) {
            atomic_store(&r->name, name);
            atomic_store(&r->kind, kind);
            atomic_store(&r->owner, 0);
            atomic_store_explicit(&lp_py_sems_named, 1, memory_order_relaxed);
            return;
        }
    }
}

void lp_py_on_sem_destroy(sem_t *sem)
{
    struct semrec *r = lp_pyrt.active ? sem_find((uintptr_t)sem) : NULL;
    if (r)
        atomic_store(&r->sem, TOMB);
}

/* Waits that are notifications, recognised by the innermost Python frame. */
static int notify_frame(struct lp_thread *t)
{
    const char *qn, *fn;
    uint64_t line;
    if (!lp_py_top_frame(t, &qn, &fn, &line))
        return 0;
    const char *b = base(fn);
    if (!strcmp(b, "threading.py"))
        return !strcmp(qn, "Condition.wait") || !strcmp(qn, "Thread._wait_for_tstate_lock") ||
               !strcmp(qn, "Thread.join") || !strcmp(qn, "_shutdown");
    if (!strcmp(b, "thread.py") && strstr(fn, "concurrent/futures/"))
        return !strcmp(qn, "_worker");
    return 0;
}

/* ---- sem_wait ------------------------------------------------------------------------------------------ */


/* The parking lot's struct wait_entry {void *park_arg; uintptr_t addr; _PySemaphore sema; struct llist_node node;
 * bool is_unparking;} (Python/parking_lot.c, 3.13.5 and 3.14.7): sema at +16, node at +48. A wait_entry is
 * linked into its bucket's circular list (or being unparked); a _PyRawMutex waiter's entry is not. */
static int is_wait_entry(uintptr_t sem)
{
    uintptr_t node = sem + 32, next, prev, back;
    uint8_t unparking;
    if (!lp_safe_read(&unparking, sem + 48, 1) && unparking == 1)
        return 1;
    if (lp_safe_ptr(node, &next) || lp_safe_ptr(node + 8, &prev) || !next || !prev)
        return 0;
    return !lp_safe_ptr(next + 8, &back) && back == node && !lp_safe_ptr(prev, &back) && back == node;
}

static void classify_parked(struct lp_thread *t, uintptr_t addr, uintptr_t park_arg, struct lp_event *ev)
{
    ev->kind = LP_KIND_PARKING_LOT;
    if (park_arg) {
        int64_t v;
        if (!lp_py_on_my_stack(park_arg) || lp_safe_read(&v, park_arg, 8))
            return;
        if (v == 0) { /* queue.SimpleQueue.get: park_arg = &item, still NULL (Modules/_queuemodule.c) */
            ev->name = "queue.SimpleQueue.get";
            ev->flags |= LP_AGG_NOTIFY;
            return;
        }
        /* struct mutex_entry {PyTime_t time_to_be_fair; ...}: a PyMutex waiter (Python/lock.c) */
        lp_py_classify_pymutex(t, addr, ev);
        ev->flags |= LP_AGG_PARKED;
        if (ev->kind == LP_KIND_THREADING_LOCK && notify_frame(t))
            ev->flags |= LP_AGG_NOTIFY;
        return;
    }
    uintptr_t ts = lp_py_tstate();
    if (ts && addr >= ts && addr < ts + 4096) {
        ev->name = "stop-the-world (thread suspended)";
        return;
    }
    uint8_t v = 0;
    lp_safe_read(&v, addr, 1);
    if (v == 2) { /* PyEvent: _Py_HAS_PARKED while waiting (join, thread start, stop-the-world) */
        ev->name = "PyEvent.wait";
        ev->flags |= LP_AGG_NOTIFY;
    } else if (v == 3) {
        ev->name = "_PyOnceFlag (call once)";
    } else if (!(addr & 7)) {
        ev->name = "_PyRWMutex";
    } else {
        ev->name = "parking lot";
    }
}

void lp_py_classify_sem(sem_t *sem, struct lp_event *ev)
{
    if (!lp_pyrt.active)
        return;
    uintptr_t s = (uintptr_t)sem;
    struct lp_thread *t = lp_thread_self();
    if (!t)
        return;
    if (lp_pyrt.L.parking_lot && lp_py_on_my_stack(s)) {
        /* A semaphore on our own stack: the parking lot (3.13+). */
        uintptr_t key = *(const uintptr_t *)(s - 8);
        if (!is_wait_entry(s)) {
            ev->kind = LP_KIND_PARKING_LOT;
            ev->name = "parking-lot bucket (_PyRawMutex)";
            return;
        }
        uintptr_t addr = key, park_arg = *(const uintptr_t *)(s - 16);
        ev->addr = addr;
        classify_parked(t, addr, park_arg, ev);
        if (ev->kind == LP_KIND_PARKING_LOT)
            ev->addr = addr;
        return;
    }
    struct semrec *r = sem_find(s);
    if (r) {
        ev->kind = atomic_load(&r->kind);
        ev->name = atomic_load(&r->name);
        if (ev->kind != LP_KIND_PYMUTEX && notify_frame(t))
            ev->flags |= LP_AGG_NOTIFY;
    }
}

/* ---- pthread mutexes and condition variables ----------------------------------------------------------- */

void lp_py_classify_mutex(pthread_mutex_t *m, struct lp_event *ev)
{
    if (!lp_pyrt.active)
        return;
    uintptr_t g = lp_py_main_gil();
    if (g && (uintptr_t)m == g + (uintptr_t)lp_pyrt.L.gil_mutex) {
        ev->kind = LP_KIND_GIL;
        ev->name = "GIL (gil->mutex)";
    }
}

static uint64_t holder_tid(uintptr_t gil)
{
    const struct lp_pylayout *L = &lp_pyrt.L;
    uintptr_t ts;
    uint64_t tid = 0;
    if (LP_RD(int, gil, L->gil_locked) != 1 || lp_safe_ptr(gil + (uintptr_t)L->gil_holder, &ts) || !ts ||
        lp_safe_read(&tid, ts + (uintptr_t)L->ts_native_thread_id, 8))
        return 0;
    return tid;
}

static int gil_free(uintptr_t gil)
{
    const struct lp_pylayout *L = &lp_pyrt.L;
    if (LP_RD(int, gil, L->gil_locked) == 0)
        return 1;
    return L->gil_enabled >= 0 && LP_RD(int, gil, L->gil_enabled) == 0; /* free-threaded, GIL switched off */
}

int lp_py_cond_wait(pthread_cond_t *cond, pthread_mutex_t *m, int timed, int clocked, clockid_t clk,
                    const struct timespec *abstime, int *rc)
{
    const struct lp_pylayout *L = &lp_pyrt.L;
    uintptr_t c = (uintptr_t)cond;
    (void)clk; /* CPython's GIL waits are pthread_cond_timedwait (CLOCK_MONOTONIC condattr), never clockwait */
    /* In struct _gil_runtime_state the mutex follows cond by 48 bytes, and switch_mutex follows switch_cond by 48
     * (Include/internal/pycore_gil.h, 3.11-3.14): a cheap filter before any lookup. */
    if (!lp_pyrt.active || (uintptr_t)m != c + 48)
        return 0;
    int handoff;
    uintptr_t gil;
    if (timed && !clocked && lp_py_is_gil(c - (uintptr_t)L->gil_cond)) {
        gil = c - (uintptr_t)L->gil_cond;
        handoff = 0;
    } else if (!timed && lp_py_is_gil(c - (uintptr_t)L->gil_switch_cond)) {
        gil = c - (uintptr_t)L->gil_switch_cond;
        handoff = 1;
    } else {
        return 0;
    }
    if (handoff) {
        /* drop_gil (FORCE_SWITCHING): the releasing thread waits until a waiter took the GIL */
        struct lp_wait w;
        int on = lp_wait_begin(&w, 0, NULL, 0);
        lp_wait_inflight(&w, &(struct lp_event){.kind = LP_KIND_GIL, .addr = gil, .name = "GIL",
                                                .flags = LP_AGG_HANDOFF});
        *rc = lp_real_pthread_cond_wait(cond, m);
        int e = errno;
        if (on)
            lp_wait_end(&w, &(struct lp_event){.kind = LP_KIND_GIL, .addr = gil, .name = "GIL",
                                               .flags = LP_AGG_HANDOFF});
        errno = e;
        return 1;
    }
    /* take_gil: one acquisition is a loop of timed waits; record it once, when the GIL is finally free. */
    if (lp_pytls.gil_struct != gil && lp_guard_enter()) {
        int e = errno;
        struct lp_thread *t = lp_thread_self();
        if (t) {
            lp_pytls.gil_struct = gil;
            lp_pytls.gil_stack = lp_stack_capture(t, NULL, 0);
            lp_pytls.gil_holder_tid = holder_tid(gil); /* we hold gil->mutex: locked/last_holder are stable */
            lp_pytls.gil_t0 = lp_now();
            lp_pytls.gil_inflight = lp_inflight_push(t, &(struct lp_event){.kind = LP_KIND_GIL, .addr = gil,
                                                                           .name = "GIL",
                                                                           .holder_tid = lp_pytls.gil_holder_tid},
                                                     lp_pytls.gil_t0, lp_pytls.gil_stack);
        }
        errno = e;
        lp_guard_leave();
    }
    *rc = lp_real_pthread_cond_timedwait(cond, m, abstime);
    int e = errno;
    if (lp_pytls.gil_struct == gil && gil_free(gil) && lp_guard_enter()) {
        struct lp_thread *t = lp_thread_self();
        if (t) {
            uint64_t now = lp_now();
            struct lp_event ev = {.kind = LP_KIND_GIL, .addr = gil, .name = "GIL"};
            lp_inflight_pop(t, lp_pytls.gil_inflight);
            lp_record(t, &ev, lp_pytls.gil_t0, now - lp_pytls.gil_t0, lp_pytls.gil_stack, 0, lp_pytls.gil_holder_tid);
        }
        lp_pytls.gil_struct = 0;
        lp_guard_leave();
    }
    errno = e;
    return 1;
}

/* ---- owners, for waits in progress ----------------------------------------------------------------------
 * CPython's threading locks record no owner, but every acquisition passes lockprof: the semaphore of a PyThread lock
 * (3.11-3.13) is taken by sem_trywait/sem_wait and given back by sem_post, and a PyMutex-based threading.Lock
 * (3.13.1+) is taken through the patched _PyMutex_LockTimed (Modules/_threadmodule.c lock_PyThread_acquire_lock
 * calls it for every acquire, 3.13.5 and 3.14.7; the release is inline). The last taker of a lock that is held now
 * holds it. */

void lp_py_sem_taken(sem_t *sem)
{
    struct semrec *r = sem_find((uintptr_t)sem);
    if (r)
        atomic_store_explicit(&r->owner, lp_gettid(), memory_order_relaxed);
}

void lp_py_sem_posted(sem_t *sem)
{
    struct semrec *r = sem_find((uintptr_t)sem);
    if (r)
        atomic_store_explicit(&r->owner, 0, memory_order_relaxed);
}

#define OWNERS 4096
static struct {
    _Atomic uintptr_t m;
    _Atomic uint64_t tid;
} owners[OWNERS];

void lp_py_mutex_taken(uintptr_t m)
{
    unsigned h = (unsigned)(m >> 3) & (OWNERS - 1);
    atomic_store_explicit(&owners[h].tid, lp_gettid(), memory_order_relaxed);
    atomic_store_explicit(&owners[h].m, m, memory_order_release);
}

static uint64_t mutex_owner(uintptr_t m)
{
    unsigned h = (unsigned)(m >> 3) & (OWNERS - 1);
    if (atomic_load_explicit(&owners[h].m, memory_order_acquire) != m)
        return 0;
    uint64_t tid = atomic_load_explicit(&owners[h].tid, memory_order_relaxed);
    return atomic_load_explicit(&owners[h].m, memory_order_relaxed) == m ? tid : 0;
}

uint64_t lp_py_lock_owner(unsigned kind, uintptr_t addr)
{
    const struct lp_pylayout *L = &lp_pyrt.L;
    if (!lp_pyrt.active)
        return 0;
    if (kind == LP_KIND_GIL) {
        int locked;
        if (lp_safe_read(&locked, addr + (uintptr_t)L->gil_locked, sizeof locked) || locked != 1)
            return 0;
        uintptr_t ts;
        uint64_t tid = 0;
        if (lp_safe_ptr(addr + (uintptr_t)L->gil_holder, &ts) || !ts ||
            lp_safe_read(&tid, ts + (uintptr_t)L->ts_native_thread_id, sizeof tid))
            return 0;
        return tid;
    }
    if (kind == LP_KIND_THREADING_LOCK || kind == LP_KIND_THREADING_RLOCK) {
        struct semrec *r = sem_find(addr); /* a PyThread lock: named by its semaphore */
        if (r) {
            uint64_t owner = atomic_load(&r->owner);
            uint32_t value; /* glibc's struct new_sem: the value is the low half of its first word */
            return owner && !lp_safe_read(&value, addr, sizeof value) && value == 0 ? owner : 0;
        }
    }
    if (kind == LP_KIND_THREADING_LOCK && L->thread_lock_is_pymutex) {
        uint8_t bits; /* named by the object; its PyMutex follows the header */
        uintptr_t m = addr + (uintptr_t)L->thread_lock_field;
        return !lp_safe_read(&bits, m, 1) && (bits & 1) ? mutex_owner(m) : 0;
    }
    if (kind == LP_KIND_THREADING_RLOCK && L->rlock_owner >= 0) {
        /* _PyRecursiveMutex {PyMutex mutex; unsigned long long thread; size_t level;} after the object header
         * (Include/internal/pycore_lock.h, Modules/_threadmodule.c rlockobject, 3.14.7): thread is the owner's
         * PyThread_get_thread_ident_ex(), its pthread_self() */
        uint8_t bits;
        uint64_t ident;
        uintptr_t m = addr + (uintptr_t)L->thread_lock_field;
        if (lp_safe_read(&bits, m, 1) || !(bits & 1) || lp_safe_read(&ident, m + (uintptr_t)L->rlock_owner, 8))
            return 0;
        return lp_thread_tid_of(ident);
    }
    return 0;
}
