/* model.c — see model.h. Interning uses uthash over byte keys. */
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "reader.h"
#include "symbolize.h"
#include "util.h"

struct ikey {
    UT_hash_handle hh;
    uint32_t id;
    size_t len;
    char key[];
};

struct priv {
    struct lp_profile *profiles;
    int n_profiles;
    struct ikey *frames, *stacks, *locks, *labelsets;
    size_t cap_frames, cap_stacks, cap_locks, cap_rows, cap_threads, cap_events, cap_labelsets, cap_waiting;
    struct symbolizer *sym; /* owns the names of symbolised frames */
    char **owned;           /* lock names made here */
    size_t n_owned, cap_owned;
};

/* Returns the id for key, assigning `next` (and setting *fresh) when new. */
static uint32_t intern(struct ikey **tab, const void *key, size_t len, uint32_t next, int *fresh)
{
    struct ikey *k;
    HASH_FIND(hh, *tab, key, len, k);
    if (k) {
        *fresh = 0;
        return k->id;
    }
    k = xmalloc(sizeof *k + len);
    k->id = next;
    k->len = len;
    memcpy(k->key, key, len);
    HASH_ADD_KEYPTR(hh, *tab, k->key, k->len, k);
    *fresh = 1;
    return next;
}

static void free_tab(struct ikey **tab)
{
    struct ikey *k, *tmp;
    HASH_ITER(hh, *tab, k, tmp)
    {
        HASH_DEL(*tab, k);
        free(k);
    }
}

static const char *nz(const char *s) { return s ? s : ""; }

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static int interp_module(const char *module, const char *python_module)
{
    if (!module || !*module)
        return 0;
    if (python_module && *python_module && strcmp(module, python_module) == 0)
        return 1;
    const char *b = base_name(module);
    return !strncmp(b, "libc.so", 7) || !strncmp(b, "libc-", 5) || !strncmp(b, "ld-linux", 8) ||
           !strncmp(b, "libpthread", 10) || !strncmp(b, "liblockprof", 11) || !strncmp(b, "libunwind", 9) ||
           !strncmp(b, "libpython", 9);
}

/* Bytes of a lock of this kind, for naming the part of a variable it is (symbolize.h's sym_data). */
static uint64_t lock_size(unsigned kind)
{
    switch (kind) {
    case LP_KIND_PTHREAD_MUTEX: return 40; /* glibc x86-64: pthread_mutex_t */
    case LP_KIND_PTHREAD_RWLOCK: return 56;
    case LP_KIND_PTHREAD_COND: return 48;
    case LP_KIND_SEMAPHORE: return 32;
    default: return 1; /* CPython's PyMutex and parking-lot words */
    }
}

/* The name of a lock with a `v` record: its variable in the module (else "<kind>@<module>+0x<offset>", which is
 * stable across processes), then " taken in FUNCTION" for a lock named by the code that took it. */
static const char *lock_name(struct priv *pv, const struct lp_profile *p, const struct lpr_lock *l)
{
    struct strbuf b = {0};
    if (l->module >= 0) {
        const struct lpr_module *mo = &p->modules[l->module];
        const char *v = sym_data(pv->sym, mo->path, mo->build_id, l->module_offset, lock_size(l->kind));
        if (v)
            sb_puts(&b, v);
        else
            sb_printf(&b, "%s@%s+0x%llx", l->type ? l->type : lp_kind_name(l->kind), base_name(mo->path),
                      (unsigned long long)l->module_offset);
    } else {
        sb_puts(&b, l->name);
    }
    const struct lpr_frame *f = l->site >= 0 ? &p->frames[l->site] : NULL;
    const char *fn = f ? f->func : NULL;
    if (f && f->mod >= 0) {
        size_t n;
        const struct sym_frame *sf =
            sym_frames(pv->sym, p->modules[f->mod].path, p->modules[f->mod].build_id, f->offset, &n);
        fn = n ? sf[n - 1].func : NULL; /* the function the call is in, not a helper inlined into it */
    }
    if (fn)
        sb_printf(&b, " taken in %s", fn);
    GROWV(pv->owned, pv->cap_owned, pv->n_owned + 1);
    return pv->owned[pv->n_owned++] = b.s ? b.s : xstrdup("");
}

static uint64_t meta_u64(const struct lp_profile *p, const char *key)
{
    const char *v = lp_profile_meta(p, key);
    return v ? strtoull(v, NULL, 10) : 0;
}

