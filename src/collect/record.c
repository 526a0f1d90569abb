/* record.c — see record.h. Single writer per table: counters are updated with relaxed load+store, which the
 * dump (a concurrent reader) sees as whole 64-bit values. */
#include "record.h"

#include <errno.h>
#include <string.h>

#include "config.h"
#include "dump.h"
#include "labels.h"
#include "py/py.h"
#include "stack.h"
#include "waiters.h"

uint64_t lp_start_ns;

static inline void add64(_Atomic uint64_t *x, uint64_t v)
{
    atomic_store_explicit(x, atomic_load_explicit(x, memory_order_relaxed) + v, memory_order_relaxed);
}

const char *lp_intern(struct lp_thread *t, const char *s, size_t n)
{
    uint64_t h = lp_hash_bytes(s, n) | 1;
    const char *c = lp_map_get(&t->strs, h);
    if (c)
        return c;
    char *d = lp_arena_strdup(&t->arena, s, n);
    if (!d || lp_map_put(&t->strs, &t->arena, h, d))
        return NULL;
    return d;
}

static uint64_t str_hash(const char *s) { return s ? lp_hash_bytes(s, strlen(s)) : 0; }

uint64_t lp_lock_key_of(unsigned kind, uintptr_t addr, const char *type, const char *name)
{
    return lp_mix(lp_mix(lp_mix(kind + 1, addr), str_hash(type)), str_hash(name)) | 1;
}

static uint64_t lock_key(struct lp_thread *t, const struct lp_event *e)
{
    /* The last lock this thread waited for, without re-hashing its strings (the common case under contention). */
    if (t->last_lock_key && t->last_lock.kind == e->kind && t->last_lock.addr == e->addr &&
        t->last_lock.type == e->type && t->last_lock.name == e->name)
        return t->last_lock_key;
    uint64_t k = lp_lock_key_of(e->kind, e->addr, e->type, e->name);
    if (LP_UNLIKELY(!lp_map_get(&t->locks, k))) {
        struct lp_lock_ent *l = lp_arena_alloc(&t->arena, sizeof *l);
        if (!l)
            return 0;
        l->kind = e->kind;
        l->addr = e->addr;
        l->type = e->type;
        l->name = e->name;
        l->site = e->site;
        if (lp_map_put(&t->locks, &t->arena, k, l))
            return 0;
    }
    t->last_lock.kind = e->kind;
    t->last_lock.addr = e->addr;
    t->last_lock.type = e->type;
    t->last_lock.name = e->name;
    t->last_lock_key = k;
    return k;
}

/* lp_record for the thread `tid` (a deferred event may be added after its thread's state changed owner). */
static void record_as(struct lp_thread *t, uint64_t tid, const struct lp_event *e, uint64_t t0, uint64_t wait_ns,
                      uint64_t stack, uint64_t holder_stack, uint64_t holder_tid, const struct lp_labelset *labels)
{
    uint64_t lk = lock_key(t, e);
    if (!lk) {
        atomic_fetch_add_explicit(&t->n_dropped, 1, memory_order_relaxed);
        return;
    }
    uint64_t key = lp_mix(lp_mix(lp_mix(lp_mix(lp_mix(lp_mix(lk, stack), holder_stack), tid), holder_tid), e->flags),
                          lp_labels_hash(labels)) | 1;
    struct lp_agg_ent *a = lp_map_get(&t->aggs, key);
    if (LP_UNLIKELY(!a)) {
        a = lp_arena_alloc(&t->arena, sizeof *a);
        if (!a) {
            atomic_fetch_add_explicit(&t->n_dropped, 1, memory_order_relaxed);
            return;
        }
        a->lock_key = lk;
        a->stack = stack;
        a->holder_stack = holder_stack;
        a->tid = tid;
        a->holder_tid = holder_tid;
        a->flags = e->flags;
        a->labels = labels;
        if (lp_map_put(&t->aggs, &t->arena, key, a)) {
            atomic_fetch_add_explicit(&t->n_dropped, 1, memory_order_relaxed);
            return;
        }
    }
    add64(&a->count, 1);
    add64(&a->wait_ns, wait_ns);
    if (wait_ns > atomic_load_explicit(&a->max_ns, memory_order_relaxed))
        atomic_store_explicit(&a->max_ns, wait_ns, memory_order_relaxed);
    _Atomic uint32_t *hb = &a->hist[lp_hist_bucket(wait_ns)];
    atomic_store_explicit(hb, atomic_load_explicit(hb, memory_order_relaxed) + 1, memory_order_relaxed);
    add64(&t->n_events, 1);

    if (t->tl) {
        uint64_t i = atomic_load_explicit(&t->tl_head, memory_order_relaxed);
        struct lp_timeline_ev *ev = &t->tl[i % lp_cfg.timeline];
        ev->start_ns = t0 - lp_start_ns;
        ev->dur_ns = wait_ns;
        ev->lock_key = lk;
        ev->stack_hash = stack;
        ev->tid = tid;
        atomic_store_explicit(&t->tl_head, i + 1, memory_order_release);
    }
}

