/* record.c — see record.h. Single writer per table: counters are updated with relaxed load+store, which the
 * dump (a concurrent reader) sees as whole 64-bit values. Calls only downwards: the waiter registry (holder
 * hand-off), stack capture, thread state. */
#include "record.h"

#include <errno.h>
#include <string.h>

#include "config.h"
#include "labels.h"
#include "stack.h"
#include "waiters.h"

uint64_t lp_start_ns;

static uint64_t contended_lookup(uintptr_t addr);

static inline void add64(_Atomic uint64_t *x, uint64_t v)
{
    atomic_store_explicit(x, atomic_load_explicit(x, memory_order_relaxed) + v, memory_order_relaxed);
}

struct lp_rec_thread *lp_rec_create(struct lp_thread *t)
{
    struct lp_rec_thread *r = lp_arena_alloc(&t->arena, sizeof *r);
    if (!r)
        return NULL;
    if (lp_cfg.timeline && !(r->tl = lp_arena_alloc(&t->arena, (size_t)lp_cfg.timeline * sizeof *r->tl)))
        return NULL;
    atomic_store_explicit(&t->rec, r, memory_order_release);
    return r;
}

void lp_record_unblocked(struct lp_thread *t)
{
    struct lp_rec_thread *r = lp_rec_of(t);
    if (r)
        add64(&r->n_unblocked, 1);
}

static void flush_at_exit(struct lp_thread *t)
{
    lp_deferred_flush(t);
    lp_hold.n = 0; /* holds still in progress end with the thread: not measured */
}

int lp_record_any(void)
{
    for (struct lp_thread *t = lp_thread_all(); t; t = t->next_all) {
        struct lp_rec_thread *r = atomic_load_explicit(&t->rec, memory_order_acquire);
        if (r && (atomic_load(&r->n_events) || atomic_load(&r->deferred.state) != LP_DEFER_EMPTY))
            return 1;
    }
    return 0;
}

void lp_record_init(void) { lp_thread_on_exit(flush_at_exit); }

static uint64_t str_hash(const char *s) { return s ? lp_hash_bytes(s, strlen(s)) : 0; }

uint64_t lp_lock_key_of(unsigned kind, uintptr_t addr, const char *type, const char *name)
{
    return lp_mix(lp_mix(lp_mix(kind + 1, addr), str_hash(type)), str_hash(name)) | 1;
}

static uint64_t lock_key(struct lp_thread *t, struct lp_rec_thread *r, const struct lp_event *e)
{
    /* The last lock this thread waited for, without re-hashing its strings (the common case under contention). */
    if (r->last_lock_key && r->last_lock.kind == e->kind && r->last_lock.addr == e->addr &&
        r->last_lock.type == e->type && r->last_lock.name == e->name)
        return r->last_lock_key;
    uint64_t k = lp_lock_key_of(e->kind, e->addr, e->type, e->name);
    if (LP_UNLIKELY(!lp_map_get(&r->locks, k))) {
        struct lp_lock_ent *l = lp_arena_alloc(&t->arena, sizeof *l);
        if (!l)
            return 0;
        l->kind = e->kind;
        l->addr = e->addr;
        l->type = e->type;
        l->name = e->name;
        l->site = e->site;
        if (lp_map_put(&r->locks, &t->arena, k, l))
            return 0;
    }
    r->last_lock.kind = e->kind;
    r->last_lock.addr = e->addr;
    r->last_lock.type = e->type;
    r->last_lock.name = e->name;
    r->last_lock_key = k;
    return k;
}

