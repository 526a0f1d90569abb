/* group.c — see group.h. */
#include "group.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "labelsets.h"
#include "util.h"

struct gidx {
    UT_hash_handle hh;
    size_t idx;
    char key[];
};

struct sidx {
    UT_hash_handle hh;
    int64_t key[2];
    size_t idx;
};

static int row_wanted(const struct model *m, const struct m_row *r, enum row_class cls)
{
    switch (cls) {
    case ROWS_ALL: return 1;
    case ROWS_CONTENTION: return model_row_class(r, m) == ROW_CONTENTION;
    case ROWS_WAITS: return model_row_class(r, m) != ROW_CONTENTION;
    case ROWS_SELF: return model_row_class(r, m) == ROW_SELF;
    case ROWS_EVENTS: return model_row_class(r, m) == ROW_WAIT;
    }
    return 0;
}

static void label_of(const struct model *m, const struct m_row *r, enum group_by by, struct strbuf *key,
                     struct strbuf *label)
{
    const struct m_lock *l = &m->locks[r->lock];
    sb_reset(key);
    sb_reset(label);
    switch (by) {
    case BY_LOCK:
        /* one group per lock and class: a lock can be contended and also waited on by its own holder */
        sb_printf(key, "%u\x1f%d", r->lock, (int)model_row_class(r, m));
        sb_puts(label, l->name);
        break;
    case BY_TYPE:
        sb_printf(key, "%u\x1f%s", l->kind, l->type ? l->type : "\x01");
        sb_puts(label, l->type ? l->type : "(not an object)");
        break;
    case BY_STACK: {
        sb_printf(key, "%d", r->stack);
        int64_t f = model_top_frame(m, r->stack);
        char buf[512];
        sb_puts(label, f < 0 ? "(no stack)" : model_frame_str(m, (uint32_t)f, buf, sizeof buf));
        break;
    }
    case BY_THREAD: {
        sb_printf(key, "%u\x1f%llu", r->proc, (unsigned long long)r->tid);
        const char *nm = model_thread_name(m, r->proc, r->tid);
        if (m->n_procs > 1)
            sb_printf(label, "%s [pid %llu tid %llu]", nm ? nm : "?", (unsigned long long)m->procs[r->proc].pid,
                      (unsigned long long)r->tid);
        else
            sb_printf(label, "%s [tid %llu]", nm ? nm : "?", (unsigned long long)r->tid);
        break;
    }
    case BY_LABEL: /* label sets are interned by content: one id, one set */
        sb_printf(key, "%d", r->labels);
        labelset_text(m, r->labels, label);
        break;
    }
}

static int cmp_stack(const void *a, const void *b)
{
    const struct stack_stat *x = a, *y = b;
    if (x->wait_ns != y->wait_ns)
        return x->wait_ns > y->wait_ns ? -1 : 1;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    if (x->stack != y->stack)
        return x->stack < y->stack ? -1 : 1;
    return x->holder_stack < y->holder_stack ? -1 : x->holder_stack > y->holder_stack;
}

static int cmp_grp(const void *a, const void *b)
{
    const struct grp *x = a, *y = b;
    if (x->wait_ns != y->wait_ns)
        return x->wait_ns > y->wait_ns ? -1 : 1;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    int c = strcmp(x->label, y->label);
    if (c)
        return c;
    return x->kind < y->kind ? -1 : x->kind > y->kind;
}