void lp_record(struct lp_thread *t, const struct lp_event *e, uint64_t t0, uint64_t wait_ns, uint64_t stack,
               uint64_t holder_stack, uint64_t holder_tid)
{
    record_as(t, lp_gettid(), e, t0, wait_ns, stack, holder_stack, holder_tid, lp_labels_cur);
}

/* ---- deferred events (thread.h struct lp_deferred) ---------------------------------------------------------- */

static void deferred_event(const struct lp_deferred_ev *d, struct lp_event *e)
{
    *e = (struct lp_event){.kind = d->kind, .addr = d->addr, .type = d->type, .name = d->name, .flags = d->flags,
                           .site = d->site};
}

void lp_deferred_flush(struct lp_thread *t)
{
    struct lp_deferred *d = &t->deferred;
    if (atomic_load_explicit(&d->state, memory_order_acquire) != LP_DEFER_FULL)
        return;
    struct lp_deferred_ev c = d->ev; /* only this thread writes it, and only into an empty slot */
    int full = LP_DEFER_FULL;
    if (!atomic_compare_exchange_strong_explicit(&d->state, &full, LP_DEFER_EMPTY, memory_order_acq_rel,
                                                 memory_order_relaxed))
        return; /* a dump holds it: it stays for later */
    struct lp_event e;
    deferred_event(&c, &e);
    record_as(t, c.tid, &e, c.t0, c.wait_ns, c.stack, c.holder_stack, c.holder_tid, c.labels);
}

static void defer(struct lp_thread *t, const struct lp_event *e, uint64_t t0, uint64_t wait_ns, uint64_t stack,
                  uint64_t holder_stack, uint64_t holder_tid)
{
    struct lp_deferred *d = &t->deferred;
    /* emptied by this wait's lp_wait_begin, unless a dump holds it (or the wait nests in another hook's) */
    if (LP_UNLIKELY(atomic_load_explicit(&d->state, memory_order_acquire) != LP_DEFER_EMPTY)) {
        lp_record(t, e, t0, wait_ns, stack, holder_stack, holder_tid);
        return;
    }
    d->ev = (struct lp_deferred_ev){.kind = e->kind, .flags = e->flags, .addr = e->addr, .site = e->site,
                                    .type = e->type, .name = e->name, .t0 = t0, .wait_ns = wait_ns, .stack = stack,
                                    .holder_stack = holder_stack, .holder_tid = holder_tid, .labels = lp_labels_cur,
                                    .tid = atomic_load_explicit(&t->tid, memory_order_relaxed)}; /* t is ours */
    atomic_store_explicit(&d->state, LP_DEFER_FULL, memory_order_release);
}

