/* stack.c — see stack.h. Native frames come from libunwind's unw_backtrace (DWARF CFI, cached per thread);
 * libunwind may take pthread locks of its own, which re-enter our hooks and pass straight through because the
 * caller holds the re-entrancy guard. */
#define UNW_LOCAL_ONLY
#include "stack.h"

#include <libunwind.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "config.h"
#include "real.h"

static const struct lp_pyframes_source *python; /* set once at start-up, before the collector switches on */

void lp_stack_set_python(const struct lp_pyframes_source *src) { python = src; }

static LP_TLS int unwinder_init; /* this thread is initialising libunwind: its pipe2 goes high */
LP_TLS int lp_stack_in_unwind;   /* this thread is inside libunwind (initialising it, or unwinding) */
static _Atomic uint64_t own_waits, own_wait_ns;

static void own_wait(uint64_t ns)
{
    atomic_fetch_add_explicit(&own_waits, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&own_wait_ns, ns, memory_order_relaxed);
}

int lp_stack_own_wait_lock(pthread_mutex_t *m)
{
    uint64_t t0 = lp_now();
    int rc = lp_real_pthread_mutex_lock(m);
    own_wait(lp_now() - t0);
    return rc;
}

void lp_stack_own_waits(uint64_t *n, uint64_t *ns)
{
    *n = atomic_load_explicit(&own_waits, memory_order_relaxed);
    *ns = atomic_load_explicit(&own_wait_ns, memory_order_relaxed);
}

static struct lp_stack_thread *stk_of(struct lp_thread *t)
{
    struct lp_stack_thread *s = atomic_load_explicit(&t->stk, memory_order_relaxed);
    if (LP_LIKELY(s != NULL))
        return s;
    if ((s = lp_arena_alloc(&t->arena, sizeof *s)))
        atomic_store_explicit(&t->stk, s, memory_order_release);
    return s;
}

#define MAX_HIDE 8
static struct { uintptr_t lo, hi; } hide[MAX_HIDE];
static _Atomic int n_hide;

void lp_stack_hide_range(uintptr_t lo, uintptr_t hi)
{
    int i = atomic_load(&n_hide);
    if (i >= MAX_HIDE)
        return;
    hide[i].lo = lo;
    hide[i].hi = hi;
    atomic_store(&n_hide, i + 1);
}

static int hidden(uintptr_t pc)
{
    int n = atomic_load_explicit(&n_hide, memory_order_relaxed);
    for (int i = 0; i < n; i++)
        if (pc >= hide[i].lo && pc < hide[i].hi)
            return 1;
    return 0;
}

/* libunwind (1.6.2, src/x86_64/Ginit.c: open_pipe) opens a pipe with pipe2() when it initialises, for validating
 * addresses during unwinds through code without unwind tables, and keeps its descriptor numbers for the life of
 * the process. Three consequences shape what follows:
 *  - it is initialised lazily, at the first native stack capture: a process that never waits on a lock (most
 *    short-lived children: shells, helpers, a program that lists its own descriptors) never gets the pipe;
 *  - the pipe must not take the low numbers programs open, close and reuse (libunwind would otherwise read from
 *    and write to a program's file that later took those numbers): while this thread initialises libunwind, the
 *    pipe2() forwarder (preload.c) calls lp_stack_after_pipe2, which moves the new descriptors near the top of the
 *    descriptor table (under the soft limit);
 *  - growing the kernel's descriptor table in a multi-threaded process waits for an RCU grace period (Linux
 *    fs/file.c: expand_fdtable → synchronize_rcu: milliseconds per growth), and the first capture happens
 *    in a waiting thread while others may wait for it. So the table is grown once, while the process is still
 *    single-threaded (constructor, fork child), where growing it costs a few microseconds: lp_stack_init.
 * A thread that finds another thread initialising waits for it. */
