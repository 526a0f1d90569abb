/* dump.c — see dump.h. */
#define _GNU_SOURCE 1
#include "dump.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "config.h"
#include "glibc_mutex.h"
#include "labels.h"
#include "symtab.h"
#include "lp.h"
#include "py/py.h"
#include "record.h"
#include "stack.h"
#include "thread.h"
#include "writer.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#endif

static _Atomic int dumping;
static _Atomic int final_done;
static _Atomic uint64_t last_dump_ns;
static _Atomic uint64_t skipped_dumps;
static uint64_t start_realtime_ns;
static int is_root;
static int root_known;
static char exe_path[1024];

/* The file this process image wrote last, so the next dump may replace it (and nothing else). */
static char my_final[4200];
static dev_t my_dev;
static ino_t my_ino;
static unsigned tmp_counter;

void lp_dump_init(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    start_realtime_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    atomic_store(&last_dump_ns, lp_now());
    const char *r = getenv("LOCKPROF_ROOT_PID");
    root_known = r && *r;
    is_root = root_known && (pid_t)strtol(r, NULL, 10) == getpid();
    ssize_t n = readlink("/proc/self/exe", exe_path, sizeof exe_path - 1);
    exe_path[n > 0 ? n : 0] = 0;
}

void lp_dump_after_fork_child(void)
{
    atomic_store(&dumping, 0);
    atomic_store(&final_done, 0);
    is_root = 0;
    my_final[0] = 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    start_realtime_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    lp_start_ns = lp_now();
}

/* ---- ids for the records of one dump ------------------------------------------------------------------ */

struct ctx {
    struct lpw w;
    struct lp_arena arena;
    struct lp_modmap mm;
    int mm_ok;
    struct lp_map strs, frames, stacks, locks, labelsets; /* key → id+1 */
    struct lp_map stack_src;                   /* stack hash → struct lp_stack_ent * (all threads) */
    struct lp_map pycode;                      /* code identity → struct lp_pycode_ent * (all threads) */
    uint64_t n_strs, n_frames, n_stacks, n_locks, n_labelsets;
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
    lpw_string(&c->w, c->n_strs, s, n);
    set_id(c, &c->strs, h, c->n_strs);
    return (int64_t)c->n_strs++;
}

static int64_t cstr_id(struct ctx *c, const char *s) { return s ? str_id(c, s, strlen(s)) : -1; }

static struct lp_modmap *modmap(struct ctx *c)
{
    if (!c->mm_ok)
        c->mm_ok = lp_modmap_build(&c->mm, &c->arena) == 0 ? 1 : -1;
    return c->mm_ok == 1 ? &c->mm : NULL;
}

static int64_t native_frame(struct ctx *c, uint64_t pc)
{
    int64_t id = get_id(&c->frames, pc);
    if (id >= 0)
        return id;
    int64_t fn = -1, mod = -1;
    uint64_t off = pc;
    struct lp_modmap *mm = modmap(c);
    struct lp_module *m = mm ? lp_modmap_find(mm, (uintptr_t)pc) : NULL;
    if (m) {
        /* pc is a return address: look up pc-1 so a call that ends its function resolves to the caller. */
        const struct lp_sym *s = lp_module_lookup(mm, m, (uintptr_t)pc - 1, 0);
        if (s)
            fn = cstr_id(c, s->name);
        mod = cstr_id(c, m->path);
        off = pc - m->bias;
    }
    lpw_frame(&c->w, c->n_frames, 'n', fn, -1, 0, mod, off);
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
    lpw_frame(&c->w, c->n_frames, 'p', fn, file, word & 0xffffffffu, -1, 0);
    set_id(c, &c->frames, key, c->n_frames);
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
        } else {
            f = native_frame(c, w);
        }
        if (f >= 0)
            ids[n++] = (uint64_t)f;
    }
    lpw_stack(&c->w, c->n_stacks, ids, n);
    set_id(c, &c->stacks, hash, c->n_stacks);
    return (int64_t)c->n_stacks++;
}

