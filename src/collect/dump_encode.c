/* dump_encode.c — the content of one profile (docs/FORMAT.md), read from every thread's tables while the threads
 * go on recording: ids for strings, frames, stacks and locks, the modules native frames and global locks lie in
 * (modules.c: path, build-id and offset; the CLI names them), the metadata, the thread table, aggregates, deferred
 * events and the timeline. Owns nothing beyond one dump: its scratch memory comes from a private arena released at
 * the end. Async-signal-safe (runs in the dump signal's handler): no malloc, no stdio, no locks. */
#define _GNU_SOURCE 1
#include "dump_encode.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "glibc_mutex.h"
#include "labels.h"
#include "lp.h"
#include "modules.h"
#include "py/py.h"
#include "record.h"
#include "safe.h"
#include "stack.h"
#include "thread.h"

/* ---- ids for the records of one dump ------------------------------------------------------------------ */

struct ctx {
    struct lpw *w;
    struct lp_arena arena;
    struct lp_modlist ml;
    int ml_ok;
    struct lp_map strs, frames, stacks, locks, labelsets; /* key → id+1 */
    struct lp_map mods;                        /* struct lp_mod * → `o` id+1 */
    struct lp_map mod_path;                    /* `o` id+1 → its path string's id+1 */
    struct lp_map mod_strs;                    /* string id+1 → 1 when it is some module's path */
    struct lp_map stack_src;                   /* stack hash → struct lp_stack_ent * (all threads) */
    struct lp_map pycode;                      /* code identity → struct lp_pycode_ent * (all threads) */
    uint64_t n_strs, n_frames, n_stacks, n_locks, n_labelsets, n_mods;
};

static int64_t get_id(struct lp_map *m, uint64_t key)
{
    void *v = lp_map_get(m, key);
    return v ? (int64_t)(uintptr_t)v - 1 : -1;
}

static void set_id(struct ctx *c, struct lp_map *m, uint64_t key, uint64_t id)
{
    lp_map_put(m, &c->arena, key, (void *)(uintptr_t)(id + 1));
}

static int64_t str_id(struct ctx *c, const char *s, size_t n)
{
    if (!s)
        return -1;
    uint64_t h = lp_hash_bytes(s, n) | 1;
    int64_t id = get_id(&c->strs, h);
    if (id >= 0)
        return id;
    lpw_string(c->w, c->n_strs, s, n);
    set_id(c, &c->strs, h, c->n_strs);
    return (int64_t)c->n_strs++;
}

static int64_t cstr_id(struct ctx *c, const char *s) { return s ? str_id(c, s, strlen(s)) : -1; }

static struct lp_modlist *modlist(struct ctx *c)
{
    if (!c->ml_ok)
        c->ml_ok = lp_modules_scan(&c->ml, &c->arena) == 0 ? 1 : -1;
    return c->ml_ok == 1 ? &c->ml : NULL;
}

/* The module holding addr, its `o` record written the first time (with a path string of its own, as FORMAT.md
 * asks: two modules may share a path), or NULL. *path_id: that string's id. */
static const struct lp_mod *module_of(struct ctx *c, uintptr_t addr, int64_t *mod_id, int64_t *path_id)
{
    const struct lp_mod *m = lp_modules_find(modlist(c), addr);
    if (!m)
        return NULL;
    int64_t id = get_id(&c->mods, (uint64_t)(uintptr_t)m);
    if (id < 0) {
        int64_t p = cstr_id(c, m->path);
        if (lp_map_get(&c->mod_strs, (uint64_t)p + 1)) {
            /* another module's path string: this one gets its own */
            lpw_string(c->w, c->n_strs, m->path, strlen(m->path));
            p = (int64_t)c->n_strs++;
        }
        id = (int64_t)c->n_mods++;
        lpw_module(c->w, (uint64_t)id, (uint64_t)p, m->build_id, m->build_id_len, m->lo, m->hi, m->bias,
                   m->unloaded ? LP_MODULE_UNLOADED : 0);
        set_id(c, &c->mods, (uint64_t)(uintptr_t)m, (uint64_t)id);
        set_id(c, &c->mod_path, (uint64_t)id + 1, (uint64_t)p);
        set_id(c, &c->mod_strs, (uint64_t)p + 1, 0);
    }
    *mod_id = id;
    *path_id = get_id(&c->mod_path, (uint64_t)id + 1);
    return m;
}