static int add_profile(struct model *m, struct priv *pv, const struct lp_profile *p, uint32_t proc)
{
    struct m_proc *pr = &m->procs[proc];
    memset(pr, 0, sizeof *pr);
    pr->path = p->path;
    pr->pid = meta_u64(p, "pid");
    pr->ppid = meta_u64(p, "ppid");
    pr->exe = nz(lp_profile_meta(p, "exe"));
    pr->cmdline = nz(lp_profile_meta(p, "cmdline"));
    pr->python = lp_profile_meta(p, "python");
    pr->python_build = lp_profile_meta(p, "python_build");
    pr->reason = nz(lp_profile_meta(p, "reason"));
    pr->start_unix_ns = meta_u64(p, "start_unix_ns");
    pr->duration_ns = meta_u64(p, "duration_ns");
    pr->threads = meta_u64(p, "threads");
    pr->sample_every = meta_u64(p, "sample_every");
    if (!pr->sample_every)
        pr->sample_every = 1;
    pr->min_wait_ns = meta_u64(p, "min_wait_ns");
    pr->events_below_min_wait = meta_u64(p, "events_below_min_wait");
    pr->wait_below_min_wait_ns = meta_u64(p, "wait_below_min_wait_ns");
    pr->events_unblocked = meta_u64(p, "events_unblocked");
    pr->events_dropped = meta_u64(p, "events_dropped");
    pr->self_contentions = meta_u64(p, "self_contentions");
    pr->self_waits = meta_u64(p, "self_waits");
    pr->self_wait_ns = meta_u64(p, "self_wait_ns");
    pr->holder_interval_ns = meta_u64(p, "holder_interval_ns");
    pr->holder_captured = meta_u64(p, "holder_stacks_captured");
    pr->holder_reused = meta_u64(p, "holder_stacks_reused");
    pr->holder_skipped = meta_u64(p, "holder_releases_skipped");
    pr->timeline_capacity = meta_u64(p, "timeline_capacity");
    pr->timeline_dropped = meta_u64(p, "timeline_dropped");
    const char *ge = lp_profile_meta(p, "gil_enabled");
    pr->gil_enabled = ge ? atoi(ge) : -1;
    for (size_t i = 0; i < p->n_meta; i++)
        if (!strcmp(p->meta[i].key, "warning"))
            pr->n_warnings++;
    pr->warnings = xcalloc(pr->n_warnings + 1, sizeof *pr->warnings);
    pr->n_warnings = 0;
    for (size_t i = 0; i < p->n_meta; i++)
        if (!strcmp(p->meta[i].key, "warning"))
            pr->warnings[pr->n_warnings++] = p->meta[i].value;
    const char *pymod = lp_profile_meta(p, "python_module");

    /* frames: a profile frame is one model frame, or one per function of its inline chain (fmap[i] .. +fcount[i]
     * in fids) */
    uint32_t *fmap = xcalloc(p->n_frames + 1, sizeof *fmap), *fcount = xcalloc(p->n_frames + 1, sizeof *fcount);
    uint32_t *fids = NULL;
    size_t n_fids = 0, cap_fids = 0;
    struct strbuf key = {0};
    for (size_t i = 0; i < p->n_frames; i++) {
        const struct lpr_frame *f = &p->frames[i];
        const struct lpr_module *mo = f->mod >= 0 ? &p->modules[f->mod] : NULL;
        size_t nsf = 0;
        const struct sym_frame *sf = mo ? sym_frames(pv->sym, mo->path, mo->build_id, f->offset, &nsf) : NULL;
        int interp = f->kind == 'n' && interp_module(f->module, pymod);
        fmap[i] = (uint32_t)n_fids;
        for (size_t k = 0; k < (nsf ? nsf : 1); k++) {
            struct m_frame mf = {f->kind, f->kind == 'x' ? MODEL_CUT_FRAME : f->func ? f->func : "??", nz(f->file),
                                 nz(f->module), f->line, f->offset, interp, 0};
            if (nsf)
                mf.func = sf[k].func, mf.file = nz(sf[k].file), mf.line = sf[k].line, mf.inlined = sf[k].inlined;
            sb_reset(&key);
            sb_printf(&key, "%c\x1f%s\x1f%s\x1f%llu\x1f%s\x1f%llx\x1f%d", mf.kind, mf.func, mf.file,
                      (unsigned long long)mf.line, mf.module, (unsigned long long)mf.offset, mf.inlined);
            int fresh;
            uint32_t id = intern(&pv->frames, key.s, key.len, (uint32_t)m->n_frames, &fresh);
            if (fresh) {
                GROWV(m->frames, pv->cap_frames, m->n_frames + 1);
                m->frames[m->n_frames++] = mf;
            }
            GROWV(fids, cap_fids, n_fids + 1);
            fids[n_fids++] = id;
        }
        fcount[i] = (uint32_t)(nsf ? nsf : 1);
    }
    /* stacks */
    int32_t *smap = xcalloc(p->n_stacks + 1, sizeof *smap);
    for (size_t i = 0; i < p->n_stacks; i++) {
        const struct lpr_stack *s = &p->stacks[i];
        uint32_t n = 0;
        for (uint32_t j = 0; j < s->n; j++)
            n += fcount[s->frames[j]];
        uint32_t *ids = xmalloc((n + 1) * sizeof *ids);
        n = 0;
        for (uint32_t j = 0; j < s->n; j++)
            for (uint32_t k = 0; k < fcount[s->frames[j]]; k++)
                ids[n++] = fids[fmap[s->frames[j]] + k];
        int fresh;
        uint32_t id = intern(&pv->stacks, ids, n * sizeof *ids, (uint32_t)m->n_stacks, &fresh);
        if (fresh) {
            GROWV(m->stacks, pv->cap_stacks, m->n_stacks + 1);
            m->stacks[m->n_stacks++] = (struct m_stack){n, ids};
        } else {
            free(ids);
        }
        smap[i] = (int32_t)id;
    }
    /* locks: named locks merge across processes; anonymous kind@address locks stay per process */
    uint32_t *lmap = xcalloc(p->n_locks + 1, sizeof *lmap);
    for (size_t i = 0; i < p->n_locks; i++) {
        const struct lpr_lock *l = &p->locks[i];
        const char *name = l->module >= 0 || l->site >= 0 ? lock_name(pv, p, l) : l->name;
        sb_reset(&key);
        int anon = strstr(name, "@0x") != NULL;
        sb_printf(&key, "%u\x1f%s\x1f%s\x1f%d\x1f%u", l->kind, name, l->type ? l->type : "\x01",
                  anon, anon ? proc : 0);
        int fresh;
        uint32_t id = intern(&pv->locks, key.s, key.len, (uint32_t)m->n_locks, &fresh);
        if (fresh) {
            GROWV(m->locks, pv->cap_locks, m->n_locks + 1);
            m->locks[m->n_locks++] = (struct m_lock){l->kind, name, l->type, {0}};
        }
        lmap[i] = id;
    }
    /* label sets: by content (length-prefixed keys and values) */
    int32_t *gmap = xcalloc(p->n_labelsets + 1, sizeof *gmap);
    for (size_t i = 0; i < p->n_labelsets; i++) {
        const struct lpr_labelset *g = &p->labelsets[i];
        sb_reset(&key);
        for (uint32_t j = 0; j < g->n; j++)
            sb_printf(&key, "%zu:%s%zu:%s", strlen(g->keys[j]), g->keys[j], strlen(g->values[j]), g->values[j]);
        int fresh;
        uint32_t id = intern(&pv->labelsets, key.s, key.len, (uint32_t)m->n_labelsets, &fresh);
        if (fresh) {
            GROWV(m->labelsets, pv->cap_labelsets, m->n_labelsets + 1);
            m->labelsets[m->n_labelsets++] = (struct m_labelset){g->n, g->keys, g->values};
        }
        gmap[i] = (int32_t)id;
    }
    sb_free(&key);
    /* threads */
    for (size_t i = 0; i < p->n_threads; i++) {
        GROWV(m->threads, pv->cap_threads, m->n_threads + 1);
        m->threads[m->n_threads++] = (struct m_thread){proc, p->threads[i].tid, p->threads[i].name};
    }
    /* rows: scaled by sample_every, saturating (a corrupt or hand-written profile may say anything; the
     * collector writes at most 10^9), so that a row never ends up with a zero count */
    uint32_t scale = pr->sample_every > UINT32_MAX ? UINT32_MAX : (uint32_t)pr->sample_every;
    for (size_t i = 0; i < p->n_aggs; i++) {
        const struct lpr_agg *a = &p->aggs[i];
        GROWV(m->rows, pv->cap_rows, m->n_rows + 1);
        struct m_row *r = &m->rows[m->n_rows++];
        r->lock = lmap[a->lock];
        r->stack = a->stack < 0 ? -1 : smap[a->stack];
        r->holder_stack = a->holder_stack < 0 ? -1 : smap[a->holder_stack];
        r->proc = proc;
        r->tid = a->tid;
        r->holder_tid = a->holder_tid;
        r->flags = a->flags;
        r->labels = a->labels < 0 ? -1 : gmap[a->labels];
        r->count = sat_mul(a->count, scale);
        r->wait_ns = sat_mul(a->wait_ns, scale);
        r->max_ns = a->max_ns;
        r->scale = scale;
        for (int b = 0; b < LP_HIST_BUCKETS; b++)
            r->hist[b] = (uint64_t)a->hist[b] * scale;
    }
    for (size_t i = 0; i < p->n_events; i++) {
        const struct lpr_event *e = &p->events[i];
        GROWV(m->events, pv->cap_events, m->n_events + 1);
        m->events[m->n_events++] =
            (struct m_event){proc, e->start_ns, e->dur_ns, e->tid, lmap[e->lock], e->stack < 0 ? -1 : smap[e->stack]};
    }
    uint64_t every = meta_u64(p, "hold_sample");
    for (size_t i = 0; i < p->n_holds && every; i++) {
        const struct lpr_hold *h = &p->holds[i];
        struct m_hold *mh = &m->locks[lmap[h->lock]].hold;
        mh->acquired = sat_add(mh->acquired, sat_mul(h->acquired, every));
        mh->sampled = sat_add(mh->sampled, h->acquired);
        mh->timed = sat_add(mh->timed, h->held);
        mh->hold_ns = sat_add(mh->hold_ns, h->hold_ns);
        if (h->max_ns > mh->max_ns)
            mh->max_ns = h->max_ns;
        if (every > mh->every)
            mh->every = every;
    }
    size_t first_waiting = m->n_waiting;
    for (size_t i = 0; i < p->n_inflight; i++) {
        const struct lpr_inflight *w = &p->inflight[i];
        GROWV(m->waiting, pv->cap_waiting, m->n_waiting + 1);
        uint64_t end = pr->duration_ns;
        m->waiting[m->n_waiting++] = (struct m_waiting){
            proc, w->tid, lmap[w->lock], w->stack < 0 ? -1 : smap[w->stack],
            end > w->start_ns ? end - w->start_ns : 0, w->owner_tid, w->flags, 1};
    }
    /* a thread's waits come outermost first: only its last one is what it is blocked on now */
    for (size_t i = first_waiting; i < m->n_waiting; i++)
        for (size_t j = i + 1; j < m->n_waiting; j++)
            if (m->waiting[j].tid == m->waiting[i].tid)
                m->waiting[i].innermost = 0;
    free(fmap);
    free(fcount);
    free(fids);
    free(smap);
    free(lmap);
    free(gmap);
    return 0;
}