static size_t append(char *buf, size_t n, size_t cap, const char *s)
{
    return n + lp_strlcpy(buf + n, s, n < cap ? cap - n : 0);
}

static void lock_name(struct ctx *c, const struct lp_lock_ent *l, char *buf, size_t cap)
{
    size_t n = 0;
    struct lp_modmap *mm = modmap(c);
    if (l->name) {
        n = append(buf, n, cap, l->name);
    } else {
        struct lp_module *m = mm ? lp_modmap_find(mm, l->addr) : NULL;
        const struct lp_sym *s = m ? lp_module_lookup(mm, m, l->addr, 1) : NULL;
        char num[24] = "0x";
        if (s) {
            /* a global or static variable: "hot_lock", "table+0x40" */
            n = append(buf, n, cap, s->name);
            uint64_t off = l->addr - m->bias - s->addr;
            if (off) {
                *lp_fmt_hex(num + 2, off) = 0;
                n = append(buf, n, cap, "+");
                n = append(buf, n, cap, num);
            }
        } else {
            /* anonymous: "<object type>@<object address>" for object locks, "<kind>@<address>" otherwise */
            *lp_fmt_hex(num + 2, l->addr) = 0;
            n = append(buf, n, cap, l->type ? l->type : lp_kind_name(l->kind));
            n = append(buf, n, cap, "@");
            n = append(buf, n, cap, num);
        }
    }
    if (l->site && mm) {
        /* anonymous CPython locks are also named by the C function that took them */
        struct lp_module *m = lp_modmap_find(mm, l->site);
        const struct lp_sym *s = m ? lp_module_lookup(mm, m, l->site - 1, 0) : NULL;
        if (s) {
            n = append(buf, n, cap, " taken in ");
            append(buf, n, cap, s->name);
        }
    }
}

/* The profile's id of a lock, writing its record the first time; `l` describes it when t's table has no entry
 * (a deferred event's lock). */
static int64_t lock_id(struct ctx *c, struct lp_thread *t, uint64_t key, const struct lp_lock_ent *l)
{
    int64_t id = get_id(&c->locks, key);
    if (id >= 0)
        return id;
    const struct lp_lock_ent *known = lp_map_get(&t->locks, key);
    if (known)
        l = known;
    if (!l)
        return -1;
    char name[512];
    lock_name(c, l, name, sizeof name);
    int64_t ns = cstr_id(c, name), ts = cstr_id(c, l->type);
    lpw_lock(&c->w, c->n_locks, l->kind, l->addr, ns, ts);
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
    lpw_labelset(&c->w, c->n_labelsets, keys, values, s->n);
    set_id(c, &c->labelsets, s->hash, c->n_labelsets);
    return (int64_t)c->n_labelsets++;
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
    lpw_meta(&c->w, key, buf);
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
    h->held = atomic_load_explicit(&t->deferred.state, memory_order_acquire) == LP_DEFER_DUMPING;
    if (!h->held)
        return;
    h->d = t->deferred.ev; /* its thread leaves it alone while the dump holds it */
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
    lpw_agg(&c->w, (uint64_t)lid, stack_id(c, d->stack), stack_id(c, d->holder_stack), d->tid, d->holder_tid,
            d->flags, count, wait, max, hist, labelset_id(c, d->labels));
}