static int64_t native_frame(struct ctx *c, uint64_t pc)
{
    int64_t id = get_id(&c->frames, pc);
    if (id >= 0)
        return id;
    int64_t mod = -1, path = -1;
    uint64_t off = pc;
    const struct lp_mod *m = module_of(c, (uintptr_t)pc, &mod, &path);
    if (m)
        off = pc - m->bias;
    lpw_frame(c->w, c->n_frames, 'n', -1, -1, 0, path, off);
    set_id(c, &c->frames, pc, c->n_frames);
    return (int64_t)c->n_frames++;
}

static int64_t python_frame(struct ctx *c, uint64_t word, uint64_t code)
{
    uint64_t key = lp_mix(code, word) | LP_W_PY;
    int64_t id = get_id(&c->frames, key);
    if (id >= 0)
        return id;
    const struct lp_pycode_ent *pc = lp_map_get(&c->pycode, code);
    int64_t fn = cstr_id(c, pc ? pc->qualname : "<unknown code>");
    int64_t file = pc ? cstr_id(c, pc->filename) : -1;
    lpw_frame(c->w, c->n_frames, 'p', fn, file, word & 0xffffffffu, -1, 0);
    set_id(c, &c->frames, key, c->n_frames);
    return (int64_t)c->n_frames++;
}

/* The one frame of kind `x`: where a stack was cut at the depth limit. */
static int64_t cut_frame(struct ctx *c)
{
    int64_t id = get_id(&c->frames, LP_W_CUT);
    if (id >= 0)
        return id;
    lpw_frame(c->w, c->n_frames, 'x', -1, -1, 0, -1, 0);
    set_id(c, &c->frames, LP_W_CUT, c->n_frames);
    return (int64_t)c->n_frames++;
}

static int64_t stack_id(struct ctx *c, uint64_t hash)
{
    if (!hash)
        return -1;
    int64_t id = get_id(&c->stacks, hash);
    if (id >= 0)
        return id;
    const struct lp_stack_ent *e = lp_map_get(&c->stack_src, hash);
    if (!e)
        return -1;
    uint64_t *ids = lp_arena_alloc(&c->arena, (e->n + 1) * sizeof *ids);
    if (!ids)
        return -1;
    unsigned n = 0;
    for (uint32_t i = 0; i < e->n; i++) {
        uint64_t w = e->w[i];
        int64_t f;
        if ((w & LP_W_PY) && i + 1 < e->n) {
            f = python_frame(c, w, e->w[i + 1]);
            i++;
        } else if (w == LP_W_CUT) {
            f = cut_frame(c);
        } else {
            f = native_frame(c, w);
        }
        if (f >= 0)
            ids[n++] = (uint64_t)f;
    }
    lpw_stack(c->w, c->n_stacks, ids, n);
    set_id(c, &c->stacks, hash, c->n_stacks);
    return (int64_t)c->n_stacks++;
}

static size_t append(char *buf, size_t n, size_t cap, const char *s)
{
    return n + lp_strlcpy(buf + n, s, n < cap ? cap - n : 0);
}

/* The name a lock record carries: its own (CPython's runtime locks, threading locks ...), else "<object type>@<object
 * address>" for object locks and "<kind>@<address>" otherwise. A lock inside a module (a global or static
 * variable) and a lock named by the code that took it (CPython's anonymous ones) also get a `v` record: the CLI
 * names them from the module's symbols (lock_id). */
static void lock_name(const struct lp_lock_ent *l, char *buf, size_t cap)
{
    if (l->name) {
        lp_strlcpy(buf, l->name, cap);
        return;
    }
    char num[24] = "0x";
    *lp_fmt_hex(num + 2, l->addr) = 0;
    size_t n = append(buf, 0, cap, l->type ? l->type : lp_kind_name(l->kind));
    n = append(buf, n, cap, "@");
    append(buf, n, cap, num);
}