static _Atomic int unwinder_state; /* 0 not initialised, 1 initialising, 2 ready */
static _Atomic int native_off;     /* a fork copied libunwind's locks held (lp_stack_after_fork_child) */
static _Atomic int fork_pending;   /* threads forking now: no new unwind starts while > 0 (lp_stack_before_fork) */

static int high_mark(void)
{
    struct rlimit rl;
    int top = 1024;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)top)
        top = (int)rl.rlim_cur;
    return top - 64; /* room above for a few more descriptors of lockprof's or the program's */
}

/* A recycled state's next owner must not stamp its predecessor's holder stacks. */
static void forget_holders(struct lp_thread *t)
{
    struct lp_stack_thread *st = atomic_load_explicit(&t->stk, memory_order_relaxed);
    if (st)
        memset(st->holder, 0, sizeof st->holder);
}

void lp_stack_init(void)
{
    static int registered;
    if (!registered++)
        lp_thread_on_exit(forget_holders);
    if (atomic_load(&unwinder_state) != 0 || lp_cfg.native_depth == 0)
        return;
    int mark = high_mark();
    if (mark <= 16)
        return;
    int e = errno;
    int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        int hi = fcntl(fd, F_DUPFD_CLOEXEC, mark + 1); /* the table now holds both pipe descriptors' numbers */
        if (hi >= 0)
            close(hi);
        close(fd);
    }
    errno = e;
}

void lp_stack_before_fork(void)
{
    /* A count, not a flag: glibc 2.36 serialises forks (its atfork lock is held from the prepare handlers to the
     * parent/child ones), so a flag would do there; the count does not rely on it. */
    atomic_fetch_add(&fork_pending, 1);
    struct lp_thread *self = lp_tls.gen == atomic_load(&lp_fork_gen) ? lp_tls.self : NULL;
    uint64_t t0 = lp_now(), until = t0 + 100000000u; /* an unwind takes microseconds; a descheduled one, longer */
    for (int spun = 0;; spun++) {
        int busy = 0;
        for (struct lp_thread *t = lp_thread_all(); t && !busy; t = t->next_all) {
            struct lp_stack_thread *s = atomic_load(&t->stk);
            busy = t != self && s && atomic_load(&s->unwinding);
        }
        uint64_t now = busy || spun ? lp_now() : 0;
        if (!busy || now > until) {
            if (spun)
                own_wait(now - t0); /* the program's fork waited for lockprof */
            return;
        }
        lp_real_sched_yield();
    }
}

void lp_stack_after_fork_parent(void) { atomic_fetch_sub(&fork_pending, 1); }

void lp_stack_after_fork_child(void)
{
    atomic_store(&fork_pending, 0); /* only the forking thread exists here */
    int busy = atomic_load(&unwinder_state) == 1;
    for (struct lp_thread *t = lp_thread_all(); t; t = t->next_all) {
        struct lp_stack_thread *s = atomic_load(&t->stk);
        busy |= s && atomic_load(&s->unwinding);
    }
    if (busy && !atomic_exchange(&native_off, 1))
        lp_warn("another thread was capturing a native stack when this process forked: native stacks are off in "
                "this process (libunwind's locks were copied held)");
}

void lp_stack_after_pipe2(int fds[2], int flags)
{
    if (LP_LIKELY(!unwinder_init))
        return;
    int mark = high_mark();
    if (mark <= 16)
        return;
    for (int i = 0; i < 2; i++) {
        if (fds[i] >= mark)
            continue;
        int hi = fcntl(fds[i], (flags & O_CLOEXEC) ? F_DUPFD_CLOEXEC : F_DUPFD, mark);
        if (hi < 0)
            continue; /* no room up there: the pipe stays where it is, still correct */
        close(fds[i]);
        fds[i] = hi;
    }
}

static void init_unwinder(void)
{
    unwinder_init = 1;
    lp_stack_in_unwind = 1;
    unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD); /* libunwind's one-time init */
    lp_stack_in_unwind = 0;
    unwinder_init = 0;
}