static void write_profile(struct ctx *c, const char *reason)
{
    struct lpw *w = &c->w;
    uint64_t now = lp_now();
    lpw_header(w);
    lpw_meta(w, "lockprof_version", LOCKPROF_VERSION);
    lpw_meta_u64(w, "pid", (uint64_t)getpid());
    lpw_meta_u64(w, "ppid", (uint64_t)getppid());
    lpw_meta(w, "exe", exe_path);
    meta_file(c, "cmdline", "/proc/self/cmdline", 1);
    lpw_meta(w, "reason", reason);
    lpw_meta_u64(w, "start_unix_ns", start_realtime_ns);
    lpw_meta_u64(w, "duration_ns", now - lp_start_ns);
    lpw_meta_u64(w, "sample_every", lp_cfg.sample_every);
    lpw_meta_u64(w, "min_wait_ns", lp_cfg.min_wait_ns);
    lpw_meta_u64(w, "native_depth", lp_cfg.native_depth);
    lpw_meta_u64(w, "python_depth", lp_cfg.py_depth);
    lpw_meta_u64(w, "holders", (uint64_t)lp_cfg.holders);
    lpw_meta_u64(w, "timeline_capacity", lp_cfg.timeline);
    lpw_meta(w, "mutex_fast_path", lp_glibc_mutex_state());
    lp_py_write_meta(w);

    /* Totals and the stack index over all threads. */
    uint64_t events = 0, unsampled = 0, n_short = 0, ns_short = 0, unblocked = 0, dropped = 0, threads = 0;
    uint64_t tl_lost = 0;
    for (struct lp_thread *t = lp_thread_all(); t; t = t->next_all) {
        events += atomic_load(&t->n_events);
        unsampled += atomic_load(&t->n_unsampled);
        n_short += atomic_load(&t->n_short);
        ns_short += atomic_load(&t->ns_short);
        unblocked += atomic_load(&t->n_unblocked);
        dropped += atomic_load(&t->n_dropped);
        events += (uint64_t)lp_deferred_hold(t); /* held until written below */
        uint64_t head = atomic_load(&t->tl_head);
        if (lp_cfg.timeline && head > lp_cfg.timeline)
            tl_lost += head - lp_cfg.timeline;
        size_t i = 0;
        uint64_t k;
        void *v;
        const struct lp_map_table *tab = lp_map_snapshot(&t->stacks);
        while (lp_map_next(tab, &i, &k, &v))
            if (!lp_map_get(&c->stack_src, k))
                lp_map_put(&c->stack_src, &c->arena, k, v);
        i = 0;
        tab = lp_map_snapshot(&t->pycode);
        while (lp_map_next(tab, &i, &k, &v))
            if (!lp_map_get(&c->pycode, k))
                lp_map_put(&c->pycode, &c->arena, k, v);
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
    lpw_meta_u64(w, "dumps_skipped", atomic_load(&skipped_dumps));
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
        size_t i = 0;
        uint64_t k;
        void *v;
        struct held h;
        hold_of(t, &h);
        const struct lp_map_table *tab = lp_map_snapshot(&t->aggs);
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

    if (lp_cfg.timeline) {
        for (struct lp_thread *t = lp_thread_all(); t; t = t->next_all) {
            if (!t->tl)
                continue;
            uint64_t head = atomic_load_explicit(&t->tl_head, memory_order_acquire);
            uint64_t first = head > lp_cfg.timeline ? head - lp_cfg.timeline : 0;
            for (uint64_t i = first; i < head; i++) {
                const struct lp_timeline_ev *ev = &t->tl[i % lp_cfg.timeline];
                int64_t lid = lock_id(c, t, ev->lock_key, NULL);
                if (lid < 0)
                    continue;
                lpw_event(w, ev->start_ns, ev->dur_ns, ev->tid, (uint64_t)lid, stack_id(c, ev->stack_hash));
            }
        }
    }
}

/* ---- files -------------------------------------------------------------------------------------------- */

static const char *errname(int e)
{
    switch (e) {
    case ENOSPC: return "no space left on device";
    case EDQUOT: return "disk quota exceeded";
    case EACCES: return "permission denied";
    case EROFS: return "read-only file system";
    case ENOENT: return "no such directory";
    case ENOTDIR: return "not a directory";
    case ELOOP: return "path is a symbolic link";
    case EEXIST: return "file exists";
    case EIO: return "I/O error";
    default: return "I/O failure";
    }
}

static void warn_errno(const char *what, const char *path, int e)
{
    char msg[4400];
    size_t n = lp_strlcpy(msg, what, sizeof msg);
    n += lp_strlcpy(msg + n, path, sizeof msg - n);
    n += lp_strlcpy(msg + n, ": ", sizeof msg - n);
    lp_strlcpy(msg + n, errname(e), sizeof msg - n);
    lp_warn(msg);
}

static void expand_path(char *out, size_t cap)
{
    const char *t = lp_cfg.output;
    size_t n = 0;
    int had_pid = 0;
    char pid[24];
    *lp_fmt_u64(pid, (uint64_t)getpid()) = 0;
    for (; *t && n + 24 < cap; t++) {
        if (t[0] == '%' && t[1] == 'p') {
            n += lp_strlcpy(out + n, pid, cap - n);
            t++;
            had_pid = 1;
        } else {
            out[n++] = *t;
        }
    }
    out[n] = 0;
    /* Without %p, the process `lockprof run` started writes the path as given; any other process (forked or
     * exec'd children) gets ".<pid>" appended so nobody overwrites anybody. */
    if (!had_pid && root_known && !is_root && n + 24 < cap) {
        out[n++] = '.';
        lp_strlcpy(out + n, pid, cap - n);
    }
}

/* The file a dump is written to before it gets its name. Preferably an unnamed file (O_TMPFILE in the target
 * directory, named at the end with linkat through /proc/self/fd): a process killed while writing (a pool worker
 * terminated mid-exit) then leaves nothing behind. Where the file system or a missing /proc does not allow that,
 * a named temporary "<final>.tmp-<pid>-<n>" created with O_EXCL|O_NOFOLLOW, renamed at the end. */
struct outfile {
    int fd;
    int named;        /* the data is (now) under tmp */
    char tmp[4300];
    char proc[40];    /* /proc/self/fd/<fd> while unnamed */
};

static int open_out(struct outfile *o, const char *final)
{
    size_t n = lp_strlcpy(o->tmp, final, sizeof o->tmp - 64);
    memcpy(o->tmp + n, ".tmp-", 5);
    char *p = lp_fmt_u64(o->tmp + n + 5, (uint64_t)getpid());
    *p++ = '-';
    *lp_fmt_u64(p, tmp_counter++) = 0;
    o->named = 0;
    o->fd = -1;
    char dir[4200];
    lp_strlcpy(dir, final, sizeof dir);
    char *slash = strrchr(dir, '/');
    if (!slash)
        lp_strlcpy(dir, ".", sizeof dir);
    else if (slash == dir)
        dir[1] = 0;
    else
        *slash = 0;
    if (access("/proc/self/fd", X_OK) == 0)
        o->fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, lp_cfg.file_mode);
    if (o->fd >= 0) {
        memcpy(o->proc, "/proc/self/fd/", 14);
        *lp_fmt_u64(o->proc + 14, (uint64_t)o->fd) = 0;
        return 0;
    }
    o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, lp_cfg.file_mode);
    o->named = 1;
    return o->fd < 0 ? -1 : 0;
}

