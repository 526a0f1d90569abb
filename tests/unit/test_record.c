/* Unit tests of the collector's in-process aggregation (src/collect/record.c): waits on the same lock and stack
 * fold into one aggregate with count, total, maximum and a log2 histogram; kind, object type, flags and holder
 * split aggregates; LOCKPROF_SAMPLE and LOCKPROF_MIN_WAIT_NS count what they leave out; holders handed over
 * through the waiter registry end up in the aggregate key; a deferred event (the CPython hooks') reaches the
 * tables at the next wait, never twice, and not while a dump holds it; a thread's exit records its deferred event;
 * the thread's label set (labels.c) splits aggregates, is interned once per thread, refuses malformed sets, and a
 * deferred event keeps the set it waited with; the registry's estimate of condition waiters re-acquiring their mutex
 * counts only woken waiters (signal: the oldest; broadcast: all; a passed deadline: its own), and only while the
 * releases of the mutex saw woken waiters not yet back.
 * record.c depends on nothing above it (no stubs: it links with the modules below it only). */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "config.h"
#include "labels.h"
#include "lp.h"
#include "map.h"
#include "record.h"
#include "thread.h"
#include "waiters.h"

#define R(t) lp_rec_of(t)

static struct lp_agg_ent *only_agg(struct lp_thread *t, size_t *n)
{
    const struct lp_map_table *tab = lp_map_snapshot(&R(t)->aggs);
    size_t i = 0;
    uint64_t k;
    void *v, *last = NULL;
    *n = 0;
    while (lp_map_next(tab, &i, &k, &v)) {
        last = v;
        (*n)++;
    }
    return last;
}

/* Sum of the count (or, with `wait`, of the total wait) over all of t's aggregates. */
static uint64_t total(struct lp_thread *t, int wait)
{
    const struct lp_map_table *tab = lp_map_snapshot(&R(t)->aggs);
    size_t i = 0;
    uint64_t k, sum = 0;
    void *v;
    while (lp_map_next(tab, &i, &k, &v))
        sum += wait ? ((struct lp_agg_ent *)v)->wait_ns : ((struct lp_agg_ent *)v)->count;
    return sum;
}
#define total_count(t) total(t, 0)
#define total_wait(t) total(t, 1)

/* A thread whose only event is deferred, and which then exits. */
static void *defer_and_exit(void *arg)
{
    struct lp_wait s;
    struct lp_event pm = {.kind = LP_KIND_PYMUTEX, .addr = 0x8000, .type = "dict"};
    if (lp_wait_begin(&s, 0, NULL, 0))
        lp_wait_end_at(&s, &pm, s.t0 + 10, 1);
    *(struct lp_thread **)arg = lp_thread_self();
    return NULL;
}

/* The waiter registry's re-acquisition estimate (waiters.h) for condition waiters w[0..n) of cond c on mutex m,
 * claimed in order (w[0] waited longest), the last `timed_out` of them with a deadline already passed. */
static void cond_waiters(pthread_cond_t *c, uintptr_t m, int n, int timed_out, int cslot[], int rslot[])
{
    for (int i = 0; i < n; i++) {
        cslot[i] = lp_waiters_claim((uintptr_t)c, 0);
        rslot[i] = lp_waiters_claim_reacquire(cslot[i], m, (uintptr_t)c, lp_now(),
                                              i >= n - timed_out ? lp_now() - 1 : 0);
    }
}

static uint64_t reacquired(int cslot, int rslot)
{
    struct lp_reacquire ra;
    lp_waiters_reacquire_end(rslot, lp_now(), &ra);
    lp_waiters_release(cslot);
    return ra.ns;
}

/* A release of m with `not_woken` waiters of c still asleep (glibc's __wrefs count, set by hand). */
static void release_with(pthread_cond_t *c, uintptr_t m, unsigned not_woken)
{
    c->__data.__wrefs = not_woken << 3;
    struct timespec d = {0, 100000};
    nanosleep(&d, NULL); /* some time since the wake-up, for the estimate to have something to count */
    struct lp_release rel;
    CHECK(lp_waiters_release_begin(&rel, m));
    lp_waiters_release_end(&rel);
}