static int unwinder_ready(void)
{
    int st = atomic_load_explicit(&unwinder_state, memory_order_acquire);
    if (LP_LIKELY(st == 2))
        return 1;
    if (st == 0) {
        int expect = 0;
        if (atomic_compare_exchange_strong(&unwinder_state, &expect, 1)) {
            int e = errno;
            init_unwinder();
            errno = e;
            atomic_store_explicit(&unwinder_state, 2, memory_order_release);
            return 1;
        }
    }
    /* Another thread is initialising (well under a millisecond, once per process): this thread is about to wait for
     * a lock anyway, so it waits for the unwinder too rather than record a stack without native frames. */
    uint64_t t0 = lp_now(), until = t0 + 2000000000u; /* the initialising thread may be descheduled: be patient */
    for (uint64_t now = t0; now < until; now = lp_now()) {
        if (atomic_load_explicit(&unwinder_state, memory_order_acquire) == 2) {
            own_wait(now - t0);
            return 1;
        }
        lp_real_sched_yield();
    }
    own_wait(lp_now() - t0);
    return 0;
}

#define MAX_WORDS (LP_MAX_NATIVE_DEPTH + 2 * LP_MAX_PY_DEPTH + 8)

/* Recent (Python position, native call path) → stack hash, 4-way set-associative with round-robin replacement:
 * direct-mapped, two hot keys sharing a slot (as likely as not with ten of them, and which ones depends on where
 * ASLR put the stacks) would evict each other, and every event would unwind the native stack again. */
#define CACHE_SETS 64
#define CACHE_WAYS 4

struct stack_cache {
    struct {
        uint64_t key, hash;
    } slot[CACHE_SETS][CACHE_WAYS];
    uint8_t victim[CACHE_SETS];
};

/* Hash of a word sequence: a multiply-xor per word, one avalanche at the end. */
static uint64_t words_hash(const uint64_t *w, unsigned n, uint64_t seed)
{
    uint64_t h = seed ^ ((uint64_t)n * 0x9e3779b97f4a7c15ull);
    for (unsigned i = 0; i < n; i++)
        h = (h ^ w[i]) * 0x100000001b3ull + (h >> 29);
    return lp_mix(h, n);
}

static uint64_t intern(struct lp_thread *t, struct lp_stack_thread *st, const uint64_t *words, unsigned n)
{
    uint64_t h = words_hash(words, n, 0x5bd1e995u) | 1; /* never 0: 0 means "no stack" */
    if (lp_map_get(&st->stacks, h))
        return h;
    struct lp_stack_ent *e = lp_arena_alloc(&t->arena, sizeof *e + n * sizeof(uint64_t));
    if (!e) {
        atomic_fetch_add_explicit(&st->n_dropped, 1, memory_order_relaxed);
        return 0;
    }
    e->n = n;
    memcpy(e->w, words, n * sizeof(uint64_t));
    if (lp_map_put(&st->stacks, &t->arena, h, e))
        return 0;
    return h;
}