/* Gives the data the name `path`, never replacing an existing file (EEXIST). */
static int name_out(struct outfile *o, const char *path)
{
    if (!o->named)
        return linkat(AT_FDCWD, o->proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW);
    long r = syscall(SYS_renameat2, AT_FDCWD, o->tmp, AT_FDCWD, path, RENAME_NOREPLACE);
    if (r != 0 && (errno == ENOSYS || errno == EINVAL)) {
        /* No renameat2 on this file system: link() also refuses to replace an existing name. */
        r = link(o->tmp, path);
        if (r == 0)
            unlink(o->tmp);
    }
    return (int)r;
}

/* Closes the file and removes what is left of it (nothing when it was unnamed or has been placed). */
static void discard_out(struct outfile *o)
{
    if (o->fd >= 0)
        close(o->fd);
    o->fd = -1;
    if (o->named)
        unlink(o->tmp);
    o->named = 0;
}

/* Gives the data the name `final`, replacing what is there, atomically (an unnamed file first gets its temporary
 * name): a file the program named (lp_dump_request). */
static int replace_at(struct outfile *o, const char *final, char *placed, size_t cap)
{
    if (!o->named) {
        if (name_out(o, o->tmp))
            return -1;
        o->named = 1;
    }
    if (rename(o->tmp, final))
        return -1;
    o->named = 0;
    lp_strlcpy(placed, final, cap);
    return 0;
}