int main(void)
{
    lp_thread_init();
    lp_record_init();
    atomic_store(&lp_state, LP_STATE_ON);
    struct lp_thread *t = lp_thread_self();
    CHECK(t != NULL);

    /* the same lock and stack: one aggregate */
    struct lp_event ev = {.kind = LP_KIND_PTHREAD_MUTEX, .addr = 0x1000};
    lp_record(t, &ev, 0, 1000, 77, 0, 0);
    lp_record(t, &ev, 0, 3000, 77, 0, 0);
    lp_record(t, &ev, 0, 5, 77, 0, 0);
    size_t n;
    struct lp_agg_ent *a = only_agg(t, &n);
    CHECK(n == 1);
    CHECK(a->count == 3 && a->wait_ns == 4005 && a->max_ns == 3000 && a->stack == 77);
    CHECK(a->hist[lp_hist_bucket(1000)] == 1 && a->hist[lp_hist_bucket(3000)] == 1 && a->hist[2] == 1);
    CHECK(a->tid == lp_gettid());
    CHECK(R(t)->locks.count == 1);

    /* a different flag, object type, name or holder: a new aggregate; the lock table dedupes by lock identity */
    struct lp_event typed = {.kind = LP_KIND_PYMUTEX, .addr = 0x2000, .type = "dict"};
    lp_record(t, &typed, 0, 10, 77, 0, 0);
    struct lp_event typed2 = typed;
    typed2.type = "list";
    lp_record(t, &typed2, 0, 10, 77, 0, 0);
    struct lp_event flagged = ev;
    flagged.flags = LP_AGG_REACQUIRE;
    lp_record(t, &flagged, 0, 10, 77, 0, 0);
    lp_record(t, &ev, 0, 10, 77, 99, 1234); /* with a holder */
    CHECK(R(t)->aggs.count == 5);
    CHECK(R(t)->locks.count == 3); /* 0x1000 mutex, dict@0x2000, list@0x2000 */
    CHECK(R(t)->n_events == 7);

    /* the waiter registry hands a releasing thread's stack to a blocked waiter */
    struct lp_wait w;
    CHECK(lp_wait_begin(&w, 0x3000, NULL, 0));
    CHECK(lp_waiters_any());
    struct lp_release rel; /* as pthread_mutex_unlock would, from the holder: before and after the release */
    CHECK(lp_waiters_release_begin(&rel, 0x3000));
    lp_waiters_release_end(&rel);
    uint64_t before = R(t)->aggs.count;
    lp_wait_end(&w, &(struct lp_event){.kind = LP_KIND_PTHREAD_MUTEX, .addr = 0x3000});
    CHECK(!lp_waiters_any());
    CHECK(R(t)->aggs.count == before + 1);
    const struct lp_map_table *tab = lp_map_snapshot(&R(t)->aggs);
    size_t i = 0;
    uint64_t k;
    void *v;
    int holder_seen = 0;
    while (lp_map_next(tab, &i, &k, &v)) {
        const struct lp_agg_ent *e = v;
        const struct lp_lock_ent *l = lp_map_get(&R(t)->locks, e->lock_key);
        if (l && l->addr == 0x3000)
            holder_seen = e->holder_tid == lp_gettid() && e->holder_stack != 0 && e->stack != 0;
    }
    CHECK(holder_seen);

    /* sampling: 1 in 4 recorded, the rest counted */
    uint64_t c0 = total_count(t);
    lp_cfg.sample_every = 4;
    for (int j = 0; j < 40; j++) {
        struct lp_wait s;
        if (lp_wait_begin(&s, 0x4000, NULL, 0))
            lp_wait_end(&s, &(struct lp_event){.kind = LP_KIND_PTHREAD_MUTEX, .addr = 0x4000});
    }
    CHECK(total_count(t) - c0 == 10);
    CHECK(R(t)->n_unsampled == 30);
    lp_cfg.sample_every = 1;

    /* minimum wait: short waits counted with their total, not recorded */
    lp_cfg.min_wait_ns = 1000000000u;
    c0 = total_count(t);
    struct lp_wait s;
    CHECK(lp_wait_begin(&s, 0x5000, NULL, 0));
    lp_wait_end(&s, &(struct lp_event){.kind = LP_KIND_PTHREAD_MUTEX, .addr = 0x5000});
    CHECK(total_count(t) == c0);
    CHECK(R(t)->n_short == 1 && R(t)->ns_short > 0);
    lp_cfg.min_wait_ns = 0;

    /* deferred: stored, not recorded, until the thread's next wait begins */
    struct lp_event pm = {.kind = LP_KIND_PYMUTEX, .addr = 0x7000, .type = "list"};
    c0 = total_count(t);
    uint64_t w0 = total_wait(t);
    CHECK(lp_wait_begin(&s, 0, NULL, 0));
    CHECK(lp_wait_end_at(&s, &pm, s.t0 + 4000, 1) == 4000);
    CHECK(total_count(t) == c0 && atomic_load(&R(t)->deferred.state) == LP_DEFER_FULL);
    CHECK(lp_wait_begin(&s, 0, NULL, 0)); /* the next wait records it first */
    CHECK(total_count(t) == c0 + 1 && total_wait(t) == w0 + 4000);
    CHECK(atomic_load(&R(t)->deferred.state) == LP_DEFER_EMPTY);
    CHECK(lp_wait_end_at(&s, &pm, s.t0 - 1, 1) == 0); /* an end before the start is a zero wait */
    lp_deferred_flush(t);
    lp_deferred_flush(t); /* once only */
    CHECK(total_count(t) == c0 + 2 && total_wait(t) == w0 + 4000);

    /* a dump holding the slot: the owner leaves it alone and records a new event directly */
    CHECK(!lp_deferred_hold(t)); /* nothing to hold */
    CHECK(lp_wait_begin(&s, 0, NULL, 0));
    lp_wait_end_at(&s, &pm, s.t0 + 100, 1);
    CHECK(lp_deferred_hold(t));
    lp_deferred_flush(t);
    CHECK(total_count(t) == c0 + 2);
    CHECK(lp_wait_begin(&s, 0, NULL, 0));
    lp_wait_end_at(&s, &pm, s.t0 + 200, 1);
    CHECK(total_count(t) == c0 + 3 && total_wait(t) == w0 + 4200);
    CHECK(R(t)->deferred.ev.wait_ns == 100);
    lp_deferred_put_back(t);
    lp_deferred_flush(t);
    CHECK(total_count(t) == c0 + 4 && total_wait(t) == w0 + 4300);

    /* labels: the set is part of the aggregation key; one set is interned once per thread */
    static const char l1[] = "test\0a\0", l2[] = "phase\0x\0test\0a\0";
    size_t agg0 = R(t)->aggs.count;
    CHECK(lp_labels_set(l1, sizeof l1 - 1) == 0);
    const struct lp_labelset *s1 = lp_labels_cur;
    CHECK(s1 && s1->n == 1 && s1->len == sizeof l1 - 1);
    CHECK(lp_labels_set(l1, sizeof l1 - 1) == 0 && lp_labels_cur == s1);
    lp_record(t, &ev, 0, 10, 77, 0, 0);
    lp_record(t, &ev, 0, 10, 77, 0, 0);
    CHECK(R(t)->aggs.count == agg0 + 1); /* the same wait without labels was another aggregate */
    CHECK(lp_labels_set(l2, sizeof l2 - 1) == 0 && lp_labels_cur != s1 && lp_labels_cur->n == 2);
    lp_record(t, &ev, 0, 10, 77, 0, 0);
    CHECK(R(t)->aggs.count == agg0 + 2);
    CHECK(lp_labels_set(l1, sizeof l1 - 1) == 0 && lp_labels_cur == s1 && t->labels.count == 2);
    int labelled = 0;
    tab = lp_map_snapshot(&R(t)->aggs);
    for (i = 0; lp_map_next(tab, &i, &k, &v);)
        labelled += ((struct lp_agg_ent *)v)->labels == s1 ? (int)((struct lp_agg_ent *)v)->count : 0;
    CHECK(labelled == 2);
    /* a deferred event keeps the labels of its wait, whatever the thread has when it is added */
    CHECK(lp_wait_begin(&s, 0, NULL, 0));
    lp_wait_end_at(&s, &(struct lp_event){.kind = LP_KIND_PYMUTEX, .addr = 0x8000}, s.t0 + 50, 1);
    CHECK(lp_labels_set(NULL, 0) == 0 && lp_labels_cur == NULL);
    lp_deferred_flush(t);
    int deferred_labelled = 0;
    tab = lp_map_snapshot(&R(t)->aggs);
    for (i = 0; lp_map_next(tab, &i, &k, &v);) {
        const struct lp_agg_ent *e = v;
        const struct lp_lock_ent *l = lp_map_get(&R(t)->locks, e->lock_key);
        if (l && l->addr == 0x8000)
            deferred_labelled = e->labels == s1 && e->count == 1 && e->wait_ns == 50;
    }
    CHECK(deferred_labelled);
    /* malformed sets are refused and change nothing */
    CHECK(lp_labels_set(l1, sizeof l1 - 1) == 0);
    CHECK(lp_labels_set(l2, 3) == EINVAL);                      /* cut inside a key */
    CHECK(lp_labels_set("b\0x\0a\0y\0", 8) == EINVAL);          /* keys not sorted */
    CHECK(lp_labels_set("a\0x\0a\0y\0", 8) == EINVAL);          /* a key twice */
    CHECK(lp_labels_set("\0x\0", 3) == EINVAL);                 /* empty key */
    CHECK(lp_labels_set("a=b\0x\0", 6) == EINVAL);              /* '=' in a key */
    CHECK(lp_labels_set("a b\0x\0", 6) == EINVAL);              /* a blank in a key */
    CHECK(lp_labels_set("a\0", 2) == EINVAL);                    /* a key without a value */
    static char big[LP_LABELS_MAX_BYTES + 1]; /* "k" NUL "vvv...v" NUL */
    memset(big, 'v', sizeof big);
    big[0] = 'k';
    big[1] = 0;
    big[LP_LABELS_MAX_BYTES] = 0;
    CHECK(lp_labels_set(big, LP_LABELS_MAX_BYTES + 1) == EINVAL); /* one byte too long */
    big[LP_LABELS_MAX_BYTES - 1] = 0;
    CHECK(lp_labels_set(big, LP_LABELS_MAX_BYTES) == 0);          /* exactly the limit */
    CHECK(lp_labels_cur->len == LP_LABELS_MAX_BYTES);
    CHECK(lp_labels_set("a\0\0", 3) == 0 && lp_labels_cur->n == 1); /* an empty value is a value */
    /* not from inside lockprof, not while off; the set stays */
    const struct lp_labelset *keep = lp_labels_cur;
    lp_tls.depth = 1;
    CHECK(lp_labels_set(l2, sizeof l2 - 1) == EAGAIN);
    lp_tls.depth = 0;
    atomic_store(&lp_state, LP_STATE_OFF);
    CHECK(lp_labels_set(l2, sizeof l2 - 1) == ENOTSUP);
    atomic_store(&lp_state, LP_STATE_ON);
    CHECK(lp_labels_cur == keep);
    CHECK(lp_labels_set(NULL, 0) == 0);

    /* a thread that exits with a deferred event: its exit records it (the callback record.c registers) */
    pthread_t th;
    struct lp_thread *other = NULL;
    CHECK(pthread_create(&th, NULL, defer_and_exit, &other) == 0);
    CHECK(pthread_join(th, NULL) == 0);
    CHECK(other != NULL && total_count(other) == 1 && atomic_load(&R(other)->deferred.state) == LP_DEFER_EMPTY);

    /* condition waiters re-acquiring their mutex (waiters.h): only woken waiters count, and only for the time the
     * releases of the mutex saw some of them not asleep; a signal wakes the oldest, a broadcast all, a deadline its
     * own waiter */
    pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
    int cs[3], rs[3];
    const uintptr_t mx = 0x7000;
    cond_waiters(&cv, mx, 2, 0, cs, rs);
    lp_waiters_on_signal((uintptr_t)&cv, 1);
    release_with(&cv, mx, 2); /* woken, but both still asleep when the mutex was released: not blocked on it */
    CHECK(reacquired(cs[0], rs[0]) == 0 && reacquired(cs[1], rs[1]) == 0);
    cond_waiters(&cv, mx, 2, 0, cs, rs);
    lp_waiters_on_signal((uintptr_t)&cv, 1);
    release_with(&cv, mx, 0); /* both awake and re-locking while it was held */
    CHECK(reacquired(cs[0], rs[0]) >= 50000 && reacquired(cs[1], rs[1]) >= 50000);
    cond_waiters(&cv, mx, 2, 0, cs, rs);
    lp_waiters_on_signal((uintptr_t)&cv, 0); /* a signal: the older one */
    release_with(&cv, mx, 1);
    CHECK(reacquired(cs[0], rs[0]) >= 100000 && reacquired(cs[1], rs[1]) == 0);
    cond_waiters(&cv, mx, 1, 0, cs, rs);
    release_with(&cv, mx, 0); /* awake, but nobody signalled it (it cannot be told from a stolen wake-up) */
    CHECK(reacquired(cs[0], rs[0]) == 0);
    cond_waiters(&cv, mx, 2, 1, cs, rs);
    release_with(&cv, mx, 1); /* the second timed out */
    CHECK(reacquired(cs[0], rs[0]) == 0 && reacquired(cs[1], rs[1]) >= 100000);
    cond_waiters(&cv, mx, 1, 0, cs, rs);
    lp_waiters_on_signal((uintptr_t)&cv, 0);
    CHECK(reacquired(cs[0], rs[0]) == 0); /* no release of the mutex since the wake-up: it was free */
    CHECK(!lp_waiters_any());

    /* inside lockprof (re-entrancy guard held) nothing is recorded */
    lp_tls.depth = 1;
    CHECK(!lp_wait_begin(&s, 0x6000, NULL, 0));
    lp_tls.depth = 0;
    return CHECK_DONE();
}