/* Whether b is a profile already held as a: the same file (device and inode: also through another path or a
 * link), or the same process (pid and start time; a later dump of a process contains everything an earlier one
 * did). Returns 0 (no), 1 (same file) or 2 (same process). */
static int same_profile(const struct lp_profile *a, const struct lp_profile *b)
{
    if (a->ino && a->dev == b->dev && a->ino == b->ino)
        return 1;
    uint64_t start = meta_u64(a, "start_unix_ns"), pid = meta_u64(a, "pid");
    return start && pid && start == meta_u64(b, "start_unix_ns") && pid == meta_u64(b, "pid") ? 2 : 0;
}

/* One warning for a profile given again; keeps in *kept the one to count (the later dump of a process). */
static void drop_duplicate(struct lp_profile *kept, struct lp_profile *again, int why)
{
    struct strbuf a = {0}, b = {0};
    text_esc(&a, kept->path);
    text_esc(&b, again->path);
    if (why == 1) {
        fprintf(stderr, "lockprof: warning: %s is the same file as %s: counted once\n", b.s, a.s);
    } else {
        int later = meta_u64(again, "duration_ns") > meta_u64(kept, "duration_ns");
        fprintf(stderr, "lockprof: warning: %s and %s are profiles of the same process (pid %llu, started at %llu "
                "ns): counted once, from %s (%s)\n", a.s, b.s, (unsigned long long)meta_u64(kept, "pid"),
                (unsigned long long)meta_u64(kept, "start_unix_ns"), later ? b.s : a.s,
                "its later dump holds everything the earlier one does");
        if (later) {
            struct lp_profile t = *kept;
            *kept = *again;
            *again = t;
        }
    }
    sb_free(&a);
    sb_free(&b);
    lp_profile_free(again);
}