/* lp_record for the thread `tid` (a deferred event may be added after its thread's state changed owner). */
static void record_as(struct lp_thread *t, uint64_t tid, const struct lp_event *e, uint64_t t0, uint64_t wait_ns,
                      uint64_t stack, uint64_t holder_stack, uint64_t holder_tid, const struct lp_labelset *labels)
{
    struct lp_rec_thread *r = lp_rec_of(t);
    if (!r)
        return;
    uint64_t lk = lock_key(t, r, e);
    if (!lk) {
        atomic_fetch_add_explicit(&r->n_dropped, 1, memory_order_relaxed);
        return;
    }
    uint64_t key = lp_mix(lp_mix(lp_mix(lp_mix(lp_mix(lp_mix(lk, stack), holder_stack), tid), holder_tid), e->flags),
                          lp_labels_hash(labels)) | 1;
    struct lp_agg_ent *a = lp_map_get(&r->aggs, key);
    if (LP_UNLIKELY(!a)) {
        if (e->kind == LP_KIND_PTHREAD_MUTEX && !(e->flags & LP_AGG_SELF))
            lp_hold_contended(e->addr, lk); /* a new aggregate: perhaps a newly contended mutex */
        a = lp_arena_alloc(&t->arena, sizeof *a);
        if (!a) {
            atomic_fetch_add_explicit(&r->n_dropped, 1, memory_order_relaxed);
            return;
        }
        a->lock_key = lk;
        a->stack = stack;
        a->holder_stack = holder_stack;
        a->tid = tid;
        a->holder_tid = holder_tid;
        a->flags = e->flags;
        a->labels = labels;
        if (lp_map_put(&r->aggs, &t->arena, key, a)) {
            atomic_fetch_add_explicit(&r->n_dropped, 1, memory_order_relaxed);
            return;
        }
    }
    add64(&a->count, 1);
    add64(&a->wait_ns, wait_ns);
    if (wait_ns > atomic_load_explicit(&a->max_ns, memory_order_relaxed))
        atomic_store_explicit(&a->max_ns, wait_ns, memory_order_relaxed);
    _Atomic uint32_t *hb = &a->hist[lp_hist_bucket(wait_ns)];
    atomic_store_explicit(hb, atomic_load_explicit(hb, memory_order_relaxed) + 1, memory_order_relaxed);
    add64(&r->n_events, 1);

    if (r->tl) {
        uint64_t i = atomic_load_explicit(&r->tl_head, memory_order_relaxed);
        struct lp_timeline_ev *ev = &r->tl[i % lp_cfg.timeline];
        ev->start_ns = t0 - lp_start_ns;
        ev->dur_ns = wait_ns;
        ev->lock_key = lk;
        ev->stack_hash = stack;
        ev->tid = tid;
        atomic_store_explicit(&r->tl_head, i + 1, memory_order_release);
    }
}

void lp_record(struct lp_thread *t, const struct lp_event *e, uint64_t t0, uint64_t wait_ns, uint64_t stack,
               uint64_t holder_stack, uint64_t holder_tid)
{
    record_as(t, lp_gettid(), e, t0, wait_ns, stack, holder_stack, holder_tid, lp_labels_cur);
}

/* ---- hold times of contended locks ----------------------------------------------------------------------- */

LP_TLS struct lp_hold_tls lp_hold;

/* The locks with a recorded contention: address → lock key, open addressing, never removed (a lock freed and its
 * address reused by another lock keeps being sampled, under the first lock's key: harmless, and rare). */
#define CONTENDED 1024
#define CONTENDED_PROBE 16
static _Atomic uintptr_t contended_addr[CONTENDED];
static uint64_t contended_key[CONTENDED];

static unsigned contended_home(uintptr_t a) { return (unsigned)(lp_mix(7, a) % CONTENDED); }

void lp_hold_contended(uintptr_t addr, uint64_t key)
{
    unsigned h = contended_home(addr);
    for (unsigned i = 0; i < CONTENDED_PROBE; i++) {
        unsigned s = (h + i) % CONTENDED;
        uintptr_t a = atomic_load_explicit(&contended_addr[s], memory_order_acquire);
        if (a == addr || a == 1)
            return; /* known (or being added) */
        uintptr_t zero = 0;
        if (!a && atomic_compare_exchange_strong(&contended_addr[s], &zero, 1)) {
            contended_key[s] = key;
            atomic_store_explicit(&contended_addr[s], addr, memory_order_release);
            return;
        }
        if (atomic_load_explicit(&contended_addr[s], memory_order_acquire) == addr)
            return;
    }
}

static uint64_t contended_lookup(uintptr_t addr)
{
    unsigned h = contended_home(addr);
    for (unsigned i = 0; i < CONTENDED_PROBE; i++) {
        unsigned s = (h + i) % CONTENDED;
        uintptr_t a = atomic_load_explicit(&contended_addr[s], memory_order_acquire);
        if (a == addr)
            return contended_key[s];
        if (!a)
            return 0;
    }
    return 0;
}