/* The profile's id of a lock, writing its record the first time; `l` describes it when t's table has no entry
 * (a deferred event's lock). */
static int64_t lock_id(struct ctx *c, struct lp_thread *t, uint64_t key, const struct lp_lock_ent *l)
{
    int64_t id = get_id(&c->locks, key);
    if (id >= 0)
        return id;
    struct lp_rec_thread *r = atomic_load_explicit(&t->rec, memory_order_acquire);
    const struct lp_lock_ent *known = r ? lp_map_get(&r->locks, key) : NULL;
    if (known)
        l = known;
    if (!l)
        return -1;
    char name[512];
    lock_name(l, name, sizeof name);
    int64_t mod = -1, path = -1, site = -1;
    const struct lp_mod *m = l->name ? NULL : module_of(c, l->addr, &mod, &path);
    if (l->site)
        site = native_frame(c, l->site);
    int64_t ns = cstr_id(c, name), ts = cstr_id(c, l->type);
    lpw_lock(c->w, c->n_locks, l->kind, l->addr, ns, ts);
    if (m || site >= 0)
        lpw_lock_where(c->w, c->n_locks, mod, m ? l->addr - m->bias : 0, site);
    set_id(c, &c->locks, key, c->n_locks);
    return (int64_t)c->n_locks++;
}

/* The profile's id of a label set (labels.h), writing its strings and its `g` record the first time; -1 for none. */
static int64_t labelset_id(struct ctx *c, const struct lp_labelset *s)
{
    if (!s)
        return -1;
    int64_t id = get_id(&c->labelsets, s->hash);
    if (id >= 0)
        return id;
    uint64_t *keys = lp_arena_alloc(&c->arena, 2 * s->n * sizeof *keys), *values = keys + s->n;
    if (!keys)
        return -1;
    const char *p = s->data; /* key NUL value NUL ... */
    for (uint32_t i = 0; i < 2 * s->n; i++) {
        size_t n = strlen(p);
        (i % 2 ? values : keys)[i / 2] = (uint64_t)str_id(c, p, n);
        p += n + 1;
    }
    lpw_labelset(c->w, c->n_labelsets, keys, values, s->n);
    set_id(c, &c->labelsets, s->hash, c->n_labelsets);
    return (int64_t)c->n_labelsets++;
}

/* Sampled acquisitions and hold times of contended locks (record.h lp_hold_*): one `h` record per thread state and
 * lock, after the aggregates (whose locks they name). A value half-updated by its thread is made consistent. */
static void write_holds(struct ctx *c)
{
    for (struct lp_thread *t = lp_thread_all(); t; t = t->next_all) {
        struct lp_rec_thread *r = atomic_load_explicit(&t->rec, memory_order_acquire);
        if (!r)
            continue;
        size_t i = 0;
        uint64_t k;
        void *v;
        const struct lp_map_table *tab = lp_map_snapshot(&r->holds);
        while (lp_map_next(tab, &i, &k, &v)) {
            const struct lp_hold_ent *h = v;
            int64_t lid = get_id(&c->locks, h->lock_key); /* only locks already written (contended ones) */
            uint64_t acq = atomic_load_explicit(&h->acquired, memory_order_relaxed);
            uint64_t held = atomic_load_explicit(&h->held, memory_order_relaxed);
            uint64_t ns = atomic_load_explicit(&h->hold_ns, memory_order_relaxed);
            uint64_t max = atomic_load_explicit(&h->max_ns, memory_order_relaxed);
            if (lid < 0 || !acq)
                continue;
            if (held > acq)
                held = acq;
            if (max > ns)
                ns = max;
            if (!held)
                ns = max = 0;
            lpw_hold(c->w, (uint64_t)lid, acq, held, ns, max);
        }
    }
}

/* ---- the profile -------------------------------------------------------------------------------------- */