int model_load(struct model *m, char **paths, int n)
{
    memset(m, 0, sizeof *m);
    struct priv *pv = xcalloc(1, sizeof *pv);
    m->priv = pv;
    pv->sym = sym_new();
    pv->profiles = xcalloc((size_t)n, sizeof *pv->profiles);
    m->procs = xcalloc((size_t)n, sizeof *m->procs);
    for (int i = 0; i < n; i++) {
        char err[512];
        struct lp_profile p;
        if (lp_profile_load(paths[i], &p, err, sizeof err)) {
            struct strbuf e = {0};
            fprintf(stderr, "lockprof: %s\n", text_esc(&e, err));
            sb_free(&e);
            model_free(m);
            return -1;
        }
        int k, why = 0;
        for (k = 0; k < pv->n_profiles && !why; k++)
            why = same_profile(&pv->profiles[k], &p);
        if (why)
            drop_duplicate(&pv->profiles[k - 1], &p, why);
        else
            pv->profiles[pv->n_profiles++] = p;
    }
    for (int i = 0; i < pv->n_profiles; i++) {
        add_profile(m, pv, &pv->profiles[i], (uint32_t)i);
        m->n_procs = (size_t)i + 1;
    }
    free_tab(&pv->frames);
    free_tab(&pv->stacks);
    free_tab(&pv->locks);
    free_tab(&pv->labelsets);
    return 0;
}