static int place_file(struct outfile *o, const char *final, char *placed, size_t cap)
{
    struct stat st;
    if (my_final[0] && strcmp(final, my_final) == 0 && lstat(final, &st) == 0 && S_ISREG(st.st_mode) &&
        st.st_dev == my_dev && st.st_ino == my_ino) {
        /* Our own earlier dump: replace it atomically (an unnamed file first gets its temporary name). */
        if (!o->named) {
            if (name_out(o, o->tmp))
                return -1;
            o->named = 1;
        }
        if (rename(o->tmp, final) == 0) {
            o->named = 0;
            lp_strlcpy(placed, final, cap);
            return 0;
        }
        return -1;
    }
    for (int i = 0; i < 100; i++) {
        char cand[4200];
        size_t n = lp_strlcpy(cand, final, sizeof cand);
        if (i && n + 8 < sizeof cand) {
            cand[n++] = '.';
            *lp_fmt_u64(cand + n, (uint64_t)i) = 0;
        }
        if (name_out(o, cand) == 0) {
            o->named = 0;
            if (i) {
                char msg[4400];
                size_t k = lp_strlcpy(msg, "a file this process did not write exists at ", sizeof msg);
                k += lp_strlcpy(msg + k, final, sizeof msg - k);
                k += lp_strlcpy(msg + k, "; the profile was written to ", sizeof msg - k);
                lp_strlcpy(msg + k, cand, sizeof msg - k);
                lp_warn(msg);
            }
            lp_strlcpy(placed, cand, cap);
            return 0;
        }
        if (errno != EEXIST)
            return -1;
    }
    errno = EEXIST;
    return -1;
}