static void meta_file(struct ctx *c, const char *key, const char *path, int nul_to_space)
{
    char buf[4096];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return;
    while (n > 0 && (buf[n - 1] == 0 || buf[n - 1] == '\n'))
        n--;
    for (ssize_t i = 0; nul_to_space && i < n; i++)
        if (!buf[i])
            buf[i] = ' ';
    buf[n] = 0;
    lpw_meta(c->w, key, buf);
}

/* A thread's deferred event (record.h), held by this dump since the totals were summed, as an aggregate entry:
 * added to the thread's entry with the same key when it has one (aggregates are unique per key in a file), else
 * written on its own (write_deferred). */
struct held {
    int held;
    struct lp_deferred_ev d;
    uint64_t lock_key;
};

static void hold_of(struct lp_thread *t, struct held *h)
{
    memset(h, 0, sizeof *h);
    struct lp_rec_thread *r = atomic_load_explicit(&t->rec, memory_order_acquire);
    h->held = r && atomic_load_explicit(&r->deferred.state, memory_order_acquire) == LP_DEFER_DUMPING;
    if (!h->held)
        return;
    h->d = r->deferred.ev; /* its thread leaves it alone while the dump holds it */
    h->lock_key = lp_lock_key_of(h->d.kind, h->d.addr, h->d.type, h->d.name);
}

static void add_held(struct held *h, uint64_t *count, uint64_t *wait, uint64_t *max, uint32_t *hist)
{
    *count += 1;
    *wait += h->d.wait_ns;
    if (h->d.wait_ns > *max)
        *max = h->d.wait_ns;
    hist[lp_hist_bucket(h->d.wait_ns)]++;
    h->held = 0;
}

static void write_deferred(struct ctx *c, struct lp_thread *t, struct held *h)
{
    if (!h->held)
        return;
    const struct lp_deferred_ev *d = &h->d;
    struct lp_lock_ent l = {.kind = d->kind, .addr = d->addr, .type = d->type, .name = d->name, .site = d->site};
    int64_t lid = lock_id(c, t, h->lock_key, &l);
    if (lid < 0)
        return;
    uint64_t count = 0, wait = 0, max = 0;
    uint32_t hist[LP_HIST_BUCKETS] = {0};
    add_held(h, &count, &wait, &max, hist);
    lpw_agg(c->w, (uint64_t)lid, stack_id(c, d->stack), stack_id(c, d->holder_stack), d->tid, d->holder_tid,
            d->flags, count, wait, max, hist, labelset_id(c, d->labels));
}

/* ---- waits in progress ----------------------------------------------------------------------------------- */

/* The thread holding the lock at addr as the lock itself records it, else 0. The lock is the program's memory: safe
 * reads. glibc 2.36 x86-64 (bits/struct_mutex.h, bits/struct_rwlock.h): a mutex's __owner (every kind; robust ones
 * hold 0x7fffffff / 0x7ffffffe when inconsistent / not recoverable) at 8, a rwlock's __cur_writer at 24. */
static uint64_t owner_of(unsigned kind, uintptr_t addr)
{
    int v = 0;
    if (kind == LP_KIND_PTHREAD_MUTEX && !lp_safe_read(&v, addr + 8, sizeof v) && v > 0 && v < 0x7ffffffe)
        return (uint64_t)v;
    if (kind == LP_KIND_PTHREAD_RWLOCK && !lp_safe_read(&v, addr + 24, sizeof v) && v > 0)
        return (uint64_t)v;
    return lp_py_lock_owner(kind, addr);
}

/* A consistent copy of a thread's wait in progress (its writer may be interrupted by this very dump). */
static int inflight_copy(const struct lp_inflight *f, struct lp_inflight *out)
{
    for (int tries = 0; tries < 3; tries++) {
        unsigned s0 = atomic_load_explicit(&f->seq, memory_order_acquire);
        if (s0 & 1)
            continue;
        out->kind = f->kind;
        out->flags = f->flags;
        out->addr = f->addr;
        out->type = f->type;
        out->name = f->name;
        out->t0 = f->t0;
        out->stack = f->stack;
        out->holder_tid = f->holder_tid;
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&f->seq, memory_order_relaxed) == s0)
            return 1;
    }
    return 0;
}