uint64_t lp_stack_capture(struct lp_thread *t, const void *leaf, uintptr_t site)
{
    uint64_t words[MAX_WORDS];
    unsigned n = 0;
    struct lp_stack_thread *st = stk_of(t);
    if (!st)
        return 0;

    /* Python frames first (cheap, and tell us how many eval segments to splice in). */
    /* One frame more than kept: it tells a stack cut at the depth limit from one exactly that deep. */
    uint64_t py[2 * (LP_MAX_PY_DEPTH + 1)];
    unsigned seg_end[LP_MAX_PY_DEPTH + 1];
    unsigned n_py = 0, n_seg = 0, seg = 0, py_pos = 0;
    int py_cut = 0, native_cut = 0;
    if (lp_cfg.py_depth && python)
        n_py = python->stack(t, py, lp_cfg.py_depth + 1, seg_end, &n_seg);
    if (n_py > lp_cfg.py_depth) {
        py_cut = 1;
        n_py = lp_cfg.py_depth;
        while (n_seg > 1 && seg_end[n_seg - 2] >= n_py)
            n_seg--; /* segments holding only the cut frame */
        seg_end[n_seg - 1] = n_py;
    }

    struct stack_cache *sc = NULL;
    unsigned set = 0;
    uint64_t key = 0;
    if (n_py && lp_cfg.native_depth && lp_cfg.stack_cache) {
        if (!st->cache)
            st->cache = lp_arena_alloc(&t->arena, sizeof(struct stack_cache));
        if ((sc = st->cache)) {
            uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
            key = words_hash(py, 2 * n_py, lp_mix(lp_mix(sp, site), (uintptr_t)leaf)) | 1;
            set = (unsigned)(key % CACHE_SETS);
            for (unsigned i = 0; i < CACHE_WAYS; i++)
                if (sc->slot[set][i].key == key)
                    return sc->slot[set][i].hash;
        }
    }

    if (leaf)
        words[n++] = (uint64_t)(uintptr_t)leaf;

    if (lp_cfg.native_depth && !atomic_load_explicit(&native_off, memory_order_relaxed)) {
        void *pcs[LP_MAX_NATIVE_DEPTH + 8];
        /* The mark is set before libunwind (its initialisation included) can take a lock of its own, and a fork
         * in progress is checked after it (both sequentially consistent, as in lp_stack_before_fork): either the
         * forking thread waits for this unwind, or this unwind does not start (the event then has its Python
         * frames only). */
        atomic_store(&st->unwinding, 1);
        int skipped = atomic_load(&fork_pending);
        int got = 0;
        if (!skipped && unwinder_ready()) {
            lp_stack_in_unwind = 1;
            got = unw_backtrace(pcs, (int)lp_cfg.native_depth + 8);
            lp_stack_in_unwind = 0;
        }
        atomic_store_explicit(&st->unwinding, 0, memory_order_release);
        if (skipped)
            sc = NULL; /* not a stack to reuse */
        /* The stack starts below lockprof's deepest frame (or trampoline): a hook's own frames are at the top,
         * except for a CPython hook's wait captured at its first blocking call (py/hooks.c), where the
         * interpreter's lock code and lockprof's libc hook sit above the CPython hook's frame. */
        int first = 0;
        for (int i = 0; i < got; i++)
            if (pcs[i] && hidden((uintptr_t)pcs[i]))
                first = i + 1;
        int kept = 0, i = first;
        for (; i < got && kept < (int)lp_cfg.native_depth; i++) {
            uintptr_t pc = (uintptr_t)pcs[i];
            if (!pc)
                continue;
            kept++;
            if (seg < n_seg && python->is_eval_pc(pc)) {
                /* This eval-loop activation ran the next segment of Python frames: splice them in. */
                for (; py_pos < seg_end[seg] && n + 2 <= MAX_WORDS; py_pos++) {
                    words[n++] = py[2 * py_pos];
                    words[n++] = py[2 * py_pos + 1];
                }
                if (++seg == n_seg && py_cut && n < MAX_WORDS) {
                    words[n++] = LP_W_CUT; /* the Python frames stop here; the native frames outside them follow */
                    py_cut = 0;
                }
                continue;
            }
            if (n < MAX_WORDS)
                words[n++] = pc;
        }
        /* Cut: frames left that the depth limit did not keep, or libunwind filled the whole buffer. */
        for (; i < got && !native_cut; i++)
            native_cut = pcs[i] != NULL;
        native_cut |= got == (int)lp_cfg.native_depth + 8;
        if (native_cut && n < MAX_WORDS)
            words[n++] = LP_W_CUT;
    }
    /* Python frames not matched to an eval-loop frame (native stacks off, or unwinding stopped early). */
    for (; py_pos < n_py && n + 2 <= MAX_WORDS; py_pos++) {
        words[n++] = py[2 * py_pos];
        words[n++] = py[2 * py_pos + 1];
    }
    if (py_cut && n < MAX_WORDS)
        words[n++] = LP_W_CUT;
    if (!n)
        return 0;
    uint64_t h = intern(t, st, words, n);
    if (sc && h) {
        unsigned way = sc->victim[set]++ % CACHE_WAYS;
        sc->slot[set][way].key = key;
        sc->slot[set][way].hash = h;
    }
    return h;
}