struct grp *group_rows(const struct model *m, enum group_by by, enum row_class cls, size_t *n)
{
    struct gidx *idx = NULL;
    struct grp *g = NULL;
    size_t ng = 0, cap = 0;
    struct strbuf key = {0}, label = {0};
    struct sidx **sidx = NULL; /* per group: stack index */
    size_t cap_sidx = 0;
    for (size_t i = 0; i < m->n_rows; i++) {
        const struct m_row *r = &m->rows[i];
        if (!row_wanted(m, r, cls))
            continue;
        label_of(m, r, by, &key, &label);
        struct gidx *e;
        HASH_FIND(hh, idx, key.s, key.len, e);
        if (!e) {
            e = xmalloc(sizeof *e + key.len + 1);
            memcpy(e->key, key.s, key.len + 1);
            e->idx = ng;
            HASH_ADD_KEYPTR(hh, idx, e->key, key.len, e);
            GROWV(g, cap, ng + 1);
            GROWV(sidx, cap_sidx, ng + 1);
            sidx[ng] = NULL;
            struct grp *ng_ = &g[ng++];
            memset(ng_, 0, sizeof *ng_);
            ng_->label = xstrdup(label.s);
            ng_->kind = m->locks[r->lock].kind;
            ng_->type = m->locks[r->lock].type;
            ng_->lock = r->lock;
            ng_->proc = r->proc;
            ng_->tid = r->tid;
            ng_->labels = r->labels;
            ng_->is_wait = model_row_is_wait(r, m);
            ng_->cls = model_row_class(r, m);
        }
        struct grp *gr = &g[e->idx];
        gr->count = sat_add(gr->count, r->count);
        gr->wait_ns = sat_add(gr->wait_ns, r->wait_ns);
        if (r->max_ns > gr->max_ns)
            gr->max_ns = r->max_ns;
        gr->flags |= r->flags;
        if (r->flags & LP_AGG_REACQUIRE)
            gr->est_ns = sat_add(gr->est_ns, r->wait_ns);
        for (int b = 0; b < LP_HIST_BUCKETS; b++)
            gr->hist[b] = sat_add(gr->hist[b], r->hist[b]);
        struct sidx *s;
        int64_t sk[2] = {r->stack, r->holder_stack};
        HASH_FIND(hh, sidx[e->idx], sk, sizeof sk, s);
        if (!s) {
            s = xmalloc(sizeof *s);
            memcpy(s->key, sk, sizeof sk);
            s->idx = gr->n_stacks;
            HASH_ADD(hh, sidx[e->idx], key, sizeof sk, s);
            GROWV(gr->stacks, gr->cap_stacks, gr->n_stacks + 1);
            gr->stacks[gr->n_stacks++] = (struct stack_stat){r->stack, r->holder_stack, 0, 0, 0, 0, r->proc, 0, 0};
        }
        struct stack_stat *ss = &gr->stacks[s->idx];
        if (r->wait_ns >= ss->wait_ns / 2 && r->holder_tid)
            ss->holder_tid = r->holder_tid;
        ss->count = sat_add(ss->count, r->count);
        ss->wait_ns = sat_add(ss->wait_ns, r->wait_ns);
        ss->flags |= r->flags;
        if (r->flags & LP_AGG_REACQUIRE)
            ss->est_ns = sat_add(ss->est_ns, r->wait_ns);
        if (r->max_ns > ss->max_ns)
            ss->max_ns = r->max_ns;
    }
    struct gidx *e, *tmp;
    HASH_ITER(hh, idx, e, tmp)
    {
        HASH_DEL(idx, e);
        free(e);
    }
    for (size_t i = 0; i < ng; i++) {
        struct sidx *s, *t2;
        HASH_ITER(hh, sidx[i], s, t2)
        {
            HASH_DEL(sidx[i], s);
            free(s);
        }
        qsort(g[i].stacks, g[i].n_stacks, sizeof *g[i].stacks, cmp_stack);
    }
    free(sidx);
    sb_free(&key);
    sb_free(&label);
    if (ng)
        qsort(g, ng, sizeof *g, cmp_grp);
    *n = ng;
    return g;
}

void groups_free(struct grp *g, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(g[i].label);
        free(g[i].stacks);
    }
    free(g);
}

int group_by_parse(const char *s, enum group_by *out)
{
    static const char *names[] = {"lock", "type", "stack", "thread", "label"};
    for (int i = 0; i < 5; i++)
        if (s && !strcmp(s, names[i])) {
            *out = (enum group_by)i;
            return 0;
        }
    return -1;
}

const char *group_by_name(enum group_by by)
{
    static const char *names[] = {"lock", "type", "stack", "thread", "label"};
    return names[by];
}