/* Every thread's waits in progress, outermost first (`w` records). */
static void write_inflight(struct ctx *c)
{
    for (struct lp_thread *t = lp_thread_all(); t; t = t->next_all) {
        struct lp_rec_thread *r = atomic_load_explicit(&t->rec, memory_order_acquire);
        if (!r || !atomic_load(&t->alive))
            continue;
        unsigned n = atomic_load_explicit(&r->n_inflight, memory_order_acquire);
        for (unsigned i = 0; i < n && i < LP_INFLIGHT_MAX; i++) {
            struct lp_inflight f;
            if (!inflight_copy(&r->inflight[i], &f) || f.t0 < lp_start_ns)
                continue;
            struct lp_lock_ent l = {.kind = f.kind, .addr = f.addr, .type = f.type, .name = f.name};
            int64_t lid = lock_id(c, t, lp_lock_key_of(f.kind, f.addr, f.type, f.name), &l);
            if (lid < 0)
                continue;
            uint64_t owner = f.holder_tid ? f.holder_tid : owner_of(f.kind, f.addr);
            lpw_inflight(c->w, atomic_load(&t->tid), (uint64_t)lid, stack_id(c, f.stack), f.t0 - lp_start_ns, owner,
                         f.flags);
        }
    }
}

/* "SIGTERM", or the number for a signal without a name here. */
static const char *signal_name(int sig)
{
    static const char *const names[] = {
        [SIGHUP] = "SIGHUP", [SIGINT] = "SIGINT", [SIGQUIT] = "SIGQUIT", [SIGILL] = "SIGILL", [SIGTRAP] = "SIGTRAP",
        [SIGABRT] = "SIGABRT", [SIGBUS] = "SIGBUS", [SIGFPE] = "SIGFPE", [SIGUSR1] = "SIGUSR1", [SIGSEGV] = "SIGSEGV",
        [SIGUSR2] = "SIGUSR2", [SIGPIPE] = "SIGPIPE", [SIGALRM] = "SIGALRM", [SIGTERM] = "SIGTERM",
        [SIGSTKFLT] = "SIGSTKFLT", [SIGXCPU] = "SIGXCPU", [SIGXFSZ] = "SIGXFSZ", [SIGVTALRM] = "SIGVTALRM",
        [SIGPROF] = "SIGPROF", [SIGIO] = "SIGIO", [SIGPWR] = "SIGPWR", [SIGSYS] = "SIGSYS",
    };
    static char num[16];
    if (sig > 0 && sig < (int)(sizeof names / sizeof names[0]) && names[sig])
        return names[sig];
    *lp_fmt_u64(num, (uint64_t)(sig < 0 ? 0 : sig)) = 0;
    return num;
}

/* Adds the entries of `from` (another thread's table) that `into` lacks. */
static void merge_map(struct ctx *c, struct lp_map *into, const struct lp_map *from)
{
    size_t i = 0;
    uint64_t k;
    void *v;
    const struct lp_map_table *tab = lp_map_snapshot(from);
    while (lp_map_next(tab, &i, &k, &v))
        if (!lp_map_get(into, k))
            lp_map_put(into, &c->arena, k, v);
}