void lp_hold_sample(uintptr_t lock)
{
    lp_hold.ctr = lp_cfg.hold_sample ? lp_cfg.hold_sample : ~0u;
    if (!lp_cfg.hold_sample || lp_hold.n >= LP_HOLDS_MAX ||
        atomic_load_explicit(&lp_state, memory_order_relaxed) != LP_STATE_ON)
        return;
    uint64_t key = contended_lookup(lock);
    if (!key || !lp_guard_enter())
        return;
    int e = errno;
    struct lp_thread *t = lp_thread_self();
    struct lp_rec_thread *r = t ? lp_rec_of(t) : NULL;
    struct lp_hold_ent *h = r ? lp_map_get(&r->holds, key) : NULL;
    if (r && !h && (h = lp_arena_alloc(&t->arena, sizeof *h))) {
        h->lock_key = key;
        if (lp_map_put(&r->holds, &t->arena, key, h))
            h = NULL;
    }
    int again = 0; /* a recursive mutex re-entered: counted, its hold is the outer one's */
    for (unsigned i = 0; i < lp_hold.n; i++)
        again |= lp_hold.h[i].addr == lock;
    if (h)
        add64(&h->acquired, 1);
    if (h && !again) {
        lp_hold.h[lp_hold.n].addr = lock;
        lp_hold.h[lp_hold.n].e = h;
        lp_hold.h[lp_hold.n].t0 = lp_now();
        lp_hold.n++;
    }
    errno = e;
    lp_guard_leave();
}

void lp_hold_end(uintptr_t lock, int nested)
{
    for (unsigned i = 0; i < lp_hold.n; i++) {
        if (lp_hold.h[i].addr != lock)
            continue;
        if (nested)
            return;
        uint64_t ns = lp_now() - lp_hold.h[i].t0;
        struct lp_hold_ent *h = lp_hold.h[i].e;
        add64(&h->held, 1);
        add64(&h->hold_ns, ns);
        if (ns > atomic_load_explicit(&h->max_ns, memory_order_relaxed))
            atomic_store_explicit(&h->max_ns, ns, memory_order_relaxed);
        lp_hold.h[i] = lp_hold.h[--lp_hold.n];
        return;
    }
}

/* ---- deferred events (thread.h struct lp_deferred) ---------------------------------------------------------- */

static void deferred_event(const struct lp_deferred_ev *d, struct lp_event *e)
{
    *e = (struct lp_event){.kind = d->kind, .addr = d->addr, .type = d->type, .name = d->name, .flags = d->flags,
                           .site = d->site};
}