int lp_deferred_hold(struct lp_thread *t)
{
    int full = LP_DEFER_FULL;
    return atomic_compare_exchange_strong_explicit(&t->deferred.state, &full, LP_DEFER_DUMPING, memory_order_acquire,
                                                   memory_order_relaxed);
}

void lp_deferred_put_back(struct lp_thread *t)
{
    int dumping = LP_DEFER_DUMPING;
    atomic_compare_exchange_strong_explicit(&t->deferred.state, &dumping, LP_DEFER_FULL, memory_order_release,
                                            memory_order_relaxed);
}

int lp_wait_begin(struct lp_wait *w, uintptr_t addr, const void *leaf, uintptr_t site)
{
    return lp_wait_begin_at(w, addr, leaf, site, 0);
}

int lp_wait_begin_at(struct lp_wait *w, uintptr_t addr, const void *leaf, uintptr_t site, uint64_t t0)
{
    w->active = 0;
    if (LP_UNLIKELY(lp_tls.pyhook_pending))
        lp_py_hook_blocking(); /* a CPython hook's wait blocks in this call: capture it first */
    if (atomic_load_explicit(&lp_state, memory_order_relaxed) != LP_STATE_ON || !lp_guard_enter())
        return 0;
    int saved = errno;
    struct lp_thread *t = lp_thread_self();
    if (!t) {
        lp_guard_leave();
        errno = saved;
        return 0;
    }
    lp_deferred_flush(t); /* the previous wait's event, if it was deferred: now, before this wait */
    lp_dump_maybe_interval();
    w->t = t;
    w->active = 1;
    w->leaf = leaf;
    w->site = site;
    w->slot = lp_waiters_claim(addr, 0);
    w->sampled = 1;
    if (lp_cfg.sample_every > 1)
        w->sampled = (++t->sample_ctr % lp_cfg.sample_every) == 0;
    /* Capture now, while somebody else holds the lock: the cost overlaps a wait we would have anyway. With a
     * minimum wait set, capture after the wait instead, and only for waits that qualify. */
    w->stack = (w->sampled && !lp_cfg.min_wait_ns) ? lp_stack_capture(t, leaf, site) : 0;
    lp_guard_leave();
    errno = saved;
    w->t0 = t0 ? t0 : lp_now();
    return 1;
}

uint64_t lp_wait_end(struct lp_wait *w, const struct lp_event *e)
{
    return w->active ? lp_wait_end_at(w, e, lp_now(), 0) : 0;
}

uint64_t lp_wait_end_at(struct lp_wait *w, const struct lp_event *e, uint64_t t1, int deferred)
{
    if (!w->active)
        return 0;
    uint64_t wait = t1 > w->t0 ? t1 - w->t0 : 0;
    w->active = 0;
    int saved = errno;
    lp_tls.depth++;
    struct lp_waitslot *s = lp_waiters_slot(w->slot);
    uint64_t hstack = e->holder_stack, htid = e->holder_tid;
    if (!hstack && s && atomic_load_explicit(&s->release_ns, memory_order_acquire)) {
        hstack = atomic_load_explicit(&s->holder_hash, memory_order_relaxed);
        if (!htid)
            htid = atomic_load_explicit(&s->holder_tid, memory_order_relaxed);
    }
    lp_waiters_release(w->slot);
    if (w->sampled && wait >= lp_cfg.min_wait_ns) {
        uint64_t st = w->stack;
        if (!st && lp_cfg.min_wait_ns)
            st = lp_stack_capture(w->t, w->leaf, w->site);
        (deferred ? defer : lp_record)(w->t, e, w->t0, wait, st, hstack, htid);
    } else if (!w->sampled) {
        add64(&w->t->n_unsampled, 1);
    } else {
        add64(&w->t->n_short, 1);
        add64(&w->t->ns_short, wait);
    }
    lp_tls.depth--;
    errno = saved;
    return wait;
}

void lp_wait_cancel(struct lp_wait *w)
{
    if (!w->active)
        return;
    w->active = 0;
    lp_waiters_release(w->slot);
}