void model_free(struct model *m)
{
    struct priv *pv = m->priv;
    if (pv) {
        for (int i = 0; i < pv->n_profiles; i++)
            lp_profile_free(&pv->profiles[i]);
        free(pv->profiles);
        free_tab(&pv->frames);
        free_tab(&pv->stacks);
        free_tab(&pv->locks);
        free_tab(&pv->labelsets);
        sym_free(pv->sym);
        for (size_t i = 0; i < pv->n_owned; i++)
            free(pv->owned[i]);
        free(pv->owned);
        free(pv);
    }
    for (size_t i = 0; i < m->n_stacks; i++)
        free(m->stacks[i].frames);
    for (size_t i = 0; i < m->n_procs; i++)
        free(m->procs[i].warnings);
    free(m->frames);
    free(m->stacks);
    free(m->locks);
    free(m->rows);
    free(m->procs);
    free(m->threads);
    free(m->events);
    free(m->waiting);
    free(m->labelsets);
    memset(m, 0, sizeof *m);
}

const char *model_thread_name(const struct model *m, uint32_t proc, uint64_t tid)
{
    for (size_t i = 0; i < m->n_threads; i++)
        if (m->threads[i].proc == proc && m->threads[i].tid == tid)
            return m->threads[i].name;
    return NULL;
}

enum row_kind model_row_class(const struct m_row *r, const struct model *m)
{
    if (lp_kind_is_wait_class(m->locks[r->lock].kind) || (r->flags & LP_AGG_NOTIFY))
        return ROW_WAIT;
    return (r->flags & LP_AGG_SELF) ? ROW_SELF : ROW_CONTENTION;
}

const char *model_row_class_name(enum row_kind k)
{
    return k == ROW_CONTENTION ? "contention" : k == ROW_SELF ? "self" : "wait";
}

int model_row_is_wait(const struct m_row *r, const struct model *m) { return model_row_class(r, m) != ROW_CONTENTION; }

int64_t model_top_frame(const struct model *m, int32_t stack)
{
    if (stack < 0 || (size_t)stack >= m->n_stacks || !m->stacks[stack].n)
        return -1;
    const struct m_stack *s = &m->stacks[stack];
    for (uint32_t i = 0; i < s->n; i++)
        if (m->frames[s->frames[i]].kind == 'p')
            return s->frames[i];
    for (uint32_t i = 0; i < s->n; i++)
        if (!m->frames[s->frames[i]].interp && m->frames[s->frames[i]].kind != 'x')
            return s->frames[i];
    return s->frames[0];
}