static void write_profile(struct ctx *c, const char *reason, const struct lp_encode_info *info)
{
    struct lpw *w = c->w;
    uint64_t now = lp_now();
    lpw_header(w);
    lpw_meta(w, "lockprof_version", LOCKPROF_VERSION);
    lpw_meta_u64(w, "pid", (uint64_t)getpid());
    lpw_meta_u64(w, "ppid", (uint64_t)getppid());
    lpw_meta(w, "exe", info->exe);
    meta_file(c, "cmdline", "/proc/self/cmdline", 1);
    lpw_meta(w, "reason", reason);
    if (info->fatal_signal)
        lpw_meta(w, "fatal_signal", signal_name(info->fatal_signal));
    lpw_meta_u64(w, "start_unix_ns", info->start_realtime_ns);
    lpw_meta_u64(w, "duration_ns", now - lp_start_ns);
    lpw_meta_u64(w, "sample_every", lp_cfg.sample_every);
    lpw_meta_u64(w, "min_wait_ns", lp_cfg.min_wait_ns);
    lpw_meta_u64(w, "native_depth", lp_cfg.native_depth);
    lpw_meta_u64(w, "python_depth", lp_cfg.py_depth);
    lpw_meta_u64(w, "holders", (uint64_t)lp_cfg.holders);
    lpw_meta_u64(w, "holder_interval_ns", lp_cfg.holder_interval_ns);
    lpw_meta_u64(w, "hold_sample", lp_cfg.hold_sample);
    lpw_meta_u64(w, "timeline_capacity", lp_cfg.timeline);
    lpw_meta(w, "mutex_fast_path", lp_glibc_mutex_state());
    lp_py_write_meta(w);

    /* Totals and the stack index over all threads. */
    uint64_t events = 0, unsampled = 0, n_short = 0, ns_short = 0, unblocked = 0, dropped = 0, threads = 0;
    uint64_t tl_lost = 0;
    for (struct lp_thread *t = lp_thread_all(); t; t = t->next_all) {
        struct lp_rec_thread *r = atomic_load_explicit(&t->rec, memory_order_acquire);
        struct lp_stack_thread *st = atomic_load_explicit(&t->stk, memory_order_acquire);
        struct lp_py_thread *py = atomic_load_explicit(&t->py, memory_order_acquire);
        if (r) {
            events += atomic_load(&r->n_events);
            unsampled += atomic_load(&r->n_unsampled);
            n_short += atomic_load(&r->n_short);
            ns_short += atomic_load(&r->ns_short);
            unblocked += atomic_load(&r->n_unblocked);
            dropped += atomic_load(&r->n_dropped);
            events += (uint64_t)lp_deferred_hold(t); /* held until written below */
            uint64_t head = atomic_load(&r->tl_head);
            if (lp_cfg.timeline && head > lp_cfg.timeline)
                tl_lost += head - lp_cfg.timeline;
        }
        if (st)
            dropped += atomic_load(&st->n_dropped);
        if (st)
            merge_map(c, &c->stack_src, &st->stacks);
        if (py)
            merge_map(c, &c->pycode, &py->pycode);
        for (struct lp_owner *o = atomic_load(&t->owners); o; o = o->next)
            threads++;
    }
    lpw_meta_u64(w, "events", events);
    lpw_meta_u64(w, "events_unsampled", unsampled);
    lpw_meta_u64(w, "events_below_min_wait", n_short);
    lpw_meta_u64(w, "wait_below_min_wait_ns", ns_short);
    lpw_meta_u64(w, "events_unblocked", unblocked);
    lpw_meta_u64(w, "events_dropped", dropped);
    lpw_meta_u64(w, "timeline_dropped", tl_lost);
    lpw_meta_u64(w, "threads", threads);
    lpw_meta_u64(w, "self_contentions", atomic_load(&lp_self_contentions));
    uint64_t a, b;
    lp_stack_own_waits(&a, &b);
    lpw_meta_u64(w, "self_waits", a);
    lpw_meta_u64(w, "self_wait_ns", b);
    uint64_t skipped;
    lp_stack_holder_counts(&a, &b, &skipped);
    lpw_meta_u64(w, "holder_stacks_captured", a);
    lpw_meta_u64(w, "holder_stacks_reused", b);
    lpw_meta_u64(w, "holder_releases_skipped", skipped);
    lpw_meta_u64(w, "dumps_skipped", info->skipped_dumps);
    for (int i = 0; i < lp_n_warnings(); i++)
        lpw_meta(w, "warning", lp_warning(i));

    for (struct lp_thread *t = lp_thread_all(); t; t = t->next_all) {
        for (struct lp_owner *o = atomic_load(&t->owners); o; o = o->next) {
            char path[64] = "/proc/self/task/", name[17];
            memcpy(name, o->name, 16);
            name[16] = 0;
            char *p = lp_fmt_u64(path + strlen(path), o->tid);
            memcpy(p, "/comm", 6);
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd >= 0) {
                ssize_t n = read(fd, name, 16);
                close(fd);
                if (n > 0) {
                    name[n] = 0;
                    if (name[n - 1] == '\n')
                        name[n - 1] = 0;
                }
            }
            lpw_thread(w, o->tid, name[0] ? cstr_id(c, name) : -1);
        }
    }

    for (struct lp_thread *t = lp_thread_all(); t; t = t->next_all) {
        struct lp_rec_thread *r = atomic_load_explicit(&t->rec, memory_order_acquire);
        if (!r)
            continue;
        size_t i = 0;
        uint64_t k;
        void *v;
        struct held h;
        hold_of(t, &h);
        const struct lp_map_table *tab = lp_map_snapshot(&r->aggs);
        while (lp_map_next(tab, &i, &k, &v)) {
            const struct lp_agg_ent *a = v;
            uint64_t count = atomic_load_explicit(&a->count, memory_order_relaxed);
            if (!count)
                continue;
            int64_t lid = lock_id(c, t, a->lock_key, NULL);
            if (lid < 0)
                continue;
            int64_t sid = stack_id(c, a->stack), hid = stack_id(c, a->holder_stack);
            uint32_t hist[LP_HIST_BUCKETS];
            uint64_t hsum = 0;
            for (int b = 0; b < LP_HIST_BUCKETS; b++)
                hsum += hist[b] = atomic_load_explicit(&a->hist[b], memory_order_relaxed);
            uint64_t wait = atomic_load_explicit(&a->wait_ns, memory_order_relaxed);
            uint64_t max = atomic_load_explicit(&a->max_ns, memory_order_relaxed);
            /* A concurrent update may be half-visible; keep the record self-consistent for the reader. */
            if (hsum > count)
                count = hsum;
            if (max > wait)
                wait = max;
            if (h.held && a->lock_key == h.lock_key && a->stack == h.d.stack && a->holder_stack == h.d.holder_stack &&
                a->tid == h.d.tid && a->holder_tid == h.d.holder_tid && a->flags == h.d.flags &&
                lp_labels_hash(a->labels) == lp_labels_hash(h.d.labels))
                add_held(&h, &count, &wait, &max, hist);
            lpw_agg(w, (uint64_t)lid, sid, hid, a->tid, a->holder_tid, a->flags, count, wait, max, hist,
                    labelset_id(c, a->labels));
        }
        write_deferred(c, t, &h);
        lp_deferred_put_back(t);
    }

    write_inflight(c);
    write_holds(c);

    if (lp_cfg.timeline) {
        for (struct lp_thread *t = lp_thread_all(); t; t = t->next_all) {
            struct lp_rec_thread *r = atomic_load_explicit(&t->rec, memory_order_acquire);
            if (!r || !r->tl)
                continue;
            uint64_t head = atomic_load_explicit(&r->tl_head, memory_order_acquire);
            uint64_t first = head > lp_cfg.timeline ? head - lp_cfg.timeline : 0;
            for (uint64_t i = first; i < head; i++) {
                const struct lp_timeline_ev *ev = &r->tl[i % lp_cfg.timeline];
                int64_t lid = lock_id(c, t, ev->lock_key, NULL);
                if (lid < 0)
                    continue;
                lpw_event(w, ev->start_ns, ev->dur_ns, ev->tid, (uint64_t)lid, stack_id(c, ev->stack_hash));
            }
        }
    }
}

void lp_encode_profile(struct lpw *w, const char *reason, const struct lp_encode_info *info)
{
    struct ctx c;
    memset(&c, 0, sizeof c);
    c.arena.chunk_size = 1u << 20;
    c.w = w;
    write_profile(&c, reason, info);
    lp_arena_release(&c.arena);
}