void lp_deferred_flush(struct lp_thread *t)
{
    struct lp_rec_thread *r = atomic_load_explicit(&t->rec, memory_order_relaxed);
    if (!r)
        return;
    struct lp_deferred *d = &r->deferred;
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
    struct lp_rec_thread *r = lp_rec_of(t);
    if (!r)
        return;
    struct lp_deferred *d = &r->deferred;
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

void lp_record_later(struct lp_thread *t, const struct lp_event *e, uint64_t t0, uint64_t wait_ns, uint64_t stack)
{
    defer(t, e, t0, wait_ns, stack, e->holder_stack, e->holder_tid);
}

int lp_deferred_hold(struct lp_thread *t)
{
    struct lp_rec_thread *r = atomic_load_explicit(&t->rec, memory_order_acquire);
    int full = LP_DEFER_FULL;
    return r && atomic_compare_exchange_strong_explicit(&r->deferred.state, &full, LP_DEFER_DUMPING,
                                                        memory_order_acquire, memory_order_relaxed);
}

void lp_deferred_put_back(struct lp_thread *t)
{
    struct lp_rec_thread *r = atomic_load_explicit(&t->rec, memory_order_acquire);
    int dumping = LP_DEFER_DUMPING;
    if (r)
        atomic_compare_exchange_strong_explicit(&r->deferred.state, &dumping, LP_DEFER_FULL, memory_order_release,
                                                memory_order_relaxed);
}

/* ---- waits in progress ----------------------------------------------------------------------------------- */

static void inflight_set(struct lp_inflight *f, const struct lp_event *e, uint64_t t0, uint64_t stack, int keep)
{
    unsigned seq = atomic_load_explicit(&f->seq, memory_order_relaxed);
    atomic_store_explicit(&f->seq, seq + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    f->kind = e->kind;
    f->flags = e->flags;
    f->addr = e->addr;
    f->type = e->type;
    f->name = e->name;
    f->holder_tid = e->holder_tid;
    if (!keep) {
        f->t0 = t0;
        f->stack = stack;
    }
    atomic_store_explicit(&f->seq, seq + 2, memory_order_release);
}

int lp_inflight_push(struct lp_thread *t, const struct lp_event *e, uint64_t t0, uint64_t stack)
{
    struct lp_rec_thread *r = lp_rec_of(t);
    if (!r)
        return -1;
    unsigned n = atomic_load_explicit(&r->n_inflight, memory_order_relaxed);
    if (n >= LP_INFLIGHT_MAX)
        return -1;
    inflight_set(&r->inflight[n], e, t0, stack, 0);
    atomic_store_explicit(&r->n_inflight, n + 1, memory_order_release);
    return (int)n;
}

void lp_inflight_pop(struct lp_thread *t, int index)
{
    struct lp_rec_thread *r = index >= 0 ? atomic_load_explicit(&t->rec, memory_order_relaxed) : NULL;
    if (r)
        atomic_store_explicit(&r->n_inflight, (unsigned)index, memory_order_release);
}

void lp_wait_inflight(struct lp_wait *w, const struct lp_event *e)
{
    struct lp_rec_thread *r = w->active && w->inflight >= 0 ? atomic_load_explicit(&w->t->rec, memory_order_relaxed)
                                                           : NULL;
    if (r)
        inflight_set(&r->inflight[w->inflight], e, 0, 0, 1);
}

int lp_wait_begin(struct lp_wait *w, uintptr_t addr, const void *leaf, uintptr_t site)
{
    return lp_wait_begin_at(w, addr, leaf, site, 0);
}

int lp_wait_begin_at(struct lp_wait *w, uintptr_t addr, const void *leaf, uintptr_t site, uint64_t t0)
{
    w->active = 0;
    if (atomic_load_explicit(&lp_state, memory_order_relaxed) != LP_STATE_ON || !lp_guard_enter())
        return 0;
    int saved = errno;
    struct lp_thread *t = lp_thread_self();
    struct lp_rec_thread *r = t ? lp_rec_of(t) : NULL;
    if (!r) {
        lp_guard_leave();
        errno = saved;
        return 0;
    }
    lp_deferred_flush(t); /* the previous wait's event, if it was deferred: now, before this wait */
    w->t = t;
    w->active = 1;
    w->leaf = leaf;
    w->site = site;
    w->slot = lp_waiters_claim(addr, 0);
    w->sampled = 1;
    if (lp_cfg.sample_every > 1)
        w->sampled = (++r->sample_ctr % lp_cfg.sample_every) == 0;
    /* Capture now, while somebody else holds the lock: the cost overlaps a wait we would have anyway. With a
     * minimum wait set, capture after the wait instead, and only for waits that qualify. */
    w->stack = (w->sampled && !lp_cfg.min_wait_ns) ? lp_stack_capture(t, leaf, site) : 0;
    w->t0 = t0 ? t0 : lp_now();
    w->inflight = lp_inflight_push(t, &(struct lp_event){.addr = addr}, w->t0, w->stack);
    lp_guard_leave();
    errno = saved;
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
    if (e->kind == LP_KIND_PTHREAD_MUTEX && !(e->flags & LP_AGG_SELF) && lp_cfg.hold_sample &&
        !contended_lookup(e->addr))
        lp_hold_contended(e->addr, lp_lock_key_of(e->kind, e->addr, e->type, e->name));
    lp_inflight_pop(w->t, w->inflight);
    struct lp_waitslot *s = lp_waiters_slot(w->slot);
    uint64_t hstack = e->holder_stack, htid = e->holder_tid;
    if (!hstack && s && atomic_load_explicit(&s->released, memory_order_acquire)) {
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
    } else {
        struct lp_rec_thread *r = lp_rec_of(w->t); /* created by lp_wait_begin */
        if (!w->sampled) {
            add64(&r->n_unsampled, 1);
        } else {
            add64(&r->n_short, 1);
            add64(&r->ns_short, wait);
        }
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
    lp_inflight_pop(w->t, w->inflight);
    lp_waiters_release(w->slot);
}