static void append_manifest(const char *path)
{
    if (!lp_cfg.manifest[0])
        return;
    int fd = open(lp_cfg.manifest, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return;
    char line[4300];
    size_t n = lp_strlcpy(line, path, sizeof line - 2);
    line[n++] = '\n';
    ssize_t r = write(fd, line, n); /* one write with O_APPEND: lines from concurrent processes never mix */
    (void)r;
    close(fd);
}

/* Writes the profile to the configured output (path NULL) or exactly to `path` (lp_dump_request). Returns 0 or
 * an errno value (after one warning); the file written is copied to `written` (cap bytes) when given. */
static int do_dump(const char *reason, const char *path, char *written, size_t cap)
{
    struct ctx c;
    memset(&c, 0, sizeof c);
    c.arena.chunk_size = 1u << 20;
    char final[4200], placed[4200];
    if (path)
        lp_strlcpy(final, path, sizeof final);
    else
        expand_path(final, sizeof final);
    struct outfile o;
    if (open_out(&o, final)) {
        int e = errno;
        warn_errno("cannot create the profile ", o.tmp, e);
        return e;
    }
    char *buf = lp_arena_alloc(&c.arena, 1u << 16);
    if (!buf) {
        discard_out(&o);
        lp_warn("out of memory while writing the profile; profile lost");
        return ENOMEM;
    }
    lpw_init(&c.w, o.fd, buf, 1u << 16);
    write_profile(&c, reason);
    int err = lpw_finish(&c.w);
    struct stat st;
    if (!err && fstat(o.fd, &st))
        err = errno;
    if (c.mm_ok == 1)
        lp_modmap_close(&c.mm);
    lp_arena_release(&c.arena);
    if (err) {
        discard_out(&o);
        warn_errno("writing the profile failed, profile lost: ", final, err);
        return err;
    }
    if (path ? replace_at(&o, final, placed, sizeof placed) : place_file(&o, final, placed, sizeof placed)) {
        int e = errno;
        discard_out(&o);
        warn_errno("cannot put the profile in place: ", final, e);
        return e;
    }
    if (close(o.fd)) {
        /* a late write error (network file systems report them here): the file may be incomplete, and a reader
         * must never see that */
        int e = errno;
        unlink(placed);
        warn_errno("writing the profile failed, profile lost: ", placed, e);
        return e;
    }
    if (written)
        lp_strlcpy(written, placed, cap);
    if (path)
        return 0; /* the caller's own file: not the output this process replaces next time, not listed */
    int fresh = strcmp(placed, my_final) != 0;
    lp_strlcpy(my_final, placed, sizeof my_final);
    my_dev = st.st_dev;
    my_ino = st.st_ino;
    if (fresh)
        append_manifest(placed);
    return 0;
}

static _Atomic uint64_t dumper_tid;

/* Runs one dump. When `wait` is set (the final dump) and another thread is dumping, waits for it (up to ~10 s)
 * instead of skipping; a nested request on the dumping thread itself (a signal during our own dump) never
 * waits. */
static int dump_now(const char *reason, int wait, const char *path, char *written, size_t cap)
{
    uint64_t me = lp_gettid();
    for (unsigned spins = 0; atomic_exchange(&dumping, 1); spins++) {
        if (!wait || atomic_load(&dumper_tid) == me || spins > 10000) {
            atomic_fetch_add(&skipped_dumps, 1);
            return EBUSY;
        }
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    atomic_store(&dumper_tid, me);
    int saved_errno = errno;
    int saved_depth = lp_tls.depth;
    lp_tls.depth = 1;
    int rc = do_dump(reason, path, written, cap);
    atomic_store(&last_dump_ns, lp_now());
    lp_tls.depth = saved_depth;
    errno = saved_errno;
    atomic_store(&dumper_tid, 0);
    atomic_store(&dumping, 0);
    return rc;
}

void lp_dump(const char *reason)
{
    if (!atomic_load(&final_done))
        dump_now(reason, 0, NULL, NULL, 0);
}

void lp_dump_final(const char *reason)
{
    if (atomic_load(&final_done))
        return;
    dump_now(reason, 1, NULL, NULL, 0);
    atomic_store(&final_done, 1);
}

int lp_dump_request(const char *path, char *written, size_t cap)
{
    return dump_now("request", 1, path, written, cap);
}

/* LOCKPROF_INTERVAL: a detached thread that writes the profile every interval, so an idle service still gets its
 * file. It blocks every signal (none of the program's signals is ever delivered to it) and never records. This is
 * the only thread lockprof creates, and only when the variable is set. */
static void *interval_thread(void *arg)
{
    (void)arg;
    lp_tls.depth = 1;
    prctl(PR_SET_NAME, "lockprof-dump", 0, 0, 0);
    for (;;) {
        struct timespec ts = {(time_t)(lp_cfg.interval_ns / 1000000000u), (long)(lp_cfg.interval_ns % 1000000000u)};
        while (nanosleep(&ts, &ts) && errno == EINTR)
            ;
        if (atomic_load(&final_done))
            return NULL;
        uint64_t last = atomic_load(&last_dump_ns), now = lp_now();
        if (now - last >= lp_cfg.interval_ns / 2 && atomic_compare_exchange_strong(&last_dump_ns, &last, now))
            lp_dump("interval");
    }
}

void lp_dump_start_interval_thread(void)
{
    if (!lp_cfg.interval_ns)
        return;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* the new thread inherits the full mask */
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&a, 256 * 1024);
    pthread_t t;
    int rc = pthread_create(&t, &a, interval_thread, NULL);
    pthread_attr_destroy(&a);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc)
        lp_warn("cannot start the LOCKPROF_INTERVAL thread; periodic profiles are written on contention only");
}

void lp_dump_maybe_interval(void)
{
    if (!lp_cfg.interval_ns)
        return;
    uint64_t last = atomic_load_explicit(&last_dump_ns, memory_order_relaxed), now = lp_now();
    if (now - last < lp_cfg.interval_ns)
        return;
    if (atomic_compare_exchange_strong(&last_dump_ns, &last, now))
        lp_dump("interval");
}