/* ---- holder stacks ------------------------------------------------------------------------------------------ */

static unsigned holder_index(uintptr_t lock) { return (unsigned)(lp_mix(1, lock) % LP_HOLDER_SAMPLES); }

/* How many releases between two looks at the clock (a release somebody waits for may come every few hundred ns). */
#define HOLDER_CLOCK_EVERY 16

static uint64_t coarse_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts); /* a few ns; it ticks every few ms */
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void bump(_Atomic uint64_t *c)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1, memory_order_relaxed);
}

uint64_t lp_stack_holder_last(struct lp_thread *t, uintptr_t lock, int *due)
{
    struct lp_stack_thread *st = stk_of(t);
    *due = 0;
    if (!st)
        return 0;
    unsigned i = holder_index(lock);
    if (st->holder[i].lock != lock || !st->holder[i].hash) {
        *due = 1;
        return 0;
    }
    if (++st->holder[i].since >= HOLDER_CLOCK_EVERY) {
        st->holder[i].since = 0;
        *due = coarse_now() - st->holder[i].at_ns >= lp_cfg.holder_interval_ns;
    }
    if (!*due)
        bump(&st->n_holder_reused);
    return st->holder[i].hash;
}

uint64_t lp_stack_holder_capture(struct lp_thread *t, uintptr_t lock)
{
    struct lp_stack_thread *st = stk_of(t);
    if (!st)
        return 0;
    unsigned i = holder_index(lock);
    uint64_t h = lp_stack_capture(t, NULL, 0);
    st->holder[i].lock = lock;
    st->holder[i].hash = h;
    st->holder[i].at_ns = coarse_now();
    st->holder[i].since = 0;
    bump(&st->n_holder_captured);
    return h;
}

int lp_stack_release_due(struct lp_thread *t, uintptr_t lock)
{
    struct lp_stack_thread *st = stk_of(t);
    if (!st || !lp_cfg.holder_interval_ns)
        return 1; /* LOCKPROF_HOLDER_INTERVAL_US=0: every release stamps */
    typeof(st->holder[0]) *h = &st->holder[holder_index(lock)];
    if (h->stamp_lock != lock) {
        h->stamp_lock = lock;
        h->stamp_ns = coarse_now();
        h->stamped = 1;
        return 1;
    }
    if (h->stamped < LP_STAMPS_PER_WINDOW) {
        h->stamped++;
        return 1;
    }
    uint64_t now = coarse_now();
    if (now - h->stamp_ns >= lp_cfg.holder_interval_ns && now != h->stamp_ns) {
        h->stamp_ns = now;
        h->stamped = 1;
        return 1;
    }
    bump(&st->n_holder_skipped);
    return 0;
}

void lp_stack_holder_counts(uint64_t *captured, uint64_t *reused, uint64_t *skipped)
{
    *captured = *reused = *skipped = 0;
    for (struct lp_thread *t = lp_thread_all(); t; t = t->next_all) {
        struct lp_stack_thread *st = atomic_load_explicit(&t->stk, memory_order_acquire);
        if (st) {
            *captured += atomic_load_explicit(&st->n_holder_captured, memory_order_relaxed);
            *reused += atomic_load_explicit(&st->n_holder_reused, memory_order_relaxed);
            *skipped += atomic_load_explicit(&st->n_holder_skipped, memory_order_relaxed);
        }
    }
}