char *model_frame_str(const struct model *m, uint32_t frame, char *buf, size_t cap)
{
    const struct m_frame *f = &m->frames[frame];
    if (f->kind == 'x')
        snprintf(buf, cap, "%s (raise --native-depth or --py-depth)", f->func);
    else if (f->kind == 'p' || (*f->file && f->line))
        snprintf(buf, cap, "%s (%s:%llu%s)", f->func, f->file, (unsigned long long)f->line,
                 f->inlined ? ", inlined" : "");
    else if (*f->module && f->inlined)
        snprintf(buf, cap, "%s (%s+0x%llx, inlined)", f->func, base_name(f->module), (unsigned long long)f->offset);
    else if (*f->module)
        snprintf(buf, cap, "%s (%s+0x%llx)", f->func, base_name(f->module), (unsigned long long)f->offset);
    else
        snprintf(buf, cap, "%s (0x%llx)", f->func, (unsigned long long)f->offset);
    return buf;
}

void model_frame_text(const struct model *m, uint32_t frame, struct strbuf *o)
{
    char buf[1024];
    sb_text_str(o, model_frame_str(m, frame, buf, sizeof buf));
}

uint64_t model_hist_quantile_max(const uint64_t *hist, double q, uint64_t max)
{
    uint64_t v = model_hist_quantile(hist, q);
    return max && v > max ? max : v;
}

uint64_t model_hist_quantile(const uint64_t *hist, double q)
{
    uint64_t total = 0;
    for (int b = 0; b < LP_HIST_BUCKETS; b++)
        total = sat_add(total, hist[b]);
    if (!total)
        return 0;
    double target = q * (double)total, acc = 0;
    for (int b = 0; b < LP_HIST_BUCKETS; b++) {
        if (!hist[b])
            continue;
        if (acc + (double)hist[b] >= target) {
            double lo = b ? (double)(1ull << b) : 0, hi = (double)(1ull << (b + 1));
            double frac = ((target - acc) / (double)hist[b]);
            return (uint64_t)(lo + frac * (hi - lo));
        }
        acc += (double)hist[b];
    }
    return 1ull << (LP_HIST_BUCKETS - 1);
}

uint64_t model_duration_ns(const struct model *m)
{
    uint64_t d = 0;
    for (size_t i = 0; i < m->n_procs; i++)
        if (m->procs[i].duration_ns > d)
            d = m->procs[i].duration_ns;
    return d;
}

uint64_t model_thread_time_ns(const struct model *m)
{
    uint64_t t = 0;
    for (size_t i = 0; i < m->n_procs; i++)
        t = sat_add(t, sat_mul(m->procs[i].duration_ns, m->procs[i].threads));
    return t;
}

size_t model_deadlocks(const struct model *m, struct m_deadlock **out)
{
    /* Each thread waits for at most one lock (its innermost wait), so the wait-for graph has one edge per thread:
     * follow it from each thread; a path that comes back to a thread already on it closes a cycle. A cycle is
     * reported once, from its lowest waiting index. */
    size_t n = 0, cap = 0;
    *out = NULL;
    uint32_t *path = xcalloc(m->n_waiting + 1, sizeof *path);
    for (size_t start = 0; start < m->n_waiting; start++) {
        if (!m->waiting[start].innermost)
            continue;
        size_t len = 0;
        uint32_t cur = (uint32_t)start;
        for (;;) {
            path[len++] = cur;
            const struct m_waiting *w = &m->waiting[cur];
            int64_t next = -1;
            for (size_t j = 0; w->owner_tid && j < m->n_waiting && next < 0; j++)
                if (m->waiting[j].innermost && m->waiting[j].proc == w->proc && m->waiting[j].tid == w->owner_tid)
                    next = (int64_t)j;
            if (next < 0 || len > m->n_waiting)
                break;
            if (next == (int64_t)start) { /* back at the start: a cycle through it */
                int lowest = 1;
                for (size_t k = 0; k < len; k++)
                    lowest &= path[k] >= start;
                if (lowest && len > 1) {
                    GROWV(*out, cap, n + 1);
                    (*out)[n].proc = w->proc;
                    (*out)[n].n = len;
                    (*out)[n].waiting = xcalloc(len, sizeof(uint32_t));
                    memcpy((*out)[n].waiting, path, len * sizeof(uint32_t));
                    n++;
                }
                break;
            }
            int seen = 0;
            for (size_t k = 0; k < len; k++)
                seen |= path[k] == (uint32_t)next;
            if (seen)
                break; /* a cycle that does not pass through start: reported from its own lowest member */
            cur = (uint32_t)next;
        }
    }
    free(path);
    return n;
}
